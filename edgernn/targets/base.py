"""The interface every benchmark target shares: plan, prepare, run one spec, close.

``edgernn bench`` (``bench/harness.py``) has one code path for every target: it asks the target
which (artifact, runtime) pairs it measures (``plan``), stages them (``prepare``), runs each spec
(``run``, with the test inputs when accuracy is wanted) and turns each result into a schema row
(``bench/schema.py``). So cpu, rpi and mcu rows have one schema; what differs per target (a fresh
child process, SSH to a board, firmware in QEMU or on a serial port) stays inside the target.
See docs/design/architecture.md.
"""
from __future__ import annotations

import abc
import json
from pathlib import Path

from edgernn import io
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
    # False where a measurement is exact (instruction counts under QEMU): repeating it shows no noise.
    repeats_matter = True
    # False where the target cannot run the test split (its outputs would not be the artifact's): no accuracy.
    takes_inputs = True

    @abc.abstractmethod
    def plan(self, artifacts: list[Path], runtimes: list[str] | None) -> list[tuple[Path, str]]:
        """The (artifact, runtime) pairs to measure, in order; a UserError for an artifact this target cannot take."""

    def prepare(self, artifacts: list[Path]) -> None:
        """Make the artifacts available where they will run."""

    def spec(self, artifact: Path, runtime: str) -> dict:
        """What ``run`` needs beyond artifact, runtime and timing (e.g. the input shape)."""
        return {}

    @abc.abstractmethod
    def run(self, spec: dict, inputs: Path | None = None) -> tuple[dict, Path | None]:
        """Run one spec; returns (result in the schema's fields, local path of the outputs .npy when
        inputs were given and the outputs stand for the target's)."""

    def measured_file(self, artifact: Path) -> Path:
        """The file a row describes (sha256, size): the artifact itself, or the model inside a run folder."""
        return artifact

    def close(self) -> None:
        pass

    def describe(self) -> dict:
        return {"target": self.name}


class RunnerTarget(Target):
    """Targets that run ``runner.py`` (this machine, a board over SSH): any runtime that loads the artifact."""

    only_runtimes: tuple[str, ...] | None = None  # what this target can have (None: every runtime)

    def __init__(self):
        self._shapes: dict[Path, list[int]] = {}

    def plan(self, artifacts, runtimes):
        from edgernn.runtimes import runtimes_for

        for a in artifacts:
            io.check_regular_file(a, "model file")
            if not runtimes_for(a):
                raise UserError(f"{a}: unknown artifact type (expected .keras, .tflite or .onnx)")
        # The native C engine covers the int8 GRU graph only, so it runs when asked for by name.
        plan = [(a, r) for a in artifacts for r in runtimes_for(a)
                if (r in runtimes if runtimes is not None else r != "native")
                and (self.only_runtimes is None or r in self.only_runtimes)]
        if not plan:
            raise UserError("no runtime can run these artifacts on this target"
                            + ("" if self.only_runtimes is None else f" (on {self.name}: {', '.join(self.only_runtimes)})"))
        return plan

    def spec(self, artifact, runtime):
        if artifact not in self._shapes:  # once per artifact, for all its runtimes
            self._shapes[artifact] = input_shape(artifact, runtime)
        return {"input_shape": self._shapes[artifact]}


def input_shape(artifact: Path, runtime: str = "litert") -> list[int]:
    """Read in a child for .tflite files: a crafted model may crash LiteRT or TFLite Micro, not in this process."""
    if artifact.suffix == ".tflite":
        from edgernn.runtimes.probe import probe_tflite

        reader = "tflm" if runtime in ("tflm", "native") else "litert"
        probed = probe_tflite(artifact, reader, io.read_user_file(artifact, "TFLite model"))
        return [1, *probed["input"]["shape"][1:]]
    from edgernn.runtimes import open_runtime

    with open_runtime(artifact) as rt:
        return [1, *rt.input_info().shape[1:]]
