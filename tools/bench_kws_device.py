"""Keyword spotting on the device: the C front end's agreement with the Python one, and the kws app on
every QEMU board.

    python tools/bench_kws_device.py runs/gru64 --data data/kws [--clips 500] [--wav stream.wav]
                                     [--json docs/results/data/kws-device.json]

1. Agreement on >= 500 one-second clips: the data's test split (espeak-ng), words said by flite (a
   speech engine held out of training) and background-noise cuts. Both front ends get the same int16
   samples; int8 features are compared value by value, and the int8 model's top-1 on the C features
   against its top-1 on the Python features.
2. The kws app (C front end every hop, model every --every-ms on the last second, C RecognizeCommands)
   on every QEMU board, streaming a WAV (default: a 30 s stream of test clips; boards with less than
   1 MB of flash get its first 5 s): instructions per second of audio for the front end and the model
   (QEMU -icount, SysTick), real-time factor at the part's clock (CPI 1 estimate), flash without the
   linked audio and RAM (static + measured stack), and whether the detections equal the host's.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

FLITE_VOICES = ("kal16", "awb", "rms", "slt", "kal")
SMALL_FLASH = 1 << 20


def _int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(np.asarray(x, np.float64) * 32768), -32768, 32767).astype(np.int16)


def test_split_clips(data: Path, n: int, seed: int):
    import soundfile as sf

    from edgernn.data.speech_commands import CLASS_NAMES

    rels = [r.strip() for r in (data / "testing_list.txt").read_text().splitlines() if r.strip()]
    rng = np.random.default_rng(seed)
    out = []
    for rel in [rels[i] for i in sorted(rng.choice(len(rels), min(n, len(rels)), replace=False))]:
        pcm, rate = sf.read(str(data / rel), dtype="int16")
        if rate == 16000 and pcm.ndim == 1:
            word = rel.split("/")[0]
            out.append((pcm, CLASS_NAMES.index(word) if word in CLASS_NAMES else 1, "espeak-ng test split"))
    return out


def flite_clips(words, seed: int):
    """Words said by flite's voices (not used in training), resampled to 16 kHz, random gain."""
    from edgernn.data.speech_commands import CLASS_NAMES
    from edgernn.data.wav import read_wav

    if shutil.which("flite") is None:
        print("flite not installed: no held-out-engine clips (Debian: apt-get install flite)")
        return []
    rng, out = np.random.default_rng(seed), []
    with tempfile.TemporaryDirectory() as tmp:
        for voice in FLITE_VOICES:
            for word in words:
                wav = Path(tmp) / f"{voice}-{word}.wav"
                if subprocess.run(["flite", "-voice", voice, "-t", word, "-o", str(wav)], capture_output=True).returncode:
                    continue
                x = read_wav(wav, 16000)[:16000] * rng.uniform(0.3, 1.0)
                label = CLASS_NAMES.index(word) if word in CLASS_NAMES else 1
                out.append((_int16(x), label, "flite (held-out engine)"))
    return out


def noise_clips(data: Path, n: int, seed: int):
    from edgernn.data.wav import read_wav

    noises = [read_wav(f, 16000) for f in sorted((data / "_background_noise_").glob("*.wav"))]
    noises = [x for x in noises if len(x) > 16000]
    rng, out = np.random.default_rng(seed), []
    for _ in range(n if noises else 0):
        src = noises[rng.integers(len(noises))]
        at = rng.integers(0, len(src) - 16000)
        out.append((_int16(src[at:at + 16000] * 10 ** rng.uniform(-2.5, 0)), 0, "background noise"))
    return out


def agreement(run: Path, data: Path, clips: int, seed: int) -> list[list]:
    """Print the front ends' agreement per clip source; return one row per comparison over all clips."""
    from edgernn.data.synth_kws import CORE_WORDS
    from edgernn.features import features
    from edgernn.features.dsp import frames
    from edgernn.features.fixed_point import fixed_features_pcm
    from edgernn.runtimes.base import quantize
    from edgernn.runtimes.frontend_native import NativeFrontend
    from edgernn.streaming.device_mirror import load_setup, model_io

    setup = load_setup(run)
    ref, inp, _ = model_io(setup.model)
    cfg = setup.features
    c_float = NativeFrontend(cfg, setup.mean, setup.std, inp.scale, inp.zero_point, fixed=False)
    c_fixed = NativeFrontend(cfg, setup.mean, setup.std, inp.scale, inp.zero_point, fixed=True)
    words = list(CORE_WORDS) + ["bed", "house", "marvin", "tree"]
    extra = flite_clips(words, seed) + noise_clips(data, 50, seed)
    items = test_split_clips(data, max(0, clips - len(extra)), seed) + extra
    mean, std = np.asarray(setup.mean, np.float32), np.asarray(setup.std, np.float32)

    def py_int8(f):
        return quantize((f - mean) / std, inp)

    # (C front end, Python reference) pairs: FPU cores' float path; the M0's integer path against its
    # bit-exact NumPy mirror (train --feature-arithmetic fixed) and against the float features
    variants = {"float C vs NumPy float": (c_float, "float"), "fixed C vs NumPy fixed mirror": (c_fixed, "fixed"),
                "fixed C vs NumPy float": (c_fixed, "float")}
    rows: dict = {}
    for pcm, label, source in items:
        pcm = np.concatenate([pcm, np.zeros(cfg.clip_samples, np.int16)])[:cfg.clip_samples]  # pad / cut as training
        py = {"float": py_int8(features(pcm.astype(np.float32) / 32768, cfg)),
              "fixed": py_int8(fixed_features_pcm(frames(pcm, cfg.window, cfg.hop), cfg))}
        top_py = {k: int(np.argmax(ref.invoke_raw(v.reshape(inp.shape)))) for k, v in py.items()}
        c_out = {id(fe): fe.int8_frames(pcm) for fe in (c_float, c_fixed)}
        for name, (fe, ref_kind) in variants.items():
            c = c_out[id(fe)]
            top_c = int(np.argmax(ref.invoke_raw(c.reshape(inp.shape))))
            for key in ((name, source), (name, "all")):
                r = rows.setdefault(key, {"clips": 0, "values": 0, "equal": 0, "max_diff": 0, "top1_same": 0,
                                          "correct_c": 0, "correct_py": 0})
                d = np.abs(c.astype(int) - py[ref_kind].astype(int))
                r["clips"] += 1
                r["values"] += d.size
                r["equal"] += int((d == 0).sum())
                r["max_diff"] = max(r["max_diff"], int(d.max()))
                r["top1_same"] += int(top_c == top_py[ref_kind])
                r["correct_c"] += int(top_c == label)
                r["correct_py"] += int(top_py[ref_kind] == label)
    print(f"\nC front end vs Python front end, int8 model inputs ({setup.model}; input scale {inp.scale:.6g}, "
          f"zero point {inp.zero_point}); same int16 samples into both")
    print(f"{'comparison':<31}{'clips':<26}{'n':>5}{'int8 equal':>12}{'max |diff|':>12}{'top-1 agree':>13}"
          f"{'acc C':>8}{'acc Py':>8}")
    order = list(variants)
    for (name, source), r in sorted(rows.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1] == "all")):
        print(f"{name:<31}{source:<26}{r['clips']:>5}{r['equal'] / r['values']:>12.4%}{r['max_diff']:>8} LSB"
              f"{r['top1_same'] / r['clips']:>13.2%}{r['correct_c'] / r['clips']:>8.1%}"
              f"{r['correct_py'] / r['clips']:>8.1%}")
    for name in variants:
        t = rows[(name, "all")]
        ok = (t["clips"] >= 500 and t["equal"] / t["values"] >= 0.99 and t["max_diff"] <= 1
              and t["top1_same"] / t["clips"] >= 0.995)
        print(f"{name}: targets (>= 500 clips, >= 99% equal, <= 1 LSB, >= 99.5% top-1) {'met' if ok else 'MISSED'}")
    return [[name, rows[(name, "all")]["clips"], f"{rows[(name, 'all')]['equal'] / rows[(name, 'all')]['values']:.4%}",
             f"{rows[(name, 'all')]['max_diff']} LSB", f"{rows[(name, 'all')]['top1_same'] / rows[(name, 'all')]['clips']:.2%}"]
            for name in variants]


def boards(run: Path, wav: np.ndarray, every_ms: int, names) -> list[list]:
    """Print the kws app's figures per board; return one results-record row per board that ran."""
    from edgernn.targets.boards import BOARDS
    from edgernn.targets.kws_firmware import measure_kws

    print(f"\nkws app, model every {every_ms} ms, {run}")
    head = (f"{'board':<16}{'core':<12}{'FE math':<8}{'MHz':>5}{'audio s':>8}{'FE instr/s':>12}{'model instr/s':>14}"
            f"{'RTF FE':>8}{'RTF model':>10}{'RTF total':>10}{'flash B':>9}{'FE flash':>9}{'RAM B':>7}{'FE RAM':>7}"
            f"{'det = host':>11}{'= float':>9}")
    print(head)
    table = []
    for name in names:
        b = BOARDS[name]
        pcm = wav if b.flash_bytes >= SMALL_FLASH else wav[:5 * 16000]
        with tempfile.TemporaryDirectory() as tmp:
            try:
                m = measure_kws(run, name, pcm=pcm, every_ms=every_ms, out=Path(tmp) / name)
            except Exception as e:  # one board failing must not hide the others
                print(f"{name:<16}failed: {str(e)[:150]}")
                continue
        print(f"{name:<16}{b.cpu:<12}{m['frontend_arithmetic']:<8}{b.clock_hz / 1e6:>5.0f}"
              f"{m['audio_seconds']:>8.0f}{m['frontend_instructions_per_audio_second']:>12,}"
              f"{m['model_instructions_per_audio_second']:>14,}{m['rtf_frontend']:>8.4f}{m['rtf_model']:>10.4f}"
              f"{m['rtf_total']:>10.4f}{m['flash_bytes']:>9}{m['frontend_flash_bytes']:>9}{m['ram_bytes']:>7}"
              f"{m['frontend_static_ram_bytes']:>7}{'yes' if m['detections_equal_host'] and m['results_equal_host_c_frontend'] else 'NO':>11}"
              f"{'yes' if m['detections_equal_float_frontend'] else 'no':>9}")
        table.append([f"{name} ({b.cpu}, {b.clock_hz / 1e6:.0f} MHz)", m["frontend_arithmetic"], m["audio_seconds"],
                      m["frontend_instructions_per_audio_second"], m["model_instructions_per_audio_second"],
                      round(m["rtf_frontend"], 4), round(m["rtf_total"], 4), m["flash_bytes"], m["ram_bytes"],
                      "yes" if m["detections_equal_host"] and m["results_equal_host_c_frontend"] else "NO"])
    print("RTF = instructions per second of audio / clock (CPI 1 estimate; QEMU counts instructions, not cycles). "
          "flash excludes the linked WAV; RAM = static + measured stack. det = host: the firmware's detections equal "
          "the host pipeline's with the same front-end arithmetic (and every result equals the host C build's); "
          "= float: they also equal the host's with the float front end.")
    return table


def write_json(path: Path, run: Path, agree: list[list], table: list[list], every_ms: int, seconds: float) -> None:
    """Both tables as a results record (tools/results_record.py), for docs/results."""
    from results_record import write_record

    tables = []
    if agree:
        tables.append({"title": "C front end against NumPy (all clips)",
                       "columns": ["comparison", "clips", "int8 values equal", "max difference", "model top-1 agrees"],
                       "rows": agree})
    tables.append({"title": "Streaming in QEMU",
                   "columns": ["board (core, clock)", "front end", "audio s", "FE instr / s of audio", "model instr / s",
                               "RTF front end", "RTF total", "flash B", "RAM B", "detections = host"],
                   "rows": table})
    m4 = [r for r in table if r[0].startswith("mps2-an386")]
    headline = [{"what": "keyword app on Cortex-M4 (front end + model), real-time factor",
                 "value": f"{m4[0][6]} (CPI 1 estimate at 168 MHz)"}] if m4 else []
    write_record(path, title="Keyword spotting on the device: front end and real-time factor",
                 tool="tools/bench_kws_device.py", command="python tools/bench_kws_device.py " + " ".join(sys.argv[1:]),
                 describes=["firmware/features", "firmware/app", "edgernn/export/frontend_c.py", "edgernn/features",
                            "edgernn/streaming"],
                 summary=f"Model {run}, run every {every_ms} ms on the last second of audio. Instructions are counted by "
                         "QEMU; the real-time factor (RTF) is instructions per second of audio at the part's clock at "
                         f"CPI 1 (an estimate). Run time {seconds:.0f} s. Design: "
                         "[fixed-point front end](../design/fixed-point-frontend.md).",
                 tables=tables, headline=headline,
                 plots=[{"table": len(tables) - 1, "label": ["board (core, clock)"], "value": "RTF total",
                         "title": "Real-time factor (CPI 1 estimate)"}])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--data", type=Path, required=True, help="Speech Commands-layout folder (its test split).")
    ap.add_argument("--clips", type=int, default=500)
    ap.add_argument("--wav", type=Path, default=None, help="Stream for the board runs (default: 30 s of test clips).")
    ap.add_argument("--every-ms", type=int, default=200)
    ap.add_argument("--boards", default="all", help="Comma-separated board names, or all (the Cortex-M boards: "
                                                     "the kws app is not built for RISC-V).")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-agreement", action="store_true")
    ap.add_argument("--json", type=Path, default=None,
                    help="Also write both tables as a results record, e.g. docs/results/data/kws-device.json.")
    a = ap.parse_args()
    from edgernn.streaming.device_mirror import read_pcm16
    from edgernn.targets.boards import BOARDS
    from kws_stream_wav import make_stream

    start = time.time()
    agree = [] if a.skip_agreement else agreement(a.run, a.data, a.clips, a.seed)
    pcm = read_pcm16(a.wav, 16000) if a.wav else make_stream(a.data, 30.0, a.seed)
    table = boards(a.run, pcm, a.every_ms, [n for n, b in BOARDS.items() if b.arch == "arm"] if a.boards == "all" else a.boards.split(","))
    if a.json:
        write_json(a.json, a.run, agree, table, a.every_ms, time.time() - start)


if __name__ == "__main__":
    main()
