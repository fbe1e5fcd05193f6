"""Face-crop preprocessing shared by training and run time, so the two cannot drift.

The model itself starts with per-image standardisation (a layer inside the network), so the
only preprocessing outside it is: any image -> 8-bit grayscale -> square crop with margin ->
48x48 float32 in 0..255.
"""

from __future__ import annotations

import cv2
import numpy as np

INPUT_SIZE = 48  # pixels, FER-2013's crop size
CROP_MARGIN = 0.1  # fraction of the detected box added on each side (FER crops are loose)

# The FER-2013 training images in ../shared are all strongly blurred (median variance of the
# Laplacian 6.2, 99th percentile under 20), while camera frames and photos are sharp (face crops
# of the shared video: 646). A model trained on the blurred images sees sharp faces as a
# different kind of picture, so every crop sharper than SHARPNESS_LIMIT is blurred down to the
# training images' typical sharpness first. Training crops are left as they are.
TRAINING_SHARPNESS = 6.2  # median variance of the Laplacian of the training crops
SHARPNESS_LIMIT = 20.0  # crops sharper than this are matched to TRAINING_SHARPNESS
_SIGMAS = np.arange(0.5, 4.01, 0.25)  # Gaussian blurs tried, in pixels


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


def expand_box(
    x: int, y: int, w: int, h: int, width: int, height: int, margin: float = CROP_MARGIN
) -> tuple[int, int, int, int]:
    """Square box around (x, y, w, h) grown by `margin` per side, clipped to the image."""
    side = max(w, h) * (1.0 + 2.0 * margin)
    cx, cy = x + w / 2.0, y + h / 2.0
    x0 = int(round(max(0.0, cx - side / 2.0)))
    y0 = int(round(max(0.0, cy - side / 2.0)))
    x1 = int(round(min(float(width), cx + side / 2.0)))
    y1 = int(round(min(float(height), cy + side / 2.0)))
    return x0, y0, max(1, x1 - x0), max(1, y1 - y0)


def sharpness(face: np.ndarray) -> float:
    """Variance of the Laplacian of a (48, 48) crop: high for sharp, low for blurred."""
    return float(cv2.Laplacian(np.asarray(face, np.float32), cv2.CV_32F).var())


def match_sharpness(face: np.ndarray) -> np.ndarray:
    """Blur a (48, 48) float32 crop sharper than SHARPNESS_LIMIT to about TRAINING_SHARPNESS."""
    if sharpness(face) <= SHARPNESS_LIMIT:
        return face
    for sigma in _SIGMAS:
        blurred = cv2.GaussianBlur(face, (0, 0), float(sigma), borderType=cv2.BORDER_REFLECT)
        if sharpness(blurred) <= TRAINING_SHARPNESS:
            return blurred
    return blurred


def face_input(gray: np.ndarray, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Crop `box` (already expanded, or None for the whole image) -> (48, 48) float32, 0..255,
    with its sharpness matched to the training images (see SHARPNESS_LIMIT)."""
    if box is not None:
        x, y, w, h = box
        gray = gray[y : y + h, x : x + w]
    if gray.shape != (INPUT_SIZE, INPUT_SIZE):
        interp = cv2.INTER_AREA if min(gray.shape) > INPUT_SIZE else cv2.INTER_LINEAR
        gray = cv2.resize(gray, (INPUT_SIZE, INPUT_SIZE), interpolation=interp)
    return match_sharpness(gray.astype(np.float32))
