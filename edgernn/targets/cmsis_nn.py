"""CMSIS-NN side by side: the same int8 LSTM model on Arm's CMSIS-NN kernels, built and counted as our own.

The user gives a CMSIS-NN source tree (``git clone https://github.com/ARM-software/CMSIS-NN`` at
``PINNED_COMMIT``); nothing of CMSIS-NN is in this repository. The tree is pinned by a sha256 over
the files the build reads (``SOURCES`` and every ``Include/*.h``), so a different checkout is refused
(or, with ``any_tree``, measured and labelled unpinned). ``model_params`` computes, from the .tflite
with our own reader, the parameters TFLite Micro's CMSIS-NN kernels compute in their Prepare
(cmsis_nn/unidirectional_sequence_lstm.cc, fully_connected.cc, softmax.cc): the same integers our
generator computes for TFLite Micro's reference kernels (export/codegen/ops), arranged in CMSIS-NN's
structs. ``measure`` builds a firmware that calls ``arm_lstm_unidirectional_s8``,
``arm_fully_connected_per_channel_s8`` and ``arm_softmax_s8`` from the bench app, with the bench
app's flags, start-up, SysTick counting and test vectors (expected outputs from TFLite Micro), and
returns a row like ``mcu.measure``'s.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from edgernn import io
from edgernn.errors import UserError
from edgernn.targets import qemu, toolchain
from edgernn.targets.boards import get_board, linker_script

PINNED_COMMIT = "99f736a63036613032f9b70de36b493bcd7802d4"
# The CMSIS-NN files the firmware compiles (besides the headers under Include/).
SOURCES = (
    "Source/LSTMFunctions/arm_lstm_unidirectional_s8.c",
    "Source/NNSupportFunctions/arm_nn_lstm_step_s8.c",
    "Source/NNSupportFunctions/arm_nn_lstm_calculate_gate_s8_s16.c",
    "Source/NNSupportFunctions/arm_nn_vec_mat_mul_result_acc_s8_s16.c",
    "Source/ActivationFunctions/arm_nn_activation_s16.c",
    "Source/NNSupportFunctions/arm_nntables.c",
    "Source/BasicMathFunctions/arm_elementwise_mul_s16.c",
    "Source/BasicMathFunctions/arm_elementwise_mul_acc_s16.c",
    "Source/BasicMathFunctions/arm_elementwise_mul_s16_s8.c",
    "Source/FullyConnectedFunctions/arm_fully_connected_per_channel_s8.c",
    "Source/NNSupportFunctions/arm_nn_vec_mat_mult_t_per_ch_s8.c",
    "Source/SoftmaxFunctions/arm_softmax_s8.c",
    "Source/SoftmaxFunctions/arm_nn_softmax_common_s8.c",
)
# sha256 of tree_digest() over PINNED_COMMIT's files.
PINNED_SHA256 = "ebcc61514a037631b37a233b7f4b20e995ad93b4a4501755c492af576240c78c"
MAX_FILE_BYTES = 4 << 20  # a source file larger than this is not CMSIS-NN's


def tree_files(tree: Path) -> list[Path]:
    """The files the build reads, relative to ``tree``, sorted; missing ones are an error."""
    tree = Path(tree)
    if not (tree / "Include" / "arm_nnfunctions.h").is_file():
        raise UserError(f"{tree}: not a CMSIS-NN source tree (no Include/arm_nnfunctions.h); get one with "
                        f"`git clone https://github.com/ARM-software/CMSIS-NN` and `git checkout {PINNED_COMMIT[:8]}`")
    missing = [s for s in SOURCES if not (tree / s).is_file()]
    if missing:
        raise UserError(f"{tree}: CMSIS-NN tree without {missing[0]}; the pinned commit is {PINNED_COMMIT[:8]}")
    headers = sorted(p.relative_to(tree).as_posix() for p in (tree / "Include").rglob("*.h"))
    return [Path(p) for p in sorted([*SOURCES, *headers])]


def tree_digest(tree: Path) -> str:
    """sha256 over (path, size, bytes) of every file the build reads."""
    h = hashlib.sha256()
    for rel in tree_files(tree):
        f = Path(tree) / rel
        if f.is_symlink() or f.stat().st_size > MAX_FILE_BYTES:
            raise UserError(f"{f}: a symlink or larger than {MAX_FILE_BYTES} bytes; not a CMSIS-NN source file")
        data = f.read_bytes()
        h.update(f"{rel.as_posix()}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def check_tree(tree: Path, any_tree: bool = False) -> dict:
    """The tree's digest and whether it is the pinned one; an unpinned tree is refused unless ``any_tree``."""
    digest = tree_digest(tree)
    pinned = digest == PINNED_SHA256
    if not pinned and not any_tree:
        raise UserError(f"{tree}: CMSIS-NN sources differ from the pinned commit {PINNED_COMMIT[:8]} (sha256 "
                        f"{digest[:16]}..., expected {PINNED_SHA256[:16]}...); check out {PINNED_COMMIT[:8]} or pass "
                        "--cmsis-nn-any to measure an unpinned tree")
    return {"sha256": digest, "pinned": pinned, "commit": PINNED_COMMIT if pinned else "unpinned"}


