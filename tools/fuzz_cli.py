"""Property-based fuzzing of the CLI's options with hypothesis (issue 30, item 8).

    python tools/fuzz_cli.py [--examples 200] [--seed 0] [--out fuzz_cli.json]

For every command (walked from the click tree, so a new option is fuzzed without being listed here), it
generates argument lists: each option present or not, numbers at and beyond their declared range edges
and malformed ("nan", "1e400", "abc", ""), choices and bogus choices, paths from a sandbox of hostile
inputs (a FIFO, a symlink, an empty file, a garbage .npz, a fake run folder, a folder, a name too long
for the file system, a missing file), text with markup, separators and non-ASCII. Each case must end with
exit status 0 (or 1 for the commands whose status is a verdict: check, firmware run), or 2 with exactly
one "edgernn: error:" line; never a traceback, never longer than --hang-seconds, and nothing in the
sandbox may change outside the case's --out. tests/test_cli_fuzz.py runs a seeded handful per command;
this script runs thousands and writes the counts to JSON.

Left out: `data synth-kws` (a valid invocation synthesizes speech for minutes), `data real-speech` (--fetch
downloads ~100 MB of Debian packages; a valid DATA is changed in place: tests/data/test_real_speech.py covers
its bad input); `firmware flash` always
gets --dry-run (it would program a connected board).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

import click
from hypothesis import strategies as st

SKIP = {"data synth-kws", "data real-speech"}
VERDICT_EXIT_1 = {"check", "firmware run"}  # exit 1 is their answer ("does not run", "outputs differ")
FIXED = {  # options that reach other machines or hardware: only harmless values
    "host": ["pi@127.0.0.1", "-oProxyCommand=touch%20x", "", "a b"],
    "address": ["127.0.0.1:1", "nonsense", "", "[::1]:99999"],
    "drive": ["{missing}", "{folder}"],
    "port": None,  # per command: bench --port is a number (range-generated); firmware stream --port a path
}
TEXTS = ["", "x", "../x", "a,b", ",", "[/b]x", "ü", "\u202e", "-", "--", "a" * 300, "1", "0", "-1", "nan", "gru",
         "int8", "yes,no", "16KB", "64KB", "auto"]


def commands(root):
    """(name, command) of every leaf command."""
    subs = getattr(root, "commands", None)
    if not subs:
        return [("", root)]
    return [(f"{name} {leaf}".strip(), cmd) for name, sub in sorted(subs.items()) for leaf, cmd in commands(sub)]


def make_sandbox(root: Path) -> dict[str, str]:
    """Hostile inputs in ``root``; returns {name: path}. Nothing here may change during a case."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "folder").mkdir(exist_ok=True)
    (root / "empty.npz").write_bytes(b"")
    (root / "text.txt").write_text("hello\n")
    (root / "junk.npz").write_bytes(b"PK\x03\x04 not really a zip")
    (root / "junk.tflite").write_bytes(b"\x00" * 64)
    (root / "junk.keras").write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    (root / "junk.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEjunk")
    run = root / "fakerun"
    run.mkdir(exist_ok=True)
    (run / "config.json").write_text('{"task": "kws", "class_names": "not a list"}')
    (run / "model.keras").write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    fifo = root / "fifo.wav"
    if not fifo.exists():
        os.mkfifo(fifo)
    link = root / "link.json"
    if not link.is_symlink():
        link.symlink_to(root / "text.txt")
    paths = {"folder": root / "folder", "empty": root / "empty.npz", "text": root / "text.txt",
             "junknpz": root / "junk.npz", "tflite": root / "junk.tflite", "keras": root / "junk.keras",
             "wav": root / "junk.wav", "run": run, "fifo": fifo, "link": link, "missing": root / "missing.npz",
             "long": root / ("n" * 300), "dotdot": root / "folder" / ".." / "text.txt"}
    return {k: str(v) for k, v in paths.items()}


