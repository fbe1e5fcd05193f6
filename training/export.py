"""Export a Keras model (or an average of several) to TFLite (float32, float16, dynamic-range int8)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import keras
import tensorflow as tf

from fer_audio.vision.preprocess import INPUT_SIZE
from training.model import dtype_policy

QUANTIZATIONS = ("float32", "float16", "int8")


def with_flip_average(model: keras.Model) -> keras.Model:
    """Wrap `model` so it returns the mean of its predictions on the face and its mirror image."""
    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 1), name="face")
    flipped = keras.ops.flip(inputs, axis=2)
    outputs = keras.layers.Average(name="flip_average")([model(inputs), model(flipped)])
    return keras.Model(inputs, outputs, name=f"{model.name}_flip")


def _float32_policies(config):
    """The config with every mixed-precision dtype policy replaced by float32."""
    if isinstance(config, dict):
        if config.get("class_name") == "DTypePolicy" and str(config["config"]["name"]).startswith("mixed_"):
            return "float32"
        return {k: _float32_policies(v) for k, v in config.items()}
    if isinstance(config, list):
        return [_float32_policies(v) for v in config]
    return config


def float32_copy(model: keras.Model) -> keras.Model:
    """The same network computing in float32: a run trained on a GPU with bfloat16 mixed precision
    saves layers that compute in bfloat16, which TFLite's builtin ops cannot run (the weights
    themselves are float32 either way, so nothing is lost). Layers whose config names no policy
    take the global one, so it is float32 while the copy is built, whatever it was before."""
    config = _float32_policies(model.get_config())
    if config == model.get_config() and {layer.compute_dtype for layer in model.layers} == {"float32"}:
        return model
    with dtype_policy("float32"):
        copy = model.__class__.from_config(config)
    copy.set_weights(model.get_weights())
    return copy


def average(models: list[keras.Model]) -> keras.Model:
    """One model whose output is the mean of the members' probabilities (an ensemble)."""
    if len(models) == 1:
        return models[0]
    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 1), name="face")
    outputs = []
    for k, member in enumerate(models, start=1):
        member.name = f"member_{k}"  # loaded members share one name; a model needs unique ones
        outputs.append(member(inputs))
    return keras.Model(inputs, keras.layers.Average(name="ensemble_average")(outputs), name="ensemble")


def to_tflite(model: keras.Model, quantization: str = "float32") -> bytes:
    """Convert with a dynamic batch dimension; input (n, 48, 48, 1) float32, output (n, 7)."""
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {QUANTIZATIONS}")
    with tempfile.TemporaryDirectory() as tmp:
        saved = str(Path(tmp) / "saved_model")
        model.export(saved, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        if quantization == "float16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        elif quantization == "int8":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        return converter.convert()
