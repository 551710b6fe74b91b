"""Model builders: GRU/LSTM/vanilla RNN classifiers and anomaly models, plus size and cost counts.

Builders return tf_keras models. ``export_model`` rebuilds a model with a static batch of 1
(the TFLite converter needs it for recurrent layers) and copies the weights.
"""
from __future__ import annotations

from edgernn.errors import UserError
from edgernn.models import dense, gru, lstm, rnn
from edgernn.records import Architecture

ARCHS = {"gru": gru, "lstm": lstm, "rnn": rnn}   # the recurrent cells (int8 -> C -> firmware)
HEADS = {"dense": dense}                         # feed-forward heads on windows that carry context
ANOMALY_MODELS = ("predictor", "autoencoder")


def cell(arch: str):
    if arch not in ARCHS:
        raise UserError(f"unknown arch {arch!r} (choose from {', '.join(ARCHS)})")
    return ARCHS[arch]


def check_arch(arch: str, features: str | None = None) -> None:
    """A recurrent cell, or a head (``dense``) on the front ends it is made for (``models.dense.FEATURES``)."""
    if arch in HEADS:
        if features not in HEADS[arch].FEATURES:
            raise UserError(f"--arch {arch} is a host head for --features {' or '.join(HEADS[arch].FEATURES)} "
                            f"(the int8 -> C -> firmware path takes gru, lstm or rnn)")
        return
    if arch not in ARCHS:
        raise UserError(f"unknown arch {arch!r} (choose from {', '.join([*ARCHS, *HEADS])})")


def check_size(units: int, layers: int) -> None:
    if not 1 <= units <= 1024:
        raise UserError(f"--units must be between 1 and 1024 (got {units})")
    if not 1 <= layers <= 8:
        raise UserError(f"--layers must be between 1 and 8 (got {layers})")


def build_classifier(arch: str, units: int, layers: int, input_shape, num_classes: int,
                     dropout: float = 0.0, batch_size: int | None = None, unroll: bool = False):
    """Input(T, F) -> RNN x layers (last returns its final state) -> Dense softmax.

    ``unroll``: the recurrent layers are unrolled over the T steps (a training-time speed-up, see
    ``edgernn.train.loop.UNROLL_MAX_STEPS``); the weights are the same list in the same order, so
    they copy one to one into the model built without it, which is the one saved and converted.
    """
    from edgernn.tf import load

    _, keras = load()
    check_size(units, layers)
    x = inp = keras.Input(shape=tuple(input_shape), batch_size=batch_size, name="features")
    if arch in HEADS:
        x = HEADS[arch].layers(keras, x, units, layers, dropout)
        out = keras.layers.Dense(num_classes, activation="softmax", name="classes")(x)
        return keras.Model(inp, out, name=f"{arch}{units}x{layers}_classifier")
    mod = cell(arch)
    for i in range(layers):
        x = mod.layer(keras, units, return_sequences=i < layers - 1, name=f"{arch}_{i}",
                      **({"unroll": True} if unroll else {}))(x)
    if dropout > 0:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    out = keras.layers.Dense(num_classes, activation="softmax", name="classes")(x)
    return keras.Model(inp, out, name=f"{arch}{units}x{layers}_classifier")


def build_anomaly(arch: str, units: int, layers: int, input_shape, kind: str = "predictor",
                  batch_size: int | None = None):
    """Anomaly models over windows [T, C]; the anomaly score is their error (see train.metrics).

    predictor:   RNN over the window, at each step a Dense head predicts the next sample.
    autoencoder: RNN encoder -> RepeatVector(T) -> RNN decoder -> Dense per step (reconstruction).
    """
    from edgernn.tf import load

    _, keras = load()
    check_size(units, layers)
    if kind not in ANOMALY_MODELS:
        raise UserError(f"unknown anomaly model {kind!r} (choose from {', '.join(ANOMALY_MODELS)})")
    mod = cell(arch)
    steps, channels = tuple(input_shape)
    x = inp = keras.Input(shape=(steps, channels), batch_size=batch_size, name="window")
    if kind == "predictor":
        for i in range(layers):
            x = mod.layer(keras, units, return_sequences=True, name=f"{arch}_{i}")(x)
    else:
        for i in range(layers):
            x = mod.layer(keras, units, return_sequences=i < layers - 1, name=f"{arch}_enc{i}")(x)
        x = keras.layers.RepeatVector(steps, name="repeat")(x)
        for i in range(layers):
            x = mod.layer(keras, units, return_sequences=True, name=f"{arch}_dec{i}")(x)
    out = keras.layers.TimeDistributed(keras.layers.Dense(channels), name="signal")(x)
    return keras.Model(inp, out, name=f"{arch}{units}x{layers}_{kind}")


def build_from_config(config: Architecture, batch_size: int | None = None):
    """The architecture a run's config.json describes (weights not loaded)."""
    if config.task == "anomaly":
        return build_anomaly(config.arch, config.units, config.layers, config.input_shape,
                             config.anomaly_model, batch_size=batch_size)
    return build_classifier(config.arch, config.units, config.layers, config.input_shape,
                            len(config.class_names), config.dropout, batch_size=batch_size)


def export_model(model, config: Architecture, batch_size: int = 1):
    """Same architecture with a static batch size; weights copied (dropout is inert at inference)."""
    clone = build_from_config(config, batch_size=batch_size)
    clone.set_weights(model.get_weights())
    return clone


def recurrent_dims(config: Architecture) -> list[tuple[int, int]]:
    """(inputs, units) of every recurrent layer in order, an autoencoder's decoder included."""
    feats, units, layers = config.features, config.units, config.layers
    dims = [(feats if i == 0 else units, units) for i in range(layers)]
    if config.task == "anomaly" and config.anomaly_model == "autoencoder":
        dims += [(units, units)] * layers  # the decoder reads the repeated code vector
    return dims


def head_dims(config: Architecture) -> tuple[int, int]:
    """(inputs, outputs) of the dense head: per-step signal for anomaly models, classes otherwise."""
    return config.units, config.num_outputs


def _window_inputs(config: Architecture) -> int:
    return int(config.input_shape[0]) * int(config.input_shape[1])


def count_params(config: Architecture) -> int:
    """Trainable parameters, computed from the architecture alone."""
    if config.arch in HEADS:
        h_in, h_out = head_dims(config)
        return HEADS[config.arch].params(_window_inputs(config), config.units, config.layers) + h_in * h_out + h_out
    mod = cell(config.arch)
    h_in, h_out = head_dims(config)
    return sum(mod.params(i, u) for i, u in recurrent_dims(config)) + h_in * h_out + h_out


def count_macs(config: Architecture) -> int:
    """Multiply-accumulates per inference (matrix products; element-wise gate maths excluded).

    RNN: T steps x gates x U x (inputs + U) per layer; Dense head once (classifier) or per
    step (anomaly models). Dense head (``--arch dense``): its layers once per window.
    """
    if config.arch in HEADS:
        h_in, h_out = head_dims(config)
        return HEADS[config.arch].macs(_window_inputs(config), config.units, config.layers) + h_in * h_out
    mod = cell(config.arch)
    steps = config.steps
    h_in, h_out = head_dims(config)
    head_runs = steps if config.task == "anomaly" else 1
    return steps * sum(mod.macs_per_step(i, u) for i, u in recurrent_dims(config)) + head_runs * h_in * h_out
