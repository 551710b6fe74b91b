"""Token authentication for the Ray clusters edgernn starts itself (docs/guides/ci-and-fresh-machines.md).

Ray 2.60 looks for a cluster's token, in this order, in the ``RAY_AUTH_TOKEN`` variable, the file
named by ``RAY_AUTH_TOKEN_PATH``, then ``~/.ray/auth_token``. ``ray.init()`` writes that last file
when it starts a local cluster and finds none, but ``ray start`` only reads it: on a machine without
``~/.ray``, a head node started with ``RAY_AUTH_MODE=token`` dies with "Token authentication is
enabled but no authentication token was found", and whichever program first wrote the file decides
how every later run goes.

So a cluster edgernn starts (the loopback test cluster, ``edgernn sweep`` without ``--address``)
gets a token of its own: written before any node starts, into a private folder, named by
``RAY_AUTH_TOKEN_PATH`` for every node, worker and the driver, and removed when the cluster is gone.
``~/.ray`` is neither read nor written. A cluster the user runs (``--address``) keeps Ray's rules.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from edgernn.procs import patched_environ

MODE = "RAY_AUTH_MODE"
TOKEN_PATH = "RAY_AUTH_TOKEN_PATH"
TOKEN = "RAY_AUTH_TOKEN"  # outranks TOKEN_PATH in Ray's lookup, so a session removes it


@contextlib.contextmanager
def session_token() -> Iterator[dict[str, str]]:
    """Yield the environment variables that make Ray nodes and drivers use a new random token.

    The token (256 bits, as Ray generates its own) lives in a folder only this user can read, for
    the duration of the ``with`` block; stop the cluster inside the block."""
    folder = Path(tempfile.mkdtemp(prefix="edgernn-ray-auth-"))  # mode 0700
    path = folder / "auth_token"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    try:
        yield {MODE: "token", TOKEN_PATH: str(path)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def node_env(base: dict[str, str], auth: dict[str, str]) -> dict[str, str]:
    """``base`` with the session's token settings, and without a token that would outrank them."""
    env = {k: v for k, v in base.items() if k != TOKEN}
    env.update(auth)
    return env


def _refresh_ray_auth() -> None:
    """Make this process's Ray re-read its authentication settings: it caches both the mode (in its
    config) and the token (in its loader) at first use, so a second cluster in one process (tests,
    a sweep after a loopback cluster) would otherwise present the previous session's token."""
    from ray._raylet import AuthenticationTokenLoader, Config

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


@contextlib.contextmanager
def as_driver(auth: dict[str, str]) -> Iterator[None]:
    """This process connects (``ray.init``) with the session's token inside the block; the previous
    settings come back after. Call ``ray.shutdown()`` before leaving the block."""
    try:
        with patched_environ(auth, remove=(TOKEN,)):  # a user's RAY_AUTH_TOKEN would win over the file
            _refresh_ray_auth()
            yield
    finally:
        _refresh_ray_auth()
