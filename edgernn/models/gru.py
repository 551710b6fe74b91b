"""GRU cell: Keras layer and cost formulas (Keras reset_after=True layout: z, r, h gates)."""
from __future__ import annotations

GATES = 3


def layer(keras, units: int, return_sequences: bool, name: str, **kw):
    # reset_after=True is Keras' default and what cuDNN/TFLite-style graphs expect.
    return keras.layers.GRU(units, return_sequences=return_sequences, name=name, **kw)


def biases(units: int) -> int:
    """Bias values: input and recurrent biases (reset_after=True), 2*3U."""
    return 2 * GATES * units


def params(inputs: int, units: int) -> int:
    """kernel F*3U + recurrent U*3U + the biases."""
    return GATES * (inputs * units + units * units) + biases(units)


def macs_per_step(inputs: int, units: int) -> int:
    """Matrix products only: 3U*(F + U). Element-wise gate maths (~5U) is not counted."""
    return GATES * units * (inputs + units)
