"""Shared by the benchmark areas: paths under ../shared, printing, FER-2013 with its crowd votes
(loaded once), the shipped model's outputs, the `fer` package's detector (loaded once)."""

from __future__ import annotations

import functools
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks import fer_baseline
from fer_audio.data import crowd
from fer_audio.data.datasets import load_dataset
from fer_audio.labels import EMOTIONS
from fer_audio.vision.classify import Classifier, ClassifierOptions
from training.split import stratified_split

ROOT = Path(__file__).resolve().parents[1]


SHARED = ROOT.parent / "shared"


TAR = SHARED / "datasets" / "fer2013-images.tar.gz"


VOTES = SHARED / "datasets" / "ferplus-votes.csv"


VIDEO = SHARED / "videos" / "phone-smile.mp4"


VIDEO_FPS = 24.7  # its frame rate


RESULTS = ROOT / "benchmarks" / "results"


FER_PACKAGE = {  # figures measured here for the `fer` package (from the issues; not re-run here)
    "ms_per_256px_photo": 8.7,
    "video_fps": 35.0,
    "label_changes_per_min_talking_face": 523,
}


def say(line: str) -> None:
    print(line, flush=True)


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


@functools.cache
def data():
    """FER-2013 as the files hold it (48x48 crops, what the model and the fer package are fed),
    with the FER+ crowd votes attached."""
    return crowd.attach_votes(load_dataset(TAR), crowd.load_votes(VOTES))[0]


def validation_faces():
    """The shipped model's validation slice of Training (10%, stratified, split seed 1234: see
    the model card): faces the model was not trained on and the smoother is not tuned on."""
    train = data().require("Training")
    _, val_idx = stratified_split(train.labels, 0.1, 1234)
    return train.subset(val_idx)


def crowd_truth(faces):
    """The faces that have a crowd majority among the seven emotions, labelled with it: the word
    most people would say, which is what the listener should hear."""
    majority, _ = crowd.majority_labels(faces.votes)
    keep = np.flatnonzero(majority >= 0)
    return replace(faces.subset(keep), labels=majority[keep])


def video_gray() -> list[np.ndarray]:
    from fer_audio.vision.preprocess import to_gray8
    from fer_audio.vision.sources import FrameSource, SourceOptions

    with FrameSource(SourceOptions(str(VIDEO), realtime=False)) as source:
        return [to_gray8(frame.image) for frame in source]


def by_class(probs: np.ndarray, labels: np.ndarray) -> dict[int, np.ndarray]:
    return {c: probs[labels == c] for c in range(len(EMOTIONS))}


def model_outputs(faces, model: str | None = None) -> np.ndarray:
    """(n, 7) a model's outputs (default: the shipped one) for `faces` from load_dataset,
    already through face_input."""
    return Classifier(ClassifierOptions(model=model)).predict_batched(faces.images.astype(np.float32), 64)


def probs_by_class(faces) -> dict[int, np.ndarray]:
    """The shipped model's outputs per true class."""
    faces = crowd_truth(faces)
    return by_class(model_outputs(faces), faces.labels)


@functools.cache
def fer_detector():
    """The `fer` package's FER detector where it is installed (loaded once), else None."""
    return fer_baseline.load()
