"""`fer-audio evaluate`: scores a TFLite model on labelled faces through the run-time classifier."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from fer_audio.data import crowd
from fer_audio.data.datasets import USAGES, DatasetError, FaceSet, load_dataset
from fer_audio.data.evaluation import Scores, scores_json
from fer_audio.types import Say, quiet
from fer_audio.vision.classify import Classifier, ClassifierOptions


def pick_split(splits: dict[str, FaceSet], usage: str | None) -> tuple[str, FaceSet]:
    if usage is not None:
        if usage not in USAGES:
            raise DatasetError(f"--usage {usage!r}: choose from {', '.join(USAGES)}")
        if usage not in splits:
            raise DatasetError(f"no {usage} images in the data (found: {', '.join(splits)})")
        return usage, splits[usage]
    if "PublicTest" in splits:
        return "PublicTest", splits["PublicTest"]
    parts = list(splits.values())
    votes = None if parts[0].votes is None else np.concatenate([p.votes for p in parts])
    return "all", FaceSet(
        np.concatenate([p.images for p in parts]),
        np.concatenate([p.labels for p in parts]),
        tuple(s for p in parts for s in p.sources),
        tuple(k for p in parts for k in p.keys),
        votes,
    )


def score(classifier: Classifier, faces: FaceSet) -> dict:
    """Scores on the dataset's own labels (top level) and, where faces carry votes, against the
    crowd's majority ('crowd', with 'excluded' counts)."""
    started = time.perf_counter()
    probs = classifier.predict_batched(faces.images.astype(np.float32))
    ms = (time.perf_counter() - started) / max(len(faces), 1) * 1000.0
    return scores_json(faces.labels, faces.votes, probs.argmax(axis=1), ms_per_face=ms)


def evaluate(
    data: str, model: str | None = None, usage: str | None = None, votes: str | None = None, note: Say = quiet
) -> dict:
    """Scores of `model` (None: the shipped one) on the `usage` split of `data` (None: PublicTest,
    or every image where there is no PublicTest), as written by ``--json``; with `votes`, also
    against the crowd's majority. Images that could not be read, and what the vote file left out,
    are reported to `note`. A DatasetError or ModelError names the input that failed."""
    dataset = load_dataset(data)
    if votes:
        dataset = crowd.with_votes(dataset, votes, note)
    name, faces = pick_split(dataset.splits, usage)
    classifier = Classifier(ClassifierOptions(model=model))
    for problem in dataset.problems:
        note(str(problem))
    result = score(classifier, faces)
    result.update(model=str(classifier.path), data=str(data), usage=name, skipped=len(dataset.problems))
    return result


def describe(result: dict) -> str:
    """The scores of `evaluate` as the lines `fer-audio evaluate` prints."""
    lines = [f"{Path(result['model']).name} on {result['usage']} of {result['data']}"]
    if "crowd" in result:
        c = result["crowd"]
        left_out = ", ".join(f"{why} {n}" for why, n in c["excluded"].items()) or "none"
        lines.append(f"Against the crowd's majority (FER+ votes; left out: {left_out}):")
        lines.append(Scores(c["accuracy"], c["n"], np.asarray(c["confusion"])).table())
        lines.append("Against the dataset's own labels:")
    lines.append(Scores(result["accuracy"], result["n"], np.asarray(result["confusion"])).table())
    lines.append(f"{result['ms_per_face']:.3f} ms per face (batches of 64)")
    return "\n".join(lines)
