"""Calibration of model outputs: fitted on labelled outputs, it undoes a model's confusions."""

import numpy as np
import pytest

from fer_audio.events import calibration
from fer_audio.labels import EMOTIONS, NUM_CLASSES


def confused_outputs(n_per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A made-up model that reads fear (2) as sad (4) more often than as fear, and under-reports
    disgust (1): noisy softmax outputs around a fixed confusion pattern."""
    rng = np.random.default_rng(seed)
    mean_logits = np.eye(NUM_CLASSES) * 2.0
    mean_logits[2, 4], mean_logits[2, 2] = 2.0, 1.6  # fearful faces: sad a little ahead of fear
    mean_logits[1] -= 0.8 * np.eye(NUM_CLASSES)[1]
    labels = np.repeat(np.arange(NUM_CLASSES), n_per_class)
    logits = mean_logits[labels] + rng.normal(0, 1.0, (len(labels), NUM_CLASSES))
    probs = np.exp(logits)
    return probs / probs.sum(axis=1, keepdims=True), labels


def per_class_accuracy(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return np.array([(scores[labels == c].argmax(axis=1) == c).mean() for c in range(NUM_CLASSES)])


def test_a_fitted_calibration_recovers_what_the_outputs_say_on_new_faces():
    probs, labels = confused_outputs(400, seed=0)
    fitted = calibration.fit(probs, labels)
    test_probs, test_labels = confused_outputs(400, seed=1)
    raw = per_class_accuracy(test_probs, test_labels)
    calibrated = per_class_accuracy(calibration.log_evidence(test_probs, fitted), test_labels)
    fear = EMOTIONS.index("fear")
    assert raw[fear] < 0.35 and calibrated[fear] > raw[fear] + 0.2
    assert calibrated.mean() > raw.mean() + 0.03
    # averaged over frames, the calibrated evidence names fear for fearful faces; the raw outputs say sad
    fearful = test_probs[test_labels == fear][:12]
    assert calibration.log_evidence(fearful, fitted).mean(axis=0).argmax() == fear
    assert np.log(fearful).mean(axis=0).argmax() == EMOTIONS.index("sad")


def test_fitting_is_deterministic_and_gives_8_rows_of_7():
    probs, labels = confused_outputs(50)
    first, second = calibration.fit(probs, labels, steps=200), calibration.fit(probs, labels, steps=200)
    assert first == second
    assert len(first) == NUM_CLASSES + 1 and all(len(row) == NUM_CLASSES for row in first)


def test_no_calibration_and_the_identity_both_give_the_outputs_own_log_probabilities():
    probs = np.array([[0.5, 0.0, 0.1, 0.1, 0.1, 0.1, 0.1]])
    expected = np.log(np.maximum(probs, calibration.PROB_FLOOR))
    expected -= np.log(np.exp(expected).sum())
    for table in (None, calibration.IDENTITY):
        np.testing.assert_allclose(calibration.log_evidence(probs, table), expected)


def test_a_calibration_needs_every_emotion():
    probs, labels = confused_outputs(10)
    keep = labels != EMOTIONS.index("disgust")
    with pytest.raises(ValueError, match=r"none of classes \[1\]"):
        calibration.fit(probs[keep], labels[keep])
