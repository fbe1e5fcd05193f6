"""The face mesh's geometry features (fer_audio/vision/geometry.py) on a real face's mesh: they
describe the expression, not the pose or the size."""

import math

import numpy as np
import pytest

from benchmarks.face_geometry import BROW, FEATURES, MOUTH_CORNERS, features
from conftest import pad_face
from fer_audio.types import FaceBox
from fer_audio.vision.preprocess import to_gray8

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def mesh_points(detectable_faces):
    from fer_audio.vision.detect import DetectorOptions, make_detector
    from fer_audio.vision.landmarks import FaceMeshModel

    photo = to_gray8(pad_face(detectable_faces[0]))
    (box,) = make_detector(DetectorOptions()).detect(photo)
    mesh = FaceMeshModel().mesh(photo, [FaceBox(box.x, box.y, box.w, box.h)])[0]
    assert mesh.score > 0.5
    return mesh.points.astype(np.float64)


def turned(points, yaw=0.0, pitch=0.0, roll=0.0):
    a, b, c = (math.radians(v) for v in (yaw, pitch, roll))
    ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    rz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    centre = points.mean(axis=0)
    return (points - centre) @ (rz @ rx @ ry).T + centre


def test_the_features_do_not_change_when_the_mesh_is_scaled_moved_or_turned(mesh_points):
    base = features(mesh_points)
    assert base.shape == (len(FEATURES),) and np.isfinite(base).all()
    for moved in (
        mesh_points * 2.5,
        mesh_points + np.array([40.0, -13.0, 5.0]),
        turned(mesh_points, roll=25),
        turned(mesh_points, yaw=20, pitch=-10),
    ):
        np.testing.assert_allclose(features(moved), base, atol=1e-4)


def test_a_raised_brow_raises_brow_height_and_a_smile_raises_the_corners(mesh_points):
    base = dict(zip(FEATURES, features(mesh_points), strict=True))
    eye_distance = np.linalg.norm(mesh_points[33] - mesh_points[263])
    up = np.array([0.0, -0.06 * eye_distance, 0.0])  # image y grows downward
    raised = mesh_points.copy()
    raised[list(BROW[0] + BROW[1])] += up
    after = dict(zip(FEATURES, features(raised), strict=True))
    assert after["brow_height"] == pytest.approx(base["brow_height"] + 0.06, abs=0.01)
    assert after["inner_brow_height"] > base["inner_brow_height"]
    assert after["eye_opening"] == pytest.approx(base["eye_opening"], abs=1e-6)
    smile = mesh_points.copy()
    smile[list(MOUTH_CORNERS)] += up
    after = dict(zip(FEATURES, features(smile), strict=True))
    assert after["corners_up"] == pytest.approx(base["corners_up"] + 0.06, abs=0.01)
    assert after["brow_height"] == pytest.approx(base["brow_height"], abs=1e-6)
