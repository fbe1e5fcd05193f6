"""The live session: source -> detect -> classify -> track/smooth -> cue -> audio, built from
LiveOptions by LiveSession.create_from_options, which opens (and closes) every resource.

No printing: messages go to the ``say`` callback the caller passes (the CLI prints them).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import NoReturn

import numpy as np

from fer_audio.apps.options import LiveOptions
from fer_audio.errors import FerAudioError
from fer_audio.events.gestures import GAZE, GESTURES
from fer_audio.events.restface import REST_REFERENCE
from fer_audio.events.smoothing import MODEL_CALIBRATION
from fer_audio.events.track import FaceTracker, TrackerOptions
from fer_audio.labels import EMOTIONS
from fer_audio.sound.audio import AudioDeviceError
from fer_audio.sound.cues import PHRASES, Cuer
from fer_audio.sound.earcons import SAMPLE_RATE
from fer_audio.sound.mixer import LOW, NORMAL, Cue
from fer_audio.sound.waiting import PauseGate, Waiting
from fer_audio.types import EmotionEvent, Say, quiet
from fer_audio.vision.classify import Classifier
from fer_audio.vision.detect import TrackingDetector
from fer_audio.vision.preprocess import to_gray8
from fer_audio.vision.recognize import Recognizer, left_to_right
from fer_audio.vision.sources import Frame, FrameSource, SourceError

STAGES = ("capture", "detect", "classify", "smooth", "audio")
HEAD_KINDS = frozenset((*GESTURES, *GAZE))  # event kinds of head cues (low priority)
REST_KINDS = frozenset(("rest_face", "rest_face_set"))  # logged, never heard
MAX_FAILED_FRAMES = 25  # frames in a row that fail before the session stops with one line
OWN_SOUND_TAIL = 0.25  # s after the tool's own cue ends during which the microphone is still ignored


@dataclass
class StageTimes:
    """Accumulated seconds per stage, and frames processed."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    frames: int = 0

    def ms_per_frame(self) -> dict[str, float]:
        return {k: 1000.0 * v / max(self.frames, 1) for k, v in self.seconds.items()}


class FrameProcessor:
    """process(frame) -> events, timing each stage."""

    def __init__(self, recognizer: Recognizer, tracker: FaceTracker, rescan: float = 0.5) -> None:
        self.recognizer, self.tracker = recognizer, tracker
        self.detector = TrackingDetector(recognizer.detector, rescan, follow=recognizer.follow)
        self.times = StageTimes()
        self.faces: list = []  # the latest frame's classified faces (FacePrediction), left to right

    @classmethod
    def from_options(cls, options: LiveOptions, warn: Say = quiet) -> FrameProcessor:
        """The recognizer and tracker a (validated) LiveOptions describes, the tracker reading the
        model as its sidecar says."""
        recognizer = Recognizer(options.recognizer)
        return cls(recognizer, FaceTracker(read_as_its_sidecar_says(options, recognizer.classifier, warn)))

    def process(self, frame: Frame) -> list[EmotionEvent]:
        clock = time.perf_counter
        t0 = clock()
        self.times.seconds["capture"] += max(0.0, t0 - frame.captured)
        gray = to_gray8(frame.image)
        boxes = left_to_right(self.detector.detect_at(gray, frame.t))
        t1 = clock()
        faces = self.faces = self.recognizer.classify(gray, boxes)
        t2 = clock()
        h, w = gray.shape[:2]
        events = self.tracker.update(frame.t, faces, w, h)
        t3 = clock()
        st = self.times.seconds
        st["detect"], st["classify"], st["smooth"] = (
            st["detect"] + t1 - t0,
            st["classify"] + t2 - t1,
            st["smooth"] + t3 - t2,
        )
        self.times.frames += 1
        return events


