"""The 468-point face mesh (MediaPipe's face_landmark.tflite) through LiteRT, and the head pose that
follows from it (yaw, pitch, roll in degrees, from the mesh's rigid points).

The mesh looks at a 192x192 crop around the face, turned so the eyes are level (from
BlazeFace's eye keypoints; a Haar box has none, and is taken upright), 1.5 times the detector's
box as MediaPipe does. It gives 468 (x, y, z) points in that crop, mapped back here to frame
pixels, and a face score that says whether the crop holds a face at all.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from importlib import resources

import cv2
import numpy as np

from fer_audio.types import FaceBox, HeadPose
from fer_audio.vision.litert import TFLiteModel, sigmoid
from fer_audio.vision.model_files import model_path

INPUT = 192  # pixels, the mesh model's input side
ROI_SCALE = 1.5  # the mesh crop's side over the detector's box side (MediaPipe's own factor)
MIN_FACE_SCORE = 0.5  # below this the mesh says the crop holds no face


@dataclass(frozen=True)
class FaceMesh:
    """One face's mesh: points (468, 3) float32 in frame pixels (z: depth, same scale as x,
    smaller = nearer), score 0..1 that the crop holds a face, and that score's logit (which still
    orders two crops where both scores round to 1)."""

    points: np.ndarray
    score: float
    logit: float = 0.0


def roi(box: FaceBox) -> tuple[tuple[float, float], float, float]:
    """(centre, side, angle in degrees) of the mesh's crop for a detected face."""
    if len(box.keypoints) < 4:
        return box.center, ROI_SCALE * max(box.w, box.h), 0.0
    (x0, y0), (x1, y1), _, (mx, my) = box.keypoints[:4]
    centre = ((x0 + x1) / 4 + mx / 2, (y0 + y1) / 4 + my / 2)  # halfway from the eyes to the mouth
    return centre, ROI_SCALE * max(box.w, box.h), math.degrees(math.atan2(y1 - y0, x1 - x0))


def crop_matrix(centre: tuple[float, float], side: float, angle: float, size: int) -> np.ndarray:
    """2x3 affine map from frame pixels to a (size x size) crop of side `side` around `centre`,
    turned by `angle` degrees so that a line at that angle comes out level."""
    m = cv2.getRotationMatrix2D(centre, angle, size / side)
    m[:, 2] += np.array([size / 2.0, size / 2.0]) - np.asarray(centre)
    return m


# mesh indices of the outer corners of the eyes (the person's right eye, left in the image, first)
EYE_CORNERS = (33, 263)
ALIGN_SIZE = 192  # px: an aligned crop is turned at up to this size, then shrunk like any crop


def eye_angle(points: np.ndarray) -> float:
    """Degrees the line through the outer eye corners is turned from level (clockwise in the image,
    y pointing down, is positive)."""
    (x0, y0), (x1, y1) = np.asarray(points)[list(EYE_CORNERS), :2]
    return math.degrees(math.atan2(y1 - y0, x1 - x0))


