"""Neural text-to-speech engines from Python wheels: piper (joe voice) and hibari (issue 13)."""
import importlib.util

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from edgernn.cli import main
from edgernn.data import synth_kws as sk
from edgernn.data import tts
from edgernn.errors import UserError

NEURAL = ("piper", "hibari")


def _voice(engine, seed, stretch=1.0):
    if engine == "piper":
        return tts.Voice("piper", "joe", stretch, 0, noise=0.667, noise_w=0.8, seed=seed)
    return tts.Voice("hibari", "heart", stretch, 0, seed=seed)


@pytest.mark.parametrize("engine", NEURAL)
def test_engine_says_a_keyword_at_16_khz(engine):
    spoken = tts.say(_voice(engine, 7), ["stop", "marvin"])
    assert len(spoken) == 2
    for s, word in zip(spoken, ["stop", "marvin"]):
        assert s.wave.dtype == np.float32 and [w for w, _, _ in s.words] == [word]
        cut = tts.cut_word(s, 0)
        # a spoken word: 0.15-1 s of sound well above silence, with its energy where speech is
        assert 0.15 * tts.RATE < len(cut) < tts.RATE
        assert np.sqrt(np.mean(cut ** 2)) > 0.02
        spectrum = np.abs(np.fft.rfft(cut)) ** 2
        freqs = np.fft.rfftfreq(len(cut), 1 / tts.RATE)
        assert spectrum[(freqs > 100) & (freqs < 4000)].sum() > 0.7 * spectrum.sum()


@pytest.mark.parametrize("engine", NEURAL)
def test_engine_is_deterministic_for_a_seed_and_varies_with_it(engine):
    a = tts.say(_voice(engine, 11), ["left", "right"])
    b = tts.say(_voice(engine, 11), ["left", "right"])
    c = tts.say(_voice(engine, 12), ["left", "right"])
    assert all(np.array_equal(x.wave, y.wave) for x, y in zip(a, b))
    assert not all(len(x.wave) == len(z.wave) and np.array_equal(x.wave, z.wave) for x, z in zip(a, c))


@pytest.mark.parametrize("engine", NEURAL)
def test_stretch_slows_the_word_down(engine):
    fast = tts.cut_word(tts.say(_voice(engine, 1, 0.8), ["forward"])[0], 0)
    slow = tts.cut_word(tts.say(_voice(engine, 1, 1.25), ["forward"])[0], 0)
    assert len(slow) > 1.2 * len(fast)


def test_neural_engines_synthesize_a_dataset_whatever_the_workers(tmp_path):
    for out, workers in ((tmp_path / "d", "1"), (tmp_path / "d2", "2")):
        r = CliRunner().invoke(main, ["data", "synth-kws", str(out), "--engines", "piper,hibari", "--keywords",
                                      "yes,lamp", "--per-word", "4", "--unknown-total", "4", "--seed", "3",
                                      "--workers", workers])
        assert r.exit_code == 0, r.output
    out = tmp_path / "d"
    wavs = sorted(p.relative_to(out) for p in out.rglob("*.wav"))
    assert wavs == sorted(p.relative_to(tmp_path / "d2") for p in (tmp_path / "d2").rglob("*.wav"))
    assert all((out / w).read_bytes() == (tmp_path / "d2" / w).read_bytes() for w in wavs)
    assert set(sk.read_speakers(out).values()) == {"piper", "hibari"}
    for w in ("yes", "lamp"):
        clips = sorted((out / w).glob("*.wav"))
        assert len(clips) == 4
        x, rate = sf.read(clips[0])
        assert rate == 16000 and len(x) == 16000 and np.abs(x).max() > 0.04


def test_neural_speakers_say_words_alone_and_share_the_default_800():
    speakers = sk.plan_speakers(40, 0, 40, engines=tts.ENGINES)
    engines = [s.voice.engine for s in speakers]
    assert {"piper", "hibari"} <= set(engines)
    assert all(it.carrier == -1 for s in speakers if s.voice.engine in NEURAL for it in s.items)
    # the default: 800 speakers, neural voices in place of half of espeak-ng's
    plan = sk.engine_plan(800, tts.ENGINES)
    assert [plan.count(e) for e in tts.ENGINES] == [160, 240, 240, 80, 80]
    assert sk.parse_engines(None) == tts.ENGINES


@pytest.mark.parametrize("engine", NEURAL)
def test_missing_package_is_skipped_by_default_and_a_one_line_error_when_asked_for(engine, tmp_path, monkeypatch):
    real = importlib.util.find_spec
    missing = tts.PYTHON_ENGINES[engine][0][0]
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == missing else real(name, *a))
    assert engine not in tts.available_engines()
    with pytest.raises(UserError, match=f"the {engine} voice is not installed"):
        sk.parse_engines(engine)
    r = CliRunner().invoke(main, ["data", "synth-kws", str(tmp_path / "d"), "--engines", f"espeak,{engine}"])
    assert r.exit_code == 2 and r.output.startswith(f"edgernn: error: the {engine} voice is not installed")
    assert len(r.output.strip().splitlines()) == 1 and not (tmp_path / "d").exists()


@pytest.mark.parametrize("engine", NEURAL)
def test_text_with_markup_is_refused(engine):
    with pytest.raises(UserError, match="lower-case letters"):
        tts.say(_voice(engine, 0), ["stop\n-m other.onnx"])
