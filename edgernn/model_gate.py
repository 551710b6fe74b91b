"""The one model gate: what tf_keras may see of a user's ``.keras`` file (docs/design/hardening.md).

tf_keras rebuilds a model from the ``config.json`` inside the zip, and while it does so it imports the
modules and calls the functions that config names: ``safe_mode`` stops Lambda bytecode, but not a Lambda
whose ``function_type`` is "function" with ``{"module": "pydoc", "config": "pipepager"}`` (issue #30).
A list of forbidden things cannot keep up with that, so this gate works the other way round: every
object in the config must be one edgernn builds itself (the layers of ``edgernn.models``, their
initializers, regularizers and constraints), every config key must be one of that class's own keys,
and every value must have the type and range that key takes. Anything else is refused before tf_keras
is imported.

The gate then writes a new zip holding only the members it checked and the config it parsed (with the
compile settings dropped: edgernn always loads with ``compile=False``), so what tf_keras reads is, by
construction, what the gate has seen. Pure Python: no TensorFlow import, so the fuzzer runs it fast.
"""
from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path
from typing import Any, Callable

from edgernn.errors import UserError
from edgernn.json_text import MAX_DEPTH, JsonRefusal, parse_json_bytes

# --- the archive ----------------------------------------------------------------------------------
# The members tf_keras writes for a model without assets, each with the most it may unpack to.
MEMBER_LIMITS = {"config.json": 1024 * 1024, "metadata.json": 16 * 1024, "model.weights.h5": 512 * 1024 * 1024}
REQUIRED_MEMBERS = ("config.json", "model.weights.h5")
MAX_MEMBERS = 16               # a few more than the three allowed, so the message can name the extra ones
MAX_COMPRESSION_RATIO = 100    # real weights and JSON compress far less; a bomb compresses ~1000:1
RATIO_FREE_BYTES = 64 * 1024   # tiny members may compress well (an all-zeros bias) without being a bomb

# --- what edgernn builds (edgernn.models): the only classes a config may name ---------------------
Check = Callable[[Any, str], None]


class GateRefusal(UserError):
    """A model file the gate refuses; a UserError, so the CLI prints one line and exits 2."""


def _refuse(where: str, why: str) -> None:
    raise GateRefusal(f"{where}: {why}")


def _bool(v: Any, where: str) -> None:
    if not isinstance(v, bool):
        _refuse(where, f"expected true or false, got {_show(v)}")


def _int(lo: int, hi: int, optional: bool = False) -> Check:
    def check(v: Any, where: str) -> None:
        if v is None and optional:
            return
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            _refuse(where, f"expected an integer in [{lo}, {hi}], got {_show(v)}")
    return check


def _float(lo: float, hi: float, optional: bool = False) -> Check:
    def check(v: Any, where: str) -> None:
        if v is None and optional:
            return
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and not math.isfinite(v)) \
                or not lo <= v <= hi:
            _refuse(where, f"expected a number in [{lo}, {hi}], got {_show(v)}")
    return check


def _choice(*allowed: str, optional: bool = False) -> Check:
    def check(v: Any, where: str) -> None:
        if v is None and optional:
            return
        if not isinstance(v, str) or v not in allowed:
            _refuse(where, f"{_show(v)} is not one of {', '.join(allowed)}")
    return check


def _name(v: Any, where: str) -> None:
    """Layer and model names: plain text, bounded (they name weights inside the .h5, never code)."""
    if not isinstance(v, str) or not 0 < len(v) <= 128 or not v.isprintable():
        _refuse(where, f"expected a name (1 to 128 printable characters), got {_show(v)}")


def _shape(v: Any, where: str) -> None:
    """A tensor shape: a list of up to 8 sizes, each an integer or null (the batch)."""
    if not isinstance(v, list) or not 0 < len(v) <= 8:
        _refuse(where, f"expected a shape (a list of up to 8 sizes), got {_show(v)}")
    for i, d in enumerate(v):
        _int(0, 1_000_000, optional=True)(d, f"{where}[{i}]")


