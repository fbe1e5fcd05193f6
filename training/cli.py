"""`fer-audio train`: run (or resume) a training run, then export and score it."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from fer_audio.data.datasets import DatasetError
from fer_audio.errors import FerAudioError
from training.train import TrainConfig, fit, member_configs


def _log(message: str) -> None:
    print(message, flush=True)


def run_train(
    data: str,
    out: str,
    overrides: dict,
    *,
    members: int = 1,
    resume: bool,
    export: bool,
) -> int:
    overrides = dict(overrides)
    base = TrainConfig(data=data, out=out)
    if "widths" in overrides:  # the stem convolution takes the first stage's width
        widths = tuple(overrides.pop("widths"))
        overrides["model"] = dataclasses.replace(base.model, stem=widths[0], widths=widths)
    if overrides.pop("camera_augment", False):
        from training.augment import CAMERA

        overrides["augment"] = dataclasses.replace(base.augment, **CAMERA)
    if overrides.get("init") and "model" not in overrides:  # the network of the run it starts from
        from training.distill import init_options

        try:
            overrides["model"] = init_options(overrides["init"])[1]
        except (FileNotFoundError, ValueError) as exc:
            raise FerAudioError(str(exc)) from exc
    config = dataclasses.replace(base, **overrides)
    try:
        for member in member_configs(config, members):
            if members > 1:
                _log(f"member {Path(member.out).name}: seed {member.seed}")
            # with --resume, a member not started yet starts; a finished one is left as it is
            started = (Path(member.out) / "state.json").exists()
            fit(member, resume=resume and started, log=_log)
        run = Path(config.out)
    except KeyboardInterrupt:
        print("training stopped; continue it with --resume", file=sys.stderr)
        return 130
    except (DatasetError, FileNotFoundError, FileExistsError, ValueError) as exc:
        raise FerAudioError(str(exc)) from exc
    if export:
        from training.report import finalize  # TensorFlow: not needed to train elsewhere

        finalize(run, log=_log, data=config.data, votes=config.votes or None)
    print(f"run written to {run}")
    return 0
