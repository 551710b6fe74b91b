"""Typed run records: what a run folder's ``config.json`` and ``metrics.json`` hold.

One place for their types, ranges and cross-field rules, so every step that reads a run folder
(eval, quantize, prune, export, detect, streaming-eval, firmware build, bench, compare) accepts
and refuses exactly the same files. A bad record is a ``UserError`` naming the field, never a
traceback deep inside a stage, and nothing a record says can make a step allocate without bound
(every size is capped here). Older records are migrated by ``schema_version`` before they are
checked. The schema is documented in docs/reference/run-folder.md (generated from these models
by tools/gen_schema_docs.py).

This module sits just above ``features`` (it checks feature parameters with the front end's own
frame arithmetic) and below every stage that reads runs; it imports no TensorFlow.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator

from edgernn import io
from edgernn.errors import UserError
from edgernn.features.config import FeatureConfig, embedding_config

SCHEMA_VERSION = 2  # 1: records before edgernn wrote a version (ffdc600 and models/ as shipped)
METRICS_SCHEMA_VERSION = 1

# Bounds on what a record may ask for. They are far beyond any model edgernn trains, and low enough
# that nothing derived from them (filterbanks, frames, windows, tensors) can exhaust memory.
MAX_UNITS, MAX_LAYERS = 4096, 16
MAX_STEPS, MAX_FEATURES = 100_000, 4096
MAX_CLASSES = 10_000
MAX_NAME = 256                        # characters of a class name, keyword, engine or column name
MAX_PATH = 4096
MIN_STD = 1e-9                        # input_norm() writes 1.0 where a feature's std is below 1e-8
MAX_SAMPLE_RATE = 192_000
MAX_NFFT = 4096                       # also the C front end's limit
MAX_FEATURE_RATE = 16_000             # feature values per second of audio: no more than 16 kHz audio itself
MAX_INPUT_VALUES = 1_000_000          # steps x features of one model input
MAX_MELS = 512
MAX_CLIP_SECONDS = 60.0
MAX_FRAME_MS = 1000.0

Finite = Annotated[float, Field(allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME)]
Count = Annotated[int, Field(ge=0, le=10**15)]


class _Record(BaseModel):
    # strict: a JSON string is never read as a number, nor a number as a bool. Extra keys are kept and
    # written back, so a step that updates one field (streaming-eval) never drops another's
    model_config = ConfigDict(strict=True, extra="allow")


_FRONT_END = FeatureConfig()  # its defaults are the front end's, defined there once


class FeatureParams(_Record):
    """Audio front end of a kws run (``edgernn.features.frontend.FeatureConfig``)."""
    sample_rate: Annotated[int, Field(ge=1000, le=MAX_SAMPLE_RATE)] = _FRONT_END.sample_rate
    window_ms: Annotated[float, Field(gt=0, le=MAX_FRAME_MS, allow_inf_nan=False)] = _FRONT_END.window_ms
    hop_ms: Annotated[float, Field(gt=0, le=MAX_FRAME_MS, allow_inf_nan=False)] = _FRONT_END.hop_ms
    n_fft: Annotated[int, Field(ge=8, le=MAX_NFFT)] = _FRONT_END.n_fft
    n_mels: Annotated[int, Field(ge=1, le=MAX_MELS)] = _FRONT_END.n_mels
    n_mfcc: Annotated[int, Field(ge=1, le=MAX_MELS)] = _FRONT_END.n_mfcc
    fmin: Annotated[float, Field(ge=0, allow_inf_nan=False)] = _FRONT_END.fmin
    fmax: Annotated[float, Field(gt=0, allow_inf_nan=False)] = _FRONT_END.fmax
    kind: Literal["mfcc", "logmel", "embedding"] = _FRONT_END.kind
    clip_seconds: Annotated[float, Field(gt=0, le=MAX_CLIP_SECONDS, allow_inf_nan=False)] = _FRONT_END.clip_seconds
    arithmetic: Literal["float", "fixed"] = _FRONT_END.arithmetic
    mean_norm: bool = _FRONT_END.mean_norm

    @model_validator(mode="after")
    def _consistent(self):
        if self.fmin >= self.fmax:
            raise ValueError(f"fmin ({self.fmin:g} Hz) must be below fmax ({self.fmax:g} Hz)")
        if self.fmax > self.sample_rate / 2:
            raise ValueError(f"fmax ({self.fmax:g} Hz) must be at most half the sample rate ({self.sample_rate} Hz)")
        if self.n_mfcc > self.n_mels:
            raise ValueError(f"n_mfcc ({self.n_mfcc}) must be at most n_mels ({self.n_mels})")
        cfg = self.feature_config()
        if self.kind == "embedding" and (self.arithmetic != "float" or self.mean_norm or cfg != embedding_config(
                clip_seconds=self.clip_seconds)):
            raise ValueError("a speech-embedding front end has fixed parameters (edgernn.features.config.embedding_config)")
        if self.kind != "embedding" and not 1 <= cfg.window <= self.n_fft:
            raise ValueError(f"the window ({cfg.window} samples) must be 1..n_fft ({self.n_fft}) samples")
        if cfg.hop < 1:
            raise ValueError(f"hop_ms {self.hop_ms:g} is less than one sample at {self.sample_rate} Hz")
        if cfg.num_frames < 1:
            raise ValueError(f"clip_seconds {self.clip_seconds:g} is shorter than one window")
        rate = cfg.sample_rate / cfg.hop * cfg.num_features
        if rate > MAX_FEATURE_RATE:  # detect holds a recording's features in memory
            raise ValueError(f"{rate:.0f} feature values per second of audio (hop {cfg.hop} samples, "
                             f"{cfg.num_features} features) exceeds {MAX_FEATURE_RATE}")
        return self

    def feature_config(self) -> FeatureConfig:
        known = FeatureConfig.__dataclass_fields__
        return FeatureConfig(**{k: v for k, v in self.model_dump().items() if k in known})


class InputNorm(_Record):
    """Per-feature standardization learnt on the training split (``train.run.input_norm``)."""
    model_config = ConfigDict(strict=True, extra="forbid")
    mean: Annotated[list[Annotated[float, Field(allow_inf_nan=False, ge=-1e12, le=1e12)]],
                    Field(min_length=1, max_length=MAX_FEATURES)]
    std: Annotated[list[Annotated[float, Field(allow_inf_nan=False, ge=MIN_STD, le=1e12)]],
                   Field(min_length=1, max_length=MAX_FEATURES)]


class Augment(_Record):
    """KWS augmentation settings (``edgernn.data.augment``); checked in full by ``check_augment``."""
    model_config = ConfigDict(strict=True, extra="forbid")
    copies: Annotated[int, Field(ge=0, le=100)] | None = None
    time_shift_ms: Annotated[float, Field(ge=0, le=10_000, allow_inf_nan=False)] | None = None
    background_prob: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None = None
    snr_db: Annotated[list[Finite], Field(min_length=2, max_length=2)] | None = None
    time_masks: Annotated[int, Field(ge=0, le=100)] | None = None
    time_mask_frames: Annotated[int, Field(ge=0, le=MAX_STEPS)] | None = None
    freq_masks: Annotated[int, Field(ge=0, le=100)] | None = None
    freq_mask_bins: Annotated[int, Field(ge=0, le=MAX_FEATURES)] | None = None
    warp: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None = None


class DataOptions(_Record):
    """Loader options, passed to ``edgernn.data.load_dataset`` by every step that reloads the data.

    Unknown keys are refused: they would reach the loader as unexpected keyword arguments."""
    model_config = ConfigDict(strict=True, extra="forbid")
    window: Annotated[int, Field(ge=1, le=MAX_STEPS)] | Literal["auto"] | None = None
    stride: Annotated[int, Field(ge=1, le=MAX_STEPS)] | None = None
    train_end: Annotated[int, Field(ge=0)] | None = None
    label_column: Name | None = None
    features: FeatureParams | None = None
    keywords: Annotated[list[Name], Field(max_length=MAX_CLASSES)] | None = None
    holdout_engine: Name | None = None
    augment: Augment | None = None
    silence_fraction: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] | None = None
    unknown_fraction: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] | None = None
    train_unknown_fraction: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] | None = None
    val_fraction: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] | None = None
    test_fraction: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] | None = None

    def loader_options(self) -> dict:
        """The options as ``load_dataset`` keyword arguments (only the ones the record sets)."""
        return self.model_dump(exclude_unset=True)


class DatasetMeta(_Record):
    """What the loader reported about the training data (free-form beyond these fields)."""
    features: FeatureParams | None = None
    window: Annotated[int, Field(ge=1, le=MAX_STEPS)] | None = None
    stride: Annotated[int, Field(ge=1, le=MAX_STEPS)] | None = None
    label_column: Name | None = None


class Streaming(_Record):
    """Detection settings ``streaming-eval`` calibrated (``edgernn.streaming.recognize.RecognizeConfig``;
    a field left out takes RecognizeConfig's default, ``every_ms`` ``edgernn.defaults.KWS_EVERY_MS``)."""
    window_ms: Annotated[int, Field(ge=0, le=60_000)] | None = None
    threshold: Annotated[int, Field(ge=0, le=255)] | None = None
    suppression_ms: Annotated[int, Field(ge=0, le=60_000)] | None = None
    min_count: Annotated[int, Field(ge=1, le=64)] | None = None  # RecognizeCommands keeps 64 results (MAX_RESULTS)
    every_ms: Annotated[int, Field(ge=1, le=60_000)] | None = None
    calibrated_for_fa_per_hour: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None

    def recognize_fields(self) -> dict:
        """The RecognizeConfig arguments the record sets."""
        return self.model_dump(include={"window_ms", "threshold", "suppression_ms", "min_count"}, exclude_none=True)


class Distill(_Record):
    """How a student was distilled from a teacher run (``train --teacher``, ``edgernn.train.distill``)."""
    teacher: Annotated[str, Field(min_length=1, max_length=MAX_PATH)]
    alpha: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
    temperature: Annotated[float, Field(ge=1, le=20, allow_inf_nan=False)]
    unlabelled_minutes: Annotated[float, Field(ge=0, le=600, allow_inf_nan=False)] = 0.0
    unlabelled_clips: Annotated[int, Field(ge=0, le=10**7)] | None = None
    teacher_features: Literal["mfcc", "logmel", "embedding"] | None = None


class Recipe(_Record):
    """The training recipe as used (``edgernn.train.recipe.make_recipe``)."""
    batch_size: Annotated[int, Field(ge=1, le=10**6)]
    epochs: Annotated[int, Field(ge=0, le=10**6)]
    patience: Annotated[int, Field(ge=0, le=10**6)]
    warmup_epochs: Annotated[int, Field(ge=0, le=10**6)] = 0
    min_epochs: Annotated[int, Field(ge=0, le=10**6)] = 0
    lr: Annotated[float, Field(gt=0, le=10, allow_inf_nan=False)]
    clipnorm: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 1.0
    lr_schedule: Literal["plateau", "cosine"] = "plateau"
    steps_per_execution: Annotated[int, Field(ge=1, le=10**6)] = 1  # runs before 2026-12-08: 1
    steps_per_epoch: Annotated[int, Field(ge=0)] = 0
    derived: list[str] = []


class Architecture(_Record):
    """What the model is: enough to build it, count its parameters and check a model file against it."""
    task: Literal["kws", "classify", "anomaly"]
    arch: Annotated[str, Field(pattern=r"^[a-z0-9]{1,16}$")]
    units: Annotated[int, Field(ge=1, le=MAX_UNITS)]
    layers: Annotated[int, Field(ge=1, le=MAX_LAYERS)]
    input_shape: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=2, max_length=2)]
    class_names: Annotated[list[Name], Field(min_length=1, max_length=MAX_CLASSES)]
    dropout: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] = 0.0
    anomaly_model: Literal["predictor", "autoencoder"] | None = None  # anomaly runs; None reads as "predictor"

    @model_validator(mode="after")
    def _shape(self):
        if self.task == "anomaly" and self.anomaly_model is None:
            self.anomaly_model = "predictor"
        steps, features = self.input_shape
        if steps > MAX_STEPS or features > MAX_FEATURES or steps * features > MAX_INPUT_VALUES:
            raise ValueError(f"input_shape {self.input_shape} exceeds [{MAX_STEPS}, {MAX_FEATURES}] or "
                             f"{MAX_INPUT_VALUES} values")
        if len(set(self.class_names)) != len(self.class_names):
            raise ValueError("class_names must be unique")
        if self.task != "anomaly" and len(self.class_names) < 2:
            raise ValueError("class_names must name at least 2 classes")
        return self

    @property
    def steps(self) -> int:
        return self.input_shape[0]

    @property
    def features(self) -> int:
        return self.input_shape[1]

    @property
    def num_outputs(self) -> int:
        """Size of the model's last axis: one score per class, or the signal per step (anomaly)."""
        return self.features if self.task == "anomaly" else len(self.class_names)


