"""`fer-audio live`."""

from __future__ import annotations

import os
import sys

import click

from fer_audio.apps.options import LiveOptions, OutputOptions
from fer_audio.cli.group import err, fail, main, out
from fer_audio.cli.options import (
    EVENTS,
    VIDEO,
    WAV,
    FloatRange,
    align_option,
    audio_options,
    check_model,
    check_outputs,
    check_sound_pack,
    model_options,
    recognizer_options,
)
from fer_audio.events.gestures import GestureOptions
from fer_audio.events.restface import RestFaceOptions
from fer_audio.events.smoothing import DEFAULT_SENSITIVITY, SENSITIVITY
from fer_audio.events.smoothing import sensitivity as smoother_preset
from fer_audio.events.track import PEOPLE_MODES, TrackerOptions
from fer_audio.native import send_native_stderr_to_temp
from fer_audio.sound.cues import CueOptions
from fer_audio.sound.speech import SpeechOptions
from fer_audio.sound.waiting import WAIT_MODES, PauseOptions
from fer_audio.vision.sources import SourceOptions


def _has_display() -> bool:
    """Whether a window can be opened (on Linux: an X11 or Wayland display is set)."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _check_live_options(options: LiveOptions) -> LiveOptions:
    """Every live option that can be checked from the flags alone, before anything is opened:
    the paths here, the rules in LiveOptions.validate() (an API caller gets the same)."""
    out = options.outputs
    check_outputs(
        ("--audio-out", out.audio_out, WAV),
        ("--events-log", out.events_log, EVENTS),
        ("--record", out.record, VIDEO),
    )
    options = options.validate()
    if out.show and not _has_display():
        fail(
            "--show: there is no display here (DISPLAY is not set); leave --show out, "
            "or save the video with --record FILE.mp4"
        )
    check_sound_pack(options.sound_pack)
    check_model(options.recognizer.classifier.model)
    return options


@main.command()
@click.option(
    "--source",
    metavar="CAMERA|VIDEO|URL",
    default=SourceOptions.source,
    show_default=True,
    help="Camera index, video file or stream URL.",
)
@click.option(
    "--realtime/--no-realtime",
    default=SourceOptions.realtime,
    show_default=True,
    help="Pace video files at their frame rate, or process them as fast as possible.",
)
@click.option(
    "--max-seconds",
    metavar="SECONDS",
    type=FloatRange(min=0, min_open=True),
    default=None,
    help="Stop after this many seconds.",
)
@click.option(
    "--sensitivity",
    type=click.Choice(tuple(SENSITIVITY)),
    default=DEFAULT_SENSITIVITY,
    show_default=True,
    help="How readily a change of expression is announced.",
)
@click.option(
    "--people",
    type=click.Choice(PEOPLE_MODES),
    default=TrackerOptions.people,
    show_default=True,
    help="Follow the main person only, or everyone in view.",
)
@click.option("--neutral-cue", is_flag=True, help="Also announce returns to neutral.")
@click.option(
    "--rest-face/--no-rest-face",
    default=TrackerOptions().rest is not None,
    show_default=True,
    help="Read each face against that person's own face at rest, learned as you talk (key r: at rest now).",
)
@click.option(
    "--gestures/--no-gestures",
    default=GestureOptions.gestures,
    show_default=True,
    help="Announce nods and head shakes.",
)
@click.option(
    "--gaze/--no-gaze",
    default=GestureOptions.gaze,
    show_default=True,
    help="Announce when the person turns to face the camera, or away.",
)
@align_option(default=LiveOptions().recognizer.align)
@click.option(
    "--events-log",
    metavar="FILE.jsonl",
    type=str,
    default=None,
    help="Append each event as a JSON line to this file; each session opens with a session record.",
)
@click.option(
    "--record",
    metavar="FILE.mp4",
    type=str,
    default=None,
    help="Save the processed video to this file (nothing is saved otherwise).",
)
@click.option("--show", is_flag=True, help="Open a preview window with boxes, for a sighted helper.")
@click.option(
    "--wait-for-pause",
    type=click.Choice(WAIT_MODES),
    is_flag=False,
    flag_value="all",
    default=None,
    help="Hold cues while the person speaks; play them in the next pause (speech: hold spoken words only).",
)
@click.option(
    "--pause",
    metavar="SECONDS",
    type=FloatRange(0.05, 5.0),
    default=PauseOptions.pause,
    show_default=True,
    help="Quiet that counts as a pause, with --wait-for-pause.",
)
@click.option(
    "--max-wait",
    metavar="SECONDS",
    type=FloatRange(0.0, 60.0),
    default=PauseOptions.max_wait,
    show_default=True,
    help="The longest a cue waits, with --wait-for-pause.",
)
@click.option(
    "--microphone",
    metavar="NAME|INDEX",
    default=None,
    help="Microphone that hears the person, with --wait-for-pause (default: the system's; see devices).",
)
@click.option(
    "--listen-to-source",
    is_flag=True,
    help="With --wait-for-pause and --source VIDEO: the video's own sound stands in for the microphone.",
)
@click.option("--quiet", is_flag=True, help="Print only errors and the closing summary.")
@model_options
@audio_options
def live(  # noqa: PLR0913 (one parameter per option: click's way)
    source,
    realtime,
    max_seconds,
    sensitivity,
    people,
    neutral_cue,
    rest_face,
    gestures,
    gaze,
    align,
    events_log,
    record,
    show,
    wait_for_pause,
    pause,
    max_wait,
    microphone,
    listen_to_source,
    quiet,
    model,
    detector,
    min_face,
    cue,
    sound_pack,
    audio_out,
    no_audio,
    audio_device,
    voice,
    rate,
    volume,
):
    """Hear the expressions of the person in front of the camera.

    Keys (when run in a terminal): space says the current emotion, r says the face is at rest
    now, m mutes or unmutes, q quits.

    \b
    Example: fer-audio live --cue both --sensitivity low
    """
    options = LiveOptions(
        source=SourceOptions(source, realtime, max_seconds),
        recognizer=recognizer_options(model, detector, min_face, align=align),
        tracker=TrackerOptions(
            people=people,
            smoother=smoother_preset(sensitivity, neutral_cue=neutral_cue),
            rest=RestFaceOptions() if rest_face else None,
            gestures=GestureOptions(gestures=gestures, gaze=gaze),
        ),
        cues=CueOptions(mode=cue, volume=volume),
        speech=SpeechOptions(voice=voice, rate=rate),
        sound_pack=sound_pack,
        outputs=OutputOptions(audio_out, no_audio, audio_device, events_log, record, show),
        pauses=PauseOptions(wait_for_pause, pause, max_wait, microphone, listen_to_source),
    )
    options = _check_live_options(options)
    from fer_audio.apps.live import run_live

    say = (lambda _m: None) if quiet else out
    # the sound system's own lines (PortAudio prints three when a device goes away) go to a
    # temporary file, removed at the end: the session says what happened in its own words
    microphone = wait_for_pause is not None and not listen_to_source
    native_log = send_native_stderr_to_temp("live") if microphone or not (no_audio or audio_out) else None
    try:
        code = run_live(options, say=say, tell=out, warn=lambda m: err(f"fer-audio: {m}"))
    finally:
        if native_log is not None and os.path.exists(native_log):
            os.remove(native_log)
    sys.exit(code)
