"""Child processes that die with their parent.

Converters, model probes and benchmark runners run in child processes (a crash there must not
kill the CLI). If the CLI is killed (SIGKILL, closed terminal), such a child would otherwise keep
running for tens of seconds as an orphan: each child calls ``die_with_parent()`` first thing, which
asks Linux to send it SIGKILL when its parent dies (prctl PR_SET_PDEATHSIG) and exits at once if the
parent is already gone.

Every Python child starts from ``python_argv`` (docs/design/hardening.md): the interpreter in isolated mode
(``-I``), so neither the current folder nor the script's folder is on its ``sys.path`` and no ``PYTHON*``
variable or user site-packages applies: a ``numpy.py`` where the user runs edgernn is never imported.
edgernn itself is installed in the interpreter's site-packages, which ``-I`` keeps. A test fails if
``sys.executable`` appears anywhere else in the package.

External tools (QEMU, the compilers, ssh/scp, flashers) cannot call that themselves, and setting it
with ``preexec_fn`` is unsafe next to TensorFlow's threads; ``tied_to_parent(argv)`` starts them
through util-linux's ``setpriv --pdeathsig KILL``, which sets the same flag and then execs the tool.

Interrupts belong to the CLI process (docs/guides/ci-and-fresh-machines.md). Ctrl-C sends SIGINT to
every process of the terminal's group and the CLI turns SIGTERM into KeyboardInterrupt: a worker or
child that reacted the same way printed its own ``Traceback ... KeyboardInterrupt`` (a forked pool
worker inherits the CLI's handler, and a pool stops its workers with SIGTERM even at a normal end).
So workers and children call ``leave_interrupts_to_parent()``: SIGINT is ignored there (the parent
reacts, cleans up and stops them) and SIGTERM ends them quietly. ``worker_pool`` starts pools so.
"""
from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
from typing import Iterator

PARENT_ENV = "EDGERNN_PARENT_PID"
ISOLATED = "-I"  # isolated mode: no cwd / script folder on sys.path, no PYTHON* variables, no user site
PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None = None) -> None:
    """In a child: get SIGKILL when the parent dies (Linux; elsewhere a no-op), and leave interrupts
    to it. ``parent`` is the pid the child expects (default: the one ``child_env`` passed on)."""
    leave_interrupts_to_parent()
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if parent is None:
        expected = os.environ.get(PARENT_ENV, "")
        parent = int(expected) if expected.isdigit() else None
    if parent is not None and os.getppid() != parent:
        os._exit(1)  # the parent died before prctl took effect


def leave_interrupts_to_parent() -> None:
    """In a worker or child process: ignore Ctrl-C's SIGINT (the parent gets it too, and stops this
    process as part of its own clean-up) and let SIGTERM end the process at once, without the
    KeyboardInterrupt handler a forked process inherits from the CLI."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _start_pool_worker(parent: int, initializer, initargs) -> None:
    die_with_parent(parent)
    if initializer is not None:
        initializer(*initargs)


def child_env(extra: dict | None = None) -> dict:
    """The environment for a child: ours, plus the parent pid ``die_with_parent`` checks."""
    return {**os.environ, PARENT_ENV: str(os.getpid()), **(extra or {})}


def python_argv(*args: str) -> list[str]:
    """The argv of a Python child: this interpreter, isolated, then ``args`` (``-m module ...``, ``-c code ...``
    or a script path). The one place edgernn builds a Python command line."""
    return [sys.executable, ISOLATED, *map(str, args)]


def console_script(name: str) -> str:
    """The path of a console script installed beside this interpreter (such as ``ray``); it starts Python
    with its own folder, not the current one, first on ``sys.path``."""
    return os.path.join(os.path.dirname(sys.executable), name)


@contextlib.contextmanager
def worker_pool(processes: int, initializer=None, initargs=()) -> Iterator:
    """A multiprocessing pool whose workers leave interrupts to this process and die with it (no
    traceback per worker at the pool's end or on Ctrl-C, no orphans), and cannot import from the
    current folder.

    ``fork`` copies this process (nothing is imported anew), but not from a process already running
    TensorFlow's threads; there ``spawn`` starts fresh interpreters with a command line multiprocessing
    builds itself (``python -c ...``, current folder first on sys.path). PYTHONSAFEPATH=1 (``-P``) is set
    for the pool's whole life, so the workers it starts, and any it restarts, leave that folder out."""
    import multiprocessing as mp

    args = dict(initializer=_start_pool_worker, initargs=(os.getpid(), initializer, initargs))
    if "tensorflow" not in sys.modules:
        with mp.get_context("fork").Pool(processes, **args) as pool:
            yield pool
        return
    with patched_environ({"PYTHONSAFEPATH": "1", "PYTHONNOUSERSITE": "1"}), \
            mp.get_context("spawn").Pool(processes, **args) as pool:
        yield pool


def end_at_exit(obj, end, args=()) -> None:
    """Call ``end(*args)`` when this process exits normally, a ``worker_pool`` worker included (where
    ``atexit`` does not run: multiprocessing's finalizers do), while ``obj`` is alive. Engine children
    kept for a whole run are ended and waited for this way."""
    from multiprocessing import util

    util.Finalize(obj, end, args=args, exitpriority=10)


@contextlib.contextmanager
def patched_environ(updates: dict[str, str], remove: tuple[str, ...] = ()) -> Iterator[None]:
    """``os.environ`` with ``remove`` unset and ``updates`` set inside the block; every name it touched
    is back as it was after (unset if it was unset)."""
    saved = {k: os.environ.get(k) for k in (*remove, *updates)}
    for k in remove:
        os.environ.pop(k, None)
    os.environ.update(updates)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_child(argv: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """``subprocess.run`` with the parent pid passed on; the child must call ``die_with_parent``."""
    return subprocess.run(argv, timeout=timeout, env=child_env(kwargs.pop("env", None)), **kwargs)


@functools.lru_cache(maxsize=1)
def _setpriv() -> str | None:
    """util-linux's setpriv if it can set the parent-death signal here (Linux only), else None."""
    if not sys.platform.startswith("linux"):
        return None
    exe = shutil.which("setpriv")
    if exe is None:
        return None
    try:
        probe = subprocess.run([exe, "--pdeathsig", "KILL", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return exe if probe.returncode == 0 else None


def tied_to_parent(argv: list[str]) -> list[str]:
    """``argv`` started so that the tool gets SIGKILL when this process dies (no orphaned QEMU, gcc,
    ssh after the CLI is killed). Where setpriv is missing it is ``argv`` unchanged: the callers'
    timeouts still end the tool."""
    exe = _setpriv()
    if exe is None or shutil.which(argv[0]) is None:  # a missing tool stays FileNotFoundError for the caller
        return list(argv)
    return [exe, "--pdeathsig", "KILL", "--", *argv]
