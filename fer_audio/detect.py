"""Face detection behind a one-method protocol and a name -> backend registry.

The default backend, OpenCV's Haar cascade, ships inside opencv-python 4 and works offline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from fer_audio.types import FaceBox


@dataclass(frozen=True)
class DetectorOptions:
    backend: str = "haar"  # a name in DETECTORS
    min_face: int = 40  # pixels, smallest face side looked for (in the original frame)
    max_side: int = 640  # frames larger than this are downscaled for detection (speed)
    scale_factor: float = 1.1  # Haar pyramid step
    min_neighbors: int = 5  # Haar: higher = fewer false faces, more misses
    min_score: float = 0.0  # Haar: drop detections whose cascade level weight is not above this


class FaceDetector(Protocol):
    def detect(self, gray: np.ndarray) -> list[FaceBox]:
        """Faces in a (h, w) uint8 image, in its pixel coordinates."""
        ...


DETECTORS: dict[str, Callable[[DetectorOptions], FaceDetector]] = {}


def register(name: str):
    def add(factory: Callable[[DetectorOptions], FaceDetector]):
        DETECTORS[name] = factory
        return factory

    return add


def make_detector(options: DetectorOptions = DetectorOptions()) -> FaceDetector:
    if options.backend not in DETECTORS:
        raise ValueError(f"unknown face detector {options.backend!r}; choose from {', '.join(DETECTORS)}")
    return DETECTORS[options.backend](options)


def _cascade(name: str) -> cv2.CascadeClassifier:
    path = Path(cv2.data.haarcascades) / name
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise RuntimeError(f"{path}: OpenCV's Haar cascade is missing; reinstall opencv-python>=4.9,<5")
    return cascade


@register("haar")
class HaarDetector:
    """OpenCV's frontal-face Haar cascade on a histogram-equalised, downscaled frame."""

    def __init__(self, options: DetectorOptions) -> None:
        self.options = options
        self._cascade = _cascade("haarcascade_frontalface_default.xml")

    def detect(self, gray: np.ndarray) -> list[FaceBox]:
        h, w = gray.shape[:2]
        scale = min(1.0, self.options.max_side / max(h, w))
        small = (
            cv2.resize(gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
            if scale < 1
            else gray
        )
        small = cv2.equalizeHist(small)
        min_side = max(12, int(self.options.min_face * scale))
        found = self._cascade.detectMultiScale3(
            small,
            scaleFactor=self.options.scale_factor,
            minNeighbors=self.options.min_neighbors,
            minSize=(min_side, min_side),
            outputRejectLevels=True,
        )
        boxes, _, weights = found
        return [
            FaceBox(
                int(round(x / scale)),
                int(round(y / scale)),
                int(round(bw / scale)),
                int(round(bh / scale)),
                float(s),
            )
            for (x, y, bw, bh), s in zip(np.reshape(boxes, (-1, 4)), np.ravel(weights), strict=True)
            if s > self.options.min_score
        ]