def _shapes(v: Any, where: str) -> None:
    """A shape, or a list of up to 8 shapes (a layer with several inputs)."""
    if isinstance(v, list) and v and all(isinstance(s, list) for s in v):
        if len(v) > 8:
            _refuse(where, "more than 8 input shapes")
        for i, s in enumerate(v):
            _shape(s, f"{where}[{i}]")
    else:
        _shape(v, where)


ACTIVATIONS = ("linear", "tanh", "sigmoid", "hard_sigmoid", "softmax", "relu", "elu", "selu", "softplus",
               "softsign", "swish", "gelu", "exponential")
DTYPES = ("float32", "float16", "bfloat16", "float64")
_activation = _choice(*ACTIVATIONS)
_dtype = _choice(*DTYPES)
_seed = _int(0, 2**32 - 1, optional=True)
_scale = _float(-1e6, 1e6)
_axis = _int(-8, 8)

INITIALIZERS: dict[str, dict[str, Check]] = {
    "Zeros": {}, "Ones": {},
    "Constant": {"value": _scale},
    "GlorotUniform": {"seed": _seed}, "GlorotNormal": {"seed": _seed},
    "HeUniform": {"seed": _seed}, "HeNormal": {"seed": _seed},
    "LecunUniform": {"seed": _seed}, "LecunNormal": {"seed": _seed},
    "Orthogonal": {"gain": _scale, "seed": _seed},
    "Identity": {"gain": _scale},
    "RandomUniform": {"minval": _scale, "maxval": _scale, "seed": _seed},
    "RandomNormal": {"mean": _scale, "stddev": _scale, "seed": _seed},
    "TruncatedNormal": {"mean": _scale, "stddev": _scale, "seed": _seed},
    "VarianceScaling": {"scale": _scale, "mode": _choice("fan_in", "fan_out", "fan_avg"),
                        "distribution": _choice("truncated_normal", "untruncated_normal", "normal", "uniform"),
                        "seed": _seed},
}
# the names initializers.get() accepts as plain strings for the classes above
INITIALIZER_NAMES = ("zeros", "ones", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
                     "lecun_uniform", "lecun_normal", "orthogonal", "identity", "random_uniform",
                     "random_normal", "truncated_normal", "variance_scaling")
REGULARIZERS: dict[str, dict[str, Check]] = {
    "L1": {"l1": _float(0, 1e3)}, "L2": {"l2": _float(0, 1e3)}, "L1L2": {"l1": _float(0, 1e3), "l2": _float(0, 1e3)},
}
CONSTRAINTS: dict[str, dict[str, Check]] = {
    "NonNeg": {}, "RadialConstraint": {},
    "MaxNorm": {"max_value": _scale, "axis": _axis},
    "UnitNorm": {"axis": _axis},
    "MinMaxNorm": {"min_value": _scale, "max_value": _scale, "rate": _scale, "axis": _axis},
}

# Where tf_keras writes each kind of object; a missing "module" makes it search its own built-ins only.
MODULES = {"initializer": "keras.initializers", "regularizer": "keras.regularizers",
           "constraint": "keras.constraints", "layer": "keras.layers", "model": "tf_keras.src.engine.functional"}
OBJECT_KEYS = {"module", "class_name", "config", "registered_name", "shared_object_id"}


