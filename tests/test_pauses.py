"""Cues that wait for a pause (live --wait-for-pause): the gate's rules, the detectors on real
speech (espeak-ng), a video's own sound track heard in step with its frames."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import wave

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import ROOT, SHARED, NullSink, cli_in_process, run_cli, start_pulse
from fer_audio.sound.listening import Judge, SoundTrackListener, SpeechState
from fer_audio.sound.vad import RATE, Framer, SileroDetector, WebRtcDetector, resample
from fer_audio.sound.waiting import PauseGate, PauseOptions, Waiting

TALK = SHARED / "datasets" / "realworld" / "natural" / "OpenTalker__WDA_BobMenendez_000.mp4"


def gate(**kw) -> PauseGate:
    return PauseGate(PauseOptions(wait="all", **kw))


def test_a_cue_waits_for_a_pause_or_for_max_wait():
    g = gate(pause=0.3, max_wait=2.0)
    g.submit(Waiting(("1", "face"), 1, due=1.0, payload="happy"))
    assert g.release(1.2, quiet_for=0.0) == []  # speech
    assert g.release(1.5, quiet_for=0.2) == []  # a short gap between words
    assert [w.payload for w in g.release(1.6, quiet_for=0.3)] == ["happy"]  # a pause
    g.submit(Waiting(("1", "face"), 1, due=5.0, payload="sad"))
    assert g.release(6.9, quiet_for=0.0) == []
    assert [w.payload for w in g.release(7.0, quiet_for=0.0)] == ["sad"]  # max wait, over speech
    assert g.waits == pytest.approx([0.6, 2.0])


def test_a_stale_cue_is_dropped_and_the_newer_one_plays():
    g = gate()
    g.submit(Waiting((1, "face"), 1, 0.0, "happy"))
    g.submit(Waiting((1, "head"), 1, 0.1, "looking"))
    old = g.submit(Waiting((1, "face"), 1, 0.5, "surprise"))  # a newer emotion of the same face
    assert old is not None and old.payload == "happy"
    g.submit(Waiting((2, "face"), 2, 0.6, "sad"))
    assert [w.payload for w in g.drop_faces_gone({1})] == ["sad"]  # face 2 has left
    g.submit(Waiting((3, "face"), -1, 0.7, "face lost"))  # "face lost" is never dropped for it
    assert g.drop_faces_gone({1}) == []
    assert [w.payload for w in g.release(1.0, quiet_for=None)] == ["looking", "surprise", "face lost"]
    assert (g.replaced, g.left) == (1, 1)
    assert "3 of 3 cues waited" in g.summary_text() and "2 dropped as stale" in g.summary_text()


def test_one_cue_a_pause_and_the_pause_is_heard_after_it():
    g = gate(pause=0.3, max_wait=5.0)
    g.submit(Waiting((1, "face"), 1, 0.0, "face found", seconds=0.7))
    g.submit(Waiting((1, "head"), 1, 0.1, "looking at you", seconds=0.9))
    assert [w.payload for w in g.release(1.0, quiet_for=0.3)] == ["face found"]
    assert g.release(1.9, quiet_for=1.2) == []  # still quiet, but "face found" ends at 1.7
    assert [w.payload for w in g.release(2.0, quiet_for=1.3)] == ["looking at you"]


def test_nothing_waits_where_nothing_listens():
    g = gate(max_wait=60.0)
    g.submit(Waiting((1, "face"), 1, 0.0, "happy"))
    assert len(g.release(0.0, quiet_for=None)) == 1  # the microphone is gone: play at once


def test_the_speech_state_counts_quiet_and_ignores_the_tools_own_sound():
    s = SpeechState()
    for i in range(10):
        s.hear(0.03 * (i + 1), speech=True)
    assert s.quiet_for() == 0.0
    s.hear(0.33, speech=False)
    assert s.quiet_for() == pytest.approx(0.03)
    s.ignore(0.6)  # the tool's own cue: not the partner, and no pause either
    assert s.quiet_for() == 0.0
    s.hear(0.9, speech=False)  # a pause is heard after it
    assert s.quiet_for() == pytest.approx(0.3)
    assert (s.frames, s.ignored_frames, s.speech_frames) == (12, 1, 10)
    fresh = SpeechState()  # a microphone back 30 s into the session: quiet counts from what it hears
    fresh.hear(30.0, speech=False)
    assert fresh.quiet_for() == 0.0
    fresh.hear(30.3, speech=False)
    assert fresh.quiet_for() == pytest.approx(0.3)
    fresh.wake()  # a stretch unjudged: not quiet until it hears again
    assert fresh.quiet_for() == 0.0


def _espeak(text: str, tmp_path) -> np.ndarray:
    path = tmp_path / "s.wav"
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True)
    with wave.open(str(path)) as w:
        return resample(np.frombuffer(w.readframes(w.getnframes()), "<i2"), w.getframerate())


@pytest.fixture(scope="module")
def sentence(tmp_path_factory):
    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng is not installed (make system installs it)")
    return _espeak("We could take the train instead, it is faster and cheaper.", tmp_path_factory.mktemp("s"))


@pytest.mark.parametrize("make", [SileroDetector, WebRtcDetector])
def test_the_detectors_hear_speech_and_silence(sentence, make):
    silence = np.zeros(RATE, np.int16)
    judged = Framer(make()).feed(np.concatenate([silence, sentence, silence]))
    frame = judged[0][0] / RATE
    speech = np.array([s for _, s in judged])
    times = np.array([end / RATE for end, _ in judged]) - frame / 2
    start, end = 1.0, 1.0 + len(sentence) / RATE
    assert speech[(times > start + 0.1) & (times < end - 0.1)].mean() > 0.8
    assert not speech[times < start - 0.1].any()
    assert not speech[times > end + 0.4].any()


@given(cuts=st.lists(st.integers(0, 30000), max_size=12))
def test_any_cut_of_the_sound_into_blocks_gives_the_same_decisions(sentence, cuts):
    whole = Framer(WebRtcDetector()).feed(sentence)
    framer = Framer(WebRtcDetector())
    pieces = np.split(sentence, sorted(c for c in cuts if c < len(sentence)))
    assert [d for p in pieces for d in framer.feed(p)] == whole


def _blocks(sound: np.ndarray, size: int = 512):
    """(end time, block) of `sound` cut as a microphone delivers it."""
    return [((i + size) / RATE, sound[i : i + size]) for i in range(0, len(sound) - size + 1, size)]


@pytest.mark.parametrize("make", [SileroDetector, WebRtcDetector])
def test_the_detector_judges_while_listening_exactly_as_a_framer_does(sentence, make):
    sound = np.concatenate([np.zeros(RATE // 2, np.int16), sentence, np.zeros(RATE // 2, np.int16)])
    judge = Judge(make())
    judged = [item for end, block in _blocks(sound, 700) for item in judge.feed(end, block, listening=True)]
    framer = Framer(make())
    whole = framer.feed(sound[: len(sound) // 700 * 700])
    assert judged == [(pytest.approx(end / RATE), speech) for end, speech in whole]
    assert judge.judged_seconds == pytest.approx(len(whole) * make.frame_samples / RATE)


def test_the_detector_sleeps_until_a_cue_waits_and_then_hears_the_last_second_first(sentence):
    """Asleep through a sentence and 0.6 s of quiet after it; a cue falls due: the held second is
    judged first, so the pause already under way counts, and nothing older is held."""
    loud = np.flatnonzero(np.abs(sentence) > 300)
    words = sentence[loud[0] : loud[-1] + 1]  # espeak-ng's own silence at either end cut off
    sound = np.concatenate([words, np.zeros(RATE, np.int16), words])
    blocks = _blocks(sound)
    due = next(i for i, (end, _b) in enumerate(blocks) if end >= len(words) / RATE + 0.6)
    judge, state = Judge(SileroDetector(), context=1.0), SpeechState()
    for end, block in blocks[:due]:
        assert judge.feed(end, block, listening=False) == []
        assert judge._held_samples <= RATE + 512  # the last second, no more
    assert judge.frames == 0
    state.wake()
    assert state.quiet_for() == 0.0  # nothing known of now yet
    end, block = blocks[due]
    judged = judge.feed(end, block, listening=True)
    assert judged[0][0] == pytest.approx(end - 1.0, abs=512 / RATE)  # the held second, then this block
    for t, speech in judged:
        state.hear(t, speech)
    assert 0.35 <= state.quiet_for() <= 0.65  # the pause under way (the detector's lag shortens it)
    later = [item for e, b in blocks[due + 1 :] for item in judge.feed(e, b, listening=True)]
    assert any(speech for _t, speech in later)  # the next sentence is heard


@pytest.mark.shared
def test_a_videos_sound_track_is_heard_in_step_with_its_frames():
    listener = SoundTrackListener(str(TALK), WebRtcDetector())
    listener.advance(2.0)
    assert listener.state.heard_until == pytest.approx(2.0, abs=0.03)  # not a frame ahead
    assert listener.state.speech_frames > 30  # he talks
    listener.advance(100.0)  # past the end: silence
    assert listener.state.heard_until == 100.0 and listener.quiet_for() > 90
    listener.close()


@pytest.mark.shared
@pytest.mark.slow
def test_listening_to_the_source_makes_the_same_decisions_every_run(tmp_path):
    logs = []
    for run in range(2):
        log = tmp_path / f"e{run}.jsonl"
        r = run_cli(
            *("live", "--source", TALK, "--no-realtime", "--cue", "speech", "--wait-for-pause"),
            *("--listen-to-source", "--sensitivity", "high", "--audio-out", tmp_path / f"a{run}.wav"),
            *("--events-log", log, "--max-wait", "1.5"),
        )
        assert r.returncode == 0, r.stderr
        records = [json.loads(line) for line in log.read_text().splitlines()]
        clock = ("started", "seconds", "fps")  # when it ran and how fast: not decisions
        logs.append([{k: v for k, v in rec.items() if k not in clock} for rec in records])
    assert logs[0] == logs[1]
    cues = [r for r in logs[0] if "due" in r]
    assert cues and all("played" in r or "dropped" in r for r in cues)
    assert all(0 <= r["played"] - r["due"] <= 1.5 + 0.05 for r in cues if "played" in r)
    summary = logs[0][-1]
    assert summary["kind"] == "summary" and summary["waiting"]["waited"] >= 1
    # the detector judged the sound only while a cue waited (and the second before): not all 8 s
    waited = sum(r["played"] - r["due"] for r in cues if "played" in r)
    assert 0 < summary["waiting"]["sound_judged_s"] <= waited + 1.1 * len(cues) < 7.5
    assert "waited for a pause" in r.stdout


def test_the_pause_options_are_checked_before_anything_opens():
    cases = {
        ("--microphone", "2"): "--microphone is for --wait-for-pause",
        ("--listen-to-source",): "--listen-to-source is for --wait-for-pause",
        ("--wait-for-pause", "--listen-to-source"): "--listen-to-source needs --source VIDEO_FILE (not 0)",
        ("--wait-for-pause", "--listen-to-source", "--microphone", "1", "--source", "x.mp4"): (
            "--microphone 1 and --listen-to-source cannot be used together"
        ),
        ("--wait-for-pause", "loud"): "'loud' is not one of 'all', 'speech'",
        ("--wait-for-pause", "--pause", "9"): "--pause",
        ("--wait-for-pause", "--source", "x.mp4", "--no-realtime"): "add --listen-to-source",
    }
    for args, words in cases.items():
        r = cli_in_process("live", *args, "--no-audio")
        assert r.returncode == 2 and words in r.stderr, (args, r.stderr)


# ----------------------------------------------------------- the real thing, through PulseAudio

CLIP = SHARED / "datasets" / "realworld" / "natural" / "tanshuai0219__mouth_source.mp4"  # no sound track
SENTENCES = [  # no commas: a pause inside a sentence would be a fair place for a cue
    "I wanted to tell you something about the trip we took last summer",
    "It was a very long journey and we were all tired when we finally reached the hotel late at night",
]


LEAD = 2.5  # s of empty frames before the face: its first cues fall due inside the first sentence


def _face_after_a_lead(path) -> str:
    """CLIP with LEAD seconds of black frames before it, as an .mp4: the face is found (and its
    cues fall due) about LEAD s after the first frame, inside the partner's first sentence, which
    starts once live says "Ready."; without the lead, whether a cue fell due inside a sentence
    depended on start-up times and on what the model heard on the face."""
    import cv2

    clip = cv2.VideoCapture(str(CLIP))
    fps = clip.get(cv2.CAP_PROP_FPS)
    ok, frame = clip.read()
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (frame.shape[1], frame.shape[0]))
    for _ in range(round(LEAD * fps)):
        out.write(np.zeros_like(frame))
    while ok:
        out.write(frame)
        ok, frame = clip.read()
    out.release()
    clip.release()
    return str(path)


def _hum(env, sink: str) -> subprocess.Popen:
    """Silence played into `sink` for as long as it runs: an idle null sink's monitor delivers
    nothing (a microphone always delivers), and recordings of both sinks then share one clock."""
    cmd = ["pacat", "-d", sink, "--rate=16000", "--channels=1", "--format=s16le", "--latency-msec=20"]
    with open("/dev/zero", "rb") as zeros:
        return subprocess.Popen(cmd, stdin=zeros, env=env)


def _wait_until_delivering(env, source: str, timeout: float = 60.0) -> None:
    """Waits until the monitor `source` delivers sound (a null sink's monitor first delivers some
    seconds after it wakes up): a probe recording grows."""
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".raw") as probe:
        cmd = ["parec", "-d", source, "--rate=16000", "--channels=1", "--format=s16le", "--latency-msec=10"]
        proc = subprocess.Popen(cmd, stdout=probe, env=env)
        try:
            deadline = time.monotonic() + timeout
            while os.path.getsize(probe.name) < 3200:  # 0.1 s of it
                assert proc.poll() is None and time.monotonic() < deadline, f"{source} delivered nothing"
                time.sleep(0.01)
        finally:
            proc.terminate()
            proc.wait()


class Partner:
    """A second null sink, 'partner', whose monitor is the default input: what is played into it
    is what the microphone hears."""

    def __init__(self, sink) -> None:
        self.env = sink.env
        load = ["pactl", "load-module", "module-null-sink", "sink_name=partner", "rate=16000", "channels=1"]
        done = subprocess.run(load, env=self.env, capture_output=True, text=True, check=True)
        self.module = done.stdout.strip()
        subprocess.run(["pactl", "set-default-source", "partner.monitor"], env=self.env, check=True)

    def say(self, wav) -> None:
        subprocess.run(["paplay", "-d", "partner", str(wav)], env=self.env, check=True)

    def record(self, path, source: str = "partner.monitor") -> subprocess.Popen:
        cmd = ["parec", "-d", source, "--rate=16000", "--channels=1", "--format=s16le", "--latency-msec=10"]
        return subprocess.Popen(cmd, stdout=path.open("wb"), env=self.env)

    def close(self) -> None:
        subprocess.run(["pactl", "unload-module", self.module], env=self.env, capture_output=True)


def _spans(loud: np.ndarray, hop: float, bridge: float) -> list[tuple[float, float]]:
    """Runs of True (gaps shorter than `bridge` s bridged) as (start, end) seconds."""
    spans: list[list[float]] = []
    for i in np.flatnonzero(loud):
        t = i * hop
        if spans and t - spans[-1][1] <= bridge:
            spans[-1][1] = t + hop
        else:
            spans.append([t, t + hop])
    return [(a, b) for a, b in spans]


def _envelope(samples: np.ndarray, rate: int, hop: float = 0.01) -> np.ndarray:
    level = np.abs(samples) if samples.ndim == 1 else np.abs(samples).max(axis=1)
    n = int(rate * hop)
    m = len(level) // n
    return level[: m * n].reshape(m, n).max(axis=1)


@pytest.mark.audio
@pytest.mark.shared
@pytest.mark.slow
def test_spoken_cues_wait_for_the_partners_pauses_through_a_real_microphone(null_sink, tmp_path):
    wavs = []
    for i, text in enumerate(SENTENCES):
        wavs.append(tmp_path / f"s{i}.wav")
        subprocess.run(["espeak-ng", "-w", str(wavs[-1]), text], check=True)
    partner = Partner(null_sink)
    heard, played = tmp_path / "partner.raw", tmp_path / "out.raw"
    hums = [_hum(null_sink.env, "partner"), _hum(null_sink.env, "ferout")]
    for source in ("partner.monitor", "ferout.monitor"):
        _wait_until_delivering(null_sink.env, source)
    recorders = [partner.record(heard), partner.record(played, "ferout.monitor")]  # one clock
    log = tmp_path / "e.jsonl"
    source = _face_after_a_lead(tmp_path / "lead.mp4")
    live = subprocess.Popen(
        [
            *(sys.executable, "-m", "fer_audio", "live", "--source", source, "--max-seconds", "9"),
            *("--cue", "speech", "--wait-for-pause", "--max-wait", "2", "--events-log", str(log)),
        ],
        env={**null_sink.env, "PYTHONPATH": str(ROOT), "PULSE_SOURCE": "partner.monitor"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert live.stdout.readline().startswith("Ready."), live.stderr.read()
        partner.say(wavs[0])  # the face is found inside it: its cues wait, then find the pause
        time.sleep(1.5)  # a pause
        partner.say(wavs[1])  # a long sentence: cues due in it play by --max-wait
        out, err = live.communicate(timeout=60)
    finally:
        live.kill()
        for proc in [*recorders, *hums]:
            proc.terminate()
            proc.wait()
        partner.close()
    assert live.returncode == 0, err
    records = [json.loads(line) for line in log.read_text().splitlines()]
    cues = [c for c in records if "played" in c]
    waits = [c["played"] - c["due"] for c in cues]
    assert cues and max(waits) <= 2.0 + 0.1, waits  # --max-wait is kept
    # the detector judged the microphone only while cues waited, and the second before each
    assert 0 < records[-1]["waiting"]["sound_judged_s"] <= sum(waits) + 1.1 * len(cues) < 9
    by_pause = sum(0.1 < w < 1.95 for w in waits)
    by_max_wait = sum(w >= 1.95 for w in waits)
    assert by_pause >= 1, (waits, cues)  # some cue waited and found a pause
    # What was really played, against what the partner really said (both recorded from the start):
    # a cue that starts inside a sentence is one that waited --max-wait, never one that found a pause.
    sentences = _spans(_envelope(np.fromfile(heard, "<i2"), 16000) > 500, 0.01, bridge=0.25)
    onsets = [a for a, _ in _spans(_envelope(np.fromfile(played, "<i2"), 16000) > 1500, 0.01, bridge=0.2)]
    onsets = onsets[1:-1]  # not "Ready" and "Stopped": the tool's own state is said at once
    inside = [t for t in onsets if any(a + 0.1 < t < b - 0.1 for a, b in sentences)]
    assert len(sentences) == 2, sentences
    assert len(inside) <= by_max_wait, (onsets, sentences, cues)
    assert "cues waited for a pause" in out


@pytest.mark.audio
@pytest.mark.shared
@pytest.mark.slow
def test_a_microphone_that_goes_away_is_said_once_and_cues_stop_waiting(null_sink, tmp_path):
    """The microphone's own PulseAudio server (the sound goes to a file) killed while the partner
    talks without a break, and started again: "microphone lost" once on stderr (PortAudio's own
    lines kept off it), the cues that waited play at once instead of waiting --max-wait 30, and
    the microphone is heard again."""
    runtime = tmp_path / "pulse"
    runtime.mkdir(mode=0o700)
    talk = tmp_path / "talk.wav"
    words = " ".join(["and then we walked along the river for a long time"] * 4)
    subprocess.run(["espeak-ng", "-w", str(talk), words], check=True)

    def server() -> tuple[dict, subprocess.Popen]:
        env = start_pulse(runtime)
        Partner(NullSink(runtime, env))
        return env, _hum(env, "partner")

    env, hum = server()
    _wait_until_delivering(env, "partner.monitor")
    talking = subprocess.Popen(["paplay", "-d", "partner", str(talk)], env=env)
    log = tmp_path / "e.jsonl"
    live = subprocess.Popen(
        [
            *(sys.executable, "-m", "fer_audio", "live", "--source", str(CLIP), "--max-seconds", "9"),
            *("--cue", "speech", "--wait-for-pause", "--max-wait", "30", "--events-log", str(log)),
            *("--audio-out", str(tmp_path / "out.wav")),
        ],
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert live.stdout.readline().startswith("Ready."), live.stderr.read()
        time.sleep(3.0)  # the face is found while the partner talks: its cues wait
        subprocess.run(["pulseaudio", "--kill"], env=env, check=True)
        time.sleep(1.5)
        env, hum = server()
        out, err = live.communicate(timeout=60)
    finally:
        live.kill()
        for proc in (hum, talking):
            proc.kill()
        subprocess.run(["pulseaudio", "--kill"], env=env, capture_output=True)
    assert live.returncode == 0, err
    assert err.count("microphone lost") == 1, err
    assert "Expression" not in err and "pa_linux_alsa" not in err  # no third-party lines
    cues = [json.loads(line) for line in log.read_text().splitlines()]
    waits = [c["played"] - c["due"] for c in cues if "played" in c]
    assert waits and max(waits) < 6.0, (waits, err)  # not --max-wait 30: nothing waits without a microphone
    assert "Microphone back" in out, (out, err)


def test_the_benchmarks_floor_places_each_cue_where_it_sounds_over_the_least_speech():
    from benchmarks.pause import least_overlap

    speech = np.zeros(1000, bool)  # 10 ms frames: speech 0-3 s and 4-10 s, a pause 3-4 s
    speech[:300] = speech[400:] = True
    cue = {"due": 1.0, "sounds_s": 0.5}

    def floor(cues, max_wait):
        total, over, waits = least_overlap(cues, speech, 0.01, max_wait)
        return (total, over, *waits)

    assert floor([cue], 2.0) == pytest.approx((0.5, 0.0, 2.0))  # into the pause
    assert floor([cue], 1.0) == pytest.approx((0.5, 0.5, 0.0))  # the pause is too far: at once
    assert floor([cue], 1.8) == pytest.approx((0.5, 0.2, 1.8))  # part of it reaches the pause
    assert floor([{"due": 9.8, "sounds_s": 0.5}], 2.0) == pytest.approx((0.5, 0.0, 0.2))  # after the end
    two = [{"due": 1.0, "sounds_s": 0.5}, {"due": 1.1, "sounds_s": 0.5}]
    assert floor(two, 2.5) == pytest.approx((1.0, 0.0, 2.0, 2.4))  # one after the other in the pause
    speech[370:400] = True  # a pause of 0.7 s: room for one and a bit
    assert floor(two, 2.5) == pytest.approx((1.0, 0.3, 1.7, 2.1))  # the least over speech, earliest
    assert floor(two, 0.5) == pytest.approx((1.0, 1.0, 0.0, 0.4))  # no pause in reach: at once, in turn


def test_the_benchmark_counts_the_sound_of_event_cues_played_one_at_a_time():
    from benchmarks.pause import event_cues

    heard = np.ones(1000, bool)  # 10 ms frames: something sounds all along (cues, then "Stopped")
    played = [
        {"played": 1.0, "sounds_s": 0.5},
        {"played": 1.2, "sounds_s": 0.3},
        {"played": 5.0, "sounds_s": 0.2},
    ]
    kept = np.flatnonzero(event_cues(heard, played)) * 0.01
    # the second waits for the first to end (1.5 to 1.8); the state cue after 5.2 s is not counted
    assert kept.min() == pytest.approx(1.0) and kept.max() == pytest.approx(5.19)
    assert len(kept) == 50 + 30 + 20
