"""`fer-audio narrate`: one sentence per image (and spoken, or rendered to a WAV file); report;
summary. No printing: sentences go to ``tell``, skipped inputs, warnings and progress to ``note``."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

from fer_audio.apps.narrate import (
    REPORT_COLUMNS,
    ImageResult,
    Summary,
    collect_images,
    display_name,
    narrate_items,
    report_rows,
    write_report,
)
from fer_audio.apps.options import NarrateOptions
from fer_audio.errors import FerAudioError, NothingProcessed, Stopped
from fer_audio.sound.cues import stereo
from fer_audio.types import Say, quiet
from fer_audio.vision.images import IMAGE_SUFFIXES
from fer_audio.vision.recognize import Recognizer

PROGRESS_EVERY = 5.0  # seconds between progress lines on a terminal


class Progress:
    """A plain line now and then ("40 of 200 images, 20%") on a terminal's stderr, which a screen
    reader reads as it comes: no carriage returns, no escape codes; nothing when not a terminal."""

    def __init__(
        self,
        total: int,
        enabled: bool,
        emit: Say,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total, self.enabled, self.clock, self.emit = total, enabled and total > 1, clock, emit
        self.last = clock()

    def update(self, done: int) -> None:
        if not self.enabled or done >= self.total or self.clock() - self.last < PROGRESS_EVERY:
            return
        self.last = self.clock()
        self.emit(f"{done} of {self.total} images, {done / self.total:.0%}")


def make_speaker(options: NarrateOptions, note: Say = quiet):
    """The Speaker for the narration; None for text only. Where speech was asked for (speak or
    audio_out) and no engine works, that is an error; otherwise one warning."""
    from fer_audio.sound.speech import open_speaker

    needed = options.audio_out or options.speak
    fallback = None if needed else "narrating as text only"
    return open_speaker(options.speech, fallback, note)


def run_narrate(
    paths,
    options: NarrateOptions = NarrateOptions(),
    tell: Say = quiet,
    note: Say = quiet,
    progress: bool = False,
) -> int:
    """Narrates `paths` (image files or folders) as `options` say: each sentence and the summary
    to `tell`, skipped inputs and warnings to `note` (and, with `progress`, a progress line now
    and then). Returns the exit code (0, or 1 when no image could be read); raises a
    FerAudioError where an input cannot be opened."""
    audio_out, speak = options.audio_out, options.speak
    items = list(collect_images(paths))
    total = sum(1 for item in items if not isinstance(item, ImageResult))
    if total == 0:
        _nothing_to_narrate(paths, items)
    output, speaker = None, None
    if audio_out or speak is not False:  # speech first: it is quick to check, the model is not
        speaker = make_speaker(options, note)
        if speaker is not None:
            output = _open_audio(audio_out, options.audio_device, explicit=bool(speak) or bool(audio_out))
            if output is None:
                note(
                    "no audio output device was found, so the narration is not spoken; "
                    "use --audio-out FILE.wav to save it as sound, or --no-speak for text only"
                )
    try:
        code = _narrate(items, total, options, output, speaker, tell, note, progress)
    except Stopped:
        _finish(output)  # what was narrated before the Ctrl-C is kept, whole
        raise
    except BaseException:
        _finish(output, keep=False)  # a second Ctrl-C, or a failure: no partial WAV is left
        raise
    else:
        _finish(output)
        return code
    finally:
        if speaker is not None:
            speaker.close()


def _finish(output, keep: bool = True) -> None:
    """Plays out and closes the sound output; a WAV file takes its name (keep) or is removed."""
    if output is None:
        return
    if not keep and hasattr(output, "abort"):
        output.abort()
        return
    if keep:
        output.wait(timeout=600)
    output.close()


def _narrate(items, total, options, output, speaker, tell: Say, note: Say, progress: bool) -> int:
    recognizer = Recognizer(options.recognizer)
    lines = Progress(total, progress and not options.quiet, note)
    summary, rows, done = Summary(), [], 0
    with (
        stop_on_ctrl_c() as stop,
        contextlib.closing(narrate_items(items, recognizer, workers=options.jobs)) as results,
    ):
        for item, result in zip(items, results, strict=False):
            summary.add(result)
            rows += report_rows(result)
            _tell(result, output, speaker, tell, note, options.volume)
            done += not isinstance(item, ImageResult)  # an image file, read or skipped
            lines.update(done)
            if stop.is_set():
                break
    stopped = stop.is_set() and done < total
    if stopped:
        note_row = f"stopped (Ctrl-C) after {done} of {total} images"
        rows.append({**dict.fromkeys(REPORT_COLUMNS, ""), "note": note_row})
    sentence = summary.sentence(stopped=stopped)
    tell(sentence)
    if options.report:
        write_report(Path(options.report), rows)
    if output is not None and not stopped:
        output.play(stereo(speaker.render(sentence), gain=options.volume, pan=False))
        output.wait(timeout=600)
    if stopped:
        kept = [
            f"--{name} {value}"
            for name, value in (("report", options.report), ("audio-out", options.audio_out))
            if value
        ]
        raise Stopped(
            f"stopped after {done} of {total} images"
            + (f"; {' and '.join(kept)} hold{'s' if len(kept) == 1 else ''} those" if kept else "")
        )
    return 0 if summary.images > 0 else 1


@contextlib.contextmanager
def stop_on_ctrl_c() -> Iterator[threading.Event]:
    """The first Ctrl-C (SIGINT) sets the event, so narration stops after the photo at hand and
    keeps what is done; a second one stops at once (KeyboardInterrupt). Only in the main thread
    (elsewhere the event is never set, and Ctrl-C is Python's own)."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, frame) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def _nothing_to_narrate(paths, skipped: list[ImageResult]) -> NoReturn:
    """No input held an image: one line per mistake. Inputs that do not exist at all are a usage
    error (exit 2); files that are not images and folders without any: NothingProcessed (1)."""
    if all(not os.path.lexists(p) for p in paths):
        raise FerAudioError(
            "\n".join(f"{display_name(p)}: no such file or folder; check the path" for p in paths)
        )
    lines = [f"skipped {display_name(item.path)}: {item.error}" for item in skipped]
    suffixes = ", ".join(IMAGE_SUFFIXES)
    for folder in (Path(p) for p in paths if os.path.isdir(p)):
        if not any(Path(item.path).is_relative_to(folder) for item in skipped):
            lines.append(f"no image files in {display_name(folder)}: looked for names ending in {suffixes}")
    raise NothingProcessed("\n".join(lines))


def _tell(result: ImageResult, output, speaker, tell: Say, note: Say, volume: float) -> None:
    if result.error:
        note(f"skipped {display_name(result.path)}: {result.error}")
        return
    tell(result.sentence)
    if output is not None:
        output.play(stereo(speaker.render(result.sentence), gain=volume, pan=False))
        output.wait(timeout=60)  # one sentence after another: spoken narration is never dropped


def _open_audio(audio_out: str | None, device: str | None, explicit: bool):
    from fer_audio.sound.audio import AudioDeviceError, WavOutput, open_output

    if audio_out:
        return WavOutput(audio_out, gap=0.4)
    try:
        return open_output(None, False, device)
    except AudioDeviceError as exc:
        if explicit:
            raise AudioDeviceError(
                f"{exc}; use --audio-out FILE.wav to write the narration to a file, or --no-speak"
            ) from exc
        return None  # --speak was not asked for: narrate as text only (run_narrate says so)
