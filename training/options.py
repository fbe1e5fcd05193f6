"""What a training run is, as frozen options: the network, the augmentation, the run. No Keras
and no TensorFlow here, so `fer-audio train` builds and checks its options before either loads.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from fer_audio.data.runs import best_files


@dataclass(frozen=True)
class ModelOptions:
    stem: int = 32  # channels of the single conv before the first stage
    stem_pool: bool = False  # max-pool after the stem (halves the resolution of every stage)
    widths: tuple[int, ...] = (32, 64, 128, 256)  # channels of each stage (48, 24, 12, 6 px)
    convs_per_stage: int = 2  # 3x3 conv + BN + ReLU layers per stage
    dropout: float = 0.3  # before the classifier
    weight_decay: float = 0.0  # L2 on conv kernels (AdamW decays weights instead)

    @classmethod
    def from_json(cls, d: dict) -> ModelOptions:
        """From a run's config.json "model" entry (lists back to tuples, unknown keys ignored)."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in known})


@dataclass(frozen=True)
class AugmentOptions:
    flip: bool = True  # mirror left-right (expressions are roughly symmetric)
    rotation: float = 10.0  # degrees, uniform +-
    shift: float = 0.1  # fraction of the side, uniform +-
    zoom: float = 0.1  # fraction, uniform +-
    brightness: float = 0.2  # fraction of full scale, uniform +-
    contrast: float = 0.3  # factor range 1 +- contrast
    cutout: float = 0.3  # probability of blanking one square per image
    cutout_size: int = 16  # pixels
    # what a camera adds (0: off): sensor noise, defocus, exposure curve
    noise: float = 0.0  # grey levels, largest standard deviation of Gaussian noise (per image 0..noise)
    blur: float = 0.0  # probability of a 3x3 Gaussian blur (a face out of focus or moving)
    gamma: float = 0.0  # exposure curve: grey ** 2**u with u uniform +-gamma (low light, glare)
    # a talking mouth (0: off): probability of painting a dark, soft-edged mouth opening over the
    # lips of a face (label kept), meant to teach that an open mouth alone is not surprise or fear
    # (on real talking faces it did not: MODEL_CARD.md, fine-tune S)
    speech: float = 0.0


CAMERA = {"noise": 6.0, "blur": 0.3, "gamma": 0.5}  # `train --camera-augment`
SPEECH = {"speech": 0.3}  # `train --speech-augment`


@dataclass(frozen=True)
class TrainConfig:
    data: str  # challenge CSV (.csv/.csv.gz), image-folder tree, or .tar.gz of one
    out: str  # run folder
    votes: str = ""  # FER+ crowd vote file (ferplus-votes.csv or fer2013new.csv); "": own labels
    epochs: int = 40  # length of the cosine schedule
    batch_size: int = 64
    learning_rate: float = 1e-3  # peak, after warm-up
    warmup_epochs: float = 1.0
    weight_decay: float = 0.01  # AdamW decoupled decay (multiplied by the learning rate)
    label_smoothing: float = 0.1  # for the dataset's own labels; crowd votes are already soft
    class_weight_power: float = 0.25  # weight = (1 / frequency) ** power, normalised to mean 1
    label_weight: float = 0.0  # with votes: share of FER-2013's own label (one-hot) in each
    # target, the rest the crowd's vote distribution (the crowd rarely names anger, disgust, fear)
    val_fraction: float = 0.1  # of Training, stratified, for model selection and early stop
    test_usage: str = "PublicTest"  # reported only, never used for a decision
    patience: int = 10  # epochs without a better validation score before stopping; 0: never stop
    seed: int = 1234  # initial weights, data order, augmentation, dropout
    split_seed: int = 1234  # which Training images form the validation slice (keep it fixed
    # across the members of an ensemble, so none of them is fitted on another's validation images)
    limit: int = 0  # use at most this many Training images (0: all); for tests and smoke runs
    teachers: tuple[str, ...] = ()  # run folders (or best.keras files) to distil from; (): none
    distill_weight: float = 1.0  # share of the teachers' mean in each target (the rest: votes/label)
    teacher_mirror: bool = False  # teachers' output averaged over each face and its mirror image
    init: str = ""  # start the network from this run's best.keras (fine-tuning); "": from scratch
    bfloat16: bool | None = None  # bfloat16 mixed precision; None: on with a GPU, off on a CPU
    jit_compile: bool | None = None  # XLA; None: on under JAX or on a GPU, off for TensorFlow on a
    # CPU (oneDNN ran 1.5x faster there without it)
    model: ModelOptions = field(default_factory=ModelOptions)
    augment: AugmentOptions = field(default_factory=AugmentOptions)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> TrainConfig:
        d = dict(d)
        d["model"] = ModelOptions.from_json(d["model"])
        d["augment"] = AugmentOptions(**d["augment"])
        d["teachers"] = tuple(d.get("teachers", ()))
        return cls(**d)


@dataclass(frozen=True)
class TrainOptions:
    """One `fer-audio train`: the run's configuration and how to carry it out."""

    config: TrainConfig
    members: int = 1  # models trained (seeds seed..seed+members-1, one split) and averaged at export
    resume: bool = False  # continue the run in config.out from its last finished epoch
    export: bool = True  # export to TFLite and score at the end


def saved_model_options(path: Path, option: str) -> ModelOptions:
    """The ModelOptions a network was built with, from its run's config.json."""
    config = path.parent / "config.json"
    if not config.exists():
        raise FileNotFoundError(f"{option} {path}: no config.json beside it to rebuild the network from")
    try:
        return ModelOptions.from_json(json.loads(config.read_text())["model"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{option} {config}: not a run's config.json ({exc}); give a finished run") from exc


def teacher_files(run: str | Path, option: str = "--teacher") -> list[Path]:
    """The best.keras of a run folder, or of each member of an ensemble run (member-1, ...);
    `option` names the input in errors."""
    files = best_files(run)
    if files:
        return files
    raise FileNotFoundError(
        f"{option} {run}: no best.keras there (nor in member-*/); give a finished run folder"
    )


def init_options(run: str | Path) -> tuple[Path, ModelOptions]:
    """`--init RUN`: the one best.keras to start from and the network options it was built with.
    A FileNotFoundError or ValueError says, in one line, why RUN cannot be started from."""
    files = best_files(run)
    if not files:
        raise FileNotFoundError(
            f"--init {run}: no best.keras there; give a finished run folder (one network)"
        )
    if len(files) > 1:
        raise ValueError(
            f"--init {run}: an ensemble of {len(files)} networks; "
            f"give one member's folder, e.g. {files[0].parent}"
        )
    return files[0], saved_model_options(files[0], "--init")
