"""`fer-audio narrate`."""

from __future__ import annotations

import sys

import click

from fer_audio.apps.options import NarrateOptions
from fer_audio.cli.group import err, main, out
from fer_audio.cli.options import (
    REPORT,
    WAV,
    IntRange,
    align_option,
    check_audio_target,
    check_model,
    check_outputs,
    conflict,
    model_options,
    recognizer_options,
    speech_options,
)
from fer_audio.sound.speech import SpeechOptions


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--speak/--no-speak",
    default=None,
    help="Speak each sentence (default: when an audio device exists and no --audio-out).",
)
@click.option(
    "--report", metavar="FILE.csv|FILE.json", type=str, default=None, help="Write a .csv or .json report."
)
@click.option("--quiet", is_flag=True, help="No progress lines.")
@click.option(
    "--jobs",
    metavar="N",
    type=IntRange(1, 64),
    default=NarrateOptions.jobs,
    show_default=True,
    help="Images worked on at once (results still come in order).",
)
@model_options
@align_option(default=NarrateOptions().recognizer.align)
@click.option(
    "--mirror/--no-mirror",
    default=NarrateOptions().recognizer.mirror,
    show_default=True,
    help="Read each face also as its mirror image and average the two (steadier; a little slower).",
)
@click.option(
    "--audio-out",
    metavar="FILE.wav",
    type=str,
    default=None,
    help="Render the whole narration to this WAV file instead of speaking it.",
)
@speech_options
def narrate(  # noqa: PLR0913 (one parameter per option: click's way)
    paths,
    speak,
    report,
    quiet,
    jobs,
    model,
    detector,
    min_face,
    align,
    mirror,
    audio_out,
    audio_device,
    voice,
    rate,
    volume,
):
    """Say the emotions of the faces in photos, left to right.

    PATHS are image files or folders (searched recursively, in natural order).

    \b
    Example: fer-audio narrate ~/Pictures/party --report party.csv
    """
    check_outputs(("--report", report, REPORT), ("--audio-out", audio_out, WAV))
    if audio_out and speak is not None:
        flag = "--speak" if speak else "--no-speak"
        conflict(
            flag,
            f"--audio-out {audio_out}",
            "--audio-out writes the spoken narration to a file instead; drop one",
        )
    check_audio_target(audio_out, audio_device, "the narration goes to the file; drop one")
    check_model(model)
    from fer_audio.apps.narrate_run import run_narrate

    options = NarrateOptions(
        recognizer=recognizer_options(model, detector, min_face, align=align, mirror=mirror),
        speech=SpeechOptions(voice=voice, rate=rate),
        volume=volume,
        speak=speak,
        audio_out=audio_out,
        audio_device=audio_device,
        report=report,
        jobs=jobs,
        quiet=quiet,
    )
    note = lambda line: err(f"fer-audio: {line}")  # noqa: E731 (every line of ours has the prefix)
    code = run_narrate(paths, options, tell=out, note=note, progress=sys.stderr.isatty())
    sys.exit(code)
