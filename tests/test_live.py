"""`fer-audio live` end to end on the shared video: events, audio, failures, signals, keys, privacy."""

import itertools
import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace

import cv2
import numpy as np
import pytest

from conftest import ROOT, run_cli, start_cli
from fer_audio.sound.earcons import SAMPLE_RATE, default_cues
from fer_audio.sound.wavio import read_wav
from fer_audio.vision.sources import FrameSource, SourceError, SourceOptions

pytestmark = pytest.mark.shared
CMD = [sys.executable, "-m", "fer_audio", "live"]


def env(extra=None):
    return {**os.environ, "PYTHONPATH": str(ROOT), **(extra or {})}


def run_live(*args, **kw):
    return run_cli("live", *args, extra_env=kw.pop("extra", None), **kw)


def read_log(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_end_to_end_on_the_video_writes_events_and_audio(video, tmp_path):
    log, wav = tmp_path / "events.jsonl", tmp_path / "out.wav"
    r = run_live("--source", video, "--no-realtime", "--events-log", log, "--audio-out", wav)
    assert r.returncode == 0, r.stderr
    records = read_log(log)
    summary = records[-1]
    assert summary["kind"] == "summary" and summary["frames"] >= 100 and summary["fps"] > 0
    assert records[0]["kind"] == "session"
    events = [r for r in records[1:-1] if not r["kind"].startswith("rest_face")]  # logged, not heard
    assert summary["events"] == len(events)
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "face_found"
    emotion = [e for e in events if e["kind"] == "emotion"]
    assert len(emotion) <= 4  # a 4.7 s clip of one person: a few events, not a stream of noise
    for e in events:
        assert {"t", "kind", "face", "emotion", "confidence", "x"} <= set(e)
        assert 0 <= e["x"] <= 1 and 0 <= e["t"] <= 5.0
    assert "Summary: " in r.stdout
    audio, rate = read_wav(wav)
    assert rate == 44100 and audio.shape[1] == 2 and np.abs(audio).max() > 0.1


@pytest.mark.audio
def test_live_audio_reaches_the_sound_server(video, null_sink, tmp_path):
    raw = tmp_path / "rec.raw"
    rec = null_sink.record(raw)
    try:
        r = subprocess.run(
            [*CMD, "--source", str(video), "--no-realtime"],
            capture_output=True,
            text=True,
            env={**null_sink.env, "PYTHONPATH": str(ROOT)},
            timeout=120,
        )
        null_sink.wait_for_more(raw, rec, 0.5)  # the last of it has come through the monitor
    finally:
        rec.terminate()
        rec.wait()
    assert r.returncode == 0, r.stderr
    audio = null_sink.read(raw)
    # at least the ready and stop cues, and the face-found cue, were really played
    loud = np.abs(audio).max(axis=1) > 0.05
    assert loud.sum() > 0.3 * 44100, loud.sum()


class FlakyCapture:
    """A real video capture that stops delivering frames after `fail_after` reads (unplugged)."""

    def __init__(self, path, fail_after):
        self.cap, self.left = cv2.VideoCapture(str(path)), fail_after

    def read(self):
        self.left -= 1
        return self.cap.read() if self.left >= 0 else (False, None)

    def get(self, prop):
        return self.cap.get(prop)

    def isOpened(self):
        return True

    def release(self):
        self.cap.release()


def test_a_camera_that_fails_midway_is_reported_and_resumed(video):
    attempts, states = [], []

    def opener(source):
        attempts.append(time.monotonic())
        if len(attempts) in (2, 3):  # unplugged: the first two reopens fail
            raise SourceError("camera 0 could not be opened")
        return FlakyCapture(video, fail_after=20)

    src = FrameSource(
        SourceOptions("0", retry_initial=0.05, retry_max=0.2), on_state=states.append, opener=opener
    )
    frames = []
    for frame in src:
        frames.append(frame)
        if len(frames) >= 30:
            break
        time.sleep(0.002)
    src.close()
    assert states[:2] == ["camera_lost", "camera_back"]
    assert len(attempts) >= 4 and attempts[3] - attempts[2] >= attempts[2] - attempts[1]  # backoff grows
    assert len(frames) == 30 and all(b.t > a.t for a, b in itertools.pairwise(frames))


def test_a_camera_that_does_not_exist_is_a_clear_error():
    r = run_live("--source", "57", "--no-audio")
    assert r.returncode == 2
    assert (
        r.stderr.strip()
        == "fer-audio: camera 57 could not be opened; check that it is connected, or pass --source VIDEO"
    )


def test_a_missing_video_file_is_a_clear_error(tmp_path):
    r = run_live("--source", tmp_path / "nope.mp4", "--no-audio")
    assert r.returncode == 2 and "no such file" in r.stderr


def test_ctrl_c_stops_quickly_and_flushes_the_log(video, tmp_path):
    log = tmp_path / "events.jsonl"
    proc = subprocess.Popen(
        [*CMD, "--source", str(video), "--no-audio", "--events-log", str(log)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (log.exists() and len(log.read_text().splitlines()) >= 2):
        time.sleep(0.05)  # wait until it is running (the first event after the session record)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    stopped_in = time.monotonic() - sent
    assert proc.returncode == 130, err  # interrupted, as the CLI documents
    assert stopped_in < 1.0, stopped_in  # 0.5 s for the tool, the rest for the interpreter to exit
    assert read_log(log)[-1]["kind"] == "summary"
    assert "Stopped." in out


def test_keys_through_a_terminal(video):
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*CMD, "--source", str(video), "--no-audio"],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    os.close(slave)
    lines = []

    def wait_for(*texts, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 0.1)
            if ready:
                line = proc.stdout.readline()
                lines.append(line)
                if any(text in line for text in texts):
                    return True
        return False

    assert wait_for("Keys: space, r, m, q.")
    os.write(master, b"m")
    assert wait_for("Muted.")
    os.write(master, b" ")
    assert wait_for("Now: ", "No face.")
    os.write(master, b"q")
    proc.wait(timeout=5)
    os.close(master)
    assert proc.returncode == 0


@pytest.mark.skipif(not shutil.which("strace"), reason="strace is not installed")
def test_no_network_while_processing_a_video(video, tmp_path):
    trace = tmp_path / "trace"
    cmd = [
        "strace",
        "-f",
        "-qq",
        "-e",
        "trace=socket,connect",
        "-o",
        str(trace),
        *CMD,
        "--source",
        str(video),
        "--no-realtime",
        "--no-audio",
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env(), timeout=180)
    assert r.returncode == 0, r.stderr
    calls = trace.read_text().splitlines()
    network = [c for c in calls if "AF_INET" in c or "AF_INET6" in c or "AF_PACKET" in c]
    assert network == []


def test_nothing_is_written_unless_asked(video, tmp_path):
    r = subprocess.run(
        [*CMD, "--source", str(video), "--no-realtime", "--no-audio", "--max-seconds", "1"],
        capture_output=True,
        text=True,
        env=env(),
        cwd=tmp_path,
        timeout=120,
    )
    assert r.returncode == 0
    assert list(tmp_path.iterdir()) == []


def test_record_saves_the_processed_video_only_when_asked(video, tmp_path):
    out = tmp_path / "session.mp4"
    r = run_live("--source", video, "--no-realtime", "--no-audio", "--max-seconds", "1", "--record", out)
    assert r.returncode == 0, r.stderr
    cap = cv2.VideoCapture(str(out))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    assert 20 <= n <= 30  # one second of a 24.7 fps clip


def test_each_session_in_an_appended_events_log_opens_with_a_session_record(video, tmp_path):
    log = tmp_path / "events.jsonl"
    for sensitivity in ("medium", "low"):
        r = run_live(
            "--source",
            video,
            "--no-realtime",
            "--no-audio",
            "--events-log",
            log,
            "--sensitivity",
            sensitivity,
        )
        assert r.returncode == 0, r.stderr
    records = read_log(log)
    starts = [i for i, rec in enumerate(records) if rec["kind"] == "session"]
    assert len(starts) == 2 and starts[0] == 0
    assert records[starts[1] - 1]["kind"] == "summary"  # the first session ended before the second
    first, second = records[starts[0]], records[starts[1]]
    assert first["source"] == str(video) and first["people"] == "one" and "started" in first
    assert first["smoother"]["time_constant"] < second["smoother"]["time_constant"]  # low is slower
    assert any(rec["kind"] == "emotion" for rec in records[starts[1] :])


def test_frame_errors_are_counted_reported_and_a_run_of_them_stops_the_session(video, tmp_path):
    """A processing stage that fails on every frame (as a broken model does): each kind of error
    is said once on stderr, counted in the summary and the log, and 25 in a row stop the run."""
    from fer_audio.apps.options import LiveOptions, OutputOptions
    from fer_audio.apps.session import MAX_FAILED_FRAMES, LiveSession
    from fer_audio.vision.sources import SourceOptions

    log = tmp_path / "events.jsonl"
    warned = []
    options = LiveOptions(
        source=SourceOptions(str(video), realtime=False),
        outputs=OutputOptions(no_audio=True, events_log=str(log)),
    )
    session = LiveSession.create_from_options(options, warn=warned.append)
    real = session.processor.recognizer.classifier.predict
    calls = []

    def broken(crops):  # the model's output has the wrong shape from frame 30 on
        calls.append(1)
        return real(crops) if len(calls) < 30 else real(crops)[:, :3]

    session.processor.recognizer.classifier.predict = broken
    try:
        summary = session.run()
    finally:
        session.close()
    assert summary.errors == MAX_FAILED_FRAMES
    assert session.failure.startswith(f"stopped: {MAX_FAILED_FRAMES} frames in a row could not be processed")
    assert len(warned) == 1 and "could not be processed" in warned[0]
    assert f"{MAX_FAILED_FRAMES} frames could not be processed." in summary.line()
    assert summary.record()["errors"] == MAX_FAILED_FRAMES


class StalledCapture(FlakyCapture):
    """A real capture whose read() blocks once `stall` is set, as a stalled stream does, and
    that records whether it was released while a read was still in progress."""

    def __init__(self, path):
        super().__init__(path, fail_after=10**6)
        self.stall = threading.Event()
        self.reading = threading.Event()
        self.unblock = threading.Event()
        self.released_while_reading = False
        self.released = threading.Event()

    def read(self):
        if not self.stall.is_set():
            return self.cap.read()
        self.reading.set()
        self.unblock.wait(10)
        self.reading.clear()
        return False, None

    def release(self):
        self.released_while_reading = self.reading.is_set()
        self.cap.release()
        self.released.set()


def test_closing_a_stalled_stream_never_releases_it_under_a_read(video):
    cap = StalledCapture(video)
    src = FrameSource(SourceOptions("http://stalled.example/stream"), opener=lambda _s: cap)
    for _frame in src:
        break  # one frame came: the stream runs
    cap.stall.set()
    assert cap.reading.wait(5)  # the reader thread is now stuck in read()
    started = time.monotonic()
    src.close()
    assert time.monotonic() - started < 3.0 and not cap.released.is_set()
    cap.unblock.set()  # the read returns: the reader thread releases the capture itself
    assert cap.released.wait(5) and not cap.released_while_reading


@pytest.mark.slow
def test_a_paced_video_starts_when_it_is_first_read_not_when_it_was_opened(video):
    src = FrameSource(SourceOptions(str(video), realtime=True))
    time.sleep(1.5)  # loading models, warming speech
    frames = []
    for frame in src:
        frames.append(frame)
        time.sleep(0.02)  # processing: half a frame period of the 24.7 fps clip
    src.close()
    assert frames[0].index == 0 and src.dropped <= 2
    assert len(frames) >= 110


@pytest.fixture
def small_disk(tmp_path):
    """A 96 KiB tmpfs: room for the start of a session's files, not for all of them."""
    folder = tmp_path / "small"
    folder.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(folder)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.decode().strip()})")
    yield folder
    subprocess.run(["umount", str(folder)], capture_output=True)


