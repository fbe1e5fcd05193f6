"""`python -m benchmarks pause`: cues that wait for a pause in the partner's speech.

1. The detector, chosen by measurement: espeak-ng sentences with known gaps between them (the
   truth), clean and under pink noise, then every detector's pause decisions (the moments a pause
   of --pause seconds is heard): how many fall inside a sentence (a cue would start over the
   partner's words), how many of the gaps long enough for a cue are found; ms per frame; start-up.
2. live on every clip of ../shared/datasets/realworld/natural/ that has a sound track, as
   `--cue speech --listen-to-source --no-realtime --audio-out`, at the default sensitivity and at
   high, with and without --wait-for-pause: the share of spoken event-cue audio over the
   partner's speech (speech as the detector marks it on the clip's own sound; the cue audio read
   back from the WAV where the events log says an event cue sounds, so the "Stopped" said as a
   clip ends, a state cue no gate holds, is counted apart), the delay added (median, 90th
   percentile, max), the cues dropped as stale; and the floor under any gate that keeps
   --max-wait (the cues placed knowing the speech to come).
   The same on turn-taking: the clips' faces with espeak-ng sentences as their sound.
3. live's frames per second with the detector on, as a ratio against the same clips with it off,
   the runs alternated in one process.
"""

from __future__ import annotations

import itertools
import math
import shutil
import subprocess
import tempfile
import time
import wave
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.common import SHARED, say
from fer_audio.sound.listening import SoundTrackListener, SpeechState
from fer_audio.sound.vad import RATE, Framer, SileroDetector, WebRtcDetector
from fer_audio.sound.waiting import PauseOptions

NATURAL = SHARED / "datasets" / "realworld" / "natural"
PAUSE = 0.3
CUE_SECONDS = 0.5  # about one spoken word: a gap this much longer than the pause has room for a cue
SENTENCES = [
    "I went to the market this morning, and it was already full of people.",
    "Did you hear what happened at the meeting yesterday?",
    "Honestly, I don't think that's a good idea.",
    "We could take the train instead, it's faster and cheaper.",
    "That reminds me of the summer we spent by the lake.",
    "Well, let me think about it for a moment.",
    "The results came back this afternoon and they look promising.",
    "No, no, that's not what I meant at all.",
    "She said she would call back after lunch.",
    "Could you pass me the salt, please?",
    "It has been raining for three days without a break.",
    "I'm not sure, but I think the shop closes at six.",
]
WAITING = PauseOptions(wait="all", listen_to_source=True)  # --wait-for-pause --listen-to-source
FLOOR_WAITS = (WAITING.max_wait, 5.0)  # the floor is given for the default --max-wait and a longer one
GAPS = [0.15, 0.25, 0.4, 0.6, 0.9, 1.3, 2.0, 0.35, 0.5, 0.8, 1.1]  # s between the sentences


def detectors():
    return {
        "silero": SileroDetector,
        "webrtc-2": lambda: WebRtcDetector(2),
        "webrtc-3": lambda: WebRtcDetector(3),
    }


# ------------------------------------------------------------------------------ 1: the detector


def _espeak(text: str, folder: Path) -> np.ndarray:
    path = folder / "s.wav"
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True)
    with wave.open(str(path)) as w:
        rate, data = w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), "<i2")
    from fer_audio.sound.vad import resample

    samples = resample(data, rate)
    loud = np.flatnonzero(np.abs(samples) > 300)
    return samples[loud[0] : loud[-1] + 1] if len(loud) else samples


