"""Host side of the serial benchmark protocol (firmware/app/serial.c), over pyserial.

Works the same against a real board (``--port /dev/ttyACM0``) and against QEMU's emulated UART
(``-serial pty``). Every reply is parsed strictly: a line that is not part of the protocol, an
``m-error-[...]`` reply or a missing ``m-ready`` is an error, never a result.
"""
from __future__ import annotations

import re
import time

import numpy as np

from edgernn.errors import UserError

READY = "m-ready"


class SerialBoard:
    def __init__(self, port: str, baud: int = 115200, timeout: float = 30.0, connection=None):
        import serial

        try:
            self.conn = connection or serial.serial_for_url(port, baudrate=baud, timeout=0.2)
        except (serial.SerialException, ValueError) as e:
            raise UserError(f"cannot open serial port {port}: {e}") from None
        self.port, self.timeout = port, timeout
        self._partial = b""

    def close(self) -> None:
        self.conn.close()

    def _next_line(self, until: float) -> str | None:
        """One line, or None if none is complete by ``until`` (a partial line is kept for later)."""
        while time.monotonic() < until:
            c = self.conn.read(1)
            if not c:
                continue
            if c == b"\n":
                line, self._partial = self._partial, b""
                return line.decode("ascii", errors="replace").strip()
            self._partial += c
        return None

    def _read_line(self, deadline: float) -> str:
        line = self._next_line(deadline)
        if line is None:
            raise UserError(f"{self.port}: no reply within {self.timeout:.0f} s (got {self._partial[:80]!r})")
        return line

    def wait_ready(self) -> None:
        """Wait until the board takes commands.

        The board prints m-ready once at boot, but that banner cannot be relied on: a real board may
        have booted before the port was opened, and QEMU may drop or delay a pty's output until the
        host connects. So ask (any command ends with m-ready) and wait for that answer, skipping a
        banner. Only if a banner shows the board was just starting, and no answer follows within
        2 s, is the request taken as lost and sent again (sending it twice would leave an extra
        reply that the next command would read as its own).
        """
        deadline = time.monotonic() + self.timeout
        self._send("name")
        answered, retry_at = False, None
        while True:
            line = self._next_line(deadline if retry_at is None else min(deadline, retry_at))
            if line is None:
                if time.monotonic() >= deadline:
                    raise UserError(f"{self.port}: no reply within {self.timeout:.0f} s (is the serial app running?)")
                self._send("name")
                retry_at = None
            elif line.startswith("m-name-"):
                answered = True
            elif line == READY and answered:
                return
            elif line == READY:  # the boot banner
                retry_at = time.monotonic() + 2.0

    def _send(self, cmd: str) -> None:
        self.conn.write(cmd.encode("ascii") + b"%")
        self.conn.flush()

    def command(self, cmd: str) -> list[str]:
        """Send one command; the ``m-`` reply lines before ``m-ready``."""
        self._send(cmd)
        deadline = time.monotonic() + self.timeout
        lines = []
        while True:
            line = self._read_line(deadline)
            if line == READY:
                return lines
            if not line.startswith("m-"):
                raise UserError(f"{self.port}: malformed reply to {cmd!r}: {line[:120]!r}")
            if line.startswith("m-error-"):
                raise UserError(f"{self.port}: board rejected {cmd!r}: {line}")
            lines.append(line)

    def _field(self, lines: list[str], name: str, pattern: str) -> str:
        for line in lines:
            m = re.fullmatch(rf"m-{name}-\[({pattern})\]", line)
            if m:
                return m.group(1)
        raise UserError(f"{self.port}: reply lacks a well-formed m-{name}-[...] line: {lines}")

    def name(self) -> str:
        lines = self.command("name")
        if len(lines) != 1 or not lines[0].startswith("m-name-"):
            raise UserError(f"{self.port}: malformed name reply {lines}")
        return lines[0][len("m-name-"):]

    def profile(self) -> dict:
        sizes = self._field(self.command("profile"), "model", r"in=\d+,out=\d+")
        n_in, n_out = (int(v.split("=")[1]) for v in sizes.split(","))
        return {"input_size": n_in, "output_size": n_out}

    def load(self, data: np.ndarray, chunk: int = 64) -> None:
        raw = np.asarray(data, dtype=np.int8).reshape(-1).view(np.uint8)
        lines = self.command(f"db load {raw.size}")
        if lines != [f"m-[Expecting {raw.size} bytes]"]:
            raise UserError(f"{self.port}: malformed db load reply {lines}")
        for i in range(0, raw.size, chunk):
            lines = self.command("db " + raw[i:i + chunk].tobytes().hex())
        if lines != ["m-load-done"]:
            raise UserError(f"{self.port}: input not acknowledged ({lines})")

    def infer(self, runs: int = 1, warmup: int = 0) -> dict:
        lines = self.command(f"infer {runs} {warmup}")
        return {"instructions_per_inference": int(self._field(lines, "instructions", r"\d+")),
                "cycles_per_inference": int(self._field(lines, "cycles", r"\d+")),
                "dwt_cycles_per_inference": (int(self._field(lines, "dwt-cycles", r"\d+"))
                                             if any(line.startswith("m-dwt-cycles-") for line in lines) else None),
                "ticks": int(self._field(lines, "ticks", r"\d+")),
                "calibration": self._field(lines, "calib", r"\d+/\d+")}

    def results(self) -> np.ndarray:
        values = self._field(self.command("results"), "results", r"-?\d+(?:,-?\d+)*")
        return np.array([int(v) for v in values.split(",")], dtype=np.int8)
