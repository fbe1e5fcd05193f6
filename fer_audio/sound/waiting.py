"""Cues that wait for a pause in the partner's speech (`live --wait-for-pause`).

Pure logic, on the session's clock (seconds of source time); the listening side
(fer_audio/sound/listening.py) says how long it has been quiet. A cue that waits is played in the
first pause of at least `pause` seconds, or once it has waited `max_wait` seconds whatever is
heard; a pause takes one cue, and the next needs a pause heard after that cue has ended. While it
waits it can go stale: a newer cue for the same face (a newer emotion, the face lost) replaces
it, and one whose face has left is dropped. Where nothing is listening (the microphone is gone),
nothing waits.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

WAIT_MODES = ("all", "speech")  # all cues wait; only cues with spoken words wait (earcons pass)


@dataclass(frozen=True)
class PauseOptions:
    """`--wait-for-pause` and what it listens to. wait=None: cues play at once (the default)."""

    wait: str | None = None  # None | "all" | "speech"
    pause: float = 0.3  # s of quiet that count as a pause
    max_wait: float = 2.0  # s a cue waits at most
    microphone: str | None = None  # input device name or index; None: the system default
    listen_to_source: bool = False  # the video file's own sound track stands in for the microphone
    detector: str = "silero"  # voice-activity detector (fer_audio.sound.vad.DETECTORS)

    @property
    def on(self) -> bool:
        return self.wait is not None


@dataclass
class Waiting:
    """One cue on hold: what to play (payload, opaque here) and when it became due."""

    key: Hashable
    face: int
    due: float
    payload: Any
    seconds: float = 0.0  # how long it sounds


@dataclass
class PauseGate:
    options: PauseOptions
    pending: list[Waiting] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)  # s each released cue waited (0: none)
    replaced: int = 0  # waiting cues replaced by a newer one of the same face
    left: int = 0  # waiting cues dropped because their face had left
    busy_until: float = -1e9  # when the last cue released will have ended

    def submit(self, item: Waiting) -> Waiting | None:
        """Hold `item`; returns the waiting cue it replaces (the same key), if any."""
        old = next((w for w in self.pending if w.key == item.key), None)
        if old is not None:
            self.pending.remove(old)
            self.replaced += 1
        self.pending.append(item)
        return old

    def drop_faces_gone(self, present: set[int]) -> list[Waiting]:
        """Drop the waiting cues of faces no longer tracked; returns them."""
        gone = [w for w in self.pending if w.face >= 0 and w.face not in present]
        for w in gone:
            self.pending.remove(w)
        self.left += len(gone)
        return gone

    def release(self, t: float, quiet_for: float | None) -> list[Waiting]:
        """The cues to play at time t, oldest first. quiet_for: seconds since speech was last
        heard (0 while it is heard), or None when nothing is listening (then nothing waits)."""
        if not self.pending:
            return []
        self.pending.sort(key=lambda w: w.due)
        if quiet_for is None:
            out, self.pending = self.pending, []
        else:
            out = [w for w in self.pending if t - w.due >= self.options.max_wait]
            # one cue a pause, and a pause heard after the last cue has ended: two cues back to back
            # would run on into the person's next words
            quiet = min(quiet_for, t - self.busy_until) >= self.options.pause
            if quiet and not out:
                out = self.pending[:1]
            self.pending = [w for w in self.pending if w not in out]
        self.waits += [max(0.0, t - w.due) for w in out]
        for w in out:
            self.busy_until = max(self.busy_until, t) + w.seconds
        return out

    def played_at_once(self) -> None:
        """A cue that did not wait (it was not held): counted with a wait of 0."""
        self.waits.append(0.0)

    def flush(self) -> list[Waiting]:
        """The session ends: what still waits plays now."""
        out, self.pending = self.pending, []
        return sorted(out, key=lambda w: w.due)

    def summary_text(self) -> str:
        """'' when nothing waited; else how many cues waited, how long, and the stale ones."""
        waited = [w for w in self.waits if w > 0]
        stale = self.replaced + self.left
        if not waited and not stale:
            return ""
        text = f"{len(waited)} of {len(self.waits)} cues waited for a pause"
        if waited:
            text += f" (median {np.median(waited):.1f} s, 90th percentile {np.percentile(waited, 90):.1f} s)"
        if stale:
            why = f"{self.replaced} replaced by a newer cue, {self.left} face gone"
            text += f"; {stale} dropped as stale ({why})"
        return text

    def record(self) -> dict:
        waited = [w for w in self.waits if w > 0]
        return {
            "cues": len(self.waits),
            "waited": len(waited),
            "wait_median": round(float(np.median(waited)), 3) if waited else 0.0,
            "wait_p90": round(float(np.percentile(waited, 90)), 3) if waited else 0.0,
            "stale_replaced": self.replaced,
            "stale_face_gone": self.left,
        }