def conversation(
    seconds: float | None = None, start: int = 0, lead: float = 0.5
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """espeak-ng's sentences with GAPS between them, after `lead` s of silence: (16 kHz int16, the
    sentences' spans in s). Each sentence twice (before gaps of other lengths), or as many as fill
    `seconds`, from the `start`-th sentence on."""
    with tempfile.TemporaryDirectory() as tmp:
        pieces, spans, t = [np.zeros(int(lead * RATE), np.int16)], [], lead
        texts = SENTENCES + SENTENCES[::-1]
        i = 0
        while (seconds is None and i < len(texts)) or (seconds is not None and t < seconds):
            s = _espeak(texts[(start + i) % len(texts)], Path(tmp))
            spans.append((t, t + len(s) / RATE))
            t += len(s) / RATE
            gap = GAPS[(start + i) % len(GAPS)] if seconds is not None or i < len(texts) - 1 else 1.0
            pieces += [s, np.zeros(int(gap * RATE), np.int16)]
            t += gap
            i += 1
    return np.concatenate(pieces), spans


def with_sound(video: Path, pcm: np.ndarray, out: Path) -> None:
    """`video`'s frames (copied, not re-encoded) with `pcm` (16 kHz int16) as its sound track."""
    import av

    with av.open(str(video)) as src, av.open(str(out), "w", format="matroska") as dst:
        v_in = src.streams.video[0]
        v_out = dst.add_stream_from_template(v_in)
        a_out = dst.add_stream("pcm_s16le", rate=RATE, layout="mono")
        for packet in src.demux(v_in):
            if packet.dts is None:
                continue
            packet.stream = v_out
            dst.mux(packet)
        for i in range(0, len(pcm), RATE):
            frame = av.AudioFrame.from_ndarray(pcm[None, i : i + RATE], format="s16", layout="mono")
            frame.rate, frame.pts = RATE, i
            for packet in a_out.encode(frame):
                dst.mux(packet)
        for packet in a_out.encode(None):
            dst.mux(packet)


def pink_noise(n: int, seed: int = 0) -> np.ndarray:
    white = np.random.default_rng(seed).standard_normal(n)
    spectrum = np.fft.rfft(white)
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    pink = np.fft.irfft(spectrum, n)
    return pink / np.std(pink)


def with_noise(clean: np.ndarray, snr_db: float | None) -> np.ndarray:
    if snr_db is None:
        return clean
    speech_rms = np.sqrt(np.mean(clean[np.abs(clean) > 300].astype(np.float64) ** 2))
    noise = pink_noise(len(clean)) * speech_rms / 10 ** (snr_db / 20)
    return np.clip(clean + noise, -32768, 32767).astype(np.int16)


def pause_decisions(frames: list[tuple[int, bool]], pause: float = PAUSE) -> list[float]:
    """The moments (s) the pause rule fires: quiet for `pause` seconds after speech."""
    state, fired, out = SpeechState(), False, []
    for end, speech in frames:
        state.hear(end / RATE, speech)
        if speech:
            fired = False
        elif not fired and state.last_speech > -math.inf and state.quiet_for() >= pause:
            out.append(end / RATE)
            fired = True
    return out


def score_decisions(decisions: list[float], spans: list[tuple[float, float]]) -> dict:
    inside = sum(any(a < d < b for a, b in spans) for d in decisions)
    room = [(b1, a2) for (_, b1), (a2, _) in itertools.pairwise(spans) if a2 - b1 >= PAUSE + CUE_SECONDS]
    found = sum(any(b1 < d < a2 for d in decisions) for b1, a2 in room)
    late = [min((d - b1 for d in decisions if b1 < d < a2), default=np.nan) for b1, a2 in room]
    return {
        "decisions": len(decisions),
        "inside_sentence": inside,
        "gaps_with_room": len(room),
        "gaps_found": found,
        "median_s_after_gap_start": float(np.nanmedian(late)) if found else float("nan"),
    }


def bench_detector() -> dict:
    clean, spans = conversation()
    out = {}
    say(
        f"pause: the detector on {2 * len(SENTENCES)} espeak-ng sentences ({len(clean) / RATE:.0f} s) "
        f"with known gaps, pause {PAUSE} s; a decision inside a sentence is a cue over the partner's words"
    )
    for name, make in detectors().items():
        t0 = time.perf_counter()
        det = make()
        startup = time.perf_counter() - t0
        row = {"startup_ms": 1000 * startup}
        spent = frames = 0
        for label, snr in (("clean", None), ("noise 20 dB", 20.0), ("noise 10 dB", 10.0)):
            det = make()
            t0 = time.perf_counter()
            judged = Framer(det).feed(with_noise(clean, snr))
            spent += time.perf_counter() - t0
            frames += len(judged)
            row[label] = score_decisions(pause_decisions(judged), spans)
        row["ms_per_frame"] = 1000 * spent / frames
        row["frame_ms"] = 1000 * det.frame_samples / RATE
        out[name] = row
        say(
            f"  {name:9s} start-up {row['startup_ms']:.0f} ms, {row['ms_per_frame']:.3f} ms per "
            f"{row['frame_ms']:.0f} ms frame; "
            + "; ".join(
                f"{label}: {row[label]['inside_sentence']} of {row[label]['decisions']} inside a sentence, "
                f"{row[label]['gaps_found']}/{row[label]['gaps_with_room']} gaps found"
                for label in ("clean", "noise 20 dB", "noise 10 dB")
            )
        )
    return out


# ------------------------------------------------------------------------- 2: live on natural/


def clips_with_sound() -> list[Path]:
    import av

    out = []
    for path in sorted(NATURAL.glob("*.mp4")):
        with av.open(str(path)) as c:
            if c.streams.audio:
                out.append(path)
    return out


def speech_marks(path: Path) -> tuple[np.ndarray, float]:
    """The detector's speech/no-speech on the clip's own sound: (bool per frame, frame seconds)."""
    listener = SoundTrackListener(str(path))
    judged: list[bool] = []
    original = listener.state.hear
    listener.state.hear = lambda t, s: (judged.append(s), original(t, s))  # type: ignore[method-assign]
    listener.advance(1e9)
    listener.close()
    return np.array(judged, bool), listener.detector.frame_samples / RATE


def loud_marks(path: Path, below_peak_db: float = 20.0) -> tuple[np.ndarray, float]:
    """The clip's own sound, read without the detector: 10 ms frames within `below_peak_db` of its
    loud frames (the 95th percentile), gaps under 0.1 s bridged, count as speech."""
    import av

    with av.open(str(path)) as c:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        pcm = np.concatenate(
            [b.to_ndarray().reshape(-1) for f in c.decode(c.streams.audio[0]) for b in resampler.resample(f)]
        ).astype(np.float64)
    hop = RATE // 100
    n = len(pcm) // hop
    db = 10 * np.log10(np.mean(pcm[: n * hop].reshape(n, hop) ** 2, axis=1) + 1.0)
    loud = db > np.percentile(db, 95) - below_peak_db
    quiet_runs = [(k, len(list(g))) for k, g in itertools.groupby(loud)]
    out, i = loud.copy(), 0
    for k, length in quiet_runs:
        if not k and length < 10 and 0 < i < n - length:
            out[i : i + length] = True
        i += length
    return out, 0.01


def cue_audio(wav: Path) -> np.ndarray:
    """Per 10 ms of the rendered WAV: whether a cue sounds."""
    with wave.open(str(wav)) as w:
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)
    hop = rate // 100
    n = len(data) // hop
    env = np.abs(data[: n * hop].astype(np.int32)).max(axis=1).reshape(n, hop).max(axis=1)
    return env > 200


