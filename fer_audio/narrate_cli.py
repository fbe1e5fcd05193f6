"""`fer-audio narrate`: prints (and speaks, or renders) one sentence per image; report; summary."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from fer_audio.cues import stereo
from fer_audio.narrate import ImageResult, Summary, display_name, narrate, report_rows, write_report


def _progress(done: int, last: str) -> None:
    click.echo(f"\r\033[K{done} done, last {last[-60:]}", err=True, nl=False)


def run_narrate(
    paths,
    *,
    speak: bool | None,
    report: str | None,
    quiet: bool,
    jobs: int,
    audio_out: str | None,
    recognizer_factory: Callable,
    speaker_factory: Callable,
    device: str | None,
    fail: Callable[[str, int], None],
) -> int:
    recognizer = recognizer_factory()
    output, speaker = None, None
    if audio_out or speak is not False:
        speaker = speaker_factory()
        if speaker is not None:
            output = _open_audio(audio_out, device, explicit=bool(speak) or bool(audio_out), fail=fail)
    show_progress = not quiet and sys.stderr.isatty()
    summary, rows = Summary(), []
    for i, result in enumerate(narrate(paths, recognizer, workers=jobs), start=1):
        summary.add(result)
        rows += report_rows(result)
        _tell(result, output, speaker, show_progress)
        if show_progress:  # stays on screen while the next image is worked on
            _progress(i, display_name(result.path))
    if show_progress:
        click.echo("\r\033[K", err=True, nl=False)
    click.echo(summary.sentence())
    if report:
        write_report(Path(report), rows)
    if output is not None:
        output.play(stereo(speaker.render(summary.sentence()), pan=False))
        output.wait(timeout=600)
        output.close()
    return 0 if summary.images > 0 else 1


def _tell(result: ImageResult, output, speaker, progress: bool) -> None:
    if progress:
        click.echo("\r\033[K", err=True, nl=False)
    if result.error:
        click.echo(f"skipped {display_name(result.path)}: {result.error}", err=True)
        return
    click.echo(result.sentence)
    if output is not None:
        output.play(stereo(speaker.render(result.sentence), pan=False))
        output.wait(timeout=60)  # one sentence after another: spoken narration is never dropped


def _open_audio(audio_out: str | None, device: str | None, explicit: bool, fail):
    from fer_audio.audio import AudioDeviceError, WavOutput, open_output

    if audio_out:
        return WavOutput(audio_out, gap=0.4)
    try:
        return open_output(None, False, device)
    except AudioDeviceError as exc:
        if explicit:
            fail(str(exc), 2)
        return None  # --speak was not asked for: narrate as text only
