"""The host CPU: each (artifact, runtime) runs in a fresh child process.

A fresh process per measurement makes the peak resident set (ru_maxrss) that of this one
model on this one runtime, not of everything measured before it.
"""
from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

from edgernn.errors import UserError
from edgernn.targets.base import RUNNER, RunnerTarget, parse_runner_output


class CpuTarget(RunnerTarget):
    name = "cpu"

    def __init__(self, timeout: float = 600):
        super().__init__()
        self.timeout = timeout
        self.tmp = Path(tempfile.mkdtemp(prefix="edgernn-bench-"))

    def run(self, spec: dict, inputs: Path | None = None):
        spec = dict(spec, artifact=str(Path(spec["artifact"]).resolve()))
        outputs = None
        if inputs is not None:
            outputs = self.tmp / "outputs.npy"
            spec.update(inputs=str(inputs), outputs=str(outputs))
        spec_file = self.tmp / "spec.json"
        spec_file.write_text(json.dumps(spec))
        from edgernn.procs import python_argv, run_child

        try:
            proc = run_child(python_argv(RUNNER, spec_file), capture_output=True, text=True,
                             timeout=self.timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise UserError(f"benchmark of {spec['artifact']} on {spec['runtime']} timed out after {self.timeout:.0f} s") from None
        if proc.returncode < 0:
            import signal

            raise UserError(f"{spec['artifact']}: the {spec['runtime']} runtime crashed "
                            f"({signal.Signals(-proc.returncode).name}) running it")
        return parse_runner_output(proc.stdout + proc.stderr[-500:], "cpu"), outputs

    def close(self) -> None:
        import shutil

        shutil.rmtree(self.tmp, ignore_errors=True)
