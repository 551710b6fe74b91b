"""Print the test metrics of one or more run folders as a table (used by `make demo`).

    python tools/show_metrics.py runs/gru64 runs/lstm64
"""
from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgernn.errors import UserError  # noqa: E402
from edgernn.records import read_config, read_metrics  # noqa: E402


def main(runs: list[str]) -> int:
    table = Table(title="test metrics (measured on the test split)")
    for col in ("run", "arch", "units", "task", "metric", "value", "params", "MACs", "float32 KB", "epochs", "train s"):
        table.add_column(col, justify="left" if col in ("run", "arch", "task", "metric") else "right")
    for run in map(Path, runs):
        if not (run / "metrics.json").is_file():
            print(f"{run}: no metrics.json (not a finished run)", file=sys.stderr)
            return 2
        try:  # the records every edgernn command reads, checked the same way
            c, m = read_config(run / "config.json"), read_metrics(run / "metrics.json")
        except UserError as e:
            print(f"edgernn: error: {e}", file=sys.stderr)
            return 2
        name, value = m.main_metric()
        table.add_row(str(run), c.arch, str(c.units), c.task, name, f"{value:.4f}", str(c.params),
                      f"{c.macs:,}", f"{c.float32_bytes / 1024:.1f}", str(c.epochs_run), f"{c.train_seconds:.0f}")
    Console(width=None if sys.stdout.isatty() else 160).print(table)  # logs get the full table
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
