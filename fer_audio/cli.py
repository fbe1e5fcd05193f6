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
# names an output file may have, per kind
WAV = (".wav",)
REPORT = (".csv", ".json")
JSON = (".json",)
EVENTS = (".jsonl", ".json", ".log", ".txt")
VIDEO = (".mp4", ".avi")


def _err(message: str) -> None:
    click.echo(message, err=True)


def _fail(message: str, code: int = 2) -> None:
    _err(f"fer-audio: {message}")
    sys.exit(code)


def _check_outputs(*checks: tuple[str, str | None, tuple[str, ...]]) -> None:
    """Every (option, value, suffixes) output path, before any work: one line and exit 2 if bad."""
    from fer_audio.outputs import OutputPathError, check_output

    for option, value, suffixes in checks:
        if value is not None:
            try:
                check_output(option, value, suffixes)
            except OutputPathError as exc:
                _fail(str(exc))


def _conflict(first: str, second: str, why: str) -> None:
    _fail(f"{first} and {second} cannot be used together: {why}")


def _check_audio_target(audio_out: str | None, audio_device: str | None, why: str) -> None:
    """--audio-out and --audio-device name two places for one sound: one line if both are given."""
    if audio_out and audio_device:
        _conflict(f"--audio-out {audio_out}", f"--audio-device {audio_device}", why)


def _check_sound_pack(sound_pack: str | None) -> None:
    if sound_pack is None:
        return
    if not os.path.exists(sound_pack):
        _fail(
            f"--sound-pack {sound_pack}: no such folder; give a sound pack folder (see sounds/README.md) "
            "or leave the option out for the built-in sounds"
        )
    if not os.path.isdir(sound_pack):
        _fail(f"--sound-pack {sound_pack}: that is a file; give the folder that holds manifest.json")


def _check_model(model: str | None) -> None:
    if model is not None and not os.path.isfile(model):
        _fail(f"--model {model}: no such file; give a .tflite model, or leave the option out")


class OneLineErrors(click.Group):
    """Click's usage errors (a bad value, an unknown option) as one line like every other error,
    instead of its three-line usage block."""

    def main(self, *args, **kwargs):
        kwargs["standalone_mode"] = False
        kwargs.setdefault("prog_name", "fer-audio")
        try:
            code = super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:  # plain `fer-audio`: the help, as asked
            click.echo(exc.format_message())
            sys.exit(0)
        except click.UsageError as exc:
            where = f"; see '{exc.ctx.command_path} --help'" if exc.ctx is not None else ""
            _fail(f"{exc.format_message().rstrip('.')}{where}", exc.exit_code)
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code)
        except click.Abort:
            _fail("stopped", 130)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
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
        type=str,
        default=None,
        help="Folder of your own sounds (see sounds/README.md).",
    )(f)
    f = click.option(
        "--audio-out",
        type=str,
        default=None,
        help="Render the audio to this WAV file instead of playing it.",
    )(f)
    f = click.option("--no-audio", is_flag=True, help="Play nothing (text and logs only).")(f)
    return speech_options(f)


def _make_speaker(voice: str | None, rate: int, volume: float, needed: bool, fallback: str | None = None):
    """A Speaker; None where speech is not needed. An unknown --voice is a usage error. Where no
    TTS engine works: None with one warning that names `fallback`, or, without one, an error."""
    if not needed:
        return None
    from fer_audio.speech import Speaker, SpeechOptions, SpeechUnavailable, VoiceNotFound

    try:
        return Speaker(SpeechOptions(voice=voice, rate=rate, volume=volume))
    except VoiceNotFound as exc:
        _fail(f"--voice {voice}: {exc}")
    except SpeechUnavailable as exc:
        if fallback is None:
            _fail(str(exc))
        _err(f"fer-audio: warning: {exc}; {fallback}")
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


def _open_output(audio_out: str | None, no_audio: bool, device: str | None, hint: str):
    """The audio output; where the sound device cannot be opened, one line ending in `hint`."""
    from fer_audio.audio import AudioDeviceError, open_output

    try:
        return open_output(audio_out, no_audio, device)
    except AudioDeviceError as exc:
        _fail(f"{exc}; {hint}")


