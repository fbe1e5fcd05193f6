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

from fer_audio.labels import EMOTIONS


def load():
    """A fer.FER detector, or None where the package is not installed."""
    try:
        from fer.fer import FER
    except ImportError:
        return None
    return FER()


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
