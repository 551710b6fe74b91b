"""LSTM cell: Keras layer and cost formulas (gates i, f, c, o)."""
from __future__ import annotations

GATES = 4


def layer(keras, units: int, return_sequences: bool, name: str, **kw):
    # Default activations (tanh / sigmoid) keep the TFLite conversion fused.
    return keras.layers.LSTM(units, return_sequences=return_sequences, name=name, **kw)


def biases(units: int) -> int:
    """Bias values: one per gate unit, 4U."""
    return GATES * units


def params(inputs: int, units: int) -> int:
    """kernel F*4U + recurrent U*4U + the biases."""
    return GATES * (inputs * units + units * units) + biases(units)


def macs_per_step(inputs: int, units: int) -> int:
    """Matrix products only: 4U*(F + U). Element-wise gate maths (~4U) is not counted."""
    return GATES * units * (inputs + units)
