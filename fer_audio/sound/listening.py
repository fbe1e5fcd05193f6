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

Either way the detector runs only while a cue waits (`Judge`): the rest of the time the last
second of sound is held in memory, and judged first once a cue falls due.

Only "speech / no speech" leaves the detector: no sound is stored or written anywhere.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fer_audio.errors import FerAudioError
from fer_audio.sound.audio import KeptStream, parse_device
from fer_audio.sound.vad import RATE, Framer, SpeechDetector, make_detector, resample

QUEUE_SECONDS = 2.0  # microphone sound kept waiting for the detector at most (older is dropped)
WATCH_INTERVAL = 0.2  # s between checks that the microphone still delivers
STALL_SECONDS = 1.0  # a microphone that delivers nothing for this long is lost (its stream may stay "active")
TRACK_AHEAD_SECONDS = 10.0  # a sound track is decoded at most this far ahead of the frames
QUIET_RETRY_SECONDS = 4.0  # a microphone that has not delivered since the session began: reopened quietly
CONTEXT_SECONDS = 1.0  # sound held while no cue waits, judged first once one does


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
    known_from: float | None = None  # s: heard without a break since here (None: nothing yet)

    def hear(self, t_end: float, speech: bool) -> None:
        self.frames += 1
        self._known(t_end)
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
        self._known(t_end)
        self.speaking = False
        self.last_speech = max(self.last_speech, t_end)
        self.heard_until = max(self.heard_until, t_end)

    def _known(self, t_end: float) -> None:
        if self.known_from is None:
            self.known_from = t_end  # from the end of the first frame: a frame's quiet is not a pause

    def silent_until(self, t: float) -> None:
        """Nothing to hear up to t (a sound track that has ended): silence, and known to be."""
        self._known(self.heard_until)
        self.speaking = False
        self.heard_until = max(self.heard_until, t)

    def wake(self) -> None:
        """Listening starts again after a stretch unjudged: what was known before says nothing of
        now, so it is not quiet until the detector has judged the sound up to now."""
        self.known_from = None

    def quiet_for(self) -> float:
        """Seconds of quiet heard up to now: since the last speech, or since listening began."""
        if self.speaking or self.known_from is None:
            return 0.0
        return self.heard_until - max(self.last_speech, self.known_from)


class Judge:
    """Runs the detector only while a cue waits (`listening`); the rest of the time it keeps the
    last `context` seconds of sound in memory, and once listening starts it judges those first,
    so a pause already under way counts. The detector's work then follows the cues, not the
    clock: on the natural clips a cue waits for a few seconds a minute.

    feed(end_t, block, listening): one block of 16 kHz int16 sound ending at session time end_t
    -> [(frame end time, is_speech), ...] judged now."""

    def __init__(self, detector: SpeechDetector, context: float = CONTEXT_SECONDS) -> None:
        self.detector = detector
        self.context = int(context * RATE)  # samples
        self.seconds = 0.0  # time spent in the detector
        self.frames = 0  # frames judged
        self._framer: Framer | None = None  # None: not judging
        self._held: deque[tuple[float, np.ndarray]] = deque()
        self._held_samples = 0

    def feed(self, end_t: float, block: np.ndarray, listening: bool) -> list[tuple[float, bool]]:
        if not listening:
            self._framer = None
            self._held.append((end_t, block))
            self._held_samples += len(block)
            while self._held_samples - len(self._held[0][1]) >= self.context:
                self._held_samples -= len(self._held.popleft()[1])
            return []
        blocks = [(end_t, block)]
        if self._framer is None:  # listening starts: the last `context` seconds first
            self.detector.reset()
            self._framer = Framer(self.detector)
            blocks = [*self._held, *blocks]
            self.forget_held()
        t0 = time.perf_counter()
        out = []
        for end, b in blocks:
            judged = self._framer.feed(b)
            out += [(end - (self._framer.samples - e) / RATE, speech) for e, speech in judged]
        self.seconds += time.perf_counter() - t0
        self.frames += len(out)
        return out

    @property
    def judged_seconds(self) -> float:
        """Seconds of sound the detector has judged."""
        return self.frames * self.detector.frame_samples / RATE

    def forget_held(self) -> None:
        self._held.clear()
        self._held_samples = 0

    def forget(self) -> None:
        """Start afresh (a microphone that came back): nothing held, not judging."""
        self.forget_held()
        self._framer = None