def _has_display() -> bool:
    """Whether a window can be opened (on Linux: an X11 or Wayland display is set)."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _check_live_options(
    source, show, no_audio, audio_out, audio_device, events_log, record, sound_pack, model
):
    """Every live option that can be checked before the camera and the model are opened."""
    _check_outputs(
        ("--audio-out", audio_out, WAV), ("--events-log", events_log, EVENTS), ("--record", record, VIDEO)
    )
    if no_audio and audio_out:
        _conflict(
            "--no-audio",
            f"--audio-out {audio_out}",
            "one writes the sound to a file, the other makes none; drop one",
        )
    if no_audio and audio_device:
        _conflict("--no-audio", f"--audio-device {audio_device}", "--no-audio plays nothing; drop one")
    _check_audio_target(audio_out, audio_device, "the sound goes to the file, not a device; drop one")
    if show and not _has_display():
        _fail(
            "--show: there is no display here (DISPLAY is not set); leave --show out, "
            "or save the video with --record FILE.mp4"
        )
    if os.path.isdir(source):
        _fail(
            f"--source {source}: that is a folder; live reads a camera index, a video file or a stream URL "
            f"(for a folder of photos: fer-audio narrate {source})"
        )
    _check_sound_pack(sound_pack)
    _check_model(model)


def _recognizer(model: str | None, detector: str, min_face: int, pose: bool = False, align: bool = False):
    from fer_audio.classify import ClassifierOptions, ModelError
    from fer_audio.detect import DETECTORS, DetectorOptions
    from fer_audio.model_files import ModelFileMissing
    from fer_audio.recognize import Recognizer, RecognizerOptions

    if detector not in DETECTORS:
        _fail(f"unknown --detector {detector!r}; choose from {', '.join(DETECTORS)}")
    options = RecognizerOptions(
        detector=DetectorOptions(backend=detector, min_face=min_face),
        classifier=ClassifierOptions(model=model),
        pose=pose,
        align=align,
    )
    try:
        return Recognizer(options)
    except (ModelError, ModelFileMissing) as exc:
        _fail(str(exc))


def model_options(f):
    f = click.option(
        "--model",
        type=str,
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


def align_option(default: bool):
    return click.option(
        "--align/--no-align",
        default=default,
        show_default=True,
        help="Turn a tilted face upright (eyes more than 15 degrees from level, by the face mesh) "
        "before reading its expression.",
    )


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
    "--gestures/--no-gestures",
    default=True,
    show_default=True,
    help="Announce nods and head shakes.",
)
@click.option(
    "--gaze/--no-gaze",
    default=True,
    show_default=True,
    help="Announce when the person turns to face the camera, or away.",
)
@align_option(default=True)
@click.option(
    "--events-log",
    type=str,
    default=None,
    help="Append each event as a JSON line to this file.",
)
@click.option(
    "--record",
    type=str,
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
    gestures,
    gaze,
    align,
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
    _check_live_options(
        source, show, no_audio, audio_out, audio_device, events_log, record, sound_pack, model
    )
    if model and not quiet:
        _err(
            f"fer-audio: note: --model {model}: the smoother reads it with the shipped model's calibration, "
            "so cues may come later or more often than with the shipped model (training/README.md "
            "says how to fit one)"
        )
    from fer_audio.live import run_live

    say = (lambda _m: None) if quiet else click.echo
    code = run_live(
        source=source,
        realtime=realtime,
        max_seconds=max_seconds,
        sensitivity=sensitivity,
        people=people,
        neutral_cue=neutral_cue,
        gestures=gestures,
        gaze=gaze,
        events_log=events_log,
        record=record,
        show=show,
        say=say,
        tell=click.echo,
        warn=lambda m: _err(f"fer-audio: {m}"),
        recognizer_factory=lambda: _recognizer(model, detector, min_face, pose=gestures or gaze, align=align),
        speaker_factory=lambda: _make_speaker(voice, rate, volume, cue != "tone", "using earcons only"),
        cuer_factory=lambda speaker: _make_cuer(cue, sound_pack, speaker, volume),
        output_factory=lambda: _open_output(
            audio_out,
            no_audio,
            audio_device,
            "use --audio-out FILE.wav to write the sound to a file, or --no-audio",
        ),
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
@click.option("--report", type=str, default=None, help="Write a .csv or .json report.")
@click.option("--quiet", is_flag=True, help="No progress lines.")
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=min(2, os.cpu_count() or 1),
    show_default=True,
    help="Images worked on at once (results still come in order).",
)
@model_options
@align_option(default=False)
@click.option(
    "--audio-out",
    type=str,
    default=None,
    help="Render the whole narration to this WAV file instead of speaking it.",
)
@speech_options
def narrate(
    paths,
    speak,
    report,
    quiet,
    jobs,
    model,
    detector,
    min_face,
    align,
    audio_out,
    audio_device,
    voice,
    rate,
    volume,
):
    """Say the emotions of the faces in photos, left to right.

    PATHS are image files or folders (searched recursively, in natural order).

    Example: fer-audio narrate ~/Pictures/party --report party.csv
    """
    _check_outputs(("--report", report, REPORT), ("--audio-out", audio_out, WAV))
    if audio_out and speak is not None:
        flag = "--speak" if speak else "--no-speak"
        _conflict(
            flag,
            f"--audio-out {audio_out}",
            "--audio-out writes the spoken narration to a file instead; drop one",
        )
    _check_audio_target(audio_out, audio_device, "the narration goes to the file; drop one")
    _check_model(model)
    from fer_audio.narrate_cli import run_narrate

    sys.exit(
        run_narrate(
            paths,
            speak=speak,
            report=report,
            quiet=quiet,
            jobs=jobs,
            audio_out=audio_out,
            recognizer_factory=lambda: _recognizer(model, detector, min_face, align=align),
            speaker_factory=lambda: _make_speaker(
                voice, rate, volume, True, None if (audio_out or speak) else "narrating as text only"
            ),
            device=audio_device,
            fail=_fail,
        )
    )


# ---------------------------------------------------------------------------------- evaluate


@main.command()
@click.option(
    "--data",
    required=True,
    type=str,
    help="Labelled face crops: class folders, a .tar.gz of them, or the challenge CSV.",
)
@click.option(
    "--model",
    type=str,
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
    type=str,
    default=None,
    help="FER+ crowd votes (ferplus-votes.csv, or fer2013new.csv with the challenge CSV): also "
    "report agreement with the crowd's majority.",
)
@click.option("--json", "json_out", type=str, default=None, help="Write the scores as JSON.")
def evaluate(data, model, usage, votes, json_out):
    """Score an expression model on labelled faces, through the run-time path.

    With --votes, agreement with the crowd's majority (faces with a tie or an unknown, not-a-face
    or contempt majority are left out and counted) is reported next to accuracy on the
    dataset's own labels.

    Example: fer-audio evaluate --data fer2013-images.tar.gz --votes ferplus-votes.csv --json s.json
    """
    _check_data_inputs(data, votes)
    _check_model(model)
    from fer_audio.datasets import USAGES

    if usage is not None and usage not in USAGES:
        _fail(f"--usage {usage}: choose from {', '.join(USAGES)}")
    _check_outputs(("--json", json_out, JSON))
    from fer_audio.evaluate_cli import run_evaluate

    sys.exit(run_evaluate(data, model, usage, json_out, fail=_fail, votes=votes))


# ------------------------------------------------------------------------------------- train


@main.command()
@click.option(
    "--data",
    required=True,
    type=str,
    help="FER-2013: the challenge CSV (.csv/.csv.gz), the image-folder tree, or a .tar.gz of it.",
)
@click.option(
    "--votes",
    type=str,
    default=None,
    help="FER+ crowd votes (ferplus-votes.csv, or fer2013new.csv with the challenge CSV): train on "
    "each face's vote distribution instead of the dataset's own labels.",
)
@click.option("--out", required=True, type=str, help="Run folder to write.")
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
@click.option(
    "--widths",
    type=str,
    default=None,
    help="Channels of the network's stages, comma-separated (default 32,64,128,256); the stem "
    "convolution gets the first.",
)
@click.option(
    "--teacher",
    "teachers",
    multiple=True,
    type=str,
    help="Distil from this finished run (its best network, or every member of an ensemble run); "
    "repeat for more. The student learns the teachers' mean on each augmented face.",
)
@click.option(
    "--distill-weight",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="With --teacher: share of the teachers' mean in each target, the rest from the votes or "
    "labels (default 1.0).",
)
@click.option(
    "--teacher-mirror",
    is_flag=True,
    default=None,
    help="With --teacher: each teacher's output is its mean over the face and its mirror image.",
)
@click.option(
    "--init",
    type=str,
    default=None,
    help="Start from this finished run's best network instead of random weights (fine-tuning); "
    "its widths are used.",
)
@click.option(
    "--patience",
    type=click.IntRange(0),
    default=None,
    help="Stop after N epochs without a better validation score; 0: run the whole schedule (default 10).",
)
@click.option(
    "--bfloat16/--float32",
    "bfloat16",
    default=None,
    help="Compute in bfloat16 mixed precision (float32 weights), or in float32. Default: bfloat16 "
    "on a GPU, float32 on a CPU (where bfloat16 pays only on processors with AVX-512 BF16 or AMX).",
)
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last finished epoch.")
@click.option("--no-export", is_flag=True, help="Skip TFLite export and scoring at the end.")
def train(
    data,
    votes,
    out,
    epochs,
    batch_size,
    learning_rate,
    limit,
    seed,
    members,
    widths,
    teachers,
    distill_weight,
    teacher_mirror,
    init,
    patience,
    bfloat16,
    resume,
    no_export,
):
    """Train the expression model (needs the [train] extra: TensorFlow).

    Example: fer-audio train --data fer2013-images.tar.gz --votes ferplus-votes.csv --out runs/v1
    """
    _check_training_inputs(data, votes, out, resume)
    stages = _parse_widths(widths)
    from fer_audio.runs import best_files  # pathlib only: checked before TensorFlow loads

    for teacher in teachers:
        if not best_files(teacher):
            _fail(f"--teacher {teacher}: no best.keras there (nor in member-*/); give a finished run folder")
    if distill_weight is not None and not teachers:
        _fail("--distill-weight needs --teacher RUN: there is nothing to distil from")
    if teacher_mirror and not teachers:
        _fail("--teacher-mirror needs --teacher RUN: there is nothing to distil from")
    if init is not None:
        networks = best_files(init)
        if not networks:
            _fail(f"--init {init}: no best.keras there; give a finished run folder (one network)")
        if len(networks) > 1:
            _fail(
                f"--init {init}: an ensemble of {len(networks)} networks; "
                f"give one member's folder, e.g. {networks[0].parent}"
            )
    import signal

    # Ctrl-C keeps the last finished epoch: make sure it raises KeyboardInterrupt even where the
    # process was started with SIGINT ignored (a background job of a non-interactive shell)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    native_log = _quiet_third_party_logs()
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
            widths=stages,
            teachers=tuple(teachers) or None,
            distill_weight=distill_weight,
            teacher_mirror=teacher_mirror,
            init=init,
            patience=patience,
            bfloat16=bfloat16,
        ).items()
        if v is not None
    }
    code = 1  # stays 1 only if training broke with an unexpected error
    try:
        code = run_train(
            data, out, overrides, members=members, resume=resume, export=not no_export, fail=_fail
        )
    except SystemExit as exc:  # a usage error, already explained in one line
        code = exc.code if isinstance(exc.code, int) else 2
        raise
    finally:
        if code == 1:
            _err(f"fer-audio: TensorFlow's own messages are in {native_log}")
        else:
            os.remove(native_log)
    sys.exit(code)


def _parse_widths(widths: str | None) -> tuple[int, ...] | None:
    if widths is None:
        return None
    try:
        stages = tuple(int(w) for w in widths.split(","))
    except ValueError:
        stages = ()
    if not stages or min(stages) < 1:
        _fail(f"--widths {widths}: give positive channel counts separated by commas, e.g. 32,64,128,256")
    return stages


def _quiet_third_party_logs() -> str:
    """Keep TensorFlow's and absl's log lines off the user's terminal: what native code writes to
    file descriptor 2 goes to a log file (returned), Python's own stderr stays on the terminal,
    and Python-side library warnings and logs below ERROR are dropped. For `train` only."""
    import logging
    import tempfile
    import warnings

    from fer_audio.native import send_native_stderr_to

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore")
    for name in ("tensorflow", "absl", "keras", "jax"):
        logging.getLogger(name).setLevel(logging.ERROR)
    path = os.path.join(tempfile.gettempdir(), f"fer-audio-train-{os.getpid()}.log")
    send_native_stderr_to(path)
    return path


def _check_data_inputs(data: str, votes: str | None) -> None:
    """--data and --votes, by their names, kinds and the votes' header: nothing is loaded."""
    from fer_audio.crowd import check_vote_file
    from fer_audio.datasets import DatasetError, check_data_path

    for option, value, check in (("--data", data, check_data_path), ("--votes", votes, check_vote_file)):
        try:
            if value:
                check(value)
        except DatasetError as exc:
            _fail(f"{option} {exc}")


