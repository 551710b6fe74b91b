"""The keyword-spotting firmware app in QEMU: same features and detections as the host, bad input refused."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from edgernn import api
from edgernn.cli import main
from edgernn.features import FeatureConfig, features
from edgernn.streaming.device_mirror import load_setup, run_stream, stream_int8_features
from edgernn.targets import kws_firmware as kf

pytestmark = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
                                reason="needs the arm toolchain and QEMU")
RATE = 16000


def _sound(kind: int, rng, n: int = RATE) -> np.ndarray:
    """Class 0: quiet noise; 1: a low hum; 2: a rising whistle; at a random place and level (float)."""
    t = np.arange(n) / RATE
    x = rng.normal(0, 0.003, n)
    if kind:
        start, dur = rng.uniform(0.1, 0.4), rng.uniform(0.3, 0.5)
        env = ((t > start) & (t < start + dur)).astype(float)
        f = rng.uniform(200, 400) if kind == 1 else rng.uniform(1500, 2000) + 2000 * (t - start)
        x += rng.uniform(0.1, 0.4) * env * np.sin(2 * np.pi * f * t)
    return x


def _pcm(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)


@pytest.fixture(scope="module")
def kws_run(tmp_path_factory):
    """A tiny 3-class 'keyword' run trained on real front-end features of synthetic sounds, int8."""
    root = tmp_path_factory.mktemp("kws")
    rng = np.random.default_rng(0)
    y = np.arange(300) % 3
    waves = np.stack([_pcm(_sound(k, rng)) for k in y]).astype(np.float32) / 32768
    X = features(waves, FeatureConfig())
    split = np.array(["train"] * 200 + ["val"] * 50 + ["test"] * 50)
    np.savez(root / "sounds.npz", X=X, y=y, split=split)
    run = api.train(task="classify", arch="gru", units=8, data=root / "sounds.npz", out=root / "run", epochs=8,
                    batch_size=16, lr=1e-2, progress=False)
    config = json.loads((run / "config.json").read_text())
    config["class_names"] = ["_silence_", "hum", "whistle"]
    config["dataset_meta"] = {**config.get("dataset_meta", {}), "features": FeatureConfig().to_dict()}
    config["streaming"] = {"window_ms": 600, "threshold": 150, "suppression_ms": 1000, "min_count": 2}
    (run / "config.json").write_text(json.dumps(config))
    api.quantize(run, mode="int8", calibration_samples=60)
    return run


@pytest.fixture(scope="module")
def stream_wav(tmp_path_factory):
    """30 s: a sound about every 1.5 s (hums and whistles) over quiet noise."""
    rng = np.random.default_rng(1)
    x = rng.normal(0, 0.003, 30 * RATE)
    at = RATE // 2
    while at + RATE <= x.size:
        x[at:at + RATE] += _sound(int(rng.integers(1, 3)), rng)
        at += int(RATE * rng.uniform(1.2, 1.8))
    path = tmp_path_factory.mktemp("wav") / "stream30.wav"
    sf.write(str(path), _pcm(x), RATE, subtype="PCM_16")
    return path


def test_firmware_detections_equal_the_host_on_30s(kws_run, stream_wav, tmp_path):
    r = CliRunner().invoke(main, ["firmware", "build", str(kws_run), "--app", "kws", "--wav", str(stream_wav),
                                  "--board", "mps2-an386", "--out", str(tmp_path / "fw")])
    assert r.exit_code == 0, r.output
    elf = tmp_path / "fw" / "edgernn-mps2-an386-kws.elf"
    assert json.loads((tmp_path / "fw" / "firmware-kws.json").read_text())["compiler_warnings"] == ""
    dev = api.firmware_run_kws(elf, board="mps2-an386")
    host = [(d.time_ms, d.label, d.score) for d in api.kws_device_detections(kws_run, stream_wav)]
    assert dev["samples"] == 30 * RATE and dev["frames"] == 1 + (30 * RATE - 480) // 320
    assert dev["results"] == 1 + (dev["frames"] - 49) // 10  # every 200 ms = 10 hops
    assert len(host) >= 5 and dev["detection_list"] == host
    # every result, not only the detections: exactly the host pipeline with the C front end
    setup = load_setup(kws_run)
    twin = run_stream(sf.read(str(stream_wav), dtype="int16")[0], setup, 200, "c")
    assert dev["result_list"] == list(zip(twin.times_ms, twin.scores))
    assert dev["result_list"][0][0] == (48 * 320 + 480) * 1000 // RATE  # the first result at 1 s of audio
    run = CliRunner().invoke(main, ["firmware", "run", str(elf), "--app", "kws"])
    assert run.exit_code == 0 and ("whistle" in run.output or "hum" in run.output), run.output


def test_firmware_run_recognizes_the_kws_app_from_what_it_prints(kws_run, tmp_path):
    """`firmware run` on a kws ELF needs no --app: it said "firmware printed no summary" without it."""
    rng = np.random.default_rng(7)
    pcm = _pcm(np.concatenate([_sound(k, rng) for k in (2, 0, 1)]))
    elf = kf.build_kws_firmware(kws_run, "mps2-an386", pcm=pcm, out=tmp_path / "fw")
    auto = CliRunner().invoke(main, ["firmware", "run", str(elf)])
    told = CliRunner().invoke(main, ["firmware", "run", str(elf), "--app", "kws"])
    assert auto.exit_code == 0 and "keyword detections" in auto.output, auto.output
    assert auto.output == told.output
    r = api.firmware_run(elf)
    assert r["app"] == "kws" and r["samples"] == pcm.size and r["detections"] == len(r["detection_list"])
    wrong = CliRunner().invoke(main, ["firmware", "run", str(elf), "--app", "bench"])  # told wrong: strict parse
    assert wrong.exit_code == 2 and "firmware printed no summary" in wrong.output, wrong.output


@pytest.mark.parametrize("board, arithmetic", [("mps2-an386", "auto"), ("mps2-an500", "auto"), ("mps2-an505", "auto"),
                                               ("microbit", "auto"), ("microbit", "float"), ("mps2-an386", "fixed")])
def test_device_features_equal_host_c_and_python_within_one_lsb(kws_run, tmp_path, board, arithmetic):
    """FPU cores, the M0's integer path (auto) and its soft float give the host build's features bit for bit;
    the integer path also equals its Python mirror bit for bit, and the float front end within 1 LSB."""
    rng = np.random.default_rng(5)
    pcm = _pcm(np.concatenate([_sound(k, rng) for k in (1, 2, 0)]))
    elf = kf.build_kws_firmware(kws_run, board, pcm=pcm, out=tmp_path / board, print_features=True,
                                arithmetic=arithmetic)
    dev = kf.run_kws_firmware(elf, board)
    fixed = arithmetic == "fixed" or (arithmetic == "auto" and board == "microbit")
    assert json.loads((tmp_path / board / "firmware-kws.json").read_text())["frontend_arithmetic"] == (
        "fixed" if fixed else "float")
    setup = load_setup(kws_run)
    host_c = stream_int8_features(pcm, setup, "c", fixed)
    assert dev["features"].shape == host_c.shape == (1 + (pcm.size - 480) // 320, 10)
    assert np.array_equal(dev["features"], host_c)
    if fixed:
        assert np.array_equal(dev["features"], stream_int8_features(pcm, setup, "python", True))
    diff = np.abs(dev["features"].astype(int) - stream_int8_features(pcm, setup, "python", False))
    assert diff.max() <= 1 and (diff == 0).mean() >= 0.99


def test_bench_kws_row(kws_run, stream_wav, tmp_path):
    pcm = sf.read(str(stream_wav), dtype="int16")[0][:5 * RATE]
    sf.write(str(tmp_path / "five.wav"), pcm, RATE, subtype="PCM_16")
    r = CliRunner().invoke(main, ["bench", str(kws_run), "--target", "mcu", "--app", "kws", "--wav",
                                  str(tmp_path / "five.wav"), "--out", str(tmp_path / "bench")])
    assert r.exit_code == 0, r.output
    row = json.loads((tmp_path / "bench" / "results.json").read_text())
    row = row["results"][0]
    m = row["mcu"]
    assert row["target"] == "mcu" and m["detections_equal_host"] and m["results_equal_host_c_frontend"]
    assert 0 < m["frontend_instructions_per_audio_second"] < 10_000_000
    assert m["rtf_total"] == pytest.approx(m["rtf_frontend"] + m["rtf_model"])
    assert m["flash_bytes"] > m["frontend_flash_bytes"] > 4000 and m["frontend_static_ram_bytes"] > 2048
    assert "CPI 1" in m["estimate"]


def _bad_wav(path, rate=RATE, channels=1):
    sf.write(str(path), np.zeros((RATE, channels), np.int16), rate, subtype="PCM_16")
    return path


@pytest.mark.parametrize("case, message", [
    ("rate", "8000 Hz; the run's front end takes 16000 Hz"),
    ("stereo", "2 channels; the front end takes mono"),
    ("every", "--every-ms must be a positive multiple of the hop"),
    ("shape", "does not match the front end"),
    ("nofeatures", "no feature parameters"),
    ("nowav", "needs audio"),
])
def test_bad_input_is_one_line_exit_2(kws_run, tmp_path, case, message):
    run, wav, extra = kws_run, _bad_wav(tmp_path / "ok.wav"), []
    if case == "rate":
        wav = _bad_wav(tmp_path / "8k.wav", rate=8000)
    elif case == "stereo":
        wav = _bad_wav(tmp_path / "st.wav", channels=2)
    elif case == "every":
        extra = ["--every-ms", "210"]
    elif case in ("shape", "nofeatures"):
        run = tmp_path / "run"
        shutil.copytree(kws_run, run)
        config = json.loads((run / "config.json").read_text())
        if case == "shape":
            config["dataset_meta"]["features"]["n_mfcc"] = 13
        else:
            del config["dataset_meta"]["features"]
        (run / "config.json").write_text(json.dumps(config))
    args = ["firmware", "build", str(run), "--app", "kws", "--out", str(tmp_path / "fw"), *extra]
    if case != "nowav":
        args += ["--wav", str(wav)]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "fw").exists()  # nothing half-built


def test_serial_audio_stream_gives_the_flash_results(kws_run, stream_wav, tmp_path):
    """--audio serial: the host streams the WAV over the (QEMU) UART; results equal the flash build's."""
    pcm = sf.read(str(stream_wav), dtype="int16")[0][:3 * RATE]
    sf.write(str(tmp_path / "three.wav"), pcm, RATE, subtype="PCM_16")
    r = CliRunner().invoke(main, ["firmware", "build", str(kws_run), "--app", "kws", "--audio", "serial",
                                  "--out", str(tmp_path / "ser")])
    assert r.exit_code == 0, r.output
    elf = tmp_path / "ser" / "edgernn-mps2-an386-kws-serial.elf"
    streamed = api.firmware_stream_kws(elf, tmp_path / "three.wav")
    flash = kf.run_kws_firmware(kf.build_kws_firmware(kws_run, pcm=pcm, out=tmp_path / "fl"))
    assert streamed["samples"] == 3 * RATE and streamed["results"] > 5
    assert streamed["result_list"] == flash["result_list"] and streamed["detection_list"] == flash["detection_list"]
    out = CliRunner().invoke(main, ["firmware", "stream", str(elf), "--wav", str(tmp_path / "three.wav")])
    assert out.exit_code == 0 and "keyword detections" in out.output, out.output
    bad = CliRunner().invoke(main, ["firmware", "build", str(kws_run), "--app", "kws", "--audio", "serial",
                                    "--board", "mps2-an505", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "UART" in bad.output
