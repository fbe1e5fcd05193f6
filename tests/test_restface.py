"""The face at rest (fer_audio/events/restface.py) and the repeat rule, on synthetic streams fed
through the tracker as live feeds it, at 15 and 60 fps."""

from dataclasses import replace

import numpy as np
import pytest

from fer_audio.events.restface import RestFace, RestFaceOptions
from fer_audio.events.smoothing import EmotionSmoother, SmootherOptions
from fer_audio.events.track import FaceTracker, TrackerOptions
from fer_audio.labels import EMOTIONS, NUM_CLASSES
from fer_audio.types import FaceBox, FacePrediction

ANGRY, HAPPY, SAD, NEUTRAL = (EMOTIONS.index(e) for e in ("angry", "happy", "sad", "neutral"))
FPS = (15, 60)


def face(probs, x: int = 280, w: int = 160) -> FacePrediction:
    return FacePrediction(FaceBox(x, 100, w, w), np.asarray(probs, np.float32))


def stern_at(angry: float):
    """A stern face at rest as a model reads it, with frame-to-frame noise: angry (at 0.45) leads
    neutral while the face is tight, not (at 0.3) while it relaxes."""

    def make(rng) -> np.ndarray:
        p = np.full(NUM_CLASSES, 0.03)
        p[ANGRY], p[NEUTRAL] = angry, 0.85 - angry
        p = p * np.exp(rng.normal(0, 0.3, NUM_CLASSES))
        return p / p.sum()

    return make


stern = stern_at(0.45)