def _check_training_inputs(data: str, votes: str | None, out: str, resume: bool) -> None:
    """Everything about train's paths that can be told before TensorFlow loads (seconds)."""
    _check_data_inputs(data, votes)
    if os.path.exists(out) and not os.path.isdir(out):
        _fail(f"--out {out}: that is a file; give a folder for the run")
    started = any(os.path.exists(os.path.join(out, p, "config.json")) for p in ("", "member-1"))
    if resume and not started:
        _fail(f"--out {out}: no run to resume there; start without --resume")
    if not resume and os.path.exists(os.path.join(out, "checkpoint.keras")):
        _fail(f"--out {out}: already holds a run; add --resume to continue it, or choose another --out")


# ------------------------------------------------------------------------------------ sounds


@main.group()
def sounds() -> None:
    """Learn, check and build sound packs."""


@sounds.command("preview")
@click.option("--sound-pack", type=str, default=None, help="Pack folder (default: built in).")
@click.option("--audio-out", type=str, default=None, help="Render to a WAV file instead.")
@click.option("--no-speak", is_flag=True, help="Play the cues without their spoken names.")
@click.option("--audio-device", default=None, help="Output device name or index.")
def sounds_preview(sound_pack, audio_out, no_speak, audio_device):
    """Play each cue followed by its spoken name, to learn them.

    Example: fer-audio sounds preview --audio-out cues.wav
    """
    _check_outputs(("--audio-out", audio_out, WAV))
    _check_audio_target(audio_out, audio_device, "the cues go to the file; drop one")
    _check_sound_pack(sound_pack)
    from fer_audio.sounds_cli import run_preview

    speaker = _make_speaker(None, 170, 1.0, not no_speak, "playing the cues without their names")
    cuer = _make_cuer("tone", sound_pack, speaker, 1.0)
    output = _open_output(
        audio_out, False, audio_device, "use --audio-out FILE.wav to write the cues to a file"
    )
    run_preview(cuer, output, say=click.echo)


