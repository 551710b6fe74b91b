"""Real speech as non-keywords (edgernn.data.real_speech), on small generated WAVs standing in for the
Debian packages' layout: no package is downloaded here."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from edgernn.cli import main
from edgernn.data import real_speech as rs
from edgernn.errors import UserError


def _tone(seconds: float, freq: float, rate: int = 8000, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    x = 0.3 * np.sin(2 * np.pi * freq * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)) + 0.01 * rng.normal(size=len(t))
    return np.pad(x, (rate // 5, rate // 5)).astype(np.float32)  # silence either side, as prompts have


@pytest.fixture
def fake_packages(tmp_path, monkeypatch):
    """Every source's folder with a few 8 kHz WAVs (and a 'silence' subfolder that must be skipped)."""
    root = tmp_path / "cache"
    monkeypatch.setenv(rs.REAL_SPEECH_ENV, str(root))
    for i, src in enumerate(rs.SOURCES):
        folder = root / src.package / src.folder
        folder.mkdir(parents=True, exist_ok=True)
        (root / src.package / ".complete").write_text("test\n")
        names = (["macroform-cold_day.wav", "manolo_camp-morning_coffee.wav", *rs.MUSIC_HELDOUT] if src.kind == "music"
                 else [f"prompt{k}.wav" for k in range(4)])
        for k, name in enumerate(names):
            sf.write(folder / name, _tone(0.6 + 0.7 * k, 200 + 50 * i + 10 * k, seed=k), 8000, subtype="PCM_16")
        (folder / "empty.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00@\x1f\x00\x00"
                                         b"\x80>\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00")  # as ru's is.wav
        (folder / "silence").mkdir(exist_ok=True)
        sf.write(folder / "silence" / "1.wav", np.zeros(8000, np.float32), 8000, subtype="PCM_16")
    return root


@pytest.fixture
def kws_folder(tmp_path):
    root = tmp_path / "kws"
    (root / "_background_noise_").mkdir(parents=True)
    (root / "yes").mkdir()
    sf.write(root / "_background_noise_" / "white_noise.wav", np.zeros(32000, np.float32), 16000, subtype="PCM_16")
    (root / "validation_list.txt").write_text("yes/a_nohash_0.wav\nreal-speech/old_nohash_0.wav\n")
    return root


def test_source_files_skip_silence_and_need_fetch(fake_packages, monkeypatch):
    src = rs.speakers("train")[0]
    files = rs.source_files(src)
    assert len(files) == 5 and all("silence" not in f.parts for f in files)
    assert len(rs.read_clip(next(f for f in files if f.name == "empty.wav"))) == 0
    (fake_packages / src.package / ".complete").unlink()
    with pytest.raises(UserError, match="data real-speech --fetch"):
        rs.source_files(src)


def test_speaker_roles_are_disjoint_and_keep_the_acceptance_voice_out_of_training():
    roles = {s.name: s.role for s in rs.SOURCES if s.kind == "speech"}
    assert set(roles.values()) == set(rs.ROLES)
    assert roles["es-allison"] == "heldout"  # the English acceptance prompts are Allison's voice
    assert not any(s.package.startswith("asterisk-core-sounds-en") for s in rs.SOURCES)
    with pytest.raises(UserError, match="acceptance"):
        rs._check_source(rs.Source("x", "asterisk-core-sounds-en-wav", "1", "0" * 64, "f", "speech", "train"))


def test_add_to_dataset_writes_training_and_validation_speakers_only(fake_packages, kws_folder):
    rec = rs.add_to_dataset(kws_folder, per_speaker=5, background_seconds=3, seed=0, progress=False)
    clips = sorted(p.name for p in (kws_folder / rs.CLIP_FOLDER).glob("*.wav"))
    speakers = {c.split("_nohash_")[0] for c in clips}
    assert speakers == {s.name for s in rs.speakers("train") + rs.speakers("val")}
    assert not speakers & {s.name for s in rs.speakers("heldout")}
    for c in clips:
        x, rate = sf.read(kws_folder / rs.CLIP_FOLDER / c)
        assert rate == 16000 and len(x) == 16000 and np.abs(x).max() > 0
    vlist = (kws_folder / "validation_list.txt").read_text().split()
    assert "yes/a_nohash_0.wav" in vlist and "real-speech/old_nohash_0.wav" not in vlist
    val = {s.name for s in rs.speakers("val")}
    assert sorted(v for v in vlist if v.startswith("real-speech/")) == \
        sorted(f"real-speech/{c}" for c in clips if c.split("_nohash_")[0] in val)
    bg = sorted(p.name for p in (kws_folder / "_background_noise_").glob("real-*.wav"))
    assert "real-speech-train.wav" in bg
    assert not any(h.rsplit(".", 1)[0] in b for b in bg for h in rs.MUSIC_HELDOUT)  # held-out music stays out
    assert rec["clips"] == {s: sum(c.startswith(s + "_") for c in clips) for s in speakers}
    assert all(3 <= n <= 5 for n in rec["clips"].values())  # at most --per-speaker (short prompts give fewer)
    with pytest.raises(UserError, match="already has real speech"):
        rs.add_to_dataset(kws_folder, per_speaker=5, background_seconds=0, progress=False)
    rs.add_to_dataset(kws_folder, per_speaker=2, background_seconds=0, overwrite=True, progress=False)
    assert len(list((kws_folder / rs.CLIP_FOLDER).glob("*.wav"))) == 2 * len(speakers)  # replaced, not added


