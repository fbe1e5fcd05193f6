"""Fit the expression model. Reads top to bottom: config, data, model, fit, evaluate, export.

A run writes one folder::

    config.json      the exact configuration (and the data it read)
    split.json       which source is in which split (fit / val / test)
    checkpoint.keras last finished epoch: weights + optimizer + schedule (for --resume)
    state.json       epoch, best validation accuracy, early-stopping counter
    best.keras       the epoch with the best validation accuracy
    history.csv      per-epoch loss, accuracy, learning rate, images/s
    model.tflite, model-float16.tflite, model-int8.tflite
    metrics.json     validation and test scores of every exported model
    curves.png, confusion.png

Multi-GPU: pass a ``tf.distribute`` strategy (MirroredStrategy on one machine,
MultiWorkerMirroredStrategy across machines with TF_CONFIG set); see training/README.md.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from fer_audio.datasets import Dataset, FaceSet, load_dataset
from fer_audio.labels import EMOTIONS, NUM_CLASSES
from training.augment import AugmentOptions, make_augmenter
from training.model import ModelOptions, build_model
from training.split import make_splits

Log = Callable[[str], None]


@dataclass(frozen=True)
class TrainConfig:
    data: str  # challenge CSV (.csv/.csv.gz), image-folder tree, or .tar.gz of one
    out: str  # run folder
    epochs: int = 40  # length of the cosine schedule
    batch_size: int = 64
    learning_rate: float = 1e-3  # peak, after warm-up
    warmup_epochs: float = 1.0
    weight_decay: float = 0.01  # AdamW decoupled decay (multiplied by the learning rate)
    label_smoothing: float = 0.1
    class_weight_power: float = 0.25  # weight = (1 / frequency) ** power, normalised to mean 1
    val_fraction: float = 0.1  # of Training, stratified, for model selection and early stop
    test_usage: str = "PublicTest"  # reported only, never used for a decision
    patience: int = 10  # epochs without a better validation accuracy before stopping
    seed: int = 1234  # initial weights, data order, augmentation, dropout
    split_seed: int = 1234  # which Training images form the validation slice (keep it fixed
    # across the members of an ensemble, so none of them is fitted on another's validation images)
    limit: int = 0  # use at most this many Training images (0: all); for tests and smoke runs
    jit_compile: bool = True  # XLA; turned off automatically where unsupported
    model: ModelOptions = field(default_factory=ModelOptions)
    augment: AugmentOptions = field(default_factory=AugmentOptions)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> TrainConfig:
        d = dict(d)
        d["model"] = ModelOptions(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in d["model"].items()}
        )
        d["augment"] = AugmentOptions(**d["augment"])
        return cls(**d)


def member_configs(config: TrainConfig, members: int) -> list[TrainConfig]:
    """The runs of an ensemble: member-k/ inside config.out with seed + k - 1, one split_seed.
    One member is the run itself."""
    if members <= 1:
        return [config]
    return [
        dataclasses.replace(config, out=str(Path(config.out) / f"member-{k + 1}"), seed=config.seed + k)
        for k in range(members)
    ]


def _write_atomic(path: Path, data: bytes | str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    os.replace(tmp, path)


def _save_keras_atomic(model: keras.Model, path: Path) -> None:
    tmp = path.with_name(f".tmp-{path.name}")
    model.save(tmp)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------- data


def prepare_data(config: TrainConfig, log: Log) -> dict[str, FaceSet]:
    data: Dataset = load_dataset(config.data)
    for problem in data.problems[:20]:
        log(str(problem))
    if data.problems:
        log(f"{len(data.problems)} input(s) skipped")
    splits = make_splits(data, config.val_fraction, config.split_seed, config.test_usage)
    if config.limit:
        rng = np.random.default_rng(config.seed)
        keep = np.sort(rng.permutation(len(splits["fit"]))[: config.limit])
        splits["fit"] = splits["fit"].subset(keep)
    empty = [name for name, n in splits["fit"].class_counts().items() if n == 0]
    if empty:
        raise ValueError(f"no training images of class {', '.join(empty)}: every class needs examples")
    for name, part in splits.items():
        log(f"{name}: {len(part)} images {part.class_counts()}")
    return splits


def class_weights(labels: np.ndarray, power: float) -> dict[int, float]:
    freq = np.bincount(labels, minlength=NUM_CLASSES).astype(np.float64) / len(labels)
    w = (1.0 / np.maximum(freq, 1e-9)) ** power
    w = w / np.sum(w * freq)  # the average weight over the training images is 1
    return {i: float(w[i]) for i in range(NUM_CLASSES)}


def epoch_dataset(part: FaceSet, config: TrainConfig, epoch: int) -> tf.data.Dataset:
    """The shuffled, augmented batches of one epoch; the same for the same (seed, epoch)."""
    order = np.random.default_rng(config.seed + 1000 * (epoch + 1)).permutation(len(part))
    x = part.images[order, :, :, None].astype(np.float32)
    y = keras.utils.to_categorical(part.labels[order], NUM_CLASSES).astype(np.float32)
    weights = class_weights(part.labels, config.class_weight_power)
    sw = np.asarray([weights[int(c)] for c in part.labels[order]], np.float32)
    augment = make_augmenter(config.augment, config.seed + epoch)
    ds = tf.data.Dataset.from_tensor_slices((x, y, sw)).batch(config.batch_size)
    ds = ds.map(lambda a, b, c: (augment(a), b, c), num_parallel_calls=1, deterministic=True)
    return ds.prefetch(2)


def eval_arrays(part: FaceSet) -> tuple[np.ndarray, np.ndarray]:
    x = part.images[:, :, :, None].astype(np.float32)
    return x, keras.utils.to_categorical(part.labels, NUM_CLASSES).astype(np.float32)


# --------------------------------------------------------------------------------------- model


def steps_per_epoch(n: int, batch_size: int) -> int:
    return max(1, math.ceil(n / batch_size))


def compile_model(config: TrainConfig, n_fit: int, jit: bool) -> keras.Model:
    model = build_model(config.model)
    steps = steps_per_epoch(n_fit, config.batch_size)
    warmup = int(round(config.warmup_epochs * steps))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.learning_rate / 100.0,
        decay_steps=max(1, config.epochs * steps - warmup),
        warmup_target=config.learning_rate,
        warmup_steps=warmup,
        alpha=0.0,
    )
    optimizer = keras.optimizers.AdamW(learning_rate=schedule, weight_decay=config.weight_decay)
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=[keras.metrics.CategoricalAccuracy(name="acc")],
        jit_compile=jit,
    )
    return model


# ----------------------------------------------------------------------------------------- fit


@dataclass
class RunState:
    epoch: int = 0  # epochs finished
    best_val_acc: float = -1.0
    best_epoch: int = 0
    wait: int = 0  # epochs since the best
    stopped_early: bool = False

    @classmethod
    def load(cls, path: Path) -> RunState:
        return cls(**json.loads(path.read_text())) if path.exists() else cls()


def fit(
    config: TrainConfig,
    resume: bool = False,
    strategy: tf.distribute.Strategy | None = None,
    log: Log = print,
) -> Path:
    """Train (or continue) the run in config.out; returns the run folder."""
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    state_path, ckpt_path = out / "state.json", out / "checkpoint.keras"
    if resume:
        if not ckpt_path.exists():
            raise FileNotFoundError(f"{ckpt_path}: nothing to resume; start without --resume")
        saved = TrainConfig.from_json(json.loads((out / "config.json").read_text()))
        if saved != config:
            log("--resume: using the run's saved config (command-line options ignored)")
        config = saved
    elif ckpt_path.exists():
        raise FileExistsError(
            f"{out} already holds a run; pass --resume to continue it or choose another --out"
        )

    keras.utils.set_random_seed(config.seed)
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        keras.mixed_precision.set_global_policy("mixed_float16")
        log(f"training on {len(gpus)} GPU(s) with mixed precision")
    splits = prepare_data(config, log)
    _write_atomic(out / "config.json", json.dumps(config.to_json(), indent=2))
    _write_atomic(out / "split.json", json.dumps({k: list(v.sources) for k, v in splits.items()}))

    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        if resume:
            model = keras.models.load_model(ckpt_path)
        else:
            model = compile_model(config, len(splits["fit"]), jit=config.jit_compile)
    state = RunState.load(state_path) if resume else RunState()
    log(f"model: {model.count_params():,} parameters; epochs {state.epoch + 1}..{config.epochs}")
    _fit_epochs(model, config, splits, state, out, log)
    return out


def _fit_epochs(
    model: keras.Model, config: TrainConfig, splits: dict[str, FaceSet], state: RunState, out: Path, log: Log
) -> None:
    val_x, val_y = eval_arrays(splits["val"])
    history_path = out / "history.csv"
    for epoch in range(state.epoch, config.epochs):
        if state.stopped_early:
            break
        started = time.perf_counter()
        _reseed_layers(model, config.seed, epoch)
        try:
            h = model.fit(
                epoch_dataset(splits["fit"], config, epoch),
                epochs=epoch + 1,
                initial_epoch=epoch,
                shuffle=False,
                verbose=0,
            )
        except KeyboardInterrupt:
            _save_keras_atomic(model, out / "interrupted.keras")
            log(
                f"interrupted in epoch {epoch + 1}: the last finished epoch ({state.epoch}) is saved; "
                f"continue with --resume (partial weights in interrupted.keras)"
            )
            raise
        seconds = time.perf_counter() - started
        val_loss, val_acc = model.evaluate(val_x, val_y, batch_size=256, verbose=0)
        lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        row = {
            "epoch": epoch + 1,
            "loss": h.history["loss"][-1],
            "acc": h.history["acc"][-1],
            "val_loss": float(val_loss),
            "val_acc": float(val_acc),
            "lr": lr,
            "images_per_s": len(splits["fit"]) / seconds,
        }
        _append_history(history_path, row)
        state.epoch = epoch + 1
        if val_acc > state.best_val_acc:
            state.best_val_acc, state.best_epoch, state.wait = float(val_acc), epoch + 1, 0
            _save_keras_atomic(model, out / "best.keras")
        else:
            state.wait += 1
            state.stopped_early = state.wait >= config.patience
        _save_keras_atomic(model, out / "checkpoint.keras")
        _write_atomic(out / "state.json", json.dumps(dataclasses.asdict(state)))
        eta = seconds * (config.epochs - epoch - 1) / 60
        log(
            f"epoch {epoch + 1}/{config.epochs}: loss {row['loss']:.3f} acc {row['acc']:.3f} "
            f"val_loss {val_loss:.3f} val_acc {val_acc:.3f} lr {lr:.2e} "
            f"{row['images_per_s']:.0f} img/s, {seconds:.0f} s, eta {eta:.0f} min"
            + ("  *best" if state.best_epoch == epoch + 1 else "")
        )
    if state.stopped_early:
        log(f"stopped early: no better validation accuracy for {config.patience} epochs")


def _reseed_layers(model: keras.Model, seed: int, epoch: int) -> None:
    """Give random layers (dropout) a state that depends only on (seed, epoch), so a resumed run
    draws the same masks as an uninterrupted one."""
    for layer in model.layers:
        generator = getattr(layer, "seed_generator", None)
        if generator is not None:
            state = generator.state
            state.assign(np.asarray([seed + 7919 * (epoch + 1), 0], dtype=state.dtype))


def _append_history(path: Path, row: dict) -> None:
    rows = list(csv.DictReader(path.open())) if path.exists() else []
    rows = [r for r in rows if int(r["epoch"]) < row["epoch"]] + [row]
    lines = [",".join(row.keys())] + [",".join(str(r[k]) for k in row) for r in rows]
    _write_atomic(path, "\n".join(lines) + "\n")


__all__ = ["EMOTIONS", "RunState", "TrainConfig", "fit", "member_configs", "prepare_data"]