def level_crop(gray: np.ndarray, box: tuple[float, float, float, float], angle: float) -> np.ndarray:
    """The square crop `box` (x, y, side, side, as expand_box gives) turned about its centre by
    `angle` degrees so that the eyes come out level; edges past the frame repeat its border.
    Returns (s, s) uint8 with s = min(side, ALIGN_SIZE): face_input then shrinks it like any crop."""
    x, y, w, h = box
    side = float(max(w, h))
    size = int(min(round(side), ALIGN_SIZE))
    m = crop_matrix((x + w / 2.0, y + h / 2.0), side, angle, size)
    return cv2.warpAffine(gray, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


class FaceMeshModel:
    """mesh(gray, boxes) -> one FaceMesh per box (one batched inference)."""

    def __init__(self, threads: int = 1) -> None:
        self._model = TFLiteModel(model_path("face_mesh"), threads=threads)

    def mesh(self, gray: np.ndarray, boxes: list[FaceBox]) -> list[FaceMesh]:
        if not boxes:
            return []
        mats = [crop_matrix(*roi(b), INPUT) for b in boxes]
        crops = [
            cv2.warpAffine(gray, m, (INPUT, INPUT), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            for m in mats
        ]
        batch = np.repeat((np.stack(crops).astype(np.float32) / 255.0)[..., None], 3, axis=3)
        points, flags = self._model.run(batch)
        points = points.reshape(len(boxes), -1, 3)
        logits = flags.reshape(-1)
        out = []
        for m, p, s, logit in zip(mats, points, sigmoid(logits), logits, strict=True):
            inv = cv2.invertAffineTransform(m)
            xy = p[:, :2] @ inv[:, :2].T + inv[:, 2]
            z = p[:, 2:] * math.hypot(inv[0, 0], inv[0, 1])
            out.append(FaceMesh(np.concatenate([xy, z], 1).astype(np.float32), float(s), float(logit)))
        return out


@dataclass(frozen=True)
class PoseReference:
    """What the head pose is read from: mesh indices (k,) of points no expression moves, their
    weights (k,) summing to 1, and those points on a frontal face (k, 3), centred, unit size."""

    points: np.ndarray
    weights: np.ndarray
    frontal: np.ndarray


@functools.cache
def pose_reference() -> PoseReference:
    """The shipped reference (fer_audio/models/head_pose.npz, made by scripts/fit-head-pose.py:
    how the points were chosen and the frontal face fitted is written there)."""
    with resources.files("fer_audio").joinpath("models", "head_pose.npz").open("rb") as f:
        data = np.load(f)
        return PoseReference(
            data["points"].astype(np.intp),
            data["weights"].astype(np.float64),
            data["frontal"].astype(np.float64),
        )


def similarity_fit(
    src: np.ndarray, dst: np.ndarray, weights: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Weighted Procrustes (Umeyama): (scale s, rotation r (3, 3), shift t (3,)) minimising
    sum w_i |s r src_i + t - dst_i|^2 for points src, dst (n, 3)."""
    w = weights / weights.sum()
    ms, md = w @ src, w @ dst
    a, b = src - ms, dst - md
    u, sv, vt = np.linalg.svd((w[:, None] * b).T @ a)
    d = np.diag([1.0, 1.0, float(np.sign(np.linalg.det(u @ vt)))])
    r = u @ d @ vt
    s = float((sv * np.diag(d)).sum() / (w @ (a**2).sum(axis=1)))
    return s, r, md - s * r @ ms


def head_pose(points: np.ndarray) -> HeadPose:
    """Head pose from mesh points (468, 3) (x right, y down, z away from the camera; one scale)
    as MediaPipe's face geometry reads it: the rotation of a weighted Procrustes fit of a frontal
    face to the points that no expression moves (around the nose and under the eyes; not the
    mouth, chin or brows), so a face that frowns or opens its mouth keeps its pose."""
    ref = pose_reference()
    mesh = np.asarray(points, np.float64)[ref.points, :3]
    if not np.isfinite(mesh).all():
        return HeadPose(float("nan"), float("nan"), float("nan"))
    _s, r, _t = similarity_fit(ref.frontal, mesh, ref.weights)
    return pose_from_rotation(r)


def pose_from_rotation(r: np.ndarray) -> HeadPose:
    """HeadPose of a head whose model points are turned by rotation matrix r (model -> camera:
    x right, y down, z away), decomposed as r = Rz(roll) Ry(yaw) Rx(pitch) in those axes."""
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, -r[2, 0]))))
    pitch = math.degrees(math.atan2(r[2, 1], r[2, 2]))
    roll = math.degrees(math.atan2(r[1, 0], r[0, 0]))
    # A face turning to the image's right brings its nose (z < 0) right: a rotation about y by
    # -yaw in these axes; tilting up brings the nose up (y < 0): about x by -pitch.
    return HeadPose(-yaw, -pitch, roll)


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """The rotation matrix whose pose_from_rotation is (yaw, pitch, roll) degrees."""
    y, p, r = (math.radians(v) for v in (-yaw, -pitch, roll))
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx
