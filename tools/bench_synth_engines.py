"""Where `edgernn data synth-kws` spends its CPU: seconds per clip for each engine and for rendering.

    python tools/bench_synth_engines.py [--speakers 30] [--seed 0] [--out r.json]

Plans the default data's first ``--speakers`` speakers (the default engines and shares, as
`synth-kws` does), then in this one process says each speaker's words (`synth_kws.speak_items`)
and renders and writes each clip (`render_clip`, `write_wav`), timing CPU-seconds of this process
and its children per engine. Engine children that stay up between speakers (festival, piper)
are counted as they run (/proc). CPU-seconds compare on a shared machine; wall time does not
(docs/notes/2026-12-07-synthesis-engines-and-shared-features.md).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgernn.data import synth_kws as S  # noqa: E402
from edgernn.data import tts  # noqa: E402
from edgernn.data.wav import write_wav  # noqa: E402

# engine children kept between speakers (none before 2026-12-07: the script also runs on older code)
KEPT = [c for c in (getattr(tts, '_FestivalChild', None), getattr(tts, '_PiperChild', None)) if c is not None]


def cpu_seconds() -> float:
    """This process, its ended children, and the engine children it keeps (Linux /proc)."""
    t = os.times()
    kept = 0.0
    for child in KEPT:
        if child.proc is not None and child.proc.poll() is None:
            try:
                fields = Path(f"/proc/{child.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                kept += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, IndexError, ValueError):
                pass
    return t.user + t.system + t.children_user + t.children_system + kept


def end_children() -> None:
    for child in KEPT:
        if child.proc is not None:
            tts._end_child(child.proc)


def measure(speakers: int, seed: int) -> dict:
    engines = S.parse_engines(None)
    plan = S.plan_speakers(S.D.SYNTH_PER_WORD, seed, S.D.SYNTH_PER_WORD * S.UNKNOWN_PER_SPEAKER,
                           S.CORE_WORDS, engines)[:speakers]
    rng = np.random.default_rng(seed)
    start = cpu_seconds()
    noises = [S.synth_noise(k, S.NOISE_SECONDS, rng) for k in S.NOISE_KINDS]
    rirs = S.room_impulse_responses(S.ROOMS, np.random.default_rng([seed, 1]))
    setup = cpu_seconds() - start
    speak, clips = collections.Counter(), collections.Counter()
    render = 0.0
    with tempfile.TemporaryDirectory() as d:
        for s in plan:
            before = cpu_seconds()
            words = S.speak_items(s)
            speak[s.voice.engine] += cpu_seconds() - before
            clips[s.voice.engine] += len(s.items)
            before = cpu_seconds()
            for item, word in zip(s.items, words):
                if len(word):
                    write_wav(Path(d) / "clip.wav", S.render_clip(word, item.seed, noises, rirs), S.RATE)
            render += cpu_seconds() - before
        end_children()
    total_clips = sum(clips.values())
    return {"speakers": len(plan), "clips": total_clips, "setup_cpu_s": round(setup, 2),
            "engines": {e: {"clips": clips[e], "cpu_s": round(speak[e], 2),
                            "ms_per_clip": round(1000 * speak[e] / clips[e], 1)} for e in sorted(clips)},
            "render_ms_per_clip": round(1000 * render / max(1, total_clips), 1),
            "total_cpu_s": round(cpu_seconds() - start, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--speakers", type=int, default=30, help="first N speakers of the default plan (1-800)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="write the figures as JSON here")
    a = ap.parse_args()
    if not 1 <= a.speakers <= S.D.SYNTH_PER_WORD:
        ap.error(f"--speakers must be between 1 and {S.D.SYNTH_PER_WORD}")
    r = measure(a.speakers, a.seed)
    for e, v in r["engines"].items():
        print(f"{e:9s} {v['clips']:5d} clips  {v['ms_per_clip']:6.1f} ms CPU per clip")
    print(f"render    {r['clips']:5d} clips  {r['render_ms_per_clip']:6.1f} ms CPU per clip")
    print(f"total {r['total_cpu_s']} CPU-s (set-up: noise and rooms {r['setup_cpu_s']})")
    if a.out:
        Path(a.out).write_text(json.dumps(r, indent=1) + "\n")


if __name__ == "__main__":
    main()
