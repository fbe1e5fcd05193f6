"""Head cues on real people, before and after, in one run: `python -m benchmarks headcues`.

What a listener hears of heads that do not nod or shake, and whether nods and shakes are still
heard: nods + shakes a minute on people talking (realworld/natural), on CK+ expressions with
the head still (realworld/ckplus-video), "looking" / "looking away" after a face's first 3 s,
the pose's excursion on those expressions and its jitter, and F1 on the synthetic turned faces
of benchmarks/gestures_eval.py. "Before" is the head pose and gesture detector as they were at
BEFORE (read from git, so both run on the same meshes in the same process); "after" is this
checkout's. Each clip goes once through the live path (detector, tracking, face mesh); the pose
and the gestures are then read from each frame's mesh by both versions.
"""

from __future__ import annotations

import subprocess
import sys
import time
import types
from dataclasses import dataclass

import numpy as np

from benchmarks.common import ROOT, SHARED, say

BEFORE = "be3f981"  # the last commit with the six-point solvePnP pose and the two-swing gestures
REALWORLD = SHARED / "datasets" / "realworld"
HEAD = ("nod", "shake")
LOOK = ("looking", "looking_away")


@dataclass
class Clip:
    name: str
    fps: float
    t: np.ndarray  # (n,) s
    meshes: list  # (468, 3) points or None, per frame
    size: tuple[int, int]  # frame (width, height)


def _at_commit(rev: str, path: str, name: str) -> types.ModuleType:
    """The module at `path` as it was at commit `rev` (it imports today's fer_audio otherwise)."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:{path}"], capture_output=True, text=True, check=True
    ).stdout
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(source, f"{rev}:{path}", "exec"), module.__dict__)
    return module


def _versions() -> dict[str, tuple]:
    """name -> (pose(points, (w, h)) -> HeadPose, GestureDetector class)."""
    from fer_audio.events.gestures import GestureDetector
    from fer_audio.vision.landmarks import head_pose

    old_pose = _at_commit(BEFORE, "fer_audio/vision/landmarks.py", "before_landmarks")
    old_gestures = _at_commit(BEFORE, "fer_audio/events/gestures.py", "before_gestures")
    return {
        "before": (lambda p, size: old_pose.head_pose(p, *size), old_gestures.GestureDetector),
        "after": (lambda p, size: head_pose(p), GestureDetector),
    }


def _meshing_processor(recognizer_options=None):
    """A live FrameProcessor whose recognizer keeps the largest face's mesh of the last frame."""
    from fer_audio.apps.options import LiveOptions
    from fer_audio.apps.session import FrameProcessor
    from fer_audio.events.track import FaceTracker
    from fer_audio.vision.recognize import Recognizer

    class Meshing(Recognizer):
        last = None

        def meshes(self, gray, boxes):
            meshes = super().meshes(gray, boxes)
            found = [(b.area, m) for b, m in zip(boxes, meshes, strict=True) if m is not None]
            self.last = max(found, key=lambda x: x[0])[1].points if found else None
            return meshes

    recognizer = Meshing(recognizer_options or LiveOptions().recognizer)
    return FrameProcessor(recognizer, FaceTracker()), recognizer


def _clip_meshes(path, recognizer_options=None) -> Clip:
    import cv2

    from fer_audio.vision.sources import Frame

    processor, recognizer = _meshing_processor(recognizer_options)
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    ts, meshes, size = [], [], (0, 0)
    while True:
        ok, image = cap.read()
        if not ok:
            break
        recognizer.last = None
        t = len(ts) / fps
        processor.process(Frame(len(ts), t, image, time.perf_counter()))
        ts.append(t)
        meshes.append(recognizer.last)
        size = (image.shape[1], image.shape[0])
    cap.release()
    return Clip(path.stem, fps, np.array(ts), meshes, size)


def _events(clip: Clip, pose, detector_class) -> tuple[list, list]:
    """(head events, poses (yaw, pitch) per frame with a face) of one clip, one version."""
    detector, events, poses = detector_class(1), [], []
    for t, points in zip(clip.t, clip.meshes, strict=True):
        if points is None:
            continue
        p = pose(points, clip.size)
        poses.append((p.yaw, p.pitch))
        events += [e for e in detector.update(float(t), p) if e.kind in HEAD + LOOK]
    return events, poses


def _excursion(poses: list) -> tuple[float, float, float]:
    """(yaw range, pitch range, median frame-to-frame change where the frame changed) degrees."""
    a = np.array(poses)
    steps = np.abs(np.diff(a, axis=0)).max(axis=1)
    moving = steps[steps > 0]
    return float(np.ptp(a[:, 0])), float(np.ptp(a[:, 1])), float(np.median(moving)) if len(moving) else 0.0


