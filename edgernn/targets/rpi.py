"""A Raspberry Pi (or any Linux machine) over SSH: real measurements on the board.

Uses the system ``ssh``/``scp`` with argument lists (never a local shell). The host is checked
against a strict pattern and may not start with '-', so it cannot smuggle ssh options; remote
paths are shell-quoted for the remote shell. BatchMode makes a missing key fail instead of
prompting; ConnectTimeout bounds an unreachable host.
"""
from __future__ import annotations

import json
import math
import posixpath
import re
import shlex
import subprocess
import tempfile
from pathlib import Path

from edgernn.errors import UserError
from edgernn.procs import tied_to_parent
from edgernn.targets.base import RUNNER, RunnerTarget, parse_runner_output

HOST_RE = re.compile(r"^(?:[A-Za-z0-9_][A-Za-z0-9._-]*@)?(?:[A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\])$")


def check_host(host: str) -> str:
    if not host or host.startswith("-") or not HOST_RE.match(host):
        raise UserError(f"invalid --host {host!r} (expected USER@HOSTNAME or HOSTNAME)")
    return host


def _ancestors(folder: str) -> list[str]:
    """'/a/b/c' -> ['/a', '/a/b', '/a/b/c'] (a normalized absolute path; '/' has none)."""
    parts = [p for p in folder.split("/") if p]
    return ["/" + "/".join(parts[:i + 1]) for i in range(len(parts))]


