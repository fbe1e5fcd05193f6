"""Training-time augmentation as one Keras layer of batched ops, for any Keras 3 backend.

Geometry (mirror, rotation, shift, zoom) is one ``keras.ops.image.affine_transform`` per batch,
brightness and contrast are per-image affine maps of the grey values, and cutout and the painted
talking mouth are masks: no per-image Python, no ``tf.*``, so it runs inside the jitted training
step under TensorFlow, JAX or PyTorch (Keras' own RandomRotation/RandomZoom layers ran about 120x
slower under JAX).
Input and output: (n, 48, 48, 1) float32 grey values 0..255. At inference it is the identity.
"""

from __future__ import annotations

import math
from dataclasses import asdict

import keras
from keras import layers, ops

from training.options import AugmentOptions


@keras.saving.register_keras_serializable(package="fer_audio")
class Augment(layers.Layer):
    """Random talking mouth, mirror/rotate/shift/zoom, brightness/contrast, camera effects and
    cutout of a batch (training only)."""

    def __init__(self, options: dict | None = None, seed: int = 0, **kwargs):
        kwargs.setdefault("dtype", "float32")  # geometry in float32 even under mixed precision
        super().__init__(**kwargs)
        self.options = AugmentOptions(**(options or {}))
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def get_config(self) -> dict:
        return {**super().get_config(), "options": asdict(self.options), "seed": self.seed}

    def _uniform(self, n, low: float, high: float):
        return keras.random.uniform((n,), low, high, seed=self.seed_generator)

    def _per_image(self, n, low: float, high: float):
        """(n, 1, 1, 1): one uniform draw per image, to broadcast over its pixels."""
        return ops.reshape(self._uniform(n, low, high), (-1, 1, 1, 1))

    def call(self, x, training=None):
        if not training:
            return x
        x = ops.cast(x, "float32")
        x = self._speech(x)  # before the geometry, so the mouth moves with the face
        x = self._geometry(x)
        x = self._photometry(x)
        x = self._camera(x)
        x = self._cutout(x)
        return ops.clip(x, 0.0, 255.0)

    def _speech(self, x):
        """A mouth opened in speech: a dark ellipse with soft edges where FER-2013's aligned crops
        have the lips (centre about (23.5, 38.5) of 48, found from the mean face of the training
        set), 8-14 px wide and 2-8 px high, as dark as 15-45% of the face's mean grey."""
        o = self.options
        if o.speech <= 0:
            return x
        n, h, w = ops.shape(x)[0], x.shape[1], x.shape[2]
        cx = self._per_image(n, -1.5, 1.5) + (w - 1) / 2.0
        cy = self._per_image(n, -1.5, 1.5) + 38.5 * h / 48.0
        a = self._per_image(n, 4.0, 7.0) * w / 48.0
        b = self._per_image(n, 1.0, 4.0) * h / 48.0
        ys, xs = _pixel_grid(h, w)
        r = ops.sqrt(ops.square((xs - cx) / a) + ops.square((ys - cy) / b))
        active = ops.cast(self._per_image(n, 0.0, 1.0) < o.speech, "float32")
        mask = ops.sigmoid((1.0 - r) * 6.0) * active
        dark = ops.mean(x, axis=(1, 2, 3), keepdims=True) * self._per_image(n, 0.15, 0.45)
        return x * (1.0 - mask) + dark * mask

    def _geometry(self, x):
        """One inverse affine map per image, about the centre: output pixel -> input pixel."""
        o = self.options
        n, h, w = ops.shape(x)[0], x.shape[1], x.shape[2]
        angle = self._uniform(n, -o.rotation, o.rotation) * (math.pi / 180.0)
        scale = 1.0 + self._uniform(n, -o.zoom, o.zoom)
        tx = self._uniform(n, -o.shift, o.shift) * w
        ty = self._uniform(n, -o.shift, o.shift) * h
        mirror = ops.where(self._uniform(n, 0.0, 1.0) < 0.5, -1.0, 1.0) if o.flip else ops.ones((n,))
        cos, sin = ops.cos(angle) / scale, ops.sin(angle) / scale
        a0, a1, b0, b1 = mirror * cos, mirror * sin, -sin, cos
        cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
        a2 = cx - a0 * (cx + tx) - a1 * (cy + ty)
        b2 = cy - b0 * (cx + tx) - b1 * (cy + ty)
        zero = ops.zeros_like(a0)
        transform = ops.stack([a0, a1, a2, b0, b1, b2, zero, zero], axis=1)
        return ops.image.affine_transform(x, transform, interpolation="bilinear", fill_mode="reflect")

    def _photometry(self, x):
        o = self.options
        n = ops.shape(x)[0]
        mean = ops.mean(x, axis=(1, 2, 3), keepdims=True)
        factor = self._per_image(n, 1.0 - o.contrast, 1.0 + o.contrast)
        shift = self._per_image(n, -o.brightness, o.brightness) * 255.0
        return (x - mean) * factor + mean + shift

    def _camera(self, x):
        o = self.options
        n = ops.shape(x)[0]
        if o.gamma > 0:
            power = 2.0 ** self._per_image(n, -o.gamma, o.gamma)
            x = 255.0 * ops.power(ops.clip(x, 0.0, 255.0) / 255.0, power)
        if o.blur > 0:
            k = ops.convert_to_tensor([1.0, 2.0, 1.0], "float32")
            kernel = ops.reshape(ops.outer(k, k) / 16.0, (3, 3, 1, 1))
            blurred = ops.conv(x, kernel, padding="same")
            active = self._per_image(n, 0.0, 1.0) < o.blur
            x = ops.where(active, blurred, x)
        if o.noise > 0:
            std = self._per_image(n, 0.0, o.noise)
            x = x + std * keras.random.normal(ops.shape(x), seed=self.seed_generator)
        return x

    def _cutout(self, x):
        o = self.options
        if o.cutout <= 0:
            return x
        n, h, w = ops.shape(x)[0], x.shape[1], x.shape[2]
        cy = self._per_image(n, 0.0, float(h))
        cx = self._per_image(n, 0.0, float(w))
        active = self._per_image(n, 0.0, 1.0) < o.cutout
        ys, xs = _pixel_grid(h, w)
        half = o.cutout_size / 2.0
        inside = ops.logical_and(ops.abs(ys - cy) < half, ops.abs(xs - cx) < half)
        mean = ops.mean(x, axis=(1, 2, 3), keepdims=True)
        return ops.where(ops.logical_and(inside, active), mean, x)


def _pixel_grid(h: int, w: int):
    """Row and column indices, shaped (1, h, 1, 1) and (1, 1, w, 1) to broadcast over a batch."""
    return (
        ops.reshape(ops.arange(h, dtype="float32"), (1, -1, 1, 1)),
        ops.reshape(ops.arange(w, dtype="float32"), (1, 1, -1, 1)),
    )
