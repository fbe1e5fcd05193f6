"""Training-time augmentation on batches of (n, 48, 48, 1) float32 0..255 images (tf.data)."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import tensorflow as tf


@dataclass(frozen=True)
class AugmentOptions:
    flip: bool = True  # mirror left-right (expressions are roughly symmetric)
    rotation: float = 10.0  # degrees, uniform +-
    shift: float = 0.1  # fraction of the side, uniform +-
    zoom: float = 0.1  # fraction, uniform +-
    brightness: float = 0.2  # fraction of full scale, uniform +-
    contrast: float = 0.3  # factor range 1 +- contrast
    cutout: float = 0.3  # probability of blanking one 16x16 square per image
    cutout_size: int = 16  # pixels


def make_augmenter(options: AugmentOptions, seed: int):
    """A function batch -> augmented batch, deterministic for a given seed."""
    geometry = keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seed) if options.flip else keras.layers.Identity(),
            keras.layers.RandomRotation(options.rotation / 360.0, fill_mode="reflect", seed=seed + 1),
            keras.layers.RandomTranslation(options.shift, options.shift, fill_mode="reflect", seed=seed + 2),
            keras.layers.RandomZoom(options.zoom, options.zoom, fill_mode="reflect", seed=seed + 3),
        ]
    )
    gen = tf.random.Generator.from_seed(seed + 4)

    def augment(images: tf.Tensor) -> tf.Tensor:
        x = geometry(images, training=True)
        n = tf.shape(x)[0]
        mean = tf.reduce_mean(x, axis=(1, 2, 3), keepdims=True)
        factor = gen.uniform([n, 1, 1, 1], 1.0 - options.contrast, 1.0 + options.contrast)
        shift = gen.uniform([n, 1, 1, 1], -options.brightness, options.brightness) * 255.0
        x = (x - mean) * factor + mean + shift
        x = _cutout(x, gen, options)
        return tf.clip_by_value(x, 0.0, 255.0)

    return augment


def _cutout(x: tf.Tensor, gen: tf.random.Generator, options: AugmentOptions) -> tf.Tensor:
    if options.cutout <= 0:
        return x
    n, h, w = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    cy = gen.uniform([n, 1, 1, 1], 0, tf.cast(h, tf.float32))
    cx = gen.uniform([n, 1, 1, 1], 0, tf.cast(w, tf.float32))
    ys = tf.reshape(tf.range(h, dtype=tf.float32), [1, -1, 1, 1])
    xs = tf.reshape(tf.range(w, dtype=tf.float32), [1, 1, -1, 1])
    half = options.cutout_size / 2.0
    inside = (tf.abs(ys - cy) < half) & (tf.abs(xs - cx) < half)
    active = gen.uniform([n, 1, 1, 1]) < options.cutout
    mean = tf.reduce_mean(x, axis=(1, 2, 3), keepdims=True)
    return tf.where(inside & active, mean, x)
