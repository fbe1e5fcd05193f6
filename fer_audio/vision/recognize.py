"""Faces in, emotions out: detection, crops, and one batched classification per frame."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from fer_audio.types import FaceBox, FacePrediction
from fer_audio.vision.classify import Classifier, ClassifierOptions
from fer_audio.vision.detect import DetectorOptions, FaceDetector, make_detector
from fer_audio.vision.landmarks import (
    MIN_FACE_SCORE,
    FaceMesh,
    FaceMeshModel,
    eye_angle,
    head_pose,
    level_crop,
)
from fer_audio.vision.model_files import ModelFileMissing
from fer_audio.vision.preprocess import (
    CROP_MARGIN,
    check_image,
    expand_box,
    face_input,
    square_box,
    to_gray8,
)


def left_to_right(boxes: list[FaceBox]) -> list[FaceBox]:
    """Faces ordered by the horizontal centre of their box, as the listener hears them."""
    return sorted(boxes, key=lambda b: b.center[0])


@dataclass(frozen=True)
class RecognizerOptions:
    detector: DetectorOptions = field(default_factory=DetectorOptions)
    classifier: ClassifierOptions = field(default_factory=ClassifierOptions)
    crop_margin: float = CROP_MARGIN  # per side, fraction of the detected box
    whole_image_max: int = 400  # pixels: an image up to this side and shaped like a face crop
    # (whole_image_aspect) with no face found is classified as one face if the face mesh sees an
    # upright face filling it: FER-style 48x48 crops, contact photos, portraits cropped to the face
    # (often turned or cut, which the detector misses); 0: off
    whole_image_aspect: float = 2.0  # its longer side at most this many times its shorter
    whole_image_min_score: float = 0.9  # the face mesh's face score it needs (a plain check: 0.5;
    # below 0.9 it passes an upside-down face now and then, more surely than turned upright)
    fill_margin: float = 0.3  # where no face is found, look again with a border of this fraction
    # of the image's longer side on every side: a face that fills the photo or is cut by its
    # edges (a portrait crop) has no margin for the detector's window otherwise; 0 turns this off
    fill_min_neighbors: int = 3  # Haar: the bordered search's neighbours (stricter than a plain
    # scan's: a border around a face-like pattern otherwise yields false faces)
    mirror: bool = False  # also read each face as its mirror image and average the two (narrate:
    # a photo is one look at a face; in live the smoother averages many frames instead)
    pose: bool = False  # head pose of each face from the face mesh (for gestures and gaze)
    align: bool = False  # turn each crop so the eyes are level (face mesh) before classifying
    align_min_roll: float = 15.0  # degrees: faces whose eye line is nearer level are left as they are
    # (the model was trained on FER-2013's slightly tilted faces, turned +-10 degrees more)


class Recognizer:
    """analyze(image) -> faces ordered left to right, each with its 7 probabilities."""

    def __init__(
        self,
        options: RecognizerOptions = RecognizerOptions(),
        detector: FaceDetector | None = None,
        classifier: Classifier | None = None,
    ) -> None:
        self.options = options
        self.detector = detector or make_detector(options.detector)
        self.classifier = classifier or Classifier(options.classifier)
        self._mesh = FaceMeshModel() if options.pose or options.align else None
        self._followed: dict[FaceBox, FaceMesh] = {}  # meshes follow() ran for the current frame
        self._strict: FaceDetector | None = None  # the bordered search's detector, made on first use
        self._mesh_check = self._mesh  # the face mesh as a face check, loaded on first use
        self._no_mesh = False  # the face mesh's model file is missing

    def detect(self, gray: np.ndarray) -> list[FaceBox]:
        """Face boxes in a (h, w) uint8 grey image, left to right."""
        gray = to_gray8(check_image(gray, "Recognizer.detect: gray"))
        boxes = self.detector.detect(gray)
        if not boxes and self.options.fill_margin > 0:
            boxes = self._detect_bordered(gray)
        if not boxes and self._is_face_crop(gray) and self._holds_a_face(gray):
            boxes = [FaceBox(0, 0, gray.shape[1], gray.shape[0], 0.0)]
        return left_to_right(boxes)

    def _detect_bordered(self, gray: np.ndarray) -> list[FaceBox]:
        """Faces found in `gray` set in a plain border (its mean grey), in `gray`'s pixels and
        clipped to it: a face whose box reaches past the image's edges."""
        h, w = gray.shape[:2]
        pad = round(self.options.fill_margin * max(h, w))
        if pad < 1:
            return []
        mesh = self._face_check()
        if mesh is None:
            return []
        fill = int(gray.mean())
        bordered = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=fill)
        found = [b for b in self._bordered_detector().detect(bordered) if self._upright(mesh, bordered, b)]
        out = []
        for b in found:
            x0, y0 = max(0, b.x - pad), max(0, b.y - pad)
            x1, y1 = min(w, b.x - pad + b.w), min(h, b.y - pad + b.h)
            if (x1 - x0) * (y1 - y0) >= 0.5 * b.area:  # at least half of the face is in the image
                out.append(FaceBox(x0, y0, x1 - x0, y1 - y0, b.score))
        return out

    @staticmethod
    def _upright(
        mesh: FaceMeshModel, gray: np.ndarray, box: FaceBox, min_score: float = MIN_FACE_SCORE
    ) -> bool:
        """Whether the face mesh sees a face in `box` (a face-like pattern: no), and more surely
        than in the same place turned upside down (it also sees a face in an upside-down one)."""
        upright = mesh.mesh(gray, [FaceBox(box.x, box.y, box.w, box.h)])[0]  # both without keypoints
        if upright.score < min_score:
            return False
        h, w = gray.shape[:2]
        turned = FaceBox(w - box.x - box.w, h - box.y - box.h, box.w, box.h)
        return upright.logit > mesh.mesh(np.ascontiguousarray(gray[::-1, ::-1]), [turned])[0].logit

    def _bordered_detector(self) -> FaceDetector:
        if self._strict is None:
            options = self.options.detector
            strict = replace(
                options, min_neighbors=max(options.min_neighbors, self.options.fill_min_neighbors)
            )
            self._strict = make_detector(strict) if options.backend == "haar" else self.detector
        return self._strict

    def _face_check(self) -> FaceMeshModel | None:
        """The face mesh, which tells a face from a face-like pattern; None where its model file
        is not installed (then no bordered search is made)."""
        if self._mesh_check is None and not self._no_mesh:
            try:
                self._mesh_check = FaceMeshModel()
            except ModelFileMissing:
                self._no_mesh = True
        return self._mesh_check

    def _holds_a_face(self, gray: np.ndarray) -> bool:
        """Whether the face mesh sees an upright face filling `gray`: it must see a face, and
        more surely than in `gray` turned upside down (the mesh also sees a face in an upside-down
        one; an icon or a logo: no face at all). True where the mesh's model file is not
        installed."""
        mesh = self._face_check()
        if mesh is None:
            return True
        h, w = gray.shape[:2]
        return self._upright(mesh, gray, FaceBox(0, 0, w, h), self.options.whole_image_min_score)

    def _is_face_crop(self, gray: np.ndarray) -> bool:
        h, w = gray.shape[:2]
        long, short = max(h, w), min(h, w)
        return 0 < long <= self.options.whole_image_max and long <= self.options.whole_image_aspect * short

    def classify(self, gray: np.ndarray, boxes: list[FaceBox]) -> list[FacePrediction]:
        if not boxes:
            self._followed = {}
            return []
        h, w = gray.shape[:2]
        meshes = self.meshes(gray, boxes) if self._mesh is not None else [None] * len(boxes)
        crops = np.stack([self._input(gray, b, m, w, h) for b, m in zip(boxes, meshes, strict=True)])
        probs = self.classifier.predict(crops, mirror=self.options.mirror)
        poses = [head_pose(m.points) if self.options.pose and m is not None else None for m in meshes]
        return [FacePrediction(b, p, pose) for b, p, pose in zip(boxes, probs, poses, strict=True)]

    def follow(self, gray: np.ndarray, box: FaceBox) -> FaceBox | None:
        """Where the face that was at `box` is now, by the face mesh alone (for a video frame in
        which the detector missed it): a box of the same size centred on the mesh, or None if the
        mesh sees no face there. Needs pose or align (the mesh model)."""
        if self._mesh is None:
            return None
        mesh = self._mesh.mesh(gray, [box])[0]
        if mesh.score < MIN_FACE_SCORE:
            return None
        cx, cy = (float(v) for v in mesh.points[:, :2].mean(axis=0))
        h, w = gray.shape[:2]
        x = int(round(min(max(cx - box.w / 2, 0), max(w - box.w, 0))))
        y = int(round(min(max(cy - box.h / 2, 0), max(h - box.h, 0))))
        moved = FaceBox(x, y, box.w, box.h, mesh.score)
        self._followed[moved] = mesh
        return moved

    def meshes(self, gray: np.ndarray, boxes: list[FaceBox]) -> list[FaceMesh | None]:
        """The face mesh of each box (None where it sees no face): the one the detector already
        ran (BlazeFace checks each face with it) or follow() found, else from one batched pass."""
        of = getattr(self.detector, "mesh_of", None)
        followed, self._followed = self._followed, {}
        meshes = [followed.get(b) or (of(b) if of is not None else None) for b in boxes]
        todo = [i for i, m in enumerate(meshes) if m is None]
        for i, m in zip(todo, self._mesh.mesh(gray, [boxes[i] for i in todo]), strict=True):
            meshes[i] = m
        return [m if m.score >= MIN_FACE_SCORE else None for m in meshes]

    def _input(self, gray: np.ndarray, box: FaceBox, mesh: FaceMesh | None, w: int, h: int) -> np.ndarray:
        crop = self._crop_box(box, w, h)
        angle = eye_angle(mesh.points) if self.options.align and mesh is not None else 0.0
        if abs(angle) >= self.options.align_min_roll:
            if crop != (0, 0, w, h):  # the square the plain crop would take, before clipping
                crop = square_box(box.x, box.y, box.w, box.h, self.options.crop_margin)
            return face_input(level_crop(gray, crop, angle))
        return face_input(gray, crop)

    def _crop_box(self, box: FaceBox, width: int, height: int) -> tuple[int, int, int, int]:
        if box.score == 0.0 and (box.w, box.h) == (width, height):
            return (0, 0, width, height)  # a whole-image face crop: no margin to add
        return expand_box(box.x, box.y, box.w, box.h, width, height, self.options.crop_margin)

    def analyze(self, image: np.ndarray) -> list[FacePrediction]:
        """The faces in `image` (grey (h, w) or BGR/BGRA (h, w, 3|4), 8- or 16-bit or float),
        left to right; InvalidInput if it is not an image (None, a path, an empty array)."""
        gray = to_gray8(check_image(image, "Recognizer.analyze: image"))
        return self.classify(gray, self.detect(gray))