def event_cues(heard: np.ndarray, played: list[dict]) -> np.ndarray:
    """`heard` (cue_audio) kept only where an event cue sounds: each from when it was played, or
    when the one before it ended (the sound plays one cue at a time), for its `sounds_s`. State
    cues (the "Stopped" as a clip ends and stops the session) are never held, and not counted."""
    keep = np.zeros(len(heard), bool)
    end = 0.0
    for cue in sorted(played, key=lambda c: c["played"]):
        start = max(cue["played"], end)
        end = start + cue["sounds_s"]
        keep[int(start / 0.01) : int(np.ceil(end / 0.01))] = True
    return heard & keep


def overlap(cue: np.ndarray, speech: np.ndarray, frame_s: float) -> tuple[float, float]:
    """(seconds of cue audio, seconds of it over speech)."""
    t = np.arange(len(cue)) * 0.01 + 0.005
    idx = np.minimum((t / frame_s).astype(int), len(speech) - 1)
    over = cue & speech[idx] & (t < len(speech) * frame_s)
    return float(cue.sum() * 0.01), float(over.sum() * 0.01)


def run_live(
    path: Path,
    sensitivity: str,
    pauses: PauseOptions | None,
    folder: Path,
    no_audio: bool = False,
    realtime: bool = False,
) -> dict:
    """live on `path` with --cue speech (--wait-for-pause --listen-to-source as `pauses` say, or
    cues at once with None), rendered to a WAV (or no sound), with an events log."""
    from fer_audio.apps.options import LiveOptions, OutputOptions
    from fer_audio.apps.session import LiveSession
    from fer_audio.events.smoothing import sensitivity as preset
    from fer_audio.sound.cues import CueOptions
    from fer_audio.vision.sources import SourceOptions

    options = LiveOptions()
    name = f"{path.stem}-{sensitivity}-{'wait' if pauses else 'now'}"
    wav, log = folder / f"{name}.wav", folder / f"{name}.jsonl"
    log.unlink(missing_ok=True)
    options = replace(
        options,
        source=SourceOptions(str(path), realtime=realtime),
        tracker=replace(options.tracker, smoother=preset(sensitivity)),
        cues=CueOptions(mode="speech"),
        outputs=OutputOptions(
            audio_out=None if no_audio else str(wav), no_audio=no_audio, events_log=str(log)
        ),
        pauses=pauses or PauseOptions(),
    )
    with LiveSession.create_from_options(options) as session:
        summary = session.run()
        session.finish(summary)
    import json

    records = [json.loads(line) for line in log.read_text().splitlines()]
    cues = [r for r in records if "due" in r]
    return {
        "wav": wav,
        "fps": summary.fps,
        "frames": summary.frames,
        "seconds": summary.seconds,
        "played": [r for r in cues if "played" in r],
        "dropped": [r for r in cues if "dropped" in r],
        "waits": [r["played"] - r["due"] for r in cues if "played" in r],
        "detector_s": session.listener.detector_seconds if session.listener else 0.0,
        "judged_s": session.listener.judged_seconds if session.listener else 0.0,
    }


