"""The fer-audio command line. Thin: heavy imports happen inside the commands, so --help is instant.

Exit codes: 0 success; 1 nothing could be processed; 2 usage error or an input that cannot be
opened (no camera, no audio device, bad sound pack); 130 interrupted (Ctrl-C).

`run()` is the console script; `main` (loaded on first use) is the click group, for tests and
for embedding.
"""

from __future__ import annotations

import os
import sys

__all__ = ["keep_ctrl_c", "main", "run"]


def keep_ctrl_c() -> None:
    """A Ctrl-C is never lost: Python raises KeyboardInterrupt in whatever runs when the signal
    arrives, and where that is a callback it cannot raise from (importlib's module-lock weakref
    callback, while a command imports its modules) it prints "Exception ignored ..." and goes on
    as if no key was pressed. Such a KeyboardInterrupt is sent again as a SIGINT from another
    thread 50 ms later, when the main thread is out of the callback (were it in one again, this
    happens again)."""
    previous = sys.unraisablehook

    def hook(unraisable) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            import signal
            import threading

            again = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT))
            again.daemon = True
            again.start()
            return
        previous(unraisable)

    sys.unraisablehook = hook


def run() -> None:
    """`fer-audio`: Ctrl-C while the command line itself loads is one line and exit 130, as it
    is at every later stage (click and the commands handle it from there)."""
    keep_ctrl_c()
    try:
        from fer_audio.cli.commands import main
    except KeyboardInterrupt:
        sys.stderr.write("fer-audio: stopped\n")
        sys.stderr.flush()
        os._exit(130)  # nothing to clean up yet; and no interpreter shutdown to re-raise SIGINT
    main()


def __getattr__(name: str):
    if name == "main":
        from fer_audio.cli.commands import main

        return main
    raise AttributeError(f"module 'fer_audio.cli' has no attribute {name!r}")
