"""Single-key commands from a terminal (space, m, q), read on a thread in cbreak mode."""

from __future__ import annotations

import contextlib
import os
import select
import sys
import threading
from collections.abc import Callable


class KeyReader:
    """Calls on_key(ch) for each key pressed while running; restores the terminal on stop()."""

    def __init__(
        self, on_key: Callable[[str], None], stream=None, on_error: Callable[[str], None] | None = None
    ) -> None:
        self.on_key = on_key
        self.on_error = on_error or (lambda _m: None)
        self.stream = stream or sys.stdin
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._saved = None

    @staticmethod
    def available(stream=None) -> bool:
        stream = stream or sys.stdin
        try:
            return stream.isatty() and os.name == "posix"
        except (AttributeError, ValueError):
            return False

    def start(self) -> None:
        import termios
        import tty

        fd = self.stream.fileno()
        self._saved = termios.tcgetattr(fd)
        tty.setcbreak(fd)
        self._thread = threading.Thread(target=self._run, args=(fd,), name="keys", daemon=True)
        self._thread.start()

    def _run(self, fd: int) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                data = os.read(fd, 1)
                if not data:
                    return
                key = data.decode("utf-8", "ignore")
                try:
                    self.on_key(key)
                except Exception as exc:  # a key that fails must not end the keys: q still has to work
                    self.on_error(f"key {key!r} could not be handled: {exc}")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        if self._saved is not None:
            import termios

            with contextlib.suppress(termios.error, ValueError):
                termios.tcsetattr(self.stream.fileno(), termios.TCSADRAIN, self._saved)
            self._saved = None