def test_add_to_dataset_is_seeded(fake_packages, kws_folder, tmp_path):
    import shutil

    other = tmp_path / "kws2"
    shutil.copytree(kws_folder, other)
    rs.add_to_dataset(kws_folder, per_speaker=3, background_seconds=0, seed=4, progress=False)
    rs.add_to_dataset(other, per_speaker=3, background_seconds=0, seed=4, progress=False)
    for p in sorted((kws_folder / rs.CLIP_FOLDER).glob("*.wav")):
        assert p.read_bytes() == (other / rs.CLIP_FOLDER / p.name).read_bytes()


def test_real_stream_uses_only_its_role(fake_packages, monkeypatch):
    seen = []
    real_read = rs.read_clip
    monkeypatch.setattr(rs, "read_clip", lambda path, rate=16000: seen.append(path) or real_read(path, rate))
    x = rs.real_stream("heldout", 0.25, seed=1)
    assert len(x) == 15 * 16000 and np.abs(x).max() > 0.01 and np.abs(x).max() <= 1
    heldout_dirs = {str(fake_packages / s.package) for s in rs.speakers("heldout")}
    speech = [p for p in seen if "moh" not in str(p)]
    assert speech and all(any(str(p).startswith(d) for d in heldout_dirs) for p in speech)
    assert all(p.name in rs.MUSIC_HELDOUT for p in seen if "moh" in str(p))
    assert np.array_equal(x, rs.real_stream("heldout", 0.25, seed=1))


def test_unpack_refuses_a_wrong_checksum(tmp_path, monkeypatch):
    monkeypatch.setenv(rs.REAL_SPEECH_ENV, str(tmp_path / "cache"))
    deb = tmp_path / "x.deb"
    deb.write_bytes(b"not a package")
    src = rs.SOURCES[0]
    with pytest.raises(UserError, match="sha256 differs"):
        rs.unpack(deb, src)
    assert not rs.package_dir(src).exists()


def test_trim_and_cuts():
    rate = 16000
    x = np.concatenate([np.zeros(rate), 0.5 * np.ones(rate // 2), np.zeros(rate)]).astype(np.float32)
    t = rs.trim_silence(x, rate)
    assert abs(len(t) - rate // 2) <= rate // 50
    cuts = rs.one_second_cuts(x, rate, np.random.default_rng(0), 3)
    assert len(cuts) == 1 and len(cuts[0]) == rate and np.isclose(cuts[0].sum(), 0.5 * len(t))
    assert rs.one_second_cuts(np.zeros(rate, np.float32), rate, np.random.default_rng(0), 3) == []


def test_cli_errors_are_one_line(tmp_path, fake_packages):
    r = CliRunner().invoke(main, ["data", "real-speech"])
    assert r.exit_code == 2 and r.output.strip().startswith("edgernn: error:") and len(r.output.strip().splitlines()) == 1
    r = CliRunner().invoke(main, ["data", "real-speech", str(tmp_path / "missing")])
    assert r.exit_code == 2 and "not a keyword dataset folder" in r.output


def test_deb_pins_are_sha256():
    for s in rs.SOURCES:
        assert len(s.sha256) == 64 and int(s.sha256, 16) >= 0
        assert rs.deb_name(s).endswith("_all.deb") and ":" not in rs.deb_name(s)
    assert hashlib.sha256(b"").hexdigest() != rs.SOURCES[0].sha256


def test_real_speech_summary_pairs_frr_with_real_false_alarms():
    from edgernn.streaming.evaluate import FRR_GOAL, real_speech_summary

    test = [{"threshold": t, "false_rejection_rate": min(1.0, t / 200), "false_alarms_per_hour": 0.0}
            for t in range(1, 256)]
    real = [{"threshold": t, "false_rejection_rate": float("nan"), "false_alarms_per_hour": max(0.0, 50 - t) / 2,
             "false_alarms": max(0, 50 - t)} for t in range(1, 256)]
    s = real_speech_summary(test, real, threshold=40, minutes=120)
    op = s["at_operating_threshold"]
    assert (op["threshold"], op["false_rejection_rate"], op["false_alarms_per_hour"]) == (40, 0.2, 5.0)
    goal = s["at_frr_goal"]  # the highest threshold whose FRR stays within the goal: fewest false alarms
    assert goal["threshold"] == int(FRR_GOAL * 200) and goal["false_alarms_per_hour"] == (50 - goal["threshold"]) / 2
    assert len(s["det_curve"]) == 255
    assert real_speech_summary([{**r, "false_rejection_rate": 1.0} for r in test], real, 40, 120)["at_frr_goal"] is None
