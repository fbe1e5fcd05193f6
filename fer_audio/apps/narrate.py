"""Narrating photos: find image files, recognise faces, and say what is in each, left to right."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import threading
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2

from fer_audio.apps.options import NarrateOptions
from fer_audio.errors import InvalidInput
from fer_audio.labels import EMOTIONS
from fer_audio.outputs import write_atomic
from fer_audio.types import FacePrediction
from fer_audio.vision.images import IMAGE_SUFFIXES, ImageError, read_photo
from fer_audio.vision.recognize import Recognizer

NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
REPORT_COLUMNS = ["path", "face", "x", "y", "w", "h", "emotion", "confidence", *EMOTIONS, "note"]


def display_name(path: str | os.PathLike[str]) -> str:
    """A printable form of any path, also one whose bytes are not UTF-8."""
    return os.fsencode(path).decode("utf-8", "replace")


@dataclass(frozen=True)
class ImageResult:
    path: Path
    faces: tuple[FacePrediction, ...] = ()
    error: str | None = None  # why the file was skipped, or None

    @property
    def sentence(self) -> str:
        """What narrate says: the faces left to right, or why the file was skipped (a file that
        could not be read is never "no face found")."""
        if self.error:
            return f"{display_name(self.path.stem)}: skipped, {self.error}."
        return describe(display_name(self.path.stem), self.faces)


def _natural_key(path: Path) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", display_name(path))]


def collect_images(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path | ImageResult]:
    """Image files under `paths` in natural order; problems as ImageResult(error=...)."""
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            yield from _walk(p)
        elif p.is_symlink() and not p.exists():
            yield ImageResult(p, error=_link_problem(p))
        elif not p.exists():
            yield ImageResult(p, error="no such file or folder")
        elif p.suffix.lower() not in IMAGE_SUFFIXES:
            yield ImageResult(p, error=f"not an image type ({', '.join(IMAGE_SUFFIXES)})")
        else:
            yield p


def _link_problem(p: Path) -> str:
    try:
        p.stat()
    except OSError as exc:
        if exc.errno == 40:  # ELOOP
            return "symbolic link loop"
    return "broken symbolic link"


def _walk(root: Path) -> Iterator[Path | ImageResult]:
    found: list[Path] = []
    errors: list[ImageResult] = []

    def on_error(exc: OSError) -> None:
        errors.append(ImageResult(Path(exc.filename or root), error=exc.strerror or str(exc)))

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=False):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for fn in filenames:
            if fn.lower().endswith(IMAGE_SUFFIXES) and not fn.startswith("."):
                found.append(Path(dirpath) / fn)
    for path in sorted(found, key=_natural_key):
        yield (
            ImageResult(path, error=_link_problem(path)) if path.is_symlink() and not path.exists() else path
        )
    yield from errors


def _position_names(n: int) -> list[str]:
    if n == 1:
        return [""]
    if n == 2:
        return ["Left", "Right"]
    if n == 3:
        return ["Left", "Middle", "Right"]
    return [f"Face {i + 1}" for i in range(n)]


def count_words(n: int, noun: str) -> str:
    word = NUMBER_WORDS[n] if n < len(NUMBER_WORDS) else str(n)
    return f"{word} {noun}{'' if n == 1 else 's'}"


def describe(name: str, faces: Iterable[FacePrediction]) -> str:
    """'IMG_0012: two faces. Left: happy. Right: neutral.' ; faces must be left to right."""
    faces = list(faces)
    if not faces:
        return f"{name}: no face found."
    if len(faces) == 1:
        return f"{name}: one face, {faces[0].emotion}."
    parts = [f"{pos}: {f.emotion}." for pos, f in zip(_position_names(len(faces)), faces, strict=True)]
    if len(faces) > 3:
        parts[0] = f"From left. {parts[0]}"
    return f"{name}: {count_words(len(faces), 'face')}. " + " ".join(parts)


def read_and_analyze(path: Path, recognizer: Recognizer) -> ImageResult:
    """One image file -> its faces (in the file's pixels), or the reason it was skipped."""
    try:
        photo = read_photo(path, scan_side=recognizer.options.detector.detail_side)
        faces = recognizer.analyze(photo.image)
        return ImageResult(
            path, tuple(FacePrediction(f.box.scaled(photo.scale), f.probabilities) for f in faces)
        )
    except ImageError as exc:
        return ImageResult(path, error=str(exc))
    except (OSError, ValueError, RuntimeError, cv2.error) as exc:
        return ImageResult(path, error=f"could not be processed ({exc})")


def narrate(
    paths: Iterable[str | os.PathLike[str]], recognizer: Recognizer | None = None, workers: int = 2
) -> Iterator[ImageResult]:
    """One ImageResult per image file (or per problem), in order; never raises for one bad file.
    Each result has .path, .faces (FacePredictions, left to right), .error and .sentence; the
    recognizer defaults to `fer-audio narrate`'s (the shipped model, Haar detection, each face
    also read mirrored).

    With workers > 1, that many images are read and analysed at once, each worker with its own
    face detector made from recognizer.options (OpenCV's cascade is not safe to share between
    threads), all sharing the recognizer's classifier; results still come in order, at most
    2 * workers images ahead."""
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]  # one file or folder
    elif not isinstance(paths, Iterable):
        raise InvalidInput(f"narrate: paths must be a list of files or folders, got {type(paths).__name__}")
    recognizer = recognizer or Recognizer(NarrateOptions().recognizer)
    return narrate_items(collect_images(paths), recognizer, workers)


