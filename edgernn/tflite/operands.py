"""Operand positions of every op edgernn reads, by name: the one table (TFLite's op definitions).

``Operands(op_name, op.inputs).weights`` instead of ``op.inputs[1]``; a missing optional operand
is -1, as in the flatbuffer.
"""
from __future__ import annotations

_LSTM_GATES = ("input", "forget", "cell", "output")

INPUTS: dict[str, tuple[str, ...]] = {
    "FULLY_CONNECTED": ("input", "weights", "bias"),
    "ADD": ("a", "b"),
    "SUB": ("a", "b"),
    "MUL": ("a", "b"),
    "LESS": ("a", "b"),
    "LOGISTIC": ("input",),
    "TANH": ("input",),
    "SOFTMAX": ("input",),
    "RESHAPE": ("input", "shape"),
    "GATHER": ("params", "indices"),
    "SPLIT": ("axis", "input"),
    "STRIDED_SLICE": ("input", "begin", "end", "strides"),
    "BROADCAST_TO": ("input", "shape"),
    # lstm_shared.h: 24 operands in this order
    "UNIDIRECTIONAL_SEQUENCE_LSTM": (
        "input",
        *(f"input_to_{g}_weights" for g in _LSTM_GATES),
        *(f"recurrent_to_{g}_weights" for g in _LSTM_GATES),
        "cell_to_input_weights", "cell_to_forget_weights", "cell_to_output_weights",
        *(f"{g}_gate_bias" for g in _LSTM_GATES),
        "projection_weights", "projection_bias",
        "output_state", "cell_state",
        *(f"{g}_layer_norm_coefficients" for g in _LSTM_GATES),
    ),
}
# Operands that must be present (the rest are optional, -1 when absent).
REQUIRED: dict[str, tuple[str, ...]] = {
    "FULLY_CONNECTED": ("input", "weights"),
    "RESHAPE": ("input",),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": (
        "input", *(f"input_to_{g}_weights" for g in _LSTM_GATES), *(f"recurrent_to_{g}_weights" for g in _LSTM_GATES),
        "output_state", "cell_state"),
}
LSTM_GATES = _LSTM_GATES


def index(op: str, name: str) -> int:
    """Position of operand ``name`` of ``op``."""
    return INPUTS[op].index(name)


class Operands:
    """The input tensor indices of one op, by operand name (-1 for an absent optional operand)."""

    def __init__(self, op: str, inputs):
        self._op, self._names = op, INPUTS[op]
        inputs = [int(i) for i in inputs]
        self._values = dict(zip(self._names, inputs + [-1] * (len(self._names) - len(inputs))))

    def __getattr__(self, name: str) -> int:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"{self._op} has no operand {name!r}") from None

    def __getitem__(self, name: str) -> int:
        return self._values[name]

    def present(self) -> dict[str, int]:
        return {k: v for k, v in self._values.items() if v >= 0}