class RunConfig(Architecture):
    """A run folder's ``config.json``: the model, its data and how it was trained."""
    schema_version: Literal[2] = SCHEMA_VERSION
    data: Annotated[str, Field(min_length=1, max_length=MAX_PATH)]
    input_norm: InputNorm
    seed: Annotated[int, Field(ge=0, lt=2**32)] = 0
    threshold: Finite | None = None
    data_options: DataOptions | None = None
    dataset_meta: DatasetMeta | None = None
    # training recipe (``edgernn.train.recipe``) as used
    epochs: Annotated[int, Field(ge=0, le=10**6)]
    batch_size: Annotated[int, Field(ge=1, le=10**6)]
    lr: Annotated[float, Field(gt=0, le=10, allow_inf_nan=False)]
    patience: Annotated[int, Field(ge=0, le=10**6)]
    recipe: Recipe
    class_weights: bool = False
    label_smoothing: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] = 0.0
    # kws folders
    keywords: Annotated[list[Name], Field(max_length=MAX_CLASSES)] | None = None
    holdout_engine: Name | None = None
    augment: Augment | None = None
    unknown_weight: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)] = 1.0
    distill: Distill | None = None  # a student of ``train --teacher``
    # measured at the end of training
    params: Count | None = None
    macs: Count | None = None
    float32_bytes: Count | None = None
    epochs_run: Annotated[int, Field(ge=0, le=10**7)] | None = None
    train_seconds: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    # later steps
    streaming: Streaming | None = None
    pruned_from: Annotated[str, Field(max_length=MAX_PATH)] | None = None
    pruning: dict[str, Any] | None = None
    # classify runs (docs/guides/long-series.md): the series before frame stacking, the frame size, the
    # normalization, the augmentation strength and how train chose them on validation (train.select)
    series_shape: Annotated[list[Annotated[int, Field(ge=1, le=1_000_000)]],
                            Field(min_length=2, max_length=2)] | None = None
    frame: Annotated[int, Field(ge=1, le=4096)] | None = None
    normalize: Literal["series", "feature", "none"] | None = None
    augment_strength: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None = None
    selection: dict[str, Any] | None = None
    select: Literal["val", "cv"] | None = None  # how the candidates were scored (train.select)

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo):
        for stat in ("mean", "std"):
            if len(getattr(self.input_norm, stat)) != self.features:
                raise ValueError(f"input_norm.{stat} must hold {self.features} numbers (one per feature "
                                 f"of input_shape {self.input_shape})")
        in_progress = bool(info.context and info.context.get("in_progress"))  # train, before the threshold
        if self.task == "anomaly" and self.threshold is None and not in_progress:
            raise ValueError("missing key 'threshold' (anomaly runs need one)")
        feats = self.feature_params()
        if feats is not None and self.task == "kws":
            cfg = feats.feature_config()
            if self.input_shape != [cfg.num_frames, cfg.num_features]:
                raise ValueError(f"input_shape {self.input_shape} does not match the feature parameters "
                                 f"({cfg.num_frames} frames x {cfg.num_features} features)")
        if self.frame is not None or self.series_shape is not None:
            # imported here: edgernn.models imports this module (frame.py itself needs only NumPy)
            from edgernn.models.frame import framed_shape

            steps, feats = self.series_shape or self.input_shape
            k = self.frame or 1
            if k > steps or framed_shape(steps, feats, k) != self.input_shape:
                raise ValueError(f"input_shape {self.input_shape} must be series_shape "
                                 f"{[steps, feats]} framed by frame {k}")
        return self

    def feature_params(self) -> FeatureParams | None:
        """The audio front end the run was trained with (kws runs), else None."""
        return self.dataset_meta.features if self.dataset_meta is not None else None

    def loader_options(self) -> dict:
        return self.data_options.loader_options() if self.data_options is not None else {}

    def to_json(self) -> dict:
        return self.model_dump(mode="json", exclude_unset=True)


