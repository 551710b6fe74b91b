"""C code generation: bit-exact with TFLite Micro, compiled on the host and loaded with ctypes."""
import ctypes
import subprocess
import types

import numpy as np
import pytest
from click.testing import CliRunner

from edgernn import api
from edgernn.cli import main
from edgernn.data import load_dataset
from edgernn.errors import UserError
from edgernn.export.codegen import generate_c, strided_slice_indices
from edgernn.export.codegen.ops import lstm as L
from edgernn.export.codegen import fixedpoint as P
from edgernn.tflite.builder import ModelBuilder
from edgernn.tflite.info import describe
from edgernn.runtimes.base import quantize
from edgernn.runtimes.native import NativeRuntime
from edgernn.runtimes.tflm import TFLMRuntime
from edgernn.train.run import load_config, prepare_inputs
from tests.conftest import load_tool


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
    X = prepare_inputs(load_dataset(config.data).splits["test"].X, config)
    real_inputs = [quantize(X[i:i + 1], info) for i in range(len(X))]
    for x in random_inputs + real_inputs:
        np.testing.assert_array_equal(native.invoke_raw(x), ref.invoke_raw(x))
    assert len(random_inputs) + len(real_inputs) >= 140


def test_export_c_writes_compilable_self_contained_sources(gru_int8, tmp_path):
    _, model = gru_int8
    r = CliRunner().invoke(main, ["export", str(model), "--format", "c", "--out", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    names = {p.name for p in (tmp_path / "c").iterdir()}
    # only the kernels this GRU calls: no LSTM kernel, no file it does not need (its 12-unit steps are fused:
    # no element-wise kernel either)
    assert names == {"model.c", "model.h", "edgernn_rt.c", "edgernn_rt.h", "ern_common.h", "ern_support.h",
                     "ern_dot_s8_ref.h", "ern_dot_s8_dsp.h", "ern_dot_s8_mve.h", "ern_dot_s8_avx2.h", "ern_gru_s8_inline.h",
                     "ern_gru_s8_mve.h", "ern_gru_s8_avx2.h",
                     *(f"ern_{k}_s8.{ext}" for k in ("dot", "gru", "fully_connected", "softmax") for ext in "ch")}
    source = (tmp_path / "c" / "model.c").read_text()
    assert "malloc" not in source and "static uint8_t arena[" in source
    main_c = tmp_path / "c" / "main.c"
    main_c.write_text('#include "model.h"\n#include <stdio.h>\nint main(void){int8_t in[EDGERNN_MODEL_INPUT_SIZE]={0};'
                      'int8_t out[EDGERNN_MODEL_OUTPUT_SIZE];edgernn_model_invoke(in,out);'
                      'for(int i=0;i<EDGERNN_MODEL_OUTPUT_SIZE;++i)printf("%d ",out[i]);return 0;}\n')
    exe = tmp_path / "c" / "prog"
    subprocess.run(["gcc", "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-O2", "-o", str(exe), str(main_c),
                    str(tmp_path / "c" / "model.c"), str(tmp_path / "c" / "edgernn_rt.c")], check=True)
    printed = [int(v) for v in subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()]
    zero = np.zeros(TFLMRuntime(model).input_info().shape, np.int8)
    assert printed == TFLMRuntime(model).invoke_raw(zero).reshape(-1).tolist()


@pytest.fixture(scope="module")
def lstm_int8(tiny_data, tmp_path_factory):
    """A 2-layer int8 LSTM (int16 cell) as the converter makes it: fused LSTM ops, STRIDED_SLICE, per-channel head.
    7 units: the packed kernels' partial row blocks and padded columns are exercised too."""
    run = api.train(task="classify", arch="lstm", units=7, layers=2, data=tiny_data,
                    out=tmp_path_factory.mktemp("c") / "lstm2", epochs=8, progress=False)
    return run, api.quantize(run, mode="int8", calibration_samples=60)


def test_generated_lstm_is_bit_exact_with_tflm(lstm_int8):
    run, model = lstm_int8
    ops = describe(model)["ops"]
    assert ops.get("UNIDIRECTIONAL_SEQUENCE_LSTM") == 2 and "STRIDED_SLICE" in ops
    native, ref = NativeRuntime(model), TFLMRuntime(model)
    info = ref.input_info()
    rng = np.random.default_rng(1)
    config = load_config(run)
    X = prepare_inputs(load_dataset(config.data).splits["test"].X, config)
    inputs = [rng.integers(-128, 128, size=info.shape).astype(np.int8) for _ in range(100)]
    inputs += [quantize(X[i:i + 1], info) for i in range(len(X))]
    outputs = [native.invoke_raw(x) for x in inputs]
    for x, out in zip(inputs, outputs):
        np.testing.assert_array_equal(out, ref.invoke_raw(x))
    assert len({o.tobytes() for o in outputs}) > 10  # the outputs depend on the input


def _runtime_library(tmp_path):
    from edgernn.export.codegen import runtime_dir

    lib = tmp_path / "librt.so"
    files = [str(runtime_dir() / f) for f in ("ern_fixedpoint.c", "ern_dot_s8.c", "ern_lstm_s8.c")]
    subprocess.run(["gcc", "-std=c99", "-O2", "-shared", "-fPIC", "-o", str(lib), *files], check=True)
    return ctypes.CDLL(str(lib))


@pytest.mark.parametrize("op,scale_log2", [("LOGISTIC", -12), ("TANH", -12), ("TANH", -11), ("TANH", -13),
                                           ("TANH", -15)])
def test_int16_activations_match_tflm_on_every_input(op, scale_log2, tmp_path):
    """The LSTM's int16 sigmoid and tanh (gate and cell-state scales) against TFLite Micro's own ops."""
    lib = _runtime_library(tmp_path)
    table = (ctypes.c_uint16 * 256)(*L.sigmoid_table())
    x = np.arange(-32768, 32768, dtype=np.int16)
    out = np.zeros_like(x)
    ptr = lambda a: a.ctypes.data_as(ctypes.c_void_p)  # noqa: E731
    if op == "LOGISTIC":
        lib.ern_sigmoid_s16(table, ptr(x), ptr(out), len(x))
    else:
        mult, shift = L.tanh_input_rescale(scale_log2)
        lib.ern_tanh_s16(table, mult, shift, ptr(x), ptr(out), len(x))
    expected = L._int16_op_on_all_inputs(op, 2.0 ** scale_log2)
    np.testing.assert_array_equal(out.astype(np.int64), expected)


def test_fast_requantization_equals_gemmlowp_reference(tmp_path):
    """The runtime's shortcut (SMLAL + 4-instruction rounding shift) against the textbook definition."""
    lib = _runtime_library(tmp_path)
    lib.ern_mul_by_quantized_multiplier.restype = ctypes.c_int32
    lib.ern_mul_by_quantized_multiplier.argtypes = [ctypes.c_int32, ctypes.c_int32, ctypes.c_int]
    rng = np.random.default_rng(3)
    edge = [-2**31, -2**31 + 1, -1, 0, 1, 2**31 - 1, 2**30, -2**30]
    xs = edge + [int(v) for v in rng.integers(-2**31, 2**31, 3000)] + [int(v) for v in rng.integers(-5000, 5000, 1000)]
    for i, x in enumerate(xs):
        m = [2**30, 2**31 - 1, int(rng.integers(2**30, 2**31))][i % 3]
        shift = int(rng.integers(-31, 8)) if i % 5 else 0
        assert lib.ern_mul_by_quantized_multiplier(x, m, shift) == P.mbqm(x, m, shift), (x, m, shift)


def test_strided_slice_indices_follow_tflite_masks():
    opts = types.SimpleNamespace(beginMask=5, endMask=5, shrinkAxisMask=2, ellipsisMask=0, newAxisMask=0, offset=False)
    flat = strided_slice_indices([1, 6, 3], [0, -1, 0], [0, 0, 0], [1, 1, 1], opts)
    np.testing.assert_array_equal(flat, np.arange(18).reshape(1, 6, 3)[:, -1, :].reshape(-1))
    opts = types.SimpleNamespace(beginMask=0, endMask=0, shrinkAxisMask=0, ellipsisMask=0, newAxisMask=0, offset=False)
    flat = strided_slice_indices([4, 5], [1, 0], [4, 5], [2, 2], opts)
    np.testing.assert_array_equal(flat, np.arange(20).reshape(4, 5)[1:4:2, 0:5:2].reshape(-1))


def test_unsupported_op_is_named(tmp_path):
    mb = ModelBuilder("relu")
    g = mb.subgraph("main")
    x, y = g.tensor("x", [4], "int8", 0.1, 0), g.tensor("y", [4], "int8", 0.1, 0)
    g.op("RELU", [x], [y])
    g.g.inputs, g.g.outputs = [x], [y]
    model = tmp_path / "relu.tflite"
    model.write_bytes(mb.to_bytes())
    with pytest.raises(UserError, match="op RELU is not supported by the C generator"):
        generate_c(model, tmp_path / "c")


def test_float_model_is_refused(tiny_runs, tmp_path):
    f16 = api.quantize(tiny_runs["gru"], mode="float16", out=tmp_path / "f16.tflite")
    r = CliRunner().invoke(main, ["export", str(f16), "--format", "c", "--out", str(tmp_path / "c")])
    assert r.exit_code == 2 and "needs a full-integer model" in r.output


def test_runtime_public_headers_are_apart_from_the_internal_helpers(tmp_path):
    """The public headers (ern_common.h, ern_<op>_s8.h: params structs, scratch macros, kernels) include no
    internal header and compile on their own; every helper a header exports carries the ern_ prefix."""
    import re
    import sys

    from edgernn.export.codegen import runtime_dir

    sys.path.insert(0, str(runtime_dir().parent.parent / "tools"))
    try:
        from mkdocs_hooks import public_header
    finally:
        sys.path.pop(0)
    headers = {h.name: h.read_text() for h in runtime_dir().glob("ern_*.h")}
    public = sorted(name for name, text in headers.items() if public_header(text))
    assert {"ern_common.h", "ern_fully_connected_s8.h", "ern_lstm_s8.h", "ern_gru_s8.h", "ern_add_s8.h"} <= set(public)
    assert "ern_support.h" not in public and "ern_dot_s8.h" not in public
    for name in public:
        src = tmp_path / f"{name}.c"
        src.write_text(f'#include "{name}"\n')
        r = subprocess.run(["gcc", "-std=c99", "-pedantic", "-Wall", "-Werror", "-fsyntax-only", "-I", str(runtime_dir()),
                            str(src)], capture_output=True, text=True)
        assert r.returncode == 0, (name, r.stderr)
    assert "ern_requant rq;" in headers["ern_fully_connected_s8.h"] and "ern_requant rq;" in headers["ern_mul_s8.h"]
    for name, text in headers.items():
        helpers = re.findall(r"^static (?:ERN_ALWAYS_INLINE |inline )+[\w ]+?\**(\w+)\(", text, re.M)
        assert helpers or name not in ("ern_support.h",), name
        assert all(h.startswith("ern_") for h in helpers), (name, [h for h in helpers if not h.startswith("ern_")])


def test_check_codegen_same_compares_fields_new_only_to_an_older_base(tmp_path):
    """tools/check_codegen_same.py: a field listed as new in a struct (the GRU's rq.zero_point) is left out only
    where the base has no value for it; against a base that has it, it is compared (same C: same)."""
    tool = load_tool("check_codegen_same")

    def write(folder, add_z):
        folder.mkdir()
        (folder / "model.c").write_text(f"static const ern_gru_params g = {{\n{add_z}\n}};\n")
        (folder / "model.h").write_text("")
        (folder / "edgernn_rt.c").write_text("")
        return folder

    now = ".add_z = {.rq = {.multiplier = 7, .shift = -3, .zero_point = 5, .round = 44}}"
    same = write(tmp_path / "same", now)
    assert tool.compare(same, write(tmp_path / "new", now)) == ([], 1)
    changed = tool.compare(write(tmp_path / "base2", now.replace("zero_point = 5", "zero_point = 6")), same)[0]
    assert len(changed) == 1 and "add_z.rq.zero_point: 6 -> 5" in changed[0]
    older = write(tmp_path / "older", ".add_z = {.multiplier = 7, .right = 3, .round = 44}")  # before ern_requant
    assert tool.compare(older, same) == ([], 1)
