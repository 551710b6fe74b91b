"""Defaults for rejecting non-keywords (issue 13): training sees more _unknown_ clips than val/test."""
from edgernn.data.speech_commands import TRAIN_UNKNOWN_FRACTION, UNKNOWN_FRACTION, select_clips

KEYWORDS = ("yes", "no")


def _clips(n_keyword: int, n_unknown: int) -> list[str]:
    rels = [f"{w}/s{i:04d}_nohash_0.wav" for w in KEYWORDS for i in range(n_keyword)]
    return rels + [f"other{i % 50}/u{i:05d}_nohash_0.wav" for i in range(n_unknown)]


def _unknowns(chosen, split):
    return sum(1 for _, label in chosen[split] if label == 1)


def test_training_unknown_share_is_set_apart_from_validation_and_test():
    clips = {"train": _clips(100, 5000), "val": _clips(10, 500), "test": _clips(10, 500)}
    chosen = select_clips(clips, seed=0, unknown_fraction=3, keywords=KEYWORDS, train_unknown_fraction=8)
    assert _unknowns(chosen, "train") == 800  # 8 x one keyword class (100 clips)
    assert _unknowns(chosen, "val") == _unknowns(chosen, "test") == 30  # 3 x 10
    same = select_clips(clips, seed=0, unknown_fraction=3, keywords=KEYWORDS)
    assert _unknowns(same, "train") == 300  # None: the one fraction for every split


def test_training_unknowns_are_bounded_by_the_pool_and_distinct():
    clips = {"train": _clips(100, 250), "val": _clips(10, 500), "test": _clips(10, 500)}
    chosen = select_clips(clips, seed=1, unknown_fraction=3, keywords=KEYWORDS, train_unknown_fraction=8)
    picked = [rel for rel, label in chosen["train"] if label == 1]
    assert len(picked) == len(set(picked)) == 250


def test_default_training_share_is_at_least_the_evaluation_share():
    assert TRAIN_UNKNOWN_FRACTION >= UNKNOWN_FRACTION == 3.0


def test_synthesis_makes_unknown_per_speaker_non_keyword_clips_by_default(tmp_path):
    from edgernn.data.synth_kws import UNKNOWN_PER_SPEAKER, synth_kws
    from edgernn.io import read_json

    out = synth_kws(tmp_path / "kws", seed=1, per_word=2, keywords="yes,no", engines="espeak", workers=1,
                    progress=False)
    record = read_json(out / "edgernn_dataset.json")
    assert record["params"]["unknown_total"] == 2 * UNKNOWN_PER_SPEAKER
    assert record["outputs"]["planned"] == 2 * (2 + UNKNOWN_PER_SPEAKER)
    unknown = [p for p in out.iterdir() if p.is_dir() and p.name not in ("yes", "no", "_background_noise_")
               and not p.name.startswith(".")]
    assert sum(len(list(p.glob("*.wav"))) for p in unknown) == record["outputs"]["clips"] - 4


def test_levers_tool_compares_keyword_accuracy_at_a_matched_false_fire_rate():
    import numpy as np

    from tests.conftest import load_tool

    tool = load_tool("kws_rejection_levers")
    # 4 non-keywords (class 1) and 4 keywords (class 2); two non-keywords lean to the keyword
    probs = np.array([[0.0, 0.9, 0.1], [0.0, 0.8, 0.2], [0.0, 0.4, 0.6], [0.0, 0.3, 0.7],
                      [0.0, 0.1, 0.9], [0.0, 0.2, 0.8], [0.0, 0.35, 0.65], [0.0, 0.45, 0.55]])
    y = np.array([1, 1, 1, 1, 2, 2, 2, 2])
    log_probs = np.log(probs + 1e-9)
    assert tool.keyword_accuracy_at_false_fire(log_probs, y, 0.5) == 1.0  # as is: 2 of 4 fire, all keywords kept
    # at most 1 of 4 may fire: the bias that silences the 0.4/0.6 clip also loses the 0.45/0.55 keyword
    assert tool.keyword_accuracy_at_false_fire(log_probs, y, 0.25) == 0.75
    assert tool.keyword_accuracy_at_false_fire(log_probs, y, 0.0) == 0.5


def test_words_said_exactly_like_a_keyword_are_never_non_keywords():
    from edgernn.data import tts
    from edgernn.data.synth_kws import CORE_WORDS, EXTRA_UNKNOWN, unknown_vocabulary

    # know/no and write/right are in the near-miss list; espeak-ng gives each pair one phoneme string
    assert {"know", "write"} <= set(EXTRA_UNKNOWN)
    assert tts.homophones(CORE_WORDS, EXTRA_UNKNOWN) == {"know", "write"}
    pool = unknown_vocabulary(CORE_WORDS)
    assert "know" not in pool and "write" not in pool
    assert {"now", "yet", "cup", "town"} <= set(pool)  # near misses that only sound close stay
    # the rule follows the chosen keywords: "know" is an ordinary non-keyword once "no" is not one
    other = unknown_vocabulary(("two", "marvin"))
    assert "know" in other and "no" in other
    assert "too" not in other and "two" not in other