def _object(role: str, classes: dict[str, dict[str, Check]], extra: dict[str, Check] | None = None,
            registered: dict[str, str] | None = None) -> Check:
    """A serialized Keras object: a class on ``classes``, from ``role``'s built-in module, no registered
    indirection (``registered_name`` null, or the class's own built-in name), and a config whose keys
    are that class's own, each checked. ``extra``: keys allowed beside the object's own, each checked."""
    extra = extra or {}

    def check(v: Any, where: str) -> None:
        if not isinstance(v, dict):
            _refuse(where, f"expected a serialized {role} object, got {_show(v)}")
        unknown = set(v) - OBJECT_KEYS - set(extra)
        if unknown:
            _refuse(where, f"unexpected key {_show(sorted(unknown)[0])} in a {role} object")
        cls = v.get("class_name")
        if not isinstance(cls, str) or cls not in classes:
            _refuse(where, f"class {_show(cls)} is not a {role} edgernn builds "
                           f"(allowed: {', '.join(sorted(classes))})")
        where = f"{where} ({cls})"
        if "module" in v and v["module"] != MODULES[role]:
            _refuse(where, f"module {_show(v['module'])} refused (a {role} comes from {MODULES[role]})")
        if v.get("registered_name") not in (None, (registered or {}).get(cls)):
            _refuse(where, f"registered name {_show(v.get('registered_name'))} refused "
                           "(no registered or custom objects)")
        if "shared_object_id" in v:
            _int(0, 2**64)(v["shared_object_id"], f"{where}.shared_object_id")
        _config(classes[cls], v.get("config", {}), f"{where}.config")
        for key, check_extra in extra.items():
            if key in v:
                check_extra(v[key], f"{where}.{key}")
    return check


def _config(schema: dict[str, Check], cfg: Any, where: str) -> None:
    if not isinstance(cfg, dict):
        _refuse(where, f"expected an object, got {_show(cfg)}")
    for key, value in cfg.items():
        if key not in schema:
            _refuse(where, f"unexpected key {_show(key)}")
        schema[key](value, f"{where}.{key}")


def _optional(check: Check) -> Check:
    def optional(v: Any, where: str) -> None:
        if v is not None:
            check(v, where)
    return optional


def _either_name_or(names: tuple[str, ...], obj: Check) -> Check:
    def check(v: Any, where: str) -> None:
        (_choice(*names) if isinstance(v, str) else obj)(v, where)
    return check


_initializer = _either_name_or(INITIALIZER_NAMES, _object("initializer", INITIALIZERS))
_regularizer = _optional(_either_name_or(("l1", "l2", "l1_l2"), _object("regularizer", REGULARIZERS)))
_constraint = _optional(_either_name_or(("non_neg", "unit_norm", "max_norm", "min_max_norm", "radial_constraint"),
                                        _object("constraint", CONSTRAINTS)))
_fraction = _float(0.0, 1.0)
_units = _int(1, 4096)

BASE_LAYER = {"name": _name, "trainable": _bool, "dtype": _dtype}
DENSE = {**BASE_LAYER, "units": _units, "activation": _activation, "use_bias": _bool,
         "kernel_initializer": _initializer, "bias_initializer": _initializer,
         "kernel_regularizer": _regularizer, "bias_regularizer": _regularizer, "activity_regularizer": _regularizer,
         "kernel_constraint": _constraint, "bias_constraint": _constraint}
SIMPLE_RNN = {**DENSE, "return_sequences": _bool, "return_state": _bool, "go_backwards": _bool, "stateful": _bool,
              "unroll": _bool, "time_major": _bool, "dropout": _fraction, "recurrent_dropout": _fraction,
              "recurrent_initializer": _initializer, "recurrent_regularizer": _regularizer,
              "recurrent_constraint": _constraint}
GATED = {**SIMPLE_RNN, "recurrent_activation": _activation, "implementation": _int(1, 2)}
LAYERS: dict[str, dict[str, Check]] = {
    "InputLayer": {"name": _name, "dtype": _dtype, "batch_input_shape": _shape, "sparse": _bool, "ragged": _bool,
                   "optional": _bool},
    "GRU": {**GATED, "reset_after": _bool},
    "LSTM": {**GATED, "unit_forget_bias": _bool},
    "SimpleRNN": SIMPLE_RNN,
    "Dense": DENSE,
    "Dropout": {**BASE_LAYER, "rate": _fraction, "noise_shape": _optional(_shape), "seed": _seed},
    "RepeatVector": {**BASE_LAYER, "n": _int(1, 1_000_000)},
    # the dense head (--arch dense) flattens the feature window
    "Flatten": {**BASE_LAYER, "data_format": _choice("channels_last", "channels_first")},
    # TimeDistributed wraps the per-step Dense head of the anomaly models; its "layer" is checked below
    "TimeDistributed": {**BASE_LAYER},
}


