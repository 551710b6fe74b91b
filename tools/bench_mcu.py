"""Microcontroller benchmark (issue 5): int8 models as generated C in Cortex-M firmware under QEMU.

    python tools/bench_mcu.py [MODEL.tflite ...] [--boards mps2-an386,...] [--vectors 16]

Default models: runs/gru64/model_int8.tflite, runs/lstm64/model_int8.tflite and
runs/rnn64/model_int8.tflite (made by tools/bench_convert.py). Each model's line also gives its
TFLite Micro figures: .tflite bytes, the measured arena and the test accuracy on TFLite Micro. First the generated C built for the host against the tflite-micro
interpreter on 100 random and 100 real test inputs. Then for each board, with the DSP kernels
and with the plain reference kernels: bit-exactness against TFLite Micro on the test vectors
(real test inputs), instructions per inference and per MAC (QEMU -icount, SysTick calibrated), flash
(text + rodata + data) against the target int8 weight bytes + 16 KB, RAM (data + bss + stack
high-water mark), and *estimates* of cycles per inference and per MAC and of the latency at the real
part's clock: QEMU's executed instructions of one inference priced with the core's cycle table
(edgernn/targets/cycles.py, docs/reference/cycle-estimates.md), basis printed under each table.
Boards: every Cortex-M core and the sifive_e RISC-V board (RV32IMAC, portable kernels).
Models the C generator cannot compile yet are reported with the reason.
With --json PATH the figures also go to a results record (tools/results_record.py), from which the
documentation's results page is generated (docs/results/data/mcu.json is the one it shows).

With --cmsis-nn DIR (a CMSIS-NN checkout at the pinned commit, edgernn/targets/cmsis_nn.py) each LSTM
keyword model is also built on CMSIS-NN's kernels (arm_lstm_unidirectional_s8,
arm_fully_connected_per_channel_s8, arm_softmax_s8) with the same flags, start-up and QEMU counting on
the DSP boards, and a row per board prints beside ours with the ratio of instructions/MAC
(CMSIS-NN / edgernn) and how many test vectors match TFLite Micro bit for bit. Another tree is
refused unless --cmsis-nn-any (its rows are then labelled unpinned).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # results_record, beside this script

import numpy as np  # noqa: E402

from edgernn.errors import UserError  # noqa: E402
from edgernn.tflite.info import describe  # noqa: E402
from edgernn.targets.boards import get_board  # noqa: E402
from edgernn.targets.mcu import measure  # noqa: E402
from results_record import write_record  # noqa: E402

COLUMNS = ["model", "board", "kernels", "bit-exact", "instructions / inference", "instructions / MAC", "flash B",
           "RAM B", "est. cycles / inference", "est. cycles / MAC", "clock MHz", "est. ms @ clock"]


def real_inputs(model: Path, n: int):
    from edgernn.bench.evaluate import run_config_for
    from edgernn.runtimes.base import quantize
    from edgernn.runtimes.tflm import TFLMRuntime
    from edgernn.train.run import load_data_for_run, prepare_inputs

    config_file = model.parent / "config.json"
    if not config_file.is_file():
        return None
    config = run_config_for(model)  # the typed RunConfig (records.py), as load_data_for_run takes
    try:
        X = prepare_inputs(load_data_for_run(config).splits["test"].X[:n], config)
    except UserError as e:  # the run's data is not on this machine: random vectors only, said so
        print(f"{model}: no real test inputs ({e}); random test vectors only")
        return None
    info = TFLMRuntime(model).input_info()
    return np.stack([quantize(X[i:i + 1], info) for i in range(len(X))])


def host_parity(model: Path, n_random: int, n_real: int) -> str:
    """The generated C built for the host (ctypes) against the tflite-micro interpreter."""
    from edgernn.runtimes.native import NativeRuntime
    from edgernn.runtimes.tflm import TFLMRuntime

    native, ref = NativeRuntime(model), TFLMRuntime(model)
    info = ref.input_info()
    rng = np.random.default_rng(0)
    real = real_inputs(model, n_real)
    inputs = [rng.integers(-128, 128, size=info.shape).astype(np.int8) for _ in range(n_random)]
    inputs += [] if real is None else list(real)
    bad = sum(int(not np.array_equal(native.invoke_raw(x), ref.invoke_raw(x))) for x in inputs)
    return (f"host build vs TFLite Micro: {len(inputs) - bad}/{len(inputs)} bit-exact "
            f"({n_random} random, {len(inputs) - n_random} real test inputs)")


def tflm_figures(model: Path) -> str:
    """The model on the TFLite Micro interpreter: measured arena and test accuracy (with its run's data)."""
    from edgernn import api

    arena = api.check(model).get("arena_bytes")
    try:
        acc = (f"{100 * api.evaluate(model, runtime='tflm', progress=False)['accuracy']:.2f}%"
               if (model.parent / "config.json").is_file() else "n/a (no config.json beside the model)")
    except UserError as e:
        acc = f"n/a ({e})"
    return f"TFLite Micro: arena {arena} B (measured), test accuracy {acc}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", default=["runs/gru64/model_int8.tflite", "runs/lstm64/model_int8.tflite",
                                                  "runs/rnn64/model_int8.tflite"])
    ap.add_argument("--boards", default="mps2-an386,mps2-an500,mps2-an505,mps3-an547,stm32f4,microbit,sifive_e")
    ap.add_argument("--vectors", type=int, default=16)
    ap.add_argument("--host-random", type=int, default=100, help="random inputs for the host-build parity check")
    ap.add_argument("--host-real", type=int, default=100, help="real test inputs for the host-build parity check")
    ap.add_argument("--json", type=Path, default=None,
                    help="also write the figures as a results record, e.g. docs/results/data/mcu.json")
    ap.add_argument("--cmsis-nn", type=Path, default=None, metavar="DIR",
                    help="a CMSIS-NN source tree at the pinned commit: also measure its kernels on the DSP boards")
    ap.add_argument("--cmsis-nn-any", action="store_true",
                    help="accept a CMSIS-NN tree other than the pinned commit (rows labelled unpinned)")
    ap.add_argument("--cmsis-nn-same-flags", action="store_true",
                    help="compile CMSIS-NN with our -ffreestanding -fno-builtin too (its memcpy word reads become calls)")
    args = ap.parse_args()
    tree = None
    if args.cmsis_nn is not None:
        from edgernn.targets.cmsis_nn import check_tree
        try:
            tree = check_tree(args.cmsis_nn, args.cmsis_nn_any)
        except UserError as e:
            print(f"edgernn: error: {e}", file=sys.stderr)
            return 2
        print(f"CMSIS-NN tree {args.cmsis_nn}: {'pinned commit ' + tree['commit'][:8] if tree['pinned'] else 'UNPINNED'}"
              f" (sources sha256 {tree['sha256'][:16]}...)")
    rows, notes, bases = [], [], {}
    for model in map(Path, args.models):
        if not model.is_file():
            print(f"{model}: missing (run tools/bench_convert.py first)")
            continue
        info = describe(model)
        weights = info["weight_bytes"].get("int8", 0)
        print(f"\n== {model}: {info['file_bytes']} B .tflite, int8 weights {weights} B; flash target "
              f"<= {weights + 16384} B ==")
        tflm, parity = tflm_figures(model), host_parity(model, args.host_random, args.host_real)
        print(tflm)
        print(parity)
        notes.append(f"`{model}`: {info['file_bytes']:,} B .tflite, int8 weights {weights:,} B; {tflm}; {parity}.")
        print(f"{'board':12} {'core':10} {'kernels':9} {'bit-exact':9} {'instr/inference':>15} {'instr/MAC':>9} {'flash B*':>8} "
              f"{'RAM B':>6} {'est. cycles':>11} {'cyc/MAC':>7} {'MHz':>4} {'est. ms':>8}")
        inputs = real_inputs(model, args.vectors)
        for board in args.boards.split(","):
            for reference in (False, True):
                try:
                    r = measure(model, board, vectors=args.vectors, reference=reference, data_inputs=inputs)
                except UserError as e:
                    print(f"{board:12} not run: {e}")
                    break
                kernels = "Helium" if r.get("mve_kernels") else "DSP" if r["dsp_kernels"] else "reference"
                core = get_board(board).core_name
                bases[board] = r["estimate"]
                print(f"{board:12} {core:10} {kernels:9} {'yes' if r['bit_exact_vs_tflm'] else 'NO':9} "
                      f"{r['instructions_per_inference']:>15,} {r['instructions_per_mac']:>9.2f} {r['flash_without_vectors_bytes']:>8} "
                      f"{r['ram_bytes']:>6} {r['estimated_cycles_per_inference']:>11,} {r['estimated_cycles_per_mac']:>7.2f} "
                      f"{r['clock_hz'] / 1e6:>4.0f} {r['estimated_latency_ms']:>8.2f}")
                rows.append([model.parent.name, f"{board} ({core})", kernels,
                             "yes" if r["bit_exact_vs_tflm"] else "NO", r["instructions_per_inference"],
                             round(r["instructions_per_mac"], 2), r["flash_without_vectors_bytes"], r["ram_bytes"],
                             r["estimated_cycles_per_inference"], round(r["estimated_cycles_per_mac"], 2),
                             round(r["clock_hz"] / 1e6), round(r["estimated_latency_ms"], 2)])
                if tree is not None and not reference and (r["dsp_kernels"] or r.get("mve_kernels")):
                    rows.append(cmsis_nn_row(model, board, core, args, inputs, r, tree))
                if not get_board(board).dsp:
                    break  # no DSP extension: the reference kernels are the only set
        print("* flash: text + rodata + data of the firmware, without the baked-in test vectors")
        for board, basis in bases.items():
            print(f"estimate basis, {board}: {basis}")
    rows = [r for r in rows if r is not None]
    if args.json and rows:
        write_json(args, rows, notes, bases)
    return 0


