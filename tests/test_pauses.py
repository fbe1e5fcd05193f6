"""Cues that wait for a pause (live --wait-for-pause): the gate's rules, the detectors on real
speech (espeak-ng), a video's own sound track heard in step with its frames."""

from __future__ import annotations

import json
import shutil
import subprocess
import wave

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import SHARED, cli_in_process, run_cli
from fer_audio.sound.listening import SoundTrackListener, SpeechState
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
    s.ignore(0.6)  # the tool's own cue: nothing is learned, time passes
    assert s.quiet_for() == pytest.approx(0.3)
    assert (s.frames, s.ignored_frames, s.speech_frames) == (11, 1, 10)


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
    }
    for args, words in cases.items():
        r = cli_in_process("live", *args, "--no-audio")
        assert r.returncode == 2 and words in r.stderr, (args, r.stderr)
