"""Predictions over time -> events: face tracking, smoothing, calibration, head gestures."""