def cmsis_nn_row(model: Path, board: str, core: str, args, inputs, ours: dict, tree: dict) -> list | None:
    """CMSIS-NN's kernels for the same model on the same board, printed beside our DSP row."""
    from edgernn.targets import cmsis_nn

    try:
        c = cmsis_nn.measure(model, board, args.cmsis_nn, args.vectors, data_inputs=inputs,
                             same_flags=args.cmsis_nn_same_flags)
    except UserError as e:
        print(f"{board:12} CMSIS-NN not run: {e}")
        return None
    ratio = c["instructions_per_mac"] / ours["instructions_per_mac"]
    label = "CMSIS-NN" if tree["pinned"] else "CMSIS-NN?"
    exact = f"{c['bit_exact_vectors']}/{c['vectors']}"
    print(f"{board:12} {core:10} {label:9} {exact:9} {c['instructions_per_inference']:>15,} {c['instructions_per_mac']:>9.2f} "
          f"{c['flash_without_vectors_bytes']:>8} {c['ram_bytes']:>6} {c['estimated_cycles_per_inference']:>11,} "
          f"{c['estimated_cycles_per_mac']:>7.2f} {c['clock_hz'] / 1e6:>4.0f} {c['estimated_latency_ms']:>8.2f}"
          f"  = {ratio:.2f}x ours (instructions/MAC); largest output difference from TFLite Micro {c['max_abs_diff']}")
    return [model.parent.name, f"{board} ({core})", f"CMSIS-NN {tree['commit'][:8]}", exact,
            c["instructions_per_inference"], round(c["instructions_per_mac"], 2), c["flash_without_vectors_bytes"],
            c["ram_bytes"], c["estimated_cycles_per_inference"], round(c["estimated_cycles_per_mac"], 2),
            round(c["clock_hz"] / 1e6), round(c["estimated_latency_ms"], 2)]