def least_overlap(
    cues: list[dict], speech: np.ndarray, frame_s: float, max_wait: float
) -> tuple[float, float, list[float]]:
    """The floor under any gate that plays every cue within `max_wait` s of its due time, one at a
    time in the order they fell due (as the sound plays them: a cue whose time has come while
    another sounds follows it at once): of all such schedules, knowing the speech to come, the one
    whose cues sound over the least speech, the earliest of equals. (seconds of cue sound, seconds
    of it over speech, each cue's wait). After the clip's end there is no speech."""
    hop = 0.01
    t = np.arange(int(len(speech) * frame_s / hop)) * hop + hop / 2
    heard = speech[np.minimum((t / frame_s).astype(int), len(speech) - 1)]
    cum = np.r_[0, np.cumsum(heard)]

    def over_at(starts: np.ndarray, n: int) -> np.ndarray:
        return cum[np.minimum(starts + n, len(heard))] - cum[np.minimum(starts, len(heard))]

    cues = sorted(cues, key=lambda c: c["due"])
    layers = []  # per cue: (starts, total cost up to it, the previous cue's start index, length)
    for c in cues:
        n, due, wait = (int(round(x / hop)) for x in (c["sounds_s"], c["due"], max_wait))
        if not layers:
            starts = due + np.arange(wait + 1)
            cost, back = over_at(starts, n).astype(float), np.full(len(starts), -1)
        else:
            p_starts, p_cost, _, p_n = layers[-1]
            p_end = p_starts + p_n
            starts = np.arange(max(due, p_end.min()), max(due + wait, p_end.max()) + 1)
            s, e = starts[:, None], p_end[None, :]
            allowed = (s >= e) & ((s <= due + wait) | (s == e))  # its own time, or at once after
            total = np.where(allowed, p_cost[None, :], np.inf)
            back = np.argmin(total, axis=1)
            cost = over_at(starts, n) + total[np.arange(len(starts)), back]
        layers.append((starts, cost, back, n))
    waits, over, i = [], 0.0, int(np.argmin(layers[-1][1])) if layers else -1
    if layers:
        over = float(layers[-1][1][i]) * hop
    for (starts, _cost, back, _n), c in zip(layers[::-1], cues[::-1], strict=True):
        waits.append(starts[i] * hop - c["due"])
        i = int(back[i])
    total = sum(int(round(c["sounds_s"] / hop)) for c in cues) * hop
    return total, over, [max(0.0, w) for w in waits[::-1]]


class Floor:
    """least_overlap summed over clips, for each --max-wait in FLOOR_WAITS."""

    def __init__(self) -> None:
        self.rows = {w: [0.0, 0.0, []] for w in FLOOR_WAITS}

    def add(self, cues: list[dict], speech: np.ndarray, frame_s: float) -> None:
        for w, row in self.rows.items():
            c, o, waits = least_overlap(cues, speech, frame_s, w)
            row[0] += c
            row[1] += o
            row[2] += waits

    def figures(self) -> dict:
        return {
            w: {"share_over_speech": o / c if c else float("nan"), "wait_median_s": float(np.median(x or 0))}
            for w, (c, o, x) in self.rows.items()
        }

    def text(self) -> str:
        return "the floor under any gate, knowing the speech to come: " + "; ".join(
            f"--max-wait {w:g}: {row['share_over_speech']:.1%} over speech, median wait "
            f"{row['wait_median_s']:.2f} s"
            for w, row in self.figures().items()
        )


