"""Face-crop preprocessing shared by training and run time, so the two cannot drift.

The model itself starts with per-image standardisation (a layer inside the network), so the
only preprocessing outside it is: any image -> 8-bit grayscale -> square crop with margin ->
48x48 float32 in 0..255.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from fer_audio.errors import InvalidInput

INPUT_SIZE = 48  # pixels, FER-2013's crop size
CROP_MARGIN = 0.1  # fraction of the detected box added on each side. On FER-2013's own faces the
# Haar box is about the crop itself (python -m benchmarks framing), so 0 would match the training
# framing; 0.1 is kept for what it does on real faces (MODEL_CARD.md, "Real faces")


def check_image(image, where: str = "image") -> np.ndarray:
    """`image` as an array a recognizer takes ((h, w) grey, or (h, w, 1, 3 or 4) channels, of a
    numeric type, not empty); otherwise InvalidInput naming `where` and what to do."""
    if image is None:
        raise InvalidInput(
            f"{where} is None (cv2.imread gives None for a file it cannot read: check the path)"
        )
    if isinstance(image, (str, bytes, os.PathLike)):
        raise InvalidInput(
            f"{where} is a path ({os.fsdecode(image)!r}), not an image: read it first "
            "(cv2.imread), or narrate files with fer_audio.narrate"
        )
    try:
        array = np.asarray(image)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{where}: not an image array ({exc})") from exc
    if array.dtype.kind not in "uif" or array.size == 0:
        raise InvalidInput(f"{where}: expected a non-empty numeric image array, got {_describe(array)}")
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise InvalidInput(
            f"{where}: expected (height, width) or (height, width, 1|3|4 channels), got {_describe(array)}"
        )
    return array


def _describe(array: np.ndarray) -> str:
    return f"an array of shape {array.shape} and type {array.dtype}"


def to_gray8(image: np.ndarray) -> np.ndarray:
    """Any of gray/BGR/BGRA, 8- or 16-bit, (h, w[, c]) -> (h, w) uint8."""
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype in (np.float32, np.float64):
        scale = 255.0 if float(np.nanmax(img, initial=0.0)) <= 1.0 else 1.0
        img = np.clip(img * scale, 0, 255).astype(np.uint8)
    elif img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 2:
        return img
    if img.ndim == 3 and img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2GRAY)
    if img.ndim == 3 and img.shape[2] == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    raise ValueError(f"unsupported image shape {img.shape}")


def square_box(x: int, y: int, w: int, h: int, margin: float = CROP_MARGIN) -> tuple[float, ...]:
    """(x, y, side, side): the square around (x, y, w, h) grown by `margin` per side, which may
    reach past the image's edges."""
    side = max(w, h) * (1.0 + 2.0 * margin)
    return x + w / 2.0 - side / 2.0, y + h / 2.0 - side / 2.0, side, side


def expand_box(
    x: int, y: int, w: int, h: int, width: int, height: int, margin: float = CROP_MARGIN
) -> tuple[int, int, int, int]:
    """Square box around (x, y, w, h) grown by `margin` per side, clipped to the image."""
    sx, sy, side, _ = square_box(x, y, w, h, margin)
    x0 = int(round(max(0.0, sx)))
    y0 = int(round(max(0.0, sy)))
    x1 = int(round(min(float(width), sx + side)))
    y1 = int(round(min(float(height), sy + side)))
    return x0, y0, max(1, x1 - x0), max(1, y1 - y0)


def face_input(gray: np.ndarray, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Crop `box` (already expanded, or None for the whole image) -> (48, 48) float32, 0..255.
    Training images and run-time crops both go through this one function."""
    if box is not None:
        x, y, w, h = box
        gray = gray[y : y + h, x : x + w]
    return to_input_size(gray).astype(np.float32)


def to_input_size(gray: np.ndarray) -> np.ndarray:
    """A crop resized to (48, 48) (area-averaged when shrunk), or itself if it already is."""
    if gray.shape == (INPUT_SIZE, INPUT_SIZE):
        return gray
    interp = cv2.INTER_AREA if min(gray.shape) > INPUT_SIZE else cv2.INTER_LINEAR
    return cv2.resize(gray, (INPUT_SIZE, INPUT_SIZE), interpolation=interp)
