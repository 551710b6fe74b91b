"""Export stage: a run (or a .tflite) -> deployable files. ``FORMATS`` maps --format to its function."""
from __future__ import annotations

from pathlib import Path

from edgernn import defaults as D
from edgernn.errors import UserError


def _onnx(source, out=None, int8=False):
    from edgernn.export.onnx import export_onnx

    return export_onnx(source, int8=int8, out=out)


def _c_array(source, out=None, int8=False):
    from edgernn.export.c_array import to_c_array

    source = Path(source)
    model = source / "model_int8.tflite" if source.is_dir() else source
    if not model.is_file():
        raise UserError(f"{model}: no such file (run `edgernn quantize {source}` first)")
    return to_c_array(model, out)


def _c(source, out=None, int8=False):
    from edgernn.export.codegen import generate_c

    source = Path(source)
    model = source / "model_int8.tflite" if source.is_dir() else source
    if not model.is_file():
        raise UserError(f"{model}: no such file (run `edgernn quantize {source}` first)")
    return generate_c(model, out or model.parent / f"{model.stem}_c")


FORMATS = {"onnx": _onnx, "c-array": _c_array, "c": _c}


def export(source, format: str = D.EXPORT_FORMAT, out=None, int8: bool = False) -> Path:
    if format not in FORMATS:
        raise UserError(f"unknown format {format!r} (choose from {', '.join(FORMATS)})")
    if out is not None:
        from edgernn.io import check_out

        source = Path(source)
        read = [source / n for n in ("model.keras", "config.json", "model_int8.tflite")] if source.is_dir() else [source]
        check_out(out, "file" if format == "onnx" else "folder", inputs=read)  # c and c-array write into a folder
    return FORMATS[format](source, out=out, int8=int8)
