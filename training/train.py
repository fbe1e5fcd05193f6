"""Fit the expression model. Reads top to bottom: config, data, model, fit, evaluate, export.

Keras 3 with any backend: the data are numpy arrays, augmentation is a layer of batched
keras.ops (training.augment) and nothing here imports TensorFlow, so the same code trains under
JAX on a GPU machine that has no TensorFlow and under TensorFlow on this CPU. Export to TFLite
(training.export) needs TensorFlow.

A run writes one folder::

    config.json      the exact configuration (and the data it read)
    split.json       which source is in which split (fit / val / test)
    checkpoint.keras last finished epoch: weights + optimizer + schedule (for --resume)
    state.json       epoch, best validation score, early-stopping counter
    best.keras       the network (no augmentation, no optimizer) of the best validation epoch
    history.csv      per-epoch loss, accuracy, validation scores, learning rate, images/s
    model.tflite, model-float16.tflite, model-int8.tflite, ...
    metrics.json     validation and test scores of every exported model
    curves.png, confusion.png

With crowd votes (``votes``), the targets are each image's vote distribution over the seven
emotions and the validation score is agreement with the crowd's majority; without, the targets
are the dataset's own labels. With ``teachers``, the network is a student that learns the frozen
teachers' mean output on each augmented face (training.distill). With ``init``, it starts from an
earlier run's best network instead of random weights (fine-tuning). Several GPUs: data parallel
through keras.distribution (JAX), see training/README.md.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from keras import layers

from fer_audio.data import crowd
from fer_audio.data.datasets import Dataset, FaceSet, load_dataset
from fer_audio.labels import EMOTIONS, NUM_CLASSES
from fer_audio.outputs import atomic_path
from fer_audio.outputs import write_atomic as _write_atomic
from training.augment import Augment
from training.distill import (
    DistillLoss,
    TeacherMean,
    load_network,
    load_teachers,
    student_accuracy,
)
from training.model import build_model
from training.options import TrainConfig, init_options
from training.split import make_splits

Log = Callable[[str], None]


def member_configs(config: TrainConfig, members: int) -> list[TrainConfig]:
    """The runs of an ensemble: member-k/ inside config.out with seed + k - 1, one split_seed.
    One member is the run itself."""
    if members <= 1:
        return [config]
    return [
        dataclasses.replace(config, out=str(Path(config.out) / f"member-{k + 1}"), seed=config.seed + k)
        for k in range(members)
    ]


def _save_keras_atomic(model: keras.Model, path: Path) -> None:
    with atomic_path(path) as tmp:
        model.save(tmp)


# ---------------------------------------------------------------------------------------- data


def load_training_data(config: TrainConfig, log: Log) -> Dataset:
    """The dataset, with crowd votes attached when config.votes names a vote file."""
    data: Dataset = load_dataset(config.data)
    for problem in data.problems[:20]:
        log(str(problem))
    if data.problems:
        log(f"{len(data.problems)} input(s) skipped")
    return crowd.with_votes(data, config.votes, log) if config.votes else data


def prepare_data(config: TrainConfig, log: Log) -> dict[str, FaceSet]:
    """{'fit', 'val', 'test'}. With votes, fit keeps only images with a usable vote distribution
    (those without are counted in the log)."""
    data = load_training_data(config, log)
    splits = make_splits(data, config.val_fraction, config.split_seed, config.test_usage)
    if config.votes:
        _, reason = crowd.soft_targets(splits["fit"].votes)
        left_out = crowd.excluded_counts(reason)
        if left_out:
            log("left out of training (" + ", ".join(f"{why}: {n}" for why, n in left_out.items()) + ")")
        splits["fit"] = splits["fit"].subset(np.flatnonzero(reason == 0))
    if config.limit:
        rng = np.random.default_rng(config.seed)
        keep = np.sort(rng.permutation(len(splits["fit"]))[: config.limit])
        splits["fit"] = splits["fit"].subset(keep)
    empty = [
        name
        for name, n in zip(
            EMOTIONS, np.bincount(hard_labels(splits["fit"], config), minlength=NUM_CLASSES), strict=True
        )
        if n == 0
    ]
    if empty:
        raise ValueError(f"no training images of class {', '.join(empty)}: every class needs examples")
    for name, part in splits.items():
        log(f"{name}: {len(part)} images {part.class_counts()}")
    return splits


def targets(part: FaceSet, config: TrainConfig) -> np.ndarray:
    """(n, 7) float32: the vote distributions (mixed with the one-hot dataset label by
    label_weight), or one-hot dataset labels."""
    own = np.eye(NUM_CLASSES, dtype=np.float32)[part.labels]
    if config.votes:
        votes = crowd.soft_targets(part.votes)[0]
        w = np.float32(config.label_weight)
        return votes if w == 0 else (1 - w) * votes + w * own
    return own


def hard_labels(part: FaceSet, config: TrainConfig) -> np.ndarray:
    """(n,) int64 class of each fit image for class weights: the largest vote, or the label."""
    return targets(part, config).argmax(axis=1) if config.votes else part.labels


def selection_labels(part: FaceSet, config: TrainConfig) -> np.ndarray:
    """(n,) int64 labels models are selected on: the crowd's majority (-1: none) or the label."""
    return crowd.majority_labels(part.votes)[0] if config.votes else part.labels


