"""Peak memory of `edgernn detect` on a long recording (issue 30): streamed in blocks, it stays bounded.

    python tools/bench_detect_long.py [--hours 2] [--run RUN] [--out detect_long.json]

Writes a synthetic 16 kHz mono 16-bit WAV of --hours (noise at a few levels, with tones; made block by
block in a temporary folder, deleted afterwards) and runs `edgernn detect RUN WAV --json` on it in a
child process, and on a 10 s WAV for the baseline (Python, TensorFlow and the model). Reports the
child's peak resident set (ru_maxrss of the waited-for child, i.e. VmHWM), the wall time and the
results. Without --run, a keyword run is made first: a tiny synthesized dataset (espeak-ng, flite) and
an 8-unit GRU trained for one epoch; its detections mean nothing, the memory and time are what count.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RATE = 16000


def write_long_wav(path: Path, seconds: int, seed: int = 0) -> None:
    """Noise whose level changes every few seconds, with short tones: a minute at a time, never whole."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    with sf.SoundFile(path, "w", samplerate=RATE, channels=1, subtype="PCM_16") as f:
        for start in range(0, seconds, 60):
            n = min(60, seconds - start) * RATE
            level = np.repeat(rng.uniform(0.002, 0.05, n // (RATE * 3) + 1), RATE * 3)[:n]
            x = rng.standard_normal(n) * level
            t = np.arange(n) / RATE
            x[:RATE // 2] += 0.3 * np.sin(2 * np.pi * rng.uniform(200, 2000) * t[:RATE // 2])
            f.write(np.clip(x, -1, 1).astype(np.float32))


def make_run(folder: Path) -> Path:
    from edgernn.data.synth_kws import synth_kws
    from edgernn.train.loop import train

    data = synth_kws(folder / "data", seed=3, per_word=16, unknown_total=32, engines="espeak,flite",
                     keywords="yes,no,stop", progress=False)
    return train(task="kws", arch="gru", units=8, data=data, out=folder / "run", epochs=1, progress=False)


# The child's own peak: a fresh wrapper whose only child is `edgernn detect` reports ru_maxrss of its children.
WRAPPER = """import json, resource, subprocess, sys
with open(sys.argv[1], "w") as out:
    rc = subprocess.run(sys.argv[2:], stdout=out).returncode
print(json.dumps({"rc": rc, "maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def measure(run: Path, wav: Path, scratch: Path) -> dict:
    """Peak RSS (VmHWM) and wall time of one `edgernn detect` child."""
    result_file = scratch / f"{wav.stem}.json"
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", WRAPPER, str(result_file), sys.executable, "-m", "edgernn.cli",
                           "detect", str(run), str(wav), "--json"], capture_output=True, text=True,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    seconds = time.perf_counter() - start
    usage = json.loads(proc.stdout.strip().splitlines()[-1])
    if usage["rc"] != 0:
        raise SystemExit(f"detect failed ({usage['rc']}): {proc.stderr.strip()[-500:]}")
    result = json.loads(result_file.read_text())
    return {"audio_seconds": result["seconds"], "wav_bytes": wav.stat().st_size, "results": result["results"],
            "detections": len(result["detections"]), "wall_seconds": round(seconds, 1),
            "peak_rss_bytes": usage["maxrss_kib"] * 1024}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--run", type=Path, default=None, help="a kws run folder (default: make a tiny one)")
    ap.add_argument("--out", type=Path, default=Path("detect_long.json"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="edgernn-detect-long-") as tmp:
        tmp = Path(tmp)
        run = args.run or make_run(tmp)
        short, long = tmp / "short.wav", tmp / "long.wav"
        write_long_wav(short, 10)
        write_long_wav(long, int(args.hours * 3600))
        baseline = measure(run, short, tmp)
        stream = measure(run, long, tmp)
    from edgernn.streaming.stream import BLOCK_SECONDS

    report = {"block_seconds": BLOCK_SECONDS, "baseline_10s": baseline, "long": stream,
              "growth_bytes": stream["peak_rss_bytes"] - baseline["peak_rss_bytes"],
              "whole_file_float32_bytes": int(stream["audio_seconds"] * RATE * 4)}
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    mib = 2 ** 20
    print(f"detect on {stream['audio_seconds'] / 3600:.2f} h ({stream['wav_bytes'] / mib:.0f} MiB WAV): peak RSS "
          f"{stream['peak_rss_bytes'] / mib:.0f} MiB vs {baseline['peak_rss_bytes'] / mib:.0f} MiB on 10 s "
          f"(+{report['growth_bytes'] / mib:.0f} MiB; the whole recording as float32 would be "
          f"{report['whole_file_float32_bytes'] / mib:.0f} MiB); {stream['results']} model runs in "
          f"{stream['wall_seconds']:.0f} s; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
