"""Keeping native libraries' own log lines (LiteRT, FFmpeg, TensorFlow) off the user's terminal."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence native writes to file descriptor 2 for the duration (Python's own stderr is
    flushed first and written again after)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


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