class Tally:
    """One setting's runs summed over clips: event-cue audio over speech (also over the clip's
    loud sound, and with the state cues counted), the waits, the cues, the floor."""

    def __init__(self) -> None:
        self.cue_s = self.over_s = self.all_s = self.all_over = 0.0
        self.over_loud: float | None = None  # where the clips' loudness was given
        self.waits: list[float] = []
        self.played = self.dropped = 0
        self.kinds: Counter = Counter()
        self.floor = Floor()

    def add(self, r: dict, speech: np.ndarray, frame_s: float, loud: tuple | None = None) -> None:
        """One run_live result against its clip's speech (bool per frame of frame_s seconds);
        `loud`: loud_marks of the same clip."""
        every = cue_audio(r["wav"])
        heard = event_cues(every, r["played"])
        c, o = overlap(heard, speech, frame_s)
        self.cue_s, self.over_s = self.cue_s + c, self.over_s + o
        if loud is not None:
            self.over_loud = (self.over_loud or 0.0) + overlap(heard, *loud)[1]
        c, o = overlap(every, speech, frame_s)
        self.all_s, self.all_over = self.all_s + c, self.all_over + o
        self.floor.add(r["played"], speech, frame_s)
        self.waits += r["waits"]
        self.played += len(r["played"])
        self.dropped += len(r["dropped"])
        self.kinds.update(c["emotion"] or c["kind"] for c in r["played"])

    def row(self, wait: bool) -> dict:
        def share(over: float, total: float) -> float:
            return over / total if total else float("nan")

        row = {
            "cues_played": self.played,
            "kinds": dict(self.kinds),
            "cues_dropped_stale": self.dropped,
            "cue_seconds": self.cue_s,
            "cue_seconds_over_speech": self.over_s,
            "share_over_speech": share(self.over_s, self.cue_s),
            "share_over_speech_with_state_cues": share(self.all_over, self.all_s),
            **wait_figures(self.waits),
        }
        if self.over_loud is not None:
            row["share_over_loud_sound"] = share(self.over_loud, self.cue_s)
        if wait:
            row["floor"] = self.floor.figures()
        return row


def wait_figures(waits: list[float]) -> dict:
    """The delay waiting added to the cues played: median, 90th percentile, max (s)."""
    w = np.array(waits) if waits else np.zeros(1)
    return {
        "wait_median_s": float(np.median(w)),
        "wait_p90_s": float(np.percentile(w, 90)),
        "wait_max_s": float(w.max()),
    }


def wait_text(row: dict) -> str:
    return (
        f"added delay median {row['wait_median_s']:.2f} s, p90 {row['wait_p90_s']:.2f} s, "
        f"max {row['wait_max_s']:.2f} s"
    )


