"""The microcontroller as a benchmark ``Target``: one interface with cpu and rpi (``targets/base.py``).

What it measures, by how it is built (one target; the harness does not branch on any of these):
- ``app="model"`` (default): the int8 .tflite as generated C in firmware under QEMU, results over
  semihosting (``mcu.measure``): instructions per inference, flash, RAM, bit-exactness against
  TFLite Micro on the test vectors;
- ``serial=True`` or ``serial_port``: the same model through the serial benchmark protocol, on
  QEMU's emulated UART or on a real board already flashed with ``firmware build --app serial``
  (``mcu.measure_serial``): instructions (QEMU) or measured cycles (a board);
- ``app="kws"``: the keyword-spotting app streaming a WAV (``kws_firmware.measure_kws``); the
  artifacts are run folders; "latency" is the time to process one second of audio.

Every result is a row of the bench schema with the firmware's own figures under ``mcu``. The
latency is an estimate from counted instructions at the part's clock (the basis is in ``estimate``);
accuracy is TFLite Micro's on the test split, which the C has too where it is bit-exact with it.
See docs/design/architecture.md.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edgernn import io
from edgernn.errors import UserError
from edgernn.targets.base import Target
from edgernn.targets.boards import get_board

APPS = ("model", "kws")
MACHINE = "armv7m/v8m/v6m"


class McuTarget(Target):
    name = "mcu"
    repeats_matter = False  # QEMU counts instructions exactly: a second run gives the same number

    def __init__(self, board: str = "mps2-an386", vectors: int = 8, timeout: float = 120, reference: bool = False,
                 app: str = "model", serial: bool = False, serial_port: str | None = None, baud: int = 115200,
                 wav=None, every_ms: int = 200, arithmetic: str = "auto", out=None):
        self.board = get_board(board)
        if app not in APPS:
            raise UserError(f"unknown --app {app!r} (choose from {', '.join(APPS)})")
        if not 1 <= vectors <= 1000:
            raise UserError("--vectors must be 1..1000")
        if not 0 < timeout <= 24 * 3600:
            raise UserError(f"--timeout must be more than 0 and at most a day, got {timeout}")
        if app == "kws" and wav is None:
            raise UserError("--app kws needs --wav FILE (mono, 16-bit, at the run's sample rate)")
        self.vectors, self.timeout, self.reference, self.app = vectors, timeout, reference, app
        self.serial, self.serial_port, self.baud = serial or serial_port is not None, serial_port, baud
        self.wav, self.every_ms, self.arithmetic = wav, every_ms, arithmetic
        self.out = Path(out) if out is not None else None
        self.index: dict[Path, int] = {}
        # The model app runs TFLite Micro on the test split for accuracy; the serial protocol and the kws app do not.
        self.takes_inputs = app == "model" and not self.serial

    # --- the interface ---
    def plan(self, artifacts, runtimes):
        if self.app == "kws":
            from edgernn.streaming.device_mirror import resolve_run_and_model

            for a in artifacts:
                resolve_run_and_model(a)  # a run folder with an int8 model and its feature parameters
            return [(a, "native-c+frontend") for a in artifacts]
        for a in artifacts:
            io.check_regular_file(a, "model file")
            if a.suffix != ".tflite":
                raise UserError(f"{a}: --target mcu takes int8 .tflite models")
        runtime = "native-c" + ("-reference" if self.reference else "") + (" (serial)" if self.serial else "")
        return [(a, runtime) for a in artifacts]

    def prepare(self, artifacts):
        self.index = {a: i for i, a in enumerate(artifacts)}

    def measured_file(self, artifact):
        if self.app == "kws":
            from edgernn.streaming.device_mirror import resolve_run_and_model

            return resolve_run_and_model(artifact)[1]
        return artifact

    def describe(self):
        return {"target": self.name}

    def run(self, spec, inputs=None):
        artifact = Path(spec["artifact"])
        if self.app == "kws":
            return self._kws(artifact), None
        if self.serial:
            return self._serial(artifact), None
        return self._model(artifact, inputs)

    # --- how each build is measured ---
    def _firmware_dir(self, artifact: Path, kind: str) -> Path | None:
        """Inside --out when given (one folder per artifact), else the measuring function's default beside the model."""
        if self.out is None:
            return None
        if kind == "kws":
            return self.out / f"firmware-{self.board.name}-kws-{artifact.name}"
        return self.out / f"firmware-{self.board.name}-{self.index.get(artifact, 0)}-{artifact.stem}"

    def _model(self, artifact: Path, inputs: Path | None) -> tuple[dict, Path | None]:
        from edgernn.targets.mcu import measure

        outputs, data_inputs, basis = None, None, "none: no test data (no run folder beside the model, or --limit 0)"
        if inputs is not None:
            outputs, data_inputs, basis = _tflm_reference(artifact, inputs)
        m = measure(artifact, self.board.name, vectors=self.vectors, timeout=self.timeout, reference=self.reference,
                    data_inputs=data_inputs, out=self._firmware_dir(artifact, "model"))
        if not m["bit_exact_vs_tflm"]:
            outputs, basis = None, "none: the C is not bit-exact with TFLite Micro"
        kernels = "Helium (MVE)" if m.get("mve_kernels") else "DSP (SMLAD)" if m["dsp_kernels"] else "reference"
        result = _row(m, m["estimated_latency_ms"], m["estimate"], runs=m["vectors"],
                      runtime_version=f"edgernn codegen, {kernels} kernels")
        return dict(result, mcu={**m, "accuracy_basis": basis}), outputs

    def _serial(self, artifact: Path) -> dict:
        from edgernn.targets.mcu import measure_serial

        m = measure_serial(artifact, board=self.board.name, port=self.serial_port, vectors=self.vectors,
                           baud=self.baud, timeout=self.timeout, out=self._firmware_dir(artifact, "model"))
        b = self.board
        if "cycles_per_inference" in m:  # a real board: its own cycle counter
            count, basis = m["cycles_per_inference"], (f"latency = measured cycles at {b.clock_hz / 1e6:.0f} MHz "
                                                       f"({b.stands_for}); cycle basis: {m['cycles_basis']}")
        else:
            count, basis = m["instructions_per_inference"], (f"latency = instructions at CPI 1 @ {b.clock_hz / 1e6:.0f} "
                                                             f"MHz ({b.stands_for}); QEMU counts instructions, not cycles")
        m = {"board": b.name, "qemu_machine": b.qemu_machine, "cpu": b.cpu, **m, "estimate": basis}
        host = f"serial {m['port']}" if self.serial_port else f"qemu {b.qemu_machine} (serial {m['port']})"
        return dict(_row(m, count / b.clock_hz * 1e3, basis, runs=m["vectors"],
                         runtime_version=f"edgernn serial app, board says {m['board_name']}"), host=host, mcu=m)

    def _kws(self, run: Path) -> dict:
        from edgernn.targets.kws_firmware import measure_kws

        m = measure_kws(run, self.board.name, wav=self.wav, every_ms=self.every_ms, timeout=self.timeout,
                        arithmetic=self.arithmetic, out=self._firmware_dir(run, "kws"))
        ms_per_audio_second = m["rtf_total"] * 1000.0
        front_end = "fixed point" if m["frontend_arithmetic"] == "fixed" else f"float32 ({m['float_unit']})"
        result = _row(m, ms_per_audio_second, "latency = ms to process 1 s of audio (front end + model every "
                                              f"{self.every_ms} ms); " + m["estimate"],
                      runs=m["results"], runtime_version=f"edgernn kws app, front end in {front_end}")
        return dict(result, peak_rss_bytes=m["ram_bytes"], mcu=m)


