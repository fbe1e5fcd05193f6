"""`fer-audio narrate` end to end on real faces, every kind of bad input, the report, exit codes."""

import csv
import json
import os
import re
import signal
import struct
import subprocess
import sys
import time
import zlib

import cv2
import numpy as np
import pytest

from conftest import ROOT, pad_face, run_cli, start_cli
from fer_audio.apps.narrate import REPORT_COLUMNS, describe
from fer_audio.sound.wavio import read_wav
from fer_audio.types import FaceBox, FacePrediction

pytestmark = pytest.mark.shared


def _face(emotion_index: int, x: int) -> FacePrediction:
    p = np.full(7, 0.01, np.float32)
    p[emotion_index] = 0.94
    return FacePrediction(FaceBox(x, 0, 10, 10), p)


def test_sentences_a_listener_can_follow():
    assert describe("IMG_0013", []) == "IMG_0013: no face found."
    assert describe("IMG_0011", [_face(3, 0)]) == "IMG_0011: one face, happy."
    assert (
        describe("IMG_0012", [_face(3, 0), _face(6, 50)])
        == "IMG_0012: two faces. Left: happy. Right: neutral."
    )
    three = describe("a", [_face(0, 0), _face(4, 1), _face(5, 2)])
    assert three == "a: three faces. Left: angry. Middle: sad. Right: surprise."
    assert describe("b", [_face(3, i) for i in range(4)]).startswith(
        "b: four faces. From left. Face 1: happy."
    )


def _png_bomb(path, side=20000):
    """A valid PNG header that claims side x side pixels (the data is tiny)."""

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    raw = zlib.compress(b"\x00" * (side + 1) * 4)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", raw)
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def photo_folder(tmp_path, detectable_faces, video_frames):
    d = tmp_path / "photos"
    (d / "sub").mkdir(parents=True)
    cv2.imwrite(str(d / "IMG_2.png"), pad_face(detectable_faces[0]))
    cv2.imwrite(str(d / "IMG_10.jpg"), video_frames[40])
    cv2.imwrite(str(d / "sub" / "empty_wall.png"), np.full((200, 300, 3), 90, np.uint8))
    _, buf = cv2.imencode(".jpg", pad_face(detectable_faces[1]))
    (d / "truncated.jpg").write_bytes(buf.tobytes()[:200])
    (d / "zero.jpg").write_bytes(b"")
    (d / "notes.jpg").write_text("this is text, not a photo")
    (d / "locked.png").write_bytes((d / "IMG_2.png").read_bytes())
    (d / "locked.png").chmod(0)
    os.symlink(d / "missing.png", d / "broken.png")
    os.symlink(d / "loop.png", d / "loop.png")
    (d / os.fsdecode(b"caf\xe9.png")).write_bytes((d / "IMG_2.png").read_bytes())
    _png_bomb(d / "bomb.png")
    (d / "readme.txt").write_text("ignored: not an image type")
    return d


def test_narrates_a_folder_with_every_kind_of_bad_input(photo_folder, tmp_path):
    report = tmp_path / "report.csv"
    r = run_cli("narrate", photo_folder, "--no-speak", "--report", report)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0].startswith("bomb: ") is False
    names = [ln.split(":")[0] for ln in lines[:-1]]
    assert names.index("IMG_2") < names.index("IMG_10")  # natural order
    assert any(ln.startswith("IMG_2: one face, ") for ln in lines)
    assert any(ln.startswith("empty_wall: no face found.") for ln in lines)
    assert lines[-1].startswith("Done: ")
    err = r.stderr
    root_is_exempt = os.geteuid() == 0  # root reads files whatever their mode
    expected = {
        "truncated.jpg": "not a readable image",
        "zero.jpg": "empty file",
        "notes.jpg": "not a readable image",
        "broken.png": "broken symbolic link",
        "loop.png": "symbolic link loop",
        "bomb.png": "image too large",
    }
    if not root_is_exempt:
        expected["locked.png"] = "permission denied"
    missing = [
        (name, reason)
        for name, reason in expected.items()
        if not any(name in ln and reason in ln for ln in err.splitlines())
    ]
    if missing:  # the whole of both streams, which an assertion's repr would cut short
        pytest.fail(f"not said: {missing}\nstderr:\n{err}\nstdout:\n{r.stdout}", pytrace=False)
    assert all(ln.startswith("fer-audio: skipped ") for ln in err.strip().splitlines())
    rows = list(csv.DictReader(report.open()))
    assert list(rows[0].keys()) == REPORT_COLUMNS
    by_name = {os.path.basename(r["path"]): r for r in rows}
    assert by_name["zero.jpg"]["face"] == "" and "empty file" in by_name["zero.jpg"]["note"]
    face_row = next(r for r in rows if r["path"].endswith("IMG_2.png"))
    assert face_row["face"] == "1" and float(face_row["confidence"]) > 0
    assert (
        abs(
            sum(
                float(face_row[e])
                for e in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
            )
            - 1
        )
        < 1e-3
    )
    assert any("caf\ufffd" in r["path"] for r in rows)  # a non-UTF-8 name is processed, shown readably