def bench_live_pauses() -> dict:
    clips = clips_with_sound()
    say(f"pause: live --cue speech --listen-to-source --no-realtime, {len(clips)} natural/ clips with sound")
    out: dict = {}
    marks = {p: speech_marks(p) for p in clips}
    loud = {p: loud_marks(p) for p in clips}
    speech_share = [float(np.mean(marks[p][0])) for p in clips]
    say(
        f"  the clips are speech for {min(speech_share):.0%} to {max(speech_share):.0%} of their time "
        "by the detector, "
        f"{min(np.mean(loud[p][0]) for p in clips):.0%} to {max(np.mean(loud[p][0]) for p in clips):.0%} "
        "by their loudness"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for sensitivity in ("medium", "high"):
            for wait in (False, True):
                tally = Tally()
                for path in clips:
                    r = run_live(path, sensitivity, WAITING if wait else None, folder)
                    tally.add(r, *marks[path], loud=loud[path])
                row = out[f"{sensitivity}/{'wait' if wait else 'at once'}"] = tally.row(wait)
                say(
                    f"  {sensitivity:6s} {'waiting' if wait else 'at once':8s}: {tally.played} cues played "
                    f"({', '.join(f'{n} {k}' for k, n in tally.kinds.most_common())}), "
                    f"{tally.dropped} dropped as stale; {tally.cue_s:.1f} s of cue audio, "
                    f"{row['share_over_speech']:.1%} of it over speech "
                    f"({row['share_over_loud_sound']:.1%} over the clip's loud sound; with the state cues "
                    f"{row['share_over_speech_with_state_cues']:.1%} over speech); {wait_text(row)}"
                    + (f"; {tally.floor.text()}" if wait else "")
                )
        out["conversation"] = bench_conversation(folder)
        out["fps"] = fps_ratio(clips, folder)
    return out


def bench_conversation(folder: Path) -> dict:
    """Turn-taking: each natural/ clip's faces with espeak-ng sentences as its sound (gaps of 0.15
    to 2 s between them, the truth known; the first starts as the clip does): spoken-cue audio over
    the sentences, at once and waiting."""
    clips = sorted(NATURAL.glob("*.mp4"))
    made = []
    for i, clip in enumerate(clips):
        pcm, spans = conversation(path_seconds(clip), start=i, lead=0.1)  # they are talking as it starts
        out = folder / f"{clip.stem}-talk.mkv"
        with_sound(clip, pcm, out)
        truth = np.zeros(int(len(pcm) / RATE / 0.01) + 1, bool)
        for a, b in spans:
            truth[int(a / 0.01) : int(b / 0.01) + 1] = True
        made.append((out, truth))
    say(
        f"pause: turn-taking, {len(made)} natural/ clips' faces with espeak-ng sentences as their sound "
        "(gaps 0.15 to 2 s); cue audio over the sentences themselves"
    )
    out: dict = {}
    for sensitivity in ("medium", "high"):
        for wait in (False, True):
            tally = Tally()
            for path, truth in made:
                tally.add(run_live(path, sensitivity, WAITING if wait else None, folder), truth, 0.01)
            row = out[f"{sensitivity}/{'wait' if wait else 'at once'}"] = tally.row(wait)
            say(
                f"  {sensitivity:6s} {'waiting' if wait else 'at once':8s}: {tally.played} cues, "
                f"{row['share_over_speech']:.1%} of their audio over the sentences (with the state cues "
                f"{row['share_over_speech_with_state_cues']:.1%}); {wait_text(row)}"
                + (f"; {tally.floor.text()}" if wait else "")
            )
    return out


def fps_ratio(clips: list[Path], folder: Path, rounds: int = 3) -> dict:
    """live's frames per second with the detector on / off, as fast as it goes, over all `clips`
    (frames over seconds, pooled), the two alternated clip by clip; then in real time on the
    largest clip file."""
    on, off = [], []
    judged = spent = sound = 0.0
    run_live(clips[0], "medium", WAITING, folder, no_audio=True)  # warm
    for _ in range(rounds):
        frames = {True: 0, False: 0}
        seconds = {True: 0.0, False: 0.0}
        for path in clips:
            for listening in (False, True):
                r = run_live(path, "medium", WAITING if listening else None, folder, no_audio=True)
                frames[listening] += r["frames"]
                seconds[listening] += r["seconds"]
                if listening:
                    judged += r["judged_s"]
                    spent += r["detector_s"]
                    sound += path_seconds(path)
        on.append(frames[True] / seconds[True])
        off.append(frames[False] / seconds[False])
    ratio = float(np.median(on) / np.median(off))
    frame_s = SileroDetector.frame_samples / RATE  # the default detector's frame
    per_frame = 1000 * spent / (judged / frame_s) if judged else float("nan")
    say(
        f"  frames per second over the {len(clips)} clips, as fast as they go (--no-realtime): with the "
        f"detector {np.median(on):.1f}, without {np.median(off):.1f}: {ratio:.2f}x (median of {rounds} "
        f"alternated rounds); the detector judged {judged / sound:.0%} of the sound (only while a cue "
        f"waited, and the second before), {per_frame:.2f} ms per {1000 * frame_s:.0f} ms frame"
    )
    path = max(clips, key=lambda p: p.stat().st_size)
    paced_off = run_live(path, "medium", None, folder, no_audio=True, realtime=True)["fps"]
    paced_on = run_live(path, "medium", WAITING, folder, no_audio=True, realtime=True)["fps"]
    say(
        f"  in real time (paced as a camera is) on {path.name}: {paced_on:.1f} frames per second with the "
        f"detector, {paced_off:.1f} without: {paced_on / paced_off:.2f}x"
    )
    return {
        "fps_on": float(np.median(on)),
        "fps_off": float(np.median(off)),
        "ratio": ratio,
        "detector_ms_per_frame": per_frame,
        "share_judged": judged / sound,
        "realtime_clip": path.name,
        "realtime_fps_on": paced_on,
        "realtime_fps_off": paced_off,
        "realtime_ratio": paced_on / paced_off,
    }


def path_seconds(path: Path) -> float:
    import av

    with av.open(str(path)) as c:
        return float(c.duration) / 1e6


def bench_pause() -> dict:
    if shutil.which("espeak-ng") is None:
        say("pause: espeak-ng is missing (make system installs it)")
        return {}
    return {"detector": bench_detector(), "live": bench_live_pauses()}


if __name__ == "__main__":
    bench_pause()
