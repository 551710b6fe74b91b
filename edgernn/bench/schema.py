"""The result schema every target produces: one row per (artifact, runtime, target).

Fields (all targets):
  artifact, sha256, file_bytes       the file measured
  model_kind                          int8 / float32 / float16 / hybrid (.tflite), onnx, keras
  runtime, runtime_version            e.g. litert, "ai_edge_litert 2.3.0"
  target, host, cpu_model, machine    where it ran (cpu: this machine; rpi: the board)
  threads, warmup, runs, repeats      timing parameters
  latency_ms {p50,p90,p99,min,max,mean}   pooled over all timed runs of all repeats, batch 1
  p50_per_repeat_ms [..], p50_spread_ms [min, max]   run-to-run noise
  throughput_per_s                    1000 / mean latency (batch 1, one stream)
  peak_rss_bytes                      peak resident set (VmHWM) of the fresh benchmark process: Python,
                                      numpy, the runtime, the model and the timing loop
  rss_runtime_import_bytes            the same before the runtime was imported (the Python + numpy baseline)
  metric, accuracy                    "accuracy" or "roc_auc" on the test split (null without data)
  estimate                            null when everything is measured; else what is estimated and how
  error, install                      set when the runtime is missing or failed; install says what to pip install
  timestamp, edgernn_version
"""
from __future__ import annotations

FIELDS = ("artifact", "sha256", "file_bytes", "model_kind", "runtime", "runtime_version", "target", "host",
          "cpu_model", "machine", "threads", "warmup", "runs", "repeats", "latency_ms", "p50_per_repeat_ms",
          "p50_spread_ms", "throughput_per_s", "peak_rss_bytes", "rss_runtime_import_bytes", "metric", "accuracy",
          "estimate", "error", "install", "timestamp", "edgernn_version")

CSV_FIELDS = ("artifact", "model_kind", "runtime", "target", "host", "file_bytes", "p50_ms", "p90_ms", "p99_ms",
              "p50_min_ms", "p50_max_ms", "throughput_per_s", "peak_rss_bytes", "metric", "accuracy", "error")


def row(result: dict) -> dict:
    """A complete schema row: every field present (None where it does not apply)."""
    return {f: result.get(f) for f in FIELDS}


def csv_row(r: dict) -> dict:
    lat = r.get("latency_ms") or {}
    spread = r.get("p50_spread_ms") or [None, None]
    return {"artifact": r["artifact"], "model_kind": r.get("model_kind"), "runtime": r["runtime"],
            "target": r["target"], "host": r.get("host"), "file_bytes": r.get("file_bytes"),
            "p50_ms": lat.get("p50"), "p90_ms": lat.get("p90"), "p99_ms": lat.get("p99"),
            "p50_min_ms": spread[0], "p50_max_ms": spread[1], "throughput_per_s": r.get("throughput_per_s"),
            "peak_rss_bytes": r.get("peak_rss_bytes"), "metric": r.get("metric"), "accuracy": r.get("accuracy"),
            "error": r.get("error")}
