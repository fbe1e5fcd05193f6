"""Typed results passed between stages (frozen dataclasses; full-precision values)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fer_audio.labels import EMOTIONS

Say = Callable[[str], None]  # where a wiring sends a line of text (the CLI prints; a script may not)


def quiet(_line: str) -> None:
    """A Say that drops the line: the default for library callers."""


KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear")  # the person's
# own right and left: their right eye is on the left of the image


@dataclass(frozen=True)
class FaceBox:
    """A face in pixel coordinates of its frame; score is the detector's confidence (or 1.0)."""

    x: int
    y: int
    w: int
    h: int
    score: float = 1.0
    keypoints: tuple[tuple[float, float], ...] = ()  # frame pixels, where the detector gives them
    # (BlazeFace: KEYPOINTS order); empty for Haar

    @property
    def area(self) -> int:
        return self.w * self.h

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.w / 2.0, self.y + self.h / 2.0

    def iou(self, other: FaceBox) -> float:
        ix = max(0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def scaled(self, factor: float) -> FaceBox:
        """The same box in an image `factor` times as large (a face found in a reduced decode)."""
        if factor == 1.0:
            return self
        return FaceBox(
            round(self.x * factor),
            round(self.y * factor),
            round(self.w * factor),
            round(self.h * factor),
            self.score,
            tuple((x * factor, y * factor) for x, y in self.keypoints),
        )


@dataclass(frozen=True)
class HeadPose:
    """Degrees. yaw > 0: the face turns towards the image's right; pitch > 0: it tilts up;
    roll > 0: it leans clockwise as seen in the image. All 0: facing the camera."""

    yaw: float
    pitch: float
    roll: float


@dataclass(frozen=True)
class FacePrediction:
    """One classified face: its box, the top emotion, all 7 probabilities (float32, sum 1), and
    its head pose where the face mesh ran (gestures or gaze wanted)."""

    box: FaceBox
    probabilities: np.ndarray  # (7,) float32 in fer_audio.labels order
    pose: HeadPose | None = None

    @property
    def index(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def emotion(self) -> str:
        return EMOTIONS[self.index]

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.index])


@dataclass(frozen=True)
class EmotionEvent:
    """Something the listener should hear about one tracked face.

    kind: 'emotion', 'face_found', 'face_lost', or a head cue: 'nod', 'shake', 'looking',
    'looking_away'; or, with no sound, 'rest_face' (the learned rest-face correction moved) and
    'rest_face_set' (the listener's key set it); t: seconds since the stream started;
    x: horizontal centre of the face, 0 (left) .. 1 (right); confidence: smoothed, 0..1;
    values: for the rest-face kinds, the correction taken off each emotion's calibrated
    log-probability (nats, fer_audio.labels order); empty otherwise.
    """

    t: float
    kind: str
    face: int
    emotion: str = ""
    confidence: float = 0.0
    x: float = 0.5
    values: tuple[float, ...] = ()