class Metrics(_Record):
    """A run's ``metrics.json`` (also what ``eval`` writes): test figures of one model.

    Figures may be NaN (a diverged run is recorded, not hidden); readers check finiteness."""
    schema_version: Literal[1] = METRICS_SCHEMA_VERSION
    task: Literal["classification", "anomaly"] | None = None
    samples: Count | None = None
    accuracy: float | None = None
    roc_auc: float | None = None
    pr_auc: float | None = None
    f1: float | None = None
    precision: float | None = None
    recall: float | None = None
    threshold: float | None = None
    val_accuracy: float | None = None
    cv_accuracy: float | None = None  # classify --select cv: the chosen candidate's mean held-out fold accuracy
    class_names: Annotated[list[str], Field(max_length=MAX_CLASSES)] | None = None
    confusion_matrix: list[list[Count]] | None = None
    guard: dict[str, Any] | None = None
    holdout: dict[str, Any] | None = None
    baselines: dict[str, Any] | None = None  # classify runs: majority and 1-NN figures (train.baselines)

    @model_validator(mode="after")
    def _has_main_metric(self):
        if self.accuracy is None and self.roc_auc is None:
            raise ValueError("holds neither accuracy nor roc_auc")
        return self

    def main_metric(self) -> tuple[str, float]:
        """(name, value) of the headline figure: ROC-AUC for anomaly models, else accuracy."""
        return ("roc_auc", self.roc_auc) if self.roc_auc is not None else ("accuracy", self.accuracy)

    def to_json(self) -> dict:
        return self.model_dump(mode="json", exclude_unset=True)


