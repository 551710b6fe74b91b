"""Cycle *estimates* for the microcontroller cores: a per-instruction-class cycle table applied to the
instructions QEMU executed.

QEMU does not model cycles. It can log every translated block's guest instructions (``-d in_asm``)
and every block it executes (``-d exec`` with ``nochain``, so chained blocks are logged too). From the
two, ``profile`` rebuilds the exact sequence of executed instructions of one inference (from the entry
of ``edgernn_model_invoke`` to the return into ``main``), and ``estimate`` prices it with the core's
table below: each instruction's class cost, plus

- taken branches (known from the next executed block) pay the pipeline refill, not-taken ones do not;
- a load or store right after another one pays its pipelined cost (Cortex-M3/M4/M33: TRM "Load/store
  timings"), else its full cost;
- ``wait_states`` (the board's flash wait states; 0 = zero-wait-state memory) is added to every
  refill (an instruction fetch from flash after a taken branch) and to every load (pessimistic: it
  assumes all data loads hit flash, as the model's weights do, and no cache or flash accelerator).

The tables are data, written from each core's Technical Reference Manual (or, where the TRM gives no
table, the nearest published source, named in ``basis``). They ignore data-dependent stalls (load-use
interlocks beyond the table, bus contention), dual issue (Cortex-M7, M55) and caches: the estimate is a
*model*; docs/reference/cycle-estimates.md compares it with published figures.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# --- the tables (cycles per instruction class, zero wait states) --------------------------------------

# Classes: alu (data processing, moves, shifts, extends, saturation, bit fields, compares, IT, NOP),
# mul (32x32->32 multiply), mac (multiply-accumulate, long multiply, DSP/SIMD multiplies), div,
# load / store (single), load_pipelined / store_pipelined (right after another load or store),
# ldm_base + per_reg (LDM/STM/PUSH/POP: base + N), branch (not taken), refill (added when taken or when
# the PC is written), call (BL/BLX: its cost including the refill), vec (one MVE instruction),
# vec_load (one MVE load/store), loop_end (LE/LETP of the low-overhead loop).


@dataclass(frozen=True)
class CycleTable:
    core: str
    basis: str                       # the source, in words (shown beside every estimate)
    cost: dict = field(default_factory=dict)

    def __getitem__(self, key: str) -> int:
        return self.cost[key]


# Cortex-M4: Arm Cortex-M4 TRM (Arm 100166_0001 / DDI 0439), section 3.3.1 "Table of processor
# instructions", Table 3-1, zero wait states. P (pipeline refill) "ranges from 1 to 3": 2 is used.
# LDR 2, "neighboring load and store single instructions can pipeline their address and data phases"
# (section 3.3.2): 1 after another load/store. MUL, MLA, MLS, SMULL, SMLAL and the DSP MACs (SMLAD,
# SMLABB, ...) 1. SDIV/UDIV 2 to 12: 12 (upper end; none in the inner loops). LDM/STM/PUSH/POP 1+N.
M4 = CycleTable("cortex-m4", "Cortex-M4 TRM (Arm 100166) Table 3-1, pipeline refill P=2", dict(
    alu=1, mul=1, mac=1, div=12, load=2, load_pipelined=1, store=2, store_pipelined=1, ldm_base=1, per_reg=1,
    branch=1, refill=2, call=3, vec=1, vec_load=2, loop_end=3))

# Cortex-M33: its TRM (Arm 100230) publishes no per-instruction table; the core is, like the M4, a
# 3-stage single-issue Armv8-M mainline pipeline with single-cycle DSP MACs, so the M4 table is used.
M33 = CycleTable("cortex-m33", "Cortex-M4 TRM (Arm 100166) Table 3-1 applied to the M33 (its TRM, Arm 100230, "
                 "has no cycle table; same 3-stage single-issue pipeline class), P=2", dict(M4.cost))

# Cortex-M7: its TRM (Arm DDI 0489) publishes no cycle table; the M7 is 6-stage, dual-issue, with
# branch prediction. A single-issue model: the M4 table with 1-cycle loads and stores (TCM) and the M7's
# predicted branches (refill 0 when the branch goes backwards, i.e. loops). Dual issue would lower it,
# load-use stalls (not modelled) would raise it: not a bound either way.
M7 = CycleTable("cortex-m7", "single-issue model: Cortex-M4 TRM (Arm 100166) Table 3-1 latencies, loads 1 "
                "(TCM), predicted loop branches free; the M7 TRM (DDI 0489) gives no table; dual issue and "
                "load-use stalls not modelled", dict(M4.cost, load=1, store=1, backward_refill=0))

# Cortex-M0: Cortex-M0 TRM (Arm DDI 0432C) section 3.3, Table 3-1 "Cortex-M0 instruction summary":
# ALU 1, MULS 1 (fast multiplier) , LDR/STR 2, LDM/STM/PUSH 1+N, POP {..,pc} 4+N, B taken 3 / not 1,
# BL 4, BX/BLX 3. No load pipelining on ARMv6-M.
M0 = CycleTable("cortex-m0", "Cortex-M0 TRM (Arm DDI 0432C) Table 3-1, fast multiplier", dict(
    alu=1, mul=1, mac=1, div=1, load=2, load_pipelined=2, store=2, store_pipelined=2, ldm_base=1, per_reg=1,
    branch=1, refill=2, call=4, pop_pc_extra=3, vec=1, vec_load=2, loop_end=3))

# Cortex-M0+ (the RP2040's core): Cortex-M0+ TRM (Arm DDI 0484C) section 3.3 with the Cortex-M0+
# Devices Generic User Guide (DUI 0662) Table 3-1: 2-stage pipeline, B taken 2 / not 1, BL 3, BX 2,
# LDR/STR 2, LDM/STM/PUSH 1+N, POP {..,pc} 3+N, MULS 1 (fast multiplier).
M0PLUS = CycleTable("cortex-m0plus", "Cortex-M0+ Generic User Guide (Arm DUI 0662) Table 3-1, fast multiplier", dict(
    alu=1, mul=1, mac=1, div=1, load=2, load_pipelined=2, store=2, store_pipelined=2, ldm_base=1, per_reg=1,
    branch=1, refill=1, call=3, pop_pc_extra=2, vec=1, vec_load=2, loop_end=2))

# Cortex-M55: scalar instructions as the M4/M33 table. Helium: the M55 is a dual-beat implementation
# (Cortex-M55 TRM, Arm 101051, section 2.1 "a 64-bit ... datapath": a 128-bit vector instruction is 4
# beats done 2 per cycle), so one MVE instruction costs 2 cycles; overlap of consecutive vector
# instructions (Cortex-M55 Software Optimization Guide) is not modelled, so this is an upper bound.
# LE of a low-overhead loop: 0 once the loop is cached (Armv8.1-M LOB), counted as 1 here.
M55 = CycleTable("cortex-m55", "scalar: Cortex-M4 TRM (Arm 100166) Table 3-1, P=2; Helium: 2 cycles per vector "
                 "instruction (dual-beat, Cortex-M55 TRM Arm 101051 section 2.1), beat overlap not modelled",
                 dict(M4.cost, vec=2, vec_load=2, loop_end=1))

# RV32IMAC: SiFive E31 Core Complex Manual (21G1), chapter 3 "E31 RISC-V Core", section "Execution
# Pipeline": single-issue in-order 5-stage, one instruction per cycle; loads have a 2-cycle result
# latency (counted as 2), the multiplier 1 instruction per cycle (latency 2: counted as 1 when not
# dependent, a lower bound), divides up to 34 cycles (32 counted), taken branches and JAL with the
# branch predictor: correctly predicted backward branches 1, others pay a 3-cycle misprediction.
# ESP32-C3 and GD32VF103 (Bumblebee) cores are similar 2-4 stage in-order RV32IMC pipelines.
RV32 = CycleTable("rv32imac", "SiFive E31 Core Complex Manual, Execution Pipeline: loads 2, taken forward branch "
                  "+3 (mispredicted), predicted backward branches 1, MUL 1, DIV 32", dict(
                      alu=1, mul=1, mac=1, div=32, load=2, load_pipelined=2, store=1, store_pipelined=1, ldm_base=1,
                      per_reg=1, branch=1, refill=3, call=2, backward_refill=0, vec=1, vec_load=2, loop_end=1))

TABLES = {t.core: t for t in (M0, M0PLUS, M4, M7, M33, M55, RV32)}


# --- instruction classes from the mnemonic (QEMU's in_asm disassembly) --------------------------------

_COND = r"(?:eq|ne|cs|hs|cc|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le|al)?"
_ARM_CLASSES = [
    ("call", re.compile(rf"^(bl|blx){_COND}(\.w|\.n)?$")),
    ("cbz", re.compile(r"^cbn?z$")),
    ("branch", re.compile(rf"^(b|bx){_COND}(\.w|\.n)?$")),
    ("tb", re.compile(r"^tb[bh]$")),
    ("loop_end", re.compile(r"^(le|letp|wls|dls|wlstp|dlstp)(\.\d+)?$")),
    ("vec_load", re.compile(r"^v(ld|st)r[bhwd]?[.a-z0-9]*$|^vld[24]\d[.a-z0-9]*$|^vst[24]\d[.a-z0-9]*$")),
    ("vec", re.compile(r"^v[a-z0-9]+(\.[a-z0-9]+)*$")),
    ("multi", re.compile(rf"^(push|pop|ldm|stm|ldmia|stmia|ldmdb|stmdb|ldmfd|stmfd){_COND}(\.w|\.n)?$")),
    ("load_double", re.compile(rf"^ldrd{_COND}(\.w)?$")),
    ("store_double", re.compile(rf"^strd{_COND}(\.w)?$")),
    ("load", re.compile(rf"^ldr(ex)?(b|h|sb|sh|t|bt|ht|sbt|sht)?{_COND}(\.w|\.n)?$")),
    ("store", re.compile(rf"^str(ex)?(b|h|t|bt|ht)?{_COND}(\.w|\.n)?$")),
    ("div", re.compile(rf"^[su]div{_COND}(\.w)?$")),
    ("mul", re.compile(rf"^muls?{_COND}(\.w|\.n)?$")),
    ("mac", re.compile(rf"^(mla|mls|[su]mull|[su]mlal|smla|smlsd|smlad|smuad|smusd|smul|smmul|smmla|smmls|smlaw|"
                       rf"smlal|smulw|umaal)[a-z]*{_COND}(\.w)?$")),
]
_RV_CLASSES = [
    ("call", re.compile(r"^(jal|jalr|c\.jal|c\.jalr|call|tail|ret|c\.jr|jr|j|c\.j)$")),
    ("branch", re.compile(r"^(c\.)?(beq|bne|blt|bge|bltu|bgeu|beqz|bnez|blez|bgez|bltz|bgtz|bgt|ble|bgtu|bleu)$")),
    ("load", re.compile(r"^(c\.)?(lb|lh|lw|lbu|lhu|lwsp|lr\.w)$")),
    ("store", re.compile(r"^(c\.)?(sb|sh|sw|swsp|sc\.w)$")),
    ("div", re.compile(r"^(div|divu|rem|remu)$")),
    ("mul", re.compile(r"^(mul|mulh|mulhsu|mulhu)$")),
]


@dataclass
class Insn:
    pc: int
    size: int
    mnemonic: str
    operands: str
    klass: str


def classify(mnemonic: str, operands: str, arch: str = "arm") -> str:
    m = mnemonic.lower()
    for klass, rx in (_RV_CLASSES if arch == "riscv" else _ARM_CLASSES):
        if rx.match(m):
            if klass == "call" and arch == "riscv" and m in ("j", "c.j", "jr", "c.jr", "ret", "tail"):
                return "jump"  # unconditional jump without link
            if klass == "call" and arch == "arm" and m.startswith("blx") and not operands.strip().startswith("#"):
                return "call"
            return klass
    if arch == "arm" and re.search(r"\bpc\b", operands.split(",")[0] if operands else ""):
        return "pc_write"  # mov pc / add pc: a data-processing instruction that branches
    return "alu"


_INSN_RE = re.compile(r"^0x([0-9a-f]+):\s+((?:[0-9a-f]{4,8}\s?)+?)\s{2,}(\S+)\s*(.*)$")
_TRACE_RE = re.compile(r"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")


def parse_insn(line: str, arch: str) -> Insn | None:
    m = _INSN_RE.match(line.strip())
    if not m:
        return None
    pc, hexes, mnem, ops = int(m.group(1), 16), m.group(2).split(), m.group(3), m.group(4)
    size = sum(len(h) // 2 for h in hexes)
    return Insn(pc, size, mnem, ops, classify(mnem, ops, arch))


# --- pricing ------------------------------------------------------------------------------------------

def _regs(operands: str) -> int:
    m = re.search(r"\{([^}]*)\}", operands)
    if not m:
        return 1
    n = 0
    for part in m.group(1).split(","):
        part = part.strip()
        if "-" in part:
            a, b = (int(x.strip().lstrip("r")) if x.strip().lstrip("r").isdigit() else 0 for x in part.split("-"))
            n += max(1, b - a + 1)
        elif part:
            n += 1
    return n


def insn_cycles(insn: Insn, table: CycleTable, taken: bool, backward: bool, prev_mem: bool, wait_states: int) -> int:
    c, k = table.cost, insn.klass
    refill = (c.get("backward_refill", c["refill"]) if backward else c["refill"]) + wait_states
    if k in ("load", "store"):
        base = c[f"{k}_pipelined"] if prev_mem else c[k]
        writes_pc = k == "load" and re.match(r"^\s*pc\b", insn.operands or "")
        return base + (wait_states if k == "load" else 0) + (refill if writes_pc else 0)
    if k in ("load_double", "store_double"):
        return c["ldm_base"] + 2 * c["per_reg"] + (wait_states if k == "load_double" else 0)
    if k == "multi":
        n = _regs(insn.operands)
        loads = insn.mnemonic.startswith(("pop", "ldm"))
        cyc = c["ldm_base"] + n * c["per_reg"] + (wait_states if loads else 0)
        if loads and re.search(r"\bpc\b", insn.operands):
            cyc += c.get("pop_pc_extra", refill)
        return cyc
    if k in ("branch", "cbz", "tb"):
        base = c["branch"] + (c["load"] if k == "tb" else 0)
        return base + (refill if taken else 0)
    if k == "jump":
        return c["branch"] + refill
    if k == "call":
        return c["call"] + wait_states
    if k == "pc_write":
        return c["alu"] + refill
    if k == "loop_end":
        return c["loop_end"] + (wait_states if taken else 0)
    return c[k] if k in c else c["alu"]


@dataclass
class Profile:
    """The executed instructions of one measured call: the blocks QEMU ran, in order. A block is keyed by its
    address range (start, end): QEMU may translate the same start address again with another length."""
    arch: str
    blocks: dict            # (start, end) -> list[Insn] (that translation's instructions)
    sequence: list          # executed blocks' (start, end), in order (one measured call)
    after: int | None = None  # the pc executed right after the call (in its caller): prices the return

    def instructions(self) -> int:
        return sum(len(self.blocks[key]) for key in self.sequence)

    def class_counts(self) -> dict:
        out: dict[str, int] = {}
        for key in self.sequence:
            for i in self.blocks[key]:
                out[i.klass] = out.get(i.klass, 0) + 1
        return out


def estimate(profile: Profile, table: CycleTable, wait_states: int = 0) -> int:
    """Cycles of the profiled call on ``table``'s core (an estimate; see the module's docstring)."""
    total, prev_mem = 0, False
    seq = profile.sequence
    cache: dict[tuple, int] = {}
    for n, block_key in enumerate(seq):
        block = profile.blocks[block_key]
        nxt = seq[n + 1][0] if n + 1 < len(seq) else profile.after
        last = block[-1]
        taken = nxt is not None and nxt != last.pc + last.size
        backward = nxt is not None and nxt <= last.pc
        key = (block_key, taken, backward, prev_mem)
        if key not in cache:
            cyc, pm = 0, prev_mem
            for j, insn in enumerate(block):
                is_last = j == len(block) - 1
                cyc += insn_cycles(insn, table, taken and is_last, backward and is_last, pm, wait_states)
                pm = insn.klass in ("load", "store")
            cache[key] = cyc
        total += cache[key]
        prev_mem = last.klass in ("load", "store")
    return total


def _redecode(block: list, decoded: dict) -> list:
    """The instructions of ``block``'s address range, from the disassembly."""
    from edgernn.errors import UserError

    start, end = block[0].pc, block[-1].pc + block[-1].size
    out, pc = [], start
    while pc < end:
        if pc not in decoded:
            raise UserError(f"the disassembly has no instruction at 0x{pc:08x} (block 0x{start:08x})")
        out.append(decoded[pc])
        pc += decoded[pc].size
    return out


