"""A person's face at rest, learned from their own frames, so that each face is read against it.

People's resting faces read as emotions of their own (a stern face as angry, a talking mouth as
surprise); person-specific normalisation is how OpenFace makes its action units person-independent
(Baltrusaitis et al., FG 2015). Pure and deterministic, like the smoother: fed (timestamp,
calibrated log-probabilities), no clocks or I/O; everything in seconds.

Its space is the calibrated log-probabilities (fer_audio.events.calibration) with their mean over
the 7 classes taken off (centred). How it works:

- one sample every ``interval`` seconds of face; the estimate is the median of the samples of the
  last ``window`` seconds, class by class (robust: expressions that come and go do not move it);
- the correction subtracted from every frame is (estimate - ``reference``), where the reference
  is how the model reads a typical face at rest: the person's rest face is then read as a typical
  rest face, and what differs from it as the expression it is;
- it is taken at ``weight``, shrunk by seen / (seen + ``shrink``) while few seconds have been
  seen (at first nothing is corrected: a face angry from its first frame is heard as angry), and
  limited to +-``limit`` for each class (a long, strong expression is still heard);
- set_now() (the listener's key: "this is their face at rest, now") sets the estimate from the
  median of the next ``capture`` seconds, at ``key_weight`` (a second of face is a smaller sample
  than the minutes the learned estimate sees), and holds it for that person.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from fer_audio.events.calibration import shipped_reading
from fer_audio.labels import NUM_CLASSES

# How the shipped model (through its calibration) reads a face at rest, from its sidecar
# (fer_audio/models/fer2013.json): class by class, the median centred calibrated log-probabilities
# of the PublicTest faces the crowd calls neutral (python -m benchmarks.tune_events --write).
REST_REFERENCE: tuple[float, ...] = shipped_reading()["rest_reference"]


@dataclass(frozen=True)
class RestFaceOptions:
    """How a person's rest face is learned and applied (module docstring: the steps); how the
    defaults were chosen: BENCHMARKS.md, "How the defaults were chosen: on real video"."""

    weight: float = 1.0  # share of the difference from the reference that is corrected
    shrink: float = 10.0  # s of face seen at which half of `weight` applies
    limit: float = 2.0  # nats: the most the correction moves any one class
    window: float = 120.0  # s: the estimate is the median of the last this many seconds of face
    interval: float = 0.2  # s between two samples
    capture: float = 1.0  # s after the key whose frames set the estimate
    key_weight: float = 0.5  # the share corrected once the key has set it (a second is a small sample)
    keep: float = 5.0  # s a lost face's estimate waits for it to come back at the same place
    reference: tuple[float, ...] = REST_REFERENCE  # the model's reading of a typical rest face
    report_step: float = 1.0  # nats: a learned correction is reported when a class moved this much


def centred(log_probs: np.ndarray) -> np.ndarray:
    """Log-probabilities (..., 7) with their mean over the classes taken off."""
    return log_probs - log_probs.mean(axis=-1, keepdims=True)


class RestFace:
    """One person's rest-face estimate. observe() on each of their frames; correction is what to
    subtract from that frame's calibrated log-probabilities."""

    def __init__(self, options: RestFaceOptions = RestFaceOptions()) -> None:
        self.options = options
        self._reference = np.asarray(options.reference, np.float64)
        self._samples: deque[np.ndarray] = deque(maxlen=max(1, int(round(options.window / options.interval))))
        self._slot = -math.inf  # the sampling slot of the latest sample
        self._count = 0  # samples taken for the learned estimate
        self.keyed = False  # the key set the estimate: it is held
        self._capture_until: float | None = None  # the key was pressed: capturing until then
        self._captured: list[np.ndarray] = []
        self.correction = np.zeros(NUM_CLASSES)  # subtract from the calibrated log-probabilities
        self._reported = self.correction  # the correction last reported

    def observe(self, t: float, log_probs: np.ndarray) -> str | None:
        """A frame of this person at time t (s) with calibrated log-probabilities (7,). Returns
        'rest_face_set' when the key's capture ended with this frame, 'rest_face' when the learned
        correction has moved by `report_step` in some class since it was last reported, else None."""
        slot = math.floor(t / self.options.interval)
        if slot == self._slot:
            return None
        self._slot = slot
        sample = centred(np.asarray(log_probs, np.float64))
        if self._capture_until is not None:
            self._captured.append(sample)
            if t < self._capture_until:
                return None
            self._set(np.median(self._captured, axis=0), self.options.key_weight)
            self._capture_until, self._captured, self.keyed = None, [], True
            self._reported = self.correction
            return "rest_face_set"
        if self.keyed:
            return None
        self._samples.append(sample)
        self._count += 1
        shrunk = self.options.weight * self.seen / (self.seen + self.options.shrink)
        self._set(np.median(self._samples, axis=0), shrunk)
        if np.abs(self.correction - self._reported).max() < self.options.report_step:
            return None
        self._reported = self.correction
        return "rest_face"

    def _set(self, estimate: np.ndarray, weight: float) -> None:
        limit = self.options.limit
        self.correction = np.clip(weight * (estimate - self._reference), -limit, limit)

    def set_now(self, t: float) -> None:
        """The listener's key: the next `capture` seconds of this face are its face at rest."""
        self._capture_until, self._captured = t + self.options.capture, []

    @property
    def seen(self) -> float:
        """Seconds of this face sampled for the learned estimate."""
        return self._count * self.options.interval