def narrate_items(
    items: Iterable[Path | ImageResult], recognizer: Recognizer, workers: int = 2
) -> Iterator[ImageResult]:
    """narrate() over the output of collect_images (for a caller that counts them first)."""
    if workers <= 1:
        for item in items:
            yield item if isinstance(item, ImageResult) else read_and_analyze(item, recognizer)
        return
    local = threading.local()

    def work(item: Path | ImageResult) -> ImageResult:
        if isinstance(item, ImageResult):
            return item
        if not hasattr(local, "recognizer"):
            local.recognizer = Recognizer(recognizer.options, classifier=recognizer.classifier)
        return read_and_analyze(item, local.recognizer)

    pool = ThreadPoolExecutor(workers, thread_name_prefix="narrate")
    pending: deque[Future[ImageResult]] = deque()
    try:
        for item in items:
            pending.append(pool.submit(work, item))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# ------------------------------------------------------------------------------------ summary


@dataclass
class Summary:
    images: int = 0
    faces: int = 0
    skipped: int = 0
    emotions: Counter | None = None

    def add(self, result: ImageResult) -> None:
        self.emotions = self.emotions if self.emotions is not None else Counter()
        if result.error:
            self.skipped += 1
            return
        self.images += 1
        self.faces += len(result.faces)
        self.emotions.update(f.emotion for f in result.faces)

    def sentence(self, stopped: bool = False) -> str:
        """'Done: two images, three faces (2 happy, 1 sad), 0 skipped.' ('Stopped: ...' when the
        user stopped the run before the end)."""
        counts = ", ".join(f"{self.emotions[e]} {e}" for e in EMOTIONS if self.emotions and self.emotions[e])
        text = f"{'Stopped' if stopped else 'Done'}: {count_words(self.images, 'image')}, "
        text += count_words(self.faces, "face")
        text += f" ({counts})" if counts else ""
        return text + f", {self.skipped} skipped."


# ------------------------------------------------------------------------------------- report


def report_rows(result: ImageResult) -> list[dict]:
    base = {k: "" for k in REPORT_COLUMNS}
    base["path"] = display_name(result.path)
    if result.error or not result.faces:
        return [{**base, "note": result.error or "no face found"}]
    rows = []
    for i, f in enumerate(result.faces, start=1):
        row = {**base, "face": i, "x": f.box.x, "y": f.box.y, "w": f.box.w, "h": f.box.h}
        row.update(emotion=f.emotion, confidence=round(f.confidence, 6))
        row.update({e: round(float(p), 6) for e, p in zip(EMOTIONS, f.probabilities, strict=True)})
        rows.append(row)
    return rows


def write_report(path: Path, rows: list[dict]) -> None:
    """CSV or JSON by extension, written atomically."""
    if path.suffix.lower() == ".json":
        text = json.dumps(rows, indent=1)
    else:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=REPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        text = buf.getvalue()
    write_atomic(path, text)
