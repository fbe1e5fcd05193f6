#!/usr/bin/env python3
"""Fits the head pose's reference: which face-mesh points it reads, how much each counts, and
the frontal face they are compared with. Writes fer_audio/models/head_pose.npz (atomically).

    python scripts/fit-head-pose.py   # about 3 minutes on 2 cores; needs ../shared

1. Rigid points, chosen by measuring (the CK+ clips of ../shared/datasets/realworld/ckplus-video,
   which are for choosing): in each clip, the mesh of the onset (the first 0.9 s, held) and of the
   peak (the last 1.8 s, held) are aligned by a robust similarity fit, and each point's move is
   taken in eye-corner distances; a point's figure is the 90th percentile over the clips of the
   larger of its move and its mirror partner's. The POINTS points that move least are kept,
   each weighted by 1 / (figure + 0.005): the mouth, chin and brows, which every expression moves,
   are left out.
2. The frontal face, fitted on training data only: the mean shape (generalised Procrustes) of the
   face mesh on FACES FER-2013 Training faces, turned so that its mirror plane is upright and
   made exactly mirror-symmetric. Its pitch (which way is level) is the generic head's the pose
   used before (solvePnP on six points of a hand-made head): turned about the ear-to-ear axis so
   that both read the same mean pitch on those training faces.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import SHARED, data  # noqa: E402
from fer_audio.outputs import write_atomic  # noqa: E402
from fer_audio.types import FaceBox  # noqa: E402
from fer_audio.vision.landmarks import (  # noqa: E402
    FaceMeshModel,
    pose_from_rotation,
    rotation,
    similarity_fit,
)
from fer_audio.vision.recognize import Recognizer  # noqa: E402

POINTS = 60  # rigid points kept
FACES = 4000  # FER-2013 Training faces tried for the frontal face (those the mesh reads surely)
CLIPS = SHARED / "datasets" / "realworld" / "ckplus-video"
OUT = ROOT / "fer_audio" / "models" / "head_pose.npz"


def clip_meshes(path: Path, recognizer: Recognizer) -> tuple[np.ndarray, np.ndarray]:
    """(t (n,), points (n, 468, 3)) of the largest face in each frame of a clip."""
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    ts, pts, index = [], [], 0
    while True:
        ok, image = cap.read()
        if not ok:
            break
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        boxes = sorted(recognizer.detect(gray), key=lambda b: -b.area)
        meshes = [m for m in recognizer.meshes(gray, boxes[:1]) if m is not None] if boxes else []
        if meshes:
            ts.append(index / fps)
            pts.append(meshes[0].points.astype(np.float64))
        index += 1
    cap.release()
    return np.array(ts), np.array(pts)


def point_moves(recognizer: Recognizer) -> np.ndarray:
    """(clips, 468): each point's move from onset to peak, in eye-corner distances."""
    moves = []
    for path in sorted(CLIPS.glob("*/*.mp4")):
        t, p = clip_meshes(path, recognizer)
        onset, peak = np.median(p[t < 0.9], axis=0), np.median(p[t > t[-1] - 1.8], axis=0)
        iod = np.linalg.norm(onset[33, :2] - onset[263, :2])
        w = np.ones(len(onset))
        for _ in range(5):  # reweighted: the points an expression moves count less and less
            s, r, tr = similarity_fit(peak, onset, w)
            res = np.linalg.norm(s * peak @ r.T + tr - onset, axis=1) / iod
            w = 1.0 / (1.0 + (res / 0.01) ** 2)
        moves.append(res)
        share = np.median(res) * 100
        print(f"  {path.parent.name}/{path.name}: median point move {share:.2f}% of the eye distance")
    return np.array(moves)


def training_shapes(mesh: FaceMeshModel) -> np.ndarray:
    train = data().require("Training")
    rng = np.random.default_rng(0)
    shapes = []
    for i in rng.permutation(len(train.images))[:FACES]:
        face = cv2.resize(train.images[i], (192, 192), interpolation=cv2.INTER_CUBIC)
        frame = np.full((384, 384), int(face.mean()), np.uint8)
        frame[96:288, 96:288] = face
        m = mesh.mesh(frame, [FaceBox(96, 96, 192, 192)])[0]
        if m.score >= 0.9:
            shapes.append(m.points.astype(np.float64))
    return np.array(shapes)


