"""From a noisy per-frame probability stream to a few trustworthy events, for one face.

Pure and deterministic: it is fed (timestamp, probabilities) and returns events; no clocks,
threads or I/O. Everything is in seconds, so it behaves the same at 10 or 60 frames per second.

How an emotion event happens:

1. Each frame's 7 probabilities are turned into calibrated log-probabilities of each true
   emotion (``calibration``: fitted to the shipped model, whose probabilities for the classes the
   crowd rarely names, disgust and fear, run low; see fer_audio/events/calibration.py); averaged with
   an exponential moving average whose time constant is ``time_constant`` seconds (the weight of
   a frame depends on the time since the last one), and the average is turned back into
   probabilities (softmax): the evidence of the last second or so, with each frame's say
   weighed by how much the model's outputs of that kind can be trusted.
2. The leading emotion of that average becomes a *candidate* if it differs from the emotion
   the listener last heard, beats it by ``margin`` and reaches ``min_confidence``.
3. The candidate must stay the candidate for ``dwell`` seconds.
4. No two emotion events of one face come closer than ``refractory`` seconds, and the first comes
   no sooner than ``first_wait`` seconds after the face was announced (a face's first frames,
   read before anything is known of that person, are the least sure).
5. An emotion the listener heard announced is not announced again within ``repeat_interval``
   seconds of when it was last the heard state, unless another emotion was announced in between:
   a smile that comes and goes is one "happy", not one every few seconds (it becomes the heard
   state again, silently).

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

from fer_audio.events.calibration import Calibration, as_table, log_evidence, shipped_reading
from fer_audio.labels import EMOTIONS, NEUTRAL, NUM_CLASSES
from fer_audio.types import EmotionEvent

# The shipped model's calibration, from its sidecar (fer_audio/models/fer2013.json): fitted to its
# outputs (after the prior correction) for the PublicTest faces by python -m
# benchmarks.tune_smoothing, which writes it there (--write) for a model.
MODEL_CALIBRATION: Calibration = shipped_reading()["calibration"]


@dataclass(frozen=True)
class SmootherOptions:
    """How one face's probability stream becomes events (module docstring: the steps). The
    defaults are the `medium` sensitivity, fitted on real video: BENCHMARKS.md, "How the defaults
    were chosen: on real video"."""

    time_constant: float = 0.3  # s, of the exponential moving average of calibrated log-probabilities
    margin: float = 0.15  # the new emotion must lead the last announced one by this much
    min_confidence: float = 0.35  # smoothed probability an emotion needs to be announced
    dwell: float = 0.5  # s a candidate must stay ahead before it is announced
    refractory: float = 0.8  # s, the least time between two emotion events of one face
    repeat_interval: float = 20.0  # s: the same emotion is not announced again this soon (step 5)
    first_wait: float = 1.5  # s after face_found before the face's first emotion event (step 4)
    neutral_cue: bool = False  # announce returns to neutral (else they are silent)
    found_grace: float = 0.3  # s a face must be seen before face_found
    lost_grace: float = 1.0  # s without a detection before face_lost
    calibration: Calibration | None = MODEL_CALIBRATION  # for the shipped model (a model of your
    # own: the one its sidecar carries, read by fer_audio.apps.live); None: outputs as they are


SENSITIVITY = {  # medium fitted on real video (benchmarks/tune_events.py); low is later and quieter,
    # high sooner and busier (their figures: BENCHMARKS.md, "The face at rest")
    "low": SmootherOptions(
        time_constant=0.45,
        margin=0.2,
        min_confidence=0.4,
        dwell=0.7,
        refractory=1.2,
        repeat_interval=30.0,
        first_wait=2.0,
    ),
    "medium": SmootherOptions(),
    "high": SmootherOptions(
        time_constant=0.25, margin=0.06, min_confidence=0.25, dwell=0.3, repeat_interval=10.0, first_wait=1.0
    ),
}


DEFAULT_SENSITIVITY = "medium"  # the preset SmootherOptions() is


def sensitivity(name: str, **overrides) -> SmootherOptions:
    """The preset for 'low', 'medium' or 'high', with any field overridden by keyword."""
    if name not in SENSITIVITY:
        raise ValueError(f"sensitivity must be one of {', '.join(SENSITIVITY)}")
    return replace(SENSITIVITY[name], **overrides)


