"""The options of a whole run, one frozen tree made of the stages' own options.

`LiveOptions` describes a live session from the source to the sound, `NarrateOptions` a
narration of photos. The command line builds one of these from its flags; the Python API takes
them directly. Every default here is the stage's own default, so it is written once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from fer_audio.errors import FerAudioError
from fer_audio.events.track import TrackerOptions
from fer_audio.sound.cues import CueOptions
from fer_audio.sound.speech import SpeechOptions
from fer_audio.sound.waiting import WAIT_MODES, PauseOptions
from fer_audio.vision.recognize import RecognizerOptions
from fer_audio.vision.sources import SourceOptions, is_camera


class OptionsError(FerAudioError, ValueError):
    """Options that contradict each other, or one that names the wrong kind of input."""


def conflict(first: str, second: str, why: str) -> OptionsError:
    return OptionsError(f"{first} and {second} cannot be used together: {why}")


@dataclass(frozen=True)
class OutputOptions:
    """Where a live session's sound, events and video go."""

    audio_out: str | None = None  # WAV file the sound is rendered to instead of played
    no_audio: bool = False  # make no sound at all (text and logs only)
    audio_device: str | None = None  # output device name or index; None: the system default
    events_log: str | None = None  # JSON-lines file each event is appended to
    record: str | None = None  # video file the processed frames are saved to (nothing otherwise)
    show: bool = False  # a preview window with boxes, for a sighted helper


@dataclass(frozen=True)
class LiveOptions:
    """Everything that shapes a live session. The defaults are `fer-audio live`'s."""

    source: SourceOptions = field(default_factory=SourceOptions)
    # head pose (for gestures and gaze) and alignment need the face mesh: both on, as live runs
    recognizer: RecognizerOptions = field(default_factory=lambda: RecognizerOptions(pose=True, align=True))
    tracker: TrackerOptions = field(default_factory=TrackerOptions)  # people, smoother, gestures
    cues: CueOptions = field(default_factory=CueOptions)  # tone, speech or both; volume
    speech: SpeechOptions = field(default_factory=SpeechOptions)  # used where cues.mode speaks
    sound_pack: str | None = None  # folder of the user's own sounds; None: the built-in pack
    outputs: OutputOptions = field(default_factory=OutputOptions)
    pauses: PauseOptions = field(default_factory=PauseOptions)  # cues that wait for a pause in speech

    def validate(self) -> LiveOptions:
        """The rules an API caller and the command line share (as whisper checks its decoding
        options): options that contradict each other raise OptionsError naming both; returns the
        options with what follows from them (the head pose is read where gestures or gaze are
        wanted, and only there)."""
        out, source = self.outputs, self.source.source
        if out.no_audio and out.audio_out:
            why = "one writes the sound to a file, the other makes none; drop one"
            raise conflict("--no-audio", f"--audio-out {out.audio_out}", why)
        if out.no_audio and out.audio_device:
            raise conflict(
                "--no-audio", f"--audio-device {out.audio_device}", "--no-audio plays nothing; drop one"
            )
        if out.audio_out and out.audio_device:
            why = "the sound goes to the file, not a device; drop one"
            raise conflict(f"--audio-out {out.audio_out}", f"--audio-device {out.audio_device}", why)
        if os.path.isdir(source):
            raise OptionsError(
                f"--source {source}: that is a folder; live reads a camera index, a video file or a stream "
                f"URL (for a folder of photos: fer-audio narrate {source})"
            )
        self._validate_pauses()
        heads = self.tracker.gestures
        return replace(self, recognizer=replace(self.recognizer, pose=heads.gestures or heads.gaze))

    def _validate_pauses(self) -> None:
        p, source = self.pauses, self.source.source
        live_source = is_camera(source) or "://" in source  # a camera or a stream: no sound track
        if p.wait is not None and p.wait not in WAIT_MODES:
            raise OptionsError(f"--wait-for-pause {p.wait}: say {' or '.join(WAIT_MODES)}")
        if p.wait is None:
            for flag, given in (("--microphone", p.microphone), ("--listen-to-source", p.listen_to_source)):
                if given:
                    raise OptionsError(f"{flag} is for --wait-for-pause; add --wait-for-pause or drop {flag}")
        if p.listen_to_source and p.microphone:
            why = "the video's sound track stands in for the microphone; drop one"
            raise conflict(f"--microphone {p.microphone}", "--listen-to-source", why)
        if p.listen_to_source and live_source:
            raise OptionsError(
                f"--listen-to-source needs --source VIDEO_FILE (not {source}); a camera's partner is heard "
                "through --microphone"
            )
        if p.on and not p.listen_to_source and not live_source and not self.source.realtime:
            raise OptionsError(
                "--wait-for-pause with --no-realtime: the video runs faster than a microphone hears; "
                "add --listen-to-source to hear the video's own sound, or drop --no-realtime"
            )
        if p.on and not (0.05 <= p.pause <= 5.0 and 0.0 <= p.max_wait <= 60.0):
            raise OptionsError("--pause takes 0.05 to 5 seconds and --max-wait 0 to 60 seconds")


@dataclass(frozen=True)
class NarrateOptions:
    """Everything that shapes a narration of photos. The defaults are `fer-audio narrate`'s."""

    recognizer: RecognizerOptions = field(default_factory=lambda: RecognizerOptions(mirror=True))
    speech: SpeechOptions = field(default_factory=SpeechOptions)
    speak: bool | None = None  # None: speak where a sound device opens and no audio_out is given
    audio_out: str | None = None  # WAV file the spoken narration is rendered to
    audio_device: str | None = None  # output device name or index; None: the system default
    volume: float = 1.0  # of the spoken narration, 0..1
    report: str | None = None  # .csv or .json report of every face
    jobs: int = min(2, os.cpu_count() or 1)  # images worked on at once (results still in order)
    quiet: bool = False  # no progress lines
