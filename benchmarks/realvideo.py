"""The real-video development sets, as a listener meets them, and a fast replay of the event layer.

Items (../shared/datasets/realworld/README.md has the rules):
- talking clips (one actor speaking with each emotion) and CK+ clips (neutral onset, then the
  expression): heard right when the events name the clip's emotion and no other;
- sessions: a person's neutral clip played for 12 s (forward, then backward, ...), then one of
  their emotion clips, as one video, built for every person with a neutral clip in talking/;
- natural talk: every clip in natural/ and phone-smile.mp4, no label: emotion cues per minute.

`record(item, options)` runs the live path's detection and classification (FrameProcessor, as
`fer-audio live --no-realtime` runs it) over an item once and keeps what the tracker is fed
(each frame's time, faces and size); `replay(stream, tracker_options)` feeds that to a fresh
FaceTracker, which is pure, so it gives the events the live path gives with those options, in
milliseconds instead of minutes: what the tuner (benchmarks/tune_events.py) searches with.
"""

from __future__ import annotations

import hashlib
import pickle
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2

from benchmarks.common import RESULTS, SHARED, VIDEO
from fer_audio.events.track import FaceTracker, TrackerOptions
from fer_audio.labels import EMOTIONS
from fer_audio.types import EmotionEvent
from fer_audio.vision.sources import Frame

REALWORLD = SHARED / "datasets" / "realworld"
NEUTRAL = "neutral"
REST_SECONDS = 12.0  # s of the person's neutral clip before the emotion clip, in a session
KEY_AT = 0.0  # s: when the rest-face key is pressed in a CK+ clip (its onset frame shows until 1 s)
CACHE = RESULTS / "cache"  # recorded streams (ignored by git)


@dataclass(frozen=True)
class Item:
    """One video a listener could meet: `kind` talking, ckplus, session or natural."""

    kind: str
    name: str
    truth: str | None  # the emotion it shows; None for natural talk
    clip: Path
    rest: Path | None = None  # a session's neutral clip, played first

    def frames(self) -> Iterator[Frame]:
        if self.rest is None:
            yield from _file_frames(self.clip)
        else:
            yield from session_frames(self.rest, self.clip)


def _read(path: Path) -> tuple[list, float]:
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    images = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        images.append(image)
    cap.release()
    return images, fps


def _file_frames(path: Path) -> Iterator[Frame]:
    images, fps = _read(path)
    for i, image in enumerate(images):
        yield Frame(i, i / fps, image, time.perf_counter())


def session_frames(rest: Path, clip: Path, rest_seconds: float = REST_SECONDS) -> Iterator[Frame]:
    """The rule of the realworld README: `rest` forward, backward, forward ... for rest_seconds,
    then `clip`, as one video at the rest clip's frame rate."""
    still, fps = _read(rest)
    loop = still + still[::-1]
    images = [loop[i % len(loop)] for i in range(int(round(rest_seconds * fps)))] + _read(clip)[0]
    for i, image in enumerate(images):
        yield Frame(i, i / fps, image, time.perf_counter())


def labelled(folder: Path, suffixes: tuple[str, ...]) -> list[tuple[str, Path]]:
    """[(class, file)] of a folder of class folders, in name order."""
    return [
        (c, p)
        for c in EMOTIONS
        if (folder / c).is_dir()
        for p in sorted((folder / c).iterdir())
        if p.suffix.lower() in suffixes
    ]


def person(path: Path) -> str:
    """The person a talking clip shows: its name up to the first '_' (MEAD: W011_front_...)."""
    return path.name.split("_")[0]


