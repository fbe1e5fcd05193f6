"""Files the user asks for: checked before any work starts, written atomically.

`check_output` is called for every output option at argument time, before a model, camera or
sound device is opened, so a bad path costs the user nothing. `atomic_path` gives a temporary
name beside the target that replaces it only when the write finished, and is removed on any
failure or Ctrl-C, so nothing partial is ever left behind.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from fer_audio.errors import FerAudioError


class OutputPathError(FerAudioError, ValueError):
    """An output path that cannot be written; the message names the option and what to do."""


def check_output(option: str, value: str | os.PathLike[str], suffixes: tuple[str, ...]) -> Path:
    """The path of an output option, or OutputPathError: an existing folder, a name without one
    of `suffixes`, a folder that does not exist or cannot be written in."""
    path = Path(value)
    shown = f"{option} {value}"
    if str(value).strip() == "":
        raise OutputPathError(f"{option}: the file name is empty; give a file name")
    if path.is_dir():
        example = path / f"output{suffixes[0]}"
        raise OutputPathError(f"{shown}: that is a folder; give a file name, such as {example}")
    if path.suffix.lower() not in suffixes:
        names = suffixes[0] if len(suffixes) == 1 else ", ".join(suffixes[:-1]) + " or " + suffixes[-1]
        raise OutputPathError(f"{shown}: the name must end in {names}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputPathError(
            f"{shown}: the folder {parent} does not exist; create it first or choose another place"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"{shown}: cannot write in the folder {parent}; choose another place")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputPathError(f"{shown}: the file exists and is read-only; choose another name")
    return path


def temporary_name(path: Path) -> Path:
    """A hidden name beside `path` with the same suffix (some writers choose the format by it)."""
    return path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `path`, on any exception
    (KeyboardInterrupt too) it is removed and `path` is left as it was."""
    target = Path(path)
    tmp = temporary_name(target)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_atomic(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write `data` (str as UTF-8) to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
