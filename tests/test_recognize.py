"""Detection and classification on real faces: FER-2013 crops in larger frames, video frames."""

import cv2
import numpy as np
import pytest

from conftest import pad_face
from fer_audio.vision.detect import DETECTORS, DetectorOptions, make_detector
from fer_audio.vision.images import ImageError, header_size, read_photo
from fer_audio.vision.preprocess import expand_box, to_gray8

pytestmark = pytest.mark.shared


def test_registry_names_the_backends():
    assert {"haar", "blazeface"} <= set(DETECTORS)
    with pytest.raises(ValueError, match="choose from blazeface, haar"):
        make_detector(DetectorOptions(backend="nope"))


def test_finds_padded_fer_faces_where_they_are(recognizer, detectable_faces):
    face = detectable_faces[0]
    faces = recognizer.analyze(pad_face(face, at=120))
    assert len(faces) == 1
    b = faces[0].box
    assert 90 <= b.x <= 150 and 100 <= b.w <= 220
    assert faces[0].probabilities.shape == (7,) and faces[0].probabilities.dtype == np.float32
    assert abs(float(faces[0].probabilities.sum()) - 1.0) < 1e-4


def test_two_faces_come_left_to_right(recognizer, detectable_faces):
    a, b = detectable_faces[1], detectable_faces[2]
    img = np.full((300, 700), 128, np.uint8)
    img[70:230, 40:200] = cv2.resize(a, (160, 160), interpolation=cv2.INTER_CUBIC)
    img[70:230, 480:640] = cv2.resize(b, (160, 160), interpolation=cv2.INTER_CUBIC)
    faces = recognizer.analyze(img)
    assert len(faces) == 2
    assert faces[0].box.x < faces[1].box.x


@pytest.mark.parametrize("kind", ["gray", "bgr", "bgra", "uint16"])
def test_accepts_every_pixel_format(recognizer, detectable_faces, kind):
    bgr = pad_face(detectable_faces[0])
    image = {
        "gray": cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY),
        "bgr": bgr,
        "bgra": cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA),
        "uint16": bgr.astype(np.uint16) * 257,
    }[kind]
    assert len(recognizer.analyze(image)) == 1


def _undetected(recognizer, crops: list[np.ndarray], n: int) -> list[np.ndarray]:
    """FER crops in which the detector itself finds no face."""
    chosen = [c for c in crops if not recognizer.detector.detect(c)][:n]
    assert len(chosen) == n
    return chosen


def test_a_bare_fer_crop_is_classified_whole(recognizer, public_test_faces):
    crop = _undetected(recognizer, public_test_faces["happy"], 1)[0]
    faces = recognizer.analyze(crop)
    assert len(faces) == 1 and (faces[0].box.w, faces[0].box.h) == (48, 48)


def test_whole_crop_batch_matches_the_classifier(recognizer, public_test_faces):
    chosen = _undetected(recognizer, public_test_faces["surprise"], 8)
    crops = np.stack([c.astype(np.float32) for c in chosen])
    direct = recognizer.classifier.predict(crops)
    via = np.stack([recognizer.analyze(c)[0].probabilities for c in chosen])
    np.testing.assert_allclose(direct, via, atol=1e-5)


def test_finds_the_face_in_video_frames(recognizer, video_frames):
    found = [len(recognizer.detect(to_gray8(f))) >= 1 for f in video_frames[::10]]
    assert sum(found) >= 0.8 * len(found)


def test_expand_box_stays_inside_the_image():
    assert expand_box(0, 0, 50, 50, 60, 60, 0.2) == (0, 0, 60, 60)  # 70 px wanted, clipped
    x, y, w, h = expand_box(100, 100, 40, 60, 400, 300, 0.1)
    assert w == h == 72 and x == 84 and y == 94


def test_header_size_reads_dimensions_without_decoding(tmp_path):
    img = np.zeros((30, 70, 3), np.uint8)
    for ext in (".png", ".jpg", ".bmp"):
        _, buf = cv2.imencode(ext, img)
        assert header_size(buf.tobytes()) == (70, 30), ext


def test_only_image_content_reaches_the_decoder(tmp_path):
    img = np.full((30, 70, 3), 120, np.uint8)
    for ext in (".png", ".jpg", ".bmp", ".tiff", ".webp"):  # each kind, also under another name
        (tmp_path / f"x{ext}.jpg").write_bytes(cv2.imencode(ext, img)[1].tobytes())
        assert read_photo(tmp_path / f"x{ext}.jpg").image.shape == (30, 70), ext
    for name, data in {"text": b"this is text, not a photo", "pdf": b"%PDF-1.7\n", "gif": b"GIF89a"}.items():
        (tmp_path / f"{name}.jpg").write_bytes(data)
        with pytest.raises(ImageError, match="not a readable image"):
            read_photo(tmp_path / f"{name}.jpg")