def test_parallel_narration_gives_the_same_results_in_the_same_order(photo_folder, recognizer):
    from fer_audio.apps.narrate import narrate

    def flat(results):
        return [(r.path, r.error, [(f.box, f.probabilities.tobytes()) for f in r.faces]) for r in results]

    one = flat(narrate([photo_folder], recognizer, workers=1))
    assert len(one) == 11 and sum(r[1] is None for r in one) >= 3  # 11 candidates, 3+ readable
    assert flat(narrate([photo_folder], recognizer, workers=2)) == one
    img_2 = next(r for r in one if r[0].name == "IMG_2.png")
    assert flat(narrate([photo_folder, photo_folder / "IMG_2.png"], recognizer, workers=3))[-1] == img_2


def test_json_report_and_nothing_else_written(photo_folder, tmp_path):
    before = sorted(p.name for p in tmp_path.rglob("*"))
    report = tmp_path / "r.json"
    r = run_cli("narrate", photo_folder / "IMG_2.png", "--no-speak", "--report", report, "--quiet")
    assert r.returncode == 0
    data = json.loads(report.read_text())
    assert data[0]["face"] == 1 and data[0]["emotion"] in REPORT_COLUMNS
    after = sorted(p.name for p in tmp_path.rglob("*"))
    assert sorted(set(after) - set(before)) == ["r.json"]


def test_narrate_reads_each_face_mirrored_too_unless_told_not(photo_folder, tmp_path):
    from fer_audio.apps.narrate import narrate
    from fer_audio.labels import EMOTIONS
    from fer_audio.vision.recognize import Recognizer, RecognizerOptions

    photo = photo_folder / "IMG_2.png"
    read = {}
    for flags, mirror in (((), True), (("--no-mirror",), False)):
        report = tmp_path / f"{mirror}.json"
        r = run_cli("narrate", photo, "--no-speak", "--quiet", "--report", report, *flags)
        assert r.returncode == 0, r.stderr
        row = json.loads(report.read_text())[0]
        read[mirror] = np.array([row[e] for e in EMOTIONS])
        (result,) = narrate([photo], Recognizer(RecognizerOptions(mirror=mirror)), workers=1)
        np.testing.assert_allclose(read[mirror], result.faces[0].probabilities, atol=2e-6)
    assert np.abs(read[True] - read[False]).max() > 1e-3


def test_exit_codes(tmp_path):
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8 nothing")
    assert run_cli("narrate", tmp_path / "bad.jpg", "--no-speak").returncode == 1
    assert run_cli("narrate", "--no-speak").returncode == 2
    r = run_cli("narrate", tmp_path, "--no-speak", "--report", tmp_path / "r.txt")
    assert r.returncode == 2 and "must end in .csv or .json" in r.stderr


def test_renders_the_narration_to_a_wav(photo_folder, tmp_path):
    from fer_audio.sound.wavio import read_wav

    out = tmp_path / "narration.wav"
    r = run_cli("narrate", photo_folder / "IMG_2.png", photo_folder / "sub", "--audio-out", out)
    assert r.returncode == 0, r.stderr
    samples, rate = read_wav(out)
    assert rate == 44100 and samples.shape[1] == 2
    seconds = len(samples) / rate
    assert 2.0 < seconds < 20.0  # two sentences and the summary, spoken
    assert np.abs(samples).max() > 0.05


def test_the_narration_volume_is_applied_once(photo_folder, tmp_path):
    from fer_audio.sound.wavio import read_wav

    peaks = []
    for volume in (1.0, 0.5):
        out = tmp_path / f"narration-{volume}.wav"
        r = run_cli("narrate", photo_folder / "IMG_2.png", "--audio-out", out, "--volume", volume)
        assert r.returncode == 0, r.stderr
        peaks.append(np.abs(read_wav(out)[0]).max())
    assert peaks[1] / peaks[0] == pytest.approx(0.5, abs=0.03)