def items(kinds: tuple[str, ...] = ("talking", "ckplus", "session", "natural")) -> list[Item]:
    out: list[Item] = []
    talking = labelled(REALWORLD / "talking", (".mp4", ".avi"))
    if "talking" in kinds:
        out += [Item("talking", f"talking/{p.name}", c, p) for c, p in talking]
    if "ckplus" in kinds:
        ck = labelled(REALWORLD / "ckplus-video", (".mp4", ".avi"))
        out += [Item("ckplus", f"ckplus-video/{c}/{p.name}", c, p) for c, p in ck]
    if "session" in kinds:
        rests = {person(p): p for c, p in talking if c == NEUTRAL}
        out += [
            Item("session", f"session/{person(p)}/{c}", c, p, rests[person(p)])
            for c, p in talking
            if c != NEUTRAL and person(p) in rests
        ]
    if "natural" in kinds:
        natural = [*sorted((REALWORLD / "natural").glob("*.mp4")), VIDEO]
        out += [Item("natural", f"natural/{p.name}", None, p) for p in natural]
    return out


# ------------------------------------------------------------------------------ record, replay


@dataclass
class Stream:
    """What the tracker is fed from one item: [(t, faces, width, height)] per frame."""

    item: Item
    frames: list

    @property
    def seconds(self) -> float:
        return self.frames[-1][0] + (self.frames[1][0] - self.frames[0][0]) if len(self.frames) > 1 else 0.0


def _key(item: Item, options) -> str:
    from fer_audio.vision.classify import default_model_path

    model = options.recognizer.classifier.model or str(default_model_path())
    digest = hashlib.sha256(Path(model).read_bytes()).hexdigest()[:12]
    text = repr((item, options.recognizer, digest))
    return re.sub(r"\W+", "_", item.name)[-60:] + "-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def record(item: Item, options, cache: bool = True) -> Stream:
    """Run the live path's detection and classification over `item` (options: a LiveOptions);
    kept under benchmarks/results/cache, keyed by the item, the model file and the recognizer
    options."""
    from fer_audio.apps.session import FrameProcessor

    path = CACHE / f"{_key(item, options)}.pkl"
    if cache and path.exists():
        return Stream(item, pickle.loads(path.read_bytes()))
    processor = FrameProcessor.from_options(options.validate())
    frames = []
    for frame in item.frames():
        processor.process(frame)
        h, w = frame.image.shape[:2]
        frames.append((frame.t, list(processor.faces), w, h))
    if cache:
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(frames))
        tmp.replace(path)
    return Stream(item, frames)


def replay(stream: Stream, options: TrackerOptions, key_at: float | None = None) -> list[EmotionEvent]:
    """The events a FaceTracker with `options` gives for the recorded stream; key_at: the time
    (s) at which the listener presses the rest-face key."""
    tracker = FaceTracker(options)
    events: list[EmotionEvent] = []
    for t, faces, w, h in stream.frames:
        if key_at is not None and t >= key_at:
            tracker.set_rest_face(t)
            key_at = None
        events += tracker.update(t, faces, w, h)
    return events


# ------------------------------------------------------------------------------------ scoring


def emotion_words(events) -> list[str]:
    """The emotion words heard, in order (EmotionEvent objects or event-log dicts)."""
    get = (lambda e, k: e[k]) if events and isinstance(events[0], dict) else getattr
    return [get(e, "emotion") for e in events if get(e, "kind") == "emotion"]


def clip_right(truth: str, heard: list[str]) -> bool:
    """The rule of the realworld README: the events name the clip's emotion and no other; a
    neutral clip: no emotion event, or only neutral."""
    named = {w for w in heard if w != NEUTRAL}
    return not named if truth == NEUTRAL else named == {truth}


def session_right(truth: str, events, rest_seconds: float = REST_SECONDS) -> bool:
    """A session is right when no emotion but neutral is heard in its neutral part and the events
    after it name the clip's emotion and no other."""
    before = [e for e in events if e.kind == "emotion" and e.t < rest_seconds]
    after = [e for e in events if e.t >= rest_seconds]
    return clip_right(NEUTRAL, emotion_words(before)) and clip_right(truth, emotion_words(after))


def rest_false(events, rest_seconds: float = REST_SECONDS) -> list[str]:
    """The emotion words heard in a session's neutral part (each a false cue)."""
    return [w for w in emotion_words([e for e in events if e.t < rest_seconds]) if w != NEUTRAL]
