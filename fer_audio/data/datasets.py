"""Labelled FER-style face crops from the two forms users have, without TensorFlow.

* The challenge CSV: columns ``emotion,pixels,Usage`` (plain or ``.gz``).
* Class folders: ``train/<class>/*.jpg`` and ``test/<class>/*.jpg`` (``test/`` may hold both
  ``PublicTest_*`` and ``PrivateTest_*``), as a directory or a ``.tar``/``.tar.gz`` of one; or
  a bare ``<class>/*.jpg`` folder.

Every image becomes a (48, 48) uint8 crop through :mod:`fer_audio.vision.preprocess`. Bad rows and
unreadable images are collected as :class:`Problem` and skipped, never fatal. Each image keeps a
key that crowd votes are matched on (:mod:`fer_audio.data.crowd`): its path relative to the folder or
archive, or ``#N`` for data row N (0-based) of a CSV.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from fer_audio.errors import FerAudioError
from fer_audio.labels import EMOTIONS, INDEX, NUM_CLASSES
from fer_audio.vision.images import IMAGE_SUFFIXES
from fer_audio.vision.preprocess import INPUT_SIZE, face_input, to_gray8

USAGES = ("Training", "PublicTest", "PrivateTest")
_SPLIT_DIRS = {"train": "Training", "training": "Training", "test": "PublicTest", "val": "PublicTest"}


class DatasetError(FerAudioError, ValueError):
    """The data cannot be used at all (missing split, empty class, unknown format)."""


@dataclass(frozen=True)
class Problem:
    """One skipped input: where it was (path or 'file:row N') and why."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"skipped {self.where}: {self.reason}"


@dataclass(frozen=True)
class FaceSet:
    """Crops of one split. images: (n, 48, 48) uint8; labels: (n,) int64, the dataset's own
    labels; sources: n names for people; keys: n match keys (relative path or '#row'); votes:
    (n, 10) float32 crowd votes in fer_audio.data.crowd.VOTE_COLUMNS order, NaN rows where an image has
    none, or None when no votes were attached."""

    images: np.ndarray
    labels: np.ndarray
    sources: tuple[str, ...]
    keys: tuple[str, ...] = ()
    votes: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=NUM_CLASSES)
        return {name: int(c) for name, c in zip(EMOTIONS, counts, strict=True)}

    def subset(self, index: np.ndarray) -> FaceSet:
        index = np.asarray(index, np.int64)
        return FaceSet(
            self.images[index],
            self.labels[index],
            tuple(self.sources[i] for i in index),
            tuple(self.keys[i] for i in index) if self.keys else (),
            None if self.votes is None else self.votes[index],
        )


@dataclass
class Dataset:
    """All splits found, keyed by usage ('Training', 'PublicTest', 'PrivateTest')."""

    splits: dict[str, FaceSet]
    problems: list[Problem] = field(default_factory=list)

    def require(self, usage: str) -> FaceSet:
        if usage not in self.splits or len(self.splits[usage]) == 0:
            found = ", ".join(f"{k} ({len(v)})" for k, v in self.splits.items()) or "none"
            raise DatasetError(f"no {usage} images in the data (found: {found})")
        return self.splits[usage]


LAYOUT = (
    f"class folders named {', '.join(EMOTIONS)} (optionally inside train/ and test/), a .tar.gz "
    "of them, or the challenge CSV (emotion,pixels,Usage; .csv or .csv.gz)"
)


def check_data_path(path: str | os.PathLike[str]) -> Path:
    """The path if it can be FER-style data by its name and kind; DatasetError otherwise. Cheap:
    nothing is read, so a command can check it before loading anything heavy."""
    p = Path(path)
    if not p.exists():
        raise DatasetError(f"{p}: no such file or folder; give {LAYOUT}")
    if not p.is_dir() and not p.name.lower().endswith((".csv", ".csv.gz", ".tar", ".tar.gz", ".tgz")):
        raise DatasetError(f"{p}: not FER-style data; give {LAYOUT}")
    return p


def load_dataset(path: str | os.PathLike[str]) -> Dataset:
    """Load a CSV, a tar archive or a folder of class folders. Raises DatasetError if unusable.
    Images come as fer_audio.vision.preprocess.face_input makes them, the same as at run time."""
    p = check_data_path(path)
    name = p.name.lower()
    if p.is_dir():
        records = _folder_records(p)
    elif name.endswith((".csv", ".csv.gz")):
        records = _csv_records(p)
    else:
        records = _tar_records(p)
    return _collect(records, p)


# A record is (usage, label, image-or-None, where, problem-reason-or-None, match key).
Record = tuple[str, int, "np.ndarray | None", str, "str | None", str]


