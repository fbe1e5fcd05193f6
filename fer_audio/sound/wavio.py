"""Reading and writing WAV files (PCM 8/16/24/32-bit) as float32 arrays, atomically."""

from __future__ import annotations

import os
import wave
from pathlib import Path

import numpy as np

from fer_audio.outputs import atomic_path


def read_wav(path: str | os.PathLike[str], complete: bool = False) -> tuple[np.ndarray, int]:
    """(samples (n, channels) float32 in -1..1, sample rate). Raises ValueError with a reason.
    complete: a file holding fewer frames than its header says (still being written) is an error;
    without it they are read as far as they go (some writers that stream leave the size open)."""
    try:
        with wave.open(str(path), "rb") as w:
            rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
            frames = w.getnframes()
            raw = w.readframes(frames)
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"not a PCM WAV file ({exc})") from exc
    if complete and len(raw) < frames * channels * width:
        raise ValueError(f"incomplete: {len(raw) // (channels * width)} of {frames} frames")
    raw = raw[: len(raw) - len(raw) % (channels * width)]  # a partial last frame
    if width == 1:
        x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        x = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = (np.where(v >= 1 << 23, v - (1 << 24), v) / float(1 << 23)).astype(np.float32)
    elif width == 4:
        x = np.frombuffer(raw, "<i4").astype(np.float32) / float(1 << 31)
    else:
        raise ValueError(f"unsupported sample width {width} bytes")
    return x.reshape(-1, channels), rate


def write_wav(path: str | os.PathLike[str], samples: np.ndarray, rate: int) -> None:
    """Write float samples ((n,) or (n, channels), -1..1) as 16-bit PCM, atomically."""
    p = Path(path)
    x = np.asarray(samples, np.float32)
    x = x[:, None] if x.ndim == 1 else x
    pcm = (np.clip(x, -1.0, 1.0) * 32767.0).round().astype("<i2")
    with atomic_path(p) as tmp, wave.open(str(tmp), "wb") as w:
        w.setnchannels(x.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def resample(x: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Linear-interpolation resampling of (n, channels) float32; exact copy when rates match."""
    if rate == target or len(x) == 0:
        return x.astype(np.float32)
    n_out = int(round(len(x) * target / rate))
    t_in = np.arange(len(x)) / rate
    t_out = np.arange(n_out) / target
    return np.stack([np.interp(t_out, t_in, x[:, c]) for c in range(x.shape[1])], axis=1).astype(np.float32)
