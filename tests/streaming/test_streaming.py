"""Streaming recognizer: the integer smoothing rules the firmware mirrors."""
import pytest

from edgernn.streaming.recognize import (RecognizeCommands, RecognizeConfig, detect, score_from_int8,
                                         score_from_probability)


def _stream(n, hot_from, hot_to, label=2, classes=4, step=100):
    times, scores = [], []
    for i in range(n):
        s = [10] * classes
        if hot_from <= i < hot_to:
            s[label] = 250
        else:
            s[0] = 240
        times.append(i * step)
        scores.append(s)
    return times, scores


def test_fires_once_per_word_after_enough_results():
    times, scores = _stream(40, 10, 18)
    dets = detect(times, scores, 4, ignore=[0])
    assert len(dets) == 1
    d = dets[0]
    assert d.label == 2 and d.score >= 200
    # the average over the 1 s window needs most of it hot: fires after the word has filled the window
    assert 1000 <= d.time_ms <= 1700


def test_suppression_blocks_a_second_fire_then_releases():
    times, scores = _stream(80, 10, 60)  # 5 s of one keyword
    dets = detect(times, scores, 4, ignore=[0])
    gaps = [b.time_ms - a.time_ms for a, b in zip(dets, dets[1:])]
    assert len(dets) >= 3 and all(g >= 1500 for g in gaps)


def test_ignored_classes_never_fire_and_min_count_holds():
    times, scores = _stream(30, 100, 100)  # only class 0 (silence) is hot
    assert detect(times, scores, 4, ignore=[0]) == []
    rc = RecognizeCommands(4, ignore=[0], config=RecognizeConfig(min_count=3))
    assert rc.update(0, [0, 0, 255, 0]) is None and rc.update(10, [0, 0, 255, 0]) is None
    assert rc.update(20, [0, 0, 255, 0]).label == 2


def test_integer_average_floors_and_ties_pick_lowest_index():
    rc = RecognizeCommands(3, config=RecognizeConfig(threshold=100, min_count=2))
    rc.update(0, [101, 101, 0])
    d = rc.update(1, [100, 100, 0])  # averages 100 (floor of 100.5) for both: class 0 wins the tie
    assert d.label == 0 and d.score == 100


def test_bad_inputs_are_refused():
    rc = RecognizeCommands(3)
    rc.update(100, [0, 0, 0])
    with pytest.raises(ValueError, match="backwards"):
        rc.update(50, [0, 0, 0])
    with pytest.raises(ValueError, match="expected 3"):
        rc.update(200, [0, 0])
    with pytest.raises(ValueError):
        RecognizeConfig(threshold=300)


def test_score_conversions():
    assert score_from_int8([-128, 0, 127]) == [0, 128, 255]
    assert score_from_probability([0.0, 0.5, 1.0, 1.2]) == [0, 128, 255, 255]
