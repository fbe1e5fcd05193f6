"""The fer-audio command line. Thin: heavy imports happen inside the commands, so --help is instant.

Exit codes: 0 success; 1 nothing could be processed; 2 usage error or an input that cannot be
opened (no camera, no audio device, bad sound pack); 130 interrupted.
"""

from __future__ import annotations

import os
import sys

import click

SENSITIVITIES = ("low", "medium", "high")
CUE_MODES = ("tone", "speech", "both")


def _err(message: str) -> None:
    click.echo(message, err=True)


def _fail(message: str, code: int = 2) -> None:
    _err(f"fer-audio: {message}")
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fer-audio")
def main() -> None:
    """Hear the facial expressions of the person you are talking to.

    A camera sees the other person; each change of expression plays a short sound or a
    spoken word in your headphones. Everything runs offline on this computer.
    """


# ------------------------------------------------------------------------------ shared options


def speech_options(f):
    """--audio-device, --voice, --rate, --volume: shared by live and narrate."""
    f = click.option(
        "--audio-device", default=None, help="Output device name or index (see 'fer-audio devices')."
    )(f)
    f = click.option("--voice", default=None, help="Speech voice or language, e.g. 'en' or 'en-us'.")(f)
    f = click.option(
        "--rate",
        type=click.IntRange(80, 450),
        default=190,
        show_default=True,
        help="Speech rate, words per minute.",
    )(f)
    f = click.option(
        "--volume",
        type=click.FloatRange(0.0, 1.0),
        default=1.0,
        show_default=True,
        help="Master volume 0..1.",
    )(f)
    return f


def audio_options(f):
    f = click.option(
        "--cue",
        type=click.Choice(CUE_MODES),
        default="tone",
        show_default=True,
        help="Earcon, spoken word, or both for each emotion.",
    )(f)
    f = click.option(
        "--sound-pack",
        type=click.Path(file_okay=False),
        default=None,
        help="Folder of your own sounds (see sounds/README.md).",
    )(f)
    f = click.option(
        "--audio-out",
        type=click.Path(dir_okay=False, writable=True),
        default=None,
        help="Render the audio to this WAV file instead of playing it.",
    )(f)
    f = click.option("--no-audio", is_flag=True, help="Play nothing (text and logs only).")(f)
    return speech_options(f)


def _make_speaker(voice: str | None, rate: int, volume: float, needed: bool):
    """A Speaker, or None (with one warning) where no TTS engine works."""
    if not needed:
        return None
    from fer_audio.speech import Speaker, SpeechOptions, SpeechUnavailable

    try:
        return Speaker(SpeechOptions(voice=voice, rate=rate, volume=volume))
    except SpeechUnavailable as exc:
        _err(f"fer-audio: warning: {exc}; using earcons only")
        return None


def _make_cuer(cue: str, sound_pack: str | None, speaker, volume: float):
    from fer_audio.cues import CueOptions, Cuer
    from fer_audio.soundpack import SoundPackError, load_pack

    try:
        pack = load_pack(sound_pack)
    except SoundPackError as exc:
        _fail(str(exc))
    mode = cue if speaker is not None else "tone"
    return Cuer(pack, speaker, CueOptions(mode=mode, volume=volume))


def _open_output(audio_out: str | None, no_audio: bool, device: str | None):
    from fer_audio.audio import AudioDeviceError, open_output

    try:
        return open_output(audio_out, no_audio, device)
    except AudioDeviceError as exc:
        _fail(str(exc))


def _recognizer(model: str | None, detector: str, min_face: int):
    from fer_audio.classify import ClassifierOptions, ModelError
    from fer_audio.detect import DETECTORS, DetectorOptions
    from fer_audio.recognize import Recognizer, RecognizerOptions

    if detector not in DETECTORS:
        _fail(f"unknown --detector {detector!r}; choose from {', '.join(DETECTORS)}")
    options = RecognizerOptions(
        detector=DetectorOptions(backend=detector, min_face=min_face),
        classifier=ClassifierOptions(model=model),
    )
    try:
        return Recognizer(options)
    except ModelError as exc:
        _fail(str(exc))


def model_options(f):
    f = click.option(
        "--model",
        type=click.Path(dir_okay=False),
        default=None,
        help="A .tflite expression model (default: the shipped one).",
    )(f)
    f = click.option("--detector", default="haar", show_default=True, help="Face detector backend.")(f)
    f = click.option(
        "--min-face",
        type=click.IntRange(12, 4096),
        default=40,
        show_default=True,
        help="Smallest face side to look for, pixels.",
    )(f)
    return f


# ------------------------------------------------------------------------------------- live