def mean_shape(shapes: np.ndarray, rounds: int = 5) -> np.ndarray:
    """Generalised Procrustes: the mean of the shapes, each fitted to it; centred, unit RMS size."""
    weights = np.ones(shapes.shape[1])
    mean = shapes[0] - shapes[0].mean(axis=0)
    for _ in range(rounds):
        fitted = []
        for s in shapes:
            k, r, t = similarity_fit(s, mean, weights)
            fitted.append(k * s @ r.T + t)
        mean = np.mean(fitted, axis=0)
        mean -= mean.mean(axis=0)
        mean /= np.sqrt((mean**2).sum(axis=1).mean())
    return mean


def symmetric(mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the shape turned so its mirror plane is x = 0 and averaged with its mirror image, the
    index of each point's mirror partner)."""
    mirrored = mean * [-1.0, 1.0, 1.0]
    partner = np.array([np.argmin(((mirrored[i] - mean) ** 2).sum(axis=1)) for i in range(len(mean))])
    d = mean - mean[partner]
    normal = d[d[:, 0] > 0].sum(axis=0)
    normal /= np.linalg.norm(normal)
    v, c = np.cross(normal, [1.0, 0.0, 0.0]), float(normal[0])
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    turned = mean @ (np.eye(3) + vx + vx @ vx / (1 + c)).T  # the smallest turn taking normal to x
    return (turned + (turned * [-1.0, 1.0, 1.0])[partner]) / 2, partner


# The generic head the pose was read from before: mesh index -> (x, y, z) mm, x to the image's
# right, y down, z away; a frontal face is the identity rotation. Used here only for its level.
GENERIC_HEAD = {
    1: (0, 0, 0),
    152: (0, 66, 13),
    33: (-45, -34, 27),
    263: (45, -34, 27),
    61: (-30, 30, 25),
    291: (30, 30, 25),
}


def generic_pitch(points: np.ndarray, side: int = 384) -> float:
    model = np.array(list(GENERIC_HEAD.values()), np.float64)
    image = points[list(GENERIC_HEAD), :2]
    camera = np.array([[side, 0, side / 2], [0, side, side / 2], [0, 0, 1]], np.float64)
    guess = np.array([0.0, 0.0, 1000.0])
    _, rvec, _ = cv2.solvePnP(model, image, camera, None, np.zeros(3), guess, True, cv2.SOLVEPNP_ITERATIVE)
    return pose_from_rotation(cv2.Rodrigues(rvec)[0]).pitch


def level(frontal: np.ndarray, shapes: np.ndarray, points: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """`frontal` turned about x so that the pose it gives has the generic head's mean pitch."""
    target = np.mean([generic_pitch(s) for s in shapes])
    for _ in range(3):
        pitches = [
            pose_from_rotation(similarity_fit(frontal[points], s[points], weights)[1]).pitch for s in shapes
        ]
        frontal = frontal @ rotation(0.0, float(np.mean(pitches)) - target, 0.0).T  # R' = R Q^-1
    return frontal


def main() -> int:
    recognizer = Recognizer()
    mesh = FaceMeshModel()
    recognizer._mesh = mesh  # meshes() needs the mesh model; the pose is not read here
    print("fit-head-pose: each point's move from onset to peak in the CK+ clips")
    moves = point_moves(recognizer)
    print(f"fit-head-pose: the frontal face from up to {FACES} FER-2013 Training faces")
    shapes = training_shapes(mesh)
    frontal, partner = symmetric(mean_shape(shapes))
    figure = np.percentile(np.maximum(moves, moves[:, partner]), 90, axis=0)
    points = np.sort(np.argsort(figure)[:POINTS])
    weights = 1.0 / (figure[points] + 0.005)
    frontal = level(frontal, shapes, points, weights)
    buf = io.BytesIO()
    np.savez(
        buf,
        points=points.astype(np.int16),
        weights=(weights / weights.sum()).astype(np.float32),
        frontal=frontal[points].astype(np.float32),
    )
    write_atomic(OUT, buf.getvalue())
    kept = figure[points] * 100
    print(
        f"fit-head-pose: {len(shapes)} training faces; {POINTS} points kept, moving {kept.min():.2f}-"
        f"{kept.max():.2f}% of the eye distance (90th percentile over {len(moves)} clips); the mouth "
        f"corners move {figure[61] * 100:.1f}%, the chin {figure[152] * 100:.1f}%; wrote {OUT}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
