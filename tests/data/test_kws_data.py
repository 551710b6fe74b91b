"""Built-in keyword data (espeak-ng) and the Speech Commands loader."""
import hashlib
import shutil

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from edgernn.cli import main
from edgernn.data import load_dataset
from edgernn.data import speech_commands as sc
from edgernn.data.synth_kws import CORE_WORDS, split_of, synth_kws
from edgernn.errors import UserError


@pytest.fixture(scope="module")
def kws(tmp_path_factory):
    return synth_kws(tmp_path_factory.mktemp("d") / "kws", seed=3, per_word=12, unknown_total=12,
                     workers=2, progress=False)


def _digest(folder):
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*.wav")):
        h.update(p.relative_to(folder).as_posix().encode() + p.read_bytes())
    return h.hexdigest()


def test_layout_is_speech_commands(kws):
    for word in CORE_WORDS:
        clips = sorted((kws / word).glob("*_nohash_*.wav"))
        assert len(clips) == 12
    assert len(list((kws / "_background_noise_").glob("*.wav"))) >= 4
    listed = (kws / "testing_list.txt").read_text().split() + (kws / "validation_list.txt").read_text().split()
    for rel in listed:
        assert (kws / rel).is_file()
        assert split_of(rel.split("/")[1].split("_")[0]) in ("testing", "validation")
    data, rate = sf.read(kws / "yes" / sorted(p.name for p in (kws / "yes").iterdir())[0])
    assert rate == 16000 and data.ndim == 1 and len(data) == 16000
    assert np.abs(data).max() > 0.1  # a word, not silence


def test_same_seed_same_bytes(kws, tmp_path):
    again = synth_kws(tmp_path / "again", seed=3, per_word=12, unknown_total=12, workers=1, progress=False)
    assert _digest(again) == _digest(kws)
    other = synth_kws(tmp_path / "other", seed=4, per_word=12, unknown_total=12, workers=2, progress=False)
    assert _digest(other) != _digest(kws)


def test_loader_gives_twelve_balanced_classes(kws):
    ds = load_dataset(kws)
    assert ds.task == "kws" and ds.class_names == sc.CLASS_NAMES and len(ds.class_names) == 12
    total = sum(len(s) for s in ds.splits.values())
    assert total == 12 * 12  # 10 words + _unknown_ + _silence_, 12 clips each
    train = ds.splits["train"]
    assert train.X.shape[1:] == (49, 10) and train.X.dtype == np.float32
    counts = np.bincount(train.y, minlength=12)
    assert counts.min() > 0 and counts.max() - counts.min() <= counts.max() // 2 + 1


def test_features_are_cached(kws, monkeypatch):
    load_dataset(kws)
    monkeypatch.setattr(sc, "_extract", lambda *a, **k: pytest.fail("features recomputed"))
    ds = load_dataset(kws)
    assert len(ds.splits["test"]) > 0


def test_skip_existing_and_refuse_overwrite(kws):
    assert synth_kws(kws, per_word=1, skip_existing=True) == kws
    with pytest.raises(UserError, match="already exists"):
        synth_kws(kws, per_word=1)


def test_other_sample_rates_are_resampled(kws, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(kws, copy, ignore=shutil.ignore_patterns(".edgernn_cache"))
    clip = sorted((copy / "go").glob("*.wav"))[0]
    x, _ = sf.read(clip)
    sf.write(clip, np.interp(np.linspace(0, 16000, 8000, endpoint=False), np.arange(16000), x), 8000)
    ds = load_dataset(copy)
    assert ds.splits["train"].X.shape[1:] == (49, 10)


@pytest.mark.parametrize("breakage, message", [
    ("missing", "no such file or folder"),
    ("not_kws", "not a Speech Commands folder"),
    ("empty_class", "class folder has no .wav files"),
    ("corrupt", "cannot read WAV"),
])
def test_bad_folders_give_one_line_errors(kws, tmp_path, breakage, message):
    import shutil

    bad = tmp_path / "bad"
    if breakage != "missing":
        shutil.copytree(kws, bad, ignore=shutil.ignore_patterns(".edgernn_cache"))
    if breakage == "not_kws":
        for w in CORE_WORDS:
            shutil.rmtree(bad / w)
    elif breakage == "empty_class":
        for p in (bad / "stop").iterdir():
            p.unlink()
    elif breakage == "corrupt":
        sorted((bad / "up").glob("*.wav"))[0].write_bytes(b"RIFF\x00\x00garbage")
    r = CliRunner().invoke(main, ["data", "info", str(bad)])
    assert r.exit_code == 2
    assert message in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1
    if breakage == "corrupt":
        assert "up/" in r.output  # names the file


def test_loads_of_one_folder_at_once_compute_the_features_once(kws, tmp_path, monkeypatch):
    """make demo trains GRU-64 and LSTM-64 side by side on one folder: one computes, the other waits and reads."""
    import threading
    import time

    folder = tmp_path / "kws"
    shutil.copytree(kws, folder, ignore=shutil.ignore_patterns(sc.CACHE_DIR))
    calls, real = [], sc._extract

    def slow_extract(*args, **kwargs):
        calls.append(threading.get_ident())
        time.sleep(1.0)  # long enough for the other load to find the lock taken
        return real(*args, **kwargs)

    monkeypatch.setattr(sc, "_extract", slow_extract)
    results = [None, None]

    def load(i):
        results[i] = load_dataset(folder, task="kws", seed=0, progress=False)

    threads = [threading.Thread(target=load, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
        time.sleep(0.2)
    for t in threads:
        t.join()
    assert len(calls) == 1
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(results[0].splits[split].X, results[1].splits[split].X)
        np.testing.assert_array_equal(results[0].splits[split].y, results[1].splits[split].y)
    assert len(list((folder / sc.CACHE_DIR).glob("features-*.npz"))) == 1


def test_a_folder_without_room_for_a_lock_still_loads(kws, tmp_path, monkeypatch):
    folder = tmp_path / "kws"
    shutil.copytree(kws, folder, ignore=shutil.ignore_patterns(sc.CACHE_DIR))
    real_open = sc.os.open

    def no_lock(path, *a, **k):
        if str(path).endswith(".lock"):
            raise PermissionError(13, "read-only", str(path))
        return real_open(path, *a, **k)

    monkeypatch.setattr(sc.os, "open", no_lock)
    ds = load_dataset(folder, task="kws", seed=0, progress=False)
    assert len(ds.splits["train"]) > 0
