"""How distinct earcons are: per-frame spectral-centroid and loudness contours, and distances."""

from __future__ import annotations

import numpy as np

from fer_audio.sound.earcons import MAX_CUE_SECONDS, SAMPLE_RATE

FRAME = 1024  # samples per analysis frame


def contour(x: np.ndarray) -> np.ndarray:
    """Per-frame (log spectral centroid, RMS) over 400 ms: a pitch/brightness and rhythm profile."""
    x = np.pad(x, (0, int(MAX_CUE_SECONDS * SAMPLE_RATE) - len(x)))
    frames = x[: len(x) // FRAME * FRAME].reshape(-1, FRAME) * np.hanning(FRAME)
    mag = np.abs(np.fft.rfft(frames, axis=1))
    freqs = np.fft.rfftfreq(FRAME, 1 / SAMPLE_RATE)
    rms = np.sqrt((frames**2).mean(axis=1))
    centroid = np.log2((mag * freqs).sum(1) / np.maximum(mag.sum(1), 1e-9) + 50)
    return np.concatenate([np.where(rms > 1e-3, centroid, 0), 20 * rms])


def min_pairwise_distance(cues: dict[str, np.ndarray]) -> tuple[float, tuple[str, str]]:
    feats = {k: contour(v) for k, v in cues.items()}
    names = list(feats)
    pairs = [
        (np.linalg.norm(feats[a] - feats[b]), (a, b)) for i, a in enumerate(names) for b in names[i + 1 :]
    ]
    return min(pairs)
