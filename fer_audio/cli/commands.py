"""Every command, registered on the `fer-audio` group: importing this module builds the CLI."""

from __future__ import annotations

# each module registers its command on `main`
from fer_audio.cli import devices, evaluate, live, narrate, sounds, train  # noqa: F401
from fer_audio.cli.group import main

__all__ = ["main"]
