"""BlazeFace (MediaPipe's short-range face detector) through LiteRT, with a tiled pass for small faces.

The model sees a 128x128 image and finds faces from about a quarter of its side up (BENCHMARKS.md,
"Tuning notes"). So a frame is scanned whole, then, while
smaller faces are wanted, in square tiles half as large at each level, overlapping by half a
tile so every face up to half a tile's side lies wholly inside one tile; each level keeps only
the faces the level above is too coarse for. All tiles of a frame go through the model as one
batch. Decoding follows MediaPipe's face_detection_short_range graph: 896 anchors (strides 8,
16, 16, 16), boxes and six keypoints relative to the anchor centres, sigmoid scores, weighted
non-maximum suppression.

Boxes are returned in the FER-crop convention the rest of fer-audio uses (see FER_BOX), so the
classifier's crop around a BlazeFace box frames the face as FER-2013's images do.
"""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np

from fer_audio.types import FaceBox
from fer_audio.vision.landmarks import FaceMesh, FaceMeshModel
from fer_audio.vision.litert import TFLiteModel, sigmoid
from fer_audio.vision.model_files import model_path

INPUT = 128  # pixels, the model's input side
MIN_SCORE = 0.5  # MediaPipe's threshold for this model
NMS_IOU = 0.3  # boxes overlapping more than this are one face (weighted average)
SMALLEST = 0.25  # of the input side: the smallest face the model finds reliably (32 px)
MIN_TILE = 64  # pixels of the scanned image: tiles are not made smaller (upsampled 2x at most)
MAX_LEVELS = 4  # whole frame + 3 levels of tiles
MAX_ROLL = 60.0  # degrees: a face turned further than this from upright is not passed on (the
# expression model has seen upright faces only; BlazeFace also finds upside-down ones)
EDGE = 0.02  # of a tile's side: a face touching an inner tile edge is left to the tile holding it
# The detector's box -> the box whose crop (with the classifier's margin) matches FER-2013's
# framing: centre shift (fractions of the box side) and side scale. Fitted by
# on 288 sharp PublicTest faces pasted at 90 and 130 px into frames of the shared video
# (medians; FER-2013's crops reach higher, into the forehead).
FER_BOX = (0.0, -0.09, 1.0)  # (dx, dy, scale)


@functools.cache
def anchors() -> np.ndarray:
    """(896, 2) float32 anchor centres in 0..1: a 16x16 grid with 2 anchors per cell, then an
    8x8 grid with 6 (three layers of stride 16 merged)."""
    parts = []
    for grid, per_cell in ((16, 2), (8, 6)):
        ys, xs = np.mgrid[0:grid, 0:grid]
        centres = np.stack([(xs + 0.5) / grid, (ys + 0.5) / grid], -1).reshape(-1, 2)
        parts.append(np.repeat(centres, per_cell, axis=0))
    return np.concatenate(parts).astype(np.float32)


def decode(regressors: np.ndarray, scores: np.ndarray, min_score: float = MIN_SCORE) -> np.ndarray:
    """One image's raw outputs ((896, 16), (896, 1)) -> (k, 17) rows of
    [x0, y0, x1, y1, 6 keypoints (x, y), score], coordinates in 0..1 of the input, score > min_score."""
    score = sigmoid(scores[:, 0])
    keep = score > min_score
    raw, a = regressors[keep] / INPUT, anchors()[keep]
    centre, half = raw[:, :2] + a, raw[:, 2:4] / 2
    kps = raw[:, 4:16].reshape(-1, 6, 2) + a[:, None, :]
    return np.concatenate([centre - half, centre + half, kps.reshape(-1, 12), score[keep, None]], axis=1)


