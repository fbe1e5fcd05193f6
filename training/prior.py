"""Write a prior correction into an exported model's sidecar (fer_audio.vision.classify): the
class frequencies of the crowd's majority over FER-2013's Training images (the labels the model
learned) and a strength; the run-time classifier then divides the model's outputs by
prior ** strength. Choose the strength on the validation slice, PublicTest and the real-world
development sets (MODEL_CARD.md: how the shipped model's 0.2 was chosen).

    python -m training.prior fer_audio/models/fer2013.tflite --data fer2013-images.tar.gz \\
        --votes ferplus-votes.csv --strength 0.2
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from fer_audio.data import crowd
from fer_audio.data.datasets import load_dataset
from fer_audio.labels import EMOTIONS, NUM_CLASSES
from fer_audio.vision.classify import model_card, update_sidecar


def crowd_prior(data: str, votes: str, usage: str = "Training") -> np.ndarray:
    """(7,) frequencies of the crowd's majority among the `usage` images that have one."""
    faces = crowd.with_votes(load_dataset(data), votes, lambda _line: None).require(usage)
    labels, _ = crowd.majority_labels(faces.votes)
    counts = np.bincount(labels[labels >= 0], minlength=NUM_CLASSES)
    return counts / counts.sum()


def write_prior_correction(model: str | Path, prior: np.ndarray, strength: float) -> Path:
    """Write this prior correction into `model`'s sidecar (atomically, keeping the rest of what
    it says); returns its path. The calibration it carries was fitted to the outputs before this
    correction: fit it again (python -m benchmarks.tune_smoothing --model MODEL --write)."""
    correction = model_card(prior=[round(float(v), 6) for v in prior], strength=strength)["prior_correction"]
    return update_sidecar(Path(model), prior_correction=correction)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="an exported .tflite model")
    parser.add_argument("--data", required=True, help="FER-2013 (the model's training data)")
    parser.add_argument("--votes", required=True, help="FER+ crowd votes")
    parser.add_argument("--strength", type=float, required=True, help="0 (none) .. 1 (full prior)")
    args = parser.parse_args(argv)
    if not 0.0 <= args.strength <= 1.0:
        parser.error(f"--strength {args.strength}: give a value from 0 to 1")
    prior = crowd_prior(args.data, args.votes)
    path = write_prior_correction(args.model, prior, args.strength)
    shown = ", ".join(f"{e} {p:.4f}" for e, p in zip(EMOTIONS, prior, strict=True))
    print(f"{path}: prior {shown}; strength {args.strength:g}")


if __name__ == "__main__":
    main()
