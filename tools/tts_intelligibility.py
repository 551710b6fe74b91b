"""Is each synthesis voice's English understood by a recognizer trained on human speech?

    python tools/tts_intelligibility.py [--words yes,no,up,...] [--engines espeak,flite,...]

Says every word with a few voices of every installed engine (clean: no room, noise or channel,
the engine's own rate and pitch) and decodes each clip with CMU pocketsphinx (its US English
acoustic model, trained on recordings of people, ships inside its wheel) restricted to a grammar
of exactly those words: a forced choice, so chance is 1 / len(words). Prints one row per voice:
how many words it recognized and what it heard. A voice far below the others is one the KWS
models would learn wrong English from; a voice level with them is as intelligible as they are,
so if adding it does not help an unseen engine, intelligibility is not why (docs/notes/2026-11-30-neural-voice-shares-and-kokoro.md).
Needs pocketsphinx (in the `dev` extra).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from edgernn.data import tts, tts_kokoro  # noqa: E402
from edgernn.data.synth_kws import CORE_WORDS, parse_keywords  # noqa: E402

ESPEAK_VOICES = ("en-us", "en-us+f3", "en-gb+m3", "en-us+klatt")
PAD_SAMPLES = 3200  # 0.2 s of silence either side: the decoder needs some before the word starts


def voices_to_check(engines: tuple[str, ...]) -> list[tts.Voice]:
    voices = {
        "espeak": [tts.Voice("espeak", v, 1.0, 50) for v in ESPEAK_VOICES],
        "flite": [tts.Voice("flite", v, 1.0, 0) for v in tts.FLITE_VOICES],
        "festival": [tts.Voice("festival", v, 1.0, 0) for v in tts.festival_voices()],
        "piper": [tts.Voice("piper", "joe", 1.0, 0, noise=0.667, noise_w=0.8, seed=1)],
        "hibari": [tts.Voice("hibari", "heart", 1.0, 0, seed=1)],
        "kokoro": [tts.Voice("kokoro", v, 1.0, 0) for v in tts_kokoro.VOICES],
    }
    return [v for e in engines for v in voices[e]]


def forced_choice_decoder(words):
    from pocketsphinx import Decoder

    decoder = Decoder(samprate=tts.RATE, lm=None, logfn="/dev/null")
    decoder.add_jsgf_string("words", "#JSGF V1.0; grammar words; public <w> = " + " | ".join(words) + " ;")
    decoder.activate_search("words")

    def heard(x: np.ndarray) -> str:
        x = np.concatenate([np.zeros(PAD_SAMPLES, np.float32), x, np.zeros(PAD_SAMPLES, np.float32)])
        pcm = (np.clip(x / max(1e-6, float(np.abs(x).max())) * 0.7, -1, 1) * 32767).astype(np.int16)
        decoder.start_utt()
        decoder.process_raw(pcm.tobytes(), full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        return hyp.hypstr.strip() if hyp else ""
    return heard


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--words", default=",".join(CORE_WORDS), help="comma-separated words (default: the core ten)")
    ap.add_argument("--engines", default=",".join(tts.available_engines()),
                    help="comma-separated engines (default: every installed one, kokoro included)")
    args = ap.parse_args(argv)
    words = list(parse_keywords(args.words))
    heard = forced_choice_decoder(words)
    rows = []
    for voice in voices_to_check(tuple(e.strip() for e in args.engines.split(",") if e.strip())):
        got = [heard(tts.cut_word(s, 0)) for s in tts.say(voice, words)]
        ok = sum(g == w for g, w in zip(got, words))
        rows.append((voice.engine, ok))
        print(f"{voice.engine:9s} {voice.name:24s} {ok:2d}/{len(words)}  heard: {' '.join(g or '-' for g in got)}",
              flush=True)
    for engine in dict.fromkeys(e for e, _ in rows):
        n = [ok for e, ok in rows if e == engine]
        print(f"{engine}: {sum(n)}/{len(n) * len(words)} words recognized ({sum(n) / (len(n) * len(words)):.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