def test_a_reader_that_stops_early_loses_no_file(photo_folder, tmp_path):
    """`narrate ... --report r.csv --audio-out n.wav | head -1`: the pipe closes after the first
    line; narrate goes on, writes the whole report and the WAV, says nothing about the pipe (nor
    does the speech engine) and exits 0. The child is paused while the reader checks that lines
    are still to come and closes the pipe, so a counted run really writes into a closed pipe."""
    folder = tmp_path / "many"
    folder.mkdir()
    long_name = " at the lake house with all of the family and the neighbours" * 3  # long to say
    for k in range(24):
        (folder / f"IMG_{k}{long_name}.png").write_bytes((photo_folder / "IMG_2.png").read_bytes())
    report, wav = tmp_path / "r.csv", tmp_path / "n.wav"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "fer_audio", "narrate", folder, "--report", report, "--audio-out", wav]
    for _ in range(5):  # a run whose child wrote everything before the reader went is not counted
        proc = subprocess.Popen(list(map(str, cmd)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        first = proc.stdout.readline()
        proc.send_signal(signal.SIGSTOP)
        os.set_blocking(proc.stdout.fileno(), False)
        seen = first + (proc.stdout.read() or b"")
        proc.stdout.close()  # the reader goes away, as head does
        proc.send_signal(signal.SIGCONT)
        _, err = proc.communicate(timeout=300)
        stderr = err.decode()
        assert proc.returncode == 0, stderr
        assert "Error" not in stderr and "Broken" not in stderr and "Exception" not in stderr, stderr
        lines = seen.decode().splitlines()
        assert lines[0].startswith("IMG_0") and all(
            re.match(r"IMG_\d+ at .*: one face, ", line) for line in lines
        ), lines
        assert len(report.read_text().splitlines()) == 25 and wav.stat().st_size > 44
        if not any(line.startswith("Done") for line in lines):
            return  # the summary, at least, was written into the closed pipe
    pytest.fail("narrate wrote everything before the pipe closed in 5 runs; the pipe was never broken")


def _album(photo_folder, tmp_path, n: int = 60):
    folder = tmp_path / "album"
    folder.mkdir()
    for k in range(n):
        (folder / f"IMG_{k}.png").write_bytes((photo_folder / "IMG_2.png").read_bytes())
    return folder


def _narrate_process(folder, report, wav):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "fer_audio", "narrate", folder, "--report", report, "--audio-out", wav]
    return subprocess.Popen(list(map(str, cmd)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def test_ctrl_c_in_narrate_keeps_what_was_done(photo_folder, tmp_path):
    """Ctrl-C after the third sentence: narrate stops after the photo at hand; the report holds
    every photo done and says it was stopped; the WAV is whole; one line, exit 130."""
    folder = _album(photo_folder, tmp_path)
    report, wav = tmp_path / "r.csv", tmp_path / "n.wav"
    proc = _narrate_process(folder, report, wav)
    said = [proc.stdout.readline() for _ in range(3)]
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    lines = [line.decode() for line in said] + out.decode().splitlines(keepends=True)
    assert proc.returncode == 130, err
    done = [line for line in lines if line.startswith("IMG_")]
    assert 3 <= len(done) < 60 and lines[-1].startswith("Stopped: "), lines
    kept = f"--report {report} and --audio-out {wav} hold those"
    assert err.decode().splitlines() == [f"fer-audio: stopped after {len(done)} of 60 images; {kept}"]
    rows = list(csv.DictReader(report.open()))
    assert (
        len(rows) == len(done) + 1 and rows[-1]["note"] == f"stopped (Ctrl-C) after {len(done)} of 60 images"
    )
    samples, rate = read_wav(wav, complete=True)  # the header's length is what the file holds
    assert len(samples) > rate * len(done)  # about 1.5 s a sentence
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # nothing partial


def test_ctrl_c_at_any_moment_of_narrate_leaves_no_partial_file(photo_folder, tmp_path):
    """Ctrl-C at several moments from fer-audio's start (the command line, the model, the first
    photos; the interpreter's own start-up before it is CPython's, conftest.HANDED_OVER):
    one "stopped" line, exit 130, no traceback, no temporary file; a WAV, if any, is whole."""
    folder = _album(photo_folder, tmp_path)
    for k, delay in enumerate((0.1, 0.3, 0.6, 1.0)):
        report, wav = tmp_path / f"r{k}.csv", tmp_path / f"n{k}.wav"
        args = ("narrate", folder, "--report", report, "--audio-out", wav)
        proc = start_cli(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # from fer-audio's entry point; what is loading then varies: each outcome is checked
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        lines = err.decode().splitlines()
        assert proc.returncode == 130 and len(lines) == 1, (delay, lines)
        assert lines[0].startswith("fer-audio: stopped"), (delay, lines)
        if wav.exists():
            read_wav(wav, complete=True)
        assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")], delay


def test_a_second_ctrl_c_stops_at_once():
    """The first Ctrl-C asks narrate to stop after the photo at hand (an event); a second one
    interrupts at once."""
    from fer_audio.apps.narrate_run import stop_on_ctrl_c

    with stop_on_ctrl_c() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.wait(10)  # the handler ran in this (main) thread
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(10)  # interrupted long before
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
