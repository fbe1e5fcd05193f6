"""Typed errors: each carries the one-line message a user reads and the exit code the command
line gives it. The library raises them; only `fer_audio.cli` turns them into a line and a code."""

from __future__ import annotations


class FerAudioError(Exception):
    """An error the user can act on. str(error) is the whole message: it names the input and
    says what to do."""

    exit_code = 2  # usage error, or an input that cannot be opened


class Stopped(FerAudioError):
    """The user stopped the run (Ctrl-C) and what was done so far was kept; the message says what."""

    exit_code = 130


class NothingProcessed(FerAudioError):
    """The run had inputs, but none of them could be processed."""

    exit_code = 1


class InvalidInput(FerAudioError, ValueError):
    """A value given to the Python API is not what the function takes (an image that is None, a
    path where an array belongs); the message names the function and the argument."""
