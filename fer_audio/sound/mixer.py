"""The mixer: a thread-safe, bounded queue of cues that the audio callback only copies from.

One cue is heard at a time. A low-priority cue (a nod, a glance) is held back, not queued, while a
normal one (an emotion, a state) plays or waits; over `max_backlog` seconds the lowest-priority,
oldest cue is dropped, so an emotion is never dropped for a gesture. The callback checks the
stream's status (python-sounddevice's examples do): underflows are counted, and `drained` is set
when everything queued has been handed to the device, which is how a caller waits for the end of
playback instead of polling.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

import numpy as np

from fer_audio.sound.earcons import SAMPLE_RATE

MAX_BACKLOG_SECONDS = 1.0  # queued audio beyond this is dropped, oldest first
LOW, NORMAL = 0, 1  # cue priorities: head gestures and gaze; emotions and states


@dataclass
class Cue:
    samples: np.ndarray  # (n, 2) float32
    key: Hashable | None = None  # a newer cue with the same key replaces this one while queued
    priority: int = NORMAL  # over the backlog, the lowest-priority, oldest cue goes first
    submitted: float = 0.0  # clock() when submitted
    started: float | None = None  # clock() when its first sample was handed to the callback


@dataclass
class Mixer:
    """Thread-safe queue of cues; fill() is called from the audio callback and only copies (the
    module docstring has the rules)."""

    max_backlog: float = MAX_BACKLOG_SECONDS  # seconds
    clock: Callable[[], float] = time.perf_counter
    muted: bool = False
    _queue: deque = field(default_factory=deque)
    _current: Cue | None = None
    _pos: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    replaced: int = 0  # queued cues replaced by a newer one with the same key
    held_back: int = 0  # low-priority cues not queued because a normal one was playing or waiting
    over_backlog: int = 0  # cues dropped because more than max_backlog seconds were queued
    underflows: int = 0  # callbacks the device reported it ran dry before (PortAudio's status)
    drained: threading.Event = field(default_factory=threading.Event)  # set: nothing left to play

    @property
    def dropped(self) -> int:
        return self.replaced + self.held_back + self.over_backlog

    def submit(self, samples: np.ndarray, key: Hashable | None = None, priority: int = NORMAL) -> Cue:
        cue = Cue(np.ascontiguousarray(samples, np.float32), key, priority, self.clock())
        with self._lock:
            if priority < NORMAL and any(c.priority >= NORMAL for c in (self._current, *self._queue) if c):
                self.held_back += 1
                return cue
            if key is not None:
                kept = [c for c in self._queue if c.key != key]
                self.replaced += len(self._queue) - len(kept)
                self._queue = deque(kept)
            self._queue.append(cue)
            self.drained.clear()
            limit = int(self.max_backlog * SAMPLE_RATE)
            while len(self._queue) > 1 and sum(len(c.samples) for c in self._queue) > limit:
                victim = min(range(len(self._queue)), key=lambda i: (self._queue[i].priority, i))
                del self._queue[victim]
                self.over_backlog += 1
        return cue

    def dropped_text(self) -> str:
        """'' when nothing was dropped, else how many cues and why, for the closing summary."""
        parts = [
            f"{n} {why}"
            for n, why in (
                (self.replaced, "replaced by a newer cue of the same face"),
                (self.held_back, "gestures held back while an emotion or state cue played"),
                (self.over_backlog, "over the backlog"),
            )
            if n
        ]
        return (
            f"{self.dropped} cue{'' if self.dropped == 1 else 's'} not played: {', '.join(parts)}"
            if parts
            else ""
        )

    def backlog_seconds(self) -> float:
        with self._lock:
            queued = sum(len(c.samples) for c in self._queue)
            playing = len(self._current.samples) - self._pos if self._current is not None else 0
        return (queued + playing) / SAMPLE_RATE

    def idle(self) -> bool:
        with self._lock:
            return self._current is None and not self._queue

    def __post_init__(self) -> None:
        self.drained.set()  # nothing queued yet

    def fill(self, out: np.ndarray) -> None:
        """Write the next len(out) frames into out (n, 2): cue samples, then silence."""
        out.fill(0.0)
        written = 0
        with self._lock:
            while written < len(out):
                if self._current is None:
                    if not self._queue:
                        break
                    self._current, self._pos = self._queue.popleft(), 0
                    self._current.started = self.clock()
                n = min(len(out) - written, len(self._current.samples) - self._pos)
                if not self.muted:
                    out[written : written + n] = self._current.samples[self._pos : self._pos + n]
                written += n
                self._pos += n
                if self._pos >= len(self._current.samples):
                    self._current = None
            if self._current is None and not self._queue:
                self.drained.set()

    def callback(self, outdata, frames, time_info, status) -> None:  # sounddevice's signature
        if status and status.output_underflow:  # the device ran dry before this block (a busy CPU)
            self.underflows += 1
        self.fill(outdata)