def model_params(model: Path) -> dict:
    """CMSIS-NN's parameters for a keyword model LSTM -> last step -> FULLY_CONNECTED -> SOFTMAX."""
    from edgernn.export.codegen.ops import activations, fully_connected, lstm
    from edgernn.tflite.reader import Graph

    g = Graph(model)
    ops = g.ops(0)
    names = [g.op_name(op) for op in ops]
    if names != ["UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE", "FULLY_CONNECTED", "SOFTMAX"]:
        raise UserError(f"{model}: the CMSIS-NN comparison takes an LSTM -> last step -> FULLY_CONNECTED -> SOFTMAX "
                        f"model; this one is {' -> '.join(names)}")
    lstm_op, slice_op, fc_op, sm_op = ops
    p = lstm.prepare(g, 0, lstm_op)
    ins = g.operands(lstm_op)
    x, h = ins.input, ins.output_state
    (_, z_x), (_, z_h) = g.qparams(0, x), g.qparams(0, h)
    begin = g.const(0, int(slice_op.inputs[1]))
    if begin is None or int(begin.reshape(-1)[1]) not in (-1, p["steps"] - 1) or not slice_op.builtinOptions.shrinkAxisMask & 2:
        raise UserError(f"{model}: the STRIDED_SLICE after the LSTM must take its last step")
    gates = {}
    for name, gate in zip(("input", "forget", "cell", "output"), p["gates"]):
        bias_t = ins[f"{name}_gate_bias"]
        gates[name] = dict(
            input_multiplier=gate["input_multiplier"], input_shift=gate["input_shift"],
            input_weights=g.const(0, gate["input_weights"]), input_effective_bias=np.asarray(gate["input_bias"]),
            hidden_multiplier=gate["recurrent_multiplier"], hidden_shift=gate["recurrent_shift"],
            hidden_weights=g.const(0, gate["recurrent_weights"]),
            hidden_effective_bias=np.asarray(gate["recurrent_bias"]),
            bias=g.const(0, bias_t) if bias_t >= 0 else np.zeros(p["n_state"], np.int32),
            activation="ARM_TANH" if name == "cell" and p["cell_gate_tanh"] else "ARM_SIGMOID")
    fc = fully_connected.prepare(g, 0, fc_op)
    if "multipliers" not in fc:  # per-tensor weights: the same struct, one value repeated
        fc["multipliers"], fc["shifts"] = [fc["multiplier"]] * fc["rows"], [fc["shift"]] * fc["rows"]
    fc_in = g.qparams(0, g.operands(fc_op).input)[1]
    sm = activations.prepare_softmax(g, 0, sm_op)
    return dict(
        lstm=dict(time_major=int(lstm_op.builtinOptions.timeMajor), batch_size=1, time_steps=p["steps"],
                  input_size=p["n_input"], hidden_size=p["n_state"], input_offset=-z_x,
                  forget_to_cell_multiplier=p["forget_mul"][0], forget_to_cell_shift=p["forget_mul"][1],
                  input_to_cell_multiplier=p["input_mul"][0], input_to_cell_shift=p["input_mul"][1],
                  cell_clip=p["cell_clip"] if p["cell_clip"] > 0 else 32767,
                  cell_scale_power=lstm.checked_log2(g.qparams(0, ins.cell_state)[0]),
                  output_multiplier=p["output_mul"][0], output_shift=p["output_mul"][1], output_offset=z_h),
        gates=gates,
        fc=dict(rows=fc["rows"], cols=fc["cols"], input_offset=-fc_in, output_offset=fc["output_offset"],
                weights=g.const(0, fc["weights"]), bias=g.const(0, g.operands(fc_op).bias),
                multipliers=fc["multipliers"], shifts=fc["shifts"]),
        softmax=dict(rows=sm["rows"], depth=sm["depth"], mult=sm["beta_multiplier"], shift=sm["beta_left_shift"],
                     diff_min=sm["diff_min"]),
        input_size=g.numel(0, x), output_size=g.numel(0, int(sm_op.outputs[0])))


