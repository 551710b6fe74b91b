"""``firmware run`` on any ELF edgernn built: the app is recognized from what the firmware prints.

The bench app (``firmware build``, the default) prints one ``EDGERNN-MCU`` summary line and the
kws app (``firmware build --app kws``) ``EDGERNN-KWS`` lines, so one QEMU run tells them apart:
nobody has to repeat the ``--app`` the ELF was built with. Each app's output is then parsed as
strictly as before (``mcu.parse_output``, ``kws_firmware.parse_kws_output``).
"""
from __future__ import annotations

from pathlib import Path

from edgernn import defaults as D
from edgernn.errors import UserError
from edgernn.targets import kws_firmware, mcu, qemu

APPS = ("bench", "kws")
MARKERS = {"bench": "EDGERNN-MCU", "kws": "EDGERNN-KWS"}  # the prefix of each app's own lines


def default_timeout(app: str) -> float:
    """A hung bench app is stopped after mcu.RUN_TIMEOUT; the kws app, or one not yet known, gets
    kws_firmware.RUN_TIMEOUT (it streams a whole WAV)."""
    return mcu.RUN_TIMEOUT if app == "bench" else kws_firmware.RUN_TIMEOUT


def printed_app(text: str) -> str | None:
    """The app whose lines ``text`` holds ("bench" or "kws"), or None when it holds neither's."""
    found = {app for app, marker in MARKERS.items()
             for line in text.splitlines() if line.strip().startswith(marker)}
    if len(found) > 1:
        raise UserError("the firmware printed the lines of both the bench and the kws app")
    return found.pop() if found else None


def run_any_firmware(elf: str | Path, board: str = D.BOARD, timeout: float | None = None,
                     app: str = D.FIRMWARE_RUN_APP, foreign: bool = False) -> dict:
    """Run ``elf`` in QEMU and parse its output as ``app`` ("bench", "kws"; "auto": the app it
    printed). The result holds "app" beside that app's own figures."""
    if app not in ("auto", *APPS):
        raise UserError(f"unknown app {app!r} (auto, {', '.join(APPS)})")
    text, returncode = qemu.run_semihosted(elf, board, default_timeout(app) if timeout is None else timeout,
                                           allow_foreign=foreign)
    if app == "auto":
        app = printed_app(text)
        if app is None:
            tail = " | ".join(text.strip().splitlines()[-3:]) or "(no output)"
            raise UserError(f"firmware printed no summary of the bench or the kws app (exit status {returncode}): "
                            f"{tail[:300]}")
    r = kws_firmware.parse_kws_output(text, returncode) if app == "kws" else mcu.parse_output(text, returncode)
    r["app"] = app
    return r
