"""The networks a run folder of `fer-audio train` holds. Here, not in training/, so the command
line can check a --teacher before the training path (and TensorFlow) loads, by the same rule
training.distill and training.report use."""

from __future__ import annotations

from pathlib import Path


def best_files(run: str | Path) -> list[Path]:
    """`run` itself if it is a file; else the best.keras of each member of an ensemble run
    (member-1, member-2, ... in that order); else the run's own best.keras; [] if there is none."""
    run = Path(run)
    if run.is_file():
        return [run]
    members = sorted(run.glob("member-*/best.keras"), key=lambda p: int(p.parent.name.rsplit("-", 1)[1]))
    if members:
        return members
    return [run / "best.keras"] if (run / "best.keras").exists() else []
