"""``edgernn bench --target mcu --app kws``: the keyword-spotting app on a QEMU board, as bench rows.

One row per run: the front end and the model measured separately while streaming a WAV
(``targets/kws_firmware.measure_kws``). In the harness's schema the "latency" is the estimated time
to process one second of audio at the part's clock (front end + model; real-time factor x 1000 ms);
the full figures are under the row's ``mcu`` key.
"""
from __future__ import annotations

from pathlib import Path

from edgernn import defaults as D
from edgernn.bench.harness import artifact_fields
from edgernn.bench.schema import row
from edgernn.errors import UserError


def bench_mcu_kws(runs, board: str = D.BOARD, wav=None, every_ms: int = D.KWS_EVERY_MS,
                  timeout: float = D.BENCH_KWS_TIMEOUT,
                  out=None, arithmetic: str = D.KWS_ARITHMETIC) -> list[dict]:
    from edgernn.streaming.device_mirror import resolve_run_and_model
    from edgernn.targets.kws_firmware import measure_kws

    if not runs:
        raise UserError("no runs to benchmark")
    if wav is None:
        raise UserError("--app kws needs --wav FILE (mono, 16-bit, at the run's sample rate)")
    rows = []
    for run in runs:
        _, model = resolve_run_and_model(run)
        m = measure_kws(run, board, wav=wav, every_ms=every_ms, timeout=timeout, arithmetic=arithmetic,
                        out=Path(out) / f"firmware-{board}-kws-{Path(run).name}" if out else None)
        ms_per_audio_second = m["rtf_total"] * 1000.0
        r = {**artifact_fields(model), "runtime": "native-c+frontend",
             "runtime_version": f"edgernn kws app, front end in " + (
                 "fixed point" if m["frontend_arithmetic"] == "fixed" else f"float32 ({m['float_unit']})"),
             "target": "mcu", "host": f"qemu {m['qemu_machine']}", "cpu_model": m["cpu"], "machine": "armv7m/v8m/v6m",
             "threads": 1, "warmup": 0, "runs": m["results"], "repeats": 1,
             "latency_ms": {k: ms_per_audio_second for k in ("p50", "p90", "p99", "min", "max", "mean")},
             "p50_per_repeat_ms": [ms_per_audio_second], "p50_spread_ms": [ms_per_audio_second] * 2,
             "throughput_per_s": 1000.0 / ms_per_audio_second if ms_per_audio_second else None,
             "peak_rss_bytes": m["ram_bytes"], "metric": None, "accuracy": None,
             "estimate": "latency = ms to process 1 s of audio (front end + model every "
                         f"{every_ms} ms); " + m["estimate"]}
        rows.append(dict(row(r), mcu=m))
    if out:
        from edgernn.bench.report import write_bench_outputs

        write_bench_outputs(rows, Path(out))
    return rows
