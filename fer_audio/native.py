"""Keeping native libraries' own log lines (LiteRT, FFmpeg, TensorFlow) off the user's terminal.

File descriptor 2 is shared by every thread, so it is pointed elsewhere only where no other
thread can be writing: LiteRT's one line is logged once per process, when the first interpreter
applies its CPU delegate, and ``prime_litert`` takes it then, before any worker starts; FFmpeg
is quieted through its own log level (``quiet_ffmpeg``); a command that wants every later native
line out of the way sends descriptor 2 to a file at its start (``send_native_stderr_to``)."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
from collections.abc import Callable, Iterator

# OpenCV's FFmpeg back-end reads this once, when it first opens a file or stream; -8 is FFmpeg's
# AV_LOG_QUIET (OpenCV then logs nothing of FFmpeg's, errors included; our own line says why).
FFMPEG_LOG_LEVEL = "OPENCV_FFMPEG_LOGLEVEL"
FFMPEG_QUIET = "-8"

_litert_lock = threading.Lock()
_litert_primed = False


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence native writes to file descriptor 2 for the duration (Python's own stderr is
    flushed first). Process-wide: only for a moment when no other thread writes (start-up)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def prime_litert(first_allocation: Callable[[], None]) -> None:
    """Runs `first_allocation` (which makes an interpreter and allocates its tensors) with
    descriptor 2 quiet, the first time in this process only: LiteRT logs "Created TensorFlow Lite
    XNNPACK delegate" once per process, there. Every later call runs it as it is, never touching
    descriptor 2, so a worker thread that loads a model cannot hide another thread's lines."""
    global _litert_primed
    with _litert_lock:
        if not _litert_primed:
            with quiet_native_stderr():
                first_allocation()
            _litert_primed = True
            return
    first_allocation()


def quiet_ffmpeg() -> None:
    """FFmpeg's own log lines off (before the first video is opened), unless the user set a level."""
    os.environ.setdefault(FFMPEG_LOG_LEVEL, FFMPEG_QUIET)


def send_native_stderr_to(path: str | os.PathLike[str]) -> None:
    """From now on, what native code writes to file descriptor 2 goes to the file `path`, while
    Python's own sys.stderr keeps writing to where descriptor 2 pointed before."""
    sys.stderr.flush()
    terminal = os.dup(2)
    log_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    sys.stderr = io.TextIOWrapper(os.fdopen(terminal, "wb", buffering=0), write_through=True)


def send_native_stderr_to_temp(command: str) -> str:
    """send_native_stderr_to a file in the temporary folder named for `command` and this process
    (fer-audio-COMMAND-PID.log); returns its path, for the caller to remove or name."""
    import tempfile

    path = os.path.join(tempfile.gettempdir(), f"fer-audio-{command}-{os.getpid()}.log")
    send_native_stderr_to(path)
    return path