@sounds.command("check")
@click.argument("folder", type=str)
def sounds_check(folder):
    """Validate a sound pack folder.

    Example: fer-audio sounds check ~/my-sounds
    """
    from fer_audio.soundpack import SoundPackError, load_pack

    if not os.path.isdir(folder):
        why = "that is a file" if os.path.exists(folder) else "no such folder"
        _fail(f"sounds check {folder}: {why}; give the folder that holds the pack's manifest.json")
    try:
        pack = load_pack(folder)
    except SoundPackError as exc:
        _fail(str(exc))
    click.echo(f"{folder}: sound pack {pack.name!r} is valid ({len(pack.cues)} cues).")


@sounds.command("build")
@click.argument("folder", type=click.Path())
@click.option("--force", is_flag=True, help="Overwrite the sounds of a pack already in FOLDER.")
def sounds_build(folder, force):
    """Write the built-in default pack to FOLDER, as a starting point for your own.

    Example: fer-audio sounds build ~/my-sounds
    """
    from fer_audio.soundpack import MANIFEST, SoundPack, write_pack

    if os.path.exists(folder) and not os.path.isdir(folder):
        _fail(f"sounds build {folder}: that is a file; give a folder name")
    held = (
        sorted(n for n in os.listdir(folder) if n == MANIFEST or n.endswith(".wav"))
        if os.path.isdir(folder)
        else []
    )
    if held and not force:
        _fail(
            f"sounds build {folder}: the folder already holds {', '.join(held[:3])}"
            f"{' ...' if len(held) > 3 else ''}; choose a new folder, or add --force to overwrite them"
        )
    parent = os.path.dirname(os.path.abspath(folder))
    if not os.path.isdir(parent):
        _fail(
            f"sounds build {folder}: the folder {parent} does not exist; "
            "create it first or choose another place"
        )

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
