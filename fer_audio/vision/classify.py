"""Runs the expression model (TFLite, through the LiteRT runtime) on batches of face crops.

Never imports TensorFlow: the LiteRT interpreter starts in well under a second.

A model's sidecar (MODEL.json) says how to read the model: its class order and input range, and
optionally a prior correction, the smoother's calibration (fer_audio/events/calibration.py) and
the model's reading of a typical face at rest (fer_audio/events/restface.py), each written by the
tool that fits it (training/prior.py, benchmarks/tune_smoothing.py, benchmarks/tune_events.py).
The prior correction is the class frequencies of the labels it was trained on and a strength s.
Its outputs are then divided by prior ** s and renormalised (post-hoc logit adjustment, Menon et
al. 2021): a model fitted to the crowd's votes, which rarely name anger, disgust or fear, leans
away from them by their rarity; the correction takes back part of that lean. The shipped model's
strength is in MODEL_CARD.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from fer_audio.errors import FerAudioError
from fer_audio.labels import EMOTIONS, NUM_CLASSES
from fer_audio.vision.litert import TFLiteModel
from fer_audio.vision.preprocess import INPUT_SIZE

DEFAULT_MODEL = "fer2013.tflite"  # in fer_audio/models/


class ModelError(FerAudioError, RuntimeError):
    """The model file is missing, unreadable or of the wrong shape."""


INPUT_RANGE = (0.0, 255.0)  # grey values the model is fed (it standardises each face itself)


PROB_FLOOR = 1e-6  # outputs are floored here before a prior correction (int8 outputs can be 0)


def model_card(classes=EMOTIONS, input_range=INPUT_RANGE, prior=None, strength: float = 0.0) -> dict:
    """What a model's sidecar (MODEL.json beside MODEL.tflite) says about how to read it; with a
    `prior` (7 class frequencies) and a `strength` > 0, the prior correction to apply."""
    card = {
        "classes": list(classes),
        "input": {"shape": [INPUT_SIZE, INPUT_SIZE, 1], "range": list(input_range), "color": "grey"},
    }
    if prior is not None and strength > 0:
        card["prior_correction"] = {"prior": [float(v) for v in prior], "strength": float(strength)}
    return card


def sidecar_path(model: Path) -> Path:
    return model.with_suffix(".json")


def read_sidecar(model: Path) -> dict | None:
    """The model's sidecar, its class order and input range checked against this tool's; None
    where there is none (a model from before sidecars: read as fer-audio's own order)."""
    path = sidecar_path(model)
    if not path.is_file():
        return None
    try:
        card = json.loads(path.read_text())
        classes, shape, low_high = card["classes"], card["input"]["shape"], card["input"]["range"]
        correction = _prior_bias(card.get("prior_correction"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{path}: not a model sidecar ({exc}); remove it or write it again") from exc
    if list(classes) != list(EMOTIONS):
        raise ModelError(
            f"{model}: its classes are {', '.join(map(str, classes))}; fer-audio reads "
            f"{', '.join(EMOTIONS)} in that order, so this model would be read wrongly"
        )
    if list(shape) != [INPUT_SIZE, INPUT_SIZE, 1] or [float(v) for v in low_high] != list(INPUT_RANGE):
        raise ModelError(
            f"{model}: it wants input {shape} in {low_high}; fer-audio gives 48x48 grey faces in 0..255"
        )
    try:
        _check_reading(card)
    except (ValueError, TypeError) as exc:
        raise ModelError(f"{path}: not a model sidecar ({exc}); remove it or write it again") from exc
    return card | {"bias": correction}


def _check_reading(card: dict) -> None:
    """The optional calibration (8 rows of 7 numbers) and rest reference (7 numbers)."""
    shapes = {"calibration": (NUM_CLASSES + 1, NUM_CLASSES), "rest_reference": (NUM_CLASSES,)}
    for key, shape in shapes.items():
        if key in card and np.asarray(card[key], np.float64).shape != shape:
            raise ValueError(f"{key} needs {' x '.join(map(str, shape))} numbers")


def update_sidecar(model: Path, **fields) -> Path:
    """Write `fields` into `model`'s sidecar (atomically), keeping what it already says; a model
    with none gets fer-audio's class order and input range. Returns the sidecar's path."""
    from fer_audio.outputs import write_atomic

    path = sidecar_path(Path(model))
    card = json.loads(path.read_text()) if path.is_file() else model_card()
    card.update(fields)
    write_atomic(path, json.dumps(card, indent=2) + "\n")
    return path


def _prior_bias(correction: dict | None) -> np.ndarray | None:
    """(7,) float32 to add to the log of the outputs: -strength * log(prior); None: no correction."""
    if correction is None:
        return None
    prior = np.asarray(correction["prior"], np.float64)
    strength = float(correction["strength"])
    if prior.shape != (NUM_CLASSES,) or not (prior > 0).all() or not 0.0 <= strength <= 1.0:
        raise ValueError("prior_correction needs 7 positive class frequencies and a strength in 0..1")
    return (-strength * np.log(prior / prior.sum())).astype(np.float32)


def default_model_path() -> Path:
    return Path(str(resources.files("fer_audio") / "models" / DEFAULT_MODEL))


@dataclass(frozen=True)
class ClassifierOptions:
    model: str | None = None  # .tflite file; None: the shipped model
    threads: int = 2  # interpreter threads


class Classifier:
    """predict(faces (n, 48, 48) float32 0..255) -> (n, 7) float32 probabilities."""

    def __init__(self, options: ClassifierOptions = ClassifierOptions()) -> None:
        path = Path(options.model) if options.model else default_model_path()
        if not path.is_file():
            raise ModelError(f"{path}: model file not found; pass --model FILE.tflite")
        self.path = path
        card = read_sidecar(path)
        self.has_sidecar = card is not None
        self.bias = None if card is None else card["bias"]  # the prior correction, if any
        self.calibration = None if card is None else card.get("calibration")  # the smoother's, if any
        self.rest_reference = None if card is None else card.get("rest_reference")
        try:
            self._model = TFLiteModel(path, options.threads)
            self._check()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"{path}: not a usable TFLite model ({exc})") from exc

    def _check(self) -> None:
        out = self.predict(np.zeros((1, INPUT_SIZE, INPUT_SIZE), np.float32))
        if out.shape != (1, NUM_CLASSES):
            raise ModelError(f"{self.path}: model gives {out.shape[1:]} outputs, expected {NUM_CLASSES}")

    def predict(self, faces: np.ndarray, mirror: bool = False) -> np.ndarray:
        """With mirror, each face is also read as its mirror image (in the same batch) and the
        two outputs averaged before the prior correction: twice the work, a steadier reading."""
        faces = np.asarray(faces, np.float32)
        if faces.ndim == 2:
            faces = faces[None]
        n = faces.shape[0]
        if n == 0:
            return np.zeros((0, NUM_CLASSES), np.float32)
        batch = np.concatenate([faces, faces[:, :, ::-1]]) if mirror else faces
        probs = self._model.run(batch[..., None])[0].astype(np.float32, copy=False)
        if mirror:
            probs = (probs[:n] + probs[n:]) / 2
        return probs if self.bias is None else _corrected(probs, self.bias)

    def predict_batched(self, faces: np.ndarray, batch_size: int = 64, mirror: bool = False) -> np.ndarray:
        """predict() over many faces in fixed-size batches (the last one may be smaller)."""
        parts = [self.predict(faces[i : i + batch_size], mirror) for i in range(0, len(faces), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, NUM_CLASSES), np.float32)


def _corrected(probs: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """softmax(log(probs) + bias), row by row."""
    logits = np.log(np.maximum(probs, PROB_FLOOR)) + bias
    logits -= logits.max(axis=1, keepdims=True)
    out = np.exp(logits)
    return (out / out.sum(axis=1, keepdims=True)).astype(np.float32)
