"""Every mistake a user can make gets one clear line before any work starts, exit 2, no traceback,
and nothing left behind; output a screen reader reads cleanly. Each case runs the real CLI."""

import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from conftest import ROOT, cli_in_process, run_cli
from fer_audio.vision.classify import default_model_path


def one_line_error(r, expected: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and "Exception" not in r.stderr
    assert r.stderr.strip() == f"fer-audio: {expected}", r.stderr


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


@pytest.fixture
def photo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photo")
    cv2.imwrite(str(folder / "a.png"), np.full((64, 64), 100, np.uint8))
    return folder / "a.png"


def _commands(photo, fer_csv):
    """(command words, output option, a good suffix) for every output file option of every command."""
    return [
        (["live", "--no-audio"], "--events-log", ".jsonl"),
        (["live", "--no-audio"], "--record", ".mp4"),
        (["live"], "--audio-out", ".wav"),
        (["narrate", photo, "--no-speak"], "--report", ".csv"),
        (["narrate", photo], "--audio-out", ".wav"),
        (["evaluate", "--data", fer_csv], "--json", ".json"),
        (["sounds", "preview"], "--audio-out", ".wav"),
    ]


SUFFIXES = {
    "--events-log": ".jsonl, .json, .log or .txt",
    "--record": ".mp4 or .avi",
    "--audio-out": ".wav",
    "--report": ".csv or .json",
    "--json": ".json",
}


@pytest.mark.shared
def test_every_output_option_is_checked_before_any_work(tmp_path, photo, fer_csv, monkeypatch):
    """Table: each command's output options, each with a missing folder, an existing folder and
    a wrong name. Before this, several failed only after all the work, with a traceback. (In
    this process: it is all said before anything opens.)"""
    work = tmp_path / "work"
    work.mkdir()
    (work / "adir").mkdir()
    monkeypatch.chdir(work)
    for words, option, suffix in _commands(photo, fer_csv):
        before = _files(work)
        cases = {
            f"nosuchdir/x{suffix}": "the folder nosuchdir does not exist; "
            "create it first or choose another place",
            "adir": f"that is a folder; give a file name, such as adir/output{suffix}",
            "x.bin": f"the name must end in {SUFFIXES[option]}",
        }
        for value, why in cases.items():
            r = cli_in_process(*words, option, value)
            one_line_error(r, f"{option} {value}: {why}")
        assert _files(work) == before, (words, option)  # nothing written, not even a temp file


def test_conflicting_options_are_named(tmp_path, photo):
    r = cli_in_process("live", "--no-audio", "--audio-out", tmp_path / "both.wav")
    one_line_error(
        r,
        f"--no-audio and --audio-out {tmp_path / 'both.wav'} cannot be used together: one writes the "
        "sound to a file, the other makes none; drop one",
    )
    r = cli_in_process("narrate", photo, "--no-speak", "--audio-out", tmp_path / "n.wav")
    one_line_error(
        r,
        f"--no-speak and --audio-out {tmp_path / 'n.wav'} cannot be used together: --audio-out writes "
        "the spoken narration to a file instead; drop one",
    )
    assert _files(tmp_path) == []


def test_sounds_build_does_not_overwrite_a_pack_without_force(tmp_path):
    pack = tmp_path / "my-sounds"
    assert run_cli("sounds", "build", pack).returncode == 0
    edited = pack / "happy.wav"
    edited.write_bytes(b"my own edit")
    r = run_cli("sounds", "build", pack)
    one_line_error(
        r,
        f"sounds build {pack}: the folder already holds angry.wav, camera_lost.wav, disgust.wav ...; "
        "choose a new folder, or add --force to overwrite them",
    )
    assert edited.read_bytes() == b"my own edit"
    assert run_cli("sounds", "build", pack, "--force").returncode == 0
    assert edited.read_bytes() != b"my own edit"


def test_show_without_a_display_is_refused_before_opening_anything(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    r = subprocess.run(
        [sys.executable, "-m", "fer_audio", "live", "--show", "--no-audio", "--source", "57"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    one_line_error(
        r,
        "--show: there is no display here (DISPLAY is not set); leave --show out, or save the video "
        "with --record FILE.mp4",
    )


def test_train_rejects_data_it_cannot_read_before_loading_tensorflow(tmp_path):
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(os.urandom(100))
    r = run_cli("train", "--data", garbage, "--out", tmp_path / "run", check_imports=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().startswith(f"fer-audio: --data {garbage}: not FER-style data; give class folders")
    assert r.stdout.strip() == "HEAVY:"  # rejected before TensorFlow loads (which took 7-18 s)
    assert not (tmp_path / "run").exists()
    r = run_cli("train", "--data", garbage.parent, "--out", tmp_path / "run", "--resume", check_imports=True)
    assert (
        r.stderr.strip()
        == f"fer-audio: --out {tmp_path / 'run'}: no run to resume there; start without --resume"
    )
    assert r.stdout.strip() == "HEAVY:"


def test_train_rejects_bad_teachers_and_widths_before_loading_tensorflow(fer_csv, tmp_path):
    out = tmp_path / "run"
    ensemble = tmp_path / "ensemble"  # an ensemble run's layout: --init needs one of its members
    for k in (1, 2):
        (ensemble / f"member-{k}").mkdir(parents=True)
        (ensemble / f"member-{k}" / "best.keras").write_bytes(b"")
    cases = [
        (
            ["--teacher", tmp_path / "nope"],
            f"fer-audio: --teacher {tmp_path / 'nope'}: no best.keras there (nor in member-*/); "
            "give a finished run folder",
        ),
        (
            ["--widths", "64,x"],
            "fer-audio: --widths 64,x: give positive channel counts separated by commas, e.g. 32,64,128,256",
        ),
        (
            ["--distill-weight", "0.5"],
            "fer-audio: --distill-weight needs --teacher RUN: there is nothing to distil from",
        ),
        (
            ["--teacher-mirror"],
            "fer-audio: --teacher-mirror needs --teacher RUN: there is nothing to distil from",
        ),
        (
            ["--init", tmp_path],
            f"fer-audio: --init {tmp_path}: no best.keras there; give a finished run folder (one network)",
        ),
        (
            ["--init", ensemble],
            f"fer-audio: --init {ensemble}: an ensemble of 2 networks; give one member's folder, "
            f"e.g. {ensemble / 'member-1'}",
        ),
    ]
    for extra, message in cases:
        r = run_cli("train", "--data", fer_csv, "--out", out, *extra, check_imports=True)
        assert r.returncode == 2 and r.stderr.strip() == message
        assert r.stdout.strip() == "HEAVY:"
    assert not out.exists()


@pytest.mark.shared
def test_the_wrong_kind_of_input_is_named_in_the_users_words(tmp_path, photo, video, monkeypatch):
    """In this process: each is said before anything opens."""
    monkeypatch.chdir(tmp_path)
    r = cli_in_process("live", "--sound-pack", "nosuchpack", "--no-audio")
    one_line_error(
        r,
        "--sound-pack nosuchpack: no such folder; give a sound pack folder (see sounds/README.md) or "
        "leave the option out for the built-in sounds",
    )
    r = cli_in_process("live", "--source", tmp_path, "--no-audio")
    one_line_error(
        r,
        f"--source {tmp_path}: that is a folder; live reads a camera index, a video file or a stream URL "
        f"(for a folder of photos: fer-audio narrate {tmp_path})",
    )
    r = cli_in_process("live", "--source", "http://127.0.0.1:9/stream.mjpg", "--no-audio")
    one_line_error(
        r,
        "http://127.0.0.1:9/stream.mjpg: the stream could not be reached or opened; "
        "check the address and the network",
    )
    album = tmp_path / "album"
    album.mkdir()
    shutil.copy(photo, album / "party.png")
    r = cli_in_process("evaluate", "--data", album)
    one_line_error(
        r,
        f"{album}: no labelled faces found; expected class folders named angry, disgust, fear, happy, sad, "
        "surprise, neutral (optionally inside train/ and test/), a .tar.gz of them, or the challenge CSV "
        "(emotion,pixels,Usage; .csv or .csv.gz)",
    )
    empty = tmp_path / "notes"
    empty.mkdir()
    (empty / "readme.txt").write_text("no pictures here")
    r = cli_in_process("narrate", empty, "--no-speak")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip() == (
        f"fer-audio: no image files in {empty}: looked for names ending in "
        ".jpg, .jpeg, .png, .bmp, .tif, .tiff, .webp"
    )
    # one line per mistake: a text file is skipped as one (it is not called a folder too)
    r = cli_in_process("narrate", empty / "readme.txt", "--no-speak")
    assert r.returncode == 1 and r.stderr.strip() == (
        f"fer-audio: skipped {empty / 'readme.txt'}: not an image type "
        "(.jpg, .jpeg, .png, .bmp, .tif, .tiff, .webp)"
    )
    # nothing there at all is a usage error, as elsewhere (it exited 1)
    one_line_error(
        cli_in_process("narrate", tmp_path / "no-such-album", "--no-speak"),
        f"{tmp_path / 'no-such-album'}: no such file or folder; check the path",
    )


def test_no_sound_device_wording_fits_each_command(photo):
    r = run_cli("sounds", "preview", "--no-speak", "--audio-device", "no such device")
    one_line_error(
        r,
        "there is no audio output device no such device (fer-audio devices lists them); "
        "use --audio-out FILE.wav to write the cues to a file",
    )
    r = run_cli("narrate", photo, "--speak", "--audio-device", "no such device")
    assert r.returncode == 2 and "--no-audio" not in r.stderr
    assert r.stderr.strip().endswith(
        "use --audio-out FILE.wav to write the narration to a file, or --no-speak"
    ), r.stderr


@pytest.mark.shared
def test_live_says_what_a_screen_reader_user_needs_once(tmp_path, photo):
    """--quiet keeps the closing summary; 'Stopped.' is not said twice; a still image is one
    frame; a model of one's own whose sidecar carries no calibration is noted once."""
    r = run_cli("live", "--source", photo, "--no-audio", "--quiet")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Summary: 1 frame in ")
    mine = tmp_path / "my.tflite"
    shutil.copy(default_model_path(), mine)
    r = run_cli("live", "--source", photo, "--no-audio", "--model", mine)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("Stopped") == 1 and "Summary: 1 frame in" in r.stdout
    assert r.stderr.count(f"--model {mine}: no my.json beside it, so its classes are read") == 1
    assert len(r.stderr.splitlines()) == 1, r.stderr  # one note, after the model loaded
    # with the shipped sidecar beside it (calibration and rest reference), nothing to note
    shutil.copy(default_model_path().with_suffix(".json"), mine.with_suffix(".json"))
    r = run_cli("live", "--source", photo, "--no-audio", "--model", mine)
    assert r.returncode == 0 and "calibration" not in r.stderr, r.stderr


@pytest.mark.shared
def test_record_saves_under_its_own_name_only_when_done(video, tmp_path):
    out = tmp_path / "rec.mp4"
    r = run_cli(
        "live", "--source", video, "--no-realtime", "--no-audio", "--max-seconds", "1", "--record", out
    )
    assert r.returncode == 0, r.stderr
    assert _files(tmp_path) == ["rec.mp4"]  # no temporary file left beside it
    cap = cv2.VideoCapture(str(out))
    assert cap.isOpened() and cap.read()[0]
    cap.release()


def test_narrate_progress_is_plain_lines_and_none_off_a_terminal(tmp_path, photo):
    from fer_audio.apps.narrate_run import PROGRESS_EVERY, Progress

    now, lines = [0.0], []
    progress = Progress(200, enabled=True, clock=lambda: now[0], emit=lines.append)
    for done in range(1, 201):
        now[0] += PROGRESS_EVERY / 20  # 20 images per progress interval
        progress.update(done)
    Progress(200, enabled=False, clock=lambda: 1e9, emit=lines.append).update(100)
    assert lines[0] == "20 of 200 images, 10%"
    assert len(lines) == 9  # every 5 s, never the last one (the summary says it)
    assert all("\r" not in m and "\x1b" not in m for m in lines)
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(3):
        shutil.copy(photo, folder / f"p{i}.png")
    r = run_cli("narrate", folder, "--no-speak")  # stderr is a pipe here, not a terminal
    assert r.returncode == 0 and r.stderr == ""


def test_clicks_own_usage_errors_are_one_line_too():
    """In this process (cli_in_process): what the command line says before it opens anything."""
    one_line_error(
        cli_in_process("live", "--min-face", "5"),
        "Invalid value for '--min-face': must be from 12 to 4096, not 5; see 'fer-audio live --help'",
    )
    one_line_error(cli_in_process("live", "--bogus"), "no such option --bogus; see 'fer-audio live --help'")
    # a suggestion only when one is close (click offered --record, --source, --volume for --colour)
    one_line_error(cli_in_process("live", "--colour"), "no such option --colour; see 'fer-audio live --help'")
    one_line_error(
        cli_in_process("live", "--sensitivty"),
        "no such option --sensitivty (did you mean --sensitivity?); see 'fer-audio live --help'",
    )
    one_line_error(
        cli_in_process("sounds", "check", "/nonexistent"),
        "sounds check /nonexistent: no such folder; give the folder that holds the pack's manifest.json",
    )
    r = cli_in_process()
    assert r.returncode == 0 and r.stdout.startswith("Usage: ")


def test_an_unknown_voice_is_a_usage_error_not_a_missing_wav(tmp_path, photo):
    """It used to warn 'using earcons only' and write no WAV, exit 0."""
    r = run_cli("narrate", photo, "--audio-out", "n.wav", "--voice", "zzzz", cwd=tmp_path)
    one_line_error(
        r,
        "--voice zzzz: no voice matches it; try a language code such as 'en' (espeak-ng --voices lists them)",
    )
    assert _files(tmp_path) == []


NO_SERVER = {"PULSE_SERVER": "unix:/nonexistent/fer-audio-test"}  # the sound server pointed nowhere


def _skip_with_a_sound_card() -> None:
    """Only a machine with a sound card of its own has a device once the server is gone."""
    probe = "import sounddevice as sd; print(any(d['max_output_channels'] > 0 for d in sd.query_devices()))"
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env={**os.environ, **NO_SERVER}
    )
    if found.stdout.strip() == "True":
        pytest.skip("this machine has a sound card of its own")


def test_no_sound_device_at_all_is_said_in_plain_words():
    """PortAudio says '(Error querying device -1)'; the user reads that there is no device."""
    _skip_with_a_sound_card()
    r = run_cli("sounds", "preview", "--no-speak", extra_env=NO_SERVER)
    one_line_error(
        r, "no audio output device was found; use --audio-out FILE.wav to write the cues to a file"
    )


def test_devices_with_no_device_exits_as_the_other_commands_and_says_what_to_do():
    _skip_with_a_sound_card()
    r = run_cli("devices", extra_env=NO_SERVER)
    one_line_error(
        r,
        "no audio output device was found; connect headphones or speakers, or write the sound to a "
        "file with live, narrate or sounds preview --audio-out FILE.wav",
    )


def test_live_with_neither_camera_nor_sound_says_both_one_line_each():
    """It used to say only the sound; the README's order is the camera, then the sound."""
    _skip_with_a_sound_card()
    r = run_cli("live", "--source", "7", extra_env=NO_SERVER)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.splitlines() == [
        "fer-audio: camera 7 could not be opened; check that it is connected, or pass --source VIDEO",
        "fer-audio: no audio output device was found; use --audio-out FILE.wav to write the sound to a "
        "file, or --no-audio",
    ]


def test_narrate_says_once_that_it_is_not_speaking(photo):
    """narrate speaks where it can; with no device it narrates as text, and says so once, first."""
    _skip_with_a_sound_card()
    r = run_cli("narrate", photo, photo, extra_env=NO_SERVER)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 3, r.stdout  # two photos, the summary
    assert r.stderr.splitlines() == [
        "fer-audio: no audio output device was found, so the narration is not spoken; use --audio-out "
        "FILE.wav to save it as sound, or --no-speak for text only"
    ]


def test_live_tells_a_bad_model_voice_or_sound_pack_before_opening_the_camera(tmp_path):
    """Camera 7 does not exist here: each mistake is told, not 'camera 7 could not be opened'."""
    not_tflite = tmp_path / "model.tflite"
    not_tflite.write_text("not a model\n")
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "manifest.json").write_text("{")
    cases = [
        (["--model", str(not_tflite), "--quiet"], f"{not_tflite}: not a usable TFLite model"),
        (["--cue", "speech", "--voice", "zz-no-such-voice"], "--voice zz-no-such-voice: no voice matches it"),
        (["--sound-pack", str(pack)], f"{pack / 'manifest.json'}: not a valid manifest"),
    ]
    for extra, expected in cases:
        r = subprocess.run(
            [sys.executable, "-m", "fer_audio", "live", "--source", "7", "--no-audio", *extra],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 2, r.stderr
        assert r.stderr.startswith(f"fer-audio: {expected}") and "camera" not in r.stderr, r.stderr


def test_ctrl_c_while_a_native_module_loads_is_stopped_not_a_traceback():
    """pybind11 turns a Ctrl-C during a native module's initialisation (LiteRT's, as live's model
    loads) into ImportError('initialization failed') raised from the KeyboardInterrupt: seen in CI
    as a traceback and exit 1 when Ctrl-C came 0.2 s into `live`. A command that fails so is
    stopped (130, one line); any other ImportError is not hidden."""
    import click
    from click.testing import CliRunner

    from fer_audio.cli.group import OneLineErrors

    @click.group(cls=OneLineErrors)
    def group():
        pass

    @group.command()
    def interrupted():
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise ImportError("initialization failed") from exc

    @group.command()
    def broken():
        raise ImportError("No module named 'nothing_here'")

    r = CliRunner().invoke(group, ["interrupted"])
    assert r.exit_code == 130 and r.stderr == "fer-audio: stopped\n", r.stderr
    r = CliRunner().invoke(group, ["broken"])
    assert isinstance(r.exception, ImportError) and "nothing_here" in str(r.exception)


@pytest.mark.shared
def test_live_on_a_file_that_is_no_video_or_a_damaged_one_says_which(video, tmp_path):
    """A text file named .jpg (it opens in OpenCV, then gives no frame), an empty .mp4 and a
    truncated one: one line each saying what is wrong with that file, exit 2, no FFmpeg lines."""
    text, empty, cut = tmp_path / "notimage.jpg", tmp_path / "empty.mp4", tmp_path / "cut.mp4"
    text.write_text("not a picture\n")
    empty.write_bytes(b"")
    cut.write_bytes(video.read_bytes()[:20000])
    expected = {
        text: "not a video or image OpenCV can read; convert it (e.g. to .mp4) first",
        empty: "the file is empty (0 bytes); pass a video file",
        cut: "the video is damaged or incomplete (no frame could be read); check that it plays, "
        "or copy or export it again",
    }
    for path, reason in expected.items():
        r = run_cli("live", "--source", path, "--no-audio", "--no-realtime")
        one_line_error(r, f"{path}: {reason}")
        assert r.stdout == "", r.stdout  # no "Ready" for a source that gives nothing


def test_a_number_out_of_range_says_what_it_must_be(tmp_path):
    r = run_cli("live", "--max-seconds", "-3", "--no-audio")
    one_line_error(
        r, "Invalid value for '--max-seconds': must be more than 0, not -3.0; see 'fer-audio live --help'"
    )
    r = run_cli("live", "--pause", "soon", "--no-audio")
    one_line_error(
        r,
        "Invalid value for '--pause': must be a number (from 0.05 to 5.0), not 'soon'; "
        "see 'fer-audio live --help'",
    )


@pytest.mark.shared
def test_a_model_that_is_no_model_is_one_line(tmp_path, video):
    """Not a note about its missing sidecar first: the one real error."""
    bad = tmp_path / "bad.tflite"
    bad.write_text("not a model\n")
    r = run_cli("live", "--model", bad, "--source", video, "--no-audio", "--no-realtime")
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1, r.stderr
    assert r.stderr.startswith(f"fer-audio: {bad}: not a usable TFLite model"), r.stderr
