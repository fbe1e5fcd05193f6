"""The seven FER-2013 classes, in the dataset's label order: the one source of truth."""

from __future__ import annotations

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES = len(EMOTIONS)
NEUTRAL = EMOTIONS.index("neutral")
INDEX: dict[str, int] = {name: i for i, name in enumerate(EMOTIONS)}


def emotion_index(name: str) -> int:
    """Index of an emotion name (case-insensitive); raises ValueError naming the valid ones."""
    key = name.strip().lower()
    if key not in INDEX:
        raise ValueError(f"unknown emotion {name!r}; expected one of {', '.join(EMOTIONS)}")
    return INDEX[key]