def class_weights(labels: np.ndarray, power: float) -> np.ndarray:
    """(7,) float64 weight of each class; their average over the training images is 1."""
    freq = np.bincount(labels, minlength=NUM_CLASSES).astype(np.float64) / len(labels)
    w = (1.0 / np.maximum(freq, 1e-9)) ** power
    return w / np.sum(w * freq)


def epoch_arrays(part: FaceSet, config: TrainConfig, epoch: int) -> tuple[np.ndarray, ...]:
    """(x, y, sample weight) of one epoch, shuffled the same way for the same (seed, epoch) and cut
    to whole batches (every step has one shape, so a jitted step compiles once)."""
    order = np.random.default_rng(config.seed + 1000 * (epoch + 1)).permutation(len(part))
    order = order[: max(1, len(order) // config.batch_size) * config.batch_size]
    y = targets(part, config)
    hard = hard_labels(part, config)
    sw = class_weights(hard, config.class_weight_power)[hard].astype(np.float32)
    return part.images[order, :, :, None].astype(np.float32), y[order], sw[order]


# --------------------------------------------------------------------------------------- model


def accelerators() -> list[str]:
    """The GPU devices Keras sees ('gpu:0', ...), for any backend; [] on a CPU."""
    try:
        return list(keras.distribution.list_devices("gpu"))
    except (NotImplementedError, RuntimeError, ValueError, AttributeError):
        return []


def use_jit(config: TrainConfig) -> bool:
    if config.jit_compile is not None:
        return config.jit_compile
    return keras.backend.backend() != "tensorflow" or bool(accelerators())


def compile_model(config: TrainConfig, n_fit: int, jit: bool) -> keras.Model:
    """The training model: augmentation, then the network (layer 'fer_audio_cnn', from
    config.init's weights when given), and with teachers their mean output beside the network's
    (training.distill)."""
    network = build_model(config.model)
    if config.init:
        path, options = init_options(config.init)
        if options != config.model:
            theirs, ours = (",".join(map(str, o.widths)) for o in (options, config.model))
            differ = f"widths {theirs}, this run's {ours}" if theirs != ours else "other settings"
            raise ValueError(
                f"--init {config.init}: that run's network has {differ}; leave --widths out to take "
                "that run's own"
            )
        network.set_weights(load_network(path, option="--init").get_weights())
    inputs = keras.Input(network.input_shape[1:], name="face")
    augmented = Augment(dataclasses.asdict(config.augment), seed=config.seed, name="augment")(inputs)
    smoothing = 0.0 if config.votes else config.label_smoothing
    if config.teachers:
        # the student's and the teachers' probabilities side by side; the loss reads both halves
        teachers = TeacherMean(load_teachers(config.teachers), config.teacher_mirror, name="teachers")
        teachers = teachers(augmented)
        pair = layers.Concatenate(name="student_and_teachers", dtype="float32")
        both = pair([network(augmented), teachers])
        model = keras.Model(inputs, both, name="train")
        loss = DistillLoss(config.distill_weight, smoothing)
        metrics = [keras.metrics.MeanMetricWrapper(student_accuracy, name="acc")]
    else:
        model = keras.Model(inputs, network(augmented), name="train")
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=smoothing)
        metrics = [keras.metrics.CategoricalAccuracy(name="acc")]
    steps = max(1, n_fit // config.batch_size)
    warmup = int(round(config.warmup_epochs * steps))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.learning_rate / 100.0,
        decay_steps=max(1, config.epochs * steps - warmup),
        warmup_target=config.learning_rate,
        warmup_steps=warmup,
        alpha=0.0,
    )
    optimizer = keras.optimizers.AdamW(learning_rate=schedule, weight_decay=config.weight_decay)
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics, jit_compile=jit)
    return model


