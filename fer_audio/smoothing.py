"""From a noisy per-frame probability stream to a few trustworthy events, for one face.

Pure and deterministic: it is fed (timestamp, probabilities) and returns events; no clocks,
threads or I/O. Everything is in seconds, so it behaves the same at 10 or 60 frames per second.

How an emotion event happens:

1. Each frame's 7 probabilities are partly (``evidence_mix``) replaced by the evidence they
   give for each emotion, knowing what the model typically outputs for faces of that emotion
   (``profiles``: it reads a fearful face as part sad, so some sad counts toward fear); then each
   is multiplied by its emotion's ``weights`` entry and renormalised; then they are averaged
   with an exponential moving average whose time constant is ``time_constant`` seconds (the
   weight of a frame depends on the time since the last one).
2. The leading emotion of that average becomes a *candidate* if it differs from the emotion
   the listener last heard, beats it by ``margin`` and reaches ``min_confidence``.
3. The candidate must stay the candidate for ``dwell`` seconds.
4. No two emotion events of one face come closer than ``refractory`` seconds.

An event's time ``t`` is when these conditions were met, interpolated between frames (at most
the current frame's time), so the same stream gives the same events at 15 or 60 fps.

Neutral is the resting state: a return to neutral is silent unless ``neutral_cue`` is set.
A face is announced (``face_found``) once it has been seen for ``found_grace`` seconds, and
``face_lost`` once it has not been seen for ``lost_grace`` seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from fer_audio.labels import EMOTIONS, NEUTRAL, NUM_CLASSES
from fer_audio.types import EmotionEvent

# The shipped model gives fear and disgust faces low probabilities (on the validation split, a
# fearful face averages 0.29 for fear and 0.19 for sad), so changes to them came late or not at
# all; these weights were chosen with the other defaults by benchmarks/tune_smoothing.py.
MODEL_WEIGHTS = (1.0, 1.3, 1.15, 1.0, 1.0, 1.0, 1.0)  # angry disgust fear happy sad surprise neutral

# The shipped model's mean output (columns, FER-2013 order) for faces of each true emotion (rows)
# on the training run's validation slice; python -m benchmarks.tune_smoothing prints it for a model.
MODEL_PROFILES = (
    (0.344, 0.036, 0.153, 0.106, 0.166, 0.055, 0.139),
    (0.164, 0.332, 0.114, 0.088, 0.129, 0.048, 0.125),
    (0.139, 0.029, 0.290, 0.102, 0.186, 0.119, 0.136),
    (0.075, 0.022, 0.068, 0.614, 0.078, 0.055, 0.088),
    (0.153, 0.028, 0.162, 0.106, 0.314, 0.050, 0.187),
    (0.078, 0.020, 0.140, 0.091, 0.074, 0.506, 0.091),
    (0.136, 0.027, 0.128, 0.126, 0.190, 0.062, 0.333),
)


@dataclass(frozen=True)
class SmootherOptions:
    """Defaults tuned with benchmarks/tune_smoothing.py on validation-split sequences (the
    shipped model's real noise at 15 and 30 fps); figures in the README."""

    time_constant: float = 0.4  # s, of the exponential moving average of probabilities
    margin: float = 0.04  # the new emotion must lead the last announced one by this much
    min_confidence: float = 0.2  # smoothed probability an emotion needs to be announced
    dwell: float = 0.2  # s a candidate must stay ahead before it is announced
    refractory: float = 1.0  # s, the least time between two emotion events of one face
    neutral_cue: bool = False  # announce returns to neutral (else they are silent)
    found_grace: float = 0.3  # s a face must be seen before face_found
    lost_grace: float = 1.0  # s without a detection before face_lost
    evidence_mix: float = 0.25  # 0..1, the share of each frame's probabilities replaced by the
    # evidence for each emotion given the model's profiles (0: the probabilities as they are)
    profiles: tuple[tuple[float, ...], ...] = MODEL_PROFILES  # mean output per true emotion
    weights: tuple[float, ...] = MODEL_WEIGHTS  # per emotion (FER-2013 order), applied to each
    # frame's probabilities before averaging: above 1 for an emotion the model under-reports


SENSITIVITY = {
    "low": SmootherOptions(time_constant=0.5, margin=0.06, min_confidence=0.22, dwell=0.35, refractory=1.5),
    "medium": SmootherOptions(),
    "high": SmootherOptions(time_constant=0.3, margin=0.02, min_confidence=0.2, dwell=0.15, refractory=0.8),
}


def sensitivity(name: str, **overrides) -> SmootherOptions:
    """The preset for 'low', 'medium' or 'high', with any field overridden by keyword."""
    if name not in SENSITIVITY:
        raise ValueError(f"sensitivity must be one of {', '.join(SENSITIVITY)}")
    return replace(SENSITIVITY[name], **overrides)


class EmotionSmoother:
    """Per-face smoother. update() on each detection, missing() on frames without it."""

    def __init__(self, face: int = 0, options: SmootherOptions = SmootherOptions()) -> None:
        self.face, self.options = face, options
        profiles = np.asarray(options.profiles, np.float64).reshape(NUM_CLASSES, NUM_CLASSES)
        # row c: how much more often than on average the model gives each output for emotion c
        self._relative = profiles / profiles.mean(axis=0)
        self._weights = np.asarray(options.weights, np.float64).reshape(NUM_CLASSES)
        self.reset()

    def reset(self) -> None:
        """Forget the face: as if it had never been seen."""
        self.smoothed: np.ndarray | None = None
        self.heard = NEUTRAL  # the emotion the listener last heard (neutral: resting)
        self.last_t: float | None = None
        self.first_seen: float | None = None
        self.last_seen: float | None = None
        self.found = False
        self.x = 0.5
        self._previous: np.ndarray | None = None  # smoothed at the previous sample
        self._previous_t: float | None = None
        self._last_input: np.ndarray | None = None
        self._candidate: int | None = None
        self._candidate_since = 0.0
        self._last_event = -math.inf

    @property
    def current(self) -> str:
        return EMOTIONS[self.heard]

    def _average(self, t: float, probs: np.ndarray) -> None:
        """Exact EMA for an input that moves linearly from the last sample to this one, so the
        result does not depend on the frame rate."""
        self._previous = self.smoothed
        if self.smoothed is None or self.last_t is None or self.options.time_constant <= 0:
            self.smoothed = probs.copy()
        elif t > self.last_t:
            dt, tau = t - self.last_t, self.options.time_constant
            decay = math.exp(-dt / tau)
            slope_tau = (probs - self._last_input) * (tau / dt)
            self.smoothed = probs - slope_tau + (self.smoothed - self._last_input + slope_tau) * decay
        self._last_input = probs
        self._previous_t, self.last_t = self.last_t, t

    def update(self, t: float, probs: np.ndarray, x: float = 0.5) -> list[EmotionEvent]:
        """A detection at time t (s) with probabilities (7,); x is the face centre 0..1."""
        probs = self._evidence(np.asarray(probs, np.float64).reshape(NUM_CLASSES))
        events = (
            self.missing(t)
            if self.last_seen is not None and t - self.last_seen >= self.options.lost_grace
            else []
        )
        if self.first_seen is None:
            self.first_seen = t
        self.last_seen, self.x = t, float(x)
        self._average(t, probs)
        if not self.found and t - self.first_seen >= self.options.found_grace:
            self.found = True
            events.append(EmotionEvent(t, "face_found", self.face, x=self.x))
        if self.found:
            events.extend(self._decide(t))
        return events

    def _evidence(self, probs: np.ndarray) -> np.ndarray:
        """One frame's probabilities -> what is averaged (evidence_mix and weights applied)."""
        mix = self.options.evidence_mix
        if mix > 0:
            likelihood = self._relative @ probs
            probs = (1 - mix) * probs + mix * likelihood / max(float(likelihood.sum()), 1e-12)
        probs = probs * self._weights
        return probs / max(float(probs.sum()), 1e-12)

    def missing(self, t: float) -> list[EmotionEvent]:
        """No detection at time t; returns [face_lost] once the grace period has passed."""
        if self.last_seen is None or t - self.last_seen < self.options.lost_grace:
            return []
        was_found, x = self.found, self.x
        self.reset()
        return [EmotionEvent(t, "face_lost", self.face, x=x)] if was_found else []

    def _lead(self, s: np.ndarray, best: int) -> float:
        """How far `best` is past both thresholds (>= 0 means it qualifies)."""
        o = self.options
        return min(s[best] - s[self.heard] - o.margin, s[best] - o.min_confidence)

    def _onset(self, t: float, best: int) -> float:
        """When, between the previous sample and t, the candidate crossed its thresholds."""
        if self._previous is None or self._previous_t is None:
            return t
        before, now = self._lead(self._previous, best), self._lead(self.smoothed, best)
        if before >= 0:  # it already qualified at the previous sample (the reference changed)
            return self._previous_t
        if now <= before:
            return t
        return self._previous_t + (t - self._previous_t) * (-before) / (now - before)

    def _decide(self, t: float) -> list[EmotionEvent]:
        s, o = self.smoothed, self.options
        best = int(np.argmax(s))
        if best == self.heard or self._lead(s, best) < 0:
            self._candidate = None
            return []
        if best != self._candidate:
            self._candidate, self._candidate_since = best, self._onset(t, best)
        due = max(self._candidate_since + o.dwell, self._last_event + o.refractory)
        if t < due - 1e-9:
            return []
        self.heard, self._candidate = best, None
        if best == NEUTRAL and not o.neutral_cue:
            return []
        self._last_event = due
        return [EmotionEvent(due, "emotion", self.face, EMOTIONS[best], float(s[best]), self.x)]

    def announce_current(self, t: float) -> EmotionEvent:
        """An emotion event for what is heard now (the listener asked: 'space' key)."""
        conf = float(self.smoothed[self.heard]) if self.smoothed is not None else 0.0
        return EmotionEvent(t, "emotion", self.face, self.current, conf, self.x)
