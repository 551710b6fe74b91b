"""TFLite tensor types by name: the one table of type codes, NumPy dtypes, C types and sizes.

The codes are the flatbuffer schema's ``TensorType`` values (a test checks them against the
schema TensorFlow ships); nothing else in edgernn spells a type as a number.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TensorType:
    code: int
    name: str
    size: int                 # bytes per element
    ctype: str | None = None  # the C type the generated code stores it as; None: not supported in C


TYPES = {t.code: t for t in (
    TensorType(0, "float32", 4),
    TensorType(1, "float16", 2),
    TensorType(2, "int32", 4, "int32_t"),
    TensorType(3, "uint8", 1, "uint8_t"),
    TensorType(4, "int64", 8),
    TensorType(6, "bool", 1, "uint8_t"),
    TensorType(7, "int16", 2, "int16_t"),
    TensorType(9, "int8", 1, "int8_t"),
)}
BY_NAME = {t.name: t for t in TYPES.values()}

FLOAT32, FLOAT16, INT32, UINT8, INT64, BOOL, INT16, INT8 = (
    BY_NAME[n].code for n in ("float32", "float16", "int32", "uint8", "int64", "bool", "int16", "int8"))


def type_name(code: int) -> str:
    t = TYPES.get(code)
    return t.name if t else f"type {code}"


def code_of(name: str) -> int:
    return BY_NAME[name].code
