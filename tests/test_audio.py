"""The real audio path: sounddevice -> PortAudio -> PulseAudio null sink, recorded with parec."""

import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from conftest import ROOT, start_pulse
from fer_audio.sound.audio import WavOutput
from fer_audio.sound.cues import pan_gains, stereo
from fer_audio.sound.earcons import SAMPLE_RATE, default_cues
from fer_audio.sound.mixer import Mixer
from fer_audio.sound.wavio import read_wav, write_wav

pytestmark = pytest.mark.audio

PLAYER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from fer_audio.sound.audio import SoundDeviceOutput
    from fer_audio.sound.cues import stereo
    from fer_audio.sound.earcons import default_cues
    from fer_audio.sound.speech import Speaker
    out = SoundDeviceOutput()
    cues = default_cues()
    out.play(stereo(cues["ready"], 0.5))  # as in the live tool: the first cue warms up the sink
    out.wait()
    time.sleep(0.3)
    out.play(stereo(cues["happy"], 0.0))
    out.wait()
    time.sleep(0.3)
    out.play(stereo(cues["sad"], 1.0))
    out.wait()
    time.sleep(0.3)
    out.play(stereo(Speaker().render("happy"), 0.5))
    out.wait()
    out.close()
""")


def _spectrum(x: np.ndarray) -> np.ndarray:
    mag = np.abs(np.fft.rfft(x, n=16384))
    return mag / np.linalg.norm(mag)


def _find(recorded: np.ndarray, cue: np.ndarray) -> tuple[int, float]:
    """(offset, normalised correlation) of cue inside recorded (mono)."""
    corr = np.correlate(recorded, cue, mode="valid")
    energy = np.sqrt(np.convolve(recorded**2, np.ones(len(cue)), mode="valid")) * np.linalg.norm(cue)
    score = corr / np.maximum(energy, 1e-9)
    i = int(np.argmax(score))
    return i, float(score[i])


@pytest.mark.slow
def test_what_is_played_is_what_was_sent(null_sink, tmp_path):
    raw = tmp_path / "rec.raw"
    rec = null_sink.record(raw)
    try:
        env = {**null_sink.env, "PYTHONPATH": str(ROOT)}
        r = subprocess.run(
            [sys.executable, "-c", PLAYER], env=env, capture_output=True, text=True, timeout=60
        )
        assert r.returncode == 0, r.stderr
        null_sink.wait_for_more(raw, rec, 0.5)  # the last of it has come through the monitor
    finally:
        rec.terminate()
        rec.wait()
    audio = null_sink.read(raw)
    assert len(audio) > SAMPLE_RATE // 2, "nothing was recorded from the null sink"
    cues = default_cues()
    left, right = audio[:, 0].astype(np.float64), audio[:, 1].astype(np.float64)
    i_happy, s_happy = _find(left, cues["happy"].astype(np.float64))
    i_sad, s_sad = _find(right, cues["sad"].astype(np.float64))
    assert s_happy > 0.95 and s_sad > 0.95, (s_happy, s_sad)
    assert i_sad > i_happy + len(cues["happy"])  # in order, not overlapping
    # panned: happy (x=0) is in the left ear only, sad (x=1) in the right only
    seg = slice(i_happy, i_happy + len(cues["happy"]))
    assert np.abs(right[seg]).max() < 0.01 * np.abs(left[seg]).max()
    # the spectrum of what was recorded matches what was sent, and so does the level
    np.testing.assert_array_less(0.98, float(_spectrum(left[seg]) @ _spectrum(cues["happy"])))
    assert np.abs(left[seg]).max() == pytest.approx(np.abs(cues["happy"]).max(), rel=0.05)
    # the spoken label follows the two cues
    tail = audio[i_sad + len(cues["sad"]) :].mean(axis=1)
    assert np.sqrt(np.mean(tail**2)) > 0.005 and (np.abs(tail) > 0.05).sum() > SAMPLE_RATE * 0.05


def test_mixer_replaces_a_stale_cue_and_bounds_the_backlog():
    clock = iter(np.arange(0, 100, 0.001)).__next__
    m = Mixer(max_backlog=1.0, clock=clock)
    one_second = np.ones((SAMPLE_RATE, 2), np.float32)
    m.submit(one_second * 0.1, key=1)
    m.submit(one_second * 0.2, key=1)  # a newer event for the same face replaces the queued one
    out = np.zeros((256, 2), np.float32)
    m.fill(out)
    assert np.allclose(out, 0.2)
    for k in range(5):
        m.submit(one_second * 0.3, key=10 + k)
    assert m.backlog_seconds() <= 2.0 + 1e-6  # the playing cue plus at most ~1 s queued
    m.muted = True
    m.fill(out)
    assert not out.any()


def test_mixer_callback_only_copies_and_records_start_times():
    m = Mixer()
    cue = m.submit(stereo(default_cues()["fear"]))
    out = np.zeros((256, 2), np.float32)
    m.callback(out, 256, None, None)
    assert cue.started is not None and cue.started >= cue.submitted
    np.testing.assert_allclose(out[:, 0], stereo(default_cues()["fear"])[:256, 0])


def test_the_callback_counts_underflows_and_says_when_all_is_played():
    """PortAudio's status is checked (an underflow is counted), and `drained` is set once the
    last sample is handed over: what SoundDeviceOutput.wait() waits on instead of polling."""
    import sounddevice as sd

    m = Mixer()
    assert m.drained.is_set()  # nothing queued
    samples = stereo(default_cues()["fear"])
    m.submit(samples)
    assert not m.drained.is_set()
    ran_dry, fine = sd.CallbackFlags(), sd.CallbackFlags()
    ran_dry.output_underflow = True
    out = np.zeros((256, 2), np.float32)
    m.callback(out, 256, None, ran_dry)
    assert m.underflows == 1 and not m.drained.is_set()
    for _ in range(len(samples) // 256):
        m.callback(out, 256, None, fine)
    assert m.drained.is_set() and m.underflows == 1


def test_wav_output_places_cues_on_the_timeline(tmp_path):
    out = WavOutput(tmp_path / "a.wav")
    cue = stereo(default_cues()["neutral"], 0.5)
    out.play(cue, at=1.0)
    out.play(cue, at=2.5)
    out.close()
    x, rate = read_wav(tmp_path / "a.wav")
    loud = np.flatnonzero(np.abs(x[:, 0]) > 0.01)
    assert loud[0] / rate == pytest.approx(1.0, abs=0.02) and loud[-1] / rate < 2.5 + len(cue) / rate + 0.01


def test_equal_power_pan():
    left, right = pan_gains(0.5)
    assert left == pytest.approx(right) and left**2 + right**2 == pytest.approx(1.0)
    assert pan_gains(0.0) == pytest.approx((1.0, 0.0))


def test_no_device_gives_one_clear_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "fer_audio",
            "sounds",
            "preview",
            "--no-speak",
            "--audio-device",
            "no such device",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "--audio-out" in r.stderr


def test_preview_renders_every_cue_and_its_name(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = tmp_path / "preview.wav"
    r = subprocess.run(
        [sys.executable, "-m", "fer_audio", "sounds", "preview", "--audio-out", out],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    x, rate = read_wav(out)
    assert len(x) / rate > 12 * 0.6  # twelve cues, each with a pause and a spoken name
    assert "happy" in r.stdout and "camera lost" in r.stdout


def test_an_emotion_cue_is_never_dropped_for_a_gesture_and_drops_are_counted():
    from fer_audio.sound.mixer import LOW

    m = Mixer(max_backlog=1.0)
    half = np.ones((SAMPLE_RATE // 2, 2), np.float32)
    m.submit(half * 0.1, key=(1, "face"))  # face 1's emotion, queued
    m.submit(half * 0.2, key=(1, "head"), priority=LOW)  # its nod: held back, the emotion stays
    assert m.held_back == 1 and m.backlog_seconds() == pytest.approx(0.5)
    out = np.zeros((256, 2), np.float32)
    m.fill(out)
    assert np.allclose(out, 0.1)
    for face in (2, 3, 4):  # three more faces' emotions: over the 1 s backlog, the oldest queued goes
        m.submit(half * 0.3, key=(face, "face"))
    assert m.over_backlog == 1 and m.replaced == 0
    m.submit(half * 0.4, key=(3, "face"))  # face 3's newer emotion replaces its queued one
    assert m.replaced == 1 and m.dropped == 3
    text = m.dropped_text()
    assert text.startswith("3 cues not played: 1 replaced") and "1 gestures held back" in text
    assert "1 over the backlog" in text
    idle = Mixer()
    idle.submit(half, key=(1, "head"), priority=LOW)  # nothing else playing: a gesture is heard
    assert idle.held_back == 0 and idle.backlog_seconds() > 0 and idle.dropped_text() == ""


def test_over_the_backlog_the_gesture_goes_before_any_emotion():
    from fer_audio.sound.mixer import LOW

    m = Mixer(max_backlog=1.0)
    half = np.ones((SAMPLE_RATE // 2, 2), np.float32)
    m.submit(half * 0.2, key=(1, "head"), priority=LOW)  # a nod alone: queued
    m.submit(half * 0.1, key=(2, "face"))
    m.submit(half * 0.3, key=(3, "face"))  # 1.5 s queued: the nod, not an emotion, is dropped
    assert m.over_backlog == 1
    heard = []
    out = np.zeros((SAMPLE_RATE // 2, 2), np.float32)
    for _ in range(2):
        m.fill(out)
        heard.append(round(float(out[0, 0]), 2))
    assert heard == [0.1, 0.3]


@pytest.mark.audio
@pytest.mark.shared
@pytest.mark.slow
def test_a_sound_server_that_dies_and_comes_back_mid_session(null_sink, video_frames, tmp_path):
    """A real PulseAudio server (its own, beside the suite's) killed 3 s into a live session and
    started again: 'sound lost' on stderr at once, PortAudio's own lines kept off it, and a
    'sound back' cue when it plays again; the session goes on to the end."""
    import cv2

    frames = video_frames
    h, w = frames[0].shape[:2]
    clip = tmp_path / "long.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 24.7, (w, h))
    for _ in range(3):  # about 14 s
        for frame in frames:
            writer.write(frame)
    writer.release()
    runtime = tmp_path / "pulse"
    runtime.mkdir(mode=0o700)
    env = start_pulse(runtime)
    proc = subprocess.Popen(
        [sys.executable, "-m", "fer_audio", "live", "--source", str(clip), "--cue", "tone"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout.readline().startswith("Ready."), proc.stderr.read()
        subprocess.run(["pulseaudio", "--kill"], env=env, check=True)
        lost = proc.stderr.readline()  # waits for the session to notice
        restarting = time.monotonic()
        start_pulse(runtime)
        lines = [(time.monotonic(), line) for line in proc.stdout]  # each as it comes (flushed)
        err = lost + proc.stderr.read()
        proc.wait(timeout=60)
    finally:
        proc.kill()
        subprocess.run(["pulseaudio", "--kill"], env=env, capture_output=True)
    out = "".join(line for _, line in lines)
    assert proc.returncode == 0, err
    assert lost.startswith("fer-audio: sound lost: the audio device stopped playing"), err
    assert "Expression" not in err and "pa_linux_alsa" not in err  # no third-party lines
    back = [t for t, line in lines if line.startswith("Sound back.")]
    assert back and back[0] > restarting, out  # said once the server was back, not before
    assert out.index("Sound back.") < out.index("Stopped.") and "Summary: " in out


def test_a_wav_still_being_written_is_incomplete_when_asked(tmp_path):
    """The speech engine writes its WAV from a thread of its own; read before it has finished, the
    file holds fewer frames than its header says. Read as complete it is an error (so the speaker
    waits for the rest: a word cut short was a quieter word); otherwise it reads as far as it goes."""
    path = tmp_path / "s.wav"
    write_wav(path, np.linspace(-0.5, 0.5, 1000, dtype=np.float32), 16000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 600])  # 300 frames not there yet
    with pytest.raises(ValueError, match="incomplete: 700 of 1000 frames"):
        read_wav(path, complete=True)
    x, rate = read_wav(path)
    assert x.shape == (700, 1) and rate == 16000
    path.write_bytes(data[:-1])  # half a frame short
    assert read_wav(path)[0].shape == (999, 1)
