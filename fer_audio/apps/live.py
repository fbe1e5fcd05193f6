"""The live tool's wiring: run_live runs a LiveSession (made by LiveSession.create_from_options)
with keys and signals; live_events() yields the events of a source without any sound.

No printing: messages go to the ``say``, ``tell`` and ``warn`` callbacks the caller passes.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator

from fer_audio.apps.options import LiveOptions
from fer_audio.apps.session import REST_KINDS, FrameProcessor, LiveSession
from fer_audio.errors import FerAudioError, InvalidInput
from fer_audio.types import EmotionEvent, Say, quiet
from fer_audio.vision.sources import FrameSource


def live_events(options: LiveOptions = LiveOptions(), silent: bool = False) -> Iterator[EmotionEvent]:
    """The events a live session would announce for `options.source` (a camera index, a video
    file or a stream URL), as they happen, with no sound: emotion, face_found, face_lost, nod,
    shake, looking and looking_away events, each with its source time `t` in seconds. With
    `silent`, also the rest-face records the events log keeps and a listener never hears
    (rest_face, rest_face_set: the face-at-rest estimate in `values`)."""
    if not isinstance(options, LiveOptions):
        raise InvalidInput(
            f"live_events: options must be a fer_audio.LiveOptions, got {type(options).__name__}"
        )
    return _events(options.validate(), silent)  # checked now, not at the first event


def _events(options: LiveOptions, silent: bool) -> Iterator[EmotionEvent]:
    processor = FrameProcessor.from_options(options)
    with FrameSource(options.source) as frames:
        for frame in frames:
            yield from (e for e in processor.process(frame) if silent or e.kind not in REST_KINDS)


def run_live(options: LiveOptions, say: Say = quiet, tell: Say = quiet, warn: Say = quiet) -> int:
    """Runs a live session until its source ends, q or Ctrl-C; returns the exit code (0; 130
    after Ctrl-C; 1 when a file could not be written or frames kept failing). Raises a
    FerAudioError where an input cannot be opened."""
    with LiveSession.create_from_options(options, say, tell, warn) as session:
        keys = _start_keys(session, say, warn)
        previous = _install_sigint(session)
        interrupted = False
        try:
            session.state_cue(
                "ready", "Ready. Listening for faces." + (" Keys: space, r, m, q." if keys else "")
            )
            summary = session.run()
        except KeyboardInterrupt:
            interrupted, summary = True, None
        finally:
            signal.signal(signal.SIGINT, previous)
            if keys is not None:
                keys.stop()
        problems = session.finish(summary)
    for problem in problems:
        warn(problem)
    if problems:
        return 1
    return 130 if interrupted or session.interrupted else 0


def _install_sigint(session: LiveSession):
    def handler(signum, frame):
        session.interrupted = True
        session.stop()

    return signal.signal(signal.SIGINT, handler)


def _start_keys(session: LiveSession, say: Say, warn: Say):
    from fer_audio.apps.keys import KeyReader

    if not KeyReader.available():
        return None

    def on_key(ch: str) -> None:
        if ch == " ":
            session.say_current()
        elif ch.lower() == "r":
            session.set_rest_face()
        elif ch.lower() == "m":
            mixer = session.output.mixer
            mixer.muted = not mixer.muted
            say("Muted." if mixer.muted else "Sound on.")
        elif ch.lower() == "q":
            session.stop()

    reader = KeyReader(on_key, on_error=warn)
    reader.start()
    return reader


__all__ = ["FerAudioError", "LiveSession", "live_events", "run_live"]