class EventLog:
    """--events-log FILE.jsonl: one JSON object per event, flushed as it happens. The file is
    appended to: each session opens with a "session" record (its start time, source and the
    options that shape its events), and its events' times `t` count from that session's start."""

    def __init__(self, path: str | os.PathLike[str] | None, opening: dict | None = None) -> None:
        # Held open for the whole session and closed by close(): events are flushed as they happen.
        self.path = path
        self.error = ""  # why the log could not be written ('' while all is well)
        self._fh = Path(path).open("ab", buffering=0) if path else None  # noqa: SIM115
        if opening is not None:
            self.write(opening)

    def write(self, record: dict) -> None:
        """Append one record; a write that fails (a full disk) is cut back to the last whole
        record, the log is closed, and `error` says why (the session goes on without it)."""
        if self._fh is None:
            return
        good = os.fstat(self._fh.fileno()).st_size
        line = (json.dumps(record) + "\n").encode("utf-8")
        try:
            if self._fh.write(line) != len(line):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError as exc:
            self.error = (
                f"--events-log {self.path}: could not be written ({exc.strerror or exc}); "
                "it holds the events up to then"
            )
            with contextlib.suppress(OSError):
                os.ftruncate(self._fh.fileno(), good)
            with contextlib.suppress(OSError):
                self._fh.close()
            self._fh = None

    def close(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self._fh.close()


def session_record(options) -> dict:
    """The record that opens a session in the events log: when it started (local time, ISO
    8601), its source, and the options that decide which events it hears (a LiveOptions)."""
    tracker = options.tracker
    return {
        "kind": "session",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "source": options.source.source,
        "people": tracker.people,
        "smoother": {k: v for k, v in asdict(tracker.smoother).items() if k != "calibration"},
        "rest_face": (
            {k: v for k, v in asdict(tracker.rest).items() if k != "reference"} if tracker.rest else None
        ),
        "gestures": tracker.gestures.gestures,
        "gaze": tracker.gestures.gaze,
        "model": options.recognizer.classifier.model or "shipped",
        "detector": options.recognizer.detector.backend,
        "align": options.recognizer.align,
    }


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def event_record(e: EmotionEvent) -> dict:
    """An event as the events log writes it; a rest-face event names its correction per emotion."""
    d = asdict(e)
    d["t"], d["confidence"], d["x"] = round(e.t, 4), round(e.confidence, 4), round(e.x, 4)
    values = d.pop("values")
    if values:
        d["correction"] = {name: round(v, 3) for name, v in zip(EMOTIONS, values, strict=True)}
    return d


@dataclass
class Summary:
    frames: int
    seconds: float
    fps: float
    events: int
    errors: int = 0  # frames that could not be processed
    cues_dropped: int = 0  # cues not played (replaced, held back or over the backlog)
    dropped_text: str = ""  # how many cues were not played and why; "" when none
    underflows: int = 0  # times the sound device ran dry (PortAudio's callback status)
    waiting_text: str = ""  # --wait-for-pause: how many cues waited, how long, how many went stale
    waiting: dict | None = None  # the same, for the events log

    def line(self) -> str:
        extra = f" {_count(self.errors, 'frame')} could not be processed." if self.errors else ""
        extra += f" {self.dropped_text}." if self.dropped_text else ""
        extra += f" {self.waiting_text}." if self.waiting_text else ""
        if self.underflows:
            extra += (
                f" The sound device ran dry {_count(self.underflows, 'time')}: the sound may have crackled."
            )
        return (
            f"Summary: {_count(self.frames, 'frame')} in {self.seconds:.1f} s, "
            f"{self.fps:.1f} frames per second processed, {_count(self.events, 'event')}.{extra}"
        )

    def record(self) -> dict:
        return {
            "kind": "summary",
            "frames": self.frames,
            "seconds": round(self.seconds, 3),
            "fps": round(self.fps, 2),
            "events": self.events,
            "errors": self.errors,
            "cues_dropped": self.cues_dropped,
            "underflows": self.underflows,
            **({"waiting": self.waiting} if self.waiting is not None else {}),
        }


def read_as_its_sidecar_says(
    options: LiveOptions, classifier: Classifier, warn: Say = quiet
) -> TrackerOptions:
    """The tracker options with the calibration and rest reference a model of your own carries in
    its sidecar (where the options hold the shipped model's). A model whose sidecar carries
    neither is read with the shipped model's, and that is said once."""
    tracker, model = options.tracker, options.recognizer.classifier.model
    if model is None:
        return tracker
    if classifier.calibration is None or classifier.rest_reference is None:
        if classifier.has_sidecar:
            what = "its sidecar carries no calibration, so it is read with the shipped model's"
        else:
            what = (
                f"no {Path(model).with_suffix('.json').name} beside it, so its classes are read in "
                "fer-audio's order (angry, disgust, fear, happy, sad, surprise, neutral) and it is read "
                "with the shipped model's calibration"
            )
        warn(
            f"note: --model {model}: {what}; cues may come later or more often; python -m "
            f"benchmarks.tune_smoothing --model {model} --write and python -m benchmarks.tune_events "
            f"--model {model} --write fit them"
        )
        return tracker
    smoother, rest = tracker.smoother, tracker.rest
    if smoother.calibration == MODEL_CALIBRATION:
        smoother = replace(smoother, calibration=tuple(tuple(row) for row in classifier.calibration))
    if rest is not None and rest.reference == REST_REFERENCE:
        rest = replace(rest, reference=tuple(classifier.rest_reference))
    return replace(tracker, smoother=smoother, rest=rest)


def make_speaker(options: LiveOptions, warn: Say):
    """The Speaker the cues need; None for earcons only. Where no speech engine works the session
    goes on with earcons, after one warning. An unknown voice is an error."""
    if options.cues.mode == "tone":
        return None
    from fer_audio.sound.speech import open_speaker

    return open_speaker(options.speech, "using earcons only", warn)


def make_cuer(options: LiveOptions, speaker) -> Cuer:
    from fer_audio.sound.soundpack import load_pack

    cues = options.cues if speaker is not None else replace(options.cues, mode="tone")
    return Cuer(load_pack(options.sound_pack), speaker, cues)


def make_output(options: LiveOptions, on_state: Callable[[str], None] | None = None):
    from fer_audio.sound.audio import open_output

    out = options.outputs
    try:
        return open_output(out.audio_out, out.no_audio, out.audio_device, on_state)
    except AudioDeviceError as exc:
        raise AudioDeviceError(
            f"{exc}; use --audio-out FILE.wav to write the sound to a file, or --no-audio"
        ) from exc


def _raise_with_the_source(options: LiveOptions, sound: AudioDeviceError) -> NoReturn:
    """No sound device: where the source cannot be opened either, both are said, one line each,
    the source first (the order of the README's set-up); else the sound alone."""
    try:
        FrameSource(options.source).close()
    except SourceError as source:
        raise FerAudioError(f"{source}\n{sound}") from sound
    raise sound


class LiveSession:
    """A live session, from the source to the sound: made by create_from_options(), run by
    run(), ended by finish() (the stop cue, the summary) and closed by close() or `with`, which
    closes everything it opened (as MediaPipe's tasks do). Its own state cues (camera lost and
    back, sound back) come from the resources it opened."""

    def __init__(self, options, say: Say = quiet, tell: Say = quiet, warn: Say = quiet) -> None:
        # the model, the voice, the sound pack and the sound device first: a mistake in any of them
        # is told before the camera turns on
        options = options.validate()
        self.options, self.say, self.tell, self.warn = options, say, tell, warn
        self._ready = False  # the state handlers act once everything is open
        self._t = 0.0  # source time of the latest frame
        self.processor = FrameProcessor.from_options(options, warn)
        self.cuer = make_cuer(options, make_speaker(options, warn))
        self._open: dict[str, Callable[[bool], None]] = {}  # resource -> its close(abort), in order
        if self.cuer.speaker is not None:
            self._open["speaker"] = lambda _abort: self.cuer.speaker.close()
        try:
            self.output = make_output(options, self._on_sound_state)
        except AudioDeviceError as exc:
            self.close(abort=True)
            _raise_with_the_source(options, exc)
        except BaseException:  # Ctrl-C while it opened
            self.close(abort=True)
            raise
        try:  # from here a failure or Ctrl-C leaves nothing open and no partial file
            self._open["output"] = lambda abort: self.output.abort() if abort else self.output.close()
            self.source = FrameSource(options.source, on_state=self._on_source_state)
            self._open["source"] = lambda _abort: self.source.close()
            out = options.outputs
            self.viewer = None  # apps.viewer.Viewer where --show or --record asked for one
            if out.record or out.show:
                from fer_audio.apps.viewer import Viewer

                self.viewer = Viewer(out.record, out.show, self.source.fps, tell, warn)
                self._open["viewer"] = lambda _abort: self.viewer.close()
            self.on_frame = self.viewer.frame(self.processor.tracker) if self.viewer else None
            self.log = EventLog(out.events_log, session_record(options) if out.events_log else None)
            self._open["log"] = lambda _abort: self.log.close()
            self._own: list[tuple[float, float]] = []  # session times the tool's own cues play
            self.gate = PauseGate(options.pauses) if options.pauses.on else None
            self.listener = None  # fer_audio.sound.listening's, where cues wait for a pause
            if self.gate is not None:
                from fer_audio.sound.listening import open_listener

                self.listener = open_listener(
                    options.pauses,
                    options.source.source,
                    origin=lambda: self.source.started,
                    own_sound=self._own_sound,
                    on_state=self._on_microphone_state,
                )
                self._open["listener"] = lambda _abort: self.listener.close()
        except BaseException:
            self.close(abort=True)
            raise
        self.failure = ""  # why the session stopped early ('' when it did not)
        self._state_lock = threading.Lock()  # the tracker and its smoothers: the frame loop vs keys
        self._error_texts: set[str] = set()
        self._stop = threading.Event()
        self.events = 0
        self.errors = 0
        self.interrupted = False  # stopped by Ctrl-C (SIGINT), not by its source's end or q
        self._started = 0.0
        self._timed: list[tuple[Cue, float]] = []  # (cue queued on a device, its frame's capture time)
        self._ready = True

    @classmethod
    def create_from_options(
        cls, options, say: Say = quiet, tell: Say = quiet, warn: Say = quiet
    ) -> LiveSession:
        """The session `options` (a LiveOptions) describe, with everything it needs open. Raises a
        FerAudioError naming the input that cannot be opened (nothing is left open then)."""
        return cls(options, say, tell, warn)

    def __enter__(self) -> LiveSession:
        return self

    def __exit__(self, exc_type, *_exc) -> None:
        self.close(abort=exc_type is not None)

    def close(self, abort: bool = False) -> None:
        """Close everything the session opened (the last opened first), each once; with abort, no
        partial file is kept."""
        for name in reversed(list(self._open)):
            self._close(name, abort)

    def _close(self, name: str, abort: bool = False) -> None:
        closer = self._open.pop(name, None)
        if closer is not None:
            closer(abort)

    def finish(self, summary: Summary | None) -> list[str]:
        """The end of a session that ran: the stop cue played out, the sound closed, the summary
        told and logged (None: it was interrupted before one). Returns the problems to report (a
        file that could not be written, a run of failing frames)."""
        self._close("source")
        self._close("viewer")
        if self.gate is not None:  # the session ends: what still waits is played now
            for waiting in self.gate.flush():
                self._play(waiting, self._t)
        self._close("listener")
        self.state_cue("stop", "Stopped.")
        self.output.wait(timeout=3.0)
        self._close("output")
        if summary is not None:  # told with --quiet too: it is the closing summary
            self.log.write(summary.record())
            self.tell(summary.line())
            if self.latencies:
                self.tell(f"Median time from frame to sound: {median_ms(self.latencies):.0f} ms.")
        self.close()
        heard = self.listener.error if self.listener is not None else ""
        return [p for p in (self.output.error, self.log.error, heard, self.failure) if p]

    def _on_source_state(self, name: str) -> None:
        if not self._ready:
            return
        if name == "camera_lost":
            self.state_cue("camera_lost", "Camera lost. Retrying.")
        elif name == "camera_back":
            self.state_cue("ready", "Camera back.")

    def _on_sound_state(self, name: str) -> None:
        """The sound device went away or came back: said on stderr at once (a screen reader's own
        speech may still work when our device is gone), and a cue when it plays again."""
        if name == "sound_lost":
            self.warn(
                "sound lost: the audio device stopped playing; retrying every second (the session goes on)"
            )
        elif name == "sound_back" and self._ready:
            self.state_cue("ready", "Sound back.")

    def _on_microphone_state(self, name: str) -> None:
        """The microphone went away (cues stop waiting: they play at once) or came back."""
        if name == "microphone_lost":
            self.warn(
                "microphone lost: cues no longer wait for a pause and play at once; retrying every second"
            )
        elif name == "microphone_back":
            self.say("Microphone back: cues wait for pauses again.")

    def _own_sound(self, t: float) -> bool:
        """Whether the tool's own cue plays at session time t (the microphone is ignored then)."""
        return any(start <= t <= end for start, end in self._own)

    @property
    def latencies(self) -> list[float]:
        """s from each event's frame capture to its cue's first sample in the audio callback, for
        the cues that have started (a device only: a file has no callback)."""
        return [cue.started - captured for cue, captured in self._timed if cue.started is not None]

    @property
    def queue_waits(self) -> list[float]:
        """s of each latency spent queued behind other cues."""
        return [cue.started - cue.submitted for cue, _ in self._timed if cue.started is not None]

    def state_cue(self, name: str, message: str) -> None:
        """Play a state cue (ready, camera_lost, stop) and say its message."""
        self.say(message)
        self.output.play(self.cuer.render_state(name), key=("state", name), at=self._t)

    def emit(self, event: EmotionEvent, captured: float | None = None) -> None:
        if event.kind in REST_KINDS:  # the events log says what the estimate is; no sound
            self.log.write(event_record(event))
            if event.kind == "rest_face_set":
                self.say(f"Face at rest set: face {event.face}.")
            return
        head = event.kind in HEAD_KINDS  # a nod or a glance never replaces the face's emotion cue
        key = (event.face, "head" if head else "face")
        face = -1 if event.kind == "face_lost" else event.face  # "face lost" stays true once it is
        samples = self.cuer.render(event)
        waiting = Waiting(key, face, event.t, (event, samples, captured), len(samples) / SAMPLE_RATE)
        self.events += 1
        if self.gate is not None and (self.gate.options.wait == "all" or self.cuer.speaks):
            replaced = self.gate.submit(waiting)
            if replaced is not None:
                self._log_cue(replaced, dropped="replaced by a newer cue of the same face")
            return
        if self.gate is not None:
            self.gate.played_at_once()
        self._play(waiting, event.t)

    def _play(self, waiting: Waiting, t: float) -> None:
        """Play a cue (due at waiting.due) at session time t, log it and say its text."""
        event, samples, captured = waiting.payload
        sounds_at = t + self.output.starts_in(t)  # after what plays and waits before it
        cue = self.output.play(
            samples, key=waiting.key, at=t, priority=LOW if event.kind in HEAD_KINDS else NORMAL
        )
        if cue is not None:
            if captured is not None and t <= waiting.due:
                self._timed.append((cue, captured))
            if self.listener is not None:  # when it will play, on the session clock
                now = time.perf_counter() - self.source.started
                start = max([now, *(end - OWN_SOUND_TAIL for _s, end in self._own[-1:])])
                self._own = [*self._own[-8:], (start, start + waiting.seconds + OWN_SOUND_TAIL)]
        self._log_cue(waiting, played=t, sounds_at=sounds_at)
        self.say(_event_text(event))

    def _log_cue(
        self, waiting: Waiting, played: float | None = None, dropped: str = "", sounds_at: float | None = None
    ) -> None:
        record = event_record(waiting.payload[0])
        record["due"] = record["t"]
        record["sounds_s"] = round(waiting.seconds, 3)  # how long the cue sounds
        if played is not None:
            record["played"] = round(played, 4)  # when it was queued to play (after any wait)
        if sounds_at is not None:
            record["sounds_at"] = round(sounds_at, 4)  # when it starts to sound
        if dropped:
            record["dropped"] = dropped
        self.log.write(record)

    def _release(self, t: float) -> None:
        """Play the waiting cues whose pause (or max wait) has come by session time t; drop the
        ones whose face has left. The detector runs only while a cue waits."""
        self.listener.advance(t, listening=bool(self.gate.pending))
        present = set(self.processor.tracker.tracks)
        for gone in self.gate.drop_faces_gone(present):
            self._log_cue(gone, dropped="its face left")
        for waiting in self.gate.release(t, self.listener.quiet_for()):
            self._play(waiting, t)

    def say_current(self) -> None:
        """Space: say each heard face's current emotion (called from the key thread)."""
        with self._state_lock:
            current = [
                (tr.id, tr.smoother.announce_current(self._t)) for tr in self.processor.tracker.heard_tracks()
            ]
        if not current:
            self.say("No face.")
            self.output.play(self.cuer.render_state("face_lost"), at=self._t)
            return
        for face, e in current:
            self.output.play(self.cuer.render(e), key=(face, "face"), at=self._t)
            self.say(f"Now: {e.emotion}.")

    def set_rest_face(self) -> None:
        """The listener's key r (or an API caller): the faces heard now are at rest; each takes
        its next second as its face at rest (the next face heard does, where there is none)."""
        tracker = self.processor.tracker
        if tracker.options.rest is None:
            self.say("The face at rest is off (--no-rest-face).")
            return
        with self._state_lock:
            tracker.set_rest_face(self._t)
        self.say("Learning their face at rest.")

    def stop(self) -> None:
        self._stop.set()
        self.source.stop()

    def run(self) -> Summary:
        self._started = time.perf_counter()
        frames = failing = 0
        for frame in self.source:
            if self._stop.is_set():
                break
            self._t = frame.t
            frames += 1
            try:
                with self._state_lock:
                    events = self.processor.process(frame)
                failing = 0
            except Exception as exc:  # one bad frame must never end the session; a run of them does
                self.errors += 1
                failing += 1
                if str(exc) not in self._error_texts:  # each kind of failure once, also with --quiet
                    self._error_texts.add(str(exc))
                    self.warn(f"frame {frame.index} could not be processed: {exc}")
                if failing >= MAX_FAILED_FRAMES:
                    self.failure = (
                        f"stopped: {failing} frames in a row could not be processed (last: {exc}); "
                        "check the --model and the source"
                    )
                    break
                continue
            t_audio = time.perf_counter()
            for event in events:
                self.emit(event, frame.captured)
            if self.gate is not None:
                self._release(frame.t)
            self.processor.times.seconds["audio"] += time.perf_counter() - t_audio
            if self.on_frame is not None:
                self.on_frame(frame, events)
        elapsed = time.perf_counter() - self._started
        mixer = self.output.mixer
        return Summary(
            frames,
            elapsed,
            frames / elapsed if elapsed > 0 else 0.0,
            self.events,
            self.errors,
            mixer.dropped,
            mixer.dropped_text(),
            mixer.underflows,
            self.gate.summary_text() if self.gate is not None else "",
            {**self.gate.record(), "sound_judged_s": round(self.listener.judged_seconds, 2)}
            if self.gate is not None
            else None,
        )


def _event_text(e: EmotionEvent) -> str:
    side = "left" if e.x < 0.4 else "right" if e.x > 0.6 else "centre"
    if e.kind == "emotion":
        return f"{e.emotion}, face {e.face}, {side}, {e.confidence:.0%}."
    return f"{PHRASES.get(e.kind, e.kind.replace('_', ' ')).capitalize()}: face {e.face}, {side}."


def median_ms(values: list[float]) -> float:
    return float(np.median(values) * 1000.0) if values else float("nan")