def test_exif_rotated_photos_are_read_upright(tmp_path, recognizer, detectable_faces):
    from PIL import Image

    from fer_audio.vision.images import read_photo

    upright = pad_face(detectable_faces[0])
    stored = np.ascontiguousarray(np.rot90(upright, k=1))  # the camera stored it turned left...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...and says "rotate 90 degrees clockwise to display"
    Image.fromarray(stored[:, :, ::-1]).save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    photo = read_photo(tmp_path / "rotated.jpg")
    assert photo.image.shape[:2] == upright.shape[:2]
    assert len(recognizer.analyze(photo.image)) == 1


def test_large_jpegs_are_decoded_reduced_upright_with_boxes_in_file_pixels(tmp_path, detectable_faces):
    from PIL import Image

    from fer_audio.apps.narrate import narrate
    from fer_audio.vision.images import read_photo
    from fer_audio.vision.recognize import Recognizer

    upright = pad_face(detectable_faces[0], side=1100, canvas=(1800, 2400), at=700)  # a 4.3 MP photo
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned left, "rotate 90 degrees clockwise to display"
    stored = np.ascontiguousarray(np.rot90(upright, k=1))
    Image.fromarray(stored[:, :, ::-1]).save(tmp_path / "big.jpg", exif=exif, quality=92)
    recognizer = Recognizer()
    photo = read_photo(tmp_path / "big.jpg", scan_side=recognizer.options.detector.detail_side)
    assert photo.scale == 2 and photo.image.shape == (900, 1200)  # 2400 // 4 < 800 <= 2400 // 2
    full = recognizer.analyze(read_photo(tmp_path / "big.jpg").image)
    (result,) = narrate([tmp_path / "big.jpg"], recognizer)
    assert len(full) == len(result.faces) == 1
    a, b = full[0].box, result.faces[0].box  # both in the file's own (upright) pixels
    assert abs(a.x - b.x) + abs(a.y - b.y) + abs(a.w - b.w) <= 0.05 * a.w
    assert abs(b.center[0] - (700 + 1100 / 2)) < 0.1 * 1100  # where the face was placed


def test_sixteen_bit_files_are_read(tmp_path, recognizer, detectable_faces):
    from fer_audio.vision.images import read_photo

    cv2.imwrite(str(tmp_path / "deep.png"), pad_face(detectable_faces[0]).astype(np.uint16) * 257)
    photo = read_photo(tmp_path / "deep.png")
    assert photo.image.dtype == np.uint16
    assert len(recognizer.analyze(photo.image)) == 1


def _portrait(face: np.ndarray) -> np.ndarray:
    """A tight portrait: the face enlarged to 260 px and cut to its middle 200x230, so it fills
    the photo and its edges cut the chin and the sides (as a contact photo does)."""
    big = cv2.resize(face, (260, 260), interpolation=cv2.INTER_CUBIC)
    return cv2.cvtColor(np.ascontiguousarray(big[10:240, 30:230]), cv2.COLOR_GRAY2BGR)


def test_a_face_that_fills_the_photo_is_found(detectable_faces):
    from fer_audio.vision.recognize import Recognizer, RecognizerOptions

    portraits = [_portrait(f) for f in detectable_faces[:20]]
    plain = Recognizer(RecognizerOptions(fill_margin=0, whole_image_max=0))
    bordered = Recognizer(RecognizerOptions(whole_image_max=0))  # the bordered search alone
    found_plain = sum(len(plain.detect(to_gray8(p))) > 0 for p in portraits)
    found = [bordered.detect(to_gray8(p)) for p in portraits]
    assert sum(len(f) > 0 for f in found) >= found_plain + 5
    for boxes in found:  # boxes stay inside the photo
        assert all(b.x >= 0 and b.y >= 0 and b.x + b.w <= 200 and b.y + b.h <= 230 for b in boxes)


def test_the_bordered_search_adds_no_face_on_scrambled_faces(detectable_faces):
    from fer_audio.vision.recognize import Recognizer, RecognizerOptions

    rng = np.random.default_rng(3)
    recognizer = Recognizer(RecognizerOptions())
    false = 0
    for face in detectable_faces[:20]:
        blocks = [face[y : y + 12, x : x + 12] for y in range(0, 48, 12) for x in range(0, 48, 12)]
        order = rng.permutation(16)
        scrambled = np.vstack([np.hstack([blocks[i] for i in order[r * 4 : r * 4 + 4]]) for r in range(4)])
        false += len(recognizer.detect(cv2.resize(scrambled, (200, 200), interpolation=cv2.INTER_NEAREST)))
    assert false == 0


