"""The host native engine's builds: the AVX2 dot-product kernel (ern_dot_s8_avx2.h) and the portable one give
TFLite Micro's bits, the flags follow the CPU, and the cache tells the builds apart."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgernn.export.codegen.sources import runtime_dir
from edgernn.runtimes import native

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [ROOT / "models" / m / "model_int8.tflite" for m in ("kws-gru64", "kws-lstm64")]

needs_avx2 = pytest.mark.skipif(not native.host_has_avx2(), reason="this CPU has no AVX2")


def test_cflags_follow_the_cpu(monkeypatch):
    monkeypatch.setattr(native, "host_has_avx2", lambda: True)
    assert native.native_cflags() == ["-O3", "-mavx2"]
    assert native.native_cflags(simd=False) == ["-O3"]
    monkeypatch.setattr(native, "host_has_avx2", lambda: False)
    assert native.native_cflags() == ["-O3"]


def test_build_key_depends_on_the_flags():
    model = b"not really a model"
    assert native.build_key(model, ["-O3"]) != native.build_key(model, ["-O3", "-mavx2"])
    assert native.build_key(model, ["-O3"]) == native.build_key(model, ["-O3"])


@pytest.mark.slow
@pytest.mark.parametrize("model", SHIPPED, ids=lambda p: p.parent.name)
def test_simd_and_portable_builds_give_tflm_bits(model):
    """Both builds of the shipped GRU-64 and LSTM-64 against TFLite Micro on seeded and extreme inputs."""
    from edgernn.runtimes.tflm import TFLMRuntime

    ref = TFLMRuntime(model)
    builds = [native.NativeRuntime(model, simd=False)]
    assert builds[0].simd is False
    if native.host_has_avx2():
        builds.append(native.NativeRuntime(model, simd=True))
        assert builds[1].simd is True
        assert builds[0].lib._name != builds[1].lib._name  # two different libraries, not one cached twice
    shape = ref.input_info().shape
    rng = np.random.default_rng(27)
    inputs = [rng.integers(-128, 128, size=shape).astype(np.int8) for _ in range(6)]
    inputs += [np.full(shape, v, np.int8) for v in (-128, 127, 0)]
    for x in inputs:
        expected = ref.invoke_raw(x)
        for rt in builds:
            np.testing.assert_array_equal(rt.invoke_raw(x), expected)


KERNEL_CHECK = r"""
#include <stdio.h>
#include <stdlib.h>
#include "ern_dot_s8_avx2.h"
/* ern_dot_s8_ref.h's sum, written out: the AVX2 kernel must give the same int32 for every group count. */
static void ref(const int8_t *w, const int16_t *x16, int groups, const int32_t *init, int32_t acc[4]) {
    int32_t s[4] = {init[0], init[1], init[2], init[3]};
    for (int g = 0; g < groups; ++g, w += 16, x16 += 4)
        for (int j = 0; j < 4; ++j) {
            const int8_t *r = w + 4 * j;
            s[j] += r[0] * x16[0] + r[2] * x16[1] + r[1] * x16[2] + r[3] * x16[3];
        }
    for (int j = 0; j < 4; ++j) acc[j] = s[j];
}
int main(void) {
    static int8_t w[16 * 64];
    static int16_t x[4 * 64];
    int bad = 0, cases = 0;
    srand(7);
    for (int t = 0; t < 20000; ++t) {
        const int groups = t % 64, extreme = t % 5 == 0;
        for (int i = 0; i < 16 * groups; ++i) w[i] = extreme ? -128 : (int8_t)(rand() & 255);
        for (int i = 0; i < 4 * groups; ++i) x[i] = extreme ? (t % 2 ? -256 : 254) : (int16_t)(2 * (int8_t)(rand() & 255));
        const int32_t init[4] = {rand() - RAND_MAX / 2, -7, 0, 1 << 20};
        int32_t a[4], b[4];
        ref(w, x, groups, init, a);
        ern_dot_4rows_from(w, x, groups, init[0], init[1], init[2], init[3], b);
        for (int j = 0; j < 4; ++j) bad += a[j] != b[j];
        ++cases;
    }
    printf("%d %d\n", cases, bad);
    return bad != 0;
}
"""


@needs_avx2
def test_avx2_dot_kernel_equals_the_reference_sum(tmp_path):
    """The AVX2 kernel alone, against the reference's sum: every group count 0..63, random and extreme values."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler")
    (tmp_path / "check.c").write_text(KERNEL_CHECK)
    exe = tmp_path / "check"
    subprocess.run([cc, "-std=c99", "-O2", "-mavx2", "-Wall", "-Werror", f"-I{runtime_dir()}", "-o", str(exe),
                    str(tmp_path / "check.c")], check=True, capture_output=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["20000", "0"], out.stdout


@pytest.mark.slow
def test_input_of_the_wrong_size_is_refused():
    """invoke_raw copies into a fixed buffer: a wrong-sized input is an error, never a short or long read."""
    from edgernn.errors import UserError

    rt = native.NativeRuntime(SHIPPED[0])
    n = int(np.prod(rt.input_info().shape))
    for size in (3, n + 1):
        with pytest.raises(UserError, match="input has"):
            rt.invoke_raw(np.zeros(size, np.int8))
    first = rt.invoke_raw(np.ones(n, np.int8))
    assert not np.shares_memory(first, rt.invoke_raw(np.zeros(n, np.int8)))  # a fresh array per call
