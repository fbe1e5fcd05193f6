"""The `fer-audio` group with its commands: each loads on first use (COMMANDS in group.py)."""

from __future__ import annotations

from fer_audio.cli.group import main

__all__ = ["main"]
