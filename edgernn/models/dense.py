"""Dense head: the whole feature window flattened, then ``layers`` ReLU layers of ``units`` (each
followed by dropout when training asks for it), then the softmax classes.

For windows whose steps already carry context, such as the speech-embedding front end's [16, 96]
(each embedding sees 0.78 s of audio): no recurrence is needed to read them. This is the head of the
experiment in issue 25 (2 x 128, dropout 0.3, standardized inputs, class weights). It is a host model
only (``train --arch dense`` needs ``--features embedding``): the int8 -> C path is for the recurrent
cells.
"""
from __future__ import annotations

FEATURES = ("embedding",)   # the front ends a dense head may be trained on


def layers(keras, x, units: int, layers: int, dropout: float, name: str = "dense"):
    """Flatten -> (Dense(units, relu) -> Dropout) x layers."""
    x = keras.layers.Flatten(name="flatten")(x)
    for i in range(layers):
        x = keras.layers.Dense(units, activation="relu", name=f"{name}_{i}")(x)
        if dropout > 0:
            x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    return x


def dims(inputs: int, units: int, layers: int) -> list[tuple[int, int]]:
    """(inputs, outputs) of every hidden layer; ``inputs`` is steps x features (the flattened window)."""
    return [(inputs if i == 0 else units, units) for i in range(layers)]


def params(inputs: int, units: int, layers: int) -> int:
    """Weights and biases of the hidden layers (the class layer is counted by the caller)."""
    return sum(i * o + o for i, o in dims(inputs, units, layers))


def macs(inputs: int, units: int, layers: int) -> int:
    """Matrix products of the hidden layers, once per window."""
    return sum(i * o for i, o in dims(inputs, units, layers))