class RpiTarget(RunnerTarget):
    name = "rpi"
    only_runtimes = ("litert", "onnxrt")  # what a board can have without TensorFlow

    def __init__(self, host: str, port: int = 22, identity: str | None = None, timeout: float = 30,
                 remote_python: str = "python3", remote_dir: str = "/tmp/edgernn-bench",
                 known_hosts: str | None = None, run_timeout: float = 900):
        super().__init__()
        self.host = check_host(host)
        if not 0 < port < 65536:
            raise UserError(f"invalid --port {port}")
        if identity is not None and not Path(identity).is_file():
            raise UserError(f"{identity}: identity file not found")
        if not timeout > 0 or timeout != timeout or timeout > 3600:
            raise UserError(f"invalid --timeout {timeout} (seconds to wait for the connection: more than 0, at most 3600)")
        if not remote_dir or not remote_dir.startswith("/") or "\n" in remote_dir or "\0" in remote_dir:
            raise UserError(f"invalid --remote-dir {remote_dir!r} (an absolute folder on the board)")
        self.port, self.identity, self.timeout, self.run_timeout = port, identity, timeout, run_timeout
        # remote_dir is the base; this run works only in its own new subfolder of it (self.run_dir). '..' is
        # resolved here, before any folder is made, so "A/new/../../B/victim" never creates A/new.
        self.remote_python, self.remote_base = remote_python, posixpath.normpath(remote_dir)
        self.remote_dir: str | None = None
        self.created: list[str] = []  # folders this run made on the board, outermost first
        self.unreachable = False
        self.known_hosts = known_hosts
        self.tmp = Path(tempfile.mkdtemp(prefix="edgernn-rpi-"))
        self.remote_names: dict[str, str] = {}

    def _options(self) -> list[str]:
        opts = ["-o", "BatchMode=yes", "-o", f"ConnectTimeout={max(1, math.ceil(self.timeout))}",
                "-o", "StrictHostKeyChecking=accept-new", "-o", "LogLevel=ERROR"]
        if self.known_hosts:
            opts += ["-o", f"UserKnownHostsFile={self.known_hosts}"]
        if self.identity:
            opts += ["-i", str(self.identity), "-o", "IdentitiesOnly=yes"]
        return opts

    def _call(self, argv: list[str], timeout: float, what: str) -> str:
        try:
            proc = subprocess.run(tied_to_parent(argv), capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            self.unreachable = True  # clean-up would only wait as long again
            raise UserError(f"{self.host}: {what} timed out after {timeout:g} s") from None
        except FileNotFoundError:
            raise UserError(f"{argv[0]} not found (Debian: apt-get install openssh-client)") from None
        if proc.returncode == 255:  # ssh's own failure (connection, authentication), not the remote command's
            self.unreachable = True
        if proc.returncode != 0:
            msg = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
            raise UserError(f"{self.host}:{self.port}: {what} failed: {msg[:300]}")
        return proc.stdout

    def ssh(self, remote_command: str, timeout: float | None = None, what: str = "ssh") -> str:
        argv = ["ssh", "-p", str(self.port), *self._options(), "--", self.host, remote_command]
        return self._call(argv, timeout or self.timeout + 10, what)

    def copy_to(self, files: list[Path], remote_dir: str) -> None:
        argv = ["scp", "-q", "-P", str(self.port), *self._options(), "--", *map(str, files),
                f"{self.host}:{remote_dir}/"]
        self._call(argv, self.timeout + 60, "copying files")

    def copy_from(self, remote: str, local: Path) -> None:
        argv = ["scp", "-q", "-P", str(self.port), *self._options(), "--", f"{self.host}:{remote}", str(local)]
        self._call(argv, self.timeout + 60, "copying results back")

    def prepare(self, artifacts: list[Path]) -> None:
        # A new, unique folder inside --remote-dir for this run (mktemp -d): two benches sharing the base
        # never touch each other's files, and clean-up removes only this folder (and the base only if this
        # run created it and it is empty).
        chain = _ancestors(self.remote_base)
        template = self.remote_base.rstrip("/") + "/edgernn-run.XXXXXXXX"
        # One folder at a time (never mkdir -p), each reported, so clean-up knows exactly what this run made.
        script = ("for d in " + " ".join(shlex.quote(d) for d in chain) + "; do "
                  'if [ ! -d "$d" ]; then mkdir -- "$d" && echo "created $d" || exit 1; fi; done; '
                  f"echo ready && mktemp -d {shlex.quote(template)}") if chain else \
            f"echo ready && mktemp -d {shlex.quote(template)}"
        lines = self.ssh(script, what="connecting").strip().splitlines()
        created = [ln[len("created "):] for ln in lines if ln.startswith("created ")]
        self.created = [d for d in created if d in chain]
        rest = [ln for ln in lines if not ln.startswith("created ")]
        if (len(rest) != 2 or rest[0] != "ready" or self.created != created
                or not rest[1].startswith(template[:-len("XXXXXXXX")])):
            raise UserError(f"{self.host}: could not create a scratch folder in {self.remote_base}: "
                            f"{' '.join(lines)[:200]}")
        self.remote_dir = rest[1]
        staged = []
        for i, a in enumerate(artifacts):  # numbered names: no remote clashes, no odd characters
            name = f"a{i}{a.suffix}"
            self.remote_names[str(Path(a).resolve())] = name
            link = self.tmp / name
            link.write_bytes(Path(a).read_bytes())
            staged.append(link)
        self.copy_to([RUNNER, *staged], self.remote_dir)

    def run(self, spec: dict, inputs: Path | None = None):
        d = self.remote_dir
        remote_spec = dict(spec, artifact=f"{d}/{self.remote_names[str(Path(spec['artifact']).resolve())]}")
        files = []
        if inputs is not None:
            files.append(inputs)
            remote_spec.update(inputs=f"{d}/{inputs.name}", outputs=f"{d}/outputs.npy")
        spec_file = self.tmp / "spec.json"
        spec_file.write_text(json.dumps(remote_spec))
        self.copy_to([spec_file, *files], d)
        out = self.ssh(f"{shlex.quote(self.remote_python)} {shlex.quote(d + '/runner.py')} {shlex.quote(d + '/spec.json')}",
                       timeout=self.run_timeout, what="running the benchmark")
        result = parse_runner_output(out, self.host)
        local_outputs = None
        if inputs is not None and "error" not in result:
            local_outputs = self.tmp / "outputs.npy"
            self.copy_from(f"{d}/outputs.npy", local_outputs)
        return result, local_outputs

    def describe(self) -> dict:
        return {"target": self.name, "host": f"{self.host}:{self.port}"}

    def close(self) -> None:
        """Remove what this run created on the board: its own subfolder, and the base folder only if this run
        made it and nothing else is in it (rmdir fails on a non-empty folder). Nothing if the board is unreachable."""
        import shutil

        if self.remote_dir is not None and not self.unreachable:
            cmd = f"rm -rf -- {shlex.quote(self.remote_dir)}"
            for d in reversed(self.created):  # innermost first; rmdir keeps any that someone else filled
                cmd += f"; rmdir -- {shlex.quote(d)} 2>/dev/null"
            cmd += "; true"
            try:
                self.ssh(cmd, what="cleaning up")
            except UserError:
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)
