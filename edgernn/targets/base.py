"""The interface every benchmark target shares: prepare, run one spec, close.

A spec names an artifact, a runtime and the timing parameters (see targets/runner.py). Every
target returns the runner's result dict, so cpu, rpi (and mcu) results have one schema.
"""
from __future__ import annotations

import abc
import json
from pathlib import Path

from edgernn.errors import UserError

RUNNER = Path(__file__).with_name("runner.py")
RESULT_PREFIX = "EDGERNN-RESULT "


def parse_runner_output(stdout: str, where: str) -> dict:
    """The runner's one result line; anything else is reported, never guessed at."""
    for line in stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            try:
                return json.loads(line[len(RESULT_PREFIX):])
            except json.JSONDecodeError:
                break
    tail = stdout.strip().splitlines()[-3:] if stdout.strip() else ["(no output)"]
    raise UserError(f"benchmark runner on {where} gave no result: {' | '.join(tail)[:300]}")


class Target(abc.ABC):
    name = "target"

    def prepare(self, artifacts: list[Path]) -> None:
        """Make the artifacts available where they will run."""

    @abc.abstractmethod
    def run(self, spec: dict, inputs: Path | None = None) -> tuple[dict, Path | None]:
        """Run one spec; returns (result, local path of the outputs .npy when inputs were given)."""

    def close(self) -> None:
        pass

    def describe(self) -> dict:
        return {"target": self.name}
