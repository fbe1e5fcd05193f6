"""`fer-audio sounds preview`: each cue, then its spoken name."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fer_audio.sound.cues import PHRASES, Cuer, stereo
from fer_audio.sound.earcons import CUE_NAMES, SAMPLE_RATE


def run_preview(cuer: Cuer, output, say: Callable[[str], None]) -> None:
    pause = np.zeros((int(0.35 * SAMPLE_RATE), 2), np.float32)
    for name in CUE_NAMES:
        say(f"{name.replace('_', ' ')}")
        parts = [stereo(cuer.pack.cues[name], 0.5, 1.0, pan=False), pause]
        if cuer.speaker is not None:
            parts.append(cuer.render_text(PHRASES.get(name, name).replace("_", " ")))
        output.play(np.concatenate(parts))
        output.wait(timeout=10)
    output.close()