def bench_real(versions) -> dict:
    natural = [_clip_meshes(p) for p in sorted((REALWORLD / "natural").glob("*.mp4"))]
    ckplus = [_clip_meshes(p) for p in sorted((REALWORLD / "ckplus-video").glob("*/*.mp4"))]
    minutes = sum(len(c.t) / c.fps for c in natural) / 60
    say(f"headcues: {len(natural)} natural clips ({minutes:.2f} min), {len(ckplus)} CK+ clips")
    out = {}
    for name, (pose, detector) in versions.items():
        nat = {c.name: _events(c, pose, detector)[0] for c in natural}
        heads = [e for c in natural for e in nat[c.name] if e.kind in HEAD]
        looks = [e for c in natural for e in nat[c.name] if e.kind in LOOK and e.t > 3.0]
        ck = [_events(c, pose, detector) for c in ckplus]
        exc = np.array([_excursion(p) for _, p in ck])
        ck_heads = [c.name for c, (ev, _) in zip(ckplus, ck, strict=True) if any(e.kind in HEAD for e in ev)]
        out[name] = {
            "natural_nods_shakes_per_min": len(heads) / minutes,
            "natural_looking_after_3s_per_min": len(looks) / minutes,
            "ckplus_clips_with_nod_or_shake": len(ck_heads),
            "ckplus_yaw_excursion_mean": float(exc[:, 0].mean()),
            "ckplus_yaw_excursion_max": float(exc[:, 0].max()),
            "ckplus_pitch_excursion_mean": float(exc[:, 1].mean()),
            "ckplus_pitch_excursion_max": float(exc[:, 1].max()),
            "ckplus_jitter_median": float(np.median(exc[:, 2])),
        }
        words = ", ".join(
            f"{c.name} {e.kind} at {e.t:.1f} s" for c in natural for e in nat[c.name] if e.kind in HEAD
        )
        say(
            f"headcues [{name}]: natural talk {len(heads)} nods + shakes in {minutes:.2f} min "
            f"({len(heads) / minutes:.2f} a minute){': ' + words if words else ''}; looking / looking away "
            f"after a face's first 3 s: {len(looks) / minutes:.2f} a minute; CK+ clips with a nod or shake: "
            f"{len(ck_heads)} of {len(ckplus)}"
        )
        say(
            f"headcues [{name}]: CK+ onset to peak, pose range: yaw mean {exc[:, 0].mean():.2f} (max "
            f"{exc[:, 0].max():.2f}), pitch mean {exc[:, 1].mean():.2f} (max {exc[:, 1].max():.2f}) degrees; "
            f"frame-to-frame change median {np.median(exc[:, 2]):.2f} degrees"
        )
    return out


def bench_synthetic(versions, n_faces: int = 6) -> dict:
    """F1 of nods and shakes on benchmarks/gestures_eval.py's turned faces (Haar and BlazeFace),
    and the median and longest time from the start of the motion to the cue."""
    from benchmarks import gestures_eval as ge
    from benchmarks.common import data
    from fer_audio.vision.detect import DetectorOptions, make_detector
    from fer_audio.vision.landmarks import FaceMeshModel
    from fer_audio.vision.recognize import RecognizerOptions
    from fer_audio.vision.sources import Frame

    backends = ("haar", "blazeface")
    detectors = [make_detector(DetectorOptions(backend=b)) for b in backends]
    renderers = ge.source_faces(data().require("PublicTest").images, FaceMeshModel(), detectors, n_faces)
    clips = ge.clips(len(renderers))
    meshed = {b: [] for b in backends}
    for c in clips:
        frames = [renderers[c.face].render(*c.pose(i / c.fps)) for i in range(int(c.seconds * c.fps))]
        for b in backends:
            processor, recognizer = _meshing_processor(
                RecognizerOptions(detector=DetectorOptions(backend=b), pose=True)
            )
            meshes = []
            for i, image in enumerate(frames):
                recognizer.last = None
                processor.process(Frame(i, i / c.fps, image, time.perf_counter()))
                meshes.append(recognizer.last)
            meshed[b].append(Clip(c.kind, c.fps, np.arange(len(frames)) / c.fps, meshes, ge.FRAME))
    out = {}
    for name, (pose, detector) in versions.items():
        for b in backends:
            found = {k: [] for k in HEAD}
            false = dict.fromkeys(HEAD, 0)
            for c, m in zip(clips, meshed[b], strict=True):
                events = [e for e in _events(m, pose, detector)[0] if e.kind in HEAD]
                hits = [e for e in events if e.kind == c.kind and c.onset <= e.t <= c.end + 0.5][:1]
                if c.kind in found:
                    found[c.kind].append(hits[0].t - c.onset if hits else None)
                false_here = [e for e in events if e not in hits]
                for e in false_here:
                    false[e.kind] += 1
            for k in HEAD:
                lat = [x for x in found[k] if x is not None]
                precision, recall = len(lat) / max(len(lat) + false[k], 1), len(lat) / max(len(found[k]), 1)
                f1 = 2 * precision * recall / max(precision + recall, 1e-9)
                out[f"{name}_{b}_{k}"] = {
                    "f1": f1,
                    "found": len(lat),
                    "clips": len(found[k]),
                    "false": false[k],
                }
                say(
                    f"headcues [{name}, {b}, {k}]: synthetic F1 {f1:.3f} ({len(lat)} of {len(found[k])}, "
                    f"{false[k]} false); from the start of the motion median "
                    + (f"{np.median(lat):.2f} s, longest {max(lat):.2f} s" if lat else "n/a")
                )
    return out


def bench_pose_cost(versions, clip: Clip) -> dict:
    """Microseconds a frame for the pose and the gesture detector, each version, alternating."""
    out = {name: [] for name in versions}
    frames = [(t, p) for t, p in zip(clip.t, clip.meshes, strict=True) if p is not None]
    for _ in range(3):
        for name, (pose, detector_class) in versions.items():
            detector = detector_class(1)
            start = time.perf_counter()
            for t, points in frames:
                detector.update(float(t), pose(points, clip.size))
            out[name].append((time.perf_counter() - start) / len(frames) * 1e6)
    result = {name: float(np.median(v)) for name, v in out.items()}
    say("headcues: pose + gestures a frame: " + ", ".join(f"{k} {v:.0f} us" for k, v in result.items()))
    return result


def bench_headcues() -> dict:
    if not REALWORLD.is_dir():
        say(f"headcues: {REALWORLD} is missing; skipped")
        return {}
    versions = _versions()
    out = {"before": BEFORE, "real": bench_real(versions)}
    out["cost_us"] = bench_pose_cost(versions, _clip_meshes(REALWORLD / "natural" / "OpenTalker__5.mp4"))
    out["synthetic"] = bench_synthetic(versions)
    return out
