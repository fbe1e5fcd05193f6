"""Reading photo files safely: size guard before decoding, EXIF rotation, clear reasons.

Photos are decoded in grayscale (all that detection and the model use), and a large JPEG is
decoded at 1/2, 1/4 or 1/8 of its size by the JPEG decoder itself when that still leaves at
least `scan_side` pixels on its long side (the detector uses no more detail than that:
fer_audio.vision.detect.DetectorOptions.detail_side).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fer_audio.errors import FerAudioError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
MAX_PIXELS = 50_000_000  # refuse images above this (decompression-bomb guard)
MAX_FILE_BYTES = 200 * 1024 * 1024


class ImageError(FerAudioError, ValueError):
    """This file cannot be used as a photo; the message says why, in a few words."""


_REDUCED = {
    2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
    4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
    8: cv2.IMREAD_REDUCED_GRAYSCALE_8,
}


@dataclass(frozen=True)
class Photo:
    path: Path
    image: np.ndarray  # (h, w) uint8 or uint16 grayscale, upright (EXIF orientation applied)
    scale: int = 1  # file pixels per decoded pixel (2, 4 or 8 for a reduced JPEG decode)


# What a file of each IMAGE_SUFFIXES kind starts with. Anything else is refused before it reaches a
# decoder: a text file or a document named .jpg says so in the same words on every OpenCV build.
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM", b"II*\x00", b"MM\x00*")


def is_image_data(data: bytes) -> bool:
    """Whether `data` starts as a JPEG, PNG, BMP, TIFF or WebP file does."""
    return data.startswith(_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG, JPEG, BMP or WebP header without decoding; None if unknown."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:2] == b"BM" and len(data) >= 26:
        w, h = struct.unpack("<ii", data[18:26])
        return abs(w), abs(h)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and data[12:16] == b"VP8X" and len(data) >= 30:
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return w, h
        i += 2 + length
    return None


def _reduction(data: bytes, dims: tuple[int, int] | None, scan_side: int | None) -> int:
    """The largest JPEG decode reduction that keeps the long side at least scan_side."""
    if not scan_side or not dims or data[:2] != b"\xff\xd8":
        return 1
    return next((r for r in (8, 4, 2) if max(dims) // r >= scan_side), 1)


def read_photo(
    path: str | os.PathLike[str], max_pixels: int = MAX_PIXELS, scan_side: int | None = None
) -> Photo:
    """Decode an image file in grayscale, upright; a JPEG whose long side is at least twice
    `scan_side` is decoded reduced (see Photo.scale). Raises ImageError with a short reason."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size == 0:
            raise ImageError("empty file (0 bytes)")
        if size > MAX_FILE_BYTES:
            raise ImageError(f"file too large ({size / 1e6:.0f} MB)")
        data = p.read_bytes()
    except PermissionError as exc:
        raise ImageError("permission denied") from exc
    except OSError as exc:
        raise ImageError(exc.strerror or str(exc)) from exc
    if not is_image_data(data):
        raise ImageError("not a readable image (its content is not JPEG, PNG, BMP, TIFF or WebP)")
    dims = header_size(data)
    if dims and dims[0] * dims[1] > max_pixels:
        raise ImageError(f"image too large ({dims[0]}x{dims[1]} pixels, limit {max_pixels:,})")
    reduction = _reduction(data, dims, scan_side)
    flags = _REDUCED[reduction] if reduction > 1 else cv2.IMREAD_GRAYSCALE | cv2.IMREAD_ANYDEPTH
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if image is None or image.size == 0:
        raise ImageError("not a readable image (corrupt, truncated or another format)")
    if image.shape[0] * image.shape[1] * reduction**2 > max_pixels:
        raise ImageError(f"image too large ({image.shape[1]}x{image.shape[0]} pixels)")
    return Photo(p, image, reduction)