def network_of(model: keras.Model) -> keras.Model:
    """The inference network inside a training model."""
    return model.get_layer("fer_audio_cnn")


# ----------------------------------------------------------------------------------------- fit


@dataclass
class RunState:
    epoch: int = 0  # epochs finished
    best_val_acc: float = -1.0  # the selection score: crowd-majority agreement or accuracy
    best_epoch: int = 0
    wait: int = 0  # epochs since the best
    stopped_early: bool = False

    @classmethod
    def load(cls, path: Path) -> RunState:
        return cls(**json.loads(path.read_text())) if path.exists() else cls()


def fit(config: TrainConfig, resume: bool = False, log: Log = print) -> Path:
    """Train (or continue) the run in config.out; returns the run folder."""
    out = Path(config.out)
    state_path, ckpt_path = out / "state.json", out / "checkpoint.keras"
    if resume:
        if not (out / "config.json").exists():
            raise FileNotFoundError(f"{out}: no run to resume here; start without --resume")
        saved = TrainConfig.from_json(json.loads((out / "config.json").read_text()))
        if saved != config:
            log("--resume: using the run's saved config (command-line options ignored)")
        config, done = saved, RunState.load(state_path)
        if done.epoch >= config.epochs or done.stopped_early:
            log(f"{out}: all {done.epoch} epochs are done (best: epoch {done.best_epoch})")
            return out  # a finished run needs only best.keras, state.json and config.json
        if not ckpt_path.exists():
            raise FileNotFoundError(f"{ckpt_path}: nothing to resume; start without --resume")
    elif ckpt_path.exists():
        raise FileExistsError(
            f"{out} already holds a run; pass --resume to continue it or choose another --out"
        )

    keras.utils.set_random_seed(config.seed)
    devices = accelerators()
    bfloat16 = config.bfloat16 if config.bfloat16 is not None else bool(devices)
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if bfloat16 else "float32")
    precision = "bfloat16 mixed precision (float32 weights)" if bfloat16 else "float32"
    log(f"training on {f'{len(devices)} GPU(s)' if devices else 'the CPU'} in {precision}")
    if len(devices) > 1 and keras.backend.backend() == "jax":
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        log(f"data parallel over {', '.join(devices)}")
    splits = prepare_data(config, log)
    split_record = {k: list(v.sources) for k, v in splits.items()}
    if resume:
        _check_same_split(out / "split.json", split_record)
        model = keras.models.load_model(ckpt_path)
    else:  # before anything is written: a bad --teacher or --init leaves no half-made run
        model = compile_model(config, len(splits["fit"]), jit=use_jit(config))
    out.mkdir(parents=True, exist_ok=True)
    _write_atomic(out / "config.json", json.dumps(config.to_json(), indent=2))
    _write_atomic(out / "split.json", json.dumps(split_record))
    state = RunState.load(state_path) if resume else RunState()
    log(
        f"model: {network_of(model).count_params():,} parameters; backend {keras.backend.backend()}; "
        f"epochs {state.epoch + 1}..{config.epochs}"
    )
    _fit_epochs(model, config, splits, state, out, log)
    return out


def _check_same_split(path: Path, now: dict[str, list[str]]) -> None:
    """--resume must see the data it started with: same images in the same splits."""
    if not path.exists():
        return  # a run brought back without its split.json: nothing to compare with
    before = json.loads(path.read_text())
    changed = [name for name in ("fit", "val", "test") if before.get(name) != now.get(name)]
    if changed:
        counts = ", ".join(f"{n}: {len(before.get(n, []))} -> {len(now.get(n, []))}" for n in changed)
        raise ValueError(
            f"--resume: the data differ from the run's split.json ({counts} images); resume with the "
            f"same --data and --votes, or start a new run with another --out"
        )


