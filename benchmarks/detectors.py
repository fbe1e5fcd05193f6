"""Face detection and alignment: the detector settings on photos, video, pasted faces and
not-faces; eyes-level crops on turned faces."""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from benchmarks.common import crowd_truth, data, say, video_gray
from benchmarks.narrate import _photos
from fer_audio.labels import EMOTIONS

LBP_CASCADE = Path("/usr/share/opencv4/lbpcascades/lbpcascade_frontalface.xml")  # Debian's opencv-data


def _pasted_faces(frames: list[np.ndarray], sides=(40, 50, 64, 90, 130), n: int = 150, seed: int = 5):
    """{side: [(image, face box)]}: sharp PublicTest faces pasted at `side` px into frames of the
    shared video shrunk to 320x180, where the woman's own face is then a small one."""
    faces = data().require("PublicTest").images
    rng = np.random.default_rng(seed)
    out = {}
    for side in sides:
        items = []
        for _ in range(n):
            img = cv2.resize(frames[rng.integers(len(frames))], (320, 180), interpolation=cv2.INTER_AREA)
            x, y = int(rng.integers(0, 320 - side)), int(rng.integers(0, 180 - side))
            img[y : y + side, x : x + side] = cv2.resize(
                faces[rng.integers(len(faces))], (side, side), interpolation=cv2.INTER_CUBIC
            )
            items.append((img, (x, y, side)))
        out[side] = items
    return out


def _not_faces(n: int = 400, seed: int = 7) -> list[np.ndarray]:
    """Face-like things that are not upright faces: upside-down and block-scrambled faces."""
    faces = data().require("PublicTest").images
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        face = faces[rng.integers(len(faces))]
        out.append(cv2.resize(np.ascontiguousarray(face[::-1]), (160, 160), interpolation=cv2.INTER_CUBIC))
        blocks = [face[y : y + 12, x : x + 12] for y in range(0, 48, 12) for x in range(0, 48, 12)]
        order = rng.permutation(16)
        scrambled = np.vstack([np.hstack([blocks[i] for i in order[r * 4 : r * 4 + 4]]) for r in range(4)])
        out.append(cv2.resize(scrambled, (160, 160), interpolation=cv2.INTER_NEAREST))
    return out


