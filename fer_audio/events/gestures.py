"""Head gestures and gaze from a stream of head poses, for one face: nod, shake, looking, looking away.

Pure and deterministic like the emotion smoother: it is fed (timestamp, HeadPose) and returns
events; everything is in seconds and degrees, so it behaves the same at 15 or 60 fps.

Nod and shake: each axis (pitch for a nod, yaw for a shake) is low-passed (time constant
``smoothing``) and cut into *swings* between turning points (a turn is confirmed once the head
has come back ``swing`` degrees from an extreme). A gesture is an oscillation: two reversals in a
rhythm, to both sides of where the head was. Read at the moment the third swing is confirmed:

- the first two swings each take at most ``max_swing`` seconds, and the third starts within it;
- the middle swing (from one side to the other) spans at least ``nod_swing`` / ``shake_swing``
  degrees, and at least ``ordinary`` times the range this person's head moved on that axis in
  the ``context`` seconds before (a head that moves a lot as it talks must move more to nod);
- both extremes lie on their own side of where the head was before (the median of the second
  before the first swing), each at least ``side`` degrees from it, the smaller at least
  ``balance`` times the larger: a turn away and back, a glance or a look down and up goes to
  one side only and is no gesture;
- the other axis moved less than the gesture's swing divided by ``dominance``.

A slow turn, a still head and an expression on a still head have no such oscillation.

Looking (the listener's proxy for "looking at me"): the head facing the camera, |yaw| and |pitch|
within ``look_enter`` degrees, for ``look_dwell`` seconds; looking away: beyond ``look_leave``
(hysteresis) for ``away_dwell`` seconds, a turn that lasts, not a glance. The first state is
announced only if it is "looking" (a face that arrives looking away is not news).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from fer_audio.types import EmotionEvent, HeadPose

GESTURES = ("nod", "shake")
GAZE = ("looking", "looking_away")


@dataclass(frozen=True)
class GestureOptions:
    gestures: bool = True  # nod and shake events
    gaze: bool = True  # looking / looking_away events
    # thresholds chosen on real talking video with python -m benchmarks headcues (BENCHMARKS.md)
    smoothing: float = 0.05  # s, time constant of the pose low-pass (the mesh's jitter)
    swing: float = 4.0  # degrees the head must come back from an extreme to make it a turning point
    nod_swing: float = 12.0  # degrees, smallest middle swing of a nod (pitch, one side to the other)
    shake_swing: float = 12.0  # degrees, smallest middle swing of a shake (yaw)
    side: float = 3.0  # degrees, each extreme at least this far to its side of where the head was
    balance: float = 0.3  # the smaller side over the larger, at least
    ordinary: float = 1.5  # the middle swing over the head's range in the context before, at least
    context: float = 4.0  # s of this person's head motion that range is read over
    max_swing: float = 0.7  # s, a slower swing is a turn of the head, not part of a gesture
    dominance: float = 1.5  # the gesture's axis moved at least this many times the other's
    refractory: float = 1.0  # s, between two gestures of one face
    look_enter: float = 15.0  # degrees of yaw and of pitch within which the face looks at the camera
    look_leave: float = 25.0  # degrees of yaw or pitch beyond which it looks away
    look_dwell: float = 0.5  # s facing the camera before "looking" is announced
    away_dwell: float = 3.0  # s turned away before "looking away" is announced (not a glance)
    max_gap: float = 0.3  # s without a pose (face missed): the motion history starts afresh


class _Axis:
    """Swings of one angle: turning points (t, value) of the low-passed signal. A turning point's
    time is when the signal last left its extreme (came more than `hold` degrees from it), so a
    pause before a gesture, and the jitter during it, do not lengthen its first swing."""

    def __init__(self, swing: float, window: float) -> None:
        self.swing, self.window, self.hold = swing, window, 0.3 * swing
        self.turns: deque[tuple[float, float]] = deque(maxlen=3)
        self.samples: deque[tuple[float, float]] = deque()
        self.direction = 0  # +1 rising, -1 falling, 0 not yet known
        self.ext = (0.0, 0.0)  # (t, value) of the extreme since the last turn
        self.used: tuple[float, float] | None = None  # the last turn of the gesture last heard

    def reset(self) -> None:
        self.used = None
        self.turns.clear()
        self.samples.clear()
        self.direction = 0

    def update(self, t: float, v: float) -> bool:
        """Feed a sample; True when a new swing has just been confirmed (the signal came back
        at least `swing` degrees from its last extreme)."""
        self.samples.append((t, v))
        while self.samples[0][0] < t - self.window:
            self.samples.popleft()
        if self.direction == 0:
            lo = min(reversed(self.samples), key=lambda p: p[1])
            hi = max(reversed(self.samples), key=lambda p: p[1])
            if v - lo[1] >= self.swing:
                return self._turn(lo, +1, (t, v))
            if hi[1] - v >= self.swing:
                return self._turn(hi, -1, (t, v))
            return False
        if (v - self.ext[1]) * self.direction >= 0:
            self.ext = (t, v)
            return False
        return abs(v - self.ext[1]) >= self.swing and self._turn(self.ext, -self.direction, (t, v))

    def _turn(self, point: tuple[float, float], direction: int, now: tuple[float, float]) -> bool:
        near = [s for s, v in self.samples if s >= point[0] and abs(v - point[1]) <= self.hold]
        left = max(near, default=point[0])
        self.turns.append((left, point[1]))
        self.direction = direction
        self.ext = now
        return True


class GestureDetector:
    """update(t, pose, x) -> nod/shake/looking/looking_away events of one face."""

    def __init__(self, face: int, options: GestureOptions = GestureOptions()) -> None:
        self.face, self.options = face, options
        self._axes = {kind: _Axis(options.swing, 3 * options.max_swing) for kind in GESTURES}
        self._history: deque[tuple[float, float, float]] = deque()  # (t, yaw, pitch), filtered
        self._last_t: float | None = None
        self._yaw = self._pitch = 0.0
        self._last_gesture = -math.inf
        self.gaze: str | None = None  # the gaze state last announced (or taken as the start)
        self._candidate: tuple[str, float] | None = None  # (state, since)

    def update(self, t: float, pose: HeadPose, x: float = 0.5) -> list[EmotionEvent]:
        if not all(math.isfinite(v) for v in (pose.yaw, pose.pitch)):
            return []
        self._filter(t, pose)
        events = []
        if self.options.gestures:
            events += self._gestures(t, x)
        if self.options.gaze:
            events += self._gaze(t, x)
        return events

    def _filter(self, t: float, pose: HeadPose) -> None:
        o = self.options
        if self._last_t is None or t - self._last_t > o.max_gap:
            self._yaw, self._pitch = pose.yaw, pose.pitch
            self._history.clear()
            for axis in self._axes.values():
                axis.reset()
        else:
            a = 1.0 - math.exp(-(t - self._last_t) / o.smoothing) if o.smoothing > 0 else 1.0
            self._yaw += a * (pose.yaw - self._yaw)
            self._pitch += a * (pose.pitch - self._pitch)
        self._last_t = t
        self._history.append((t, self._yaw, self._pitch))
        while self._history and self._history[0][0] < t - 3 * o.max_swing - o.context - 1.0:
            self._history.popleft()

    def _gestures(self, t: float, x: float) -> list[EmotionEvent]:
        out = []
        for kind, value in (("nod", self._pitch), ("shake", self._yaw)):
            axis = self._axes[kind]
            turned = axis.update(t, value)
            if (
                turned
                and axis.used is not None
                and axis.turns[-1][0] - axis.used[0] <= self.options.max_swing
            ):
                axis.used = axis.turns[-1]  # the head goes on nodding (shaking): the same gesture
            if turned and self._is_gesture(kind, axis, t):
                axis.used = axis.turns[-1]
                self._last_gesture = t
                out.append(EmotionEvent(t, kind, self.face, x=x))
        return out

    def _is_gesture(self, kind: str, axis: _Axis, t: float) -> bool:
        """The last three turning points and the move since form an oscillation not yet heard."""
        o = self.options
        if len(axis.turns) < 3 or t - self._last_gesture < o.refractory:
            return False
        (t0, v0), (t1, v1), (t2, v2) = axis.turns
        if axis.used is not None and t0 <= axis.used[0]:  # a swing already heard in a gesture
            return False
        if t1 - t0 > o.max_swing or t2 - t1 > o.max_swing or t - t2 > o.max_swing:
            return False
        middle = abs(v2 - v1)
        if middle < (o.nod_swing if kind == "nod" else o.shake_swing):
            return False
        column = 2 if kind == "nod" else 1
        before = self._values(column, t0 - 1.0, t0)
        rest = float(np.median(before)) if len(before) else v0
        sides = sorted(((v1 - rest) * np.sign(v1 - v0), (rest - v2) * np.sign(v1 - v0)))
        if sides[0] < o.side or sides[0] < o.balance * sides[1]:
            return False
        ordinary = self._values(column, t0 - o.context, t0)
        if len(ordinary) and middle < o.ordinary * float(np.ptp(ordinary)):
            return False
        other = self._values(3 - column, t0, t)
        return not len(other) or float(np.ptp(other)) * o.dominance < middle

    def _values(self, column: int, start: float, end: float) -> np.ndarray:
        """The filtered yaw (column 1) or pitch (2) between two times."""
        return np.array([h[column] for h in self._history if start <= h[0] <= end])

    def _gaze(self, t: float, x: float) -> list[EmotionEvent]:
        o = self.options
        turned = max(abs(self._yaw), abs(self._pitch))
        state = "looking" if turned <= o.look_enter else "looking_away" if turned >= o.look_leave else None
        if state is None:  # between the two thresholds: neither state is building up
            self._candidate = None
            return []
        if self._candidate is None or self._candidate[0] != state:
            self._candidate = (state, t)
        since = self._candidate[1]
        dwell = o.look_dwell if state == "looking" else o.away_dwell
        if state == self.gaze or t - since < dwell:
            return []
        first, self.gaze = self.gaze is None, state
        if first and state == "looking_away":
            return []
        return [EmotionEvent(since + dwell, state, self.face, x=x)]
