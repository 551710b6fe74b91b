"""Atomic file and folder writes, and the JSON records every pipeline step leaves.

Nothing is half-written on disk: files go to a temporary name in the same folder and are
renamed into place; folders (run folders, datasets) are built under a temporary name and
renamed when complete, so an interrupted step leaves nothing that looks finished.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from edgernn.errors import UserError
from edgernn.json_text import JsonRefusal, parse_json_bytes
from edgernn.model_gate import gate_keras_zip


def json_default(obj: Any) -> Any:
    """What json.dumps writes for NumPy values and paths."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sha256_file(path: str | os.PathLike) -> str:
    """The sha256 hex digest of a file, read in 1 MiB blocks (pinned wheels and packages are tens of MB)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    path = Path(path)
    _check_not_special(path, "output")  # never replace a device, FIFO or symlink, whoever calls
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give normal permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, default=json_default) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: file not found")
    data = read_user_file(path, "JSON file", MAX_JSON_BYTES)
    try:
        return parse_json_bytes(data)
    except JsonRefusal as e:
        raise UserError(f"{path}: not valid JSON (the file {e.reason})") from None


# Files a run folder owns: what `train` (and `prune`) write there. Later steps add artifacts beside them
# (model_int8.tflite, quantize_int8.json, ...) but never replace these (docs/design/hardening-outputs.md).
RUN_OWNED = ("model.keras", "config.json", "metrics.json", "history.json", "train.json", "prune.json",
             "training_curve.png")
NAME_MAX = 255       # bytes per path component on Linux file systems
PATH_MAX = 4096
NAME_MARGIN = 40     # atomic writes add ".<name>.<random>.tmp" / ".partial" around a name


def check_out(path: str | os.PathLike, kind: str = "file", overwrite: bool = True, option: str = "--out",
              inputs=(), replace: bool = False) -> Path:
    """The one output check, run before any work: every command that writes calls it.

    Refuses: an empty or over-long name; a symlink, device, FIFO or socket as the target; the wrong kind
    (a folder where a file goes, or the reverse); a file a run folder owns (``RUN_OWNED``); an output equal
    to, inside, or containing any of ``inputs`` (the files and folders the command reads); a folder that
    cannot be written. ``overwrite=False``: the target must not exist. ``replace``: the command replaces
    the folder whole (``atomic_dir``), allowed only for folders edgernn's own mark says it made."""
    path = Path(path)
    if str(path) == "" or "\0" in str(path):
        raise UserError(f"{option}: empty or invalid path")
    _check_name_lengths(path, option)
    _check_not_special(path, option)
    check_not_overlapping(path, inputs, option)
    if path.exists():
        if kind == "file" and path.is_dir():
            raise UserError(f"{option} {path}: is a folder; expected a file name")
        if kind == "folder" and not path.is_dir():
            raise UserError(f"{option} {path}: exists and is not a folder")
        if not overwrite:
            raise UserError(f"{path} already exists (pass --overwrite to replace it)")
        if kind == "folder" and replace:
            check_made_by_edgernn(path, option)
    if kind == "file":
        _check_not_run_owned(path, option)
    # the deepest existing ancestor must be a folder we can create entries in
    parent = path.parent if kind == "file" or not path.is_dir() else path
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UserError(f"{option} {path}: {parent} is not a folder")
    try:  # os.access is not enough (root, read-only mounts): create and drop a temporary file there
        if not os.access(parent, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as e:
        raise UserError(f"{option} {path}: cannot write in {parent} ({e.strerror})") from None
    return path


def _check_name_lengths(path: Path, option: str) -> None:
    """ENAMETOOLONG before any work, with room for the temporary names atomic writes use."""
    if len(os.fsencode(path)) > PATH_MAX - NAME_MARGIN:
        raise UserError(f"{option}: path too long ({len(os.fsencode(path))} bytes; at most {PATH_MAX - NAME_MARGIN})")
    for part in path.parts:
        if len(os.fsencode(part)) > NAME_MAX - NAME_MARGIN:
            raise UserError(f"{option}: name {part[:40]!r}... too long ({len(os.fsencode(part))} bytes; at most "
                            f"{NAME_MAX - NAME_MARGIN})")


def _check_not_special(path: Path, option: str) -> None:
    """A symlink would redirect the write elsewhere; a device or FIFO would be replaced by a regular file
    (as root, ``--out /dev/null`` would replace /dev/null)."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return  # nothing there yet (a file in the way of its folder is reported by check_out)
    except OSError as e:
        raise UserError(f"{option} {path}: cannot access ({e.strerror})") from None
    if stat.S_ISLNK(st.st_mode):
        raise UserError(f"{option} {path}: is a symbolic link; give the real path")
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        raise UserError(f"{option} {path}: is a device, FIFO or socket, not a file or folder")


def _check_not_run_owned(path: Path, option: str) -> None:
    if path.name in RUN_OWNED and (path.parent / "config.json").is_file() and (path.parent / "model.keras").exists():
        raise UserError(f"{option} {path}: {path.name} belongs to the run folder {path.parent}; "
                        "choose another file name")


def check_not_overlapping(path: str | os.PathLike, inputs, option: str = "--out") -> None:
    """Refuse an output equal to, inside, or containing any input (compared after resolving symlinks
    and '..'), so no write or replacement can reach what the command reads."""
    out = Path(os.path.realpath(path))
    for given in inputs:
        if given is None:
            continue
        src = Path(os.path.realpath(given))
        if out == src:
            raise UserError(f"{option} {path}: is the input {given}; choose another output")
        if out.is_relative_to(src):
            raise UserError(f"{option} {path}: is inside the input {given}; choose an output outside it")
        if src.is_relative_to(out):
            raise UserError(f"{option} {path}: contains the input {given}; choose an output that does not")


def inside(folder: str | os.PathLike, name: str) -> Path:
    """``folder / name`` for a file name built from data, checked to stay inside ``folder`` (one plain
    component: no separator, no '..', no leading dot, not over-long)."""
    if (not name or name in (".", "..") or name.startswith(".") or "/" in name or "\\" in name or "\0" in name
            or len(os.fsencode(name)) > NAME_MAX - NAME_MARGIN):
        raise UserError(f"{name[:60]!r}: not a safe file name")
    path = Path(folder) / name
    if Path(os.path.realpath(path)).parent != Path(os.path.realpath(folder)):
        raise UserError(f"{path}: would be written outside {folder}")
    return path


OWNER_MARK = ".edgernn-made"  # written into every folder atomic_dir builds: the record that edgernn made it


def check_made_by_edgernn(folder: str | os.PathLike, option: str = "--out") -> None:
    """``--overwrite`` replaces only folders edgernn made (they hold ``OWNER_MARK``), never a user's."""
    folder = Path(folder)
    try:
        st = os.lstat(folder / OWNER_MARK)
    except OSError:
        st = None
    if st is None or not stat.S_ISREG(st.st_mode) or os.lstat(folder).st_uid != os.getuid():
        raise UserError(f"{option} {folder}: not a folder edgernn made (no {OWNER_MARK} in it); --overwrite "
                        "replaces only those. Remove it yourself or choose another output")


PARTIAL_MARK = ".edgernn-partial.json"
STALE_AFTER_SECONDS = 3600  # a folder whose writer we cannot check (another host) counts as stale after this


def mark_partial(folder: Path) -> None:
    """Say who is building ``folder`` (pid, host, boot), so a later run can tell ours-and-abandoned apart."""
    import socket

    (folder / PARTIAL_MARK).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                                   "boot": _boot_id(), "time": _dt.datetime.now().timestamp()}))


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_stale(folder: Path) -> bool:
    """Ours (our mark, our uid, a real folder) and abandoned (its writer is dead, or it is old and unverifiable)."""
    import socket

    try:
        st = os.lstat(folder)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
            return False
        mark = json.loads((folder / PARTIAL_MARK).read_text())
        pid, host, boot, when = int(mark["pid"]), str(mark["host"]), str(mark["boot"]), float(mark["time"])
    except (OSError, ValueError, KeyError, TypeError):
        return False  # not made by edgernn (or still being set up): never touched
    if host == socket.gethostname() and boot == _boot_id():
        return not _pid_alive(pid)
    return _dt.datetime.now().timestamp() - when > STALE_AFTER_SECONDS