def _row(m: dict, latency_ms: float, estimate: str, runs: int, runtime_version: str) -> dict:
    """The schema fields of one firmware measurement: one exact count, so every percentile is the same number."""
    return {"runtime_version": runtime_version, "target": "mcu", "host": f"qemu {m['qemu_machine']}",
            "cpu_model": m["cpu"], "machine": MACHINE, "threads": 1, "warmup": 0, "runs": runs, "repeats": 1,
            "latency_ms": {k: latency_ms for k in ("p50", "p90", "p99", "min", "max", "mean")},
            "p50_per_repeat_ms": [latency_ms], "p50_spread_ms": [latency_ms] * 2,
            "throughput_per_s": 1000.0 / latency_ms if latency_ms else None, "peak_rss_bytes": None,
            "estimate": estimate}


def _tflm_reference(artifact: Path, inputs: Path) -> tuple[Path, np.ndarray, str]:
    """TFLite Micro's outputs on the test inputs (the C's own where it is bit-exact with it), and those inputs
    in int8 as the firmware's test vectors (real inputs first)."""
    from edgernn.runtimes.base import quantize
    from edgernn.runtimes.tflm import TFLMRuntime

    X = np.load(inputs)
    ref = TFLMRuntime(artifact)
    outputs = inputs.with_name(f"{inputs.stem}_tflm_outputs.npy")
    np.save(outputs, ref.predict(X))
    info = ref.input_info()
    basis = (f"TFLite Micro on the test split ({len(X)} samples); the C is bit-exact with it on the test vectors, "
             "so it has the same accuracy")
    if io.read_json(artifact.parent / "config.json").get("task") == "anomaly":  # inputs exist only with a run folder
        basis = "roc_auc (window anomaly scores) of " + basis  # the column holds the window ROC-AUC of the outputs
    return outputs, np.stack([quantize(X[i:i + 1], info) for i in range(len(X))]), basis
