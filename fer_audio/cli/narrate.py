"""`fer-audio narrate`."""

from __future__ import annotations

import os
import sys

import click

from fer_audio.cli.group import fail, main
from fer_audio.cli.options import (
    REPORT,
    WAV,
    align_option,
    check_audio_target,
    check_model,
    check_outputs,
    conflict,
    make_recognizer,
    make_speaker,
    model_options,
    speech_options,
)


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

    sys.exit(
        run_narrate(
            paths,
            speak=speak,
            report=report,
            quiet=quiet,
            jobs=jobs,
            audio_out=audio_out,
            recognizer_factory=lambda: make_recognizer(model, detector, min_face, align=align),
            speaker_factory=lambda: make_speaker(
                voice, rate, volume, True, None if (audio_out or speak) else "narrating as text only"
            ),
            device=audio_device,
            fail=fail,
        )
    )
