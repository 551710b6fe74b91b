"""Own vocabulary, several synthesis engines, hold-out engine, augmentation (issue 13)."""
import shutil

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from edgernn.cli import main
from edgernn.data import load_dataset, tts
from edgernn.data import synth_kws as sk
from edgernn.data.augment import DEFAULT_AUGMENT, augmented_copies, check_augment, parse_augment_options, spec_mask
from edgernn.errors import UserError
from edgernn.features import FeatureConfig

WORDS = ("marvin", "lamp", "coffee")


@pytest.fixture(scope="module")
def custom(tmp_path_factory):
    out = tmp_path_factory.mktemp("v") / "custom"
    r = CliRunner().invoke(main, ["data", "synth-kws", str(out), "--keywords", ",".join(WORDS), "--per-word", "16",
                                  "--unknown-total", "32", "--seed", "1"])
    assert r.exit_code == 0, r.output
    return out


def test_custom_keywords_are_synthesized_by_every_engine(custom):
    for w in WORDS:
        assert len(list((custom / w).glob("*_nohash_*.wav"))) == 16
    engines = set(sk.read_speakers(custom).values())
    assert engines == set(sk.parse_engines(None)) and {"espeak", "flite", "festival"} <= engines
    unknown = [p.name for p in custom.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")) and p.name not in WORDS]
    assert len(unknown) >= 20  # many different non-keywords
    x, rate = sf.read(next((custom / "coffee").glob("*.wav")))
    assert rate == 16000 and len(x) == 16000 and np.abs(x).max() > 0.04


def test_loader_uses_the_datasets_keywords_and_others_become_unknown(custom):
    ds = load_dataset(custom)
    assert ds.class_names == ["_silence_", "_unknown_", *WORDS]
    assert set(np.unique(ds.splits["train"].y)) == set(range(5))
    picked = load_dataset(custom, keywords="lamp")
    assert picked.class_names == ["_silence_", "_unknown_", "lamp"]
    n_marvin = sum(len(list((custom / "marvin").glob("*.wav"))) for _ in [0])
    assert n_marvin == 16 and (picked.splits["train"].y == 2).sum() < (ds.splits["train"].y > 1).sum()


def test_holdout_engine_leaves_train_and_forms_its_own_split(custom):
    ds = load_dataset(custom, holdout_engine="festival")
    speakers = sk.read_speakers(custom)
    n_fest_kw = sum(1 for w in WORDS for p in (custom / w).glob("*.wav")
                    if speakers[p.name.split("_nohash_")[0]] == "festival")
    hold = ds.splits["holdout"]
    assert (hold.y > 1).sum() == n_fest_kw > 0
    assert (hold.y == 1).sum() > 0 and (hold.y == 0).sum() == 0
    full = load_dataset(custom)
    kw = lambda d: sum(int((d.splits[s].y > 1).sum()) for s in ("train", "val", "test"))  # noqa: E731
    assert kw(ds) + n_fest_kw == kw(full)
    with pytest.raises(UserError, match="engines: "):
        load_dataset(custom, holdout_engine="nosuch")


def test_user_folder_without_lists_or_noise(custom, tmp_path):
    user = tmp_path / "mine"
    for w in ("marvin", "lamp", "bed", "dog"):
        if (custom / w).is_dir():
            shutil.copytree(custom / w, user / w)
    (user / "bed").mkdir(exist_ok=True)
    shutil.copy(next((custom / "marvin").glob("*.wav")), user / "bed" / "x.wav")
    ds = load_dataset(user, keywords="marvin,lamp")
    assert ds.class_names == ["_silence_", "_unknown_", "marvin", "lamp"]
    assert sum(len(s) for s in ds.splits.values()) > 20
    with pytest.raises(UserError, match=r"missing word folder\(s\): coffee .*present: bed, .*lamp, marvin"):
        load_dataset(user, keywords="marvin,coffee")


@pytest.mark.parametrize("args, message", [
    (["data", "synth-kws", "{tmp}/d", "--keywords", "yes,no,yes"], "lists yes more than once"),
    (["data", "synth-kws", "{tmp}/d", "--keywords", "yes,k3y"], "'k3y'"),
    (["data", "synth-kws", "{tmp}/d", "--keywords", "yes,,no"], "comma-separated"),
    (["data", "synth-kws", "{tmp}/d", "--engines", "espeak,sam"], "--engines"),
    (["train", "--data", "{custom}", "--out", "{tmp}/r", "--keywords", "marvin,toaster"],
     "missing word folder(s): toaster (word folders present:"),
    (["train", "--data", "{custom}", "--out", "{tmp}/r", "--keywords", "lamp,lamp"], "more than once"),
    (["train", "--data", "{custom}", "--out", "{tmp}/r", "--augment-options", "copies=99"], "copies=99"),
    (["train", "--data", "{custom}", "--out", "{tmp}/r", "--augment-options", "bogus=1"], "unknown"),
])
def test_bad_input_is_one_line_exit_2(custom, tmp_path, args, message):
    args = [a.format(tmp=tmp_path, custom=custom) for a in args]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "d").exists() and not (tmp_path / "r").exists()