# --- migration: each step takes a record of version v to v + 1 (a plain dict, before validation) ---
def _v1_to_v2(raw: dict) -> dict:
    """Version 1 (unversioned) readers filled gaps with ``.get`` defaults; version 2 writes them out."""
    out = dict(raw)
    if out.get("task") == "anomaly":
        out.setdefault("anomaly_model", "predictor")
    out.setdefault("dropout", 0.0)
    out["schema_version"] = 2
    return out


MIGRATIONS = {1: _v1_to_v2}


def migrate(raw: dict, where: str) -> dict:
    version = raw.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise UserError(f"{where}: schema_version must be a positive integer, got {json.dumps(version)[:40]}")
    if version > SCHEMA_VERSION:
        raise UserError(f"{where}: written by a newer edgernn (schema {version}; this one reads up to "
                        f"{SCHEMA_VERSION}); upgrade edgernn")
    while version < SCHEMA_VERSION:
        raw = MIGRATIONS[version](raw)
        version += 1
    return raw


_TYPE_TAGS = {"int", "float", "str", "bool", "list", "dict", "none", "tuple"}


def _field_path(loc) -> str:
    """('input_norm', 'std', 0) -> input_norm.std[0]; pydantic's union-member tags are left out."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "[" not in part and "-" not in part and part not in _TYPE_TAGS:
            out += f".{part}" if out else part
    return out


def _first_error(e: ValidationError) -> str:
    """One line for the first problem, in the words the rest of edgernn uses ('x' must be ...)."""
    err = e.errors(include_url=False)[0]
    key = _field_path(err["loc"])
    more = f" (and {e.error_count() - 1} more problems)" if e.error_count() > 1 else ""
    if err["type"] == "missing":
        return f"missing key {key!r}{more}"
    msg = err["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
    msg = re.sub(r" or instance of \w+", "", msg).replace("a valid dictionary", "an object")
    msg = re.sub(r"^(String|List|Tuple|Dictionary|Value) should ", "must ", msg).replace(" after validation", "")
    if err["type"] == "value_error":  # a rule across fields: its message names them
        return f"{key + ': ' if key else ''}{msg}{more}"
    if err["type"] == "extra_forbidden":
        return f"unknown key {key!r}{more}"
    if err["type"] == "string_pattern_mismatch":
        msg = f"must match {err['ctx']['pattern']}"
    elif not msg.startswith("must"):  # "String should have at most 256 characters", ...
        msg = "is invalid: " + msg[:1].lower() + msg[1:]
    return f"{key!r} {msg}, got {_short(err.get('input'))}{more}"


def _short(value) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validate_config(raw, where: str | Path = "config.json", in_progress: bool = False) -> RunConfig:
    """A RunConfig from parsed JSON (any version); a UserError naming the first bad field otherwise.

    ``in_progress``: a record ``train`` is still building (the figures measured at the end may be missing)."""
    if not isinstance(raw, dict):
        raise UserError(f"{where}: must be a JSON object, got {type(raw).__name__}")
    try:
        return RunConfig.model_validate(migrate(raw, str(where)), context={"in_progress": in_progress})
    except ValidationError as e:
        raise UserError(f"{where}: {_first_error(e)}") from None


def record_of(values: dict, in_progress: bool = False) -> RunConfig:
    """The RunConfig of values a stage computed (NumPy scalars and all), exactly as it will be written."""
    return validate_config(_as_json(values), "run record", in_progress)


def validate_metrics(raw, where: str | Path = "metrics.json") -> Metrics:
    if not isinstance(raw, dict):
        raise UserError(f"{where}: must be a JSON object, got {type(raw).__name__}")
    raw = dict(raw)
    version = raw.setdefault("schema_version", METRICS_SCHEMA_VERSION)
    if version != METRICS_SCHEMA_VERSION:
        raise UserError(f"{where}: unknown metrics schema_version {_short(version)} (this edgernn reads "
                        f"{METRICS_SCHEMA_VERSION})")
    try:
        return Metrics.model_validate(raw)
    except ValidationError as e:
        raise UserError(f"{where}: {_first_error(e)}") from None


def read_config(path: str | Path) -> RunConfig:
    """Read and validate a run's config.json (size-bounded and parsed by ``io.read_json``)."""
    return validate_config(io.read_json(path), path)