def bench_detectors() -> dict:
    """Face detection alone, one OpenCV thread: the shipped setting against the others tried."""
    from fer_audio.vision.detect import DetectorOptions, make_detector
    from fer_audio.vision.images import read_photo

    settings = {
        "alt2, step 1.2, 1 neighbour (shipped)": DetectorOptions(),
        "alt2, step 1.1, 3 neighbours": DetectorOptions(scale_factor=1.1, min_neighbors=3),
        "default, step 1.1, 5 neighbours (until now)": DetectorOptions(
            cascade="haarcascade_frontalface_default.xml", scale_factor=1.1, min_neighbors=5
        ),
    }
    settings["blazeface (MediaPipe short-range, tiles, face-mesh check)"] = DetectorOptions(
        backend="blazeface"
    )
    if LBP_CASCADE.exists():
        settings["LBP frontalface, step 1.1, 3 neighbours"] = DetectorOptions(
            cascade=str(LBP_CASCADE), scale_factor=1.1, min_neighbors=3
        )
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    frames = video_gray()
    with tempfile.TemporaryDirectory() as tmp:
        photos = [read_photo(p).image for p in _photos(Path(tmp))]
    pasted, not_faces = _pasted_faces(frames), _not_faces()
    out = {}
    try:
        for name, options in settings.items():
            det = make_detector(options)
            started = time.perf_counter()
            on_photos = [det.detect(g) for g in photos]
            ms_photo = (time.perf_counter() - started) / len(photos) * 1000
            started = time.perf_counter()
            on_video = [det.detect(g) for g in frames]
            ms_frame = (time.perf_counter() - started) / len(frames) * 1000
            found = {}
            for side, items in pasted.items():
                found[side] = sum(
                    any(
                        abs(b.center[0] - (x + s / 2)) < s / 2 and abs(b.center[1] - (y + s / 2)) < s / 2
                        for b in det.detect(img)
                    )
                    for img, (x, y, s) in items
                ) / len(items)
            false = sum(len(det.detect(img)) for img in not_faces)
            r = out[name] = {
                "ms_per_256px_photo": ms_photo,
                "faces_in_photos": sum(map(len, on_photos)),
                "ms_per_video_frame": ms_frame,
                "video_frames_with_a_face": sum(len(b) > 0 for b in on_video),
                "video_frames_with_more_faces": sum(len(b) > 1 for b in on_video),
                "pasted_faces_found_by_side": found,
                "boxes_on_not_faces": false,
            }
            say(
                f"detectors [{name}]: {r['ms_per_256px_photo']:.2f} ms per 256x256 photo, "
                f"{r['faces_in_photos']} faces in {len(photos)}; video {r['ms_per_video_frame']:.1f} ms per "
                f"frame, a face in {r['video_frames_with_a_face']} of {len(frames)} frames, more than one "
                f"in {r['video_frames_with_more_faces']}; pasted faces found "
                + ", ".join(f"{side} px {v:.0%}" for side, v in found.items())
                + f"; {false} boxes on {len(not_faces)} upside-down or scrambled faces"
            )
        # what narrate and analyze() search beyond the detector: the bordered second pass and the
        # whole-image read of a face crop (160 px not-faces are in the whole-image read's range)
        from fer_audio.vision.recognize import Recognizer

        recognizer = Recognizer()
        searched = sum(len(recognizer.detect(img)) for img in not_faces)
        plain = out["alt2, step 1.2, 1 neighbour (shipped)"]["boxes_on_not_faces"]
        out["photo_search_boxes_on_not_faces"] = searched
        say(
            f"detectors [photo search: shipped detector, bordered second pass, whole-image read]: "
            f"{searched} boxes on the {len(not_faces)} upside-down or scrambled faces ({plain} from the "
            "detector alone)"
        )
    finally:
        cv2.setNumThreads(threads)
    return out


def _turned(face: np.ndarray, roll: float, side: int = 160) -> np.ndarray:
    """A 48x48 face enlarged to `side` px, turned by `roll` degrees (counter-clockwise in the
    image), on a 300x400 grey frame: a tilted head in a photo."""
    big = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    frame = np.full((300, 400), 128, np.uint8)
    top, left = (300 - side) // 2, (400 - side) // 2
    frame[top : top + side, left : left + side] = big
    m = cv2.getRotationMatrix2D((200.0, 150.0), roll, 1.0)
    return cv2.warpAffine(frame, m, (400, 300), flags=cv2.INTER_LINEAR, borderValue=128)


