"""After fitting: export TFLite models, score every one on validation and test, plot, write metrics.

The scores of the exported models come from fer_audio.vision.classify, the same runtime path that the
live tool and `fer-audio evaluate` use.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import time
from pathlib import Path

import keras
import numpy as np

from fer_audio.data.datasets import FaceSet
from fer_audio.data.evaluation import scores_json
from fer_audio.data.runs import best_files
from fer_audio.labels import EMOTIONS
from fer_audio.outputs import write_atomic
from fer_audio.vision.classify import Classifier, ClassifierOptions, model_card, sidecar_path
from training.export import QUANTIZATIONS, average, float32_copy, to_tflite, with_flip_average
from training.options import TrainConfig
from training.score import summary
from training.train import Log, prepare_data

# Exported variants: (file name, quantization, mirror-averaged)
VARIANTS = [
    ("model.tflite", "float32", False),
    ("model-float16.tflite", "float16", False),
    ("model-int8.tflite", "int8", False),
    ("model-flip.tflite", "float32", True),
    ("model-flip-int8.tflite", "int8", True),
]
assert {q for _, q, _ in VARIANTS} == set(QUANTIZATIONS)


def _time_per_face(classifier: Classifier, faces: np.ndarray, batch: int = 8, repeats: int = 30) -> float:
    sample = faces[:batch]
    classifier.predict(sample)
    started = time.perf_counter()
    for _ in range(repeats):
        classifier.predict(sample)
    return (time.perf_counter() - started) / (repeats * len(sample)) * 1000.0


def run_members(out: Path) -> list[Path]:
    """The run folders whose best epochs make the exported model: member-1, member-2, ... of an
    ensemble (fer-audio train --members N), or the run folder itself."""
    return [p.parent for p in best_files(out)] or [out]


def _here(config: TrainConfig, data: str | None, votes: str | None, log: Log) -> TrainConfig:
    """The run's config with its data paths replaced by `data` / `votes` where the saved ones do
    not exist on this machine (a run trained elsewhere, e.g. on a GPU machine)."""
    changes = {}
    for name, given in (("data", data), ("votes", votes)):
        saved = getattr(config, name)
        if saved and given and not Path(saved).exists() and Path(given).exists():
            log(f"{name}: {saved} is not here; scoring on {given}")
            changes[name] = given
    return dataclasses.replace(config, **changes)


def finalize(run: str | Path, log: Log = print, data: str | None = None, votes: str | None = None) -> dict:
    """Export, score and plot the best model of a run folder (the average of its members' best
    models for an ensemble); returns metrics.json's content. `data` and `votes` stand in for the
    run's own paths where those are not on this machine."""
    keras.mixed_precision.set_global_policy("float32")  # TFLite has no bfloat16 kernels
    out = Path(run)
    members = run_members(out)
    configs = [TrainConfig.from_json(json.loads((m / "config.json").read_text())) for m in members]
    if len({(c.data, c.split_seed, c.val_fraction, c.test_usage) for c in configs}) > 1:
        raise ValueError(f"{out}: the members were split differently; an ensemble needs one split")
    config = _here(configs[0], data, votes, log)
    splits = prepare_data(config, lambda _msg: None)
    model = average([float32_copy(keras.models.load_model(m / "best.keras")) for m in members])
    metrics: dict = {"run": str(out), "params": int(model.count_params()), "members": [], "models": {}}
    for member, member_config in zip(members, configs, strict=True):
        state = json.loads((member / "state.json").read_text())
        metrics["members"].append(
            {
                "run": str(member),
                "seed": member_config.seed,
                "best_epoch": state["best_epoch"],
                "epochs_run": state["epoch"],
            }
        )
    for name, quantization, flip in VARIANTS:
        exported = with_flip_average(model) if flip else model
        blob = to_tflite(exported, quantization)
        write_atomic(sidecar_path(out / name), json.dumps(model_card(), indent=2))
        write_atomic(out / name, blob)
        classifier = Classifier(ClassifierOptions(model=str(out / name)))
        entry: dict = {"bytes": len(blob), "quantization": quantization, "flip_average": flip}
        for split in ("val", "test"):
            entry[split] = _split_scores(classifier, splits[split])
        entry["ms_per_face"] = _time_per_face(classifier, splits["test"].images.astype(np.float32))
        metrics["models"][name] = entry
        log(f"{name}: {summary(entry)}, {entry['ms_per_face']:.3f} ms/face, {len(blob) / 1e6:.2f} MB")
    write_atomic(out / "metrics.json", json.dumps(metrics, indent=2))
    histories = [m / "history.csv" for m in members if (m / "history.csv").exists()]
    if histories:
        plot_curves(histories, out / "curves.png")
    else:  # e.g. a network brought back from another machine without its history
        log(f"{out}: no history.csv, so no curves.png")
    best = metrics["models"]["model.tflite"]["test"]
    crowd_majority = "crowd" in best
    confusion = best["crowd"]["confusion"] if crowd_majority else best["confusion"]
    truth = "the crowd's majority" if crowd_majority else "the dataset's label"
    plot_confusion(np.asarray(confusion), out / "confusion.png", truth)
    return metrics


def _split_scores(classifier: Classifier, part: FaceSet) -> dict:
    """Scores on the dataset's own labels, with 'crowd' (agreement with the crowd's majority,
    and what was left out) where the faces carry votes."""
    predicted = classifier.predict_batched(part.images.astype(np.float32)).argmax(1)
    return scores_json(part.labels, part.votes, predicted)


def plot_curves(histories: list[Path], png: Path) -> None:
    """Loss and accuracy per epoch, fit (augmented) and validation, of each member's history.csv."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for k, history in enumerate(histories, start=1):
        rows = list(csv.DictReader(history.open()))
        epochs = [int(r["epoch"]) for r in rows]
        tag = f" {k}" if len(histories) > 1 else ""
        ax1.plot(epochs, [float(r["loss"]) for r in rows], label=f"fit{tag} (augmented)")
        ax2.plot(epochs, [float(r["acc"]) for r in rows], label=f"fit{tag} (augmented)")
        ax2.plot(epochs, [float(r["val_acc"]) for r in rows], label=f"validation{tag}, selection score")
        if rows and _has(rows, "val_label_acc"):
            own = [float(r["val_label_acc"]) for r in rows]
            ax2.plot(epochs, own, linestyle="--", label=f"validation{tag}, dataset's own labels")
    ax1.set(title="training loss", xlabel="epoch")
    ax2.set(title="accuracy", xlabel="epoch")
    ax1.legend()
    ax2.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)


def _has(rows: list[dict], key: str) -> bool:
    return all(r.get(key) not in (None, "") for r in rows)


def plot_confusion(confusion: np.ndarray, png: Path, truth: str = "the dataset's label") -> None:
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
    ax.set(xlabel="predicted", ylabel=f"true: {truth}", title="test confusion (row-normalised)")
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
