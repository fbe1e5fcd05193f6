"""Listening for the partner's speech, for cues that wait for a pause.

Two sources of sound, one interface (`advance(t)` judges the sound up to session time t;
`quiet_for()` says how long it has been quiet, None when nothing is listening):

* ``MicrophoneListener``: one sounddevice ``InputStream`` whose callback only copies blocks into
  a bounded queue (as the output side's callback only copies out of the mixer). While the tool's
  own cue plays the microphone is ignored, so a listener on speakers does not make the tool wait
  for itself. A microphone that goes away is said once, nothing waits meanwhile, and it is
  reopened every second.
* ``SoundTrackListener``: a video file's own sound track (decoded by PyAV, which ships FFmpeg in
  its wheel), judged in step with the file's frames: the same decisions on every run.

Only "speech / no speech" leaves the detector: no sound is stored or written anywhere.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fer_audio.errors import FerAudioError
from fer_audio.sound.audio import close_stream, parse_device
from fer_audio.sound.vad import RATE, Framer, SpeechDetector, make_detector, resample

QUEUE_SECONDS = 2.0  # microphone sound kept waiting for the detector at most (older is dropped)
WATCH_INTERVAL = 0.2  # s between checks that the microphone still delivers
STALL_SECONDS = 1.0  # a microphone that delivers nothing for this long is lost (its stream may stay "active")
TRACK_AHEAD_SECONDS = 10.0  # a sound track is decoded at most this far ahead of the frames
QUIET_RETRY_SECONDS = 4.0  # a microphone that has not delivered since the session began: reopened quietly


class ListeningError(FerAudioError, RuntimeError):
    """The microphone or the sound track cannot be listened to."""


@dataclass
class SpeechState:
    """What the detector has heard, on the session clock."""

    heard_until: float = 0.0  # s: sound judged up to here
    last_speech: float = -math.inf  # s: the end of the last frame that held speech
    speaking: bool = False
    speech_frames: int = 0
    frames: int = 0
    ignored_frames: int = 0

    def hear(self, t_end: float, speech: bool) -> None:
        self.frames += 1
        self.speaking = speech
        if speech:
            self.speech_frames += 1
            self.last_speech = t_end
        self.heard_until = max(self.heard_until, t_end)

    def ignore(self, t_end: float) -> None:
        """A frame while the tool's own cue played: what the microphone heard is not the partner,
        and the partner may have spoken under it, so it counts as no pause (a cue due meanwhile
        waits for a pause heard after it)."""
        self.ignored_frames += 1
        self.speaking = False
        self.last_speech = max(self.last_speech, t_end)
        self.heard_until = max(self.heard_until, t_end)

    def quiet_for(self) -> float:
        return 0.0 if self.speaking else self.heard_until - max(self.last_speech, 0.0)


class _Judged:
    """Frames the detector has judged on its own thread, handed to the frame loop in time order:
    the detector's work never holds up a video frame (on two cores it runs beside it)."""

    def __init__(self, ahead: float = math.inf) -> None:
        self._items: deque[tuple[float, bool]] = deque()
        self._cond = threading.Condition()
        self.until = -math.inf  # s: judged up to here
        self.wanted = 0.0  # s: the latest time asked for
        self.ahead = ahead  # s the detector may run ahead of what is asked for (a file's track)
        self.ended = False
        self.seconds = 0.0  # time spent in the detector

    def put(self, items: list[tuple[float, bool]], seconds: float) -> None:
        """Hand over judged frames; waits while the detector is `ahead` s ahead of the frames."""
        with self._cond:
            self._items.extend(items)
            if items:
                self.until = items[-1][0]
            self.seconds += seconds
            self._cond.notify_all()
            while not self.ended and self.until - self.wanted > self.ahead:
                self._cond.wait(0.5)

    def end(self) -> None:
        with self._cond:
            self.ended = True
            self._cond.notify_all()

    def take(self, t: float | None = None, wait: bool = False) -> list[tuple[float, bool]]:
        """The judged frames ending by t (all of them with t None); with wait, first wait until
        the detector has judged past t or has ended."""
        with self._cond:
            if t is not None and t > self.wanted:
                self.wanted = t
                self._cond.notify_all()
            while wait and t is not None and not self.ended and self.until < t:
                self._cond.wait(0.5)
            out = []
            while self._items and (t is None or self._items[0][0] <= t):
                out.append(self._items.popleft())
            return out


