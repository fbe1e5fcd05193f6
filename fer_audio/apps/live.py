"""The live tool's wiring: one builder makes a LiveSession from LiveOptions; run_live runs it with
keys and signals; live_events() yields the events of a source without any sound.

No printing: messages go to the ``say``, ``tell`` and ``warn`` callbacks the caller passes.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import NoReturn

from fer_audio.apps.options import LiveOptions
from fer_audio.apps.session import EventLog, FrameProcessor, LiveSession, median_ms, session_record
from fer_audio.errors import FerAudioError
from fer_audio.events.restface import REST_REFERENCE
from fer_audio.events.smoothing import MODEL_CALIBRATION
from fer_audio.events.track import FaceTracker, TrackerOptions
from fer_audio.sound.audio import AudioDeviceError
from fer_audio.sound.cues import Cuer
from fer_audio.types import EmotionEvent, Say, quiet
from fer_audio.vision.classify import Classifier
from fer_audio.vision.recognize import Recognizer
from fer_audio.vision.sources import FrameSource, SourceError


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
        warn(
            f"note: --model {model}: its sidecar carries no calibration, so it is read with the shipped "
            "model's and cues may come later or more often; python -m benchmarks.tune_smoothing --model "
            f"{model} --write and python -m benchmarks.tune_events --model {model} --write fit them"
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


def build_session(
    options: LiveOptions, say: Say = quiet, tell: Say = quiet, warn: Say = quiet
) -> LiveSession:
    """The one place a live session is built: source, recognizer, tracker, cues, sound, log and
    (when asked for) the viewer. Raises a FerAudioError naming the input that cannot be opened."""
    # the model, the voice, the sound pack and the sound device first: a mistake in any of them
    # is told before the camera turns on
    recognizer = Recognizer(options.recognizer)
    tracker = FaceTracker(read_as_its_sidecar_says(options, recognizer.classifier, warn))
    cuer = make_cuer(options, make_speaker(options, warn))
    session_ref: list[LiveSession] = []
    try:
        output = make_output(options, lambda name: _on_sound_state(session_ref, name, warn))
    except AudioDeviceError as exc:
        _raise_with_the_source(options, exc)
    frames = None
    try:  # from here a failure or Ctrl-C leaves nothing open and no partial file
        frames = FrameSource(options.source, on_state=lambda name: _on_source_state(session_ref, name))
        out = options.outputs
        viewer = None
        if out.record or out.show:
            from fer_audio.apps.viewer import Viewer

            viewer = Viewer(out.record, out.show, frames.fps, tell, warn)
        session = LiveSession(
            frames,
            FrameProcessor(recognizer, tracker),
            cuer,
            output,
            EventLog(out.events_log, session_record(options) if out.events_log else None),
            say,
            on_frame=viewer.frame(tracker) if viewer else None,
            warn=warn,
        )
    except BaseException:
        output.abort()
        if frames is not None:
            frames.close()
        raise
    session.viewer = viewer
    session_ref.append(session)
    return session


def _raise_with_the_source(options: LiveOptions, sound: AudioDeviceError) -> NoReturn:
    """No sound device: where the source cannot be opened either, both are said, one line each,
    the source first (the order of the README's set-up); else the sound alone."""
    try:
        FrameSource(options.source).close()
    except SourceError as source:
        raise FerAudioError(f"{source}\n{sound}") from sound
    raise sound


def live_events(options: LiveOptions = LiveOptions()) -> Iterator[EmotionEvent]:
    """The events a live session would announce for `options.source` (a camera index, a video
    file or a stream URL), as they happen, with no sound: emotion, face_found, face_lost, nod,
    shake, looking and looking_away events, each with its source time `t` in seconds."""
    recognizer = Recognizer(options.recognizer)
    processor = FrameProcessor(
        recognizer, FaceTracker(read_as_its_sidecar_says(options, recognizer.classifier))
    )
    with FrameSource(options.source) as frames:
        for frame in frames:
            yield from processor.process(frame)


def run_live(options: LiveOptions, say: Say = quiet, tell: Say = quiet, warn: Say = quiet) -> int:
    """Runs a live session until its source ends, q or Ctrl-C; returns the exit code (0; 130
    after Ctrl-C; 1 when a file could not be written or frames kept failing). Raises a
    FerAudioError where an input cannot be opened."""
    session = build_session(options, say, tell, warn)
    output, frames, log = session.output, session.source, session.log
    try:
        keys = _start_keys(session, output, say, warn)
        previous = _install_sigint(session)
    except BaseException:  # Ctrl-C before our own handler is in place
        output.abort()
        frames.close()
        log.close()
        raise
    interrupted = threading.Event()
    try:
        session.state_cue("ready", "Ready. Listening for faces." + (" Keys: space, r, m, q." if keys else ""))
        summary = session.run()
    except KeyboardInterrupt:
        interrupted.set()
        summary = None
    finally:
        signal.signal(signal.SIGINT, previous)
        if keys is not None:
            keys.stop()
        frames.close()
        if session.viewer is not None:
            session.viewer.close()
    session.state_cue("stop", "Stopped.")
    output.wait(timeout=3.0)
    output.close()
    if summary is not None:  # printed with --quiet too: it is the closing summary
        log.write(summary.record())
        tell(summary.line())
        if session.latencies:
            tell(f"Median time from frame to sound: {median_ms(session.latencies):.0f} ms.")
    log.close()
    if session.cuer.speaker is not None:
        session.cuer.speaker.close()
    problems = [p for p in (getattr(output, "error", ""), log.error, session.failure) if p]
    for problem in problems:
        warn(problem)
    if problems:
        return 1
    return 130 if interrupted.is_set() or session.interrupted else 0


def _on_source_state(session_ref: list[LiveSession], name: str) -> None:
    if not session_ref:
        return
    if name == "camera_lost":
        session_ref[0].state_cue("camera_lost", "Camera lost. Retrying.")
    elif name == "camera_back":
        session_ref[0].state_cue("ready", "Camera back.")


def _on_sound_state(session_ref: list[LiveSession], name: str, warn: Say) -> None:
    """The sound device went away or came back: said on stderr at once (a screen reader's own
    speech may still work when our device is gone), and a cue when it plays again."""
    if name == "sound_lost":
        warn("sound lost: the audio device stopped playing; retrying every second (the session goes on)")
    elif name == "sound_back" and session_ref:
        session_ref[0].state_cue("ready", "Sound back.")


def _install_sigint(session: LiveSession):
    def handler(signum, frame):
        session.interrupted = True
        session.stop()

    return signal.signal(signal.SIGINT, handler)


def _start_keys(session: LiveSession, output, say: Say, warn: Say):
    from fer_audio.apps.keys import KeyReader

    if not KeyReader.available():
        return None

    def on_key(ch: str) -> None:
        if ch == " ":
            session.say_current()
        elif ch.lower() == "r":
            session.set_rest_face()
        elif ch.lower() == "m":
            output.mixer.muted = not output.mixer.muted
            say("Muted." if output.mixer.muted else "Sound on.")
        elif ch.lower() == "q":
            session.stop()

    reader = KeyReader(on_key, on_error=warn)
    reader.start()
    return reader


__all__ = ["FerAudioError", "build_session", "live_events", "run_live"]
