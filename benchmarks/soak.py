"""A soak a user would run: `python -m benchmarks soak-live --soak-minutes 60`.

The shared clip played again and again for that many minutes of video through the live session
that `fer-audio live --no-realtime --audio-out X.wav --events-log X.jsonl` builds (the one
builder, LiveOptions), with the source reopened at each end and its times carried on. Prints the
process's RSS at the start and at the end (and its largest), the files' sizes, events, frame
errors and cues not played. Flat memory is the target.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path

from benchmarks.common import rss_mb
from fer_audio.apps.options import LiveOptions, OutputOptions
from fer_audio.apps.session import LiveSession
from fer_audio.vision.sources import Frame, FrameSource, SourceOptions


class LoopedSource(FrameSource):
    """A video file played again and again until `seconds` of video have passed."""

    def __init__(self, options: SourceOptions, seconds: float) -> None:
        super().__init__(options)
        self.seconds = seconds
        self.loops = 0  # times the clip has been played to its end

    def __iter__(self):
        offset, index = 0.0, 0
        while offset < self.seconds and not self._stop.is_set():
            last = 0.0
            for frame in super().__iter__():
                last = frame.t
                yield Frame(index, offset + frame.t, frame.image, frame.captured)
                index += 1
            offset += last + 1.0 / self.fps
            self.loops += 1
            self._cap.release()
            self._cap = self._opener(self.options.source)
            self._index = 0


def bench_soak_live(say, video: Path, minutes: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        wav, log = Path(tmp) / "soak.wav", Path(tmp) / "soak.jsonl"
        options = LiveOptions(
            source=SourceOptions(str(video), realtime=False),
            outputs=OutputOptions(audio_out=str(wav), events_log=str(log)),
        )
        session = LiveSession.create_from_options(options)
        session.source.close()
        session.source = LoopedSource(replace(options.source), minutes * 60)
        marks: list[tuple[float, float]] = []
        last_mark = [0.0]

        def on_frame(frame, events) -> None:
            if frame.t - last_mark[0] >= 60.0 or not marks:
                marks.append((frame.t, rss_mb()))
                last_mark[0] = frame.t

        session.on_frame = on_frame
        started = time.perf_counter()
        with session:
            summary = session.run()
        end_rss = rss_mb()
        seconds = time.perf_counter() - started
        wav_mb = wav.stat().st_size / 1e6 if wav.exists() else 0.0
        log_kb = log.stat().st_size / 1e3 if log.exists() else 0.0
    start_rss, largest = marks[0][1], max(m for _, m in marks)
    say(
        f"soak-live: {minutes:g} minutes of video ({summary.frames} frames) in {seconds:.0f} s; RSS "
        f"{start_rss:.0f} MB at the start, {end_rss:.0f} MB at the end (largest {largest:.0f} MB, "
        f"sampled each minute of video); --audio-out {wav_mb:.0f} MB, --events-log {log_kb:.0f} kB; "
        f"{summary.events} events, {summary.errors} frame errors, {summary.cues_dropped} cues not played"
        + (f" ({summary.dropped_text})" if summary.dropped_text else "")
    )
    return {
        "video_minutes": minutes,
        "frames": summary.frames,
        "rss_start_mb": start_rss,
        "rss_end_mb": end_rss,
        "rss_per_minute_mb": [round(m, 1) for _, m in marks],
        "wav_mb": wav_mb,
        "events_log_kb": log_kb,
        "events": summary.events,
        "errors": summary.errors,
        "cues_dropped": summary.cues_dropped,
    }
