"""Labelled head-motion clips made from real faces, for `python -m benchmarks gestures`.

A real face (a sharp PublicTest face the face mesh reads as facing the camera, enlarged into a
480x360 frame) is turned in 3-D by re-rendering it: the face mesh gives its 468 points with
depth; the points are rotated about their centre by the clip's (yaw, pitch) at each frame and
projected; every triangle of a Delaunay triangulation of the points is warped from the source
image to where it lands now (far triangles first, so near ones cover them). What runs on
these frames is the whole live path: detector, face mesh, head pose, tracker and gesture
detector, exactly as `fer-audio live` does.

Clips (about 4 s each, at 15 and 30 fps): nods (pitch, one down-up cycle of 10-20 degrees a
side, 0.5-1.0 s), shakes (yaw, one or two left-right cycles of 12-25 degrees, 0.5-1.2 s), and
what must not count: a still face, a slow turn away (30 degrees over 1.5 s), a slow look down
and back (20 degrees down in 1 s, held, back in 1 s).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

FRAME = (480, 360)  # (width, height) pixels
FACE_SIDE = 200  # pixels the 48x48 face is enlarged to


@dataclass(frozen=True)
class Clip:
    kind: str  # 'nod', 'shake' or a negative: 'still', 'turn', 'look_down'
    face: int  # index of the source face
    fps: float
    seconds: float
    onset: float  # s, when the motion starts (gestures)
    cycles: float
    period: float  # s per cycle
    amplitude: float  # degrees a side

    def pose(self, t: float) -> tuple[float, float]:
        """(yaw, pitch) degrees at time t."""
        u = t - self.onset
        if self.kind in ("nod", "shake"):
            wave = (
                -self.amplitude * math.sin(2 * math.pi * u / self.period)
                if 0 <= u <= self.cycles * self.period
                else 0
            )
            return (wave, 0.0) if self.kind == "shake" else (0.0, wave)
        if self.kind == "turn":
            return (30.0 * min(1.0, max(0.0, u / 1.5)), 0.0)
        if self.kind == "look_down":
            down = min(1.0, max(0.0, u)) - min(1.0, max(0.0, u - 2.0))
            return (0.0, -20.0 * down)
        return (0.0, 0.0)

    @property
    def end(self) -> float:
        return self.onset + self.cycles * self.period


def clips(n_faces: int, seed: int = 3) -> list[Clip]:
    rng = np.random.default_rng(seed)
    out = []
    for face in range(n_faces):
        for fps in (15.0, 30.0):
            onset = float(rng.uniform(1.0, 1.5))
            out.append(
                Clip(
                    "nod",
                    face,
                    fps,
                    4.0,
                    onset,
                    1.0,
                    float(rng.uniform(0.5, 1.0)),
                    float(rng.uniform(10, 20)),
                )
            )
            cycles = float(rng.choice([1.0, 2.0]))
            period = float(rng.uniform(0.5, 0.6 if cycles == 2 else 1.2))
            out.append(Clip("shake", face, fps, 4.0, onset, cycles, period, float(rng.uniform(12, 25))))
            for kind in ("still", "turn", "look_down"):
                out.append(Clip(kind, face, fps, 4.5, onset, 0.0, 1.0, 0.0))
    return out


def triangles(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """(k, 3) vertex indices of a Delaunay triangulation of points (n, 2)."""
    subdiv = cv2.Subdiv2D((0, 0, width, height))
    index = {}
    for i, (x, y) in enumerate(points):
        x, y = float(np.clip(x, 0, width - 1)), float(np.clip(y, 0, height - 1))
        index.setdefault((round(x, 3), round(y, 3)), i)
        subdiv.insert((x, y))
    out = []
    for tri in subdiv.getTriangleList().reshape(-1, 3, 2):
        ids = [index.get((round(float(x), 3), round(float(y), 3))) for x, y in tri]
        if None not in ids:
            out.append(ids)
    return np.array(out, np.int32)


class Renderer:
    """render(yaw, pitch) -> the source frame with its face turned by that much."""

    def __init__(self, frame: np.ndarray, points: np.ndarray) -> None:
        self.frame = frame
        self.points = points.astype(np.float64)
        self.centre = self.points.mean(0)
        h, w = frame.shape[:2]
        self.tris = triangles(self.points[:, :2], w, h)
        self.grid = np.mgrid[0:h, 0:w].astype(np.float32)

    def render(self, yaw: float, pitch: float) -> np.ndarray:
        from fer_audio.vision.landmarks import rotation

        q = (rotation(yaw, pitch, 0.0) @ (self.points - self.centre).T).T + self.centre
        h, w = self.frame.shape[:2]
        owner = np.full((h, w), -1, np.int32)
        depth = q[self.tris, 2].mean(1)
        for k in np.argsort(-depth):  # far first
            cv2.fillConvexPoly(owner, np.round(q[self.tris[k], :2]).astype(np.int32), int(k))
        inv = np.zeros((len(self.tris), 2, 3), np.float32)
        for k, tri in enumerate(self.tris):
            inv[k] = cv2.getAffineTransform(
                q[tri, :2].astype(np.float32), self.points[tri, :2].astype(np.float32)
            )
        ys, xs = self.grid
        m = inv[np.maximum(owner, 0)]
        map_x = np.where(owner >= 0, m[..., 0, 0] * xs + m[..., 0, 1] * ys + m[..., 0, 2], xs)
        map_y = np.where(owner >= 0, m[..., 1, 0] * xs + m[..., 1, 1] * ys + m[..., 1, 2], ys)
        return cv2.remap(self.frame, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_LINEAR)


def source_faces(faces: np.ndarray, mesh_model, detectors, want: int, seed: int = 11) -> list[Renderer]:
    """Renderers for `want` real faces that every detector finds and the mesh reads as facing
    the camera (|yaw| and |pitch| under 12 degrees), each enlarged into a plain frame."""
    from fer_audio.vision.landmarks import head_pose

    rng = np.random.default_rng(seed)
    w, h = FRAME
    out = []
    for i in rng.permutation(len(faces)):
        frame = np.full((h, w), int(rng.integers(70, 180)), np.uint8)
        x, y = (w - FACE_SIDE) // 2, (h - FACE_SIDE) // 2
        frame[y : y + FACE_SIDE, x : x + FACE_SIDE] = cv2.resize(
            faces[i], (FACE_SIDE, FACE_SIDE), interpolation=cv2.INTER_CUBIC
        )
        found = [d.detect(frame) for d in detectors]
        if not all(found):
            continue
        mesh = mesh_model.mesh(frame, found[0][:1])[0]
        pose = head_pose(mesh.points)
        if mesh.score < 0.9 or abs(pose.yaw) > 12 or abs(pose.pitch) > 12:
            continue
        out.append(Renderer(frame, mesh.points))
        if len(out) == want:
            break
    return out
