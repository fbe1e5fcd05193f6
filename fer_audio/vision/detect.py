"""Face detection behind a one-method protocol and a name -> backend registry.

The default backend, OpenCV's Haar cascade, ships inside opencv-python 4 and works offline.

The cascade, its pyramid step and neighbours were chosen with `python -m benchmarks detectors`
(BENCHMARKS.md, "Tuning notes"). Following a face in video, the search near it uses a finer step
(near_scale_factor), which keeps its box steady.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from fer_audio.types import FaceBox

HAAR_WINDOW = 20  # pixels, the smallest detection window of OpenCV's frontal-face cascades


@dataclass(frozen=True)
class DetectorOptions:
    backend: str = "haar"  # a name in DETECTORS
    min_face: int = 40  # pixels, smallest face side looked for (in the original frame)
    max_side: int = 480  # frames larger than this are downscaled for a full-frame scan (speed)
    cascade: str = "haarcascade_frontalface_alt2.xml"  # Haar: a file in cv2.data.haarcascades
    scale_factor: float = 1.2  # Haar pyramid step
    min_neighbors: int = 1  # Haar: higher = fewer false faces, more misses
    near_scale_factor: float = 1.05  # Haar pyramid step of the search near a known face (video):
    # cheap in that small region, and the finer sizes keep the box, and so the crop, steady
    min_score: float = 0.0  # Haar: drop detections whose cascade level weight is not above this
    equalize: bool = False  # Haar: equalise the histogram first (the cascade normalises each
    # window's contrast itself; see BENCHMARKS.md, "Tuning notes")
    face_score: float = 0.7  # BlazeFace: lowest face score kept (MediaPipe's own is 0.5)
    threads: int = 1  # BlazeFace: LiteRT threads
    verify: bool = True  # BlazeFace: keep a face only if the face mesh also sees one there
    mesh_score: float = 0.9  # BlazeFace with verify: the face mesh's lowest face score kept

    @property
    def detail_side(self) -> int:
        """Long side (pixels) past which an image holds nothing the full scan uses: a larger one
        is shrunk to max_side, and then even the smallest face wanted fills the smallest Haar
        window."""
        return math.ceil(self.max_side * self.min_face / HAAR_WINDOW)


class FaceDetector(Protocol):
    def detect(self, gray: np.ndarray) -> list[FaceBox]:
        """Faces in a (h, w) uint8 image, in its pixel coordinates."""
        ...


Follow = Callable[[np.ndarray, FaceBox], "FaceBox | None"]


class TrackingDetector:
    """For video: a full scan every `rescan` seconds, and in between only a search near the
    faces already known, which costs a fraction of a scan. A face the nearby search misses is
    left out of that frame (the tracker bridges short gaps) until the next full scan.

    With `follow` (the face mesh, where it runs anyway: `Recognizer.follow`), a known face that
    the detector misses, in the nearby search or in a full scan, is looked for where it was by
    the mesh instead, and kept while the mesh still sees a face there: a frontal detector loses
    a head turned in a shake, the mesh does not."""

    def __init__(
        self,
        detector: FaceDetector,
        rescan: float = 0.5,
        idle_rescan: float = 0.2,
        follow: Follow | None = None,
    ) -> None:
        self.detector, self.rescan, self.idle_rescan = detector, rescan, idle_rescan
        self.follow = follow
        self._boxes: list[FaceBox] = []
        self._last_scan = -float("inf")
        self.scans = 0  # full scans done (for benchmarks)
        self.followed = 0  # faces kept by the mesh where the detector missed them

    def detect_at(self, gray: np.ndarray, t: float) -> list[FaceBox]:
        since = t - self._last_scan
        near = getattr(self.detector, "detect_near", None)
        if near is not None and self._boxes and since < self.rescan:
            kept = []
            for box in self._boxes:
                hits = near(gray, box)
                found = max(hits, key=lambda b: b.score) if hits else self._follow(gray, box)
                if found is not None:
                    kept.append(found)
            self._boxes = kept
            return list(kept)
        if not self._boxes and since < self.idle_rescan:
            return []
        before, self._boxes, self._last_scan = self._boxes, self.detector.detect(gray), t
        self.scans += 1
        for box in before:  # known faces the scan missed
            if all(box.iou(b) < 0.3 for b in self._boxes):
                found = self._follow(gray, box)
                if found is not None:
                    self._boxes.append(found)
        return list(self._boxes)

    def _follow(self, gray: np.ndarray, box: FaceBox) -> FaceBox | None:
        if self.follow is None:
            return None
        found = self.follow(gray, box)
        self.followed += found is not None
        return found


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


@register("blazeface")
def _blazeface(options: DetectorOptions) -> FaceDetector:
    from fer_audio.vision.blazeface import (
        BlazeFaceDetector,  # LiteRT and the model file load only when chosen
    )

    return BlazeFaceDetector(options)


def _cascade(name: str) -> cv2.CascadeClassifier:
    path = Path(cv2.data.haarcascades) / name
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise RuntimeError(
            f"{path}: OpenCV's Haar cascade is missing; reinstall opencv-python>=4.9,<5, or name one of "
            f"the cascades in {path.parent}"
        )
    return cascade


@register("haar")
class HaarDetector:
    """An OpenCV frontal-face Haar cascade on a downscaled frame."""

    def __init__(self, options: DetectorOptions) -> None:
        self.options = options
        self._cascade = _cascade(options.cascade)
        self.window = int(self._cascade.getOriginalWindowSize()[0])  # pixels

    def detect(self, gray: np.ndarray) -> list[FaceBox]:
        h, w = gray.shape[:2]
        # Scan no finer than needed: the smallest face wanted just fills the cascade's window.
        scale = min(1.0, self.options.max_side / max(h, w), self.window / self.options.min_face)
        min_side = max(self.window, round(self.options.min_face * scale))
        return self._scan(gray, scale, (0, 0), (min_side, 0))

    def detect_near(self, gray: np.ndarray, box: FaceBox, reach: float = 0.5) -> list[FaceBox]:
        """Faces of about box's size (0.8 to 1.25 times) within `reach` box-widths of it: cheap,
        for tracking from one frame to the next."""
        h, w = gray.shape[:2]
        pad = round(reach * box.w)
        x0, y0 = max(0, box.x - pad), max(0, box.y - pad)
        x1, y1 = min(w, box.x + box.w + pad), min(h, box.y + box.h + pad)
        scale = min(1.0, 72.0 / max(box.w, 1))  # scan the face at about 72 px
        sizes = (max(self.window, round(0.8 * box.w * scale)), round(1.25 * box.w * scale) + 1)
        return self._scan(gray[y0:y1, x0:x1], scale, (x0, y0), sizes, self.options.near_scale_factor)

    def _scan(
        self,
        gray: np.ndarray,
        scale: float,
        offset: tuple[int, int],
        sizes: tuple[int, int],
        step: float | None = None,
    ) -> list[FaceBox]:
        """Faces in gray (a frame, or a region of one at `offset`) scanned at `scale`, with
        sizes (min, max; 0: no max) in scanned pixels, with pyramid `step` (default: scale_factor)."""
        h, w = gray.shape[:2]
        if scale < 1:
            gray = cv2.resize(gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        lo, hi = sizes
        boxes, _, weights = self._cascade.detectMultiScale3(
            cv2.equalizeHist(gray) if self.options.equalize else gray,
            scaleFactor=step or self.options.scale_factor,
            minNeighbors=self.options.min_neighbors,
            minSize=(lo, lo),
            maxSize=(hi, hi) if hi else (0, 0),
            outputRejectLevels=True,
        )
        x0, y0 = offset
        return [
            FaceBox(
                x0 + round(x / scale), y0 + round(y / scale), round(bw / scale), round(bh / scale), float(s)
            )
            for (x, y, bw, bh), s in zip(np.reshape(boxes, (-1, 4)), np.ravel(weights), strict=True)
            if s > self.options.min_score
        ]
