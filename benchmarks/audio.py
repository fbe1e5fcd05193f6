"""Audio: event to first sample in the callback, and frame capture to the cue's first sample."""

from __future__ import annotations

import time

import numpy as np

from benchmarks.common import VIDEO, say
from benchmarks.earcon_metrics import min_pairwise_distance
from fer_audio.labels import EMOTIONS


def bench_audio() -> dict:
    from fer_audio.sound.audio import AudioDeviceError, SoundDeviceOutput
    from fer_audio.sound.cues import stereo
    from fer_audio.sound.earcons import default_cues

    cues = default_cues()
    distance, pair = min_pairwise_distance({k: v for k, v in cues.items() if k in EMOTIONS})
    say(
        f"earcons: smallest pairwise distance between the 7 emotion cues {distance:.1f} "
        f"({pair[0]} / {pair[1]}; "
        f"spectral-centroid and loudness contours)"
    )
    result = {"earcon_min_distance": distance, "closest_pair": list(pair)}
    try:
        out = SoundDeviceOutput()
    except AudioDeviceError as exc:
        say(f"audio latency: not measured ({exc})")
        return result
    lat = []
    for i in range(40):
        cue = out.mixer.submit(stereo(cues[EMOTIONS[i % 7]], 0.5), key=i)
        while cue.started is None:
            time.sleep(0.0005)
        lat.append((cue.started - cue.submitted) * 1000)
        time.sleep(0.45)
    out.close()
    say(
        f"audio: event -> first sample in the audio callback: median {np.median(lat):.1f} ms, "
        f"95th percentile {np.percentile(lat, 95):.1f} ms (block {256} frames)"
    )
    result.update(
        event_to_callback_ms_median=float(np.median(lat)),
        event_to_callback_ms_p95=float(np.percentile(lat, 95)),
    )
    return result


def bench_glass_to_ear() -> dict:
    """Real-time run of the video through the whole session with the sound device: capture ->
    cue's first sample in the callback, for cues caused by a frame (the dwell is excluded: the
    event is emitted on the frame that completes it)."""
    from fer_audio.apps.options import LiveOptions
    from fer_audio.apps.session import LiveSession
    from fer_audio.events.smoothing import sensitivity
    from fer_audio.events.track import TrackerOptions
    from fer_audio.sound.audio import AudioDeviceError
    from fer_audio.vision.recognize import RecognizerOptions
    from fer_audio.vision.sources import SourceOptions

    options = LiveOptions(  # earcons, high sensitivity (more cues), no face mesh
        source=SourceOptions(str(VIDEO), realtime=True),
        recognizer=RecognizerOptions(),
        tracker=TrackerOptions(smoother=sensitivity("high")),
    )
    lat, waits = [], []
    for _ in range(3):
        try:
            session = LiveSession.create_from_options(options)
        except AudioDeviceError as exc:
            say(f"glass-to-ear: not measured ({exc})")
            return {}
        with session:
            session.run()
            session.output.wait(2.0)
        lat += session.latencies
        waits += session.queue_waits
    ms = [v * 1000 for v in lat]
    unqueued = [(a - b) * 1000 for a, b in zip(lat, waits, strict=True)]
    say(
        f"glass-to-ear: frame capture -> cue's first sample in the callback: median {np.median(ms):.1f} ms, "
        f"max {max(ms):.1f} ms over {len(ms)} cues (dwell excluded); without the time spent queued behind "
        f"another cue: median {np.median(unqueued):.1f} ms, max {max(unqueued):.1f} ms"
    )
    return {
        "median_ms": float(np.median(ms)),
        "max_ms": float(max(ms)),
        "cues": len(ms),
        "median_ms_unqueued": float(np.median(unqueued)),
        "max_ms_unqueued": float(max(unqueued)),
    }