def test_keyword_without_audio_is_refused(tmp_path, monkeypatch):
    real_say = tts.say

    def mute_one(voice, texts):  # an engine that says nothing for "hush"
        out = real_say(voice, texts)
        return [tts.Spoken(np.zeros(0, np.float32), []) if t == "hush" else s for t, s in zip(texts, out)]

    monkeypatch.setattr(tts, "say", mute_one)
    with pytest.raises(UserError, match="keyword 'hush': .* produces no audio"):
        sk.synth_kws(tmp_path / "d", keywords="yes,hush", per_word=2, progress=False)
    assert not (tmp_path / "d").exists()


def test_words_are_cut_out_of_carrier_phrases():
    for engine, name in (("flite", "slt"), ("festival", tts.festival_voices()[0])):
        alone, inside = tts.say(tts.Voice(engine, name, 1.0, 0), ["stop", "please say stop now"])
        assert [w for w, _, _ in inside.words] == ["please", "say", "stop", "now"]
        cut = tts.cut_word(inside, 2)
        assert 0.1 * 16000 < len(cut) < len(inside.wave) * 0.6  # one word, not the phrase
        assert abs(len(cut) - len(tts.cut_word(alone, 0))) < 0.5 * 16000


def test_channel_and_room_change_the_signal():
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    x = (np.sin(2 * np.pi * 440 * t) + np.sin(2 * np.pi * 6000 * t)).astype(np.float32) * 0.3
    tel = sk.telephone_band(x)
    spec = np.abs(np.fft.rfft(tel))
    assert spec[6000] < 0.01 * spec[440]  # nothing above 4 kHz
    rirs = sk.room_impulse_responses(2, rng)
    assert all(len(h) > 100 and np.argmax(np.abs(h)) < len(h) // 2 for h in rirs)
    assert sk.change_rate(x, 1.25).shape[0] == pytest.approx(16000 / 1.25, abs=2)


def test_augmentation_options_and_effects():
    assert check_augment(None) == DEFAULT_AUGMENT
    assert parse_augment_options("copies=2,snr_db=3:9")["snr_db"] == [3.0, 9.0]
    cfg = FeatureConfig()
    waves = np.zeros((4, 16000), np.float32)
    waves[:, 4000:6000] = 0.5 * np.sin(np.arange(2000) / 3.0)
    noise = [np.random.default_rng(1).standard_normal(48000).astype(np.float32) * 0.1]
    opts = check_augment({"copies": 2})
    X, y = augmented_copies(waves, np.arange(4), noise, opts, 0, cfg)
    X2, _ = augmented_copies(waves, np.arange(4), noise, opts, 0, cfg)
    assert X.shape == (8, 49, 10) and list(y) == [0, 1, 2, 3] * 2 and np.array_equal(X, X2)
    from edgernn.features import features
    assert not np.allclose(X[:4], features(waves, cfg))
    masked = spec_mask(np.ones((50, 49, 10), np.float32), np.random.default_rng(0),
                       check_augment({"time_masks": 1, "time_mask_frames": 10, "freq_masks": 0}))
    zero_frames = (masked == 0).all(axis=2).sum(axis=1)
    assert zero_frames.max() <= 10 and zero_frames.sum() > 0 and (masked[masked != 0] == 1).all()


def test_data_info_counts_chosen_keywords_and_the_holdout_split(custom):
    r = CliRunner().invoke(main, ["data", "info", str(custom), "--keywords", "lamp", "--holdout-engine", "festival"])
    assert r.exit_code == 0, r.output
    assert "holdout" in r.output and "lamp" in r.output and "coffee" not in r.output


def test_unknown_clips_weigh_as_much_as_keyword_clips():
    from edgernn.train.loop import balanced_class_weights, kws_class_weights

    y = np.array([0] * 10 + [1] * 60 + [2] * 20 + [3] * 20)
    w = kws_class_weights(balanced_class_weights(y, 4))
    assert w[2] == w[3] == w[1] and w[0] > w[1]


def test_holdout_metrics_split_false_fires_by_word_group():
    from edgernn.train.holdout import holdout_metrics

    names = ["_silence_", "_unknown_", "yes", "no"]
    y = np.array([2, 3, 1, 1, 1, 1])
    words = ["yes", "no", "yet", "know", "house", "table"]
    pred = np.array([2, 2, 2, 3, 1, 1])  # "no" misheard as yes; near misses fire, other words do not
    m = holdout_metrics(y, np.eye(4)[pred], names, "festival", words)
    assert m["keyword_accuracy"] == 0.5 and m["false_fire_rate"] == 0.5
    assert m["false_fire_rate_near_misses"] == 1.0 and m["false_fire_rate_other_words"] == 0.0
    assert m["near_miss_clips"] == 2 and m["other_unknown_clips"] == 2


def test_holdout_metrics_per_voice():
    from edgernn.train.holdout import MAX_VOICES, holdout_metrics

    names = ["_silence_", "_unknown_", "yes", "no"]
    y = np.array([2, 3, 1, 2, 3, 1, 1])
    pred = np.array([2, 3, 1, 3, 3, 2, 1])
    voices = ["kal_diphone"] * 3 + ["cmu_us_slt_arctic_hts"] * 4
    m = holdout_metrics(y, np.eye(4)[pred], names, "festival", voices=voices)
    assert m["per_voice"]["kal_diphone"] == {"keyword_clips": 2, "keyword_accuracy": 1.0,
                                             "unknown_clips": 1, "false_fire_rate": 0.0}
    assert m["per_voice"]["cmu_us_slt_arctic_hts"] == {"keyword_clips": 2, "keyword_accuracy": 0.5,
                                                       "unknown_clips": 2, "false_fire_rate": 0.5}
    many = [f"v{i % (MAX_VOICES + 1)}" for i in range(len(y) * 2)]
    assert "per_voice" not in holdout_metrics(np.tile(y, 2), np.eye(4)[np.tile(pred, 2)], names, "x", voices=many)


def test_voice_family_drops_blend_weights():
    assert sk.voice_family("jm_kumo:0.70+jf_alpha:0.30") == "jf_alpha+jm_kumo"
    assert sk.voice_family("en-us+m3") == "en-us+m3" and sk.voice_family("kal_diphone") == "kal_diphone"


def test_holdout_split_records_each_clips_voice(custom):
    ds = load_dataset(custom, holdout_engine="festival")
    voices = ds.meta["holdout_voices"]
    assert len(voices) == len(ds.splits["holdout"].y)
    assert set(voices) <= set(tts.FESTIVAL_VOICES) and len(set(voices)) >= 1


def test_the_command_line_names_every_synthesis_engine():
    from edgernn import cli

    assert cli.ENGINES == tts.ENGINES


@pytest.mark.parametrize("engine", tts.ENGINES)
def test_every_engine_can_be_held_out_from_the_command_line(engine, tmp_path):
    # an engine outside the choice is refused before any data is read; a known one gets as far as the folder
    r = CliRunner().invoke(main, ["data", "info", str(tmp_path / "none"), "--holdout-engine", engine])
    assert r.exit_code == 2 and "no such file or folder" in r.output, r.output


def test_train_prints_the_held_out_engines_figures(custom, tmp_path):
    r = CliRunner().invoke(main, ["train", "--task", "kws", "--arch", "gru", "--units", "8", "--epochs", "1",
                                  "--data", str(custom), "--out", str(tmp_path / "run"), "--holdout-engine", "festival"])
    assert r.exit_code == 0, r.output
    import json
    h = json.loads((tmp_path / "run" / "metrics.json").read_text())["holdout"]
    assert "festival: keywords recognized" in r.output and f"{h['keyword_accuracy']:.1%} of {h['keyword_clips']}" in r.output
    assert "festival: non-keywords fired" in r.output
    assert all(f"{voice}: keywords / fired" in r.output for voice in h["per_voice"])


def test_holdout_rows_are_empty_without_a_held_out_engine():
    from edgernn.api import holdout_rows

    assert holdout_rows(None) == [] and holdout_rows({}) == []
