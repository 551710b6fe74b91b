"""Cycle estimates (targets/cycles.py): the tables, the pricing rules, the QEMU log parsing, and the
sifive_e RISC-V board end to end."""
import re

import numpy as np
import pytest
from click.testing import CliRunner

from edgernn import api
from edgernn.cli import main
from edgernn.errors import UserError
from edgernn.targets import cycles
from edgernn.targets.boards import BOARDS, get_board


def _log(blocks: dict, sequence: list) -> list[str]:
    """A QEMU ``-d in_asm,exec,nochain`` log: each block translated once before it first runs."""
    lines, seen = [], set()
    for pc in sequence:
        if pc not in seen:
            seen.add(pc)
            lines += ["----------------", "IN: f"] + blocks[pc] + [""]
        lines.append(f"Trace 0: 0x7f0000000100 [00800408/{pc:08x}/00000110/ff000200] f")
    return lines


# A loop of 3 iterations: ldrb, ldrb, smlabb, subs, bne (back to 0x100), then a bx lr; caller main at 0x200.
LOOP = {0x100: ["0x00000100:  f813 1b01  ldrb     r1, [r3], #1",
                "0x00000104:  f812 4b01  ldrb     r4, [r2], #1",
                "0x00000108:  fb11 0004  smlabb   r0, r1, r4, r0",
                "0x0000010c:  3d01       subs     r5, #1",
                "0x0000010e:  d1f7       bne      #0x100"],
        0x110: ["0x00000110:  4770       bx       lr"],
        0x200: ["0x00000200:  2000       movs     r0, #0"]}
SEQ = [0x100, 0x100, 0x100, 0x110, 0x200]


def _profile():
    return cycles.profile_call(_log(LOOP, SEQ), "arm", entry=0x100, caller=(0x200, 0x210))


def test_profile_rebuilds_the_executed_instructions():
    p = _profile()
    assert p.sequence == [(0x100, 0x110)] * 3 + [(0x110, 0x112)]  # ends at the return into the caller
    assert p.instructions() == 16
    assert p.class_counts() == {"load": 6, "mac": 3, "alu": 3, "branch": 4}  # bx lr is a branch too


def test_m4_prices_pipelined_loads_and_taken_branches():
    # per iteration: ldrb 2 + ldrb 1 (pipelined) + smlabb 1 + subs 1 + bne 1, and P=2 more when the bne is taken
    # (twice); then bx lr (1 + P, taken: the return into the caller)
    assert cycles.estimate(_profile(), cycles.M4) == 3 * 6 + 2 * 2 + 3


def test_m0_has_no_load_pipelining_and_wait_states_add_up():
    p = _profile()
    m0 = cycles.estimate(p, cycles.M0)
    assert m0 == 3 * (2 + 2 + 1 + 1 + 1) + 2 * 2 + 3  # LDRB 2 each; B taken 3, not taken 1; BX 3
    # one wait state: every load (6) and every refill (2 taken branches + bx) pay it
    assert cycles.estimate(p, cycles.M0, wait_states=1) == m0 + 6 + 3


def test_every_board_has_a_table_with_its_source():
    for b in BOARDS.values():
        table = cycles.TABLES[b.timing]
        assert "TRM" in table.basis or "Manual" in table.basis or "Guide" in table.basis
        assert "zero-wait-state" in cycles.basis_words(b) and f"{b.clock_hz / 1e6:.0f} MHz" in cycles.basis_words(b)
        assert all(v >= 0 for v in table.cost.values())


@pytest.mark.parametrize("mnemonic,operands,arch,klass", [
    ("ldrsb.w", "r1, [r2, #1]", "arm", "load"), ("ldrd", "r4, r5, [r1], #8", "arm", "load_double"),
    ("smlad", "r0, r1, r2, r0", "arm", "mac"), ("push", "{r4, r5, lr}", "arm", "multi"),
    ("bl", "#0x400", "arm", "call"), ("bne.w", "#0x100", "arm", "branch"), ("cbz", "r0, #0x20", "arm", "cbz"),
    ("vmlava.s8", "r0, q0, q1", "arm", "vec"), ("vldrb.u8", "q0, [r1], #16", "arm", "vec_load"),
    ("le", "lr, #-8", "arm", "loop_end"), ("mov", "pc, lr", "arm", "pc_write"), ("adds", "r0, #1", "arm", "alu"),
    ("lw", "a0,0(a1)", "riscv", "load"), ("mul", "a0,a1,a2", "riscv", "mul"), ("bnez", "a0,-8", "riscv", "branch"),
    ("jal", "ra,100", "riscv", "call"), ("j", "-20", "riscv", "jump"), ("addi", "a0,a0,1", "riscv", "alu"),
])
def test_classes(mnemonic, operands, arch, klass):
    assert cycles.classify(mnemonic, operands, arch) == klass


def test_pop_with_pc_pays_the_refill():
    insn = cycles.Insn(0, 2, "pop", "{r4, r5, pc}", "multi")
    assert cycles.insn_cycles(insn, cycles.M4, False, False, False, 0) == 1 + 3 + 2   # 1 + N + P
    assert cycles.insn_cycles(insn, cycles.M0, False, False, False, 0) == 4 + 3       # 4 + N