class SoundTrackListener:
    """A video file's sound track in place of the microphone (`--listen-to-source`): decoded and
    judged on its own thread, and heard in step with the frames (advance(t) takes in exactly the
    sound up to media time t, so every run makes the same decisions)."""

    def __init__(self, path: str, detector: SpeechDetector | None = None) -> None:
        try:
            import av
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise ListeningError("--listen-to-source needs PyAV (pip install av)") from exc
        try:
            self._container = av.open(path)
        except (av.error.FFmpegError, OSError) as exc:
            raise ListeningError(f"--listen-to-source: {path} could not be opened ({exc})") from exc
        streams = self._container.streams.audio
        if not streams:
            self._container.close()
            raise ListeningError(
                f"--listen-to-source: {path} has no sound track; drop --listen-to-source or use a microphone"
            )
        self.path, self.stream = path, streams[0]
        start = self.stream.start_time
        self.offset = float(start * self.stream.time_base) if start is not None else 0.0  # s
        self.detector = detector or make_detector()
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        self.state = SpeechState()
        self.error = ""  # why the track stopped decoding ('' while all is well)
        self._judged = _Judged(ahead=TRACK_AHEAD_SECONDS)
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sound-track", daemon=True)
        self._thread.start()

    @property
    def detector_seconds(self) -> float:
        return self._judged.seconds

    def _run(self) -> None:
        framer = Framer(self.detector)
        try:
            for frame in self._container.decode(self.stream):
                if self._closing.is_set():
                    return
                self._judge(framer, [b.to_ndarray().reshape(-1) for b in self._resampler.resample(frame)])
            self._judge(framer, [b.to_ndarray().reshape(-1) for b in self._resampler.resample(None)])
        except Exception as exc:  # a damaged track: what was judged stands, then silence
            self.error = f"--listen-to-source {self.path}: the sound track stopped decoding ({exc})"
        finally:
            self._judged.end()

    def _judge(self, framer: Framer, blocks: list[np.ndarray]) -> None:
        t0 = time.perf_counter()
        items = [(self.offset + end / RATE, speech) for b in blocks for end, speech in framer.feed(b)]
        self._judged.put(items, time.perf_counter() - t0)

    def advance(self, t: float) -> None:
        """Hear the track up to media time t (past its end: silence)."""
        for end, speech in self._judged.take(t, wait=True):
            self.state.hear(end, speech)
        if self._judged.ended and self._judged.until < t:
            self.state.speaking = False
            self.state.heard_until = max(self.state.heard_until, t)

    def quiet_for(self) -> float | None:
        return self.state.quiet_for()

    def close(self) -> None:
        self._closing.set()
        self._judged.end()  # a decoder waiting for the frames to catch up stops waiting
        self._thread.join(timeout=2.0)
        with contextlib.suppress(Exception):
            self._container.close()


