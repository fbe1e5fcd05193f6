"""Options and checks shared by the commands: click decorators, output-path checks, and the
factories that turn flags into the recognizer, speaker, cuer and audio output."""

from __future__ import annotations

import os

import click

from fer_audio.cli.group import err, fail
from fer_audio.sound.cues import CUE_MODES, CueOptions
from fer_audio.sound.speech import SpeechOptions
from fer_audio.vision.classify import ClassifierOptions
from fer_audio.vision.detect import DETECTORS, DetectorOptions
from fer_audio.vision.recognize import RecognizerOptions


def _in_words(r: click.types._NumberRangeBase) -> str:
    """A range as --help says it to a listener: 'from 12 to 4096', 'at least 1', 'more than 0'."""
    low = None if r.min is None else (f"more than {r.min}" if r.min_open else f"at least {r.min}")
    high = None if r.max is None else (f"less than {r.max}" if r.max_open else f"at most {r.max}")
    if low and high and not (r.min_open or r.max_open):
        return f"from {r.min} to {r.max}"
    return ", ".join(part for part in (low, high) if part)


class _InWords:
    """A number range that says itself in words, in --help and when a value is out of it
    ("must be more than 0, not -3.0"; click says "-3.0 is not in the range x>0")."""

    def _describe_range(self) -> str:
        return _in_words(self)

    def convert(self, value, param, ctx):
        try:
            number = click.types._NumberParamTypeBase.convert(self, value, param, ctx)
        except click.BadParameter:
            kind = "a whole number" if self._number_class is int else "a number"
            self.fail(f"must be {kind} ({_in_words(self)}), not {value!r}", param, ctx)
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            self.fail(f"must be {_in_words(self)}, not {number}", param, ctx)


class IntRange(_InWords, click.IntRange):
    """click's IntRange, its range in words (click writes 12<=x<=4096)."""


class FloatRange(_InWords, click.FloatRange):
    """click's FloatRange, its range in words (click writes x>0)."""


# names an output file may have, per kind
WAV = (".wav",)
REPORT = (".csv", ".json")
JSON = (".json",)
EVENTS = (".jsonl", ".json", ".log", ".txt")
VIDEO = (".mp4", ".avi")


def check_outputs(*checks: tuple[str, str | None, tuple[str, ...]]) -> None:
    """Every (option, value, suffixes) output path, before any work: one line and exit 2 if bad."""
    from fer_audio.outputs import OutputPathError, check_output

    for option, value, suffixes in checks:
        if value is not None:
            try:
                check_output(option, value, suffixes)
            except OutputPathError as exc:
                fail(str(exc))


def conflict(first: str, second: str, why: str) -> None:
    """One line in LiveOptions.validate()'s words (apps.options.conflict), and exit 2."""
    from fer_audio.apps.options import conflict as options_conflict

    fail(str(options_conflict(first, second, why)))


def check_audio_target(audio_out: str | None, audio_device: str | None, why: str) -> None:
    """--audio-out and --audio-device name two places for one sound: one line if both are given."""
    if audio_out and audio_device:
        conflict(f"--audio-out {audio_out}", f"--audio-device {audio_device}", why)


def check_sound_pack(sound_pack: str | None) -> None:
    if sound_pack is None:
        return
    if not os.path.exists(sound_pack):
        fail(
            f"--sound-pack {sound_pack}: no such folder; give a sound pack folder (see sounds/README.md) "
            "or leave the option out for the built-in sounds"
        )
    if not os.path.isdir(sound_pack):
        fail(f"--sound-pack {sound_pack}: that is a file; give the folder that holds manifest.json")


def check_model(model: str | None) -> None:
    if model is not None and not os.path.isfile(model):
        fail(f"--model {model}: no such file; give a .tflite model, or leave the option out")


def speech_options(f):
    """--audio-device, --voice, --rate, --volume: shared by live and narrate."""
    f = click.option(
        "--audio-device",
        metavar="NAME|INDEX",
        default=None,
        help="Output device name or index (see 'fer-audio devices').",
    )(f)
    f = click.option(
        "--voice", metavar="VOICE", default=None, help="Speech voice or language, e.g. 'en' or 'en-us'."
    )(f)
    f = click.option(
        "--rate",
        metavar="WORDS",
        type=IntRange(80, 450),
        default=SpeechOptions.rate,
        show_default=True,
        help="Speech rate, words per minute.",
    )(f)
    f = click.option(
        "--volume",
        metavar="LEVEL",
        type=FloatRange(0.0, 1.0),
        default=CueOptions.volume,
        show_default=True,
        help="Master volume 0..1.",
    )(f)
    return f