def validation_scores(network: keras.Model, part: FaceSet, config: TrainConfig) -> dict[str, float]:
    """{'val_acc': the selection score, 'val_label_acc': accuracy on the dataset's own labels}."""
    probs = network.predict(part.images[:, :, :, None].astype(np.float32), batch_size=256, verbose=0)
    predicted = np.asarray(probs).argmax(axis=1)
    wanted = selection_labels(part, config)
    scored = wanted >= 0
    return {
        "val_acc": float(np.mean(predicted[scored] == wanted[scored])) if scored.any() else 0.0,
        "val_label_acc": float(np.mean(predicted == part.labels)),
    }


def _fit_epochs(
    model: keras.Model, config: TrainConfig, splits: dict[str, FaceSet], state: RunState, out: Path, log: Log
) -> None:
    history_path = out / "history.csv"
    for epoch in range(state.epoch, config.epochs):
        if state.stopped_early:
            break
        started = time.perf_counter()
        _reseed_layers(model, config.seed, epoch)
        x, y, sw = epoch_arrays(splits["fit"], config, epoch)
        try:
            h = model.fit(
                x,
                y,
                sample_weight=sw,
                batch_size=config.batch_size,
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
        scores = validation_scores(network_of(model), splits["val"], config)
        lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        row = {
            "epoch": epoch + 1,
            "loss": h.history["loss"][-1],
            "acc": h.history["acc"][-1],
            **scores,
            "lr": lr,
            "images_per_s": len(x) / seconds,
        }
        _append_history(history_path, row)
        _end_epoch(model, config, state, row, out)
        eta = seconds * (config.epochs - epoch - 1) / 60
        target = "crowd" if config.votes else "labels"
        log(
            f"epoch {epoch + 1}/{config.epochs}: loss {row['loss']:.3f} acc {row['acc']:.3f} "
            f"val_acc ({target}) {row['val_acc']:.4f} lr {lr:.2e} "
            f"{row['images_per_s']:.0f} img/s, {seconds:.0f} s, eta {eta:.0f} min"
            + ("  *best" if state.best_epoch == epoch + 1 else "")
        )
    if state.stopped_early:
        log(f"stopped early: no better validation score for {config.patience} epochs")


def _end_epoch(model: keras.Model, config: TrainConfig, state: RunState, row: dict, out: Path) -> None:
    """Keep the best network, the checkpoint and the run state, each written atomically."""
    state.epoch = row["epoch"]
    if row["val_acc"] > state.best_val_acc:
        state.best_val_acc, state.best_epoch, state.wait = row["val_acc"], row["epoch"], 0
        _save_keras_atomic(network_of(model), out / "best.keras")
    else:
        state.wait += 1
        state.stopped_early = config.patience > 0 and state.wait >= config.patience
    _save_keras_atomic(model, out / "checkpoint.keras")
    _write_atomic(out / "state.json", json.dumps(dataclasses.asdict(state)))


def _reseed_layers(model: keras.Model, seed: int, epoch: int) -> None:
    """Give random layers (augmentation, dropout) a state that depends only on (seed, epoch), so a
    resumed run draws the same numbers as an uninterrupted one."""
    for layer in model._flatten_layers(include_self=False, recursive=True):
        generator = getattr(layer, "seed_generator", None)
        if generator is not None:
            state = generator.state
            state.assign(np.asarray([seed + 7919 * (epoch + 1), 0], dtype=state.dtype))


def _append_history(path: Path, row: dict) -> None:
    rows = list(csv.DictReader(path.open())) if path.exists() else []
    rows = [r for r in rows if int(r["epoch"]) < row["epoch"]] + [row]
    lines = [",".join(row.keys())] + [",".join(str(r.get(k, "")) for k in row) for r in rows]
    _write_atomic(path, "\n".join(lines) + "\n")


__all__ = ["EMOTIONS", "RunState", "TrainConfig", "fit", "member_configs", "prepare_data"]
