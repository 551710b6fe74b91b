"""Ray clusters edgernn starts itself bring their own token (edgernn.studies.ray_auth): they work on a
machine with no ~/.ray, and leave nothing there. docs/guides/ci-and-fresh-machines.md"""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from edgernn.studies import ray_auth

REPO = Path(__file__).resolve().parents[2]


def test_a_session_token_is_private_new_and_removed_after():
    with ray_auth.session_token() as a, ray_auth.session_token() as b:
        path = Path(a["RAY_AUTH_TOKEN_PATH"])
        assert a["RAY_AUTH_MODE"] == "token"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        token = path.read_text()
        assert len(token) == 64 and int(token, 16) and token != Path(b["RAY_AUTH_TOKEN_PATH"]).read_text()
        assert not str(path).startswith(str(Path.home()))
    assert not path.exists() and not path.parent.exists()


def test_node_env_drops_a_token_that_would_outrank_the_sessions():
    env = ray_auth.node_env({"RAY_AUTH_TOKEN": "users-own", "PATH": "/bin"}, {"RAY_AUTH_MODE": "token",
                                                                             "RAY_AUTH_TOKEN_PATH": "/x/t"})
    assert env == {"PATH": "/bin", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": "/x/t"}


def test_as_driver_restores_the_previous_settings(monkeypatch):
    monkeypatch.setenv("RAY_AUTH_TOKEN", "users-own")
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
    with ray_auth.session_token() as auth, ray_auth.as_driver(auth):
        assert os.environ["RAY_AUTH_TOKEN_PATH"] == auth["RAY_AUTH_TOKEN_PATH"] and "RAY_AUTH_TOKEN" not in os.environ
    assert os.environ["RAY_AUTH_TOKEN"] == "users-own"
    assert "RAY_AUTH_MODE" not in os.environ and "RAY_AUTH_TOKEN_PATH" not in os.environ


def test_joining_a_cluster_says_how_to_give_a_token(monkeypatch):
    """Ray 2.60 only says "Failed to connect" to a driver without the token (measured against the
    loopback cluster); the error says what to set, unless token mode is on already."""
    import ray

    from edgernn.errors import UserError
    from edgernn.studies import sweep

    def refused(**kwargs):
        raise ConnectionError("Failed to connect to Ray cluster at 10.0.0.5:6379\nmore")

    monkeypatch.setattr(sweep, "check_reachable", lambda address: None)
    monkeypatch.setattr(ray, "init", refused)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    with pytest.raises(UserError, match=r"cannot join the Ray cluster at 10.0.0.5:6379: Failed to connect.*"
                                        r"set RAY_AUTH_MODE=token and give its token") as e:
        sweep._connect("10.0.0.5:6379", None)
    assert "\n" not in str(e.value)
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    with pytest.raises(UserError) as e:
        sweep._connect("10.0.0.5:6379", None)
    assert "RAY_AUTH_MODE" not in str(e.value)


# Both kinds of cluster edgernn starts, in one child whose HOME is a new empty folder, as on a new
# machine (Ray's session files go to their own RAY_TMPDIR too, so nothing left by another run helps).
FRESH_MACHINE = """
import os, sys
from edgernn.studies import sweep
from edgernn.studies.loopback import loopback_cluster

with loopback_cluster(nodes=1, cpus_per_node=1, timeout=90) as cluster:
    import ray
    ray.init(address=cluster["address"], logging_level="ERROR")
    print("loopback nodes", sum(n["Alive"] for n in ray.nodes()))
    ray.shutdown()
import signal
def cli_handler(signum, frame):
    raise KeyboardInterrupt
signal.signal(signal.SIGTERM, cli_handler)  # as the CLI sets it: ray.init must not keep its own in its place
with sweep._local_auth(None):
    ray = sweep._connect(None, 1)
    print("local task", ray.get(ray.remote(lambda: "ran").remote()))
    print("sigterm handler kept", signal.getsignal(signal.SIGTERM) is cli_handler)
    ray.shutdown()
print("home", sorted(os.listdir(os.environ["HOME"])))
"""


@pytest.mark.slow  # ~30-60 s: a head node and a local instance, each started from scratch
def test_ray_clusters_start_on_a_machine_without_a_token(tmp_path):
    """Fails without the session token: the head node dies with "Token authentication is enabled but
    no authentication token was found" (and ray.init would write ~/.ray/auth_token)."""
    home = tmp_path / "home"
    home.mkdir()
    # Ray's socket paths (…/ray/session_<date>_<pid>/sockets/plasma_store) must stay under 108 bytes:
    # a short folder directly in /tmp, not below a TMPDIR that may be long already (.ci/run's)
    ray_tmp = tempfile.mkdtemp(prefix="ern-ray-", dir="/tmp")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    env.update(HOME=str(home), RAY_TMPDIR=ray_tmp, RAY_USAGE_STATS_ENABLED="0", TF_USE_LEGACY_KERAS="1",
               PYTHONPATH=str(REPO))
    try:
        r = subprocess.run([sys.executable, "-c", FRESH_MACHINE], env=env, capture_output=True, text=True,
                           timeout=300, cwd=tmp_path)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "loopback nodes 1" in r.stdout and "local task ran" in r.stdout, r.stdout + r.stderr[-2000:]
    assert "sigterm handler kept True" in r.stdout, r.stdout  # Ray's would print a stack dump on SIGTERM
    assert "home []" in r.stdout, r.stdout  # nothing written under ~/.ray
    assert "Traceback" not in r.stderr, r.stderr[-2000:]