def _arr(ctype: str, name: str, values) -> str:
    from edgernn.export.codegen.emitter import c_array

    values = np.asarray(values).reshape(-1)
    return f"static const {ctype} {name}[{values.size}] __attribute__((aligned(4))) = {{{c_array(values)}}};"


def model_source(p: dict) -> tuple[str, str]:
    """(model.c, model.h): edgernn_model_invoke on CMSIS-NN's kernels, the bench app's entry point."""
    lp, fc, sm = p["lstm"], p["fc"], p["softmax"]
    n, steps = lp["hidden_size"], lp["time_steps"]
    consts, gate_inits = [], []
    for name, gate in p["gates"].items():
        for key, ctype in (("input_weights", "int8_t"), ("hidden_weights", "int8_t"), ("input_effective_bias", "int32_t"),
                           ("hidden_effective_bias", "int32_t"), ("bias", "int32_t")):
            consts.append(_arr(ctype, f"{name}_{key}", gate[key]))
        gate_inits.append(
            f"  .{name}_gate = {{{gate['input_multiplier']}, {gate['input_shift']}, {name}_input_weights, "
            f"{name}_input_effective_bias, {gate['hidden_multiplier']}, {gate['hidden_shift']}, {name}_hidden_weights, "
            f"{name}_hidden_effective_bias, {name}_bias, {gate['activation']}}},")
    consts += [_arr("int8_t", "fc_weights", fc["weights"]), _arr("int32_t", "fc_bias", fc["bias"])]
    # Helium's FULLY_CONNECTED reads arm_vector_sum_s8's kernel sums (bias + input offset x row sums) from ctx.buf
    kernel_sum = fc["bias"].astype(np.int64) + fc["input_offset"] * fc["weights"].astype(np.int64).sum(axis=1)
    consts.append(_arr("int32_t", "fc_kernel_sum", kernel_sum).replace("static const", "static"))
    consts += [_arr("int32_t", "fc_multipliers", fc["multipliers"]).replace("static const", "static"),
               _arr("int32_t", "fc_shifts", fc["shifts"]).replace("static const", "static")]
    scalars = ",\n".join(f"  .{k} = {v}" for k, v in lp.items())
    source = "\n".join([
        "/* Generated by edgernn (tools/bench_mcu.py --cmsis-nn): the model on CMSIS-NN's kernels. */",
        '#include "arm_nnfunctions.h"', '#include "model.h"', *consts,
        f"static const cmsis_nn_lstm_params lstm_params = {{\n{scalars},", *gate_inits, "};",
        f"static int16_t temp1[{n}], temp2[{n}], cell_state[{n}];",
        f"static int8_t sequence[{steps * n}] __attribute__((aligned(4)));",
        f"static int8_t logits[{fc['rows']}];",
        "int edgernn_model_invoke(const int8_t *input, int8_t *output) {",
        "  cmsis_nn_lstm_context buffers = {temp1, temp2, cell_state, NULL};",
        "  if (arm_lstm_unidirectional_s8(input, sequence, &lstm_params, &buffers) != ARM_CMSIS_NN_SUCCESS) return -1;",
        f"  const cmsis_nn_context ctx = {{fc_kernel_sum, {4 * fc['rows']}}};",
        f"  const cmsis_nn_fc_params fc = {{{fc['input_offset']}, 0, {fc['output_offset']}, {{-128, 127}}}};",
        "  const cmsis_nn_per_channel_quant_params q = {fc_multipliers, fc_shifts};",
        f"  const cmsis_nn_dims in_dims = {{1, 1, 1, {fc['cols']}}}, filter_dims = {{{fc['cols']}, 1, 1, {fc['rows']}}};",
        f"  const cmsis_nn_dims bias_dims = {{1, 1, 1, {fc['rows']}}}, out_dims = {{1, 1, 1, {fc['rows']}}};",
        f"  if (arm_fully_connected_per_channel_s8(&ctx, &fc, &q, &in_dims, sequence + {(steps - 1) * n}, &filter_dims, "
        "fc_weights, &bias_dims, fc_bias, &out_dims, logits) != ARM_CMSIS_NN_SUCCESS) return -1;",
        f"  arm_softmax_s8(logits, {sm['rows']}, {sm['depth']}, {sm['mult']}, {sm['shift']}, {sm['diff_min']}, output);",
        "  return 0;", "}", ""])
    header = (f"#ifndef EDGERNN_MODEL_H_\n#define EDGERNN_MODEL_H_\n#include <stdint.h>\n"
              f"#define EDGERNN_MODEL_INPUT_SIZE {p['input_size']}\n#define EDGERNN_MODEL_OUTPUT_SIZE {p['output_size']}\n"
              "int edgernn_model_invoke(const int8_t *input, int8_t *output);\n#endif\n")
    return source, header


