"""Speech through pyttsx3 (espeak-ng on Linux, SAPI5 on Windows, NSSpeechSynthesizer on macOS),
rendered to waveforms so spoken words go through the same mixer as the earcons.

Fixed phrases are rendered once and cached; other text (narrate's sentences) on demand.
"""

from __future__ import annotations

import math
import shutil
import sys
import tempfile
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_audio.errors import FerAudioError
from fer_audio.sound.earcons import PEAK_DBFS, SAMPLE_RATE
from fer_audio.sound.wavio import read_wav, resample

SILENCE_THRESHOLD = 0.01  # amplitude below which leading/trailing audio is trimmed
LOUDNESS_DBFS = -12.5  # dBFS, each phrase's short-term loudness: the earcons' median (see level())
LOUDNESS_WINDOW = 0.1  # s, the window short-term loudness is the loudest RMS over
PAD_SECONDS = 0.01  # s kept around speech after trimming
SYNTH_TIMEOUT_S = 10.0  # s the engine may take to finish a phrase, plus the next per character
SYNTH_TIMEOUT_PER_CHAR_S = 0.05  # s (espeak-ng renders far faster; this bounds a stuck engine)


class SpeechUnavailable(FerAudioError, RuntimeError):
    """No text-to-speech engine works here."""


class VoiceNotFound(SpeechUnavailable):
    """The engine works, but no voice matches the one asked for."""


@dataclass(frozen=True)
class SpeechOptions:
    voice: str | None = None  # engine voice id or a part of its name/language ("en", "english")
    rate: int = 190  # words per minute (the loudness is the cues' or the narration's `volume`)
    cache_phrases: int = 256  # rendered phrases kept for reuse (the least recently used go first)


def open_speaker(
    options: SpeechOptions, fallback: str | None = None, warn: Callable[[str], None] | None = None
) -> Speaker | None:
    """The one way the commands make a Speaker. A voice that matches nothing is a VoiceNotFound
    naming ``--voice``. Where no engine works: with a ``fallback`` (what happens instead, e.g.
    "using earcons only"), one line "warning: ...; FALLBACK" to ``warn`` and None; without one,
    SpeechUnavailable."""
    try:
        return Speaker(options)
    except VoiceNotFound as exc:
        raise VoiceNotFound(f"--voice {options.voice}: {exc}") from exc
    except SpeechUnavailable as exc:
        if fallback is None:
            raise
        if warn is not None:
            warn(f"warning: {exc}; {fallback}")
        return None


