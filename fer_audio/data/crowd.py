"""FER+ crowd votes: read them, match them to loaded faces, and turn them into targets and labels.

FER+ (Barsoum et al. 2016) had 10 crowd workers label every FER-2013 image with one of eight
emotions, "unknown" or "not a face". Two file forms are read:

* path-keyed (``ferplus-votes.csv``): ``path,neutral,happiness,...,NF``; ``path`` is relative to
  the folder that holds ``train/`` and ``test/`` (``train/angry/Training_1426440.jpg``). Images
  are matched on that path, else on the file name alone (unique in FER-2013), so the same file
  serves a plain folder of class folders too.
* FER+'s own ``fer2013new.csv``: ``Usage,Image name,neutral,...,NF``, where row N describes row N
  of the challenge CSV; an empty ``Image name`` is an image FER+ dropped.

Votes are kept as (n, 10) float32 in VOTE_COLUMNS order: the seven classes of
fer_audio.labels, then contempt (no class here), unknown, not a face. No TensorFlow.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from fer_audio.data.datasets import Dataset, DatasetError, FaceSet, Problem
from fer_audio.labels import EMOTIONS, NUM_CLASSES

VOTE_COLUMNS: tuple[str, ...] = (*EMOTIONS, "contempt", "unknown", "not_a_face")
CONTEMPT, UNKNOWN, NOT_A_FACE = NUM_CLASSES, NUM_CLASSES + 1, NUM_CLASSES + 2
# FER+'s column names -> ours
_FERPLUS_NAMES = {
    "neutral": "neutral",
    "happiness": "happy",
    "surprise": "surprise",
    "sadness": "sad",
    "anger": "angry",
    "disgust": "disgust",
    "fear": "fear",
    "contempt": "contempt",
    "unknown": "unknown",
    "NF": "not_a_face",
}
_SPLIT_FOLDERS = ("train", "training", "test", "val")
# why an image has no crowd-majority label (index = code returned by majority_labels)
EXCLUDED = ("", "no crowd votes", "a tie", "unknown", "not a face", "contempt (no class here)")


@dataclass
class VoteTable:
    """The rows of one vote file. `votes` maps a key to a (10,) float32 row and `rows` the same key
    to its line in the file; path-keyed tables also look up by file name."""

    path: str
    kind: str  # "paths" (ferplus-votes.csv) or "ferplus" (fer2013new.csv, keyed '#N' by data row)
    votes: dict[str, np.ndarray] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    usages: dict[str, str] = field(default_factory=dict)  # ferplus: each row's Usage
    by_name: dict[str, str] = field(default_factory=dict)  # file name -> key (paths kind)
    problems: list[Problem] = field(default_factory=list)  # malformed rows, never used
    dropped: int = 0  # ferplus rows with an empty Image name (images FER+ dropped)


@dataclass(frozen=True)
class MatchReport:
    """How the votes met the images: counts, and the rows or images that found no partner."""

    matched: int
    images_without_votes: tuple[str, ...]  # sources of images no row describes
    unmatched_rows: tuple[int, ...]  # file lines of rows that describe no loaded image
    malformed: tuple[Problem, ...]
    dropped_by_ferplus: int

    def lines(self, table: str, limit: int = 10) -> list[str]:
        """Plain lines for the user: every count, and the first `limit` rows or images of each."""
        out = [f"{table}: {self.matched} images matched to crowd votes"]
        out += [str(p) for p in self.malformed[:limit]]
        if self.malformed:
            out.append(f"{len(self.malformed)} malformed vote row(s) skipped")
        if self.unmatched_rows:
            shown = ", ".join(str(r) for r in self.unmatched_rows[:limit])
            more = " ..." if len(self.unmatched_rows) > limit else ""
            out.append(f"{len(self.unmatched_rows)} vote row(s) match no image: rows {shown}{more}")
        if self.images_without_votes:
            shown = ", ".join(self.images_without_votes[:3])
            out.append(f"{len(self.images_without_votes)} image(s) have no vote row, e.g. {shown}")
        if self.dropped_by_ferplus:
            out.append(f"{self.dropped_by_ferplus} row(s) are images FER+ dropped (empty Image name)")
        return out


# ------------------------------------------------------------------------------------- reading


@contextlib.contextmanager
def _vote_file(path: str | Path) -> Iterator[tuple[str, list[str], Iterator]]:
    """(kind, header, a csv reader past the header) of a vote file; DatasetError if it is missing,
    unreadable or not a vote file."""
    p = Path(path)
    if not p.is_file():
        raise DatasetError(f"{p}: no such vote file; pass ferplus-votes.csv or FER+'s fer2013new.csv")
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader, [])]
            yield _kind(header, p), header, reader
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{p}: unreadable vote file ({exc})") from exc


def load_votes(path: str | Path) -> VoteTable:
    """Read either vote file form. Raises DatasetError if the file cannot be used at all."""
    with _vote_file(path) as (kind, header, reader):
        table = VoteTable(str(path), kind)
        columns = [header.index(name) for name in _FERPLUS_NAMES]
        for index, row in enumerate(reader):
            _read_row(table, header, columns, index, row, reader.line_num)
    return table


def check_vote_file(path: str | Path) -> str:
    """'paths' or 'ferplus' from the header alone; DatasetError if it is not a vote file."""
    with _vote_file(path) as (kind, _, _):
        return kind


def _kind(header: list[str], path: Path) -> str:
    missing = [name for name in _FERPLUS_NAMES if name not in header]
    if "path" in header and not missing:
        return "paths"
    if "Image name" in header and "Usage" in header and not missing:
        return "ferplus"
    raise DatasetError(
        f"{path}: not a vote file; expected the columns path,{','.join(_FERPLUS_NAMES)} "
        f"(ferplus-votes.csv) or Usage,Image name,... (FER+'s fer2013new.csv)"
    )


def _read_row(table: VoteTable, header: list[str], columns: list[int], index: int, row, line: int) -> None:
    where = f"{table.path}:row {line}"
    if len(row) != len(header):
        table.problems.append(Problem(where, f"{len(row)} fields, expected {len(header)}"))
        return
    if table.kind == "ferplus" and not row[header.index("Image name")].strip():
        table.dropped += 1
        return
    try:
        counts = np.asarray([float(row[c]) for c in columns], np.float32)
    except ValueError:
        table.problems.append(Problem(where, "vote counts are not numbers"))
        return
    if not np.all(np.isfinite(counts)) or (counts < 0).any() or counts.sum() <= 0:
        table.problems.append(Problem(where, "vote counts must be zero or more, and not all zero"))
        return
    ours = np.zeros(len(VOTE_COLUMNS), np.float32)
    ours[[VOTE_COLUMNS.index(_FERPLUS_NAMES[name]) for name in _FERPLUS_NAMES]] = counts
    key = _row_key(table, header, index, row)
    if not key or key in table.votes:
        reason = "empty path" if not key else f"{key} has an earlier row too; the first is used"
        table.problems.append(Problem(where, reason))
        return
    table.votes[key], table.rows[key] = ours, line
    if table.kind == "ferplus":
        table.usages[key] = row[header.index("Usage")].strip()
    else:
        table.by_name.setdefault(PurePosixPath(key).name, key)


def _row_key(table: VoteTable, header: list[str], index: int, row) -> str:
    if table.kind == "ferplus":
        return f"#{index}"
    return PurePosixPath(row[header.index("path")].strip().replace("\\", "/")).as_posix().lstrip("./")


# ------------------------------------------------------------------------------------ matching


def attach_votes(data: Dataset, table: VoteTable) -> tuple[Dataset, MatchReport]:
    """The same dataset with `votes` set on every split (NaN rows where an image has no votes)."""
    used: set[str] = set()
    missing: list[str] = []
    splits: dict[str, FaceSet] = {}
    for usage, part in data.splits.items():
        votes = np.full((len(part), len(VOTE_COLUMNS)), np.nan, np.float32)
        for i, key in enumerate(part.keys):
            found = _lookup(table, key, usage, data)
            if found is None:
                missing.append(part.sources[i])
                continue
            votes[i] = table.votes[found]
            used.add(found)
        splits[usage] = dataclasses.replace(part, votes=votes)
    unmatched = tuple(sorted(table.rows[k] for k in table.votes if k not in used))
    report = MatchReport(len(used), tuple(missing), unmatched, tuple(table.problems), table.dropped)
    return Dataset(splits, data.problems), report


def _lookup(table: VoteTable, key: str, usage: str, data: Dataset) -> str | None:
    if table.kind == "ferplus":
        if not key.startswith("#"):
            raise DatasetError(
                f"{table.path}: FER+'s own file pairs with the challenge CSV row by row; pass the "
                f"challenge CSV (fer2013.csv) as --data, or use a path-keyed vote file"
            )
        if key in table.votes and table.usages[key] != usage:
            return None  # the two files are not row-aligned here; reported as unmatched
        return key if key in table.votes else None
    parts = PurePosixPath(key).parts
    for start in range(len(parts)):
        if parts[start].lower() in _SPLIT_FOLDERS and len(parts) - start == 3:
            relative = "/".join(parts[start:])
            if relative in table.votes:
                return relative
    return table.by_name.get(parts[-1]) if parts else None


def with_votes(data: Dataset, votes: str | Path, log: Callable[[str], None]) -> Dataset:
    """`data` with the vote file `votes` attached, each line of the match report given to `log`;
    DatasetError if no row of it matches an image."""
    data, report = attach_votes(data, load_votes(votes))
    for line in report.lines(str(votes)):
        log(line)
    if not report.matched:
        raise DatasetError(f"{votes}: no vote row matches an image of the data")
    return data


# ------------------------------------------------------------------------- targets and labels


def soft_targets(votes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(targets (n, 7) float32, reason (n,) int8): the vote distribution over the seven emotions
    (FER+'s "probability" targets; contempt votes are dropped). reason indexes EXCLUDED: 0 for a
    usable image; "unknown" / "not a face" where that is the largest vote; "no crowd votes" where
    there are none, or none for the seven emotions."""
    votes = np.asarray(votes, np.float32)
    emotions = np.nan_to_num(votes[:, :NUM_CLASSES])
    total = emotions.sum(axis=1, keepdims=True)
    targets = np.divide(emotions, total, out=np.zeros_like(emotions), where=total > 0)
    reason = np.zeros(len(votes), np.int8)
    has = ~np.isnan(votes).any(axis=1)
    top = np.where(has, np.nan_to_num(votes).argmax(axis=1), -1)
    reason[top == UNKNOWN] = EXCLUDED.index("unknown")
    reason[top == NOT_A_FACE] = EXCLUDED.index("not a face")
    reason[(total[:, 0] <= 0) | ~has] = EXCLUDED.index("no crowd votes")
    return targets, reason


