"""`fer-audio live`: builds a LiveSession from the options and runs it with keys and signals."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from fer_audio.apps.session import EventLog, FrameProcessor, LiveSession, median_ms
from fer_audio.events.gestures import GestureOptions
from fer_audio.events.smoothing import sensitivity as sensitivity_preset
from fer_audio.events.track import FaceTracker, TrackerOptions
from fer_audio.outputs import temporary_name
from fer_audio.vision.sources import FrameSource, SourceError, SourceOptions


def run_live(
    *,
    source: str,
    realtime: bool,
    max_seconds: float | None,
    sensitivity: str,
    people: str,
    neutral_cue: bool,
    gestures: bool,
    gaze: bool,
    events_log: str | None,
    record: str | None,
    show: bool,
    say: Callable[[str], None],
    tell: Callable[[str], None],
    warn: Callable[[str], None],
    recognizer_factory,
    speaker_factory,
    cuer_factory,
    output_factory,
    fail: Callable[[str, int], None],
) -> int:
    session_ref: list[LiveSession] = []
    state_say = lambda name: _on_source_state(session_ref, name)  # noqa: E731
    try:
        frames = FrameSource(SourceOptions(source, realtime, max_seconds), on_state=state_say)
    except SourceError as exc:
        fail(str(exc), 2)
    recognizer = recognizer_factory()
    tracker = FaceTracker(
        TrackerOptions(
            people=people,
            smoother=sensitivity_preset(sensitivity, neutral_cue=neutral_cue),
            gestures=GestureOptions(gestures=gestures, gaze=gaze),
        )
    )
    cuer = cuer_factory(speaker_factory())
    output = output_factory()
    log = EventLog(events_log)
    viewer = _Viewer(record, show, frames.fps, tell, warn) if (record or show) else None
    session = LiveSession(
        frames,
        FrameProcessor(recognizer, tracker),
        cuer,
        output,
        log,
        say,
        on_frame=viewer.frame(tracker) if viewer else None,
    )
    session_ref.append(session)
    keys = _start_keys(session, output, say)
    previous = _install_sigint(session)
    interrupted = threading.Event()
    try:
        session.state_cue("ready", "Ready. Listening for faces." + (" Keys: space, m, q." if keys else ""))
        summary = session.run()
    except KeyboardInterrupt:
        interrupted.set()
        summary = None
    finally:
        signal.signal(signal.SIGINT, previous)
        if keys is not None:
            keys.stop()
        frames.close()
        if viewer is not None:
            viewer.close()
    session.state_cue("stop", "Stopped.")
    output.wait(timeout=3.0)
    output.close()
    if summary is not None:  # printed with --quiet too: it is the closing summary
        log.write(summary.record())
        tell(summary.line())
        if session.latencies:
            tell(f"Median time from frame to sound: {median_ms(session.latencies):.0f} ms.")
    log.close()
    return 130 if interrupted.is_set() else 0


def _on_source_state(session_ref: list[LiveSession], name: str) -> None:
    if not session_ref:
        return
    if name == "camera_lost":
        session_ref[0].state_cue("camera_lost", "Camera lost. Retrying.")
    elif name == "camera_back":
        session_ref[0].state_cue("ready", "Camera back.")


def _install_sigint(session: LiveSession):
    def handler(signum, frame):
        session.stop()

    return signal.signal(signal.SIGINT, handler)


def _start_keys(session: LiveSession, output, say):
    from fer_audio.apps.keys import KeyReader

    if not KeyReader.available():
        return None

    def on_key(ch: str) -> None:
        if ch == " ":
            session.say_current()
        elif ch.lower() == "m":
            output.mixer.muted = not output.mixer.muted
            say("Muted." if output.mixer.muted else "Sound on.")
        elif ch.lower() == "q":
            session.stop()

    reader = KeyReader(on_key)
    reader.start()
    return reader


class _Viewer:
    """--show (a preview window) and --record (a video file): both only when asked for. The video
    is written under a temporary name and takes its own name when recording ends."""

    def __init__(self, record: str | None, show: bool, fps: float, tell, warn) -> None:
        import cv2

        self.cv2, self.show, self.writer, self.fps, self.record = cv2, show, None, fps, record
        self.tell, self.warn, self.frames = tell, warn, 0
        self.partial = temporary_name(Path(record)) if record else None

    def frame(self, tracker):
        def draw(frame, events) -> None:
            cv2 = self.cv2
            image = frame.image.copy()
            for tr in tracker.tracks.values():
                b = tr.box
                cv2.rectangle(image, (b.x, b.y), (b.x + b.w, b.y + b.h), (0, 255, 0), 2)
                cv2.putText(
                    image,
                    f"{tr.id}: {tr.smoother.current}",
                    (b.x, max(12, b.y - 6)),
                    cv2.FONT_HERSHEY_SIMPLEX,
                    0.6,
                    (0, 255, 0),
                    2,
                )
            if self.record:
                self._write(image)
            if self.show:
                cv2.imshow("fer-audio", image)
                cv2.waitKey(1)

        return draw

    def _write(self, image) -> None:
        if self.writer is None:
            h, w = image.shape[:2]
            fourcc = self.cv2.VideoWriter_fourcc(*"mp4v")
            self.writer = self.cv2.VideoWriter(str(self.partial), fourcc, self.fps, (w, h))
            if not self.writer.isOpened():
                self.warn(f"--record {self.record}: OpenCV cannot write this video; nothing is recorded")
                self.record = None
                return
        self.writer.write(image)
        self.frames += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()
        if self.partial is not None and self.partial.exists():
            if self.record and self.frames:
                os.replace(self.partial, self.record)
                self.tell(f"Recorded {self.frames} frames to {self.record}.")
            else:
                self.partial.unlink()
        elif self.record and not self.frames:
            self.warn(f"--record {self.record}: no frame came from the source; nothing is recorded")
        if self.show:
            self.cv2.destroyAllWindows()
