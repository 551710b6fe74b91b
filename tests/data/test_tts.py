"""Offline text-to-speech engines (edgernn.data.tts): what the synthesis of the built-in data relies on."""
import os
import tempfile

import numpy as np
import pytest

from edgernn.data import synth_kws as sk
from edgernn.data import tts
from edgernn.errors import UserError

pytestmark = pytest.mark.skipif(not {"flite"} <= set(tts.available_engines()), reason="needs flite")


def _phones_said(voice: str, word: str) -> int:
    """What the phone count stands for: phones (not pauses) flite -psdur reports for the word said alone."""
    with tempfile.TemporaryDirectory() as d:
        _, segs = tts._flite_raw(tts.Voice("flite", voice, 1.0, 0), word, os.path.join(d, "w.wav"))
    return sum(1 for p, _ in segs if p != "pau")


def test_flite_phone_counts_from_t2p_equal_what_every_flite_voice_says():
    # keywords, every carrier word, and non-keywords with apostrophes, letters said as words, long words
    words = sorted({*sk.CORE_WORDS, *(w for c in sk.CARRIERS for w in c.split() if w != "{}"),
                    "can't", "marvin", "sheila", "tomorrow", "kitchen", "hundred", "okay", "visual"})
    for voice in tts.FLITE_VOICES:
        assert [tts._flite_phone_count(w) for w in words] == [_phones_said(voice, w) for w in words], voice


def test_words_cut_out_of_a_flite_carrier_phrase_line_up_with_the_phones():
    voice = tts.Voice("flite", "slt", 1.0, 0)
    spoken = tts.say(voice, ["please say yes now", "i said stop"])
    assert [w for w, _, _ in spoken[0].words] == ["please", "say", "yes", "now"]
    assert [w for w, _, _ in spoken[1].words] == ["i", "said", "stop"]
    for s in spoken:
        starts = [a for _, a, _ in s.words]
        assert starts == sorted(starts) and all(b > a for _, a, b in s.words)
        assert s.words[-1][2] <= len(s.wave)
    assert len(tts.cut_word(spoken[0], 2)) >= tts.MIN_WORD_SECONDS * tts.RATE


@pytest.mark.skipif(len(tts.festival_voices()) < 2, reason="needs festival and two of its voices")
def test_festival_child_serves_speaker_after_speaker_with_the_audio_of_a_fresh_festival():
    a, b = (tts.Voice("festival", v, s, 0) for v, s in zip(tts.festival_voices()[:2], (1.1, 0.9)))
    texts = ["please say yes now", "stop"]
    first = tts.say(a, texts)
    child = tts._FestivalChild.proc
    tts.say(b, ["i said kitchen"])  # another voice and rate in between
    again = tts.say(a, texts)
    assert tts._FestivalChild.proc is child and child.poll() is None  # one festival served all three
    child.stdin.close()
    child.wait(timeout=30)  # stdin closed: festival ends by itself
    fresh = tts.say(a, texts)
    assert tts._FestivalChild.proc is not child
    assert [w for w, _, _ in first[0].words] == ["please", "say", "yes", "now"]
    for x, y, z in zip(first, again, fresh):
        assert np.array_equal(x.wave, y.wave) and np.array_equal(x.wave, z.wave)
        assert x.words == y.words == z.words
    with pytest.raises(UserError, match="festival cannot say"):
        tts.say(a, ['stop") (system "true'])
