"""`fer-audio train`."""

from __future__ import annotations

import os
import sys

import click

from fer_audio.cli.group import err, fail, main
from fer_audio.cli.options import FloatRange, IntRange, check_data_inputs
from fer_audio.errors import FerAudioError
from training.options import (
    CAMERA,
    SPEECH,
    AugmentOptions,
    ModelOptions,
    TrainConfig,
    TrainOptions,
    init_options,
    teacher_files,
)

DEFAULTS = TrainConfig(data="", out="")


@main.command()
@click.option(
    "--data",
    metavar="PATH",
    required=True,
    type=str,
    help="FER-2013: the challenge CSV (.csv/.csv.gz), the image-folder tree, or a .tar.gz of it.",
)
@click.option(
    "--votes",
    metavar="FILE.csv",
    type=str,
    default=None,
    help="FER+ crowd votes (ferplus-votes.csv, or fer2013new.csv with the challenge CSV): train on "
    "each face's vote distribution instead of the dataset's own labels.",
)
@click.option("--out", metavar="FOLDER", required=True, type=str, help="Run folder to write.")
@click.option(
    "--epochs",
    metavar="N",
    type=IntRange(1),
    default=DEFAULTS.epochs,
    show_default=True,
    help="Length of the schedule.",
)
@click.option(
    "--batch-size",
    metavar="N",
    type=IntRange(1),
    default=DEFAULTS.batch_size,
    show_default=True,
    help="Images per step.",
)
@click.option(
    "--learning-rate",
    metavar="RATE",
    type=float,
    default=DEFAULTS.learning_rate,
    show_default=True,
    help="Peak learning rate.",
)
@click.option(
    "--limit",
    metavar="N",
    type=IntRange(0),
    default=DEFAULTS.limit,
    help="Use at most N training images (smoke runs).",
)
@click.option("--seed", metavar="N", type=int, default=DEFAULTS.seed, show_default=True, help="Random seed.")
@click.option(
    "--members",
    metavar="N",
    type=IntRange(1, 16),
    default=TrainOptions.members,
    show_default=True,
    help="Train N models (seeds SEED..SEED+N-1, one validation split) and export their average.",
)
@click.option(
    "--widths",
    metavar="LIST",
    type=str,
    default=None,
    help="Channels of the network's stages, comma-separated "
    f"(default {','.join(map(str, ModelOptions.widths))}); the stem "
    "convolution gets the first.",
)
@click.option(
    "--teacher",
    "teachers",
    metavar="RUN",
    multiple=True,
    type=str,
    help="Distil from this finished run (its best network, or every member of an ensemble run); "
    "repeat for more. The student learns the teachers' mean on each augmented face.",
)
@click.option(
    "--distill-weight",
    metavar="SHARE",
    type=FloatRange(0.0, 1.0),
    default=None,
    help="With --teacher: share of the teachers' mean in each target, the rest from the votes or "
    f"labels (default {DEFAULTS.distill_weight}).",
)
@click.option(
    "--teacher-mirror",
    is_flag=True,
    help="With --teacher: each teacher's output is its mean over the face and its mirror image.",
)
@click.option(
    "--label-weight",
    metavar="SHARE",
    type=FloatRange(0.0, 1.0),
    default=None,
    help="With --votes: share of FER-2013's own label in each target, the rest the crowd's votes "
    f"(default {DEFAULTS.label_weight:g}).",
)
@click.option(
    "--class-weight-power",
    metavar="POWER",
    type=FloatRange(0.0, 1.0),
    default=DEFAULTS.class_weight_power,
    show_default=True,
    help="Weigh each image by (1 / its class's frequency) to this power: 0 none, 1 balanced.",
)
@click.option(
    "--camera-augment",
    is_flag=True,
    help="Also augment with what a camera adds: sensor noise, blur, an exposure curve.",
)
@click.option(
    "--speech-augment",
    is_flag=True,
    help="Also paint a talking mouth (a dark opening over the lips) on 30% of faces, label kept: "
    "meant to teach that an open mouth alone is not surprise or fear (what it gave: MODEL_CARD.md).",
)
@click.option(
    "--init",
    metavar="RUN",
    type=str,
    default=None,
    help="Start from this finished run's best network instead of random weights (fine-tuning); "
    "its widths are used.",
)
@click.option(
    "--patience",
    metavar="EPOCHS",
    type=IntRange(0),
    default=DEFAULTS.patience,
    show_default=True,
    help="Stop after N epochs without a better validation score; 0: run the whole schedule.",
)
@click.option(
    "--bfloat16/--float32",
    "bfloat16",
    default=None,
    help="Compute in bfloat16 mixed precision (float32 weights), or in float32. Default: bfloat16 "
    "on a GPU, float32 on a CPU (where bfloat16 pays only on processors with AVX-512 BF16 or AMX).",
)
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last finished epoch.")
@click.option("--no-export", is_flag=True, help="Skip TFLite export and scoring at the end.")
def train(  # noqa: PLR0913 (one parameter per option: click's way)
    data,
    votes,
    out,
    epochs,
    batch_size,
    learning_rate,
    limit,
    seed,
    members,
    widths,
    teachers,
    distill_weight,
    teacher_mirror,
    label_weight,
    class_weight_power,
    camera_augment,
    speech_augment,
    init,
    patience,
    bfloat16,
    resume,
    no_export,
):
    """Train the expression model (needs the [train] extra).

    The extra holds TensorFlow and Keras (pip install -e '.[train]').

    \b
    Example: fer-audio train --data fer2013-images.tar.gz --votes ferplus-votes.csv --out runs/v1
    """
    _check_training_inputs(data, votes, out, resume)
    stages = _parse_widths(widths)
    _check_teachers(teachers, distill_weight, teacher_mirror)
    if label_weight is not None and not votes:
        fail("--label-weight needs --votes FILE: it mixes FER-2013's own label into the crowd's votes")
    model = ModelOptions(stem=stages[0], widths=stages) if stages else _init_model(init)
    config = TrainConfig(
        data=data,
        out=out,
        votes=votes or "",
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        limit=limit,
        seed=seed,
        teachers=tuple(teachers),
        distill_weight=DEFAULTS.distill_weight if distill_weight is None else distill_weight,
        teacher_mirror=teacher_mirror,
        label_weight=label_weight or DEFAULTS.label_weight,
        class_weight_power=class_weight_power,
        init=init or "",
        patience=patience,
        bfloat16=bfloat16,
        model=model,
        augment=AugmentOptions(**(CAMERA if camera_augment else {}), **(SPEECH if speech_augment else {})),
    )
    options = TrainOptions(config, members=members, resume=resume, export=not no_export)
    sys.exit(_run(options))