def read_metrics(path: str | Path) -> Metrics:
    return validate_metrics(io.read_json(path), path)


def write_config(path: str | Path, config: RunConfig | dict) -> RunConfig:
    """Validate (a dict is validated first) and write atomically; returns the record written."""
    record = config if isinstance(config, RunConfig) else validate_config(_as_json(config), path)
    io.write_json(path, record.to_json())
    return record


def write_metrics(path: str | Path, metrics: Metrics | dict) -> Metrics:
    record = metrics if isinstance(metrics, Metrics) else validate_metrics(_as_json(metrics), path)
    io.write_json(path, record.to_json())
    return record


def metrics_of(values: dict) -> Metrics:
    """The Metrics record of figures a stage computed, exactly as metrics.json will hold them."""
    return validate_metrics(_as_json(values), "metrics")


def _as_json(values: dict) -> dict:
    """Values exactly as JSON will hold them (NumPy scalars and arrays become numbers and lists)."""
    return json.loads(json.dumps(values, default=io.json_default))


def check_model_matches(config: Architecture, input_shape, output_shape, where: str | Path) -> None:
    """The model file agrees with its record: input [.., steps, features], output [.., num_outputs]."""
    check_model_input(config, input_shape, where)
    check_model_output(config, output_shape, where)


def check_model_input(config: Architecture, input_shape, where: str | Path) -> None:
    # leading (batch) dimensions may be None or 1
    if [d for d in input_shape if d is not None][-2:] != list(config.input_shape):
        raise UserError(f"{where}: the model's input {tuple(input_shape)} does not match config.json's "
                        f"input_shape {config.input_shape}")


def check_model_output(config: Architecture, output_shape, where: str | Path) -> None:
    # a record with more or fewer classes than the model has outputs would label every prediction
    # wrongly without any error further on
    outputs = output_shape[-1] if len(output_shape) else None
    if outputs != config.num_outputs:
        what = "signal features" if config.task == "anomaly" else "class_names"
        raise UserError(f"{where}: the model has {outputs} outputs but config.json has {config.num_outputs} "
                        f"{what}")
