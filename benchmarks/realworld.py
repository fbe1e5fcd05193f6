"""What a listener hears from real faces: the labelled real clips and photos of
../shared/datasets/realworld (README there), through the same paths the commands take, with the
`fer` package on the same files in the same run.

- clips (talking/, ckplus-video/): the live path as `fer-audio live --no-realtime --no-audio`
  runs by default (one LiveOptions, the CLI's defaults). A clip is heard right when its emotion
  events name its emotion and no other (a neutral clip: no emotion event, or only neutral). Also
  the per-frame majority label of the largest face, which a per-frame tool like the `fer`
  package is compared on.
- photos (photos/): the narrate path (`fer-audio narrate` defaults), the largest face's label;
  a photo with no face found counts as wrong.
- crops (ckplus48/): the narrate path on the 48x48 files (classified as one face crop); the
  `fer` package's detector finds no face in a 48x48 image, so its model is fed each crop as its
  detect_emotions prepares a face.
- phone-smile.mp4 (a woman smiling at her phone): emotion events other than happy are false.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from benchmarks import fer_baseline
from benchmarks.common import SHARED, VIDEO
from fer_audio.apps.live import build_session
from fer_audio.apps.narrate import read_and_analyze
from fer_audio.apps.options import LiveOptions, NarrateOptions, OutputOptions
from fer_audio.labels import EMOTIONS
from fer_audio.vision.recognize import Recognizer, RecognizerOptions

REALWORLD = SHARED / "datasets" / "realworld"
CLIP_SETS = ("talking", "ckplus-video")
PHOTO_SETS = ("photos", "ckplus48")
NEUTRAL = "neutral"  # the resting state: heard as silence, never a wrong word
TARGET_CLASSES = ("angry", "disgust", "fear")  # the ones the listener most needs and we miss


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


def wrong_words(truth: str, heard: list[str]) -> list[str]:
    """The emotion words heard that are not the clip's (neutral is never wrong: it is silence)."""
    return [w for w in heard if w not in (truth, NEUTRAL)]


def majority(labels: list[str | None]) -> str | None:
    """The most frequent label of the frames where a face was read (ties: the first to reach
    the top count); None where no frame had a face."""
    seen = [lab for lab in labels if lab is not None]
    return Counter(seen).most_common(1)[0][0] if seen else None


def per_class(truths: list[str], preds: list[str | None]) -> dict[str, dict]:
    """{class: {n, recall, precision}} over the classes present in truths; a None prediction (no
    face) is a miss."""
    out = {}
    for c in EMOTIONS:
        n = sum(t == c for t in truths)
        said = sum(p == c for p in preds)
        hit = sum(t == c and p == c for t, p in zip(truths, preds, strict=True))
        if n or said:
            out[c] = {"n": n, "recall": hit / n if n else None, "precision": hit / said if said else None}
    return out


def balanced_accuracy(table: dict[str, dict]) -> float:
    recalls = [v["recall"] for v in table.values() if v["recall"] is not None]
    return float(np.mean(recalls)) if recalls else float("nan")


# -------------------------------------------------------------------------------------- files


def labelled(folder: Path, suffixes: tuple[str, ...]) -> list[tuple[str, Path]]:
    """[(class, file)] of a folder of class folders, in name order."""
    return [
        (c, p)
        for c in EMOTIONS
        if (folder / c).is_dir()
        for p in sorted((folder / c).iterdir())
        if p.suffix.lower() in suffixes
    ]


# -------------------------------------------------------------------------------------- clips


@dataclass
class ClipResult:
    name: str
    truth: str
    heard: list[str]
    majority: str | None
    seconds: float
    frames: int
    fer_majority: str | None = None
    events: list = field(default_factory=list)

    @property
    def right(self) -> bool:
        return clip_right(self.truth, self.heard)

    @property
    def per_minute(self) -> float:
        return len(self.heard) / (self.seconds / 60) if self.seconds else 0.0


