"""Face geometry: BlazeFace behind the detector protocol, the face mesh and head pose, the model
files the set-up fetches, and nods/shakes/gaze end to end through `fer-audio live`."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

from conftest import pad_face
from fer_audio.types import FaceBox
from fer_audio.vision import model_files
from fer_audio.vision.blazeface import SMALLEST, tiles, unbatch
from fer_audio.vision.detect import DetectorOptions, make_detector
from fer_audio.vision.landmarks import (
    FaceMeshModel,
    head_pose,
    pose_from_rotation,
    pose_reference,
    rotation,
)
from fer_audio.vision.litert import TFLiteModel
from fer_audio.vision.preprocess import to_gray8
from fer_audio.vision.sources import FrameSource, SourceOptions
from test_narrate import run_cli


def _video_frames(video) -> list[np.ndarray]:
    with FrameSource(SourceOptions(str(video), realtime=False)) as source:
        return [to_gray8(frame.image) for frame in source]


# ---------------------------------------------------------------------------------- model files


def test_a_missing_model_file_is_one_line_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(model_files, "model_dir", lambda: tmp_path)
    with pytest.raises(model_files.ModelFileMissing) as err:
        model_files.model_path("blazeface")
    message = str(err.value)
    assert "\n" not in message and "face_detection_short_range.tflite" in message
    assert "make models" in message and "MediaPipe 0.10.14" in message
    (tmp_path / "face_landmark.tflite").write_bytes(b"not the model")
    with pytest.raises(model_files.ModelFileMissing, match="not the expected file"):
        model_files.model_path("face_mesh")
    assert model_files.missing() == ["blazeface", "face_mesh"]


def test_the_installed_model_files_check_out():
    assert model_files.missing() == [], "run `make models`"


# ---------------------------------------------------------------------------------- BlazeFace


def test_a_batch_of_tiles_decodes_as_single_images():
    model = TFLiteModel(model_files.model_path("blazeface"))
    batch = np.random.default_rng(0).uniform(-1, 1, (3, 128, 128, 3)).astype(np.float32)
    regressors, scores = model.run(batch)
    for i in range(3):
        one_r, one_s = model.run(batch[i : i + 1])
        np.testing.assert_array_equal(unbatch(regressors, 3)[i], one_r.reshape(896, 16))
        np.testing.assert_array_equal(unbatch(scores, 3)[i], one_s.reshape(896, 1))


@pytest.mark.parametrize("width,height,smallest", [(596, 336, 40), (480, 270, 30), (480, 480, 30)])
def test_tiles_hold_every_face_whole_at_a_level_that_sees_it(width, height, smallest):
    regions = tiles(width, height, smallest)
    assert regions[0] == (0, 0, max(width, height), 0) and len({r[3] for r in regions}) > 1

    def seen(x, y, face):
        return any(
            face >= SMALLEST * s
            and (level == 0 or face <= s / 2)  # big enough, and not cut
            and rx <= x
            and ry <= y
            and x + face <= rx + s
            and y + face <= ry + s
            for rx, ry, s, level in regions
        )

    for face in range(smallest, min(width, height), 7):
        for x in range(0, width - face + 1, 13):
            for y in range(0, height - face + 1, 17):
                assert seen(x, y, face), (face, x, y)


@pytest.mark.shared
@pytest.mark.parametrize("backend", ["haar", "blazeface"])
def test_backends_behind_the_protocol_find_the_padded_faces(backend, detectable_faces):
    detector = make_detector(DetectorOptions(backend=backend))
    found = [detector.detect(to_gray8(pad_face(face, at=120))) for face in detectable_faces[:20]]
    assert sum(len(boxes) == 1 for boxes in found) >= 16 and max(map(len, found)) == 1
    for b in (boxes[0] for boxes in found if boxes):
        assert all(isinstance(v, int) for v in (b.x, b.y, b.w, b.h))
        assert abs(b.center[0] - 200) < 50 and abs(b.center[1] - 150) < 50 and 80 <= b.w <= 220


@pytest.mark.shared
@pytest.mark.slow
def test_blazeface_follows_the_woman_in_the_shared_video_and_nothing_else(video):
    frames = _video_frames(video)
    detector = make_detector(DetectorOptions(backend="blazeface"))
    found = [detector.detect(g) for g in frames]
    assert sum(len(b) == 1 for b in found) >= 0.9 * len(frames)
    assert sum(len(b) > 1 for b in found) <= 2
    near = [detector.detect_near(g, b[0]) for g, b in zip(frames, found, strict=True) if b]
    assert sum(len(b) == 1 for b in near) >= 0.9 * len(near)  # tracking from frame to frame


@pytest.mark.shared
def test_blazeface_turns_down_upside_down_eyes():
    from fer_audio.vision.blazeface import upright

    eyes_level = FaceBox(0, 0, 100, 100, 0.9, ((30, 40), (70, 40), (50, 60), (50, 80), (10, 45), (90, 45)))
    assert upright(eyes_level)
    turned = FaceBox(0, 0, 100, 100, 0.9, ((30, 40), (45, 90), (50, 60), (10, 70), (10, 45), (90, 45)))
    assert not upright(turned)  # eye line at 73 degrees
    flipped = FaceBox(0, 0, 100, 100, 0.9, ((30, 80), (70, 80), (50, 60), (50, 30), (10, 45), (90, 45)))
    assert not upright(flipped)  # mouth above the eyes


# ---------------------------------------------------------------------------------- pose


@pytest.mark.parametrize("yaw,pitch,roll", [(20, 0, 0), (0, 15, 0), (0, 0, -10), (-25, -10, 5)])
def test_pose_from_landmarks_at_a_known_rotation(yaw, pitch, roll):
    """The reference's frontal points turned, scaled and moved as a mesh gives them (x right, y
    down, z away): the pose read back is the rotation, whatever the other 408 points say."""
    exact = pose_from_rotation(rotation(yaw, pitch, roll))
    assert (exact.yaw, exact.pitch, exact.roll) == pytest.approx((yaw, pitch, roll), abs=1e-6)
    ref = pose_reference()
    points = np.random.default_rng(0).uniform(0, 400, (468, 3))  # the points the pose ignores
    points[ref.points] = 80.0 * ref.frontal @ rotation(yaw, pitch, roll).T + [300.0, 200.0, 0.0]
    pose = head_pose(points)
    assert (pose.yaw, pose.pitch, pose.roll) == pytest.approx((yaw, pitch, roll), abs=0.01)


def test_the_pose_reads_points_that_expressions_do_not_move():
    """Mouth corners, chin, lips and brows are not among the pose's points; the frontal face is
    mirror-symmetric (its pose is zero)."""
    ref = pose_reference()
    assert not set(ref.points) & {61, 291, 152, 13, 14, 0, 17, 105, 334, 107, 336}
    assert ref.weights.sum() == pytest.approx(1.0) and len(ref.points) >= 20
    frontal = np.zeros((468, 3))
    frontal[ref.points] = ref.frontal
    pose = head_pose(frontal)
    assert (pose.yaw, pose.roll) == pytest.approx((0.0, 0.0), abs=0.5)


@pytest.mark.shared
def test_roll_follows_a_real_face_turned_in_the_image(video):
    gray = _video_frames(video)[-1]  # she faces the camera at the end of the clip
    detector = make_detector(DetectorOptions(backend="blazeface"))
    mesh = FaceMeshModel()
    box = max(detector.detect(gray), key=lambda b: b.w)
    h, w = gray.shape
    rolls = {}
    for angle in (-20, 0, 20):
        m = cv2.getRotationMatrix2D(box.center, angle, 1.0)  # positive: counter-clockwise
        turned = cv2.warpAffine(gray, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
        found = min(detector.detect(turned), key=lambda b: math.dist(b.center, box.center))
        face = mesh.mesh(turned, [found])[0]
        assert face.score > 0.9
        rolls[angle] = head_pose(face.points).roll
    assert rolls[-20] - rolls[0] == pytest.approx(20, abs=5)
    assert rolls[20] - rolls[0] == pytest.approx(-20, abs=5)


def test_an_aligned_crop_brings_a_turned_face_back_level(video):
    """Recognizer(align=True): the crop is turned so the eyes are level; the mesh of the aligned
    crop of a face turned a further 35 degrees sees its eyes within 5 degrees of level; a face
    within align_min_roll of level is classified as it is."""
    from fer_audio.vision.landmarks import eye_angle, level_crop
    from fer_audio.vision.recognize import Recognizer, RecognizerOptions

    gray = _video_frames(video)[-1]
    detector = make_detector(DetectorOptions(backend="blazeface"))
    box = max(detector.detect(gray), key=lambda b: b.w)
    h, w = gray.shape
    turned = cv2.warpAffine(
        gray, cv2.getRotationMatrix2D(box.center, 35, 1.0), (w, h), borderMode=cv2.BORDER_REPLICATE
    )
    found = min(detector.detect(turned), key=lambda b: math.dist(b.center, box.center))
    upright = eye_angle(FaceMeshModel().mesh(gray, [box])[0].points)  # her own tilt
    mesh = FaceMeshModel().mesh(turned, [found])[0]
    assert eye_angle(mesh.points) - upright == pytest.approx(-35, abs=5)
    side = int(max(found.w, found.h) * 1.2)
    square = (int(found.center[0] - side / 2), int(found.center[1] - side / 2), side, side)
    level = level_crop(turned, square, eye_angle(mesh.points))
    again = FaceMeshModel().mesh(level, [FaceBox(0, 0, level.shape[1], level.shape[0], 1.0)])[0]
    assert again.score > 0.9 and abs(eye_angle(again.points)) < 5
    plain, aligned = (Recognizer(RecognizerOptions(align=a)) for a in (False, True))
    assert abs(upright) < aligned.options.align_min_roll  # her own tilt: left as it is
    a, b = (r.classify(gray, [box])[0].probabilities for r in (plain, aligned))
    np.testing.assert_array_equal(a, b)
    assert abs(eye_angle(mesh.points)) >= aligned.options.align_min_roll  # turned: aligned
    a, b = (r.classify(turned, [found])[0].probabilities for r in (plain, aligned))
    assert not np.allclose(a, b)


def test_the_mesh_keeps_a_face_the_detector_loses_and_lets_go_of_an_empty_frame(video):
    """TrackingDetector(follow=Recognizer.follow): Haar misses her face turned 40 degrees in the
    image; the mesh finds it where it was, and the box moves with it; a blank frame has none."""
    from fer_audio.vision.detect import TrackingDetector
    from fer_audio.vision.recognize import Recognizer, RecognizerOptions

    gray = _video_frames(video)[-1]
    recognizer = Recognizer(RecognizerOptions(pose=True))
    plain = TrackingDetector(recognizer.detector)
    tracking = TrackingDetector(recognizer.detector, follow=recognizer.follow)
    (box,) = tracking.detect_at(gray, 0.0)
    plain.detect_at(gray, 0.0)
    h, w = gray.shape
    turn = cv2.getRotationMatrix2D((box.center[0] + 20, box.center[1] + 10), 40, 1.0)
    turned = cv2.warpAffine(gray, turn, (w, h), borderMode=cv2.BORDER_REPLICATE)
    assert plain.detect_at(turned, 0.1) == []  # the frontal cascade loses the turned face
    (kept,) = tracking.detect_at(turned, 0.1)
    assert tracking.followed == 1 and (kept.w, kept.h) == (box.w, box.h)
    assert math.dist(kept.center, box.center) < 0.3 * box.w
    (upright,) = recognizer.classify(gray, [box])
    (face,) = recognizer.classify(turned, [kept])
    assert face.pose is not None and face.pose.roll < upright.pose.roll - 15  # turned, as it is
    blank = np.full_like(gray, 128)
    assert tracking.detect_at(blank, 0.2) == [] and tracking.followed == 1


# ---------------------------------------------------------------------------------- end to end


def _write_clip(path, frames, fps):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, frames[0].shape[::-1])
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_GRAY2BGR))
    writer.release()


@pytest.mark.shared
@pytest.mark.slow
def test_live_hears_a_nod_of_a_real_face_and_no_gesture_without_gestures(tmp_path, public_test_faces):
    from benchmarks import gestures_eval as ge

    faces = np.stack([f for fs in public_test_faces.values() for f in fs])
    detectors = [make_detector(DetectorOptions(backend=b)) for b in ("haar", "blazeface")]
    renderer = ge.source_faces(faces, FaceMeshModel(), detectors, 1)[0]
    clip = ge.Clip("nod", 0, 25.0, 3.0, 1.0, 1.0, 0.7, 18.0)
    frames = [renderer.render(*clip.pose(i / clip.fps)) for i in range(int(clip.seconds * clip.fps))]
    video = tmp_path / "nod.mp4"
    _write_clip(video, frames, clip.fps)
    for flags, want in (([], {"nod"}), (["--no-gestures", "--no-gaze"], set())):
        log = tmp_path / f"events{len(flags)}.jsonl"
        r = run_cli("live", "--source", video, "--no-realtime", "--no-audio", "--events-log", log, *flags)
        assert r.returncode == 0, r.stderr
        kinds = [json.loads(line)["kind"] for line in log.read_text().splitlines()]
        heard = {k for k in kinds if k in ("nod", "shake", "looking", "looking_away")}
        assert heard & {"nod", "shake"} == want, kinds
        if not flags:
            assert "Nods: face 1, centre." in r.stdout
            assert "looking" in kinds  # she faces the camera before nodding