def _collect(records: Iterator[Record], source: Path) -> Dataset:
    buckets: dict[str, tuple[list[np.ndarray], list[int], list[str], list[str]]] = {}
    problems: list[Problem] = []
    for usage, label, image, where, reason, key in records:
        if reason is not None or image is None:
            problems.append(Problem(where, reason or "unreadable"))
            continue
        imgs, labels, srcs, keys = buckets.setdefault(usage, ([], [], [], []))
        imgs.append(image)
        labels.append(label)
        srcs.append(where)
        keys.append(key)
    splits = {
        usage: FaceSet(np.stack(i).astype(np.uint8), np.asarray(lab, np.int64), tuple(s), tuple(k))
        for usage, (i, lab, s, k) in buckets.items()
    }
    if not splits:
        skipped = f" ({len(problems)} unreadable skipped)" if problems else ""
        raise DatasetError(f"{source}: no labelled faces found{skipped}; expected {LAYOUT}")
    return Dataset(dict(sorted(splits.items(), key=lambda kv: USAGES.index(kv[0]))), problems)


def _usage_for(split_dir: str | None, filename: str) -> str:
    for usage in USAGES:
        if filename.startswith(usage + "_"):
            return usage
    return _SPLIT_DIRS.get((split_dir or "").lower(), "PublicTest")


def _decode(data: bytes) -> np.ndarray | None:
    buf = np.frombuffer(data, np.uint8)
    image = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if buf.size else None
    if image is None:
        return None
    return _stored_face(to_gray8(image))


def _stored_face(gray: np.ndarray) -> np.ndarray:
    """face_input's (48, 48) crop of a grey image, as the uint8 a FaceSet holds."""
    return np.round(face_input(gray)).astype(np.uint8)


def _classify_path(parts: tuple[str, ...]) -> tuple[str | None, int | None]:
    """(split folder or None, class index or None) from a relative path's folder names."""
    if len(parts) < 2 or not parts[-1].lower().endswith(IMAGE_SUFFIXES):
        return None, None
    label = INDEX.get(parts[-2].lower())
    split = parts[-3] if len(parts) >= 3 and parts[-3].lower() in _SPLIT_DIRS else None
    return split, label


def _folder_records(root: Path) -> Iterator[Record]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for fn in sorted(filenames):
            full = Path(dirpath) / fn
            relative = full.relative_to(root)
            split, label = _classify_path(relative.parts)
            if label is None:
                continue
            try:
                image = _decode(full.read_bytes())
            except OSError as exc:
                yield "", label, None, str(full), exc.strerror or str(exc), relative.as_posix()
                continue
            reason = None if image is not None else "not a readable image"
            yield _usage_for(split, fn), label, image, str(full), reason, relative.as_posix()


def _tar_records(path: Path) -> Iterator[Record]:
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                split, label = _classify_path(tuple(member.name.split("/")))
                if label is None:
                    continue
                where = f"{path}:{member.name}"
                fobj = tar.extractfile(member)
                image = _decode(fobj.read()) if fobj is not None else None
                reason = None if image is not None else "not a readable image"
                usage = _usage_for(split, member.name.rsplit("/", 1)[-1])
                yield usage, label, image, where, reason, member.name
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DatasetError(f"{path}: unreadable archive ({exc}); re-download it") from exc


def _csv_records(path: Path) -> Iterator[Record]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", newline="", encoding="utf-8") as fh:
            yield from _parse_csv(fh, str(path))
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise DatasetError(f"{path}: unreadable CSV ({exc})") from exc


def _parse_csv(fh: io.TextIOBase, name: str) -> Iterator[Record]:
    reader = csv.DictReader(fh)
    missing = {"emotion", "pixels"} - set(reader.fieldnames or ())
    if missing:
        raise DatasetError(
            f"{name}: missing column(s) {', '.join(sorted(missing))}; expected emotion,pixels,Usage"
        )
    for index, row in enumerate(reader):
        where = f"{name}:row {reader.line_num}"
        usage, label, face, reason = _csv_row(row)
        yield usage, label, face, where, reason, f"#{index}"


def _csv_row(row: dict) -> tuple[str, int, np.ndarray | None, str | None]:
    """(usage, label, 48x48 uint8 face or None, problem or None) of one challenge-CSV row."""
    usage = (row.get("Usage") or "Training").strip()
    try:
        label = int(row["emotion"])
        if not 0 <= label < NUM_CLASSES:
            raise ValueError
    except (TypeError, ValueError):
        return usage, -1, None, f"emotion {row.get('emotion')!r} is not 0..6"
    if usage not in USAGES:
        return usage, label, None, f"Usage {usage!r} is not one of {', '.join(USAGES)}"
    try:
        pixels = np.asarray((row.get("pixels") or "").split(), dtype=np.int64)
    except ValueError:
        return usage, label, None, "pixels are not whole numbers"
    if pixels.size != INPUT_SIZE * INPUT_SIZE or pixels.min() < 0 or pixels.max() > 255:
        return usage, label, None, f"expected {INPUT_SIZE * INPUT_SIZE} values 0..255, got {pixels.size}"
    return usage, label, _stored_face(pixels.reshape(INPUT_SIZE, INPUT_SIZE).astype(np.uint8)), None
