"""Boards edgernn builds firmware for: the QEMU machine, CPU flags, memory map, nominal clock.

``clock_hz`` is the clock of the real part the board stands for, used only for latency
*estimates*: QEMU does not model cycles. ``cycle_table`` names the core's cycle table in
targets/cycles.py (the estimate prices QEMU's executed instructions with it) and
``flash_wait_states`` the wait states of instruction fetches and loads from flash on that part
(0: zero-wait-state memory, as the TRMs' tables assume; set it for a part at a clock whose flash needs
them and that has no cache or flash accelerator in front).
"""
from __future__ import annotations

from dataclasses import dataclass

from edgernn.errors import UserError


@dataclass(frozen=True, kw_only=True)
class Board:
    name: str
    qemu_machine: str
    cpu: str                 # -mcpu
    arch_flags: tuple        # extra gcc flags (float ABI, ...)
    dsp: bool                # has the DSP extension (SMLAD, SXTB16)
    mve: bool = False        # has Helium (M-profile vector extension, integer): the MVE kernels
    flash_origin: int
    flash_bytes: int
    ram_origin: int
    ram_bytes: int
    clock_hz: int
    stands_for: str
    uart: str | None = None          # serial app driver: "cmsdk" (mps2), "stm32" (USART), "nrf51"; None: none
    uart_base: int = 0
    flashing: str = ""               # how a real board of this kind is flashed (see flash.py)
    uart_qemu_index: int = 0         # which -serial of the QEMU machine is that UART
    cycle_table: str = ""            # targets/cycles.py TABLES key; "" = the -mcpu core's
    flash_wait_states: int = 0       # added to every fetch refill and load in the cycle estimate
    arch: str = "arm"                # "arm" (Thumb, arm-none-eabi) or "riscv" (riscv64-unknown-elf)

    @property
    def timing(self) -> str:
        """The key of this board's cycle table (targets/cycles.py)."""
        return self.cycle_table or self.cpu

    @property
    def core_name(self) -> str:
        return self.cpu.replace("cortex-m", "Cortex-M").replace("rv32imac", "RV32IMAC")


_MPS2 = dict(flash_origin=0x00000000, flash_bytes=4 << 20, ram_origin=0x20000000, ram_bytes=4 << 20, flashing="mps2")
_SOFT = ("-mfloat-abi=soft",)

