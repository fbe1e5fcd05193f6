"""The fer-audio command line. Thin: heavy imports happen inside the commands, so --help is instant.

Exit codes: 0 success; 1 nothing could be processed; 2 usage error or an input that cannot be
opened (no camera, no audio device, bad sound pack); 130 interrupted.
"""

from __future__ import annotations

# each module registers its command on `main`
from fer_audio.cli import devices, evaluate, live, narrate, sounds, train  # noqa: F401
from fer_audio.cli.group import main

__all__ = ["main"]