def test_a_face_crop_that_fills_an_oblong_photo_is_read_whole_but_not_upside_down(detectable_faces):
    """A 140x250 crop cut at both cheeks (an IMFDB-style face crop): no window of the detector
    fits it, so the whole image is read as the face where the mesh sees it upright."""
    from fer_audio.vision.recognize import Recognizer, RecognizerOptions

    crops = []
    for face in detectable_faces[:20]:
        big = cv2.resize(face, (260, 260), interpolation=cv2.INTER_CUBIC)
        crops.append(np.ascontiguousarray(big[5:255, 60:200]))
    whole = Recognizer(RecognizerOptions(fill_margin=0))
    off = Recognizer(RecognizerOptions(fill_margin=0, whole_image_max=0))
    read = [whole.detect(c) for c in crops]
    assert sum(len(b) == 1 for b in read) >= sum(len(off.detect(c)) > 0 for c in crops) + 10
    for boxes, crop in zip(read, crops, strict=True):
        if len(boxes) == 1 and boxes[0].score == 0.0:  # read whole: the box is the image
            assert (boxes[0].w, boxes[0].h) == (crop.shape[1], crop.shape[0])
    assert sum(len(whole.detect(np.ascontiguousarray(c[::-1]))) for c in crops) == 0


def test_a_mirrored_reading_is_the_mean_of_the_face_and_its_mirror_image(public_test_faces):
    from fer_audio.vision.classify import Classifier, _corrected

    faces = np.stack([f for v in public_test_faces.values() for f in v[:3]]).astype(np.float32)
    classifier, raw = Classifier(), Classifier()
    assert classifier.bias is not None  # the shipped model carries a prior correction
    raw.bias = None
    both = (raw.predict(faces) + raw.predict(faces[:, :, ::-1])) / 2  # averaged, then corrected
    read = classifier.predict(faces, mirror=True)
    np.testing.assert_allclose(read, _corrected(both, classifier.bias), atol=1e-5)
    np.testing.assert_allclose(classifier.predict(faces[:, :, ::-1], mirror=True), read, atol=1e-5)
    assert np.abs(read - classifier.predict(faces)).max() > 1e-3  # not the plain reading
    np.testing.assert_allclose(classifier.predict_batched(faces, 4, mirror=True), read, atol=1e-5)


def test_a_small_icon_is_not_read_as_a_face_crop(public_test_faces):
    from fer_audio.vision.recognize import Recognizer

    recognizer = Recognizer()
    icon = np.full((64, 64), 200, np.uint8)
    cv2.circle(icon, (32, 32), 24, 60, -1)
    cv2.putText(icon, "A", (18, 46), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 250, 3)
    assert recognizer.analyze(icon) == []
    crops = [f for faces in public_test_faces.values() for f in faces[:5]]
    assert sum(len(recognizer.analyze(f)) == 1 for f in crops) >= 0.9 * len(crops)