BOARDS = {b.name: b for b in (
    Board(name="mps2-an386", qemu_machine="mps2-an386", cpu="cortex-m4", arch_flags=_SOFT, dsp=True, **_MPS2,
          clock_hz=168_000_000, stands_for="Cortex-M4F, e.g. STM32F407 at 168 MHz", uart="cmsdk", uart_base=0x40004000),
    Board(name="mps2-an500", qemu_machine="mps2-an500", cpu="cortex-m7", arch_flags=_SOFT, dsp=True, **_MPS2,
          clock_hz=216_000_000, stands_for="Cortex-M7, e.g. STM32F746 at 216 MHz", uart="cmsdk", uart_base=0x40004000),
    Board(name="mps2-an505", qemu_machine="mps2-an505", cpu="cortex-m33", arch_flags=_SOFT, dsp=True,
          flash_origin=0x10000000, flash_bytes=4 << 20, ram_origin=0x38000000, ram_bytes=2 << 20, flashing="mps2",
          clock_hz=110_000_000, stands_for="Cortex-M33, e.g. STM32L552 at 110 MHz"),
    Board(name="microbit", qemu_machine="microbit", cpu="cortex-m0", arch_flags=_SOFT, dsp=False,
          flash_origin=0x00000000, flash_bytes=256 << 10, ram_origin=0x20000000, ram_bytes=16 << 10,
          clock_hz=133_000_000, stands_for="Cortex-M0+, e.g. RP2040 at 133 MHz", cycle_table="cortex-m0plus",
          uart="nrf51", uart_base=0x40002000, flashing="microbit"),
    # Arm Corstone-300 FPGA image (Cortex-M55 with Helium): code in ITCM at 0, data in DTCM at 0x20000000
    # (QEMU 7.2). softfp: Helium integer instructions with the soft-float calling convention of libgcc.
    Board(name="mps3-an547", qemu_machine="mps3-an547", cpu="cortex-m55", arch_flags=("-mfloat-abi=softfp",),
          dsp=True, mve=True, flash_origin=0x00000000, flash_bytes=512 << 10, ram_origin=0x20000000,
          ram_bytes=512 << 10, clock_hz=400_000_000, stands_for="Cortex-M55 with Helium, e.g. Alif Ensemble E3 at 400 MHz",
          flashing="mps2"),
    # A real part's memory map: STM32F4 flash at 0x08000000 (aliased at 0 on boot), SRAM at 0x20000000,
    # USART1 at 0x40011000. QEMU emulates it as the Netduino Plus 2 (STM32F405RG).
    Board(name="stm32f4", qemu_machine="netduinoplus2", cpu="cortex-m4", arch_flags=_SOFT, dsp=True,
          flash_origin=0x08000000, flash_bytes=1 << 20, ram_origin=0x20000000, ram_bytes=128 << 10,
          clock_hz=168_000_000, stands_for="STM32F405/F407 (Cortex-M4F) at 168 MHz",
          uart="stm32", uart_base=0x40011000, flashing="stm32f4"),
    # The same part family with the serial app on USART2 (PA2/PA3): the ST-LINK virtual COM port of
    # Nucleo-64 boards (F401RE, F411RE, F446RE). QEMU's second -serial is USART2.
    Board(name="stm32f4-nucleo", qemu_machine="netduinoplus2", cpu="cortex-m4", arch_flags=_SOFT, dsp=True,
          flash_origin=0x08000000, flash_bytes=1 << 20, ram_origin=0x20000000, ram_bytes=96 << 10,
          clock_hz=84_000_000, stands_for="STM32F401/F411 Nucleo-64 (Cortex-M4F) at 84 MHz",
          uart="stm32", uart_base=0x40004400, flashing="stm32f4", uart_qemu_index=1),
    # RISC-V: QEMU's sifive_e (the HiFive1's FE310, E31 core): reset jumps to the XIP flash at 0x20400000,
    # 16 KB data RAM (DTIM) at 0x80000000. The portable reference kernels (no DSP/Helium), rv32imac.
    Board(name="sifive_e", qemu_machine="sifive_e", cpu="rv32imac", arch_flags=("--specs=picolibc.specs",),
          dsp=False, arch="riscv",
          flash_origin=0x20400000, flash_bytes=4 << 20, ram_origin=0x80000000, ram_bytes=16 << 10,
          clock_hz=320_000_000, stands_for="RV32IMAC, SiFive FE310 (E31 core) at 320 MHz; ESP32-C3/GD32VF103 class",
          flashing=""),
)}


def boards_help() -> str:
    """One line for --help: every board with its core (and QEMU machine where the names differ)."""
    def core(b: Board) -> str:
        qemu = f", QEMU {b.qemu_machine}" if b.qemu_machine != b.name else ""
        return f"{b.name} ({b.core_name}{qemu})"
    return ", ".join(core(b) for b in BOARDS.values())


def get_board(name: str) -> Board:
    if name not in BOARDS:
        raise UserError(f"unknown board {name!r} (choose from {', '.join(BOARDS)})")
    return BOARDS[name]


def linker_script(board: Board, stack_bytes: int = 8192) -> str:
    return f"""/* Generated by edgernn for {board.name} ({board.stands_for}). */
MEMORY {{
  FLASH (rx)  : ORIGIN = 0x{board.flash_origin:08x}, LENGTH = {board.flash_bytes}
  RAM   (rwx) : ORIGIN = 0x{board.ram_origin:08x}, LENGTH = {board.ram_bytes}
}}
ENTRY(reset_handler)
SECTIONS {{
  .isr_vector : {{ KEEP(*(.isr_vector)) }} > FLASH
  .text : {{ *(.text*) *(.glue_7*) *(.eh_frame*) }} > FLASH
  .rodata : {{ . = ALIGN(4); *(.rodata*) . = ALIGN(4); }} > FLASH
  .ARM.exidx : {{ *(.ARM.exidx*) }} > FLASH
  _data_load = LOADADDR(.data);
  .data : {{ . = ALIGN(4); _data_start = .; *(.data*) . = ALIGN(4); _data_end = .; }} > RAM AT > FLASH
  .bss (NOLOAD) : {{ . = ALIGN(4); _bss_start = .; *(.bss*) *(COMMON) . = ALIGN(4); _bss_end = .; }} > RAM
  .stack (NOLOAD) : {{ . = ALIGN(8); _stack_bottom = .; . += {stack_bytes}; _stack_top = .; }} > RAM
}}
"""
