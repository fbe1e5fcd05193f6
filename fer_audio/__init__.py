"""fer-audio: hear the facial expressions of the person you are talking to.

The Python API, in a few lines (names load on first use, so `import fer_audio` stays light and
never imports TensorFlow)::

    import cv2, fer_audio

    recognizer = fer_audio.Recognizer(fer_audio.RecognizerOptions(mirror=True))  # as narrate reads
    faces = recognizer.analyze(cv2.imread("photo.jpg"))                # left to right
    for face in faces:
        print(face.emotion, round(face.confidence, 2), face.box)

    for result in fer_audio.narrate(["photos/"]):                      # one sentence per image
        print(result.sentence)

    options = fer_audio.LiveOptions(source=fer_audio.SourceOptions("clip.mp4", realtime=False))
    for event in fer_audio.live_events(options):                        # no sound
        print(f"{event.t:.1f}s {event.kind} {event.emotion}")
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "EMOTIONS": "fer_audio.labels",
    "FaceBox": "fer_audio.types",
    "FacePrediction": "fer_audio.types",
    "EmotionEvent": "fer_audio.types",
    "FerAudioError": "fer_audio.errors",
    "Recognizer": "fer_audio.vision.recognize",
    "RecognizerOptions": "fer_audio.vision.recognize",
    "SourceOptions": "fer_audio.vision.sources",
    "TrackerOptions": "fer_audio.events.track",
    "SmootherOptions": "fer_audio.events.smoothing",
    "CueOptions": "fer_audio.sound.cues",
    "SpeechOptions": "fer_audio.sound.speech",
    "LiveOptions": "fer_audio.apps.options",
    "OutputOptions": "fer_audio.apps.options",
    "PauseOptions": "fer_audio.sound.waiting",
    "NarrateOptions": "fer_audio.apps.options",
    "LiveSession": "fer_audio.apps.session",
    "live_events": "fer_audio.apps.live",
    "run_live": "fer_audio.apps.live",
    "narrate": "fer_audio.apps.narrate",
    "run_narrate": "fer_audio.apps.narrate_run",
    "evaluate": "fer_audio.data.evaluate",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'fer_audio' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
