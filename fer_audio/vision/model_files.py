"""Model files fer-audio does not ship but takes from MediaPipe's wheel at set-up.

BlazeFace (face detection) and the 468-point face mesh are plain TFLite files inside the
MediaPipe wheel on PyPI (Apache-2.0). The set-up (`make models`, run by `make run` and
`make test`; scripts/fetch-face-models.py) downloads that one wheel, takes these two files out
and checks each against its sha256 below. The run time only reads them from
fer_audio/models/mediapipe/: it never fetches anything and never imports mediapipe.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from fer_audio.errors import FerAudioError

MEDIAPIPE_VERSION = "0.10.14"  # the wheel the files are taken from
FETCH_HINT = (
    "run `make models`, or `python scripts/fetch-face-models.py` in the checkout (it takes the file "
    "from the MediaPipe 0.10.14 wheel on PyPI)"
)


@dataclass(frozen=True)
class ModelFile:
    name: str  # file name under fer_audio/models/mediapipe/
    member: str  # path inside the wheel
    sha256: str
    what: str  # in words, for messages


MODEL_FILES = {
    "blazeface": ModelFile(
        "face_detection_short_range.tflite",
        "mediapipe/modules/face_detection/face_detection_short_range.tflite",
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
        "BlazeFace face detector",
    ),
    "face_mesh": ModelFile(
        "face_landmark.tflite",
        "mediapipe/modules/face_landmark/face_landmark.tflite",
        "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
        "face landmark model",
    ),
}


class ModelFileMissing(FerAudioError, RuntimeError):
    """A model file the set-up fetches is missing or is not the expected file."""


def model_dir() -> Path:
    return Path(str(resources.files("fer_audio") / "models" / "mediapipe"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@functools.cache
def _verified(path: Path, expected: str) -> bool:
    return sha256(path) == expected


def model_path(key: str) -> Path:
    """The checked path of MODEL_FILES[key]; ModelFileMissing (one line, with the fix) if the
    file is not there or is not the expected one."""
    spec = MODEL_FILES[key]
    path = model_dir() / spec.name
    if not path.is_file():
        raise ModelFileMissing(f"{path}: the {spec.what} is not installed; {FETCH_HINT}")
    if not _verified(path, spec.sha256):
        raise ModelFileMissing(
            f"{path}: the {spec.what} is not the expected file (sha256 differs); {FETCH_HINT}"
        )
    return path


def missing() -> list[str]:
    """Keys of MODEL_FILES that are not installed (or not the expected files)."""
    out = []
    for key in MODEL_FILES:
        try:
            model_path(key)
        except ModelFileMissing:
            out.append(key)
    return out