class MicrophoneListener:
    """The microphone (`--microphone NAME|INDEX`, default: the system's default input).

    `origin` is the perf_counter() time of session time 0 (the frame source's clock), so that
    sound and frames share one clock; `own_sound(t)` says whether the tool's own cue is playing
    at session time t (those frames are ignored); `on_state` hears 'microphone_lost' and
    'microphone_back'. The callback only copies blocks into a bounded queue; a thread of its own
    runs the detector on them."""

    def __init__(
        self,
        device: str | None = None,
        detector: SpeechDetector | None = None,
        origin: Callable[[], float] = lambda: 0.0,
        own_sound: Callable[[float], bool] = lambda _t: False,
        on_state: Callable[[str], None] | None = None,
        retry: float = 1.0,
    ) -> None:
        self.device, self.origin, self.own_sound, self.retry = device, origin, own_sound, retry
        self.detector = detector or make_detector()
        self.on_state = on_state or (lambda _s: None)
        self.state = SpeechState()
        self.error = ""
        self.lost = False
        self._rate = RATE
        self._blocks: deque[tuple[float, np.ndarray]] = deque(maxlen=max(4, int(QUEUE_SECONDS * RATE / 512)))
        self._arrived = threading.Event()
        self._judged = _Judged()
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._opened = time.perf_counter()
        self._stream = self._open()
        self._worker = threading.Thread(target=self._run, name="microphone-detector", daemon=True)
        self._worker.start()
        self._watchdog = threading.Thread(target=self._watch, name="microphone-watchdog", daemon=True)
        self._watchdog.start()

    @property
    def detector_seconds(self) -> float:
        return self._judged.seconds

    def _callback(self, indata, frames, time_info, status) -> None:  # sounddevice's signature
        self._last_block = time.perf_counter()
        self._first_block = self._first_block or self._last_block
        self._blocks.append((self._last_block, indata[:, 0].copy()))
        self._arrived.set()

    def _run(self) -> None:
        framer = Framer(self.detector)
        while not self._closing.is_set():
            if not self._arrived.wait(0.2):
                continue
            self._arrived.clear()
            origin = self.origin()
            while self._blocks:
                stamp, block = self._blocks.popleft()
                t0 = time.perf_counter()
                judged = framer.feed(resample(block, self._rate))
                end_t = stamp - origin  # the block's end on the session clock
                items = [(end_t - (framer.samples - end) / RATE, speech) for end, speech in judged]
                self._judged.put(items, time.perf_counter() - t0)

    def _open(self):
        import sounddevice as sd

        device = parse_device(self.device)
        last: Exception | None = None
        for rate in (RATE, None):  # 16 kHz where the device or sound server converts, else its own
            try:
                if rate is None:
                    rate = int(sd.query_devices(device, "input")["default_samplerate"])
                stream = sd.InputStream(
                    samplerate=rate,
                    channels=1,
                    dtype="int16",
                    blocksize=512,
                    device=device,
                    latency="high",  # "low" stalled at 16 kHz through PulseAudio's ALSA plugin
                    callback=self._callback,
                )
                stream.start()
            except (sd.PortAudioError, ValueError) as exc:
                last = exc
                continue
            self._rate = rate
            self._last_block, self._first_block = time.perf_counter(), 0.0
            return stream
        raise ListeningError(_microphone_problem(self.device, last))

    def _watch(self) -> None:
        """Lost: the stream stopped, or it delivers nothing (a source that went away can leave
        it "active"); said once, then reopened every `retry` s; back once it delivers again."""
        while not self._closing.wait(WATCH_INTERVAL):
            with self._lock:
                alive = self._stream is not None and self._stream.active
            delivering = time.perf_counter() - self._last_block <= STALL_SECONDS
            established = bool(self._first_block) and self._last_block - self._first_block >= STALL_SECONDS
            if alive and delivering:
                if established:
                    self._opened = -math.inf  # it has delivered steadily: from now on a stall is a loss
                if self.lost and established:
                    self._blocks.clear()
                    self.state = SpeechState()  # what was heard before the loss says nothing of now
                    self.lost = False
                    self.on_state("microphone_back")
                continue
            # a stream that never delivered steadily is reopened quietly for a while (through
            # PulseAudio's ALSA plugin some openings stalled after a first burst); one that stops is lost
            if not self.lost and (established or time.perf_counter() - self._opened > QUIET_RETRY_SECONDS):
                self.lost = True
                self.on_state("microphone_lost")
            self._reopen()

    def _reopen(self) -> None:
        with self._lock:
            old, self._stream = self._stream, None
        if old is not None:
            close_stream(old)
        if self._closing.wait(self.retry):
            return
        try:
            stream = self._open()  # back once it delivers (the watchdog's next checks)
        except ListeningError:
            return
        with self._lock:
            if self._closing.is_set():
                stream.close(ignore_errors=True)
                return
            self._stream = stream

    def advance(self, t: float) -> None:
        """Hear what the detector has judged so far (live: it is all in the past); frames while
        the tool's own cue played are ignored."""
        for end, speech in self._judged.take():
            if self.own_sound(end):
                self.state.ignore(end)
            else:
                self.state.hear(end, speech)

    def quiet_for(self) -> float | None:
        return None if self.lost else self.state.quiet_for()

    def close(self) -> None:
        self._closing.set()
        with self._lock:
            if self._stream is not None:
                close_stream(self._stream)
                self._stream = None
        self._worker.join(timeout=2.0)
        self._watchdog.join(timeout=2.0)


def _microphone_problem(device: str | None, exc: Exception | None) -> str:
    text = str(exc).lower()
    missing = "querying device" in text or "no such device" in text or "no input device matching" in text
    if device is None and (missing or "-1" in text):
        return (
            "no microphone was found for --wait-for-pause; connect one, pass --microphone, "
            "or listen to a video file's own sound with --listen-to-source"
        )
    if missing:
        return f"there is no microphone {device} (fer-audio devices lists them)"
    where = f"the microphone {device}" if device else "the default microphone"
    return f"{where} could not be opened (it may be busy or unplugged)"


def open_listener(options, source: str, origin, own_sound, on_state):
    """The listener a PauseOptions asks for (None where nothing waits)."""
    if not options.on:
        return None
    detector = make_detector(options.detector)
    if options.listen_to_source:
        return SoundTrackListener(source, detector)
    return MicrophoneListener(options.microphone, detector, origin, own_sound, on_state)
