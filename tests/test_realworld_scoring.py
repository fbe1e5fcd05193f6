"""The real-world benchmark's scoring rules on a tiny known case (benchmarks/realworld.py)."""

from benchmarks.realworld import (
    balanced_accuracy,
    clip_right,
    emotion_words,
    majority,
    per_class,
    wrong_words,
)
from fer_audio.types import EmotionEvent


def _events(*words):
    return [
        EmotionEvent(t=float(i), face=1, kind="emotion", emotion=w, confidence=0.5)
        for i, w in enumerate(words)
    ]


def test_one_clip_right_one_wrong_word_one_neutral_clip_with_a_false_event():
    found = EmotionEvent(t=0.0, face=1, kind="face_found", emotion="", confidence=0.0)
    right = [found, *_events("angry")]
    wrong = _events("angry", "disgust", "angry")
    neutral = _events("neutral", "happy")
    assert emotion_words(right) == ["angry"]
    assert clip_right("angry", emotion_words(right)) and wrong_words("angry", ["angry"]) == []
    assert not clip_right("disgust", emotion_words(wrong))
    assert wrong_words("disgust", emotion_words(wrong)) == ["angry", "angry"]
    assert not clip_right("neutral", emotion_words(neutral))
    assert wrong_words("neutral", emotion_words(neutral)) == ["happy"]
    assert clip_right("neutral", []) and clip_right("neutral", ["neutral"])
    assert emotion_words([{"kind": "emotion", "emotion": "sad"}, {"kind": "nod", "emotion": ""}]) == ["sad"]


def test_majority_and_per_class_scores():
    assert majority([None, "sad", "neutral", "sad", None]) == "sad"
    assert majority([None, None]) is None
    table = per_class(["angry", "angry", "happy", "fear"], ["angry", None, "angry", "fear"])
    assert table["angry"] == {"n": 2, "recall": 0.5, "precision": 0.5}
    assert table["happy"] == {"n": 1, "recall": 0.0, "precision": None}
    assert table["fear"]["recall"] == 1.0
    assert balanced_accuracy(table) == (0.5 + 0.0 + 1.0) / 3


def test_a_session_is_right_only_with_a_silent_neutral_part_and_the_right_words_after():
    from benchmarks.realvideo import REST_SECONDS, rest_false, session_right

    def at(t, word):
        return EmotionEvent(t=t, face=1, kind="emotion", emotion=word, confidence=0.5)

    found = EmotionEvent(t=0.3, face=1, kind="face_found")
    right = [found, at(REST_SECONDS + 1.0, "angry")]
    assert session_right("angry", right) and rest_false(right) == []
    early = [found, at(4.0, "happy"), at(REST_SECONDS + 1.0, "angry")]
    assert not session_right("angry", early) and rest_false(early) == ["happy"]
    assert session_right("angry", [found, at(4.0, "neutral"), at(REST_SECONDS + 1.0, "angry")])
    assert not session_right(
        "angry", [found, at(REST_SECONDS + 1.0, "angry"), at(REST_SECONDS + 2, "disgust")]
    )
    assert not session_right("angry", [found])  # nothing heard: the emotion was missed