def unbatch(out: np.ndarray, n: int) -> np.ndarray:
    """The model's output for a batch of n -> (n, 896, k). Its graph reshapes each layer's output
    to a batch of 1, so a batch comes out as (1, n * 896, k): the 16x16 grid's 512 rows of every
    image, then the 8x8 grid's 384 rows of every image."""
    k = out.shape[-1]
    flat = out.reshape(-1, k)
    fine = flat[: n * 512].reshape(n, 512, k)
    coarse = flat[n * 512 :].reshape(n, 384, k)
    return np.concatenate([fine, coarse], axis=1)


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def weighted_nms(dets: np.ndarray, iou: float = NMS_IOU) -> np.ndarray:
    """MediaPipe's weighted suppression: each cluster of rows overlapping the best remaining one
    by more than `iou` becomes one row, its coordinates averaged by score, its score the best."""
    order = dets[np.argsort(-dets[:, -1], kind="stable")]
    out = []
    while len(order):
        overlap = _iou(order[0], order) > iou
        cluster = order[overlap]
        w = cluster[:, -1:]
        merged = (cluster[:, :-1] * w).sum(0) / w.sum()
        out.append(np.append(merged, order[0, -1]))
        order = order[~overlap]
    return np.array(out, np.float32).reshape(-1, dets.shape[1])


def tiles(width: int, height: int, smallest_face: float) -> list[tuple[int, int, int, int]]:
    """Square regions (x, y, side, level) to scan in a width x height image for faces down to
    `smallest_face` pixels: level 0 is the whole image (padded square); level k tiles have side
    L / 2**k, step half a side, and are added while the level above cannot see faces that small."""
    side = max(width, height)
    out = [(0, 0, side, 0)]
    level = 0
    while side * SMALLEST > smallest_face and side // 2 >= MIN_TILE and level + 1 < MAX_LEVELS:
        side, level = side // 2, level + 1
        step = side // 2
        xs = sorted({*range(0, max(width - side, 0) + 1, step), max(width - side, 0)})
        ys = sorted({*range(0, max(height - side, 0) + 1, step), max(height - side, 0)})
        out += [(x, y, side, level) for y in ys for x in xs]
    return out


def _square(gray: np.ndarray, x: int, y: int, side: int) -> np.ndarray:
    """The (side x side) region at (x, y) (which may reach past any edge of the image: zero-padded
    there), resized to the input, as (128, 128, 3) float32 in -1..1."""
    x0, y0 = max(x, 0), max(y, 0)
    region = gray[y0 : y + side, x0 : x + side]
    if region.shape != (side, side):
        top, left = y0 - y, x0 - x
        bottom, right = side - top - region.shape[0], side - left - region.shape[1]
        region = cv2.copyMakeBorder(region, top, bottom, left, right, cv2.BORDER_CONSTANT, value=0)
    interp = cv2.INTER_AREA if side > INPUT else cv2.INTER_LINEAR
    small = cv2.resize(region, (INPUT, INPUT), interpolation=interp).astype(np.float32)
    return np.repeat((small / 127.5 - 1.0)[..., None], 3, axis=2)


