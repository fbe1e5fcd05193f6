"""`fer-audio train`: run (or resume) a training run, then export and score it."""

from __future__ import annotations

import sys
from pathlib import Path

from fer_audio.data.datasets import DatasetError
from fer_audio.errors import FerAudioError
from training.options import TrainOptions
from training.train import fit, member_configs


def _log(message: str) -> None:
    print(message, flush=True)


def run_train(options: TrainOptions) -> int:
    """Carries out `options`: trains (or resumes) each member, then exports and scores the run.
    Returns the exit code (0, or 130 after Ctrl-C); raises a FerAudioError naming a bad input."""
    config, members, resume = options.config, options.members, options.resume
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
    if options.export:
        from training.report import finalize  # TensorFlow: not needed to train elsewhere

        finalize(run, log=_log, data=config.data, votes=config.votes or None)
    print(f"run written to {run}")
    return 0
