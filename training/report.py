"""After fitting: export TFLite models, score every one on validation and test, plot, write metrics.

The scores of the exported models come from fer_audio.classify, the same runtime path that the
live tool and `fer-audio evaluate` use.
"""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path

import keras
import numpy as np

from fer_audio.classify import Classifier, ClassifierOptions
from fer_audio.evaluation import Scores
from fer_audio.labels import EMOTIONS
from training.export import QUANTIZATIONS, to_tflite, with_flip_average
from training.train import Log, TrainConfig, prepare_data

# Exported variants: (file name, quantization, mirror-averaged)
VARIANTS = [
    ("model.tflite", "float32", False),
    ("model-float16.tflite", "float16", False),
    ("model-int8.tflite", "int8", False),
    ("model-flip.tflite", "float32", True),
]
assert {q for _, q, _ in VARIANTS} == set(QUANTIZATIONS)


def _time_per_face(classifier: Classifier, faces: np.ndarray, batch: int = 8, repeats: int = 30) -> float:
    sample = faces[:batch]
    classifier.predict(sample)
    started = time.perf_counter()
    for _ in range(repeats):
        classifier.predict(sample)
    return (time.perf_counter() - started) / (repeats * len(sample)) * 1000.0


def finalize(run: str | Path, log: Log = print) -> dict:
    """Export, score and plot the best model of a run folder; returns metrics.json's content."""
    out = Path(run)
    config = TrainConfig.from_json(json.loads((out / "config.json").read_text()))
    splits = prepare_data(config, lambda _msg: None)
    model = keras.models.load_model(out / "best.keras")
    metrics: dict = {"run": str(out), "params": int(model.count_params()), "models": {}}
    state = json.loads((out / "state.json").read_text())
    metrics["best_epoch"], metrics["epochs_run"] = state["best_epoch"], state["epoch"]
    for name, quantization, flip in VARIANTS:
        exported = with_flip_average(model) if flip else model
        blob = to_tflite(exported, quantization)
        tmp = out / f".{name}.tmp"
        tmp.write_bytes(blob)
        os.replace(tmp, out / name)
        classifier = Classifier(ClassifierOptions(model=str(out / name)))
        entry: dict = {"bytes": len(blob), "quantization": quantization, "flip_average": flip}
        for split in ("val", "test"):
            part = splits[split]
            probs = classifier.predict_batched(part.images.astype(np.float32))
            entry[split] = Scores.of(part.labels, probs.argmax(1)).to_json()
        entry["ms_per_face"] = _time_per_face(classifier, splits["test"].images.astype(np.float32))
        metrics["models"][name] = entry
        log(
            f"{name}: val {entry['val']['accuracy']:.4f} test {entry['test']['accuracy']:.4f} "
            f"{entry['ms_per_face']:.3f} ms/face {len(blob) / 1e6:.2f} MB"
        )
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    plot_curves(out / "history.csv", out / "curves.png")
    best = metrics["models"]["model.tflite"]["test"]
    plot_confusion(np.asarray(best["confusion"]), out / "confusion.png")
    return metrics


def plot_curves(history: Path, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(csv.DictReader(history.open()))
    epochs = [int(r["epoch"]) for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("loss", "fit (augmented)"), ("val_loss", "validation")):
        ax1.plot(epochs, [float(r[key]) for r in rows], label=label)
    for key, label in (("acc", "fit (augmented)"), ("val_acc", "validation")):
        ax2.plot(epochs, [float(r[key]) for r in rows], label=label)
    ax1.set(title="loss", xlabel="epoch")
    ax2.set(title="accuracy", xlabel="epoch")
    ax1.legend()
    ax2.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)


def plot_confusion(confusion: np.ndarray, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    norm = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(EMOTIONS)), EMOTIONS, rotation=45, ha="right")
    ax.set_yticks(range(len(EMOTIONS)), EMOTIONS)
    for i in range(len(EMOTIONS)):
        for j in range(len(EMOTIONS)):
            ax.text(
                j,
                i,
                f"{norm[i, j]:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if norm[i, j] > 0.5 else "black",
            )
    ax.set(xlabel="predicted", ylabel="true", title="test confusion (row-normalised)")
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