@main.command()
@click.option("--source", default="0", show_default=True, help="Camera index, video file or stream URL.")
@click.option(
    "--realtime/--no-realtime",
    default=True,
    show_default=True,
    help="Pace video files at their frame rate, or process them as fast as possible.",
)
@click.option(
    "--max-seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Stop after this many seconds.",
)
@click.option(
    "--sensitivity",
    type=click.Choice(SENSITIVITIES),
    default="medium",
    show_default=True,
    help="How readily a change of expression is announced.",
)
@click.option(
    "--people",
    type=click.Choice(("one", "all")),
    default="one",
    show_default=True,
    help="Follow the main person only, or everyone in view.",
)
@click.option("--neutral-cue", is_flag=True, help="Also announce returns to neutral.")
@click.option(
    "--events-log",
    type=click.Path(dir_okay=False),
    default=None,
    help="Append each event as a JSON line to this file.",
)
@click.option(
    "--record",
    type=click.Path(dir_okay=False),
    default=None,
    help="Save the processed video to this file (nothing is saved otherwise).",
)
@click.option("--show", is_flag=True, help="Open a preview window with boxes, for a sighted helper.")
@click.option("--quiet", is_flag=True, help="Print only errors and the closing summary.")
@model_options
@audio_options
def live(
    source,
    realtime,
    max_seconds,
    sensitivity,
    people,
    neutral_cue,
    events_log,
    record,
    show,
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

    Keys (when run in a terminal): space says the current emotion, m mutes or unmutes, q quits.

    Example: fer-audio live --cue both --sensitivity low
    """
    from fer_audio.live import run_live

    say = (lambda _m: None) if quiet else click.echo
    code = run_live(
        source=source,
        realtime=realtime,
        max_seconds=max_seconds,
        sensitivity=sensitivity,
        people=people,
        neutral_cue=neutral_cue,
        events_log=events_log,
        record=record,
        show=show,
        say=say,
        recognizer_factory=lambda: _recognizer(model, detector, min_face),
        speaker_factory=lambda: _make_speaker(voice, rate, volume, cue != "tone"),
        cuer_factory=lambda speaker: _make_cuer(cue, sound_pack, speaker, volume),
        output_factory=lambda: _open_output(audio_out, no_audio, audio_device),
        fail=_fail,
    )
    sys.exit(code)


# ----------------------------------------------------------------------------------- narrate


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--speak/--no-speak",
    default=None,
    help="Speak each sentence (default: when an audio device exists and no --audio-out).",
)
@click.option("--report", type=click.Path(dir_okay=False), default=None, help="Write a .csv or .json report.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=min(2, os.cpu_count() or 1),
    show_default=True,
    help="Images worked on at once (results still come in order).",
)
@model_options
@click.option(
    "--audio-out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Render the whole narration to this WAV file instead of speaking it.",
)
@speech_options
def narrate(
    paths, speak, report, quiet, jobs, model, detector, min_face, audio_out, audio_device, voice, rate, volume
):
    """Say the emotions of the faces in photos, left to right.

    PATHS are image files or folders (searched recursively, in natural order).

    Example: fer-audio narrate ~/Pictures/party --report party.csv
    """
    from fer_audio.narrate_cli import run_narrate

    if report and not report.lower().endswith((".csv", ".json")):
        _fail(f"--report {report}: the name must end in .csv or .json")
    if audio_out and not audio_out.lower().endswith(".wav"):
        _fail(f"--audio-out {audio_out}: the name must end in .wav")
    sys.exit(
        run_narrate(
            paths,
            speak=speak,
            report=report,
            quiet=quiet,
            jobs=jobs,
            audio_out=audio_out,
            recognizer_factory=lambda: _recognizer(model, detector, min_face),
            speaker_factory=lambda: _make_speaker(voice, rate, volume, True),
            device=audio_device,
            fail=_fail,
        )
    )


# ---------------------------------------------------------------------------------- evaluate


@main.command()
@click.option(
    "--data",
    required=True,
    type=click.Path(exists=True),
    help="Labelled face crops: class folders, a .tar.gz of them, or the challenge CSV.",
)
@click.option(
    "--model",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="A .tflite model (default: the shipped one).",
)
@click.option(
    "--usage",
    default=None,
    help="Which split: PublicTest, PrivateTest or Training (default: PublicTest if present, else all).",
)
@click.option(
    "--votes",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="FER+ crowd votes (ferplus-votes.csv, or fer2013new.csv with the challenge CSV): also "
    "report agreement with the crowd's majority.",
)
@click.option(
    "--json", "json_out", type=click.Path(dir_okay=False), default=None, help="Write the scores as JSON."
)
def evaluate(data, model, usage, votes, json_out):
    """Score an expression model on labelled faces, through the run-time path.

    With --votes, agreement with the crowd's majority (faces with a tie or an unknown, not-a-face
    or contempt majority are left out and counted) is reported next to accuracy on the
    dataset's own labels.

    Example: fer-audio evaluate --data fer2013-images.tar.gz --votes ferplus-votes.csv --json s.json
    """
    from fer_audio.evaluate_cli import run_evaluate

    sys.exit(run_evaluate(data, model, usage, json_out, fail=_fail, votes=votes))


# ------------------------------------------------------------------------------------- train


@main.command()
@click.option(
    "--data",
    required=True,
    type=click.Path(exists=True),
    help="FER-2013: the challenge CSV (.csv/.csv.gz), the image-folder tree, or a .tar.gz of it.",
)
@click.option(
    "--votes",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="FER+ crowd votes (ferplus-votes.csv, or fer2013new.csv with the challenge CSV): train on "
    "each face's vote distribution instead of the dataset's own labels.",
)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Run folder to write.")
@click.option("--epochs", type=click.IntRange(1), default=None, help="Length of the schedule (default 40).")
@click.option("--batch-size", type=click.IntRange(1), default=None, help="Images per step (default 64).")
@click.option("--learning-rate", type=float, default=None, help="Peak learning rate (default 0.001).")
@click.option(
    "--limit", type=click.IntRange(0), default=None, help="Use at most N training images (smoke runs)."
)
@click.option("--seed", type=int, default=None, help="Random seed (default 1234).")
@click.option(
    "--members",
    type=click.IntRange(1, 16),
    default=1,
    show_default=True,
    help="Train N models (seeds SEED..SEED+N-1, one validation split) and export their average.",
)
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last finished epoch.")
@click.option("--no-export", is_flag=True, help="Skip TFLite export and scoring at the end.")
def train(data, votes, out, epochs, batch_size, learning_rate, limit, seed, members, resume, no_export):
    """Train the expression model (needs the [train] extra: TensorFlow).

    Example: fer-audio train --data fer2013-images.tar.gz --votes ferplus-votes.csv --out runs/v1
    """
    try:
        from training.cli import run_train
    except ImportError as exc:
        _fail(f"training needs TensorFlow ({exc}); install it with: pip install 'fer-audio[train]'")
    overrides = {
        k: v
        for k, v in dict(
            votes=votes,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            limit=limit,
            seed=seed,
        ).items()
        if v is not None
    }
    sys.exit(
        run_train(data, out, overrides, members=members, resume=resume, export=not no_export, fail=_fail)
    )


# ------------------------------------------------------------------------------------ sounds


@main.group()
def sounds() -> None:
    """Learn, check and build sound packs."""


@sounds.command("preview")
@click.option(
    "--sound-pack", type=click.Path(file_okay=False), default=None, help="Pack folder (default: built in)."
)
@click.option(
    "--audio-out", type=click.Path(dir_okay=False), default=None, help="Render to a WAV file instead."
)
@click.option("--no-speak", is_flag=True, help="Play the cues without their spoken names.")
@click.option("--audio-device", default=None, help="Output device name or index.")
def sounds_preview(sound_pack, audio_out, no_speak, audio_device):
    """Play each cue followed by its spoken name, to learn them.

    Example: fer-audio sounds preview --audio-out cues.wav
    """
    from fer_audio.sounds_cli import run_preview

    speaker = _make_speaker(None, 170, 1.0, not no_speak)
    cuer = _make_cuer("tone", sound_pack, speaker, 1.0)
    run_preview(cuer, _open_output(audio_out, False, audio_device), say=click.echo)


@sounds.command("check")
@click.argument("folder", type=click.Path(file_okay=False))
def sounds_check(folder):
    """Validate a sound pack folder.

    Example: fer-audio sounds check ~/my-sounds
    """
    from fer_audio.soundpack import SoundPackError, load_pack

    try:
        pack = load_pack(folder)
    except SoundPackError as exc:
        _fail(str(exc))
    click.echo(f"{folder}: sound pack {pack.name!r} is valid ({len(pack.cues)} cues).")


@sounds.command("build")
@click.argument("folder", type=click.Path(file_okay=False))
def sounds_build(folder):
    """Write the built-in default pack to FOLDER, as a starting point for your own.

    Example: fer-audio sounds build ~/my-sounds
    """
    from fer_audio.soundpack import SoundPack, write_pack

    write_pack(
        SoundPack.default(), folder, "fer-audio's built-in earcons, synthesised by fer_audio/earcons.py"
    )
    click.echo(f"Wrote the default sound pack to {folder}.")


@main.command()
def devices():
    """List audio output devices (for --audio-device).

    Example: fer-audio devices
    """
    import sounddevice as sd

    try:
        found = sd.query_devices()
        default_out = sd.default.device[1]
    except sd.PortAudioError as exc:
        _fail(f"cannot list audio devices ({exc})")
    outputs = [(i, d) for i, d in enumerate(found) if d["max_output_channels"] > 0]
    if not outputs:
        _fail("no audio output device found; use --audio-out FILE.wav to render sound to a file", 1)
    for i, d in outputs:
        mark = " (default)" if i == default_out else ""
        click.echo(f"{i}: {d['name']}, {d['max_output_channels']} channels{mark}")