class _Handoff:
    """Items (session time, payload) made on a thread of its own, handed to the frame loop in time
    order; the maker waits while it is `ahead` s ahead of what the frame loop has asked for."""

    def __init__(self, ahead: float = math.inf) -> None:
        self._items: deque[tuple[float, object]] = deque()
        self._cond = threading.Condition()
        self.until = -math.inf  # s: made up to here
        self.wanted = 0.0  # s: the latest time asked for
        self.ahead = ahead
        self.ended = False

    def put(self, items: list) -> None:
        with self._cond:
            self._items.extend(items)
            if items:
                self.until = items[-1][0]
            self._cond.notify_all()
            while not self.ended and self.until - self.wanted > self.ahead:
                self._cond.wait(0.5)

    def end(self) -> None:
        with self._cond:
            self.ended = True
            self._cond.notify_all()

    def take(self, t: float | None = None, wait: bool = False) -> list:
        """The items ending by t (all of them with t None); with wait, first wait until the maker
        has gone past t or has ended."""
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


class _Listener:
    """What both listeners share: a speech state, kept by a Judge."""

    state: SpeechState
    _judge: Judge

    @property
    def detector_seconds(self) -> float:
        """Time spent in the detector."""
        return self._judge.seconds

    @property
    def judged_seconds(self) -> float:
        """Seconds of sound the detector has judged."""
        return self._judge.judged_seconds


class SoundTrackListener(_Listener):
    """A video file's sound track in place of the microphone (`--listen-to-source`): decoded on a
    thread of its own into the detector's frames, and heard in step with the video's frames
    (advance(t) takes in exactly the sound up to media time t, so every run makes the same
    decisions)."""

    def __init__(
        self, path: str, detector: SpeechDetector | None = None, context: float = CONTEXT_SECONDS
    ) -> None:
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
        self._judge = Judge(self.detector, context)
        self._listening = False  # judging (a cue waits); it starts with the first advance that asks
        self._decoded = _Handoff(ahead=TRACK_AHEAD_SECONDS)
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sound-track", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        """Decode, resample to 16 kHz and cut into the detector's frames, each with its end time."""
        n, rest, done = self.detector.frame_samples, np.zeros(0, np.int16), 0
        try:
            for frame in itertools.chain(self._container.decode(self.stream), [None]):  # None: flush
                if self._closing.is_set():
                    return
                blocks = [b.to_ndarray().reshape(-1) for b in self._resampler.resample(frame)]
                data = np.concatenate([rest, *blocks])
                whole = len(data) // n
                ends = [self.offset + (done + (i + 1) * n) / RATE for i in range(whole)]
                self._decoded.put([(end, data[i * n : (i + 1) * n]) for i, end in enumerate(ends)])
                done += whole * n
                rest = data[whole * n :]
        except Exception as exc:  # a damaged track: what was decoded stands, then silence
            self.error = f"--listen-to-source {self.path}: the sound track stopped decoding ({exc})"
        finally:
            self._decoded.end()

    def advance(self, t: float, listening: bool = True) -> None:
        """Take in the track up to media time t (past its end: silence); judge it while
        `listening` (a cue waits), else only hold its last second."""
        if listening and not self._listening:
            self.state.wake()
        self._listening = listening
        for end, frame in self._decoded.take(t, wait=True):
            for judged_end, speech in self._judge.feed(end, frame, listening):
                self.state.hear(judged_end, speech)
        if self._decoded.ended and self._decoded.until < t:
            self.state.silent_until(t)

    def quiet_for(self) -> float | None:
        return self.state.quiet_for()

    def close(self) -> None:
        self._closing.set()
        self._decoded.end()  # a decoder waiting for the frames to catch up stops waiting
        self._thread.join(timeout=2.0)
        with contextlib.suppress(Exception):
            self._container.close()


