"""`fer-audio evaluate`: scores a TFLite model on labelled faces through the run-time classifier."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import click
import numpy as np

from fer_audio.classify import Classifier, ClassifierOptions, ModelError
from fer_audio.datasets import USAGES, DatasetError, FaceSet, load_dataset
from fer_audio.evaluation import Scores


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
    return "all", FaceSet(
        np.concatenate([p.images for p in parts]),
        np.concatenate([p.labels for p in parts]),
        tuple(s for p in parts for s in p.sources),
    )


def score(classifier: Classifier, faces: FaceSet) -> dict:
    started = time.perf_counter()
    probs = classifier.predict_batched(faces.images.astype(np.float32))
    ms = (time.perf_counter() - started) / max(len(faces), 1) * 1000.0
    return Scores.of(faces.labels, probs.argmax(axis=1)).to_json(ms_per_face=ms)


def run_evaluate(
    data: str, model: str | None, usage: str | None, json_out: str | None, fail: Callable[[str, int], None]
) -> int:
    try:
        dataset = load_dataset(data)
        name, faces = pick_split(dataset.splits, usage)
        classifier = Classifier(ClassifierOptions(model=model))
    except (DatasetError, ModelError) as exc:
        fail(str(exc), 2)
    for problem in dataset.problems:
        click.echo(str(problem), err=True)
    result = score(classifier, faces)
    result.update(model=str(classifier.path), data=str(data), usage=name, skipped=len(dataset.problems))
    scores = Scores(result["accuracy"], result["n"], np.asarray(result["confusion"]))
    click.echo(f"{classifier.path.name} on {name} of {data}")
    click.echo(scores.table())
    click.echo(f"{result['ms_per_face']:.3f} ms per face (batches of 64)")
    if json_out:
        path = Path(json_out)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(result, indent=2), encoding="utf-8")
        os.replace(tmp, path)
    return 0
