"""Sound packs: a folder with one WAV per cue and a manifest.json naming them.

manifest.json::

    {"name": "default", "description": "...",
     "cues": {"happy": "happy.wav", "sad": "sad.wav", ..., "stop": "stop.wav"}}

Every emotion and state cue in fer_audio.sound.earcons.CUE_NAMES must be present; the head cues
(nod, shake, looking, looking_away) may be left out, and the default pack's are used (packs
made before those cues existed keep working). WAVs may be mono or stereo, any
sample rate (resampled), PCM 8/16/24/32-bit, at most MAX_CUE_SECONDS long.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_audio.errors import FerAudioError
from fer_audio.outputs import write_atomic
from fer_audio.sound.earcons import CUE_NAMES, HEAD_CUES, MAX_CUE_SECONDS, SAMPLE_RATE, default_cues
from fer_audio.sound.wavio import read_wav, resample, write_wav

MANIFEST = "manifest.json"


class SoundPackError(FerAudioError, ValueError):
    """The pack cannot be used; the message names the pack, the cue and what to fix."""


@dataclass(frozen=True)
class SoundPack:
    name: str
    cues: dict[str, np.ndarray]  # cue name -> (n,) mono float32 at SAMPLE_RATE

    @classmethod
    def default(cls) -> SoundPack:
        return cls("default", default_cues())


def load_pack(folder: str | os.PathLike[str] | None) -> SoundPack:
    """The pack in `folder` (None: the built-in default), validated and resampled."""
    if folder is None:
        return SoundPack.default()
    root = Path(folder)
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        raise SoundPackError(
            f"{root}: no {MANIFEST}; a sound pack is a folder with {MANIFEST} and one WAV per cue"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files = dict(manifest["cues"])
    except (ValueError, KeyError, TypeError) as exc:
        raise SoundPackError(
            f'{manifest_path}: not a valid manifest ({exc}); it needs a "cues" object'
        ) from exc
    missing = [c for c in CUE_NAMES if c not in files and c not in HEAD_CUES]
    if missing:
        raise SoundPackError(f"{root}: missing cue(s) {', '.join(missing)} in {MANIFEST}")
    cues = {c: _load_cue(root, c, files[c]) if c in files else default_cues()[c] for c in CUE_NAMES}
    return SoundPack(str(manifest.get("name", root.name)), cues)


def _load_cue(root: Path, cue: str, filename: str) -> np.ndarray:
    path = root / filename
    try:
        samples, rate = read_wav(path)
    except FileNotFoundError as exc:
        raise SoundPackError(f"{root}: cue {cue!r}: file {filename} not found") from exc
    except (OSError, ValueError) as exc:
        raise SoundPackError(f"{root}: cue {cue!r}: {filename} is unreadable ({exc})") from exc
    seconds = len(samples) / rate
    if seconds > MAX_CUE_SECONDS + 1e-3:
        raise SoundPackError(
            f"{root}: cue {cue!r}: {filename} lasts {seconds:.2f} s; "
            f"cues may last at most {MAX_CUE_SECONDS} s"
        )
    if len(samples) == 0:
        raise SoundPackError(f"{root}: cue {cue!r}: {filename} is empty")
    return resample(samples, rate, SAMPLE_RATE).mean(axis=1).astype(np.float32)


def write_pack(pack: SoundPack, folder: str | os.PathLike[str], description: str = "") -> None:
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    for cue, samples in pack.cues.items():
        write_wav(root / f"{cue}.wav", samples, SAMPLE_RATE)
    manifest = {
        "name": pack.name,
        "description": description,
        "sample_rate": SAMPLE_RATE,
        "cues": {cue: f"{cue}.wav" for cue in pack.cues},
    }
    write_atomic(root / MANIFEST, json.dumps(manifest, indent=2) + "\n")