class MicrophoneListener(_Listener, KeptStream):
    """The microphone (`--microphone NAME|INDEX`, default: the system's default input).

    `origin` is the perf_counter() time of session time 0 (the frame source's clock), so that
    sound and frames share one clock; `own_sound(t)` says whether the tool's own cue is playing
    at session time t (those frames are ignored); `on_state` hears 'microphone_lost' and
    'microphone_back'. The callback only copies blocks into a bounded queue; a thread of its own
    runs the detector on them."""

    OPEN_ERROR = ListeningError

    def __init__(
        self,
        device: str | None = None,
        detector: SpeechDetector | None = None,
        origin: Callable[[], float] = lambda: 0.0,
        own_sound: Callable[[float], bool] = lambda _t: False,
        on_state: Callable[[str], None] | None = None,
        retry: float = 1.0,
        context: float = CONTEXT_SECONDS,
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
        self._judge = Judge(self.detector, context)
        # the detector runs while a cue waits: then _want is the number of that stretch of listening
        # (0: not listening), read once a block by the worker and handed back with what it judged
        self._want = self._stretches = 0
        self._forget = threading.Event()  # the worker starts afresh (the microphone came back)
        self._judged = _Handoff()
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._opened = time.perf_counter()
        self._stream = self._open()
        self._worker = threading.Thread(target=self._run, name="microphone-detector", daemon=True)
        self._worker.start()
        self._watchdog = threading.Thread(target=self._watch, name="microphone-watchdog", daemon=True)
        self._watchdog.start()

    def _callback(self, indata, frames, time_info, status) -> None:  # sounddevice's signature
        self._last_block = time.perf_counter()
        self._first_block = self._first_block or self._last_block
        self._blocks.append((self._last_block, indata[:, 0].copy()))
        self._arrived.set()

    def _run(self) -> None:
        while not self._closing.is_set():
            if not self._arrived.wait(0.2):
                continue
            self._arrived.clear()
            origin = self.origin()
            while self._blocks:
                if self._forget.is_set():
                    self._forget.clear()
                    self._judge.forget()
                stamp, block = self._blocks.popleft()
                end_t = stamp - origin  # the block's end on the session clock
                want = self._want
                judged = self._judge.feed(end_t, resample(block, self._rate), listening=want > 0)
                self._judged.put([(end, (want, speech)) for end, speech in judged])

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
                    self._forget.set()
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
        """One try a watchdog check: back once it delivers (the watchdog's next checks say so)."""
        self._drop_stream()
        self._open_again()

    def advance(self, t: float, listening: bool = True) -> None:
        """Hear what the detector has judged so far (live: it is all in the past); frames while
        the tool's own cue played are ignored. The detector runs while `listening` (a cue waits);
        what it judged in an earlier stretch of listening is left out, the new stretch's first
        second says more of now."""
        if not listening:
            self._want = 0
        elif not self._want:
            self._stretches += 1
            self._want = self._stretches
            self.state.wake()
        for end, (want, speech) in self._judged.take():
            if want != self._want:
                continue
            if self.own_sound(end):
                self.state.ignore(end)
            else:
                self.state.hear(end, speech)

    def quiet_for(self) -> float | None:
        return None if self.lost else self.state.quiet_for()

    def close(self) -> None:
        self._close_stream()
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
    context = max(CONTEXT_SECONDS, options.pause + 0.5)  # a whole pause, and the detector's warm-up
    if options.listen_to_source:
        return SoundTrackListener(source, detector, context)
    return MicrophoneListener(options.microphone, detector, origin, own_sound, on_state, context=context)
