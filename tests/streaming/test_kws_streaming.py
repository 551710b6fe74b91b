"""Streaming detection on the host: timing contract, smoothing sweep, FRR / false alarms per hour (issue 13)."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from edgernn.cli import main
from edgernn.data.wav import write_wav
from edgernn.features import FeatureConfig, features
from edgernn.streaming import evaluate as ev
from edgernn.streaming import stream as st
from edgernn.streaming.recognize import RecognizeConfig, detect


def test_schedule_and_times_follow_the_contract():
    cfg = FeatureConfig()
    n = 1 + (19200 - cfg.window) // cfg.hop           # 1.2 s of audio: 59 frames
    fs = st.result_frames(n, cfg.num_frames, st.every_frames(200, cfg))
    assert list(fs) == [49, 59]
    assert list(st.result_time_ms(fs, cfg)) == [990, 1190]
    assert len(st.result_frames(48, 49, 10)) == 0
    with pytest.raises(Exception, match="multiple of the hop"):
        st.every_frames(150, cfg)


def test_stream_frames_equal_the_clip_front_end():
    cfg = FeatureConfig()
    x = np.random.default_rng(0).standard_normal(16000 * 3).astype(np.float32) * 0.1
    feats = st.stream_features(x, cfg)
    assert feats.shape == (1 + (len(x) - cfg.window) // cfg.hop, 10)
    f = 49 + 5 * 10  # a later result: frames f-49..f-1 = the 1 s clip starting at (f-49)*hop
    clip = x[(f - 49) * cfg.hop:(f - 49) * cfg.hop + 16000]
    np.testing.assert_allclose(feats[f - 49:f], features(clip, cfg), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fast_threshold_sweep_matches_recognize_commands(seed):
    rng = np.random.default_rng(seed)
    n, classes = 400, 5
    times = np.cumsum(rng.integers(50, 300, n))
    scores = rng.integers(0, 256, (n, classes))
    scores[rng.random(n) < 0.3, 3] = 255
    for thr in (0, 60, 128, 200, 250):
        cfg = RecognizeConfig(threshold=thr, window_ms=int(rng.integers(200, 1500)), min_count=int(rng.integers(1, 5)))
        ref = [(d.time_ms, d.label, d.score) for d in detect(times.tolist(), scores.tolist(), classes, [0, 1], cfg)]
        top, avg, counts = st.smoothed_top(times, scores, cfg)
        assert st.fire_times(times, top, avg, counts, [0, 1], cfg) == ref


def test_scoring_counts_hits_misses_and_false_alarms():
    truth = [(1000, 2000, 2), (5000, 6000, 3), (9000, 10000, 2)]
    dets = [(1900, 2, 220), (2600, 2, 210), (7800, 3, 230), (30000, 4, 240)]
    r = ev.score_detections(dets, truth, hours=0.5)
    # 1900 hits the first; 2600 repeats it (false alarm); 7800 is 2.8 s after its word (false alarm)
    assert r["hits"] == 1 and r["false_alarms"] == 3 and r["false_alarms_per_hour"] == 6.0
    assert r["false_rejection_rate"] == pytest.approx(2 / 3)
    curve = [{"threshold": t, "false_alarms_per_hour": fa} for t, fa in ((10, 9.0), (20, 1.0), (30, 0.0))]
    assert ev.calibrate(curve, 1.0) == 20 and ev.calibrate(curve, 0.5) == 30


def test_built_stream_places_keywords_at_the_recorded_times(tmp_path):
    clips = []
    for k, (label, amp) in enumerate([(2, 0.8), (1, 0.0), (3, 0.8)]):
        x = np.zeros(16000, np.float32)
        x[4000:8000] = amp
        write_wav(tmp_path / f"c{k}.wav", x)
        clips.append((str(tmp_path / f"c{k}.wav"), label))
    audio, truth = ev.build_stream(clips, 1.0, 0, [])
    assert len(audio) == 16000 * 60 and len(truth) > 5
    for start, end, label in truth:
        assert label in (2, 3) and end - start == 1000
        seg = audio[start * 16 + 4016:start * 16 + 7984]  # start_ms is floored
        assert np.abs(seg).min() > 0.2  # the clip's loud part is where the truth says


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from edgernn.data.synth_kws import synth_kws
    from edgernn.train.loop import train

    base = tmp_path_factory.mktemp("s")
    data = synth_kws(base / "d", seed=3, per_word=16, unknown_total=32, engines="espeak,flite",
                     keywords="yes,no,stop", progress=False)
    return train(task="kws", arch="gru", units=8, data=data, out=base / "run", epochs=1, progress=False)


def test_detect_runs_the_model_on_the_contract_windows(tiny_run, tmp_path):
    from edgernn.tf import load
    from edgernn.train.run import prepare_inputs
    from edgernn.streaming.recognize import score_from_probability

    rng = np.random.default_rng(3)
    x = (rng.standard_normal(16000 * 4) * 0.05).astype(np.float32)
    write_wav(tmp_path / "a.wav", x)
    r = CliRunner().invoke(main, ["detect", str(tiny_run), str(tmp_path / "a.wav"), "--threshold", "0", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    det = st.load_detector(tiny_run)
    x16 = st.read_audio(tmp_path / "a.wav", 16000)
    times, scores = st.model_results(det, x16, 200)
    assert out["results"] == len(times) == 1 + (1 + (len(x16) - 480) // 320 - 49) // 10
    # independently: each result is the model on the 1 s clip ending at its time
    _, keras = load()
    model = keras.models.load_model(tiny_run / "model.keras", compile=False)
    cfg = det.features
    for i in (0, len(times) - 1):
        end = times[i] * 16
        clip = x16[end - 15840:end - 15840 + 16000]
        p = model.predict(prepare_inputs(features(clip, cfg)[None], det.config), verbose=0)[0]
        assert list(scores[i]) == score_from_probability(p)
    ref = detect(times.tolist(), scores.tolist(), len(det.class_names), [0, 1], RecognizeConfig(threshold=0))
    assert [(d["time_ms"], d["score"]) for d in out["detections"]] == [(d.time_ms, d.score) for d in ref]


@pytest.mark.parametrize("kind, message", [("text", "not an audio file"), ("short", "shorter than one model window"),
                                           ("missing", "no such file")])
def test_detect_bad_audio_is_one_line_exit_2(tiny_run, tmp_path, kind, message):
    path = tmp_path / "a.wav"
    if kind == "text":
        path.write_text("RIFF this is not audio")
    elif kind == "short":
        write_wav(path, np.zeros(15000, np.float32))
    r = CliRunner().invoke(main, ["detect", str(tiny_run), str(path)])
    assert r.exit_code == 2 and message in r.output and len(r.output.strip().splitlines()) == 1


def test_streaming_eval_stores_a_calibrated_threshold(tiny_run):
    r = CliRunner().invoke(main, ["streaming-eval", str(tiny_run), "--minutes", "1", "--calibration-minutes", "1"])
    assert r.exit_code == 0, r.output
    result = json.loads((tiny_run / "streaming_eval.json").read_text())
    stored = json.loads((tiny_run / "config.json").read_text())["streaming"]
    assert stored["threshold"] == result["recognize"]["threshold"]
    cal = {row["threshold"]: row for row in result["calibration_curve"]}
    assert cal[stored["threshold"]]["false_alarms_per_hour"] <= 1.0
    if stored["threshold"] > 1:
        assert cal[stored["threshold"] - 1]["false_alarms_per_hour"] > 1.0  # the lowest that meets the target
    assert (tiny_run / "det_curve.png").stat().st_size > 1000
    assert st.load_detector(tiny_run).recognize_config().threshold == stored["threshold"]


def test_detect_uses_the_runs_stored_interval_and_threshold(tiny_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    config = json.loads((run / "config.json").read_text())
    config["streaming"] = {"window_ms": 1000, "threshold": 17, "suppression_ms": 1500, "min_count": 3, "every_ms": 400}
    (run / "config.json").write_text(json.dumps(config))
    write_wav(tmp_path / "a.wav", np.zeros(16000 * 3, np.float32))
    r = st.detect_file(run, tmp_path / "a.wav")
    assert r["every_ms"] == 400 and r["results"] == 6 and r["recognize"]["threshold"] == 17
    assert st.detect_file(run, tmp_path / "a.wav", every_ms=200)["results"] == 11


def test_detect_in_blocks_equals_the_whole_recording(tiny_run, tmp_path):
    """Block boundaries (here every 1.7 s, at 44.1 kHz stereo: resampled block by block) change nothing."""
    import soundfile as sf

    rng = np.random.default_rng(5)
    x = (rng.standard_normal((44100 * 9, 2)) * 0.05).astype(np.float32)
    x[44100 * 3:44100 * 4] *= 8  # something loud to detect
    sf.write(tmp_path / "a.wav", x, 44100, subtype="PCM_16")
    blocks = st.detect_file(tiny_run, tmp_path / "a.wav", every_ms=100, threshold=0, block_seconds=1.7)
    det = st.load_detector(tiny_run)
    times, scores = st.model_results(det, st.read_audio(tmp_path / "a.wav", 16000), 100)
    ref = detect(times.tolist(), scores.tolist(), len(det.class_names), det.ignore, RecognizeConfig(threshold=0))
    assert blocks["results"] == len(times) and blocks["seconds"] == 9.0
    assert [(d["time_ms"], d["score"]) for d in blocks["detections"]] == [(d.time_ms, d.score) for d in ref]
    from edgernn.data.wav import wav_blocks

    _, audio = wav_blocks(tmp_path / "a.wav", 16000, block_seconds=1.7)
    parts = list(st.stream_results(det, audio, st.every_frames(100, det.features)))
    assert len(parts) > 3  # several blocks, each with results
    np.testing.assert_array_equal(np.concatenate([t for t, _ in parts]), times)
    np.testing.assert_array_equal(np.concatenate([s for _, s in parts]), scores)


def test_detect_reads_recordings_longer_than_ten_minutes(tiny_run, tmp_path):
    write_wav(tmp_path / "long.wav", (np.random.default_rng(0).standard_normal(16000 * 660) * 0.01).astype(np.float32))
    r = CliRunner().invoke(main, ["detect", str(tiny_run), str(tmp_path / "long.wav"), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["seconds"] == 660 and out["results"] == 1 + (1 + (16000 * 660 - 480) // 320 - 49) // 10
