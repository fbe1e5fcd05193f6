"""From an EmotionEvent (or a narration sentence) to stereo samples: earcon, spoken word, or both,
with volume from the intensity and stereo pan from the face's horizontal position."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fer_audio.labels import EMOTIONS
from fer_audio.sound.earcons import SAMPLE_RATE, STATE_CUES
from fer_audio.sound.soundpack import SoundPack
from fer_audio.sound.speech import Speaker
from fer_audio.types import EmotionEvent

CUE_MODES = ("tone", "speech", "both")
WORD_GAP_SECONDS = 0.06  # s between an earcon and its spoken word (mode 'both')
PHRASES = {
    "face_found": "face found",
    "face_lost": "face lost",
    "camera_lost": "camera lost",
    "ready": "ready",
    "stop": "stopped",
    "nod": "nods",
    "shake": "shakes head",
    "looking": "looking at you",
    "looking_away": "looking away",
}


@dataclass(frozen=True)
class CueOptions:
    mode: str = "tone"  # tone | speech | both
    pan: bool = True  # place the cue left/right where the face is
    min_gain: float = 0.5  # volume at zero intensity; 1.0 at full intensity
    volume: float = 1.0  # master volume 0..1


def pan_gains(x: float) -> tuple[float, float]:
    """Equal-power (left, right) gains for a horizontal position x in 0 (left) .. 1 (right)."""
    theta = float(np.clip(x, 0.0, 1.0)) * np.pi / 2
    return float(np.cos(theta)), float(np.sin(theta))


def stereo(mono: np.ndarray, x: float = 0.5, gain: float = 1.0, pan: bool = True) -> np.ndarray:
    left, right = pan_gains(x) if pan else (np.sqrt(0.5), np.sqrt(0.5))
    m = np.asarray(mono, np.float32) * gain
    return np.stack([m * left, m * right], axis=1).astype(np.float32)


class Cuer:
    """render(event) -> (n, 2) float32; render_text(text) for narration."""

    def __init__(self, pack: SoundPack, speaker: Speaker | None, options: CueOptions = CueOptions()) -> None:
        if options.mode not in CUE_MODES:
            raise ValueError(f"cue mode must be one of {', '.join(CUE_MODES)}")
        self.pack, self.speaker, self.options = pack, speaker, options
        if speaker is not None:
            speaker.warm([*EMOTIONS, *PHRASES.values()])

    @property
    def speaks(self) -> bool:
        return self.speaker is not None and self.options.mode in ("speech", "both")

    def _mono(self, cue: str, word: str) -> np.ndarray:
        tone = self.pack.cues[cue]
        if not self.speaks:
            return tone
        spoken = self.speaker.render(word)
        if self.options.mode == "speech":
            return spoken
        gap = np.zeros(int(WORD_GAP_SECONDS * SAMPLE_RATE), np.float32)
        return np.concatenate([tone, gap, spoken])

    def render(self, event: EmotionEvent) -> np.ndarray:
        if event.kind == "emotion":
            mono = self._mono(event.emotion, event.emotion)
            gain = self.options.min_gain + (1 - self.options.min_gain) * float(
                np.clip(event.confidence, 0, 1)
            )
        else:
            mono = self._mono(event.kind, PHRASES[event.kind])
            gain = 1.0
        return stereo(mono, event.x, gain * self.options.volume, self.options.pan)

    def render_state(self, cue: str) -> np.ndarray:
        """A state cue (ready, camera_lost, stop), centred."""
        assert cue in STATE_CUES
        return stereo(self._mono(cue, PHRASES[cue]), 0.5, self.options.volume, pan=False)

    def render_text(self, text: str) -> np.ndarray:
        """Spoken text, centred (needs a speaker)."""
        if self.speaker is None:
            raise RuntimeError("no speech engine")
        return stereo(self.speaker.render(text), 0.5, self.options.volume, pan=False)