def snapshot(root: Path, skip: Path | None) -> dict[str, tuple]:
    """Every entry under ``root`` (but ``skip``): files with type, size and modification time, folders by type."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            if skip is not None and (p == skip or skip in p.parents):
                continue
            st_ = p.lstat()  # a folder counts by its existence (its mtime moves when a case's --out is made in it)
            out[str(p)] = (st_.st_mode,) if p.is_dir() and not p.is_symlink() else (st_.st_mode, st_.st_size,
                                                                                   st_.st_mtime_ns)
    return out


def _number_values(t) -> list[str]:
    lo, hi = t.min, t.max
    step = 1 if isinstance(t, click.IntRange) else 0.5
    values = [lo, hi, lo - step, hi + step, lo + step]
    if isinstance(t, click.FloatRange):
        values += [(lo + hi) / 2, 1e-300]
    values = [f"{v:g}" if isinstance(v, float) else str(v) for v in values]
    return values + ["nan", "inf", "-inf", "1e400", "1e9", "abc", "", " 3", "0x10", "-0", str(2**64)]


def option_values(cmd_name: str, param, paths: dict[str, str]) -> st.SearchStrategy:
    """Values for one option or argument (strings, as a shell would pass them)."""
    name = param.name
    path_values = list(paths.values())
    if name in FIXED and FIXED[name] is not None:
        return st.sampled_from([v.format(**paths) for v in FIXED[name]])
    t = param.type
    if isinstance(t, (click.IntRange, click.FloatRange)):
        return st.sampled_from(_number_values(t))
    if isinstance(t, (click.types.IntParamType, click.types.FloatParamType)):
        return st.sampled_from(["0", "-1", "nan", "1e400", "abc"])
    if isinstance(t, click.Choice):
        return st.sampled_from([*t.choices, "bogus", ""])
    if isinstance(t, click.Path) or name in ("port", "serial_port"):
        return st.sampled_from(path_values)
    return st.sampled_from(TEXTS) | st.text(max_size=12)


def cases(cmd_name: str, cmd, paths: dict[str, str], out: str) -> st.SearchStrategy:
    """Argument lists for ``cmd``: its arguments, then a random subset of its options, --out always ``out``
    when the command has one (so 'nothing written outside --out' is checkable)."""
    parts = []
    for p in cmd.params:
        if isinstance(p, click.Argument):
            values = option_values(cmd_name, p, paths)
            if p.name == "out":
                values = st.sampled_from([out, out, paths["run"], paths["folder"], paths["text"], paths["long"]])
            n = (0, 3) if p.nargs == -1 else (1, 1) if p.required else (0, 1)
            parts.append(st.lists(values, min_size=n[0], max_size=n[1]))
        elif p.name in ("help", "version"):
            continue
        elif p.is_flag:
            flag = p.opts[0]
            parts.append(st.just([flag]) if cmd_name == "firmware flash" and flag == "--dry-run"
                         else st.sampled_from([[], [flag]]))
        else:
            values = option_values(cmd_name, p, paths)
            if p.name == "out":
                values = st.sampled_from([out, out, f"{out}/sub", paths["run"], paths["folder"], paths["text"],
                                          paths["fifo"], paths["link"], paths["long"]])
            present = st.just(True) if p.required else st.booleans()
            parts.append(st.tuples(present, values).map(lambda pv, o=p.opts[0]: [o, pv[1]] if pv[0] else []))
    return st.tuples(*parts).map(lambda groups: [a for g in groups for a in g])


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def run_case(main, cmd_name: str, args: list[str], sandbox: Path, out: Path, hang_seconds: float) -> str | None:
    """None if the case behaved; else what went wrong (traceback, hang, bad exit, extra lines, outside write)."""
    from click.testing import CliRunner

    argv = [*cmd_name.split(), *args]
    before = snapshot(sandbox, out)
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, hang_seconds)
    start = time.perf_counter()
    try:
        r = CliRunner().invoke(main, argv)
    except Hang:
        return f"hang (> {hang_seconds:g} s)"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    seconds = time.perf_counter() - start
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        if isinstance(r.exception, Hang):
            return f"hang (> {hang_seconds:g} s)"
        return f"traceback: {type(r.exception).__name__}: {str(r.exception)[:200]}"
    errors = [ln for ln in r.output.splitlines() if ln.startswith("edgernn: error:")]
    ok_codes = {0, 2} | ({1} if cmd_name in VERDICT_EXIT_1 else set())
    if r.exit_code not in ok_codes:
        return f"exit status {r.exit_code}: {r.output[-300:]}"
    if r.exit_code == 2 and len(errors) != 1:
        return f"exit 2 with {len(errors)} error lines: {r.output[-300:]}"
    if "Traceback" in r.output:
        return "a traceback in the output"
    after = snapshot(sandbox, out)
    changed = sorted(set(before.items()) ^ set(after.items()))
    if changed:
        return f"wrote outside --out: {sorted({c[0] for c in changed})[:5]}"
    return None if seconds < hang_seconds else f"slow: {seconds:.0f} s"


def fuzz(main, sandbox: Path, examples: int, seed: int | None, hang_seconds: float, only=None) -> dict:
    """Run ``examples`` generated cases per command; returns counts and the first failures per command."""
    paths = make_sandbox(sandbox / "in")
    (sandbox / "out").mkdir(exist_ok=True)
    results = {}
    counter = iter(range(10**9))
    for name, cmd in commands(main):
        if name in SKIP or (only and name not in only):
            continue
        results[name] = _fuzz_command(main, name, cmd, paths, sandbox, examples, seed, hang_seconds, counter)
    return results


def _fuzz_command(main, name, cmd, paths, sandbox, examples, seed, hang_seconds, counter) -> dict:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as seeded

    stats = {"cases": 0, "failing": 0, "failures": []}

    @seeded(seed or 0)
    @settings(max_examples=examples, derandomize=seed is None, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def one(data):
        out = sandbox / "out" / str(next(counter))
        args = data.draw(cases(name, cmd, paths, str(out)))
        problem = run_case(main, name, args, sandbox, out, hang_seconds)
        stats["cases"] += 1
        if problem:
            stats["failing"] += 1
            stats["failures"].append({"args": args, "problem": problem})

    one()
    stats["failures"] = stats["failures"][:10]
    return stats


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=200, help="generated cases per command")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: derandomized, reproducible)")
    ap.add_argument("--hang-seconds", type=float, default=60.0)
    ap.add_argument("--only", default=None, help="comma-separated command names, e.g. 'bench,report'")
    ap.add_argument("--out", type=Path, default=Path("fuzz_cli.json"))
    args = ap.parse_args()
    args.out = args.out.resolve()  # the cases run in a sandbox folder; a relative --out means here
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    import tempfile

    from edgernn.cli import main as cli

    start = time.time()
    with tempfile.TemporaryDirectory(prefix="edgernn-fuzz-cli-") as tmp:
        os.chdir(tmp)  # relative writes would land here, inside the watched sandbox
        results = fuzz(cli, Path(tmp), args.examples, args.seed, args.hang_seconds,
                       only=set(args.only.split(",")) if args.only else None)
    total = sum(r["cases"] for r in results.values())
    failed = {k: r["failures"] for k, r in results.items() if r["failures"]}
    summary = {"commands": len(results), "cases": total, "failing_cases": sum(r["failing"] for r in results.values()),
               "seconds": round(time.time() - start), "per_command": results}
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{total} cases over {len(results)} commands in {summary['seconds']} s: "
          f"{summary['failing_cases']} failing (tracebacks, hangs, bad exits, writes outside --out); wrote {args.out}")
    for k, v in failed.items():
        print(f"  {k}: {v[0]['problem']}  args={v[0]['args']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
