"""Face geometry from the 468-point face mesh: numbers that describe the expression, not the
person's pose or size, for the geometry expert measured by benchmarks/geometry_expert.py (not
shipped: the model card says why; the probe in ../shared/notes/geometry-probe.md).

The mesh's 3-D points are put into the face's own frame first: origin between the outer eye
corners, x along the eye line, y from there toward the chin (made square to x), z square to
both; then scaled so that the eye corners are 1 apart. A face turned, moved or scaled in the
image gives the same numbers. Each feature is a distance or height in that frame (positive
up for heights), averaged over the face's two sides where it has two.
"""

from __future__ import annotations

import numpy as np

# mesh indices (MediaPipe's canonical face mesh); "right" is the person's right (image left)
EYE_OUTER = (33, 263)
CHIN, FOREHEAD = 152, 10
BROW = ((70, 63, 105, 66, 107), (300, 293, 334, 296, 336))
INNER_BROW = (107, 336)
INNER_EYE = (133, 362)
UPPER_LID, LOWER_LID = (159, 386), (145, 374)
NOSE_BOTTOM, UPPER_LIP_TOP, UPPER_LIP_BOTTOM = 2, 0, 13
LOWER_LIP_TOP, LOWER_LIP_BOTTOM = 14, 17
MOUTH_CORNERS = (61, 291)

GROUPS = {  # feature name -> group (for the ablation): brows, eyes, nose, mouth
    "brow_height": "brows",
    "inner_brow_height": "brows",
    "brow_gap": "brows",
    "eye_opening": "eyes",
    "nose_to_lip": "nose",
    "corners_up": "mouth",
    "lip_press": "mouth",
    "mouth_opening": "mouth",
    "mouth_width": "mouth",
}
FEATURES = tuple(GROUPS)


def face_frame(points: np.ndarray) -> np.ndarray:
    """(468, 3) mesh points -> the same points in the face's own frame, eye corners 1 apart."""
    p = np.asarray(points, np.float64)
    right, left = p[EYE_OUTER[0]], p[EYE_OUTER[1]]
    origin = (right + left) / 2
    x = left - right
    scale = np.linalg.norm(x)
    x = x / scale
    down = p[CHIN] - origin
    y = down - x * (down @ x)
    y = y / np.linalg.norm(y)
    z = np.cross(x, y)
    return (p - origin) @ np.stack([x, y, z], axis=1) / scale


def features(points: np.ndarray) -> np.ndarray:
    """(468, 3) mesh points -> (len(FEATURES),) float32 in FEATURES order."""
    f = face_frame(points)
    height = lambda upper, lower: f[lower, 1] - f[upper, 1]  # noqa: E731 (y grows downward)
    brow = np.mean([height(np.array(b), lid).mean() for b, lid in zip(BROW, UPPER_LID, strict=True)])
    inner = np.mean([height(b, e) for b, e in zip(INNER_BROW, INNER_EYE, strict=True)])
    gap = np.linalg.norm(f[INNER_BROW[0], :2] - f[INNER_BROW[1], :2])
    eyes = np.mean([height(u, lo) for u, lo in zip(UPPER_LID, LOWER_LID, strict=True)])
    centre = (f[UPPER_LIP_BOTTOM, 1] + f[LOWER_LIP_TOP, 1]) / 2
    corners_up = np.mean([centre - f[c, 1] for c in MOUTH_CORNERS])
    lips = height(UPPER_LIP_TOP, UPPER_LIP_BOTTOM) + height(LOWER_LIP_TOP, LOWER_LIP_BOTTOM)
    values = (
        brow,
        inner,
        gap,
        eyes,
        height(NOSE_BOTTOM, UPPER_LIP_TOP),
        corners_up,
        lips,
        height(UPPER_LIP_BOTTOM, LOWER_LIP_TOP),
        np.linalg.norm(f[MOUTH_CORNERS[0], :2] - f[MOUTH_CORNERS[1], :2]),
    )
    return np.asarray(values, np.float32)