class BlazeFaceDetector:
    """FaceDetector backend: BlazeFace on the whole frame and, for small faces, on tiles; each
    face it finds is then checked by the face mesh (options.verify), whose points the caller can
    have through mesh_of() instead of running the mesh again."""

    def __init__(self, options) -> None:  # options: fer_audio.vision.detect.DetectorOptions
        self.options = options
        self._model = TFLiteModel(model_path("blazeface"), threads=options.threads)
        self._mesh = FaceMeshModel(options.threads) if options.verify else None
        self._meshes: dict[FaceBox, FaceMesh] = {}  # of the faces found in self._frame
        self._frame: np.ndarray | None = None

    def mesh_of(self, box: FaceBox) -> FaceMesh | None:
        """The face mesh of a box detect() or detect_near() returned for the latest frame."""
        return self._meshes.get(box)

    def _checked(self, gray: np.ndarray, boxes: list[FaceBox]) -> list[FaceBox]:
        """Boxes the detector is sure of: upright enough for the expression model (eyes within
        MAX_ROLL of level) and, with verify, seen as a face by the face mesh too."""
        boxes = [b for b in boxes if upright(b)]
        if self._mesh is None:
            return boxes
        # Meshes are kept for one frame: in video, detect_near runs once per face on that frame.
        if gray is not self._frame:
            self._frame, self._meshes = gray, {}
        kept = {
            b: m
            for b, m in zip(boxes, self._mesh.mesh(gray, boxes), strict=True)
            if m.score >= self.options.mesh_score
        }
        self._meshes.update(kept)
        return list(kept)

    def _run(self, gray: np.ndarray, regions: list[tuple[int, int, int, int]]) -> np.ndarray:
        """Detections (k, 17) in pixels of `gray` over the given regions, before suppression."""
        batch = np.stack([_square(gray, x, y, s) for x, y, s, _ in regions])
        regressors, scores = self._model.run(batch)
        regressors, scores = unbatch(regressors, len(regions)), unbatch(scores, len(regions))
        h, w = gray.shape[:2]
        found = []
        for (x, y, s, level), reg, sc in zip(regions, regressors, scores, strict=True):
            d = decode(reg, sc, self.options.face_score)
            if level > 0:
                d = d[_inside(d, x, y, s, w, h) & (d[:, 2] - d[:, 0] <= 0.5)]
            d[:, :-1:2] = d[:, :-1:2] * s + x
            d[:, 1:-1:2] = d[:, 1:-1:2] * s + y
            found.append(d)
        return np.concatenate(found)

    def detect(self, gray: np.ndarray) -> list[FaceBox]:
        h, w = gray.shape[:2]
        scale = min(1.0, self.options.max_side / max(h, w))
        size = (round(w * scale), round(h * scale))
        # linear, not area, interpolation (BENCHMARKS.md, "Tuning notes")
        scan = gray if scale == 1.0 else cv2.resize(gray, size, interpolation=cv2.INTER_LINEAR)
        sh, sw = scan.shape[:2]
        dets = self._run(scan, tiles(sw, sh, self.options.min_face * scale))
        return self._checked(gray, self._boxes(weighted_nms(dets), 1.0 / scale, self.options.min_face))

    def detect_near(self, gray: np.ndarray, box: FaceBox) -> list[FaceBox]:
        """The face near a known one (video): one pass over a square twice its size around it."""
        side = math.ceil(2 * max(box.w, box.h))
        cx, cy = box.center
        dets = self._run(gray, [(round(cx - side / 2), round(cy - side / 2), side, 0)])
        return self._checked(gray, self._boxes(weighted_nms(dets)[:1], 1.0, 0))

    @staticmethod
    def _boxes(dets: np.ndarray, factor: float, min_face: float) -> list[FaceBox]:
        out = []
        dx, dy, grow = FER_BOX
        for d in dets:
            x0, y0, x1, y1 = d[:4] * factor
            bw, bh = x1 - x0, y1 - y0
            side = max(bw, bh) * grow
            if side < min_face / 2:  # the tiles look down to min_face; this drops only specks
                continue
            cx, cy = (x0 + x1) / 2 + dx * bw, (y0 + y1) / 2 + dy * bh
            kps = tuple((float(d[4 + 2 * i] * factor), float(d[5 + 2 * i] * factor)) for i in range(6))
            out.append(
                FaceBox(
                    round(cx - side / 2), round(cy - side / 2), round(side), round(side), float(d[-1]), kps
                )
            )
        return out


def upright(box: FaceBox) -> bool:
    """The eye line within MAX_ROLL of level, and the mouth below the eyes (an upside-down or
    vertically flipped face has its eyes in order but under its mouth)."""
    (x0, y0), (x1, y1), _, (mx, my) = box.keypoints[:4]
    ex, ey = x1 - x0, y1 - y0
    down = (mx - (x0 + x1) / 2) * -ey + (my - (y0 + y1) / 2) * ex  # mouth along the eye line's normal
    return abs(math.degrees(math.atan2(ey, ex))) <= MAX_ROLL and down > 0


def _inside(d: np.ndarray, x: int, y: int, side: int, width: int, height: int) -> np.ndarray:
    """Rows of d (tile coordinates 0..1) not touching an edge of the tile that lies inside the
    image: a face cut by such an edge is found whole in the neighbouring tile."""
    ok = np.ones(len(d), bool)
    if x > 0:
        ok &= d[:, 0] > EDGE
    if y > 0:
        ok &= d[:, 1] > EDGE
    if x + side < width:
        ok &= d[:, 2] < 1 - EDGE
    if y + side < height:
        ok &= d[:, 3] < 1 - EDGE
    return ok
