"""Results records: the JSON a benchmark script writes, from which docs/results pages are generated.

A record says what was measured (tables of figures, plots to draw, a few headline figures for the
README), how (the command), when, at which commit and on which machine, and which code it describes
(paths), so the documentation can flag a page whose code changed after the measurement
(docs/results/index.md explains the pages; tools/docs_results.py renders them).

    from results_record import write_record
    write_record("docs/results/data/mcu.json", title=..., tool="tools/bench_mcu.py", command=...,
                 describes=["edgernn/export/codegen", "firmware/runtime"], tables=[...])

Schema (version 1), every key required unless marked optional:
    schema: "edgernn-results/1"
    title, tool, command: str (command: as `command_line` writes it, naming no folder of one machine)
    date: ISO 8601 UTC; commit: 40 hex digits or null; dirty: bool (uncommitted changes to tracked files)
    machine: {"cpu": str, "cores": int, "os": str, "python": str}
    describes: [repository paths]
    provenance: "measured" (written by the tool) or "transcribed: ..." (copied from an older document)
    summary: str (Markdown; optional)
    tables: [{"title": str, "columns": [str], "rows": [[str | number]]}]
    plots: [{"table": index, "label": [column], "value": column, "title": str}] (optional)
    headline: [{"what": str, "value": str}] (optional; rows of the README's results table)
"""
from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import tempfile
from datetime import datetime, timezone
from pathlib import Path

SCHEMA = "edgernn-results/1"
ROOT = Path(__file__).resolve().parents[1]


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "processor\t: arm")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def stamp() -> dict:
    """Date, commit and machine of a measurement made now, from this checkout."""
    commit = _git("rev-parse", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return {
        "date": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "commit": commit,
        "dirty": dirty,
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count() or 0,
                    "os": f"{platform.system()} {platform.release()}", "python": platform.python_version()},
    }


def _in_checkout(path: Path) -> str | None:
    """``path`` relative to the checkout of this project that holds it (this one, the main tree of a
    worktree or any other clone: a folder with .git and tools/results_record.py), or None."""
    for top in path.parents:
        if (top / ".git").exists() and (top / "tools" / "results_record.py").is_file():
            return path.relative_to(top).as_posix() or "."
    return None


def command_line(tool: str, argv, scratch=()) -> str:
    """The command a record shows to reproduce it: ``python TOOL ARGS``, with every absolute path inside
    a checkout of this project made relative to it (``/work/main/data/kws`` -> ``data/kws``), and the
    options in ``scratch`` (where intermediate files go, which changes no figure) left out when they
    name a folder outside any checkout (``--runs /tmp/x``): the tool's default is then as good.
    Other absolute paths are kept (they are inputs the reader has to provide)."""
    out, args, i = [], list(argv), 0
    while i < len(args):
        arg = args[i]
        name, eq, value = arg.partition("=") if arg.startswith("--") else ("", "", "")
        if name in scratch or (arg in scratch and i + 1 < len(args)):
            path = value if eq else args[i + 1]
            width = 1 if eq else 2
            if path.startswith("/") and _in_checkout(Path(path)) is None:
                i += width
                continue
        if eq and value.startswith("/"):
            rel = _in_checkout(Path(value))
            arg = f"{name}={rel}" if rel else arg
        elif arg.startswith("/"):
            arg = _in_checkout(Path(arg)) or arg
        out.append(arg)
        i += 1
    return shlex.join(["python", tool, *out])


def write_record(path, *, title: str, tool: str, command: str, describes: list, tables: list,
                 plots: list = (), headline: list = (), summary: str = "") -> dict:
    """Stamp and write one record atomically (a temporary file renamed into place)."""
    record = {"schema": SCHEMA, "title": title, "tool": tool, "command": command, **stamp(),
              "describes": list(describes), "provenance": "measured", "summary": summary,
              "tables": list(tables), "plots": list(plots), "headline": list(headline)}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(record, indent=1, default=str) + "\n")
    os.replace(tmp, path)
    return record