def stern_face(seconds: float, x: int = 280) -> list:
    """A stern face that tightens and relaxes every 3 s."""
    return [(3, stern_at(0.45 if k % 2 == 0 else 0.3), x) for k in range(int(seconds // 3))]


def clear(index: int) -> np.ndarray:
    p = np.full(NUM_CLASSES, 0.02)
    p[index] = 1 - 0.02 * (NUM_CLASSES - 1)
    return p


def run(pieces, fps, options=TrackerOptions(), key_at=None, seed=0):
    """pieces: [(seconds, make probs or None for no face, face x)]; the events heard."""
    tracker, events, t0 = FaceTracker(options), [], 0.0
    rng = np.random.default_rng(seed)
    for seconds, make, x in pieces:
        for k in range(int(round(seconds * fps))):
            t = t0 + k / fps
            if key_at is not None and t >= key_at:
                tracker.set_rest_face(t)
                key_at = None
            faces = [] if make is None else [face(make(rng), x)]
            events += tracker.update(t, faces, 640, 480)
        t0 += seconds
    return tracker, events


def words(events, after: float = -1.0) -> list[str]:
    return [e.emotion for e in events if e.kind == "emotion" and e.t > after]


NO_REPEAT_RULE = TrackerOptions(smoother=SmootherOptions(repeat_interval=0.0))


@pytest.mark.parametrize("fps", FPS)
def test_a_steady_stern_face_stops_sounding_angry_once_its_rest_is_learned(fps):
    """Without the rest face a stern face is 'angry' each time it tightens; with it, at most once,
    at the start (before enough is seen), and never after its first ten seconds."""
    plain = replace(NO_REPEAT_RULE, rest=None)
    _, without = run(stern_face(60), fps, plain)
    tracker, with_rest = run(stern_face(60), fps, NO_REPEAT_RULE)
    assert words(without).count("angry") >= 5
    assert words(with_rest, after=10.0) == [] and len(words(with_rest)) <= 1
    assert tracker.heard_tracks()[0].smoother.current == "neutral"


@pytest.mark.parametrize("fps", FPS)
def test_a_change_away_from_the_rest_face_is_heard(fps):
    _, events = run([*stern_face(30), (3, lambda rng: clear(HAPPY), 280)], fps, NO_REPEAT_RULE)
    assert words(events, after=10.0) == ["happy"]
    assert next(e.t for e in events if e.kind == "emotion" and e.emotion == "happy") < 31.0


@pytest.mark.parametrize("fps", FPS)
def test_a_face_angry_from_its_first_frame_is_heard_as_angry(fps):
    tracker, events = run([(60, lambda rng: clear(ANGRY), 280)], fps)
    heard = [e for e in events if e.kind == "emotion"]
    first = TrackerOptions().smoother.found_grace + TrackerOptions().smoother.first_wait
    assert [e.emotion for e in heard] == ["angry"] and heard[0].t <= first + 0.1
    # a minute later it is still what the listener hears on asking (space)
    assert tracker.heard_tracks()[0].smoother.current == "angry"


@pytest.mark.parametrize("fps", FPS)
def test_the_estimate_survives_a_short_loss_and_resets_for_a_new_person(fps):
    tracker, _ = run([(30, stern, 280)], fps)
    learned = tracker.heard_tracks()[0].rest
    assert learned.correction[ANGRY] > 0.2
    # gone for 1.5 s (longer than the 1 s grace: face lost), back at the same place: the same person
    tracker, events = run([(30, stern, 280), (1.5, None, 280), (20, stern, 290)], fps)
    assert "face_lost" in [e.kind for e in events]
    back = tracker.heard_tracks()[0]
    assert back.id != 1 and back.rest.seen > 30
    assert words(events, after=31.5) == []
    # someone else, at another place: a fresh estimate
    tracker, _ = run([(30, stern, 280), (1.5, None, 280), (0.5, stern, 40)], fps)
    assert tracker.heard_tracks()[0].rest.seen <= 1.0
    # the same place, but long after: a fresh estimate too
    tracker, _ = run([(30, stern, 280), (RestFaceOptions().keep + 2, None, 280), (0.5, stern, 280)], fps)
    assert tracker.heard_tracks()[0].rest.seen <= 1.0


@pytest.mark.parametrize("fps", FPS)
def test_the_key_sets_the_face_at_rest_from_the_next_second(fps):
    """A face that rests sad-looking; the listener presses the key at 3 s: the estimate is set from
    the next second (an event for the log says so), held, and later sadness is not heard again
    while a smile is."""
    sadish = lambda rng: np.clip(clear(SAD) * 0.5 + clear(NEUTRAL) * 0.5 + rng.normal(0, 0.01, 7), 1e-3, 1)  # noqa: E731
    options = replace(NO_REPEAT_RULE, rest=replace(RestFaceOptions(), shrink=1e6))  # the key alone
    pieces = [(10, sadish, 280), (2, lambda rng: clear(HAPPY), 280), (5, sadish, 280)]
    tracker, events = run(pieces, fps, options, key_at=3.0)
    kinds = [(e.kind, round(e.t, 1)) for e in events if e.kind.startswith("rest_face")]
    assert kinds and kinds[0][0] == "rest_face_set" and 3.9 <= kinds[0][1] <= 4.2
    assert len(events[[e.kind for e in events].index("rest_face_set")].values) == NUM_CLASSES
    assert words(events, after=4.5) == ["happy"]
    assert tracker.heard_tracks()[0].rest.keyed


def test_the_key_with_no_face_in_view_waits_for_the_next_face():
    _, events = run([(2, None, 280), (5, stern, 280)], 30, key_at=0.5)
    assert [e.kind for e in events if e.kind == "rest_face_set"] == ["rest_face_set"]


def test_the_rest_face_is_limited_shrunk_and_sampled_by_time():
    options = RestFaceOptions()
    rest = RestFace(options)
    rng = np.random.default_rng(1)
    log_happy = np.log(clear(HAPPY))
    for k in range(30):  # 1 s at 30 fps: a few samples, little weight
        rest.observe(k / 30, log_happy + rng.normal(0, 0.01, 7))
    early = np.abs(rest.correction).max()
    assert rest.seen == pytest.approx(1.0, abs=options.interval)
    for k in range(30, 30 * 120):
        rest.observe(k / 30, log_happy + rng.normal(0, 0.01, 7))
    assert early < np.abs(rest.correction).max() <= options.limit + 1e-9
    assert rest.seen == pytest.approx(min(120, options.window), abs=options.interval)


def test_the_same_emotion_is_not_announced_again_within_the_interval():
    options = SmootherOptions(repeat_interval=10.0)
    smoother, heard = EmotionSmoother(1, options), []
    # happy, neutral, happy again 4 s later: one 'happy'; then sad between: happy is heard again
    plan = [(3, NEUTRAL), (2, HAPPY), (4, NEUTRAL), (2, HAPPY), (3, NEUTRAL), (2, SAD), (2, HAPPY)]
    t = 0.0
    for seconds, index in plan:
        for k in range(int(seconds * 30)):
            heard += [e.emotion for e in smoother.update(t + k / 30, clear(index)) if e.kind == "emotion"]
        t += seconds
    assert heard == ["happy", "sad", "happy"]
    # the same plan with no interval: every return is announced
    smoother, again, t = EmotionSmoother(1, SmootherOptions(repeat_interval=0.0)), [], 0.0
    for seconds, index in plan:
        for k in range(int(seconds * 30)):
            again += [e.emotion for e in smoother.update(t + k / 30, clear(index)) if e.kind == "emotion"]
        t += seconds
    assert again == ["happy", "happy", "sad", "happy"]
    # and after the interval has passed with no emotion, it is announced again
    smoother, late, t = EmotionSmoother(1, options), [], 0.0
    for seconds, index in [(3, NEUTRAL), (2, HAPPY), (12, NEUTRAL), (2, HAPPY)]:
        for k in range(int(seconds * 30)):
            late += [e.emotion for e in smoother.update(t + k / 30, clear(index)) if e.kind == "emotion"]
        t += seconds
    assert late == ["happy", "happy"]


def test_a_face_at_rest_set_by_the_key_survives_a_short_loss_too():
    tracker, events = run([(3, stern, 280), (1.5, None, 280), (3, stern, 285)], 30, key_at=0.0)
    assert "face_lost" in [e.kind for e in events]
    (back,) = tracker.heard_tracks()
    assert back.id != 1 and back.rest.keyed
