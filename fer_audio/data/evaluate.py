"""`fer-audio evaluate`: scores a TFLite model on labelled faces through the run-time classifier."""

from __future__ import annotations

import json
import time

import click
import numpy as np

from fer_audio.data import crowd
from fer_audio.data.datasets import USAGES, Dataset, DatasetError, FaceSet, load_dataset
from fer_audio.data.evaluation import Scores, scores_json
from fer_audio.outputs import write_atomic
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


def _load(data: str, votes: str | None) -> Dataset:
    dataset = load_dataset(data)
    return crowd.with_votes(dataset, votes, lambda line: click.echo(line, err=True)) if votes else dataset


def run_evaluate(
    data: str,
    model: str | None,
    usage: str | None,
    json_out: str | None,
    votes: str | None = None,
) -> int:
    dataset = _load(data, votes)  # a DatasetError or ModelError names the input
    name, faces = pick_split(dataset.splits, usage)
    classifier = Classifier(ClassifierOptions(model=model))
    for problem in dataset.problems:
        click.echo(str(problem), err=True)
    result = score(classifier, faces)
    result.update(model=str(classifier.path), data=str(data), usage=name, skipped=len(dataset.problems))
    click.echo(f"{classifier.path.name} on {name} of {data}")
    if "crowd" in result:
        c = result["crowd"]
        left_out = ", ".join(f"{why} {n}" for why, n in c["excluded"].items()) or "none"
        click.echo(f"Against the crowd's majority (FER+ votes; left out: {left_out}):")
        click.echo(Scores(c["accuracy"], c["n"], np.asarray(c["confusion"])).table())
        click.echo("Against the dataset's own labels:")
    scores = Scores(result["accuracy"], result["n"], np.asarray(result["confusion"]))
    click.echo(scores.table())
    click.echo(f"{result['ms_per_face']:.3f} ms per face (batches of 64)")
    if json_out:
        write_atomic(json_out, json.dumps(result, indent=2))
    return 0