def write_json(args, rows: list, notes: list, bases: dict) -> None:
    """The figures as a results record; the README's headline is the first model's first board row."""
    first = rows[0]
    write_record(
        args.json, title="Microcontroller: int8 models as generated C in QEMU", tool="tools/bench_mcu.py",
        command="python tools/bench_mcu.py " + " ".join(sys.argv[1:]),
        describes=["edgernn/export/codegen", "firmware/runtime", "firmware/boards", "edgernn/targets"],
        summary=" ".join(notes) + f" {args.vectors} test vectors per board. Flash: text + rodata + data without the "
                "test vectors. Cycles and latency are estimates: QEMU's executed instructions of one inference priced "
                "per instruction class with each core's cycle table (docs: reference/cycle-estimates). Basis per board: "
                + " ".join(f"{b}: {t}." for b, t in bases.items()),
        tables=[{"title": "Generated C per board", "columns": COLUMNS, "rows": rows}],
        plots=[{"table": 0, "label": ["model", "board", "kernels"], "value": "instructions / MAC",
                "title": "Instructions per MAC (lower is better)"},
               {"table": 0, "label": ["model", "board", "kernels"], "value": "est. cycles / MAC",
                "title": "Estimated cycles per MAC (lower is better)"}],
        headline=[{"what": f"{first[0]} on {first[1]} (generated C, {first[2]} kernels)",
                   "value": f"{first[5]} instructions/MAC, {first[9]} est. cycles/MAC, {first[11]} ms est. at "
                            f"{first[10]} MHz, {first[6]:,} B flash, {first[7]:,} B RAM, bit-exact: {first[3]}"}])
    print(f"wrote {args.json}")


if __name__ == "__main__":
    sys.exit(main())