class EmotionSmoother:
    """Per-face smoother. update() on each detection, missing() on frames without it."""

    def __init__(self, face: int = 0, options: SmootherOptions = SmootherOptions()) -> None:
        self.face, self.options = face, options
        self._calibration = as_table(options.calibration)
        self.reset()

    def reset(self) -> None:
        """Forget the face: as if it had never been seen."""
        self.smoothed: np.ndarray | None = None  # probabilities from the averaged evidence
        self._mean_log: np.ndarray | None = None  # the average of calibrated log-probabilities
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
        self._restart_words()

    def _restart_words(self) -> None:
        self._last_word: int | None = None  # the emotion last announced (never neutral)
        self._word_left = -math.inf  # when the heard state last left it (inf: it is heard now)

    def restart(self) -> None:
        """The listener starts to follow this face now: its present emotion is announced afresh."""
        self.heard = NEUTRAL
        self._restart_words()

    def _hear(self, emotion: int, t: float) -> None:
        if self.heard == self._last_word and emotion != self.heard:
            self._word_left = t
        self.heard = emotion

    @property
    def current(self) -> str:
        return EMOTIONS[self.heard]

    def _average(self, t: float, log_probs: np.ndarray) -> None:
        """Exact EMA for an input that moves linearly from the last sample to this one, so the
        result does not depend on the frame rate."""
        self._previous = self.smoothed
        if self._mean_log is None or self.last_t is None or self.options.time_constant <= 0:
            self._mean_log = log_probs.copy()
        elif t > self.last_t:
            dt, tau = t - self.last_t, self.options.time_constant
            decay = math.exp(-dt / tau)
            slope_tau = (log_probs - self._last_input) * (tau / dt)
            self._mean_log = log_probs - slope_tau + (self._mean_log - self._last_input + slope_tau) * decay
        self._last_input = log_probs
        odds = np.exp(self._mean_log - self._mean_log.max())
        self.smoothed = odds / odds.sum()
        self._previous_t, self.last_t = self.last_t, t

    def evidence(self, probs: np.ndarray) -> np.ndarray:
        """Model outputs (7,) -> calibrated log-probabilities (7,), float64 (step 1)."""
        return log_evidence(np.asarray(probs, np.float64).reshape(NUM_CLASSES), self._calibration)

    def update(self, t: float, probs: np.ndarray, x: float = 0.5) -> list[EmotionEvent]:
        """A detection at time t (s) with probabilities (7,); x is the face centre 0..1."""
        return self.update_evidence(t, self.evidence(probs), x)

    def update_evidence(self, t: float, log_probs: np.ndarray, x: float = 0.5) -> list[EmotionEvent]:
        """As update(), from calibrated log-probabilities (7,) (evidence(), perhaps corrected)."""
        events = (
            self.missing(t)
            if self.last_seen is not None and t - self.last_seen >= self.options.lost_grace
            else []
        )
        if self.first_seen is None:
            self.first_seen = t
        self.last_seen, self.x = t, float(x)
        self._average(t, log_probs)
        if not self.found and t - self.first_seen >= self.options.found_grace:
            self.found = True
            self._last_event = t + self.options.first_wait - self.options.refractory
            events.append(EmotionEvent(t, "face_found", self.face, x=self.x))
        if self.found:
            events.extend(self._decide(t))
        return events

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
        repeat = best == self._last_word and due - self._word_left < o.repeat_interval
        self._hear(best, due)
        self._candidate = None
        if (best == NEUTRAL and not o.neutral_cue) or repeat:
            return []
        self._last_event = due
        if best != NEUTRAL:
            self._last_word, self._word_left = best, math.inf
        return [EmotionEvent(due, "emotion", self.face, EMOTIONS[best], float(s[best]), self.x)]

    def announce_current(self, t: float) -> EmotionEvent:
        """An emotion event for what is heard now (the listener asked: 'space' key)."""
        conf = float(self.smoothed[self.heard]) if self.smoothed is not None else 0.0
        return EmotionEvent(t, "emotion", self.face, self.current, conf, self.x)
