"""Keeps the identity of faces across frames; each face's Track owns its smoother, its rest-face
estimate and its gesture detector.

Matching is greedy by overlap (IoU), with a centre-distance fallback for fast motion; a track
survives missed detections for the smoother's ``lost_grace``. A face that comes back within the
rest face's ``keep`` seconds at the place where one was lost (its centre within one face width)
is taken for the same person and goes on with that person's rest-face estimate; any other new face
starts afresh. In single-person mode only the primary face (largest and most central, kept while
it lasts) is heard.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fer_audio.events.gestures import GestureDetector, GestureOptions
from fer_audio.events.restface import RestFace, RestFaceOptions
from fer_audio.events.smoothing import EmotionSmoother, SmootherOptions
from fer_audio.types import EmotionEvent, FaceBox, FacePrediction

PEOPLE_MODES = ("one", "all")


@dataclass(frozen=True)
class TrackerOptions:
    people: str = "one"  # 'one': only the primary face is heard; 'all': everyone
    min_iou: float = 0.2  # overlap that counts as the same face
    max_center_shift: float = 0.6  # else: centre moved by at most this many face widths
    smoother: SmootherOptions = field(default_factory=SmootherOptions)
    rest: RestFaceOptions | None = field(default_factory=RestFaceOptions)  # None: no rest face
    gestures: GestureOptions = field(default_factory=GestureOptions)  # used where faces carry a pose


@dataclass
class Track:
    """One followed face and all that is kept for it."""

    id: int
    box: FaceBox
    smoother: EmotionSmoother
    gestures: GestureDetector
    rest: RestFace | None = None

    @classmethod
    def start(cls, tid: int, box: FaceBox, options: TrackerOptions, rest: RestFace | None = None) -> Track:
        if rest is None and options.rest is not None:
            rest = RestFace(options.rest)
        return cls(
            tid, box, EmotionSmoother(tid, options.smoother), GestureDetector(tid, options.gestures), rest
        )

    def observe(self, t: float, face: FacePrediction, x: float) -> list[EmotionEvent]:
        """This face's detection at time t: its emotion, rest-face and head events."""
        self.box = face.box
        evidence = self.smoother.evidence(face.probabilities)
        if self.rest is None:
            events = self.smoother.update_evidence(t, evidence, x)
        else:
            changed = self.rest.observe(t, evidence)
            events = self.smoother.update_evidence(t, evidence - self.rest.correction, x)
            if changed and self.smoother.found:
                events.append(self.rest_event(t, changed))
        if face.pose is not None:
            head = self.gestures.update(t, face.pose, x)
            events += head if self.smoother.found else []  # heard once the face is announced
        return events

    def rest_event(self, t: float, kind: str = "rest_face") -> EmotionEvent:
        """A record of the rest-face correction now (for the events log; it makes no sound)."""
        values = tuple(float(v) for v in self.rest.correction) if self.rest is not None else ()
        return EmotionEvent(t, kind, self.id, x=self.smoother.x, values=values)

    def restart(self) -> None:
        """The listener starts to follow this face now: its present emotion is announced afresh."""
        self.smoother.restart()


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
        self._lost: list[tuple[float, FaceBox, RestFace]] = []  # (when, where) faces were lost
        self._key_waiting = False  # the rest-face key was pressed with no face heard

    def set_rest_face(self, t: float) -> None:
        """The listener's key: the faces heard now are at rest; each takes its next seconds as
        its face at rest. With no face heard, the next face heard does."""
        tracks = self.heard_tracks()
        for track in tracks:
            if track.rest is not None:
                track.rest.set_now(t)
        self._key_waiting = not tracks

    def _returning(self, t: float, box: FaceBox) -> RestFace | None:
        """The rest estimate of a face lost near `box` in the last `keep` seconds, if any."""
        keep = self.options.rest.keep if self.options.rest is not None else 0.0
        self._lost = [lost for lost in self._lost if t - lost[0] <= keep]
        for k, (_, where, rest) in enumerate(self._lost):
            shift = np.hypot(box.center[0] - where.center[0], box.center[1] - where.center[1])
            if shift <= max(where.w, 1):
                del self._lost[k]
                return rest
        return None

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
                self.tracks[tid] = Track.start(tid, face.box, self.options, self._returning(t, face.box))
            events += self.tracks[tid].observe(t, face, face.box.center[0] / max(width, 1))
        for tid in [tid for tid in self.tracks if tid not in matched.values()]:
            track = self.tracks[tid]
            lost = track.smoother.missing(t)
            events += lost
            if lost or track.smoother.last_seen is None:
                del self.tracks[tid]
                if track.rest is not None and (track.rest.seen > 0 or track.rest.keyed):
                    self._lost.append((t, track.box, track.rest))
        events = self._heard(t, events, width, height)
        if self._key_waiting and self.heard_tracks():
            self.set_rest_face(t)
        return events

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
                best.restart()
                if not any(e.face == best.id and e.kind == "face_found" for e in events):
                    out.append(EmotionEvent(t, "face_found", best.id, x=best.smoother.x))
                else:
                    out += [e for e in events if e.face == best.id]
        return out

    def heard_tracks(self) -> list[Track]:
        if self.options.people == "all":
            return [tr for tr in self.tracks.values() if tr.smoother.found]
        return [self.tracks[self.primary]] if self.primary in self.tracks else []