# CMSIS-NN reads 4 int8 at a time with memcpy(&v, p, 4) (arm_nn_read_s8x4_ia): a load when the compiler may
# treat memcpy as a builtin, a call to the start-up's byte loop under the bench app's -ffreestanding
# -fno-builtin. Its sources are therefore compiled without those two flags (as its own CMake build and
# TFLite Micro's compile it), everything else as ours; same_flags=True keeps them (a handicap, for the record).
HOSTED_ONLY_FLAGS = ("-ffreestanding", "-fno-builtin")


def build(model: Path, board: str, tree: Path, out: Path, inputs: np.ndarray, expected: np.ndarray,
          same_flags: bool = False) -> Path:
    """The bench app with CMSIS-NN's kernels in place of the generated C; returns the ELF."""
    from edgernn.export.codegen.sources import firmware_dir
    from edgernn.targets.mcu import _vectors_header

    b = get_board(board)
    if b.arch != "arm":
        raise UserError(f"CMSIS-NN runs on the Cortex-M boards, not {board}")
    gcc = toolchain.tool(toolchain.prefix(b) + "gcc")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    source, header = model_source(model_params(model))
    io.atomic_write_text(out / "model.c", source)
    io.atomic_write_text(out / "model.h", header)
    io.atomic_write_text(out / "vectors.h", _vectors_header(inputs, expected))
    io.atomic_write_text(out / "link.ld", linker_script(b))
    app = ["boards/startup.c", "boards/timing.c", "boards/text.c", "boards/board_common.c", "app/main.c"]
    for f in [*app, "boards/board.h", "boards/timing.h", "boards/text.h"]:
        io.atomic_write_bytes(out / Path(f).name, (firmware_dir() / f).read_bytes())
    # the flags of mcu._build_in (our bench rows), plus CMSIS-NN's include folder
    flags = [f"-mcpu={b.cpu}", "-mthumb", *b.arch_flags, "-O2", "-std=c99", "-ffreestanding", "-fno-builtin",
             "-ffunction-sections", "-fdata-sections", "-Wall", "-Wextra", "-I", str(out), "-I", str(Path(tree) / "Include"),
             f'-DEDGERNN_BOARD="{board}"']
    elf = out / f"cmsis-nn-{board}.elf"
    lib_flags = flags if same_flags else [f for f in flags if f not in HOSTED_ONLY_FLAGS]
    objects = []
    for k, src in enumerate(SOURCES):
        obj = out / f"cmsis_nn_{k}_{Path(src).stem}.o"
        proc = toolchain.link([gcc, *lib_flags, "-c", str(Path(tree) / src), "-o", str(obj)])
        if proc.returncode != 0:
            raise UserError(f"CMSIS-NN {src} did not compile: {proc.stderr.strip()[-600:]}")
        objects.append(str(obj))
    cmd = [gcc, *flags, "-nostdlib", "-T", str(out / "link.ld"), "-Wl,--gc-sections",
           *[str(out / Path(f).name) for f in app], str(out / "model.c"), *objects,
           "-lgcc", "-o", str(elf) + ".partial"]
    proc = toolchain.link(cmd)
    if proc.returncode != 0:
        raise UserError(f"CMSIS-NN firmware build failed: {proc.stderr.strip()[-600:]}")
    data = Path(str(elf) + ".partial").read_bytes()
    qemu.record_built(elf, data)
    Path(str(elf) + ".partial").replace(elf)
    return elf