def test_a_model_whose_sidecar_names_another_class_order_is_refused(tmp_path):
    import json

    from fer_audio.vision.classify import (
        Classifier,
        ClassifierOptions,
        ModelError,
        default_model_path,
        model_card,
    )

    assert Classifier().has_sidecar  # the shipped model carries its own
    model = tmp_path / "theirs.tflite"
    model.write_bytes(default_model_path().read_bytes())
    assert not Classifier(ClassifierOptions(model=str(model))).has_sidecar  # an older export: allowed
    card = model_card()
    card["classes"] = ["neutral", "happy", "surprise", "sad", "angry", "disgust", "fear"]  # FER+'s order
    (tmp_path / "theirs.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="would be read wrongly"):
        Classifier(ClassifierOptions(model=str(model)))
    card = model_card(input_range=(-1.0, 1.0))
    (tmp_path / "theirs.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match=r"fer-audio gives 48x48 grey faces in 0\.\.255"):
        Classifier(ClassifierOptions(model=str(model)))


def test_a_sidecars_prior_correction_divides_the_outputs_by_the_prior_to_its_strength(tmp_path):
    """prior_correction: outputs / prior ** strength, renormalised; it moves the decision toward
    the rare classes, and a malformed one is refused in one line naming the file."""
    import json

    from fer_audio.vision.classify import (
        Classifier,
        ClassifierOptions,
        ModelError,
        default_model_path,
        model_card,
    )

    model = tmp_path / "m.tflite"
    model.write_bytes(default_model_path().read_bytes())
    faces = np.random.default_rng(0).uniform(0, 255, (32, 48, 48)).astype(np.float32)
    raw = Classifier(ClassifierOptions(model=str(model))).predict(faces)  # no sidecar: as the net gives
    prior = np.array([0.09, 0.0065, 0.024, 0.28, 0.13, 0.13, 0.3395])
    (tmp_path / "m.json").write_text(json.dumps(model_card(prior=prior.tolist(), strength=0.5)))
    got = Classifier(ClassifierOptions(model=str(model))).predict(faces)
    expected = np.maximum(raw, 1e-6) / prior**0.5
    np.testing.assert_allclose(got, expected / expected.sum(axis=1, keepdims=True), rtol=1e-4, atol=1e-6)
    assert (got[:, 1] >= raw[:, 1]).all()  # disgust, the rarest, only gains
    shipped = json.loads(default_model_path().with_suffix(".json").read_text())["prior_correction"]
    assert 0 < shipped["strength"] <= 1 and abs(sum(shipped["prior"]) - 1) < 1e-4
    (tmp_path / "m.json").write_text(json.dumps(model_card(prior=[0.5, 0.5], strength=0.5)))
    with pytest.raises(ModelError, match=r"m\.json: not a model sidecar \(prior_correction needs 7 positive"):
        Classifier(ClassifierOptions(model=str(model)))


def test_a_model_brings_its_own_reading_in_its_sidecar(tmp_path):
    """The calibration and the rest reference a sidecar carries are what live reads a model of
    your own with; a malformed one is refused with a line that names the file."""
    import shutil

    from fer_audio.apps.options import LiveOptions
    from fer_audio.apps.session import read_as_its_sidecar_says
    from fer_audio.events.smoothing import MODEL_CALIBRATION
    from fer_audio.vision.classify import (
        Classifier,
        ClassifierOptions,
        ModelError,
        default_model_path,
        update_sidecar,
    )
    from fer_audio.vision.recognize import RecognizerOptions

    model = tmp_path / "m.tflite"
    shutil.copy(default_model_path(), model)
    mine = [[float(i == j) for j in range(7)] for i in range(7)] + [[0.0] * 7]
    update_sidecar(model, calibration=mine, rest_reference=[1.0] * 7)
    assert Classifier().calibration is not None and Classifier().rest_reference is not None  # shipped
    options = LiveOptions(recognizer=RecognizerOptions(classifier=ClassifierOptions(model=str(model))))
    notes = []
    tracker = read_as_its_sidecar_says(options, Classifier(ClassifierOptions(model=str(model))), notes.append)
    assert tracker.smoother.calibration == tuple(tuple(row) for row in mine) != MODEL_CALIBRATION
    assert tracker.rest.reference == (1.0,) * 7 and notes == []
    # the shipped model's own options are left as they are
    assert read_as_its_sidecar_says(LiveOptions(), Classifier()) == LiveOptions().tracker
    update_sidecar(model, calibration=[[0.0] * 7])
    with pytest.raises(ModelError, match=r"m\.json: not a model sidecar \(calibration needs 8 x 7 numbers"):
        Classifier(ClassifierOptions(model=str(model)))


@pytest.mark.parametrize("mirror", [False, True])
def test_the_shipped_sidecars_prior_correction_is_applied_once_on_the_way_to_a_face(
    detectable_faces, tmp_path, mirror
):
    """What the shipped model says of a face in a photo (live's reading, and narrate's with the
    mirror) is its network's output divided by the sidecar's prior to its strength, once."""
    import json

    from fer_audio.vision.classify import PROB_FLOOR, ClassifierOptions, default_model_path
    from fer_audio.vision.recognize import Recognizer, RecognizerOptions

    bare = tmp_path / "bare.tflite"  # the same network without its sidecar: its own outputs
    bare.write_bytes(default_model_path().read_bytes())
    card = json.loads(default_model_path().with_suffix(".json").read_text())["prior_correction"]
    prior, strength = np.asarray(card["prior"]), card["strength"]
    shipped = Recognizer(RecognizerOptions(mirror=mirror))
    raw = Recognizer(RecognizerOptions(mirror=mirror, classifier=ClassifierOptions(model=str(bare))))
    for face in detectable_faces[:5]:
        photo = pad_face(face, at=120)
        (got,), (own,) = shipped.analyze(photo), raw.analyze(photo)
        expected = np.maximum(own.probabilities, PROB_FLOOR) / prior**strength
        np.testing.assert_allclose(got.probabilities, expected / expected.sum(), rtol=1e-4, atol=1e-6)
