"""Distillation (``train --teacher RUN``): a student learns the teacher's soft targets.

The teacher is any keyword run of the same vocabulary and sample rate, typically the speech-embedding
head (``--features embedding``, a host model that heard real speech through a pretrained backbone);
the student is an ordinary MFCC run (GRU/LSTM/RNN), so the whole int8 -> C -> firmware path stays
as it is. Its training rows:

- the labelled clips of DATA, loaded as for any run (with its augmented copies): the teacher scores
  the same audio through its own front end (the same loader options with the teacher's features give
  the same rows in the same order: the augmentation draws depend on the seed, not on the features;
  the labels are compared row by row to make sure);
- unlabelled audio: ``unlabelled_minutes`` of the training speakers' real speech over training music
  and the folder's background noises (``data.real_speech.real_stream("train")``), cut into 1 s
  clips, for which only the teacher's targets count.

Loss per row: (1 - alpha) x w x cross-entropy(label) + alpha x T^2 x KL(teacher_T || student_T),
where p_T = softmax(log p / T) and w is the row's class weight (0 for unlabelled rows). The
validation split gets the same loss (the teacher scores it too), so early stopping watches it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edgernn.errors import UserError

UNLABELLED_SEED = 29     # the unlabelled stream's draws: rng [seed, UNLABELLED_SEED]
MAX_UNLABELLED_MINUTES = 600.0


def check_options(alpha: float, temperature: float, unlabelled_minutes: float) -> None:
    if not (isinstance(alpha, (int, float)) and 0.0 < alpha <= 1.0):
        raise UserError(f"--distill-alpha must be in (0, 1], got {alpha}")
    if not (isinstance(temperature, (int, float)) and 1.0 <= temperature <= 20.0):
        raise UserError(f"--temperature must be in [1, 20], got {temperature}")
    if not (isinstance(unlabelled_minutes, (int, float)) and 0.0 <= unlabelled_minutes <= MAX_UNLABELLED_MINUTES):
        raise UserError(f"--unlabelled-minutes must be in [0, {MAX_UNLABELLED_MINUTES:g}], got {unlabelled_minutes}")


def load_teacher(teacher: str | Path, task: str):
    """(model, RunConfig) of the teacher run; a keyword run is required."""
    from edgernn.train.run import load_run

    if task != "kws":
        raise UserError("--teacher is for --task kws (a keyword run teaches a keyword student)")
    model, config = load_run(teacher)
    if config.task != "kws" or config.feature_params() is None:
        raise UserError(f"{teacher}: the teacher must be a keyword run (task kws), not {config.task}")
    return model, config


def check_match(teacher: str | Path, tconfig, class_names, sample_rate: int) -> None:
    """The teacher speaks the student's vocabulary (same classes in the same order) at its sample rate."""
    if list(tconfig.class_names) != list(class_names):
        raise UserError(f"{teacher}: the teacher's classes ({', '.join(tconfig.class_names)}) differ from the "
                        f"student's ({', '.join(class_names)}): train the teacher on the same --keywords")
    rate = tconfig.feature_params().sample_rate
    if rate != sample_rate:
        raise UserError(f"{teacher}: the teacher hears {rate} Hz audio, the student's data is {sample_rate} Hz")


def soften(probs: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T), row by row (T = 1: p itself)."""
    logp = np.log(np.clip(np.asarray(probs, dtype=np.float64), 1e-7, 1.0)) / temperature
    logp -= logp.max(axis=-1, keepdims=True)
    e = np.exp(logp)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def teacher_probs(model, tconfig, data, data_options: dict, splits, labels: dict) -> dict[str, np.ndarray]:
    """The teacher's class probabilities on the student's rows of ``splits``, scored on the same audio
    through the teacher's front end (its features are cached in DATA like any run's)."""
    from edgernn.data import load_dataset
    from edgernn.train.run import prepare_inputs

    opts = dict(data_options, features=tconfig.feature_params().feature_config().to_dict())
    ds = load_dataset(data, task="kws", **opts)
    out = {}
    for split in splits:
        y = ds.splits[split].y
        if len(y) != len(labels[split]) or not np.array_equal(y, labels[split]):
            raise UserError(f"{data}: the teacher's {split} rows differ from the student's (same folder and "
                            f"options expected); cannot pair them for distillation")
        out[split] = model.predict(prepare_inputs(ds.splits[split].X, tconfig), batch_size=256, verbose=0)
    return out


def unlabelled_waves(root: Path, minutes: float, seed: int, rate: int, clip_samples: int) -> np.ndarray:
    """[N, clip_samples]: ``minutes`` of the training speakers' real speech over training music and the
    folder's background noises, in consecutive 1 s clips (N = minutes x 60 s / clip)."""
    from edgernn.data.real_speech import real_stream
    from edgernn.data.speech_commands import background_noises

    if minutes <= 0:
        return np.zeros((0, clip_samples), np.float32)
    stream = real_stream("train", minutes, seed * 1000 + UNLABELLED_SEED, rate,
                         noises=background_noises(Path(root), rate, seed))
    n = len(stream) // clip_samples
    return stream[:n * clip_samples].reshape(n, clip_samples).astype(np.float32)


def targets(labels: np.ndarray, weights: np.ndarray, soft: np.ndarray) -> np.ndarray:
    """The loss's target rows: [label, hard-loss weight, soft targets...] (float32)."""
    return np.concatenate([np.asarray(labels, np.float32)[:, None], np.asarray(weights, np.float32)[:, None],
                           np.asarray(soft, np.float32)], axis=1)


def row_weights(labels: np.ndarray, class_weights: dict[int, float] | None) -> np.ndarray:
    if not class_weights:
        return np.ones(len(labels), np.float32)
    table = np.asarray([class_weights.get(k, 1.0) for k in range(int(max(class_weights)) + 1)], np.float32)
    return table[np.asarray(labels, np.int64)]


def loss(alpha: float, temperature: float, num_classes: int):
    """Keras loss over ``targets`` rows and the student's softmax output."""
    from edgernn.tf import load

    tf, _ = load()

    def distillation(y_true, y_pred):
        label = tf.cast(y_true[:, 0], tf.int32)
        w, soft = y_true[:, 1], y_true[:, 2:]
        logp = tf.math.log(tf.clip_by_value(y_pred, 1e-7, 1.0))
        hard = -tf.reduce_sum(tf.one_hot(label, num_classes) * logp, axis=-1) * w
        logp_t = tf.nn.log_softmax(logp / temperature, axis=-1)
        kl = tf.reduce_sum(soft * (tf.math.log(tf.clip_by_value(soft, 1e-7, 1.0)) - logp_t), axis=-1)
        return (1.0 - alpha) * hard + alpha * temperature ** 2 * kl

    return distillation


def accuracy():
    """Agreement with the label on labelled rows, with the teacher's top class on unlabelled ones."""
    from edgernn.tf import load

    tf, _ = load()

    def accuracy(y_true, y_pred):
        label = tf.where(y_true[:, 1] > 0, tf.cast(y_true[:, 0], tf.int64), tf.argmax(y_true[:, 2:], axis=-1))
        return tf.cast(tf.equal(tf.argmax(y_pred, axis=-1), label), tf.float32)

    return accuracy
