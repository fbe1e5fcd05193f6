"""The expression CNN: a compact VGG-style network for 48x48 faces.

Input (n, 48, 48, 1) float32 grey values 0..255 (see fer_audio.vision.preprocess); output (n, 7)
softmax probabilities in fer_audio.labels order. Per-image standardisation is the first layer,
so the exported model carries its own normalisation. Backend-agnostic (keras.ops only).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keras
from keras import layers, ops

from fer_audio.labels import NUM_CLASSES
from fer_audio.vision.preprocess import INPUT_SIZE
from training.options import ModelOptions


@keras.saving.register_keras_serializable(package="fer_audio")
class PerImageStandardize(layers.Layer):
    """(x - mean) / max(std, 1/sqrt(N)) over each image: brightness and contrast invariance."""

    def call(self, x):
        mean = ops.mean(x, axis=(1, 2, 3), keepdims=True)
        var = ops.mean(ops.square(x - mean), axis=(1, 2, 3), keepdims=True)
        floor = 1.0 / float(INPUT_SIZE)
        return (x - mean) / ops.maximum(ops.sqrt(var), floor)


@contextlib.contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Layers built inside take this global dtype policy (e.g. "float32" for a network trained in
    bfloat16 mixed precision); the policy before is restored on leaving."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def build_model(options: ModelOptions = ModelOptions(), name: str = "fer_audio_cnn") -> keras.Model:
    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 1), name="face")
    x = PerImageStandardize(name="standardize")(inputs)
    x = layers.Conv2D(options.stem, 3, padding="same", use_bias=False, name="stem")(x)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    if options.stem_pool:
        x = layers.MaxPooling2D(2, name="stem_pool")(x)
    for stage, width in enumerate(options.widths):
        for i in range(options.convs_per_stage):
            x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"conv{stage}_{i}")(x)
            x = layers.BatchNormalization(name=f"bn{stage}_{i}")(x)
            x = layers.ReLU(name=f"relu{stage}_{i}")(x)
        if stage < len(options.widths) - 1:
            x = layers.MaxPooling2D(2, name=f"pool{stage}")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(options.dropout, name="dropout")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="probs")(x)
    return keras.Model(inputs, outputs, name=name)