def majority_labels(votes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(labels (n,) int64, reason (n,) int8): the crowd's majority among all ten columns, -1 where
    there is none that names one of the seven emotions (reason indexes EXCLUDED: a tie for the
    most votes, unknown, not a face, contempt, or no votes)."""
    votes = np.asarray(votes, np.float32)
    has = ~np.isnan(votes).any(axis=1)
    filled = np.nan_to_num(votes, nan=0.0)
    top = filled.argmax(axis=1)
    tie = (filled == filled.max(axis=1, keepdims=True)).sum(axis=1) > 1
    reason = np.zeros(len(votes), np.int8)
    reason[top == CONTEMPT] = EXCLUDED.index("contempt (no class here)")
    reason[top == UNKNOWN] = EXCLUDED.index("unknown")
    reason[top == NOT_A_FACE] = EXCLUDED.index("not a face")
    reason[tie] = EXCLUDED.index("a tie")
    reason[~has] = EXCLUDED.index("no crowd votes")
    labels = np.where(reason == 0, top, -1).astype(np.int64)
    return labels, reason


def excluded_counts(reason: np.ndarray) -> dict[str, int]:
    """{why: how many} for the non-zero reasons of soft_targets or majority_labels."""
    counts = np.bincount(np.asarray(reason, np.int64), minlength=len(EXCLUDED))
    return {EXCLUDED[i]: int(c) for i, c in enumerate(counts) if i and c}
