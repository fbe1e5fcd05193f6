"""Frame sources: a camera index, a video file, or a stream URL (anything OpenCV opens).

Files are paced in real time by default; with ``realtime=False`` every frame is handed over as
fast as it is asked for (batch work, benchmarks). Cameras and paced files are read on their
own thread that keeps only the newest frame: a slow consumer skips stale frames, never queues
them. Cameras and streams that fail are reopened with backoff.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fer_audio.errors import FerAudioError
from fer_audio.native import quiet_ffmpeg


class SourceError(FerAudioError, RuntimeError):
    """The source cannot be opened at all."""


@dataclass(frozen=True)
class SourceOptions:
    source: str = "0"  # camera index, video file, or stream URL
    realtime: bool = True  # pace files at their frame rate (cameras are always real time)
    max_seconds: float | None = None  # stop after this much source time
    retry_initial: float = 0.5  # s before the first reopen of a failed camera/stream
    retry_max: float = 8.0  # s, the longest wait between reopens


@dataclass(frozen=True)
class Frame:
    index: int  # frame number from the source (gaps show dropped frames)
    t: float  # s since the session started, on the source's clock (file: media time)
    image: np.ndarray  # BGR uint8
    captured: float  # time.perf_counter() when it was read


def is_camera(source: str) -> bool:
    return source.strip().isdigit()


# file name endings of video containers: such a file that cannot be read is damaged, not a wrong kind
VIDEO_SUFFIXES = (
    ".mp4",
    ".m4v",
    ".mov",
    ".avi",
    ".mkv",
    ".webm",
    ".wmv",
    ".flv",
    ".mpg",
    ".mpeg",
    ".3gp",
    ".ts",
)


def _open(source: str) -> cv2.VideoCapture:
    logging = cv2.utils.logging
    level = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)  # our own one-line message says what failed
    try:
        quiet_ffmpeg()  # FFmpeg writes its own lines for a file or stream it cannot read
        cap = cv2.VideoCapture(int(source)) if is_camera(source) else cv2.VideoCapture(source)
        if cap.isOpened() and not is_camera(source) and "://" not in source:
            cap = _with_a_frame(source, cap)
    finally:
        logging.setLogLevel(level)
    if not cap.isOpened():
        cap.release()
        raise SourceError(_why_not_opened(source))
    return cap


def _with_a_frame(source: str, cap: cv2.VideoCapture) -> cv2.VideoCapture:
    """`cap` opened afresh if the file gives a first frame; a closed capture if it gives none (a
    text file named .jpg opens, then yields nothing)."""
    ok, image = cap.read()
    cap.release()
    return cv2.VideoCapture(source) if ok and image is not None else cap


def _why_not_opened(source: str) -> str:
    if is_camera(source):
        return f"camera {source} could not be opened; check that it is connected, or pass --source VIDEO"
    if "://" in source:
        return f"{source}: the stream could not be reached or opened; check the address and the network"
    path = Path(source)
    if not path.exists():
        return f"{source}: no such file; pass a camera index, a video file or a stream URL"
    if path.is_dir():
        return f"{source}: that is a folder; pass a camera index, a video file or a stream"
    if path.stat().st_size == 0:
        return f"{source}: the file is empty (0 bytes); pass a video file"
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return (
            f"{source}: the video is damaged or incomplete (no frame could be read); "
            "check that it plays, or copy or export it again"
        )
    return f"{source}: not a video or image OpenCV can read; convert it (e.g. to .mp4) first"


class FrameSource:
    """Iterate frames; on_state('camera_lost' | 'camera_back') reports failures and recoveries."""

    def __init__(
        self,
        options: SourceOptions,
        on_state: Callable[[str], None] | None = None,
        opener: Callable[[str], cv2.VideoCapture] = _open,
    ) -> None:
        self.options, self.on_state, self._opener = options, on_state or (lambda _s: None), opener
        self.live = is_camera(options.source) or "://" in options.source
        self._cap = opener(options.source)
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and 1.0 <= fps <= 240.0 else 30.0
        self.size = (
            int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
        self._stop = threading.Event()
        self._latest: Frame | None = None
        self._ended = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._start = time.perf_counter()
        self._index = 0
        self.dropped = 0

    @property
    def started(self) -> float:
        """perf_counter() at session time 0 (a camera's frame times count from here)."""
        return self._start

    # ------------------------------------------------------------------ reading

    def _read_one(self) -> Frame | None:
        ok, image = self._cap.read()
        if not ok or image is None:
            return None
        now = time.perf_counter()
        if self.live:
            t = now - self._start
        else:
            pos = self._cap.get(cv2.CAP_PROP_POS_MSEC)
            t = pos / 1000.0 if pos and pos > 0 else self._index / self.fps
        frame = Frame(self._index, t, image, now)
        self._index += 1
        return frame

    def _reopen(self) -> bool:
        """Reopen a failed camera/stream with backoff; False if stopped meanwhile."""
        self.on_state("camera_lost")
        wait = self.options.retry_initial
        self._cap.release()
        while not self._stop.wait(wait):
            try:
                self._cap = self._opener(self.options.source)
                self.on_state("camera_back")
                return True
            except SourceError:
                wait = min(wait * 2, self.options.retry_max)
        return False

    def _run(self) -> None:
        """Reader thread: keep the newest frame; pace files to real time. It owns the capture
        while it runs (it may reopen it) and releases it when it ends."""
        try:
            self._read_loop()
        finally:
            self._cap.release()

    def _read_loop(self) -> None:
        while not self._stop.is_set():
            frame = self._read_one()
            if frame is None:
                if self.live and self._reopen():
                    continue
                break
            if not self.live:
                delay = frame.t - (time.perf_counter() - self._start)
                if delay > 0 and self._stop.wait(delay):
                    break
                # a paced file's frame is "captured" when it is due, as a camera's would be
                frame = Frame(frame.index, frame.t, frame.image, time.perf_counter())
            with self._cond:
                if self._latest is not None:
                    self.dropped += 1
                self._latest = frame
                self._cond.notify_all()
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def __iter__(self):
        threaded = self.live or self.options.realtime
        if self._thread is None and self._index == 0:
            # the clock starts with the first frame asked for, not when the source was opened: the
            # seconds spent loading models are neither skipped (files) nor counted (--max-seconds)
            self._start = time.perf_counter()
        if threaded and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="frame-reader", daemon=True)
            self._thread.start()
        while not self._stop.is_set():
            frame = self._next_threaded() if threaded else self._read_one()
            if frame is None:
                return
            if self.options.max_seconds is not None and frame.t > self.options.max_seconds:
                return
            yield frame

    def _next_threaded(self) -> Frame | None:
        with self._cond:
            while self._latest is None and not self._ended and not self._stop.is_set():
                self._cond.wait(0.1)
            frame, self._latest = self._latest, None
            return frame

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    def close(self) -> None:
        """Stops reading. A reader thread releases the capture itself when its read() returns
        (a stalled stream may hold it past the 2 s wait: it is never released under it)."""
        self.stop()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        else:
            self._cap.release()

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
