"""Honest splits: fit on Training minus a stratified validation slice; test never decides."""

from __future__ import annotations

import numpy as np

from fer_audio.data.datasets import Dataset, FaceSet


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(fit_index, val_index): `fraction` of every class to validation, seeded, disjoint."""
    rng = np.random.default_rng(seed)
    fit, val = [], []
    for cls in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        n_val = int(round(len(idx) * fraction))
        val.append(idx[:n_val])
        fit.append(idx[n_val:])
    return np.sort(np.concatenate(fit)), np.sort(np.concatenate(val))


def make_splits(
    data: Dataset, val_fraction: float, seed: int, test_usage: str = "PublicTest"
) -> dict[str, FaceSet]:
    """{'fit', 'val', 'test'}: val is carved from Training; test is `test_usage`, used only to report."""
    train = data.require("Training")
    fit_idx, val_idx = stratified_split(train.labels, val_fraction, seed)
    return {"fit": train.subset(fit_idx), "val": train.subset(val_idx), "test": data.require(test_usage)}
