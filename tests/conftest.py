"""Shared fixtures: ../shared data (fails loudly in CI when missing), real face images, PulseAudio."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
IN_CI = os.environ.get("CI", "").lower() == "true"

# In CI, Hypothesis draws the same examples every run (a red CI is then a real change, never a draw)
settings.register_profile("ci", derandomize=True, print_blob=True)
if IN_CI:
    settings.load_profile("ci")


def _need(path: Path) -> Path:
    if path.exists():
        return path
    message = f"{path} is missing: the tests read FER-2013 and the video from ../shared"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def fer_tar() -> Path:
    return _need(SHARED / "datasets" / "fer2013-images.tar.gz")


@pytest.fixture(scope="session")
def fer_csv() -> Path:
    return _need(SHARED / "datasets" / "fer2013-sample.csv.gz")


@pytest.fixture(scope="session")
def ferplus_votes() -> Path:
    return _need(SHARED / "datasets" / "ferplus-votes.csv")


@pytest.fixture(scope="session")
def ferplus_sample() -> Path:
    return _need(SHARED / "datasets" / "ferplus-sample.csv")


@pytest.fixture(scope="session")
def video() -> Path:
    return _need(SHARED / "videos" / "phone-smile.mp4")


@pytest.fixture(scope="session")
def fer_crops(fer_tar) -> dict[str, dict[str, list[np.ndarray]]]:
    """{split folder ('train', 'test'): {class name: its first 40 crops (48x48 uint8)}}, read
    from the real archive in one pass."""
    out: dict[str, dict[str, list[np.ndarray]]] = {}
    with tarfile.open(fer_tar) as tar:
        for m in tar:
            parts = m.name.split("/")
            if not m.isfile() or len(parts) < 3:
                continue
            crops = out.setdefault(parts[-3], {}).setdefault(parts[-2], [])
            if len(crops) < 40:
                data = np.frombuffer(tar.extractfile(m).read(), np.uint8)
                crops.append(cv2.imdecode(data, cv2.IMREAD_GRAYSCALE))
    return out


@pytest.fixture(scope="session")
def public_test_faces(fer_crops) -> dict[str, list[np.ndarray]]:
    """{class name: first 40 PublicTest crops (48x48 uint8)} read from the real archive."""
    return fer_crops["test"]


@pytest.fixture(scope="session")
def training_faces(fer_crops) -> np.ndarray:
    """(280, 48, 48) float32: the first 40 Training crops of each class from the real archive."""
    return np.concatenate([np.stack(v) for v in fer_crops["train"].values()]).astype(np.float32)


@pytest.fixture(scope="session")
def crowd_faces(fer_tar, ferplus_votes) -> dict[str, np.ndarray]:
    """{class name: (n, 48, 48) uint8, the first 40 PublicTest faces whose FER+ crowd majority is
    that emotion} (fewer for disgust, which the crowd names for 31 faces)."""
    from fer_audio.data.crowd import attach_votes, load_votes, majority_labels
    from fer_audio.data.datasets import load_dataset
    from fer_audio.labels import EMOTIONS

    data, _ = attach_votes(load_dataset(fer_tar), load_votes(ferplus_votes))
    test = data.splits["PublicTest"]
    majority, _ = majority_labels(test.votes)
    return {name: test.images[majority == i][:40] for i, name in enumerate(EMOTIONS)}


def pad_face(
    face: np.ndarray, side: int = 160, canvas: tuple[int, int] = (300, 400), at: int = 120
) -> np.ndarray:
    """A FER crop enlarged to `side` px and placed on a grey canvas at column `at` (BGR)."""
    big = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    img = np.full(canvas, 128, np.uint8)
    top = (canvas[0] - side) // 2
    img[top : top + side, at : at + side] = big
    return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)


@pytest.fixture(scope="session")
def detectable_faces(public_test_faces) -> list[np.ndarray]:
    """Real FER crops that the default detector finds exactly once when padded into a photo, at
    each of three places (where a face falls on the cascade's scan grid changes what it finds)."""
    from fer_audio.vision.detect import make_detector
    from fer_audio.vision.preprocess import to_gray8

    detector = make_detector()
    found = []
    for faces in public_test_faces.values():
        for face in faces:
            if all(len(detector.detect(to_gray8(pad_face(face, at=at)))) == 1 for at in (40, 120, 200)):
                found.append(face)
    assert len(found) >= 20, "the Haar detector should find most padded FER faces"
    return found


@pytest.fixture(scope="session")
def video_frames(video) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


@pytest.fixture(scope="session")
def recognizer():
    from fer_audio.vision.recognize import Recognizer

    return Recognizer()


# ---------------------------------------------------------------------------------- PulseAudio


class NullSink:
    """A PulseAudio server with a null sink; record() captures what was really played."""

    def __init__(self, runtime: Path, env: dict) -> None:
        self.runtime, self.env = runtime, env  # env: what start_pulse(runtime) returned

    def record(self, path: Path) -> subprocess.Popen:
        cmd = [
            "parec",
            "-d",
            "ferout.monitor",
            "--rate=44100",
            "--channels=2",
            "--format=float32le",
            "--latency-msec=10",
        ]
        proc = subprocess.Popen(cmd, stdout=path.open("wb"), env=self.env)
        self.wait_for_more(path, proc, 0.05)  # ready once the monitor delivers (about 1-2 s)
        return proc

    @staticmethod
    def wait_for_more(path: Path, proc: subprocess.Popen, seconds: float, timeout: float = 60.0) -> None:
        """Waits until the recording at `path` has grown by `seconds` of sound from now: what was
        played before this call has come through the monitor (it delivers in real time, silence
        included, once started). Fails if the recorder stops or nothing comes within `timeout`."""
        target = path.stat().st_size + int(seconds * 44100) * 8  # float32 stereo frames
        deadline = time.monotonic() + timeout
        while path.stat().st_size < target:
            assert proc.poll() is None, f"the recorder stopped (exit {proc.returncode})"
            assert time.monotonic() < deadline, f"the null sink's monitor delivered nothing in {timeout} s"
            time.sleep(0.01)

    @staticmethod
    def read(path: Path) -> np.ndarray:
        return np.fromfile(path, np.float32).reshape(-1, 2)


def start_pulse(runtime: Path) -> dict:
    """Start a PulseAudio server whose only sink is the null sink 'ferout', with its socket in
    `runtime`; returns the environment that reaches it."""
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "PULSE_SINK": "ferout"}
    subprocess.run(
        [
            "pulseaudio",
            "--daemonize=yes",
            "--exit-idle-time=-1",
            "-n",
            "--use-pid-file=yes",
            "--load=module-null-sink sink_name=ferout rate=44100 channels=2",
            "--load=module-native-protocol-unix",
            "--log-target=stderr",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    for _ in range(50):
        if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    subprocess.run(["pactl", "set-default-sink", "ferout"], env=env, check=True)
    return env


@pytest.fixture(scope="session")
def null_sink(tmp_path_factory):
    if not shutil.which("pulseaudio") or not shutil.which("parec"):
        message = "PulseAudio is not installed (make test installs it: scripts/install-system-deps.sh)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    runtime = tmp_path_factory.mktemp("pulse")
    sink = NullSink(runtime, start_pulse(runtime))
    saved = os.environ.get("XDG_RUNTIME_DIR")
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    yield sink
    subprocess.run(["pulseaudio", "--kill"], env=sink.env, capture_output=True)
    if saved is None:
        os.environ.pop("XDG_RUNTIME_DIR", None)
    else:
        os.environ["XDG_RUNTIME_DIR"] = saved


# ------------------------------------------------------------------------- the command line

RUNTIME_CHECK = """
import sys, runpy
sys.argv = ["fer-audio", *sys.argv[1:]]
code = 0
try:
    runpy.run_module("fer_audio", run_name="__main__")
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in ("tensorflow", "keras", "matplotlib", "training.train") if m in sys.modules)
print("HEAVY:" + ",".join(heavy))
sys.exit(code)
"""


def run_cli(*args, cwd=None, extra_env=None, timeout: float = 180, check_imports: bool = False, **kw):
    """`fer-audio ARGS` in a real process (stdin, signals, native libraries as a user has them);
    with check_imports, its stdout ends with 'HEAVY:' and the heavy modules it loaded."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(extra_env or {})}
    head = ["-c", RUNTIME_CHECK] if check_imports else ["-m", "fer_audio"]
    return subprocess.run(
        [sys.executable, *head, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd if cwd is not None else (ROOT if check_imports else None),
        env=env,
        timeout=timeout,
        **kw,
    )


# The interpreter's own start-up (site, the .pth files of the environment) is CPython's, before
# any line of fer-audio runs: a Ctrl-C there ends it with CPython's own "Fatal Python error"
# (seen on a loaded CI machine 0.05 s after the start). A test of Ctrl-C at times from the start
# counts from the moment the interpreter calls fer-audio's entry point, the one the console
# script calls, told through a pipe the child writes one byte to.
HANDED_OVER = """
import os, sys
sys.argv = ["fer-audio", *sys.argv[1:]]
os.write({fd}, b"1")
os.close({fd})
from fer_audio.cli import run
run()
"""


def start_cli(*args, **popen_kwargs) -> subprocess.Popen:
    """`fer-audio ARGS` started in a real process, returned once its interpreter is up and has
    called fer-audio's entry point (cli.run): the times a test then waits are fer-audio's own."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **popen_kwargs.pop("env", {})}
    read, write = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", HANDED_OVER.format(fd=write), *map(str, args)],
            pass_fds=(write,),
            env=env,
            **popen_kwargs,
        )
    finally:
        os.close(write)
    with os.fdopen(read, "rb") as pipe:
        if pipe.read(1) != b"1":  # its end closed unwritten: the interpreter did not start
            proc.kill()
            raise AssertionError(f"fer-audio {' '.join(map(str, args))} did not start: {proc.wait()}")
    return proc


def cli_in_process(*args) -> subprocess.CompletedProcess:
    """`fer-audio ARGS` in this process through click's CliRunner, for checks of what the command
    line says before it opens anything (no camera, model or sound): quick, and the same result
    type as run_cli."""
    from click.testing import CliRunner

    from fer_audio.cli.group import main

    r = CliRunner().invoke(main, [str(a) for a in args], terminal_width=80, prog_name="fer-audio")
    return subprocess.CompletedProcess(args, r.exit_code, r.stdout, r.stderr)