# --- profiling one call under QEMU ----------------------------------------------------------------------

MAX_TRACE_BLOCKS = 50_000_000  # executed blocks read before giving up (a hang, or a model far beyond any board)


def symbol_ranges(elf, nm: str) -> dict:
    """name -> (start, end) of the ELF's function symbols (Thumb bit cleared)."""
    import subprocess

    out = subprocess.run([nm, "-S", str(elf)], capture_output=True, text=True, check=True).stdout
    ranges = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tT":
            start = int(parts[0], 16) & ~1
            ranges[parts[3]] = (start, start + int(parts[1], 16))
    return ranges


_OBJDUMP_RE = re.compile(r"^\s*([0-9a-f]+):\t([0-9a-f ]+?)\s*\t(\S+)(?:\t([^\t]*))?")


def objdump_instructions(text: str, arch: str) -> dict:
    """pc -> Insn from ``objdump -d`` output. QEMU's own disassembler does not know Helium (it prints an MVE
    instruction as ``.byte`` plus a bogus 16-bit one), so the blocks' address ranges come from QEMU's log and
    their instructions from objdump, told the architecture (``-marmv8.1-m.main``)."""
    out = {}
    for line in text.splitlines():
        m = _OBJDUMP_RE.match(line)
        if m:
            pc, hexes = int(m.group(1), 16), m.group(2).split()
            size = sum(len(h) // 2 for h in hexes)
            ops = (m.group(4) or "").strip()
            out[pc] = Insn(pc, size, m.group(3), ops, classify(m.group(3), ops, arch))
    return out


def disassemble(elf, objdump: str, arch: str) -> dict:
    import subprocess

    args = [objdump, "-d", "-w", str(elf)]
    if arch == "arm":
        args[1:1] = ["-marmv8.1-m.main", "-M", "force-thumb"]
    return objdump_instructions(subprocess.run(args, capture_output=True, text=True, check=True).stdout, arch)


def profile_call(lines, arch: str, entry: int, caller: tuple[int, int], decoded: dict | None = None) -> Profile:
    """From a QEMU ``in_asm,exec,nochain`` log: the blocks executed from the first entry into ``entry`` until
    the first block back inside ``caller`` (start, end). ``decoded`` (pc -> Insn, from ``disassemble``):
    each block's instructions are read there over the block's address range instead of from QEMU's log."""
    from edgernn.errors import UserError

    blocks: dict[int, list] = {}   # start -> the latest translation at that address
    current: list | None = None
    sequence: list[tuple] = []
    ranges: dict[tuple, list] = {}
    inside, after = False, None
    for line in lines:
        if line.startswith("IN:"):
            current = []
            continue
        if current is not None:
            if line.startswith("Priv:"):  # RISC-V: the privilege level the block was translated for
                continue
            insn = parse_insn(line, arch)
            if insn is not None:
                current.append(insn)
                continue
            if current:
                blocks[current[0].pc] = current
            current = None
        m = _TRACE_RE.match(line)
        if not m:
            continue
        pc = int(m.group(1), 16)
        if not inside:
            inside = pc == entry
        elif caller[0] <= pc < caller[1]:
            after = pc
            break
        if inside:
            if pc not in blocks:
                raise UserError(f"QEMU's log has no instructions for the block at 0x{pc:08x}")
            block = blocks[pc]
            key = (pc, block[-1].pc + block[-1].size)
            ranges.setdefault(key, block)
            sequence.append(key)
            if len(sequence) > MAX_TRACE_BLOCKS:
                raise UserError("the profiled call did not return within "
                                f"{MAX_TRACE_BLOCKS:,} blocks")
    if not inside or not sequence:
        raise UserError("the profiled call never ran (no block at its entry in QEMU's log)")
    snapshot = ranges
    if decoded is not None:
        snapshot = {key: _redecode(block, decoded) for key, block in ranges.items()}
    return Profile(arch=arch, blocks=snapshot, sequence=sequence, after=after)


def basis_words(board) -> str:
    """The estimate's basis, in words, for reports."""
    table = TABLES[board.timing]
    memory = (f"{board.flash_wait_states} flash wait state(s) on every fetch refill and load" if board.flash_wait_states
              else "zero-wait-state memory")
    return (f"est. cycles = QEMU's executed instructions of one inference priced per instruction class "
            f"({table.basis}; {memory}); est. ms at {board.clock_hz / 1e6:.0f} MHz ({board.stands_for})")


def estimate_inference(elf, board, nm: str, objdump: str, entry_symbol: str = "edgernn_model_invoke",
                       caller_symbol: str = "main") -> dict:
    """Profile one call of ``entry_symbol`` (the first test vector's inference) in QEMU and price it with the
    board's table: {estimated_cycles, profiled_instructions, class_counts, cycle_basis}."""
    from edgernn.errors import UserError
    from edgernn.targets import qemu

    ranges = symbol_ranges(elf, nm)
    if entry_symbol not in ranges or caller_symbol not in ranges:
        raise UserError(f"{elf}: no {entry_symbol} or {caller_symbol} symbol to profile")
    # the calibration loop (2 million instructions before the first inference) is left out of the log
    with qemu.exec_trace(elf, board.name, skip=ranges.get("ern_spin")) as lines:
        prof = profile_call(lines, board.arch, ranges[entry_symbol][0], ranges[caller_symbol],
                            decoded=disassemble(elf, objdump, board.arch))
    table = TABLES[board.timing]
    cycles = estimate(prof, table, board.flash_wait_states)
    return {"estimated_cycles": cycles, "profiled_instructions": prof.instructions(),
            "class_counts": prof.class_counts(), "cycle_table": table.core,
            "flash_wait_states": board.flash_wait_states, "cycle_basis": basis_words(board)}