def _fill(folder, leave: int) -> None:
    """Fill the disk of `folder`, then free `leave` bytes (tmpfs counts whole 4 KiB pages)."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as f:
        try:
            while True:
                f.write(b"x" * 4096)
        except OSError:
            pass
    os.truncate(filler, max(0, filler.stat().st_size - leave))


def test_a_full_disk_for_the_events_log_and_the_audio_file(video, tmp_path, small_disk):
    filler = small_disk / "filler"
    _fill(small_disk, 8192)  # room for the events log, not for the sound
    log, wav = small_disk / "events.jsonl", small_disk / "out.wav"
    r = run_live("--source", video, "--no-realtime", "--events-log", log, "--audio-out", wav)
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert any(f"--audio-out {wav}: could not be written" in line for line in lines), r.stderr
    assert "Summary: 115 frames" in r.stdout  # the session went on to the end
    assert not wav.exists() and not list(small_disk.glob(".out.partial-*"))  # nothing partial
    records = [json.loads(line) for line in log.read_text().splitlines()]  # whole records only
    assert records and records[0]["kind"] == "session"  # the log had room for its first records
    filler.unlink()
    _fill(small_disk, 0)  # no room at all
    log = small_disk / "only.jsonl"
    r = run_live("--source", video, "--no-realtime", "--no-audio", "--events-log", log)
    assert r.returncode == 1 and f"--events-log {log}: could not be written" in r.stderr, r.stderr
    assert "Summary: 115 frames" in r.stdout
    records = [json.loads(line) for line in log.read_text().splitlines()]  # whole records only
    assert all(rec["kind"] != "summary" for rec in records)
    (small_disk / "filler").unlink()
    ok = tmp_path / "ok.jsonl"
    r = run_live("--source", video, "--no-realtime", "--no-audio", "--events-log", ok)
    assert r.returncode == 0 and read_log(ok)[-1]["kind"] == "summary"


def test_a_key_that_fails_does_not_end_the_keys():
    from fer_audio.apps.keys import KeyReader

    master, slave = pty.openpty()
    stream = os.fdopen(slave, "r")
    seen, errors = [], []

    def on_key(ch):
        if ch == " ":
            raise KeyError("tracks changed")
        seen.append(ch)

    reader = KeyReader(on_key, stream=stream, on_error=errors.append)
    reader.start()
    try:
        os.write(master, b" ")
        os.write(master, b"q")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not seen:
            time.sleep(0.02)
    finally:
        reader.stop()
        stream.close()
        os.close(master)
    assert seen == ["q"] and len(errors) == 1 and "could not be handled" in errors[0]


def test_space_from_another_thread_while_frames_are_processed(video):
    """The key thread asks for the current emotion again and again while the frame loop changes
    the tracker: no error on either side, and the session runs to the end."""
    from fer_audio.apps.options import LiveOptions, OutputOptions
    from fer_audio.apps.session import LiveSession

    session = LiveSession.create_from_options(
        LiveOptions(source=SourceOptions(str(video), realtime=False), outputs=OutputOptions(no_audio=True))
    )
    errors, done = [], threading.Event()

    def press_space():
        while not done.is_set():
            try:
                session.say_current()
            except Exception as exc:
                errors.append(exc)

    presser = threading.Thread(target=press_space)
    presser.start()
    try:
        summary = session.run()
    finally:
        done.set()
        presser.join()
        session.close()
    assert errors == [] and summary.errors == 0 and summary.frames >= 100


def test_ctrl_c_at_each_stage_of_start_up(video, tmp_path):
    """Ctrl-C from the first instant to the first frames (loading the command line, the model,
    the face mesh, the source): always one line or the closing summary, exit 130, no traceback,
    no partial WAV, and an events log of whole records only. The early moments are times from
    fer-audio's entry point (what is loading then varies with the machine; the interpreter's own
    start-up before it is CPython's); the later ones are events: once the events log exists, and
    once "Ready." is said, when the log must hold the session's first record."""
    stages = [0.05, 0.12, 0.2, 0.3, 0.45, "log", "ready"]
    for k, stage in enumerate(stages):
        log, wav = tmp_path / f"events-{k}.jsonl", tmp_path / f"out-{k}.wav"
        proc = start_cli(  # the times count from fer-audio's entry point (conftest.HANDED_OVER)
            *("live", "--source", video, "--events-log", log, "--audio-out", wav),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        if stage == "ready":
            first = proc.stdout.readline()
            assert first.startswith("Ready."), (first, proc.stderr.read())
        elif stage == "log":
            deadline = time.monotonic() + 60
            while not log.exists() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            assert log.exists(), proc.stderr.read()
        else:
            time.sleep(stage)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        # 130, or ended by the SIGINT itself (-2 here), which a shell also reports as 130
        assert proc.returncode in (130, -signal.SIGINT), (stage, proc.returncode, err, out)
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, (stage, err)
        assert err.strip() in ("", "fer-audio: stopped"), (stage, err)
        if stage in ("log", "ready"):
            records = read_log(log)  # every line a whole JSON record
            assert stage == "log" or records[0]["kind"] == "session", (stage, records)
        elif log.exists():
            read_log(log)
        assert not list(tmp_path.glob(f".out-{k}.partial-*")), stage


def test_the_rest_face_key_through_the_api_is_in_the_events_log(video, tmp_path):
    """r (LiveSession.set_rest_face) pressed before the first face: the first face heard takes its
    next second as its face at rest, and the events log says what the estimate is (no sound)."""
    from fer_audio.apps.options import LiveOptions, OutputOptions
    from fer_audio.apps.session import LiveSession

    log, said = tmp_path / "events.jsonl", []
    session = LiveSession.create_from_options(
        LiveOptions(
            source=SourceOptions(str(video), realtime=False),
            outputs=OutputOptions(no_audio=True, events_log=str(log)),
        ),
        say=said.append,
    )
    session.set_rest_face()
    try:
        session.run()
    finally:
        session.close()
    records = read_log(log)
    assert records[0]["kind"] == "session" and records[0]["rest_face"]["key_weight"] > 0
    found = next(r["t"] for r in records if r["kind"] == "face_found")
    (keyed,) = [r for r in records if r["kind"] == "rest_face_set"]
    assert 0.9 <= keyed["t"] - found <= 1.3
    assert sorted(keyed["correction"]) == sorted(
        ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    )
    assert "Learning their face at rest." in said and f"Face at rest set: face {keyed['face']}." in said
    # and with --no-rest-face the key says that it is off
    session = LiveSession.create_from_options(
        LiveOptions(
            source=SourceOptions(str(video), realtime=False),
            tracker=replace(LiveOptions().tracker, rest=None),
            outputs=OutputOptions(no_audio=True),
        ),
        say=said.append,
    )
    session.set_rest_face()
    session.close()
    assert said[-1] == "The face at rest is off (--no-rest-face)."


def _match(recorded: np.ndarray, cue: np.ndarray) -> float:
    """The best normalised correlation of `cue` anywhere in `recorded` (mono)."""
    cue = cue.astype(np.float64)
    corr = np.correlate(recorded, cue, mode="valid")
    energy = np.sqrt(np.convolve(recorded**2, np.ones(len(cue)), mode="valid")) * np.linalg.norm(cue)
    return float(np.max(corr / np.maximum(energy, 1e-9)))


@pytest.mark.parametrize("cue", ["speech", "tone"])
def test_volume_is_applied_once_to_spoken_words_and_earcons(video, tmp_path, cue):
    """--volume 0.5 halves what is rendered, spoken words as much as earcons (it used to scale the
    speech twice, to a quarter), measured on the rendered WAV."""
    peaks, cues, confidences = [], [], []
    for volume in (1.0, 0.5):
        wav, log = tmp_path / f"{cue}-{volume}.wav", tmp_path / f"{cue}-{volume}.jsonl"
        r = run_live(
            *("--source", video, "--no-realtime", "--cue", cue, "--volume", volume),
            *("--audio-out", wav, "--events-log", log),
        )
        assert r.returncode == 0 and "warning" not in r.stderr, r.stderr  # no earcon fallback
        audio = read_wav(wav)[0].mean(axis=1).astype(np.float64)
        peaks.append(np.abs(audio).max())
        records = [json.loads(line) for line in log.read_text().splitlines()]
        cues.append([(c["kind"], c["emotion"], c["played"]) for c in records if "due" in c])
        confidences.append([c["confidence"] for c in records if "due" in c])
        happy = next(c for c in records if c.get("emotion") == "happy" and "played" in c)
        start = int(happy["played"] * SAMPLE_RATE)
        heard = audio[start : start + int(happy["sounds_s"] * SAMPLE_RATE) + SAMPLE_RATE // 10]
        # the earcon is in the WAV only where earcons were asked for: speech was really spoken
        assert (_match(heard, default_cues()["happy"]) > 0.95) == (cue == "tone"), cue
    assert cues[0] == cues[1], cues  # the same cues, so the loudest is the same cue
    np.testing.assert_allclose(confidences[0], confidences[1], atol=1e-3)  # two processes
    assert peaks[1] / peaks[0] == pytest.approx(0.5, abs=0.03), (peaks, cues)


def test_the_events_log_says_when_each_cue_starts_to_sound(video, tmp_path):
    """One cue sounds at a time: each cue's sounds_at is when it was queued (played) or later,
    when the cues before it (state cues included) have ended; with a WAV, it sounds there."""
    log, wav = tmp_path / "e.jsonl", tmp_path / "out.wav"
    r = run_live(
        "--source", video, "--no-realtime", "--cue", "speech", "--events-log", log, "--audio-out", wav
    )
    assert r.returncode == 0, r.stderr
    cues = [c for c in read_log(log) if "sounds_at" in c]
    assert len(cues) >= 3
    end = 0.0
    for c in cues:
        assert c["sounds_at"] >= max(c["played"], end) - 1e-3, cues
        end = c["sounds_at"] + c["sounds_s"]
    audio = read_wav(wav)[0].mean(axis=1)
    for c in cues:  # each cue sounds from its sounds_at
        start = int(c["sounds_at"] * SAMPLE_RATE)
        assert np.abs(audio[start : start + int(c["sounds_s"] * SAMPLE_RATE)]).max() > 0.05, c