def audio_options(f):
    f = click.option(
        "--cue",
        type=click.Choice(CUE_MODES),
        default=CueOptions.mode,
        show_default=True,
        help="Earcon, spoken word, or both for each emotion.",
    )(f)
    f = click.option(
        "--sound-pack",
        metavar="FOLDER",
        type=str,
        default=None,
        help="Folder of your own sounds (see sounds/README.md).",
    )(f)
    f = click.option(
        "--audio-out",
        metavar="FILE.wav",
        type=str,
        default=None,
        help="Render the audio to this WAV file instead of playing it.",
    )(f)
    f = click.option("--no-audio", is_flag=True, help="Play nothing (text and logs only).")(f)
    return speech_options(f)


def make_speaker(voice: str | None, rate: int, needed: bool, fallback: str | None = None):
    """A Speaker; None where speech is not needed. An unknown --voice is a usage error. Where no
    TTS engine works: None with one warning that names `fallback`, or, without one, an error."""
    if not needed:
        return None
    from fer_audio.sound.speech import SpeechOptions, open_speaker

    return open_speaker(SpeechOptions(voice=voice, rate=rate), fallback, lambda m: err(f"fer-audio: {m}"))


def make_cuer(cue: str, sound_pack: str | None, speaker, volume: float):
    from fer_audio.sound.cues import CueOptions, Cuer
    from fer_audio.sound.soundpack import SoundPackError, load_pack

    try:
        pack = load_pack(sound_pack)
    except SoundPackError as exc:
        fail(str(exc))
    mode = cue if speaker is not None else "tone"
    return Cuer(pack, speaker, CueOptions(mode=mode, volume=volume))


def open_output(audio_out: str | None, no_audio: bool, device: str | None, hint: str):
    """The audio output; where the sound device cannot be opened, one line ending in `hint`."""
    from fer_audio.sound.audio import AudioDeviceError, open_output

    try:
        return open_output(audio_out, no_audio, device)
    except AudioDeviceError as exc:
        fail(f"{exc}; {hint}")


def recognizer_options(
    model: str | None,
    detector: str,
    min_face: int,
    pose: bool = False,
    align: bool = False,
    mirror: bool = False,
) -> RecognizerOptions:
    return RecognizerOptions(
        detector=DetectorOptions(backend=detector, min_face=min_face),
        classifier=ClassifierOptions(model=model),
        mirror=mirror,
        pose=pose,
        align=align,
    )


def make_recognizer(model: str | None, detector: str, min_face: int, pose: bool = False, align: bool = False):
    from fer_audio.vision.recognize import Recognizer

    return Recognizer(recognizer_options(model, detector, min_face, pose, align))


def model_options(f):
    f = click.option(
        "--model",
        metavar="FILE.tflite",
        type=str,
        default=None,
        help="A .tflite expression model (default: the shipped one).",
    )(f)
    f = click.option(
        "--detector",
        type=click.Choice(tuple(DETECTORS)),
        default=DetectorOptions.backend,
        show_default=True,
        help="Face detector backend.",
    )(f)
    f = click.option(
        "--min-face",
        metavar="PIXELS",
        type=IntRange(12, 4096),
        default=DetectorOptions.min_face,
        show_default=True,
        help="Smallest face side to look for, pixels.",
    )(f)
    return f


def align_option(default: bool):
    return click.option(
        "--align/--no-align",
        default=default,
        show_default=True,
        help=f"Turn a tilted face upright (eyes more than {RecognizerOptions.align_min_roll:g} degrees "
        "from level, by the face mesh) before reading its expression.",
    )


def check_data_inputs(data: str, votes: str | None) -> None:
    """--data and --votes, by their names, kinds and the votes' header: nothing is loaded."""
    from fer_audio.data.crowd import check_vote_file
    from fer_audio.data.datasets import DatasetError, check_data_path

    for option, value, check in (("--data", data, check_data_path), ("--votes", votes, check_vote_file)):
        try:
            if value:
                check(value)
        except DatasetError as exc:
            fail(f"{option} {exc}")