def clean_stale_partials(folder: Path, prefix: str = ".") -> list[Path]:
    """Remove ``*.partial`` folders in ``folder`` left by killed edgernn runs: only ours, only stale."""
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for p in entries:
        if p.name.startswith(prefix) and p.name.endswith(".partial") and _is_stale(p):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


@contextlib.contextmanager
def atomic_dir(final: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder next to ``final``; rename it to ``final`` on success.

    On any exception (including KeyboardInterrupt) the temporary folder is removed, so an
    interrupted step never leaves a half-written ``final``. An existing ``final`` is an
    error unless ``overwrite`` is set (then it is replaced only once the new one is complete, and only
    if edgernn made it). The folder gets ``OWNER_MARK``; the old copy goes to a fresh name of our own,
    so no folder edgernn did not make (such as a user's ``.RUN.old``) is ever deleted.
    """
    final = Path(final)
    _check_not_special(final, "output")
    if final.exists() and not overwrite:
        raise UserError(f"{final} already exists (pass --overwrite to replace it)")
    if final.exists():
        check_made_by_edgernn(final, "output")
    final.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_partials(final.parent, prefix=f".{final.name}.")
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        mark_partial(tmp)
        (tmp / OWNER_MARK).write_text(json.dumps({"made_by": "edgernn", "pid": os.getpid()}) + "\n")
        yield tmp
        (tmp / PARTIAL_MARK).unlink(missing_ok=True)
        if final.exists():
            check_made_by_edgernn(final, "output")
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
            os.replace(final, old)  # onto our own empty folder: rename(2) allows that
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def versions() -> dict[str, str]:
    """Versions of the libraries that shape results, for the JSON records."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("edgernn", "tensorflow", "tf-keras", "tensorflow-model-optimization",
                 "ai-edge-litert", "tflite-micro", "onnx", "tf2onnx", "onnxruntime", "numpy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def record(step: str, inputs: dict, params: dict, outputs: dict | None = None,
           metrics: dict | None = None) -> dict:
    """The JSON record a pipeline step writes beside its artifacts."""
    return {
        "step": step,
        "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "inputs": inputs,
        "params": params,
        "outputs": outputs or {},
        "metrics": metrics or {},
        "versions": versions(),
    }


# --- reading user files (every user file is treated as hostile) ---
MAX_MODEL_BYTES = 512 * 1024 * 1024      # far above any model edgernn makes; bounds a hostile file
MAX_UNPACKED_BYTES = 2 * 1024 * 1024 * 1024  # a zip (.keras, .npz) may not unpack to more than this
MAX_JSON_BYTES = 256 * 1024 * 1024
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def check_regular_file(path: str | os.PathLike, what: str = "file", max_bytes: int | None = None) -> Path:
    """``path`` if it is an existing regular file (not a FIFO, device or folder) within ``max_bytes``.

    ``stat`` never blocks, so a FIFO named ``*.wav`` is refused instead of hanging the reader.
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError as e:
        raise UserError(f"{path}: cannot access {what} ({e.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise UserError(f"{path}: {kind}; expected a {what}")
    if max_bytes is not None and st.st_size > max_bytes:
        raise UserError(f"{path}: {st.st_size} bytes is larger than the {max_bytes} allowed for a {what}")
    return path


def read_user_file(path: str | os.PathLike, what: str = "file", max_bytes: int = MAX_MODEL_BYTES) -> bytes:
    """The bytes of a regular file, bounded; opened without blocking and re-checked on the open descriptor
    (so a file swapped for a FIFO after the first check cannot hang us either)."""
    path = check_regular_file(path, what, max_bytes)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise UserError(f"{path}: cannot open {what} ({e.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise UserError(f"{path}: not a regular file; expected a {what}")
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UserError(f"{path}: larger than the {max_bytes} bytes allowed for a {what}")
    return data


def check_zip_bounds(path: Path, data: bytes | None, what: str, max_unpacked: int = MAX_UNPACKED_BYTES,
                     max_members: int = 10_000) -> None:
    """Refuse a zip whose members would unpack to more than ``max_unpacked`` bytes (a zip bomb).

    ``data``: the file's bytes, or None to read the (already checked, regular) file ``path``."""
    import io as _io
    import zipfile

    try:
        with zipfile.ZipFile(_io.BytesIO(data) if data is not None else path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise UserError(f"{path}: not a readable {what} ({str(e)[:100]})") from None
    if len(infos) > max_members:
        raise UserError(f"{path}: {len(infos)} members in the archive; a {what} has far fewer")
    total = sum(i.file_size for i in infos)
    if total > max_unpacked:
        raise UserError(f"{path}: unpacks to {total} bytes, more than the {max_unpacked} allowed for a {what}")


def load_keras_model(path: str | os.PathLike):
    """The one loader for user-supplied Keras models: every load in edgernn goes through here, and through the
    model gate (``edgernn.model_gate``, docs/design/hardening.md) before tf_keras sees a byte of the file.

    tf_keras applies safe_mode (no Lambda bytecode, no unregistered classes) only to a zip file whose name
    ends in ``.keras``; anything else goes to the legacy HDF5/SavedModel loader, which runs code embedded
    in the file. So HDF5 and every other format are refused here, whatever the file is called. The bytes
    are read once; tf_keras loads the gate's own re-written copy of them from a private folder, so the file
    cannot be swapped between check and load, and nothing the gate did not check reaches tf_keras.
    """
    path = Path(path)
    data = read_user_file(path, "Keras model", MAX_MODEL_BYTES)
    if data.startswith(HDF5_MAGIC):
        raise UserError(f"{path}: an HDF5 (.h5) Keras model; edgernn loads only the zip .keras format, because "
                        "the HDF5 loader can run code stored in the file (re-save it with model.save('x.keras'))")
    if not data.startswith(b"PK\x03\x04"):
        raise UserError(f"{path}: not a .keras model (a .keras file is a zip archive); other formats are refused "
                        "because their loaders can run code stored in the file")
    checked = gate_keras_zip(path, data)
    from edgernn.tf import load

    _, keras = load()
    with tempfile.TemporaryDirectory(prefix="edgernn-model-") as tmp:  # mode 0700, ours
        private = Path(tmp) / "model.keras"
        private.write_bytes(checked)
        try:
            return keras.models.load_model(private, compile=False, safe_mode=True)
        except Exception as e:  # noqa: BLE001  (Keras raises many types for bad weights or shapes)
            msg = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
            raise UserError(f"{path}: cannot load Keras model ({msg})") from None
