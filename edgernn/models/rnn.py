"""Vanilla recurrent cell (Elman RNN, tanh): Keras layer and cost formulas.

h_t = tanh(x_t W + h_{t-1} U + b): the cheapest cell (one gate block), and the one that forgets
fastest; `edgernn compare` measures both claims.
"""
from __future__ import annotations

GATES = 1


def layer(keras, units: int, return_sequences: bool, name: str, **kw):
    # tanh is SimpleRNN's default and the activation the int8 graph (TANH op) implements.
    return keras.layers.SimpleRNN(units, return_sequences=return_sequences, name=name, **kw)


def biases(units: int) -> int:
    """Bias values: one per unit, U (SimpleRNN has a single bias vector)."""
    return units


def params(inputs: int, units: int) -> int:
    """kernel F*U + recurrent U*U + the bias."""
    return GATES * (inputs * units + units * units) + biases(units)


def macs_per_step(inputs: int, units: int) -> int:
    """Matrix products only: U*(F + U). The element-wise add and tanh (~2U) are not counted."""
    return GATES * units * (inputs + units)
