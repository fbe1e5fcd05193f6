#!/usr/bin/env python3
"""Set-up step: take BlazeFace and the face mesh model out of MediaPipe's wheel on PyPI.

Downloads the one wheel named in fer_audio.vision.model_files (pip, no dependencies, nothing
installed), extracts the two .tflite files, checks each against its sha256 and writes it
atomically into fer_audio/models/mediapipe/. Does nothing when both are already there and
check out. The run time (live, narrate) never fetches; it only reads these files.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from fer_audio.outputs import write_atomic
from fer_audio.vision.model_files import MEDIAPIPE_VERSION, MODEL_FILES, missing, model_dir


def main() -> int:
    wanted = missing()
    if not wanted:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
            tmp,
            f"mediapipe=={MEDIAPIPE_VERSION}",
        ]
        if subprocess.run(cmd).returncode != 0:
            print(
                f"fer-audio: could not download mediapipe=={MEDIAPIPE_VERSION} from PyPI; "
                "check the network or pip's index settings, then run `make models` again",
                file=sys.stderr,
            )
            return 1
        wheel = next(Path(tmp).glob("mediapipe-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            for key in wanted:
                spec = MODEL_FILES[key]
                data = zf.read(spec.member)
                got = hashlib.sha256(data).hexdigest()
                if got != spec.sha256:
                    print(
                        f"fer-audio: {spec.member} in {wheel.name} has sha256 {got}, expected {spec.sha256}; "
                        "not installed",
                        file=sys.stderr,
                    )
                    return 1
                dest = model_dir() / spec.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(dest, data)
                print(f"fer-audio: installed {dest} ({len(data):,} bytes, sha256 checked)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