def run_clip(path: Path, options: LiveOptions) -> tuple[list, list, float, int]:
    """(events, per-frame top label of the largest face, seconds of video, frames) of the session
    `fer-audio live --no-realtime --no-audio` builds with these options (a fresh one per clip)."""
    session = build_session(
        replace(
            options,
            source=replace(options.source, source=str(path), realtime=False),
            outputs=OutputOptions(no_audio=True),
        )
    )
    processor = session.processor
    events, labels, t = [], [], 0.0
    with session.source as frames:
        for frame in frames:
            events += processor.process(frame)
            t = frame.t
            faces = processor.faces
            best = max(faces, key=lambda f: f.box.area) if faces else None
            labels.append(best.emotion if best else None)
    return events, labels, t, len(labels)


def clips(options: LiveOptions, fer_detector, files: list[tuple[str, Path]]) -> list[ClipResult]:
    out = []
    for truth, path in files:
        events, labels, seconds, n = run_clip(path, options)
        result = ClipResult(
            f"{path.parent.parent.name}/{path.name}",
            truth,
            emotion_words(events),
            majority(labels),
            seconds,
            n,
            events=events,
        )
        if fer_detector is not None:
            _, theirs, _ = fer_baseline.video_run(fer_detector, path)
            result.fer_majority = majority([EMOTIONS[i] if i is not None else None for i in theirs])
        out.append(result)
    return out


# ------------------------------------------------------------------------------------- photos


def photo_labels(files: list[tuple[str, Path]], recognizer: Recognizer) -> list[str | None]:
    """The narrate path's label of the largest face of each file; None: no face found."""
    out = []
    for _, path in files:
        result = read_and_analyze(path, recognizer)
        faces = result.faces or ()
        out.append(max(faces, key=lambda f: f.box.area).emotion if faces else None)
    return out


def fer_photo_labels(files: list[tuple[str, Path]], detector, crops: bool) -> list[str | None]:
    if crops:
        faces = np.stack([cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for _, p in files])
        return [EMOTIONS[i] for i in fer_baseline.probabilities(detector, faces).argmax(axis=1)]
    out = []
    for _, path in files:
        found = detector.detect_emotions(cv2.imread(str(path)))
        if not found:
            out.append(None)
            continue
        biggest = max(found, key=lambda r: r["box"][2] * r["box"][3])
        out.append(max(biggest["emotions"], key=biggest["emotions"].get))
    return out


# -------------------------------------------------------------------------------------- report


def _fmt(v) -> str:
    return "  -  " if v is None else f"{v:.2f}"


def _class_lines(say, name: str, table: dict, theirs: dict | None) -> None:
    say(f"  {name}: per class recall / precision (n); the fer package's after the bar")
    for c, v in table.items():
        t = theirs.get(c) if theirs else None
        peer = f" | {_fmt(t['recall'])} / {_fmt(t['precision'])}" if t else ""
        say(f"    {c:9s} {_fmt(v['recall'])} / {_fmt(v['precision'])} ({v['n']}){peer}")


def report_clips(say, results: list[ClipResult], peer: bool) -> dict:
    say("realworld clips: live path (LiveOptions defaults, as fer-audio live --no-realtime --no-audio)")
    for r in results:
        mark = "right" if r.right else "WRONG"
        wrong = wrong_words(r.truth, r.heard)
        fer = f"; fer package majority {r.fer_majority}" if peer else ""
        say(
            f"  {r.name:50s} {r.truth:8s} {mark}: heard [{', '.join(r.heard)}]"
            f"{' wrong: ' + ', '.join(wrong) if wrong else ''}; majority {r.majority}{fer}; "
            f"{r.per_minute:.1f} emotion events/min"
        )
    out = {}
    for name in CLIP_SETS:
        sub = [r for r in results if r.name.startswith(name + "/")]
        if not sub:
            continue
        right = sum(r.right for r in sub)
        maj = sum(r.majority == r.truth for r in sub)
        fer_maj = sum(r.fer_majority == r.truth for r in sub) if peer else None
        neutral_false = sum(len(wrong_words(r.truth, r.heard)) for r in sub if r.truth == NEUTRAL)
        targets = [r for r in sub if r.truth in TARGET_CLASSES]
        say(
            f"  {name}: events right {right} of {len(sub)} ({right / len(sub):.0%}); per-frame majority "
            f"right {maj}"
            + (f" (the fer package: {fer_maj})" if peer else "")
            + f"; angry/disgust/fear majority right {sum(r.majority == r.truth for r in targets)} of "
            f"{len(targets)}"
            + (f" (fer: {sum(r.fer_majority == r.truth for r in targets)})" if peer else "")
            + f"; false emotion events on neutral clips {neutral_false}"
        )
        out[name] = {
            "clips": len(sub),
            "events_right": right,
            "majority_right": maj,
            "fer_majority_right": fer_maj,
            "target_majority_right": sum(r.majority == r.truth for r in targets),
            "neutral_false_events": neutral_false,
            "events_per_min": {r.name: round(r.per_minute, 2) for r in sub},
            "per_clip": {
                r.name: {
                    "truth": r.truth,
                    "heard": r.heard,
                    "right": r.right,
                    "majority": r.majority,
                    "fer_majority": r.fer_majority,
                }
                for r in sub
            },
        }
    return out


