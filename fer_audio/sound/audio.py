"""Audio output: three backends behind one protocol, each playing what the mixer
(fer_audio/sound/mixer.py) queues.

* ``SoundDeviceOutput``: one long-lived ``sounddevice.OutputStream`` whose callback only copies
  prepared samples out of the mixer (the only module that imports sounddevice).
* ``WavOutput``: renders everything to one WAV file on a timeline (``--audio-out``).
* ``NullOutput``: plays nothing (``--no-audio``).

All take stereo float32 (n, 2) arrays at SAMPLE_RATE.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import wave
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Protocol

import numpy as np

from fer_audio.errors import FerAudioError
from fer_audio.outputs import temporary_name
from fer_audio.sound.earcons import SAMPLE_RATE
from fer_audio.sound.mixer import NORMAL, Cue, Mixer

CHANNELS = 2
BLOCK_SIZE = 256  # frames per audio callback (5.8 ms at 44.1 kHz)
WAV_KEEP_SECONDS = 5.0  # WavOutput keeps this much of the timeline in memory before the newest cue
WATCH_INTERVAL = 0.2  # s between the sound device watchdog's checks


class AudioDeviceError(FerAudioError, RuntimeError):
    """No usable audio output device."""


class AudioOutput(Protocol):
    mixer: Mixer
    error: str  # why the output could not be written ('' while all is well)

    def play(
        self,
        samples: np.ndarray,
        key: Hashable | None = None,
        at: float | None = None,
        priority: int = NORMAL,
    ) -> Cue | None:
        """Queue (n, 2) samples; `at` (seconds on the session's timeline) is used by file output.
        Returns the queued Cue where a device plays it (its `started` is set when its first sample
        goes to the device); None for a file or no sound."""
        ...

    def wait(self, timeout: float = 30.0) -> None:
        """Block until everything queued has been played."""
        ...

    def starts_in(self, at: float) -> float:
        """Seconds after `at` (session time) that a cue queued at `at` starts to sound: what is
        playing and queued before it (one cue sounds at a time)."""
        ...

    def close(self) -> None: ...

    def abort(self) -> None:
        """Close without writing anything (a session that could not start)."""
        ...


def parse_device(device: str | None) -> int | str | None:
    if device is None or device == "":
        return None
    return int(device) if device.strip().isdigit() else device


class KeptStream:
    """A PortAudio stream that a watchdog thread keeps: dropped when it is lost and opened again,
    until close. The owner sets _lock, _stream, _closing (an Event), retry (s between tries),
    OPEN_ERROR and an _open() that raises it."""

    OPEN_ERROR: type[Exception]  # what _open() raises when the device is not there (yet)
    _lock: threading.Lock
    _closing: threading.Event
    retry: float

    def _drop_stream(self) -> None:
        with self._lock:
            old, self._stream = self._stream, None
        if old is not None:
            close_stream(old)

    def _open_again(self) -> bool:
        """After `retry` s, one try at opening the stream again: True when it is open and kept
        (False when the try failed or the owner is closing)."""
        if self._closing.wait(self.retry):
            return False
        try:
            stream = self._open()
        except self.OPEN_ERROR:
            return False
        with self._lock:
            if self._closing.is_set():
                stream.close(ignore_errors=True)
                return False
            self._stream = stream
        return True

    def _close_stream(self) -> None:
        """The owner closes: the watchdog stops trying, the stream is closed."""
        self._closing.set()
        with self._lock:
            if self._stream is not None:
                close_stream(self._stream)
                self._stream = None


class SoundDeviceOutput(KeptStream):
    """Real-time output through PortAudio, one stream for the whole session.

    A watchdog thread notices when the device goes away (a sound server that stops, headphones
    unplugged, a Bluetooth headset that drops: PortAudio's stream stops being active) and calls
    on_state('sound_lost') at once, then reopens the stream every `retry` seconds and calls
    on_state('sound_back') when it plays again. Cues submitted meanwhile wait in the mixer."""

    OPEN_ERROR = AudioDeviceError

    def __init__(
        self,
        device: str | None = None,
        blocksize: int = BLOCK_SIZE,
        mixer: Mixer | None = None,
        on_state: Callable[[str], None] | None = None,
        retry: float = 1.0,
    ) -> None:
        self.mixer = mixer or Mixer()
        self.error = ""  # a device that goes away is retried, never an error of the session
        self.device, self.blocksize, self.retry = device, blocksize, retry
        self.on_state = on_state or (lambda _state: None)
        self.lost = False
        self._closing = threading.Event()
        self._lock = threading.Lock()  # the stream is swapped by the watchdog, closed by close()
        self._stream = self._open()
        self._watchdog = threading.Thread(target=self._watch, name="sound-watchdog", daemon=True)
        self._watchdog.start()

    def _open(self):
        import sounddevice as sd

        try:
            stream = sd.OutputStream(
                samplerate=SAMPLE_RATE,
                channels=CHANNELS,
                dtype="float32",
                blocksize=self.blocksize,
                device=parse_device(self.device),
                latency="low",
                callback=self.mixer.callback,
            )
            stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            raise AudioDeviceError(_device_problem(self.device, exc)) from exc
        return stream

    def _watch(self) -> None:
        while not self._closing.wait(WATCH_INTERVAL):
            with self._lock:
                if self._closing.is_set():
                    return
                alive = self._stream is not None and self._stream.active
            if alive:
                continue
            self.lost = True
            self.on_state("sound_lost")
            self._reopen()

    def _reopen(self) -> None:
        self._drop_stream()
        while not self._closing.is_set():
            if self._open_again():
                self.lost = False
                self.on_state("sound_back")
                return

    def play(
        self,
        samples: np.ndarray,
        key: Hashable | None = None,
        at: float | None = None,
        priority: int = NORMAL,
    ) -> Cue:
        return self.mixer.submit(samples, key, priority)

    def starts_in(self, at: float) -> float:
        return self.mixer.backlog_seconds()

    def wait(self, timeout: float = 30.0) -> None:
        """Until the callback says all is played (mixer.drained), the device is lost or timeout."""
        deadline = time.monotonic() + timeout
        while not self.lost and (left := deadline - time.monotonic()) > 0:
            if self.mixer.drained.wait(min(WATCH_INTERVAL, left)):
                break
        with self._lock:
            latency = self._stream.latency if self._stream is not None else 0.0
        time.sleep(latency + 2 * BLOCK_SIZE / SAMPLE_RATE)  # let the device play it out

    def close(self) -> None:
        self._close_stream()
        self._watchdog.join(timeout=2.0)

    def abort(self) -> None:
        self.close()


class WavOutput:
    """Renders cues onto a timeline (each at its time, after the one before it has ended) and
    streams it to a stereo WAV file as it goes: memory holds
    only the last few seconds (where a cue may still be placed), however long the session. The
    file is written under a temporary name and takes its own name at close(); a write that
    fails (a full disk) removes it, and later cues are dropped, with `error` saying why."""

    def __init__(self, path: str | Path, gap: float = 0.25) -> None:
        self.path = Path(path)
        self.gap = gap  # seconds of silence between sequential (at=None) cues
        self.mixer = Mixer()  # unused for timing; kept so callers can mute
        self.error = ""  # why the file could not be written ('' while all is well)
        self._tmp = temporary_name(self.path)
        self._wav = wave.open(str(self._tmp), "wb")  # noqa: SIM115 (closed by close/abort)
        self._wav.setnchannels(CHANNELS)
        self._wav.setsampwidth(2)
        self._wav.setframerate(SAMPLE_RATE)
        self._buffer = np.zeros((0, CHANNELS), np.float32)  # the timeline from frame _written on
        self._written = 0  # frames already on disk
        self._end = 0  # frames: the end of the last cue
        self._any = False

    def play(
        self,
        samples: np.ndarray,
        key: Hashable | None = None,
        at: float | None = None,
        priority: int = NORMAL,
    ) -> None:
        gap = int(self.gap * SAMPLE_RATE) if self._any else 0
        # one cue heard at a time, as on a device (the mixer): a cue due while another plays follows it
        start = self._end + gap if at is None else max(int(at * SAMPLE_RATE), self._end)
        start = max(start, self._written)  # what is on disk is final
        samples = np.asarray(samples, np.float32)
        self._end = max(self._end, start + len(samples))
        self._any = True
        if self.mixer.muted or self.error:
            return
        need = self._end - self._written
        if need > len(self._buffer):
            self._buffer = np.concatenate(
                [self._buffer, np.zeros((need - len(self._buffer), CHANNELS), np.float32)]
            )
        self._buffer[start - self._written : start - self._written + len(samples)] += samples
        self._flush(max(0, start - self._written - int(WAV_KEEP_SECONDS * SAMPLE_RATE)))

    def _flush(self, frames: int) -> None:
        """Write the first `frames` of the buffer to disk."""
        if frames <= 0 or self.error:
            return
        pcm = (np.clip(self._buffer[:frames], -1.0, 1.0) * 32767.0).round().astype("<i2")
        try:
            self._wav.writeframesraw(pcm.tobytes())
        except OSError as exc:
            self.error = self._write_error(exc)
            self.abort()
            return
        self._buffer = self._buffer[frames:]
        self._written += frames

    def _write_error(self, exc: OSError) -> str:
        return f"--audio-out {self.path}: could not be written ({exc.strerror or exc}); nothing was kept"

    def wait(self, timeout: float = 30.0) -> None:
        return None

    def starts_in(self, at: float) -> float:
        return max(0.0, self._end / SAMPLE_RATE - at)

    def close(self) -> None:
        if self.error:
            return
        self._flush(self._end - self._written)
        if self.error:
            return
        try:
            self._wav.close()  # writes the header's lengths
            os.replace(self._tmp, self.path)
        except OSError as exc:
            self.error = self._write_error(exc)
            self._tmp.unlink(missing_ok=True)

    def abort(self) -> None:
        """Remove the partial file; nothing is written."""
        with contextlib.suppress(Exception):
            self._wav.close()
        self._tmp.unlink(missing_ok=True)


class NullOutput:
    """Plays nothing."""

    def __init__(self) -> None:
        self.mixer = Mixer()
        self.error = ""
        self._end = 0.0  # s: when the cues given so far would have ended, played one at a time

    def abort(self) -> None:
        return None

    def play(
        self,
        samples: np.ndarray,
        key: Hashable | None = None,
        at: float | None = None,
        priority: int = NORMAL,
    ) -> None:
        start = self._end if at is None else max(at, self._end)
        self._end = start + len(samples) / SAMPLE_RATE  # when it would have ended, one at a time
        return None

    def starts_in(self, at: float) -> float:
        return max(0.0, self._end - at)

    def wait(self, timeout: float = 30.0) -> None:
        return None

    def close(self) -> None:
        return None


def close_stream(stream) -> None:
    """Stop and close a PortAudio stream whose device may already be gone (closing may fail too)."""
    with contextlib.suppress(Exception):
        stream.stop(ignore_errors=True)
        stream.close(ignore_errors=True)


def _device_problem(device: str | None, exc: Exception) -> str:
    """PortAudio's error in the user's words (it says 'Error querying device -1' for 'none')."""
    text = str(exc).lower()
    missing = "querying device" in text or "no such device" in text or "no output device matching" in text
    if device is None and (missing or "-1" in text):
        return "no audio output device was found"
    if missing:
        return f"there is no audio output device {device} (fer-audio devices lists them)"
    where = f"the audio device {device}" if device else "the default audio device"
    return f"{where} could not be opened (it may be busy or unplugged)"


def open_output(
    audio_out: str | None = None,
    no_audio: bool = False,
    device: str | None = None,
    on_state: Callable[[str], None] | None = None,
) -> AudioOutput:
    """The backend the options ask for: --no-audio, --audio-out FILE.wav, or the sound device
    (whose on_state hears 'sound_lost' and 'sound_back')."""
    if no_audio:
        return NullOutput()
    if audio_out:
        return WavOutput(audio_out)
    return SoundDeviceOutput(device, on_state=on_state)
