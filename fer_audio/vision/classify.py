"""Runs the expression model (TFLite, through the LiteRT runtime) on batches of face crops.

Never imports TensorFlow: the LiteRT interpreter starts in well under a second.
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


def model_card(classes=EMOTIONS, input_range=INPUT_RANGE) -> dict:
    """What a model's sidecar (MODEL.json beside MODEL.tflite) says about how to read it."""
    return {
        "classes": list(classes),
        "input": {"shape": [INPUT_SIZE, INPUT_SIZE, 1], "range": list(input_range), "color": "grey"},
    }


def sidecar_path(model: Path) -> Path:
    return model.with_suffix(".json")


def check_sidecar(model: Path) -> bool:
    """Checks the class order and input range in the model's sidecar against this tool's; False
    where there is no sidecar (a model from before sidecars: read as fer-audio's own order)."""
    path = sidecar_path(model)
    if not path.is_file():
        return False
    try:
        card = json.loads(path.read_text())
        classes, shape, low_high = card["classes"], card["input"]["shape"], card["input"]["range"]
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
    return True


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
        self.has_sidecar = check_sidecar(path)
        try:
            self._model = TFLiteModel(path, options.threads)
            self._check()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"{path}: not a usable TFLite model ({exc})") from exc

    def _check(self) -> None:
        out = self.predict(np.zeros((1, INPUT_SIZE, INPUT_SIZE), np.float32))
        if out.shape != (1, NUM_CLASSES):
            raise ModelError(f"{self.path}: model gives {out.shape[1:]} outputs, expected {NUM_CLASSES}")

    def predict(self, faces: np.ndarray) -> np.ndarray:
        faces = np.asarray(faces, np.float32)
        if faces.ndim == 2:
            faces = faces[None]
        if faces.shape[0] == 0:
            return np.zeros((0, NUM_CLASSES), np.float32)
        return self._model.run(faces[..., None])[0].astype(np.float32, copy=False)

    def predict_batched(self, faces: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """predict() over many faces in fixed-size batches (the last one may be smaller)."""
        parts = [self.predict(faces[i : i + batch_size]) for i in range(0, len(faces), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, NUM_CLASSES), np.float32)
