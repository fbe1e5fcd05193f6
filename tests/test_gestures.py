"""The gesture detector on synthetic pitch/yaw tracks: a nod, a shake, a slow turn, noise."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fer_audio.events.gestures import GestureDetector, GestureOptions
from fer_audio.types import HeadPose


def run(track, fps: float, seconds: float = 4.0, noise: float = 0.0, seed: int = 0, **options):
    """Events [(kind, t)] of one face whose (yaw, pitch) at time t is track(t), sampled at fps."""
    rng = np.random.default_rng(seed)
    detector = GestureDetector(1, GestureOptions(**options))
    events = []
    for i in range(int(seconds * fps)):
        t = i / fps
        yaw, pitch = track(t)
        pose = HeadPose(yaw + rng.normal(0, noise), pitch + rng.normal(0, noise), 0.0)
        events += detector.update(t, pose)
    return [(e.kind, e.t) for e in events]


def wave(onset: float, period: float, amplitude: float, cycles: float = 1.0):
    def angle(t: float) -> float:
        u = t - onset
        return -amplitude * math.sin(2 * math.pi * u / period) if 0 <= u <= cycles * period else 0.0

    return angle


def nod(onset=1.0, period=0.7, amplitude=15.0, cycles=1.0, yaw=0.0):
    w = wave(onset, period, amplitude, cycles)
    return lambda t: (yaw, w(t))


def shake(onset=1.0, period=0.7, amplitude=20.0, cycles=1.0):
    w = wave(onset, period, amplitude, cycles)
    return lambda t: (w(t), 0.0)


def gestures(events):
    return [(k, t) for k, t in events if k in ("nod", "shake")]


def test_a_nod_is_one_nod_heard_within_half_a_second():
    events = gestures(run(nod(), 30))
    assert [k for k, _ in events] == ["nod"]
    assert 1.0 < events[0][1] <= 1.5


def test_a_shake_is_one_shake_and_a_long_one_is_still_one():
    assert [k for k, _ in gestures(run(shake(), 30))] == ["shake"]
    assert [k for k, _ in gestures(run(shake(period=0.5, cycles=3), 30))] == ["shake"]


def test_a_slow_turn_and_a_slow_look_down_are_not_gestures_but_turning_away_is_heard():
    turn = lambda t: (min(40.0, max(0.0, (t - 1.0) * 30)), 0.0)  # noqa: E731
    events = run(turn, 30)
    assert gestures(events) == []
    assert [k for k, _ in events] == ["looking", "looking_away"]
    down_and_back = lambda t: (0.0, -20.0 * (min(1, max(0, t - 1)) - min(1, max(0, t - 3))))  # noqa: E731
    assert gestures(run(down_and_back, 30, seconds=5)) == []


def test_a_nod_with_the_head_turning_as_much_is_not_a_nod():
    both = lambda t: (wave(1.0, 0.7, 15.0)(t), wave(1.0, 0.7, 15.0)(t))  # noqa: E731
    assert gestures(run(both, 30)) == []


def test_looking_is_announced_only_once_it_holds_and_a_face_arriving_turned_away_is_not_news():
    assert run(lambda t: (0.0, 0.0), 30) == [("looking", 0.4)]
    assert run(lambda t: (40.0, 0.0), 30) == []


def test_the_options_turn_each_kind_off():
    assert [k for k, _ in run(nod(), 30, gestures=False)] == ["looking"]
    assert [k for k, _ in run(nod(), 30, gaze=False)] == ["nod"]


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(["nod", "shake", "turn", "still"]),
    onset=st.floats(0.8, 1.6),
    period=st.floats(0.5, 1.0),
    amplitude=st.floats(14.0, 30.0),
)
def test_same_events_at_15_and_60_fps_within_one_frame(kind, onset, period, amplitude):
    if kind == "nod":
        track = nod(onset, period, amplitude)
    elif kind == "shake":
        track = shake(onset, period, amplitude + 8)
    elif kind == "turn":
        track = lambda t: (min(35.0, max(0.0, (t - onset) * 25)), 0.0)  # noqa: E731
    else:
        track = lambda t: (3.0, -2.0)  # noqa: E731
    slow, fast = run(track, 15), run(track, 60)
    assert [k for k, _ in slow] == [k for k, _ in fast]
    for (_, a), (_, b) in zip(slow, fast, strict=True):
        assert abs(a - b) <= 1 / 15 + 1e-9


@settings(max_examples=30, deadline=None)
@given(
    yaw=st.floats(-40, 40),
    pitch=st.floats(-30, 30),
    noise=st.floats(0.0, 2.0),
    fps=st.sampled_from([10.0, 15.0, 30.0, 60.0]),
    seed=st.integers(0, 1000),
)
def test_a_still_head_never_gestures(yaw, pitch, noise, fps, seed):
    assert gestures(run(lambda t: (yaw, pitch), fps, seconds=6, noise=noise, seed=seed)) == []
