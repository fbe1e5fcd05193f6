"""Nods and shakes on real faces turned in 3-D, and false gestures on the shared clip."""

from __future__ import annotations

import time

import numpy as np

from benchmarks.common import VIDEO_FPS, data, say, video_gray
from fer_audio.events.gestures import GAZE, GESTURES


def _gesture_events(recognizer, frames) -> list:
    """Head-cue events of a fresh tracker over frames [(t, gray image)]: the live path."""
    from fer_audio.apps.session import FrameProcessor
    from fer_audio.events.track import FaceTracker
    from fer_audio.vision.sources import Frame

    processor = FrameProcessor(recognizer, FaceTracker())
    events = []
    for i, (t, image) in enumerate(frames):
        events += processor.process(Frame(i, t, image, time.perf_counter()))
    return [e for e in events if e.kind in GESTURES + GAZE]


def _repeated_video(seconds: float, gap: float = 1.0) -> list[tuple[float, np.ndarray]]:
    """The shared clip played again and again for `seconds` of its frames, with `gap` seconds of
    blank frames between plays (the face leaves and comes back; played backwards, its turns
    would reverse into head-shake-like motion no one made)."""
    frames = video_gray()
    blank = [np.zeros_like(frames[0])] * round(gap * VIDEO_FPS)
    out, i = [], 0
    while sum(1 for _, f in out if f is not blank[0]) < seconds * VIDEO_FPS:
        for f in frames + blank:
            out.append((i / VIDEO_FPS, f))
            i += 1
    return out


def bench_gestures(n_faces: int = 6) -> dict:
    """Nods and shakes on real faces turned in 3-D (benchmarks/gestures_eval.py), and false
    gestures on the shared video (a moving, smiling face), through the whole live path, with
    each face detector. Each clip is rendered once (one clip's frames in memory at a time) and
    run with every detector."""
    from benchmarks import gestures_eval as ge
    from fer_audio.vision.detect import DetectorOptions, make_detector
    from fer_audio.vision.landmarks import FaceMeshModel
    from fer_audio.vision.recognize import Recognizer, RecognizerOptions

    backends = ("haar", "blazeface")
    detectors = [make_detector(DetectorOptions(backend=b)) for b in backends]
    renderers = ge.source_faces(data().require("PublicTest").images, FaceMeshModel(), detectors, n_faces)
    clips = ge.clips(len(renderers))
    say(f"gestures: {len(clips)} clips made from {len(renderers)} real faces")
    recognizers = {
        b: Recognizer(RecognizerOptions(detector=DetectorOptions(backend=b), pose=True)) for b in backends
    }
    events: dict[str, list] = {b: [] for b in backends}  # per backend: each clip's gesture events
    for c in clips:
        frames = [
            (i / c.fps, renderers[c.face].render(*c.pose(i / c.fps))) for i in range(int(c.seconds * c.fps))
        ]
        for b, recognizer in recognizers.items():
            events[b].append([e for e in _gesture_events(recognizer, frames) if e.kind in GESTURES])
    return {b: _gesture_scores(b, recognizers[b], clips, events[b]) for b in backends}


def _gesture_scores(backend: str, recognizer, clips, clip_events) -> dict:
    found = {k: [] for k in GESTURES}  # per gesture clip: latency from onset, or None
    from_turn = {k: [] for k in GESTURES}
    false = dict.fromkeys(GESTURES, 0)
    for clip, events in zip(clips, clip_events, strict=True):
        hits = []
        if clip.kind in found:
            hits = [e for e in events if e.kind == clip.kind and clip.onset <= e.t <= clip.end + 0.5][:1]
            found[clip.kind].append(hits[0].t - clip.onset if hits else None)
            if hits:
                from_turn[clip.kind].append(hits[0].t - (clip.onset + clip.period / 4))
        for e in events:
            if e not in hits:
                false[e.kind] += 1
    out = {}
    for kind in found:
        tp = sum(x is not None for x in found[kind])
        precision = tp / max(tp + false[kind], 1)
        recall = tp / max(len(found[kind]), 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-9)
        lat = [x for x in found[kind] if x is not None]
        out[kind] = {
            "clips": len(found[kind]),
            "found": tp,
            "false": false[kind],
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "median_latency_from_onset_s": float(np.median(lat)) if lat else None,
            "median_latency_from_first_turn_s": float(np.median(from_turn[kind])) if lat else None,
        }
        say(
            f"gestures [{backend}, {kind}]: F1 {f1:.3f} (precision {precision:.3f}, recall {recall:.3f}; "
            f"{tp} of {len(found[kind])} clips, {false[kind]} false, in all clips); median latency "
            + (
                f"{np.median(lat):.2f} s from the start of the motion, "
                f"{np.median(from_turn[kind]):.2f} s from its first turn"
                if lat
                else "n/a"
            )
        )
    talk = _repeated_video(60.0)
    head = _gesture_events(recognizer, talk)
    gestures = [e for e in head if e.kind in GESTURES]
    minutes = sum(1 for _, f in talk if f.any()) / VIDEO_FPS / 60
    out["video_false_gestures_per_min"] = len(gestures) / minutes
    out["video_gaze_events"] = len(head) - len(gestures)
    say(
        f"  [{backend}] shared video (a moving, smiling face), {minutes:.1f} min of it: "
        f"{len(gestures) / minutes:.1f} false gestures/min; gaze events: {len(head) - len(gestures)}"
    )
    return out
