"""How much one frame's model output says for each emotion: calibrated log-probabilities.

The model's own probabilities are biased (it under-reports fear and disgust, and reads a fearful
face as part sad) and too sure or too unsure by turns, so adding up their logarithms over frames
weighs some frames far too much. A calibration is a 7x7 matrix and a bias, fitted on labelled
faces the model was not trained on: the frame's log-probabilities times the matrix plus the bias
give log-probabilities of each true emotion, with every emotion equally likely beforehand. Their
average over frames (what the smoother keeps) is then a sum of evidence, as in naive Bayes.

A calibration is stored as 8 rows of 7 numbers: the matrix, then the bias.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

import numpy as np

from fer_audio.labels import NUM_CLASSES

PROB_FLOOR = 1e-4  # probabilities are floored here before the logarithm (int8 outputs can be 0)

Calibration = tuple[tuple[float, ...], ...]
IDENTITY: Calibration = tuple(tuple(float(v) for v in row) for row in np.eye(NUM_CLASSES + 1, NUM_CLASSES))


@functools.cache
def shipped_reading() -> dict:
    """What the shipped model's sidecar (fer_audio/models/fer2013.json) says about reading it:
    'calibration' (8 rows of 7) and 'rest_reference' (7), the event layer's defaults. A model of
    your own brings its own in its sidecar (fer_audio.apps.live reads them there)."""
    card = json.loads((resources.files("fer_audio") / "models" / "fer2013.json").read_text())
    return {
        "calibration": tuple(tuple(float(v) for v in row) for row in card["calibration"]),
        "rest_reference": tuple(float(v) for v in card["rest_reference"]),
    }


def as_table(calibration: Calibration | None) -> np.ndarray | None:
    """A calibration as an (8, 7) array, for log_evidence (convert once, not on every frame)."""
    if calibration is None:
        return None
    return np.asarray(calibration, np.float64).reshape(NUM_CLASSES + 1, NUM_CLASSES)


def _floored_log(probs: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(np.asarray(probs, np.float64), PROB_FLOOR))


def log_evidence(probs: np.ndarray, calibration: Calibration | np.ndarray | None) -> np.ndarray:
    """Model outputs (..., 7) -> calibrated log-probabilities (..., 7); None: the outputs' own."""
    logp = _floored_log(probs)
    table = as_table(calibration)
    if table is not None:
        logp = logp @ table[:NUM_CLASSES] + table[NUM_CLASSES]
    logp = logp - logp.max(axis=-1, keepdims=True)
    return logp - np.log(np.exp(logp).sum(axis=-1, keepdims=True))


def fit(probs: np.ndarray, labels: np.ndarray, steps: int = 3000, l2: float = 1e-3) -> Calibration:
    """Fit a calibration to model outputs (n, 7) of faces with true labels (n,): multinomial
    logistic regression on the log-probabilities, each emotion weighted equally, the matrix kept
    near the identity by `l2`. Deterministic (full-batch Adam from the identity)."""
    labels = np.asarray(labels)
    counts = np.bincount(labels, minlength=NUM_CLASSES)
    if (counts == 0).any():
        missing = [int(c) for c in np.flatnonzero(counts == 0)]
        raise ValueError(f"a calibration needs faces of every emotion; none of classes {missing}")
    x = _floored_log(probs)
    sample_weight = 1.0 / counts[labels]
    sample_weight /= sample_weight.sum()
    target = np.eye(NUM_CLASSES)[labels]
    params = [np.eye(NUM_CLASSES), np.zeros(NUM_CLASSES)]
    first, second = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
    for step in range(1, steps + 1):
        logits = x @ params[0] + params[1]
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        residual = (p - target) * sample_weight[:, None]
        grads = (x.T @ residual + l2 * (params[0] - np.eye(NUM_CLASSES)), residual.sum(axis=0))
        for k, g in enumerate(grads):  # Adam, learning rate 0.01
            first[k] = 0.9 * first[k] + 0.1 * g
            second[k] = 0.999 * second[k] + 0.001 * g * g
            params[k] -= 0.01 * (first[k] / (1 - 0.9**step)) / (np.sqrt(second[k] / (1 - 0.999**step)) + 1e-8)
    return tuple(tuple(round(float(v), 4) for v in row) for row in np.vstack(params))
