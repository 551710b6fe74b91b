"""A real multi-node Ray cluster on this machine, for tests and ``tools/bench_sweep.py``.

Each node is its own ``ray start --block`` process (head: ``--head``; the others join with
``--address``), exactly as on separate machines, only on loopback. Stopping signals those
processes and then every process they started, by PID (Ray workers start their own process
groups, so signalling groups would miss them); nothing else on the machine is touched.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

from edgernn.errors import UserError
from edgernn.procs import console_script, python_argv
from edgernn.studies import ray_auth


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def loopback_sshd(folder: Path, remote_dir_name: str = "remote") -> Iterator[dict]:
    """Debian's sshd on a free loopback port with throwaway host and user keys kept in ``folder``, for
    tests and tools of the Raspberry Pi target; yields the ``bench --target rpi`` connection options."""
    import getpass
    import shutil

    d = Path(folder)
    for key in ("host_key", "user_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key)], check=True)
    (d / "authorized_keys").write_text((d / "user_key.pub").read_text())
    os.chmod(d / "authorized_keys", 0o600)
    port = free_port()
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host_key'}\nPidFile {d / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {d / 'authorized_keys'}\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nSubsystem sftp internal-sftp\n")
    os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege-separation directory
    proc = subprocess.Popen([shutil.which("sshd") or "/usr/sbin/sshd", "-D", "-e", "-f", str(d / "sshd_config")],
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while time.time() < deadline and not port_open(port):
            time.sleep(0.1)
        yield {"host": f"{getpass.getuser()}@127.0.0.1", "port": port, "identity": str(d / "user_key"),
               "known_hosts": str(d / "known_hosts"), "remote_dir": str(d / remote_dir_name)}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def ray_env(auth: dict[str, str], extra_path: str | None = None) -> dict:
    """The environment of the nodes: ours, plus the session's token settings (edgernn.studies.ray_auth)."""
    env = ray_auth.node_env(dict(os.environ, TF_USE_LEGACY_KERAS="1", RAY_USAGE_STATS_ENABLED="0"), auth)
    if extra_path:
        env["PYTHONPATH"] = extra_path + os.pathsep + os.environ.get("PYTHONPATH", "")
    return env


def _parent(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    return 0


def descendants(roots: set[int]) -> set[int]:
    """Every live process below ``roots``."""
    found = set()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        pid, chain = int(d.name), []
        try:
            while pid > 1 and pid not in roots and len(chain) < 20:
                chain.append(pid)
                pid = _parent(pid)
        except (OSError, ValueError):
            continue
        if pid in roots:
            found.update(chain)
    return found


def alive_nodes(address: str, env: dict) -> int:
    code = (f"import ray; ray.init(address={address!r}, logging_level='ERROR'); "
            "print(sum(n['Alive'] for n in ray.nodes())); ray.shutdown()")
    r = subprocess.run(python_argv("-c", code), capture_output=True, text=True, env=env, timeout=180)
    lines = r.stdout.strip().splitlines()
    return int(lines[-1]) if r.returncode == 0 and lines and lines[-1].isdigit() else 0


def _ray_cli() -> str:
    ray = Path(console_script("ray"))
    if not ray.is_file():
        raise UserError(f"{ray} not found: pip install ray==2.60.0")
    return str(ray)


@contextlib.contextmanager
def loopback_cluster(nodes: int = 2, cpus_per_node: int = 1, pythonpath: str | None = None,
                     log_dir: str | Path | None = None, timeout: float = 180) -> Iterator[dict]:
    """Yield {"address": "127.0.0.1:PORT", "roots": {pid, ...}} of a running ``nodes``-node cluster.

    The cluster has a token of its own (edgernn.studies.ray_auth): nodes and this process, its
    driver inside the block, use it; nothing under ~/.ray is needed or written."""
    with ray_auth.session_token() as auth, _nodes(nodes, cpus_per_node, ray_env(auth, pythonpath),
                                                  log_dir, timeout) as cluster, ray_auth.as_driver(auth):
        yield cluster


@contextlib.contextmanager
def _nodes(nodes: int, cpus_per_node: int, env: dict, log_dir: str | Path | None, timeout: float) -> Iterator[dict]:
    logs = Path(log_dir or tempfile.mkdtemp(prefix="edgernn-ray-"))
    logs.mkdir(parents=True, exist_ok=True)
    port = free_port()
    address = f"127.0.0.1:{port}"
    procs: list[subprocess.Popen] = []

    def start(i: int, args: list[str]) -> None:
        lo = 22000 + 1000 * i  # separate worker port ranges: two raylets on one machine must not collide
        procs.append(subprocess.Popen(
            [_ray_cli(), "start", "--block", "--num-cpus", str(cpus_per_node), "--disable-usage-stats",
             "--dashboard-agent-listen-port", str(free_port()), "--min-worker-port", str(lo),
             "--max-worker-port", str(lo + 999), *args],
            stdout=(logs / f"node{i}.log").open("w"), stderr=subprocess.STDOUT, env=env, start_new_session=True))

    def failed(why: str) -> RuntimeError:
        tail = (logs / "node0.log").read_text()[-800:]
        return RuntimeError(f"the {nodes}-node Ray cluster {why}; head log: {tail}")

    try:
        start(0, ["--head", "--port", str(port), "--include-dashboard", "false",
                  "--ray-client-server-port", str(free_port())])
        deadline = time.time() + timeout
        while time.time() < deadline and not port_open(port):
            if procs[0].poll() is not None:  # a head that died will not open its port: say so now
                raise failed(f"did not come up: the head node exited with status {procs[0].returncode}")
            time.sleep(1)
        for i in range(1, nodes):
            start(i, ["--address", address])
        while time.time() < deadline and alive_nodes(address, env) < nodes:
            time.sleep(2)
        if alive_nodes(address, env) < nodes:
            raise failed(f"did not come up in {timeout:.0f} s")
        yield {"address": address, "roots": {p.pid for p in procs}, "logs": str(logs)}
    finally:
        stop(procs)


def stop(procs: list[subprocess.Popen]) -> None:
    started = descendants({p.pid for p in procs})  # only what these `ray start` processes started
    for p in reversed(procs):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=10)
    for pid in started:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
