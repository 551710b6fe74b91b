"""C code generation: bit-exact with TFLite Micro, compiled on the host and loaded with ctypes."""
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from edgernn import api
from edgernn.cli import main
from edgernn.data import load_dataset
from edgernn.errors import UserError
from edgernn.export.codegen import generate_c
from edgernn.export.codegen import params as P
from edgernn.runtimes.base import quantize
from edgernn.runtimes.native import NativeRuntime
from edgernn.runtimes.tflm import TFLMRuntime
from edgernn.train.run import load_config, prepare_inputs


@pytest.fixture(scope="module")
def gru_int8(tiny_data, tmp_path_factory):
    """A 2-layer GRU: exercises the per-layer input projection in the loop body too."""
    run = api.train(task="classify", arch="gru", units=12, layers=2, data=tiny_data,
                    out=tmp_path_factory.mktemp("c") / "gru2", epochs=8, progress=False)
    return run, api.quantize(run, mode="int8", calibration_samples=60)


def test_quantize_multiplier_matches_tflite_definition():
    assert P.quantize_multiplier(0.5) == (1 << 30, 0)
    assert P.quantize_multiplier(0.25) == (1 << 30, -1)
    m, s = P.quantize_multiplier(0.0123)
    assert abs(m * 2.0 ** (s - 31) - 0.0123) < 1e-9 and (1 << 30) <= m < (1 << 31)
    assert P.quantize_multiplier(1.0 - 1e-12) == (1 << 30, 1)  # rounds up to 2^31: halved, shift + 1


def test_generated_c_is_bit_exact_with_tflm(gru_int8):
    run, model = gru_int8
    native, ref = NativeRuntime(model), TFLMRuntime(model)
    info = ref.input_info()
    rng = np.random.default_rng(0)
    random_inputs = [rng.integers(-128, 128, size=info.shape).astype(np.int8) for _ in range(100)]
    config = load_config(run)
    X = prepare_inputs(load_dataset(config["data"]).splits["test"].X, config)
    real_inputs = [quantize(X[i:i + 1], info) for i in range(len(X))]
    for x in random_inputs + real_inputs:
        np.testing.assert_array_equal(native.invoke_raw(x), ref.invoke_raw(x))
    assert len(random_inputs) + len(real_inputs) >= 140


def test_export_c_writes_compilable_self_contained_sources(gru_int8, tmp_path):
    _, model = gru_int8
    r = CliRunner().invoke(main, ["export", str(model), "--format", "c", "--out", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    names = {p.name for p in (tmp_path / "c").iterdir()}
    assert names == {"model.c", "model.h", "edgernn_rt.c", "edgernn_rt.h"}
    source = (tmp_path / "c" / "model.c").read_text()
    assert "malloc" not in source and "static uint8_t arena[" in source
    main_c = tmp_path / "c" / "main.c"
    main_c.write_text('#include "model.h"\n#include <stdio.h>\nint main(void){int8_t in[EDGERNN_MODEL_INPUT_SIZE]={0};'
                      'int8_t out[EDGERNN_MODEL_OUTPUT_SIZE];edgernn_model_invoke(in,out);'
                      'for(int i=0;i<EDGERNN_MODEL_OUTPUT_SIZE;++i)printf("%d ",out[i]);return 0;}\n')
    exe = tmp_path / "c" / "prog"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Werror", "-O2", "-o", str(exe), str(main_c),
                    str(tmp_path / "c" / "model.c"), str(tmp_path / "c" / "edgernn_rt.c")], check=True)
    printed = [int(v) for v in subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()]
    zero = np.zeros(TFLMRuntime(model).input_info().shape, np.int8)
    assert printed == TFLMRuntime(model).invoke_raw(zero).reshape(-1).tolist()


def test_unsupported_op_is_named(tiny_runs, tmp_path):
    lstm = api.quantize(tiny_runs["lstm"], mode="int8", calibration_samples=20)
    with pytest.raises(UserError, match="op UNIDIRECTIONAL_SEQUENCE_LSTM is not supported by the C generator"):
        generate_c(lstm, tmp_path)


def test_float_model_is_refused(tiny_runs, tmp_path):
    f16 = api.quantize(tiny_runs["gru"], mode="float16", out=tmp_path / "f16.tflite")
    r = CliRunner().invoke(main, ["export", str(f16), "--format", "c", "--out", str(tmp_path / "c")])
    assert r.exit_code == 2 and "needs a full-integer model" in r.output