def bench_alignment(n: int = 1000, rolls=(0, 10, 20, 30), min_roll: float | None = None) -> dict:
    """Crops turned so the eyes are level (face mesh) against plain crops: agreement with the
    crowd's majority on PublicTest faces (the first n with a majority), (a) as the 48x48 crops
    themselves, (b) enlarged into a frame and turned by each roll (alternating sign), scored on
    the faces each detector finds with both (the same faces, so only the crop differs)."""
    from fer_audio.vision.detect import DetectorOptions
    from fer_audio.vision.recognize import Recognizer, RecognizerOptions

    faces = crowd_truth(data().require("PublicTest"))
    images, truth = faces.images[:n], faces.labels[:n]
    out: dict = {}
    for detector in ("haar", "blazeface"):
        options = RecognizerOptions(detector=DetectorOptions(backend=detector))
        turning = {"align": True} if min_roll is None else {"align": True, "align_min_roll": min_roll}
        plain, aligned = Recognizer(options), Recognizer(replace(options, **turning))
        for roll in ("crop", *rolls):
            hits = {False: [], True: []}
            found = 0
            for k, face in enumerate(images):
                frame = face if roll == "crop" else _turned(face, roll * (1 if k % 2 else -1))
                boxes = plain.detect(frame)
                if not boxes:
                    continue
                box = max(boxes, key=lambda b: b.w * b.h)
                found += 1
                for align, recognizer in ((False, plain), (True, aligned)):
                    probs = recognizer.classify(frame, [box])[0].probabilities
                    hits[align].append(int(np.argmax(probs)) == truth[k])
            if roll == "crop" and detector == "blazeface":
                continue  # 48x48 crops are classified whole, whatever the detector
            key = f"{detector}/{roll}"
            out[key] = {
                "faces": found,
                "plain": float(np.mean(hits[False])) if found else None,
                "aligned": float(np.mean(hits[True])) if found else None,
            }
            r = out[key]
            what = "the 48x48 crops" if roll == "crop" else f"turned +-{roll} deg, {detector}"
            say(
                f"alignment [{what}]: {found} of {len(images)} faces; agreement with the crowd "
                f"{r['plain']:.2%} plain, {r['aligned']:.2%} eyes level"
                if found
                else f"alignment [{what}]: no faces found"
            )
    return out


def bench_framing(margins=(0.0, 0.05, 0.1, 0.2), side: int = 160) -> dict:
    """The training framing against the run-time one, on the same faces: each PublicTest face with
    a crowd majority read as FER-2013 cropped it, and enlarged to `side` px in a 300x400 grey photo,
    found by the shipped detector and cropped as live and narrate crop it (its box plus a margin
    per side). Only faces the detector finds exactly once are scored, all framings on those."""
    from fer_audio.vision.classify import Classifier
    from fer_audio.vision.detect import make_detector
    from fer_audio.vision.preprocess import CROP_MARGIN
    from fer_audio.vision.recognize import Recognizer, RecognizerOptions

    faces = crowd_truth(data().require("PublicTest"))
    detector, classifier = make_detector(), Classifier()
    top, left = (300 - side) // 2, 120
    found = []
    for i, face in enumerate(faces.images):
        photo = np.full((300, 400), 128, np.uint8)
        big = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
        photo[top : top + side, left : left + side] = big
        boxes = detector.detect(photo)
        if len(boxes) == 1:
            found.append((i, photo, boxes))
    keep = np.array([i for i, _, _ in found])
    truth = faces.labels[keep]
    box = np.median([[b[0].x - left, b[0].y - top, b[0].w] for _, _, b in found], axis=0) / side
    say(
        f"framing: {len(keep)} of {len(faces.labels)} PublicTest faces found once; the detector's box on "
        f"a FER-2013 crop (median, in crop sides): left {box[0]:+.3f}, top {box[1]:+.3f}, side {box[2]:.3f}"
    )

    def report(name: str, pred: np.ndarray) -> dict:
        recall = [float(np.mean(pred[truth == c] == c)) for c in range(7)]
        r = {"agreement": float(np.mean(pred == truth)), "mean_recall": float(np.mean(recall))}
        r["recall"] = recall
        say(
            f"framing [{name}]: agreement {r['agreement']:.2%}, mean per-class recall "
            f"{r['mean_recall']:.3f}; " + ", ".join(f"{EMOTIONS[c]} {recall[c]:.2f}" for c in range(7))
        )
        return r

    out = {"faces": len(keep), "box_in_crop": box.tolist()}
    as_cropped = classifier.predict_batched(faces.images[keep]).argmax(1)
    out["fer2013 crop"] = report("FER-2013's crop", as_cropped)
    for m in margins:
        r = Recognizer(RecognizerOptions(crop_margin=m), detector=detector, classifier=classifier)
        pred = np.array([r.classify(photo, boxes)[0].index for _, photo, boxes in found])
        name = f"detected box + {m:g} per side" + (" (shipped)" if m == CROP_MARGIN else "")
        out[name] = report(name, pred)
    return out