def bench_realworld(
    say, fer_detector=None, options: LiveOptions | None = None, photo_options: RecognizerOptions | None = None
) -> dict:
    options = options or LiveOptions()
    photo_options = photo_options or NarrateOptions().recognizer
    if not REALWORLD.is_dir():
        say(f"realworld: {REALWORLD} is missing; skipped")
        return {}
    started = time.perf_counter()
    files = [f for s in CLIP_SETS for f in labelled(REALWORLD / s, (".mp4", ".avi"))]
    out = {"clips": report_clips(say, clips(options, fer_detector, files), fer_detector is not None)}
    smile = clips(options, None, [("happy", VIDEO)])[0]
    false = wrong_words("happy", smile.heard)
    say(f"  phone-smile.mp4: heard [{', '.join(smile.heard)}]; false emotion events {len(false)}")
    out["phone_smile_false_events"] = len(false)
    recognizer = Recognizer(photo_options)
    pooled_truth, pooled_ours, pooled_fer = [], [], []
    for name in PHOTO_SETS:
        files = labelled(REALWORLD / name, (".jpg", ".jpeg", ".png"))
        truths = [c for c, _ in files]
        ours = photo_labels(files, recognizer)
        table = per_class(truths, ours)
        found = sum(p is not None for p in ours)
        theirs = None
        if fer_detector is not None:
            fer_labels = fer_photo_labels(files, fer_detector, crops=name == "ckplus48")
            theirs = per_class(truths, fer_labels)
            pooled_fer += fer_labels
        pooled_truth += truths
        pooled_ours += ours
        peer = f" (the fer package: {balanced_accuracy(theirs):.3f})" if theirs else ""
        say(
            f"realworld {name}: {len(files)} files, faces found in {found} ({found / len(files):.1%}); "
            f"balanced accuracy {balanced_accuracy(table):.3f}{peer}; accuracy "
            f"{np.mean([t == p for t, p in zip(truths, ours, strict=True)]):.3f}"
        )
        _class_lines(say, name, table, theirs)
        out[name] = {
            "files": len(files),
            "faces_found": found,
            "balanced_accuracy": balanced_accuracy(table),
            "per_class": table,
            "fer_per_class": theirs,
            "fer_balanced_accuracy": balanced_accuracy(theirs) if theirs else None,
        }
    pooled = per_class(pooled_truth, pooled_ours)
    fer_pooled = per_class(pooled_truth, pooled_fer) if pooled_fer else None
    say(
        "realworld photos + ckplus48 pooled, recall of "
        + ", ".join(
            f"{c} {pooled[c]['recall']:.2f}" + (f" (fer {fer_pooled[c]['recall']:.2f})" if fer_pooled else "")
            for c in TARGET_CLASSES
        )
    )
    out["pooled_target_recall"] = {c: pooled[c]["recall"] for c in TARGET_CLASSES}
    say(f"realworld: {time.perf_counter() - started:.0f} s")
    return out