class Speaker:
    """render(text) -> mono float32 at SAMPLE_RATE; cached for repeated phrases."""

    def __init__(self, options: SpeechOptions = SpeechOptions()) -> None:
        self.options = options
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        try:
            import pyttsx3

            self._engine = pyttsx3.init()
            _silence_driver(self._engine)
            self._engine.setProperty("rate", options.rate)
            self._engine.setProperty("volume", 1.0)  # full scale: the volume is applied once, later
            if options.voice:
                self._engine.setProperty("voice", self._find_voice(options.voice))
        except SpeechUnavailable:
            raise
        except Exception as exc:  # pyttsx3 raises many kinds (OSError, RuntimeError, ImportError...)
            raise SpeechUnavailable(f"no text-to-speech engine ({exc}); install espeak-ng") from exc
        self._tmpdir = Path(tempfile.mkdtemp(prefix="fer-audio-tts-"))
        # removed by close(), or when the Speaker is collected or the interpreter exits
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._tmpdir, ignore_errors=True)
        self._count = 0

    def _find_voice(self, wanted: str) -> str:
        key = wanted.lower()
        voices = self._engine.getProperty("voices")
        for v in voices:
            if key == str(v.id).lower():
                return v.id
        for v in voices:
            langs = " ".join(str(lang) for lang in (getattr(v, "languages", None) or []))
            if key in f"{v.id} {v.name} {langs}".lower():
                return v.id
        raise VoiceNotFound(
            "no voice matches it; try a language code such as 'en' (espeak-ng --voices lists them)"
        )

    def render(self, text: str) -> np.ndarray:
        with self._lock:
            if text in self._cache:
                self._cache.move_to_end(text)
                return self._cache[text]
            samples = self._cache[text] = self._render(text)
            while len(self._cache) > max(self.options.cache_phrases, 1):
                self._cache.popitem(last=False)
            return samples

    def warm(self, phrases: list[str]) -> None:
        for phrase in phrases:
            self.render(phrase)

    def _render(self, text: str, attempts: int = 3) -> np.ndarray:
        """Synthesize to a fresh temporary WAV. The espeak driver's runAndWait returns before
        espeak-ng has finished (it synthesizes on its own thread and writes the file from its
        callback), so this waits for the engine's "finished-utterance" notice, then reads the
        file; a file that is still not complete is waited for briefly and the synthesis retried."""
        error: Exception | None = None
        for _ in range(attempts):
            self._count += 1
            path = self._tmpdir / f"speech-{self._count}.wav"
            finished = threading.Event()
            token = self._engine.connect("finished-utterance", lambda done=finished, **_: done.set())
            try:
                self._engine.save_to_file(text, str(path))
                self._engine.runAndWait()
                finished.wait(SYNTH_TIMEOUT_S + SYNTH_TIMEOUT_PER_CHAR_S * len(text))
            finally:
                self._engine.disconnect(token)
            try:
                samples, rate = _read_when_ready(path)
                return level(_trim(resample(samples, rate, SAMPLE_RATE).mean(axis=1)))
            except (OSError, ValueError) as exc:
                error = exc
            finally:
                path.unlink(missing_ok=True)
        raise SpeechUnavailable(f"the speech engine wrote no audio for {text!r} ({error})")

    def close(self) -> None:
        """Removes the speaker's temporary folder (also done when it is collected)."""
        self._cleanup()

    def __enter__(self) -> Speaker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _discard(*args, **kwargs) -> None:
    """What a speech driver's print() does here: nothing (see _silence_driver)."""


def _silence_driver(engine) -> None:
    """pyttsx3's drivers print() from their callbacks (the espeak driver prints "Audio saved to
    FILE" from espeak-ng's own thread, at a time no redirection of sys.stdout can bracket, and
    a closed pipe then raises inside a ctypes callback). A screen reader reads our stdout, so
    the loaded driver's module gets a print that writes nothing; nothing else changes."""
    driver = getattr(getattr(engine, "proxy", None), "_driver", None)
    module = sys.modules.get(type(driver).__module__) if driver is not None else None
    if module is not None and module.__name__.startswith("pyttsx3."):
        module.print = _discard


def _read_when_ready(path: Path, timeout: float = 1.0) -> tuple[np.ndarray, int]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return read_wav(path, complete=True)  # the engine may still be writing it
        except (OSError, ValueError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def short_term_dbfs(x: np.ndarray) -> float:
    """The loudest RMS over any LOUDNESS_WINDOW of mono samples, in dBFS (-inf for silence)."""
    x = np.asarray(x, np.float64)
    n = min(len(x), int(LOUDNESS_WINDOW * SAMPLE_RATE))
    if n == 0:
        return -math.inf
    power = np.convolve(x**2, np.ones(n) / n, mode="valid").max()
    return 10.0 * math.log10(power) if power > 0 else -math.inf


def level(x: np.ndarray) -> np.ndarray:
    """A phrase scaled to LOUDNESS_DBFS short-term loudness, as loud as the earcons (espeak-ng's
    own level was 3-6 dB quieter), its peak kept at PEAK_DBFS or below."""
    loud, peak = short_term_dbfs(x), float(np.abs(x).max(initial=0.0))
    if not math.isfinite(loud) or peak == 0.0:
        return x
    gain = min(10 ** ((LOUDNESS_DBFS - loud) / 20), 10 ** (PEAK_DBFS / 20) / peak)
    return (x * gain).astype(np.float32)


def _trim(x: np.ndarray) -> np.ndarray:
    loud = np.flatnonzero(np.abs(x) > SILENCE_THRESHOLD)
    if loud.size == 0:
        return x.astype(np.float32)
    pad = int(PAD_SECONDS * SAMPLE_RATE)
    return x[max(0, loud[0] - pad) : loud[-1] + pad].astype(np.float32)