def _build_config(v: Any, where: str) -> None:
    _config({"input_shape": _shapes}, v, where)


LAYERS["TimeDistributed"]["layer"] = _object("layer", {"Dense": DENSE}, {"build_config": _build_config})


def _tensor_ref(v: Any, where: str) -> None:
    """[layer name, node index, tensor index], as Functional's input_layers/output_layers hold them."""
    if not (isinstance(v, list) and len(v) == 3):
        _refuse(where, f"expected [layer, node, tensor], got {_show(v)}")
    _name(v[0], f"{where}[0]")
    _int(0, 1024)(v[1], f"{where}[1]")
    _int(0, 1024)(v[2], f"{where}[2]")


def _tensor_refs(v: Any, where: str) -> None:
    if isinstance(v, list) and v and not isinstance(v[0], list):
        return _tensor_ref(v, where)
    if not isinstance(v, list) or not 0 < len(v) <= 8:
        _refuse(where, f"expected up to 8 tensor references, got {_show(v)}")
    for i, r in enumerate(v):
        _tensor_ref(r, f"{where}[{i}]")


def _call_kwargs(v: Any, where: str) -> None:
    """Keyword arguments of a layer call in the graph: only plain values (a flag such as training), no objects."""
    if not isinstance(v, dict) or len(v) > 8:
        _refuse(where, f"expected up to 8 call arguments, got {_show(v)}")
    for key, value in v.items():
        if key not in ("training", "mask"):
            _refuse(where, f"call argument {_show(key)} refused")
        if value is not None and not isinstance(value, bool):
            _refuse(f"{where}.{key}", f"expected true, false or null, got {_show(value)}")


def _inbound_nodes(v: Any, where: str) -> None:
    if not isinstance(v, list) or len(v) > 8:
        _refuse(where, f"expected a list of up to 8 nodes, got {_show(v)}")
    for i, node in enumerate(v):
        if not isinstance(node, list) or not 0 < len(node) <= 8:
            _refuse(f"{where}[{i}]", f"expected a node (a list of up to 8 inputs), got {_show(node)}")
        for j, inbound in enumerate(node):
            here = f"{where}[{i}][{j}]"
            if not (isinstance(inbound, list) and len(inbound) == 4):
                _refuse(here, f"expected [layer, node, tensor, arguments], got {_show(inbound)}")
            _tensor_ref(inbound[:3], here)
            _call_kwargs(inbound[3], f"{here}[3]")


_layer_entry = _object("layer", LAYERS, {"name": _name, "inbound_nodes": _inbound_nodes, "build_config": _build_config})


def _layers(v: Any, where: str) -> None:
    if not isinstance(v, list) or not 0 < len(v) <= 64:
        _refuse(where, f"expected a list of 1 to 64 layers, got {_show(v)}")
    for i, entry in enumerate(v):
        _layer_entry(entry, f"{where}[{i}]")


FUNCTIONAL = {"name": _name, "trainable": _bool, "layers": _layers, "input_layers": _tensor_refs,
              "output_layers": _tensor_refs}
def _dropped(v: Any, where: str) -> None:
    """compile_config: never checked, never passed on (gate_keras_zip removes it; edgernn loads with compile=False)."""


_model = _object("model", {"Functional": FUNCTIONAL}, {"build_config": _build_config, "compile_config": _dropped},
                 registered={"Functional": "Functional"})


def check_model_config(config: Any, where: str = "config.json") -> None:
    """Refuse (GateRefusal) a model config that names anything edgernn does not build."""
    _model(config, where)


