"""Run one stage of `make demo` and append its wall time and CPU-seconds to a timing log.

    python tools/timed.py runs/timing.jsonl synthesis -- edgernn data synth-kws data/kws
    python tools/timed.py --show runs/timing.jsonl      # one line per stage, then the total

CPU-seconds (user + system of the command and all its children) are printed beside the wall time
because on a shared machine the wall time says more about the neighbours than about the work
(docs/notes/2026-12-07-demo-speed.md). The command's exit status is passed on; Ctrl-C reaches the
command through the terminal, and this wrapper only waits for it to end; a SIGTERM (what `make
demo` sends the background training on Ctrl-C) is passed on to the command.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def run_stage(log: Path, name: str, command: list[str]) -> int:
    start = time.time()
    before = os.times()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the child gets the terminal's Ctrl-C itself
    children: list[subprocess.Popen] = []

    def on_sigterm(*_):
        if not children:  # stopped before the command started: never start it (no orphan)
            sys.exit(143)
        children[0].terminate()

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        children.append(child := subprocess.Popen(command))
    except FileNotFoundError:
        print(f"timed.py: {command[0]}: command not found", file=sys.stderr)
        return 127
    try:
        status = child.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    record = {"stage": name, "start": start, "end": time.time(), "cpu_seconds": round(cpu, 1), "status": status}
    with log.open("a") as f:  # one short line per stage: appends from the two side-by-side trainings do not mix
        f.write(json.dumps(record) + "\n")
    return status if status >= 0 else 128 - status


def stage_lines(records: list[dict]) -> list[str]:
    """One line per stage in the order they started, then the total (first start to last end)."""
    records = sorted(records, key=lambda r: r["start"])
    lines = [f"{r['stage']:<12} {r['end'] - r['start']:7.1f} s wall {r['cpu_seconds']:8.1f} CPU-s"
             + ("" if r["status"] == 0 else f"  (exit {r['status']})") for r in records]
    if records:
        wall = max(r["end"] for r in records) - records[0]["start"]
        lines.append(f"{'total':<12} {wall:7.1f} s wall {sum(r['cpu_seconds'] for r in records):8.1f} CPU-s")
    return lines


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--show":
        path = Path(argv[1])
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []
        print("\n".join(["time per stage:"] + stage_lines(records)))
        return 0
    if len(argv) < 4 or argv[2] != "--":
        print("usage: timed.py LOG NAME -- COMMAND...  |  timed.py --show LOG", file=sys.stderr)
        return 2
    return run_stage(Path(argv[0]), argv[1], argv[3:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