def measure(model: Path, board: str, tree: Path, vectors: int, data_inputs=None, out: Path | None = None,
            same_flags: bool = False) -> dict:
    """Build and run under QEMU like mcu.measure: instructions per inference and per MAC, bit-exactness
    against TFLite Micro (per vector, with the largest output difference), flash and RAM."""
    from edgernn.targets.cycles import estimate_inference
    from edgernn.targets.mcu import model_macs, run_firmware, test_vectors

    model, b = Path(model), get_board(board)
    inputs, expected = test_vectors(model, vectors, data_inputs=data_inputs)
    elf = build(model, board, tree, Path(out) if out else model.parent / f"firmware-cmsis-nn-{board}", inputs, expected,
                same_flags)
    r = run_firmware(elf, board)
    diffs = [int(np.abs(o.astype(int) - e.reshape(-1).astype(int)).max()) for o, e in zip(r["outputs"], expected)]
    instructions = r["ticks"] * r["calib_instructions"] / r["calib_ticks"] / r["vectors"]
    macs = model_macs(model)
    sizes = toolchain.elf_sizes(elf)
    est = estimate_inference(elf, b, toolchain.tool(toolchain.prefix(b) + "nm"),
                             toolchain.tool(toolchain.prefix(b) + "objdump"))
    return {"board": board, "vectors": r["vectors"], "bit_exact_vectors": sum(d == 0 for d in diffs),
            "max_abs_diff": max(diffs), "instructions_per_inference": round(instructions),
            "instructions_per_mac": instructions / macs, "macs_per_inference": macs,
            "flash_without_vectors_bytes": sizes["flash_bytes"] - int(inputs.size + expected.size),
            "ram_bytes": sizes["static_ram_bytes"] + r["stack_used"],
            "estimated_cycles_per_inference": est["estimated_cycles"],
            "estimated_cycles_per_mac": est["estimated_cycles"] / macs, "clock_hz": b.clock_hz,
            "estimated_latency_ms": est["estimated_cycles"] / b.clock_hz * 1e3, "elf": str(elf)}
