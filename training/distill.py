"""Distillation: a compact student learns the averaged outputs of a frozen teacher ensemble.

The teachers (the best networks of earlier runs, `fer-audio train --teacher RUN`) see the very
same augmented batch as the student inside the training step ("consistent" distillation,
Beyer et al. 2022), so the student is taught what the ensemble says about every mirrored,
turned, shifted, cut-out face it trains on, not only about the clean ones. The target of each
face is ``weight * teacher mean + (1 - weight) * its own target`` (the crowd's votes or the
smoothed label). With ``mirror``, each teacher's output is the mean over the face and its
mirror image (what mirror-averaging at test time would give), a better-agreeing target that the
student then learns to give in one pass. Keras 3 ops only: it trains under JAX on a GPU machine
as under TensorFlow here.

The training model outputs the student's and the teachers' probabilities side by side, (n, 14);
`DistillLoss` and `student_accuracy` read the two halves. Only the student is saved as
``best.keras``, so export, evaluation and run time never see the teachers.
"""

from __future__ import annotations

from pathlib import Path

import keras
from keras import layers, ops

from fer_audio.labels import NUM_CLASSES
from training.model import build_model
from training.options import saved_model_options, teacher_files


def load_network(path: Path, name: str = "fer_audio_cnn", option: str = "--teacher") -> keras.Model:
    """A run's saved network rebuilt under the current dtype policy (float32 here, bfloat16 on a
    GPU) from its config.json, with its weights."""
    options = saved_model_options(path, option)
    try:
        loaded = keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises several kinds, with misleading texts, for other files
        raise ValueError(
            f"{option} {path}: not a network saved by fer-audio train; give a finished run"
        ) from exc
    network = build_model(options, name=name)
    try:
        network.set_weights(loaded.get_weights())
    except ValueError as exc:
        raise ValueError(
            f"{option} {path}: its weights do not fit the network its config.json describes; give the "
            "best.keras of a finished run with that run's own config.json"
        ) from exc
    return network


def load_teachers(runs: tuple[str, ...]) -> list[keras.Model]:
    """Every teacher network of the given runs, rebuilt under its own name and frozen."""
    files = [f for run in runs for f in teacher_files(run)]
    teachers = []
    for k, path in enumerate(files, start=1):
        teacher = load_network(path, name=f"teacher_{k}")
        teacher.trainable = False
        teachers.append(teacher)
    return teachers


@keras.saving.register_keras_serializable(package="fer_audio")
class TeacherMean(layers.Layer):
    """The mean of the frozen teachers' softmax outputs, always in inference mode (no dropout,
    batch-norm moving statistics), with no gradient flowing back; with ``mirror``, averaged over
    each face and its left-right mirror image too."""

    def __init__(self, teachers: list[keras.Model], mirror: bool = False, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.teachers = list(teachers)
        self.mirror = bool(mirror)
        for teacher in self.teachers:
            teacher.trainable = False

    def build(self, input_shape):
        for teacher in self.teachers:
            if not teacher.built:
                teacher.build(input_shape)

    def call(self, x):
        views = [x, ops.flip(x, axis=2)] if self.mirror else [x]  # (n, height, width, 1)
        outputs = [ops.cast(t(v, training=False), "float32") for t in self.teachers for v in views]
        return ops.stop_gradient(ops.mean(ops.stack(outputs, axis=0), axis=0))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], NUM_CLASSES)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "teachers": [keras.saving.serialize_keras_object(t) for t in self.teachers],
            "mirror": self.mirror,
        }

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        config["teachers"] = [keras.saving.deserialize_keras_object(t) for t in config["teachers"]]
        return cls(**config)


@keras.saving.register_keras_serializable(package="fer_audio")
class DistillLoss(keras.losses.Loss):
    """Cross-entropy of the student against weight * teacher mean + (1 - weight) * y_true, where
    y_true is first smoothed by `label_smoothing` (0 for crowd votes, which are already soft)."""

    def __init__(self, weight: float = 1.0, label_smoothing: float = 0.0, name="distill", **kwargs):
        super().__init__(name=name, **kwargs)
        self.weight = float(weight)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        y_pred = ops.cast(y_pred, "float32")
        student, teacher = y_pred[:, :NUM_CLASSES], y_pred[:, NUM_CLASSES:]
        y_true = ops.cast(y_true, "float32")
        if self.label_smoothing:
            y_true = y_true * (1.0 - self.label_smoothing) + self.label_smoothing / NUM_CLASSES
        target = self.weight * teacher + (1.0 - self.weight) * y_true
        return -ops.sum(target * ops.log(ops.clip(student, 1e-7, 1.0)), axis=-1)

    def get_config(self) -> dict:
        return {**super().get_config(), "weight": self.weight, "label_smoothing": self.label_smoothing}


@keras.saving.register_keras_serializable(package="fer_audio")
def student_accuracy(y_true, y_pred):
    """1 where the student's top class is the target's, per face."""
    student = y_pred[:, :NUM_CLASSES]
    return ops.cast(ops.argmax(y_true, axis=-1) == ops.argmax(student, axis=-1), "float32")
