"""The default sound pack, synthesised with numpy: seven emotion earcons, five state cues and four
head cues.

Each cue differs from the others in pitch contour, rhythm, timbre and register, so that a
listener can tell them apart without training:

=========== ======================================================================
happy       three quick rising notes of a major chord, bright, high register
surprise    one fast upward glide with a bright attack
sad         a slow falling minor third, soft and low
angry       two low, rough (amplitude-modulated sawtooth) hits
disgust     a nasal (odd-harmonic) tone sliding down with a wobble, mid-low
fear        a thin high tone trembling fast (tremolo and vibrato)
neutral     one short soft mid tone, flat
ready       two soft ascending chime notes
face_found  a short soft upward blip
face_lost   a short soft downward blip
camera_lost three low pulses
stop        two soft descending chime notes
nod         two wooden knocks, the second higher ("yes")
shake       two wooden knocks, the second lower, quicker ("no")
looking     a soft bell rising a fifth
looking_away a soft bell falling a fifth, an octave lower
=========== ======================================================================

The head cues share a timbre of their own (a struck bar's inharmonic partials, which no
emotion earcon uses) so they are heard as a family apart from the emotions.

All are mono float32 at SAMPLE_RATE, at most MAX_CUE_SECONDS long, faded in and out (no
clicks), without DC offset, loudness-matched (equal RMS) and peaking at or below -1 dBFS.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from fer_audio.labels import EMOTIONS

SAMPLE_RATE = 44_100  # Hz
MAX_CUE_SECONDS = 0.4  # s
FADE_SECONDS = 0.008  # s, raised-cosine fade in and out
PEAK_DBFS = -1.0  # dBFS, the loudest sample allowed
TARGET_RMS_DBFS = -14.0  # dBFS, every cue's loudness before the peak limit

STATE_CUES = ("ready", "face_found", "face_lost", "camera_lost", "stop")
HEAD_CUES = ("nod", "shake", "looking", "looking_away")  # fer_audio.events.gestures' events
CUE_NAMES: tuple[str, ...] = (*EMOTIONS, *STATE_CUES, *HEAD_CUES)


def _t(seconds: float) -> np.ndarray:
    return np.arange(int(round(seconds * SAMPLE_RATE))) / SAMPLE_RATE


def _tone(freq: np.ndarray | float, seconds: float, harmonics: tuple[float, ...] = (1.0,)) -> np.ndarray:
    """A tone whose frequency may glide (freq: scalar or per-sample array), with harmonics."""
    t = _t(seconds)
    f = np.broadcast_to(np.asarray(freq, np.float64), t.shape)
    phase = 2 * np.pi * np.cumsum(f) / SAMPLE_RATE
    return sum(a * np.sin((k + 1) * phase) for k, a in enumerate(harmonics))


def _envelope(n: int, attack: float = 0.01, decay: float = 4.0) -> np.ndarray:
    """Quick attack then exponential decay (decay: 1/s)."""
    t = np.arange(n) / SAMPLE_RATE
    return np.minimum(1.0, t / max(attack, 1e-4)) * np.exp(-decay * t)


def _note(freq, seconds, harmonics=(1.0,), attack=0.01, decay=4.0) -> np.ndarray:
    x = _tone(freq, seconds, harmonics)
    return x * _envelope(len(x), attack, decay)


def _sequence(*parts: np.ndarray, gap: float = 0.0) -> np.ndarray:
    silence = np.zeros(int(gap * SAMPLE_RATE))
    out = []
    for i, p in enumerate(parts):
        out.append(p)
        if i < len(parts) - 1:
            out.append(silence)
    return np.concatenate(out)


def _glide(f0: float, f1: float, seconds: float, curve: float = 1.0) -> np.ndarray:
    """Exponential glide from f0 to f1 Hz; curve > 1 makes most of the change happen late."""
    u = np.linspace(0.0, 1.0, len(_t(seconds))) ** curve
    return f0 * (f1 / f0) ** u


BRIGHT = (1.0, 0.35, 0.15, 0.05)
SOFT = (1.0, 0.15)
ODD = (1.0, 0.0, 0.6, 0.0, 0.35, 0.0, 0.2)


def _saw(freq: float, seconds: float, n_harm: int = 12) -> np.ndarray:
    return _tone(freq, seconds, tuple(1.0 / k for k in range(1, n_harm + 1)))


def _struck(freq: float, seconds: float, partials=((1.0, 1.0, 9.0), (3.93, 0.5, 30.0))) -> np.ndarray:
    """A struck bar: inharmonic partials (ratio, amplitude, decay 1/s), each decaying on its own."""
    t = _t(seconds)
    x = sum(a * np.sin(2 * np.pi * freq * r * t) * np.exp(-d * t) for r, a, d in partials)
    return x * np.minimum(1.0, t / 0.002)


BELL = ((1.0, 1.0, 5.0), (2.76, 0.4, 9.0), (5.4, 0.2, 16.0))


def _recipes() -> dict[str, np.ndarray]:
    c5, e5, g5 = 523.25, 659.25, 783.99
    rough = lambda s: 1.0 - 0.6 * (0.5 + 0.5 * np.sin(2 * np.pi * 45 * _t(s)))  # noqa: E731
    return {
        "happy": _sequence(
            _note(c5, 0.09, BRIGHT, decay=8),
            _note(e5, 0.09, BRIGHT, decay=8),
            _note(g5, 0.16, BRIGHT, decay=7),
            gap=0.015,
        ),
        "surprise": _note(_glide(420.0, 1500.0, 0.22, curve=0.6), 0.22, BRIGHT, attack=0.003, decay=3),
        "sad": _note(_glide(293.66, 246.94, 0.38, curve=1.5), 0.38, SOFT, attack=0.04, decay=2.5),
        "angry": _sequence(
            _saw(110.0, 0.12) * rough(0.12) * _envelope(len(_t(0.12)), 0.005, 6),
            _saw(104.0, 0.16) * rough(0.16) * _envelope(len(_t(0.16)), 0.005, 5),
            gap=0.04,
        ),
        "disgust": _note(
            _glide(330.0, 220.0, 0.34) * (1 + 0.03 * np.sin(2 * np.pi * 7 * _t(0.34))),
            0.34,
            ODD,
            attack=0.03,
            decay=2.0,
        ),
        "fear": _note(
            1050.0 * (1 + 0.02 * np.sin(2 * np.pi * 13 * _t(0.36))), 0.36, (1.0,), attack=0.02, decay=1.0
        )
        * (0.55 + 0.45 * np.sin(2 * np.pi * 13 * _t(0.36))),
        "neutral": _note(440.0, 0.16, SOFT, attack=0.02, decay=6),
        "ready": _sequence(_note(587.33, 0.12, SOFT, decay=6), _note(880.0, 0.2, SOFT, decay=5), gap=0.02),
        "face_found": _note(_glide(600.0, 900.0, 0.08), 0.08, SOFT, attack=0.005, decay=10),
        "face_lost": _note(_glide(900.0, 600.0, 0.08), 0.08, SOFT, attack=0.005, decay=10),
        "camera_lost": _sequence(*[_note(196.0, 0.07, BRIGHT, attack=0.005, decay=12)] * 3, gap=0.05),
        "stop": _sequence(_note(880.0, 0.12, SOFT, decay=6), _note(587.33, 0.2, SOFT, decay=5), gap=0.02),
        "nod": _sequence(_struck(330.0, 0.1), _struck(495.0, 0.16), gap=0.06),
        "shake": _sequence(_struck(392.0, 0.08), _struck(261.6, 0.14), gap=0.03),
        "looking": _sequence(_struck(1318.5, 0.12, BELL), _struck(1975.5, 0.22, BELL), gap=0.01),
        "looking_away": _sequence(_struck(987.8, 0.1, BELL), _struck(659.3, 0.16, BELL), gap=0.04),
    }


def finish(x: np.ndarray, rms_dbfs: float = TARGET_RMS_DBFS) -> np.ndarray:
    """Remove DC, fade both ends, set loudness; float32 mono. Peak limiting is done per pack."""
    x = np.asarray(x, np.float64)
    n_fade = min(int(FADE_SECONDS * SAMPLE_RATE), len(x) // 2)
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n_fade))
    window = np.ones_like(x)
    window[:n_fade], window[len(x) - n_fade :] = ramp, ramp[::-1]
    x = x * window
    x = x - window * (x.sum() / window.sum())  # zero mean, ends still at zero
    rms = np.sqrt(np.mean(x**2))
    return (x * (10 ** (rms_dbfs / 20) / max(rms, 1e-12))).astype(np.float32)


def limit_peaks(cues: dict[str, np.ndarray], peak_dbfs: float = PEAK_DBFS) -> dict[str, np.ndarray]:
    """Scale all cues by one factor so the loudest peak is at most peak_dbfs (keeps them matched)."""
    peak = max(float(np.max(np.abs(c))) for c in cues.values())
    gain = min(1.0, 10 ** (peak_dbfs / 20) / peak)
    return {name: (c * gain).astype(np.float32) for name, c in cues.items()}


@cache
def default_cues() -> dict[str, np.ndarray]:
    """{cue name: mono float32 samples at SAMPLE_RATE} for every name in CUE_NAMES."""
    cues = {name: finish(x) for name, x in _recipes().items()}
    cues = limit_peaks(cues)
    assert set(cues) == set(CUE_NAMES)
    return {name: cues[name] for name in CUE_NAMES}
