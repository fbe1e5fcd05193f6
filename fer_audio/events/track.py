"""Keeps the identity of faces across frames and runs one smoother per face.

Matching is greedy by overlap (IoU), with a centre-distance fallback for fast motion; a track
survives missed detections for the smoother's ``lost_grace``. In single-person mode only the
primary face (largest and most central, kept while it lasts) is heard.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fer_audio.events.gestures import GestureDetector, GestureOptions
from fer_audio.events.smoothing import EmotionSmoother, SmootherOptions
from fer_audio.labels import NEUTRAL
from fer_audio.types import EmotionEvent, FaceBox, FacePrediction

PEOPLE_MODES = ("one", "all")


@dataclass(frozen=True)
class TrackerOptions:
    people: str = "one"  # 'one': only the primary face is heard; 'all': everyone
    min_iou: float = 0.2  # overlap that counts as the same face
    max_center_shift: float = 0.6  # else: centre moved by at most this many face widths
    smoother: SmootherOptions = field(default_factory=SmootherOptions)
    gestures: GestureOptions = field(default_factory=GestureOptions)  # used where faces carry a pose


@dataclass
class Track:
    id: int
    box: FaceBox
    smoother: EmotionSmoother
    gestures: GestureDetector


def primary_score(box: FaceBox, width: int, height: int) -> float:
    """Bigger and nearer the centre is better: area fraction times a centrality weight."""
    cx, cy = box.center
    off = np.hypot((cx - width / 2) / width, (cy - height / 2) / height)
    return box.area / float(width * height) * (1.0 - min(off, 0.7))


class FaceTracker:
    """update(t, faces, frame size) -> events of the faces being heard."""

    def __init__(self, options: TrackerOptions = TrackerOptions()) -> None:
        if options.people not in PEOPLE_MODES:
            raise ValueError(f"people must be one of {', '.join(PEOPLE_MODES)}")
        self.options = options
        self.tracks: dict[int, Track] = {}
        self.primary: int | None = None
        self._next_id = 1

    def _match(self, faces: list[FacePrediction]) -> dict[int, int]:
        """{face index: track id}, greedy by IoU then by centre distance."""
        pairs = []
        for i, f in enumerate(faces):
            for tid, tr in self.tracks.items():
                iou = f.box.iou(tr.box)
                shift = np.hypot(f.box.center[0] - tr.box.center[0], f.box.center[1] - tr.box.center[1])
                near = shift <= self.options.max_center_shift * max(tr.box.w, 1)
                if iou >= self.options.min_iou or near:
                    pairs.append((iou, -shift, i, tid))
        matched: dict[int, int] = {}
        used: set[int] = set()
        for _, _, i, tid in sorted(pairs, reverse=True):
            if i not in matched and tid not in used:
                matched[i] = tid
                used.add(tid)
        return matched

    def update(self, t: float, faces: list[FacePrediction], width: int, height: int) -> list[EmotionEvent]:
        matched = self._match(faces)
        events: list[EmotionEvent] = []
        for i, face in enumerate(faces):
            tid = matched.get(i)
            if tid is None:
                tid = self._next_id
                self._next_id += 1
                self.tracks[tid] = Track(
                    tid,
                    face.box,
                    EmotionSmoother(tid, self.options.smoother),
                    GestureDetector(tid, self.options.gestures),
                )
            track = self.tracks[tid]
            track.box = face.box
            x = face.box.center[0] / max(width, 1)
            events += track.smoother.update(t, face.probabilities, x)
            if face.pose is not None:
                head = track.gestures.update(t, face.pose, x)
                events += head if track.smoother.found else []  # heard once the face is announced
        for tid in [tid for tid in self.tracks if tid not in matched.values()]:
            lost = self.tracks[tid].smoother.missing(t)
            events += lost
            if lost or self.tracks[tid].smoother.last_seen is None:
                del self.tracks[tid]
        return self._heard(t, events, width, height)

    def _heard(self, t: float, events: list[EmotionEvent], width: int, height: int) -> list[EmotionEvent]:
        if self.options.people == "all":
            return events
        out = [e for e in events if e.face == self.primary]
        if self.primary not in self.tracks:
            self.primary = None
            found = [tr for tr in self.tracks.values() if tr.smoother.found]
            if found:
                best = max(found, key=lambda tr: primary_score(tr.box, width, height))
                self.primary = best.id
                best.smoother.heard = NEUTRAL  # its present emotion gets announced afresh
                if not any(e.face == best.id and e.kind == "face_found" for e in events):
                    out.append(EmotionEvent(t, "face_found", best.id, x=best.smoother.x))
                else:
                    out += [e for e in events if e.face == best.id]
        return out

    def heard_tracks(self) -> list[Track]:
        if self.options.people == "all":
            return [tr for tr in self.tracks.values() if tr.smoother.found]
        return [self.tracks[self.primary]] if self.primary in self.tracks else []