def test_a_call_that_never_runs_or_a_missing_block_is_an_error():
    with pytest.raises(UserError, match="never ran"):
        cycles.profile_call(_log(LOOP, SEQ), "arm", entry=0x300, caller=(0x200, 0x210))
    lines = [line for line in _log(LOOP, SEQ) if "0x00000110:" not in line]
    with pytest.raises(UserError, match="no instructions for the block at 0x00000110"):
        cycles.profile_call(lines, "arm", entry=0x100, caller=(0x200, 0x210))


def test_helium_comes_from_objdump_not_qemus_disassembler():
    """QEMU prints an MVE instruction as `.byte` plus a bogus 16-bit instruction: two instructions. The block's
    address range is kept from QEMU's log and its instructions are read from objdump's disassembly."""
    qemu_log = ["IN: f", "0x00000674:  fe71       .byte    0x71, 0xfe", "0x00000676:  0f4d       lsrs     r5, r1, #0x1d",
                "0x00000678:  ed91 3e00  ldc      p14, c3, [r1]", "0x0000067c:  4611       mov      r1, r2", "",
                "Trace 0: 0x7f00 [00800442/00000674/00000050/ff000200] f",
                "Trace 0: 0x7f00 [00800442/00000700/00000050/ff000200] main"]
    objdump = ("     674:\tfe71 0f4d \tvpst\n     678:\ted91 3e00 \tvldrbt.u8\tq1, [r1, #0]\n"
               "     67c:\t4611      \tmov\tr1, r2\n")
    decoded = cycles.objdump_instructions(objdump, "arm")
    assert [i.klass for i in decoded.values()] == ["vec", "vec_load", "alu"]
    raw = cycles.profile_call(qemu_log, "arm", entry=0x674, caller=(0x700, 0x800))
    fixed = cycles.profile_call(qemu_log, "arm", entry=0x674, caller=(0x700, 0x800), decoded=decoded)
    assert raw.instructions() == 4 and fixed.instructions() == 3
    with pytest.raises(UserError, match="no instruction at 0x00000678"):
        cycles.profile_call(qemu_log, "arm", entry=0x674, caller=(0x700, 0x800), decoded={0x674: decoded[0x674]})


# --- on QEMU ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gru_int8(tiny_runs):
    return api.quantize(tiny_runs["gru"], mode="int8", calibration_samples=40, out=tiny_runs["gru"] / "cy.tflite")


def test_wait_states_raise_the_estimate(gru_int8, tmp_path, monkeypatch):
    from dataclasses import replace

    from edgernn.targets import mcu

    zero = mcu.measure(gru_int8, "mps2-an386", vectors=2, out=tmp_path / "a")
    monkeypatch.setitem(BOARDS, "mps2-an386", replace(get_board("mps2-an386"), flash_wait_states=2))
    slow = mcu.measure(gru_int8, "mps2-an386", vectors=2, out=tmp_path / "b")
    assert slow["instructions_per_inference"] == zero["instructions_per_inference"]
    assert slow["estimated_cycles_per_inference"] > zero["estimated_cycles_per_inference"]
    assert "2 flash wait state(s)" in slow["estimate"]
    # the DSP kernels cost more than one cycle per instruction (loads, taken branches) on the M4
    assert 1.0 < zero["estimated_cpi"] < 3.0


def test_riscv_board_from_the_cli(gru_int8, tmp_path):
    """sifive_e: `firmware build`, `firmware run` and `bench --target mcu --board sifive_e`."""
    r = CliRunner().invoke(main, ["firmware", "build", str(gru_int8), "--board", "sifive_e", "--vectors", "3",
                                  "--out", str(tmp_path / "fw")])
    assert r.exit_code == 0, r.output
    elf = tmp_path / "fw" / "edgernn-sifive_e.elf"
    r = CliRunner().invoke(main, ["firmware", "run", str(elf), "--board", "sifive_e"])
    assert r.exit_code == 0, r.output
    assert re.search(r"mismatches\s*│\s*0\s*│", r.output), r.output  # bit-exact with TFLite Micro on every vector
    r = CliRunner().invoke(main, ["bench", str(gru_int8), "--target", "mcu", "--board", "sifive_e", "--vectors", "2"])
    assert r.exit_code == 0, r.output
    assert "RV32IMAC" in r.output or "rv32imac" in r.output
    assert "est. cycles" in r.output and "SiFive E31" in r.output


def test_riscv_board_refuses_the_kws_app(gru_int8, tmp_path):
    from edgernn.targets.kws_firmware import measure_kws

    with pytest.raises(UserError, match="Cortex-M boards"):
        api.firmware_build(gru_int8, board="sifive_e", app="kws", out=tmp_path / "k")
    # measuring (tools/bench_kws_device.py) refuses before reading the run, not with a compiler error
    with pytest.raises(UserError, match="Cortex-M boards"):
        measure_kws(tmp_path / "no-run", "sifive_e", pcm=np.zeros(16000, np.int16))


def test_riscv_board_has_no_flashing_recipe(tmp_path):
    from edgernn.targets.flash import flash

    with pytest.raises(UserError, match="no recipe for flashing it"):
        flash(tmp_path / "x.elf", "sifive_e", dry_run=True)
