"""The TFLite flatbuffer schema (the object API TensorFlow ships) and op names."""
from __future__ import annotations

import functools

CUSTOM = 32  # BuiltinOperator.CUSTOM


def schema():
    from edgernn.tf import load

    load()  # TensorFlow must be imported through edgernn.tf first (quiet, legacy Keras)
    from tensorflow.lite.python import schema_py_generated as s

    return s


@functools.cache
def _builtin_names() -> dict[int, str]:
    return {v: k for k, v in vars(schema().BuiltinOperator).items() if not k.startswith("_")}


def op_name(code) -> str:
    """The op's name (FULLY_CONNECTED, ...) from its OperatorCode, CUSTOM:<name> for custom ops."""
    builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
    if builtin == CUSTOM:
        return f"CUSTOM:{code.customCode}"
    return _builtin_names().get(builtin, f"BUILTIN_{builtin}")