def _run(options: TrainOptions) -> int:
    import signal

    # Ctrl-C keeps the last finished epoch: make sure it raises KeyboardInterrupt even where the
    # process was started with SIGINT ignored (a background job of a non-interactive shell)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    native_log = _quiet_third_party_logs()
    try:
        from training.cli import run_train
    except ImportError as exc:
        fail(f"training needs TensorFlow ({exc}); install it with: pip install 'fer-audio[train]'")
    code = 1  # stays 1 only if training broke with an unexpected error
    try:
        code = run_train(options)
    except FerAudioError as exc:  # a usage error: the CLI's group says it in one line
        code = exc.exit_code
        raise
    finally:
        if code == 1:
            err(f"fer-audio: TensorFlow's own messages are in {native_log}")
        else:
            os.remove(native_log)
    return code


def _check_teachers(teachers: tuple[str, ...], distill_weight: float | None, mirror: bool | None) -> None:
    for teacher in teachers:  # pathlib only: checked before TensorFlow loads
        try:
            teacher_files(teacher)
        except FileNotFoundError as exc:
            fail(str(exc))
    if distill_weight is not None and not teachers:
        fail("--distill-weight needs --teacher RUN: there is nothing to distil from")
    if mirror and not teachers:
        fail("--teacher-mirror needs --teacher RUN: there is nothing to distil from")


def _init_model(init: str | None) -> ModelOptions:
    """The network of `--init RUN` (its config.json), or the default one without --init."""
    if init is None:
        return ModelOptions()
    try:
        return init_options(init)[1]
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc))


def _parse_widths(widths: str | None) -> tuple[int, ...] | None:
    if widths is None:
        return None
    try:
        stages = tuple(int(w) for w in widths.split(","))
    except ValueError:
        stages = ()
    if not stages or min(stages) < 1:
        fail(f"--widths {widths}: give positive channel counts separated by commas, e.g. 32,64,128,256")
    return stages


def _quiet_third_party_logs() -> str:
    """Keep TensorFlow's and absl's log lines off the user's terminal: what native code writes to
    file descriptor 2 goes to a log file (returned), Python's own stderr stays on the terminal,
    and Python-side library warnings and logs below ERROR are dropped. For `train` only."""
    import logging
    import warnings

    from fer_audio.native import send_native_stderr_to_temp

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore")
    for name in ("tensorflow", "absl", "keras", "jax"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return send_native_stderr_to_temp("train")


def _check_training_inputs(data: str, votes: str | None, out: str, resume: bool) -> None:
    """Everything about train's paths that can be told before TensorFlow loads (seconds)."""
    check_data_inputs(data, votes)
    if os.path.exists(out) and not os.path.isdir(out):
        fail(f"--out {out}: that is a file; give a folder for the run")
    started = any(os.path.exists(os.path.join(out, p, "config.json")) for p in ("", "member-1"))
    if resume and not started:
        fail(f"--out {out}: no run to resume there; start without --resume")
    if not resume and os.path.exists(os.path.join(out, "checkpoint.keras")):
        fail(f"--out {out}: already holds a run; add --resume to continue it, or choose another --out")