# --- the archive ----------------------------------------------------------------------------------

def _members(path: Path, data: bytes) -> dict[str, bytes]:
    """The members of a ``.keras`` zip, refusing unknown or duplicate names, too many members, sizes over
    their limit and compression ratios only a bomb has; each member is read with its size bounded."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            if len(infos) > MAX_MEMBERS:
                raise GateRefusal(f"{path}: {len(infos)} members; a .keras model has 3")
            names = [i.filename for i in infos]
            for name in names:
                if name not in MEMBER_LIMITS:
                    raise GateRefusal(f"{path}: unexpected member {_show(name)} in the .keras archive "
                                      f"(allowed: {', '.join(MEMBER_LIMITS)})")
            if len(set(names)) != len(names):
                raise GateRefusal(f"{path}: a member name appears twice in the .keras archive")
            for name in REQUIRED_MEMBERS:
                if name not in names:
                    raise GateRefusal(f"{path}: no {name} in the .keras archive")
            out = {}
            for info in infos:
                _check_member_size(path, info)
                with z.open(info) as f:
                    body = f.read(MEMBER_LIMITS[info.filename] + 1)
                if len(body) > MEMBER_LIMITS[info.filename]:  # the header lied about the size
                    raise GateRefusal(f"{path}: {info.filename} unpacks to more than its header says")
                out[info.filename] = body
            return out
    except GateRefusal:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, ValueError, OSError, EOFError,
            RuntimeError) as e:  # RuntimeError: an encrypted member
        raise GateRefusal(f"{path}: not a readable .keras zip archive ({str(e)[:100]})") from None


def _check_member_size(path: Path, info: zipfile.ZipInfo) -> None:
    limit = MEMBER_LIMITS[info.filename]
    if info.file_size > limit:
        raise GateRefusal(f"{path}: {info.filename} unpacks to {info.file_size} bytes, more than the {limit} allowed")
    if info.file_size > RATIO_FREE_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
        raise GateRefusal(f"{path}: {info.filename} is compressed {info.file_size // max(info.compress_size, 1)}:1, "
                          f"more than the {MAX_COMPRESSION_RATIO}:1 of a real model (a zip bomb?)")


def _parse_json(path: Path, name: str, body: bytes) -> Any:
    try:
        return parse_json_bytes(body, allow_constants=False, max_depth=MAX_DEPTH)
    except JsonRefusal as e:
        raise GateRefusal(f"{path}: {name} {e.reason}") from None


def _check_metadata(path: Path, body: bytes) -> dict:
    meta = _parse_json(path, "metadata.json", body)
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str) and len(v) <= 64
                                             for k, v in meta.items()) or len(meta) > 8:
        raise GateRefusal(f"{path}: metadata.json: expected a few short text fields")
    return meta


def gate_keras_zip(path: str | Path, data: bytes) -> bytes:
    """The bytes of a ``.keras`` zip that holds only what the gate checked, or GateRefusal.

    ``data`` is the user's file (already read, bounded); the result is a new archive with the checked
    weights, the parsed and re-written config without its compile settings, and the checked metadata.
    """
    path = Path(path)
    members = _members(path, data)
    config = _parse_json(path, "config.json", members["config.json"])
    try:
        check_model_config(config)
    except GateRefusal as e:
        raise GateRefusal(f"{path}: refused by the model gate: {e}") from None
    clean = {k: v for k, v in config.items() if k != "compile_config"}  # loaded with compile=False
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        if "metadata.json" in members:
            z.writestr("metadata.json", json.dumps(_check_metadata(path, members["metadata.json"])))
        z.writestr("config.json", json.dumps(clean))
        z.writestr("model.weights.h5", members["model.weights.h5"])
    return out.getvalue()


def _show(v: Any) -> str:
    """A short, printable rendering of a hostile value for an error message."""
    text = repr(v) if not isinstance(v, (dict, list)) else type(v).__name__
    return text if len(text) <= 60 else text[:57] + "..."
