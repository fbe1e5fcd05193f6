"""The live path: frames per second, per-stage time, events on the shared clip, memory over a
looped clip, start-up time."""

from __future__ import annotations

import sys
import tempfile
import time

import cv2
import numpy as np

from benchmarks import fer_baseline
from benchmarks.common import FER_PACKAGE, VIDEO, VIDEO_FPS, data, fer_detector, rss_mb, say, video_gray


def _run_video(source: str, frames_limit: int | None = None, resize: tuple[int, int] | None = None):
    """The session `fer-audio live --no-realtime --no-audio` builds (LiveOptions defaults: gestures,
    gaze and alignment on, so the face mesh runs per face), run over `source`; frames resized to
    `resize` where given. (processor, events, seconds)."""
    from fer_audio.apps.options import LiveOptions, OutputOptions
    from fer_audio.apps.session import LiveSession
    from fer_audio.vision.sources import Frame, SourceOptions

    session = LiveSession.create_from_options(
        LiveOptions(source=SourceOptions(source, realtime=False), outputs=OutputOptions(no_audio=True))
    )
    processor, events = session.processor, []
    started = time.perf_counter()
    with session:
        for frame in session.source:
            if resize is not None:
                frame = Frame(frame.index, frame.t, cv2.resize(frame.image, resize), frame.captured)
            events += processor.process(frame)
    seconds = time.perf_counter() - started
    return processor, events, seconds


def bench_live() -> dict:
    from fer_audio.apps.session import REST_KINDS

    processor, events, seconds = _run_video(str(VIDEO))
    n = processor.times.frames
    stages = {k: round(v, 3) for k, v in processor.times.ms_per_frame().items()}
    events = [e for e in events if e.kind not in REST_KINDS]  # what is heard (rest-face lines are logged)
    emotion = [e for e in events if e.kind == "emotion"]
    video_seconds = n / VIDEO_FPS
    ours_changes = fer_baseline.changes_per_minute(_raw_labels(video_gray(), VIDEO_FPS), video_seconds)
    their_fps, their_changes = FER_PACKAGE["video_fps"], None
    if fer_detector():
        their_fps, their_labels, _ = fer_baseline.video_run(fer_detector(), VIDEO)
        their_changes = fer_baseline.changes_per_minute(their_labels, video_seconds)
    say(
        f"live: {n / seconds:.0f} frames/s on phone-smile.mp4 (596x336, --no-realtime); the fer package: "
        f"{their_fps:.0f} fps{'' if fer_detector() else ' (earlier)'} -> {n / seconds / their_fps:.1f}x"
    )
    say(
        f"  per-frame top label changes: ours {ours_changes:.0f}/min unsmoothed, "
        "the fer package " + (f"{their_changes:.0f}/min" if their_changes is not None else "not measured")
    )
    say(f"  per stage, ms per frame: {stages}; full scans {processor.detector.scans} of {n} frames")
    say(
        f"  events on the clip: {len(events)} ({len(emotion)} emotion: "
        f"{', '.join(f'{e.emotion}@{e.t:.1f}s' for e in emotion)}), "
        f"{len(emotion) / (video_seconds / 60):.1f} emotion events/min"
    )
    p640, _, s640 = _run_video(str(VIDEO), resize=(640, 480))
    ms640 = s640 / p640.times.frames * 1000
    say(f"  640x480 frames: {ms640:.1f} ms of processing per frame")
    return {
        "fps": n / seconds,
        "fer_package_fps": their_fps,
        "raw_label_changes_per_min": ours_changes,
        "fer_package_label_changes_per_min": their_changes,
        "ms_per_frame_stages": stages,
        "ms_per_640x480_frame": ms640,
        "events": len(events),
        "emotion_events": len(emotion),
        "emotion_events_per_min": len(emotion) / (video_seconds / 60),
    }


def _raw_labels(frames: list[np.ndarray], fps: float) -> list[int | None]:
    """Our per-frame top label of the largest face, without smoothing (what the fer package
    gives), with faces found as the live tool finds them (a full scan every 0.5 s, a search near
    the known face in between)."""
    from fer_audio.vision.detect import TrackingDetector
    from fer_audio.vision.recognize import Recognizer, left_to_right

    recognizer, labels = Recognizer(), []
    tracking = TrackingDetector(recognizer.detector)
    for i, gray in enumerate(frames):
        faces = recognizer.classify(gray, left_to_right(tracking.detect_at(gray, i / fps)))
        labels.append(max(faces, key=lambda f: f.box.area).index if faces else None)
    return labels


def bench_soak(minutes: float) -> dict:
    """The clip looped through the frame processing of the session the one builder makes (no
    sound, no files): the memory of the pipeline itself. soak-live adds the files."""
    from benchmarks.soak import LoopedSource
    from fer_audio.apps.options import LiveOptions, OutputOptions
    from fer_audio.apps.session import LiveSession
    from fer_audio.vision.sources import SourceOptions

    options = LiveOptions(
        source=SourceOptions(str(VIDEO), realtime=False), outputs=OutputOptions(no_audio=True)
    )
    session = LiveSession.create_from_options(options)
    session.close()  # its processor goes on over the looped clip
    looped = LoopedSource(options.source, minutes * 60)
    marks: list[float] = []  # RSS at the end of each loop of the clip
    with looped:
        for frame in looped:
            if looped.loops > len(marks):
                marks.append(rss_mb())
            session.processor.process(frame)
    marks.append(rss_mb())
    start_rss = marks[0]
    say(
        f"memory: RSS {start_rss:.0f} MB after the first loop, "
        f"{marks[-1]:.0f} MB after {minutes:g} minutes of "
        f"video looped ({len(marks)} loops, max {max(marks):.0f} MB)"
    )
    return {
        "rss_start_mb": start_rss,
        "rss_end_mb": marks[-1],
        "rss_max_mb": max(marks),
        "video_minutes": minutes,
    }


def bench_startup() -> dict:
    import subprocess

    def timed(args):
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "fer_audio", *args], capture_output=True, check=False)
            runs.append(time.perf_counter() - started)
        return float(np.median(runs))

    with tempfile.TemporaryDirectory() as tmp:
        face = data().require("PublicTest").images[0]
        cv2.imwrite(f"{tmp}/face.png", face)
        help_s = timed(["--help"])
        narrate_s = timed(["narrate", f"{tmp}/face.png", "--no-speak", "--quiet"])
    say(
        f"start-up: fer-audio --help {help_s:.2f} s; narrate of one photo, start to finish {narrate_s:.2f} s "
        f"(median of 5)"
    )
    return {"help_s": help_s, "narrate_one_photo_s": narrate_s}
