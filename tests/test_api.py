"""The public Python API: light to import, the example in docs/python.md runs, and a session built from
LiveOptions hears what the command line hears."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest

import fer_audio
from conftest import ROOT
from fer_audio.apps.options import LiveOptions, OutputOptions
from fer_audio.vision.sources import SourceOptions


def test_import_is_light_and_lists_its_names():
    code = (
        "import sys, fer_audio; fer_audio.Recognizer; fer_audio.LiveOptions; fer_audio.live_events; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'jax')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    for name in fer_audio.__all__:
        assert getattr(fer_audio, name) is not None
    with pytest.raises(AttributeError):
        fer_audio.no_such_name  # noqa: B018


def _docs_example() -> str:
    text = (ROOT / "docs" / "python.md").read_text()
    return re.search(r"```python\n(.*?)```", text, re.S).group(1)


@pytest.mark.shared
@pytest.mark.slow
def test_the_docs_python_example_runs(video, video_frames, tmp_path):
    frame = video_frames[39]  # she smiles
    cv2.imwrite(str(tmp_path / "photo.jpg"), frame)
    (tmp_path / "photos").mkdir()
    cv2.imwrite(str(tmp_path / "photos" / "smile.jpg"), frame)
    (tmp_path / "clip.mp4").symlink_to(video)
    r = subprocess.run(
        [sys.executable, "-c", _docs_example()], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[0] in fer_audio.EMOTIONS  # the face in photo.jpg
    assert any(line.startswith("smile: ") and "happy" in line for line in lines)
    assert any(re.fullmatch(r"\d+\.\d s: emotion happy", line) for line in lines)


def _log_events(path) -> list[tuple]:
    records = [json.loads(line) for line in path.read_text().splitlines()]
    events = [r for r in records if r["kind"] not in ("session", "summary")]
    return [(r["t"], r["kind"], r.get("emotion"), r.get("face")) for r in events]


@pytest.mark.shared
@pytest.mark.slow
def test_session_from_options_hears_what_the_cli_hears(video, tmp_path):
    cli_log, api_log = tmp_path / "cli.jsonl", tmp_path / "api.jsonl"
    cmd = [sys.executable, "-m", "fer_audio", "live", "--source", str(video), "--no-realtime"]
    r = subprocess.run([*cmd, "--no-audio", "--events-log", str(cli_log)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    options = LiveOptions(
        source=SourceOptions(str(video), realtime=False),
        outputs=OutputOptions(no_audio=True, events_log=str(api_log)),
    )
    session = fer_audio.LiveSession.create_from_options(options)
    try:
        session.run()
    finally:
        session.source.close()
        session.output.close()
        session.log.close()
    heard = _log_events(api_log)
    assert heard == _log_events(cli_log)
    assert any(kind == "emotion" and emotion == "happy" for _, kind, emotion, _ in heard)
    logged = [(round(t, 3), k, e, f) for t, k, e, f in heard]
    everything = [
        (round(e.t, 3), e.kind, e.emotion, e.face) for e in fer_audio.live_events(options, silent=True)
    ]
    assert everything == logged
    audible = [(round(e.t, 3), e.kind, e.emotion, e.face) for e in fer_audio.live_events(options)]
    assert audible == [r for r in logged if not r[1].startswith("rest_face")]  # what a listener hears
    assert any(r[1].startswith("rest_face") for r in logged)


def test_library_errors_are_typed_and_the_cli_says_them_in_one_line(tmp_path):
    missing = str(tmp_path / "missing.mp4")
    with pytest.raises(fer_audio.FerAudioError) as caught:
        fer_audio.LiveSession.create_from_options(
            LiveOptions(source=SourceOptions(missing), outputs=OutputOptions(no_audio=True))
        )
    assert missing in str(caught.value)
    r = subprocess.run(
        [sys.executable, "-m", "fer_audio", "live", "--source", missing, "--no-audio"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == caught.value.exit_code == 2
    assert r.stderr.strip() == f"fer-audio: {caught.value}"


@pytest.mark.shared
def test_narrate_and_evaluate_print_nothing_of_their_own(video_frames, fer_csv, tmp_path, capfd):
    """The library's narration and scoring hand their lines to the caller: a script that passes
    no function to print with sees nothing on stdout or stderr, and gets the lines it asks for."""
    cv2.imwrite(str(tmp_path / "smile.jpg"), video_frames[39])
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    options = fer_audio.NarrateOptions(speak=False)
    assert fer_audio.run_narrate([str(tmp_path)], options) == 0
    scores = fer_audio.evaluate(str(fer_csv))
    assert capfd.readouterr() == ("", "")
    told, noted = [], []
    assert fer_audio.run_narrate([str(tmp_path)], options, tell=told.append, note=noted.append) == 0
    assert told[0].startswith("smile: ") and "happy" in told[0] and told[-1].startswith("Done: one image")
    assert len(noted) == 1 and noted[0].startswith(f"skipped {tmp_path / 'broken.jpg'}: ")
    assert 0.0 <= scores["accuracy"] <= 1.0 and scores["usage"] == "PublicTest"
    assert fer_audio.data.evaluate.describe(scores).splitlines()[0].endswith(f"on PublicTest of {fer_csv}")


def test_an_api_caller_gets_the_rules_the_command_line_has(tmp_path):
    """LiveOptions.validate(): the same conflicts as the CLI, before anything is opened, and the
    head pose read exactly where gestures or gaze are wanted."""
    from dataclasses import replace

    from fer_audio.apps.options import OptionsError
    from fer_audio.events.gestures import GestureOptions

    clash = fer_audio.LiveOptions(outputs=fer_audio.OutputOptions(no_audio=True, audio_out="x.wav"))
    with pytest.raises(OptionsError, match=r"--no-audio and --audio-out x\.wav cannot be used together"):
        fer_audio.LiveSession.create_from_options(clash)
    folder = fer_audio.LiveOptions(source=fer_audio.SourceOptions(str(tmp_path)))
    with pytest.raises(OptionsError, match="that is a folder"):
        folder.validate()
    options = fer_audio.LiveOptions()
    quiet_head = replace(
        options, tracker=replace(options.tracker, gestures=GestureOptions(gestures=False, gaze=False))
    )
    assert options.validate().recognizer.pose and not quiet_head.validate().recognizer.pose
    no_pose = replace(options, recognizer=replace(options.recognizer, pose=False))
    assert no_pose.validate().recognizer.pose  # gestures are on: the pose they need is read


@pytest.mark.shared
def test_each_entry_point_names_a_bad_input(video_frames, tmp_path):
    """An image that is None (cv2.imread of a typo), a path where an image belongs, an empty or
    two-channel array: a FerAudioError naming Recognizer.analyze; narrate says why a file was
    skipped (never "no face found"), takes one path as well as a list, and names a bad paths
    argument; live_events names bad options at once, not at the first event."""
    recognizer = fer_audio.Recognizer()
    photo_path = tmp_path / "photo.jpg"
    cv2.imwrite(str(photo_path), video_frames[40])
    bad = {
        "is None": cv2.imread(str(tmp_path / "typo.jpg")),
        "is a path": "photo.jpg",
        "non-empty numeric": np.zeros((0, 0), np.uint8),
        "channels": np.zeros((4, 4, 2), np.uint8),
    }
    for words, image in bad.items():
        with pytest.raises(fer_audio.FerAudioError, match=f"Recognizer.analyze: image.*{words}"):
            recognizer.analyze(image)
    missing = tmp_path / "missing.jpg"
    said = [r.sentence for r in fer_audio.narrate([photo_path, missing], recognizer)]
    assert said[1] == "missing: skipped, no such file or folder." and "face" in said[0]
    assert [r.sentence for r in fer_audio.narrate(photo_path, recognizer)] == said[:1]
    with pytest.raises(fer_audio.FerAudioError, match="narrate: paths must be"):
        fer_audio.narrate(3)
    with pytest.raises(fer_audio.FerAudioError, match="live_events: options must be"):
        fer_audio.live_events("clip.mp4")
