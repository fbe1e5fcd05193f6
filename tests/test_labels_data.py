import gzip
import tarfile

import cv2
import numpy as np
import pytest

from fer_audio.data.datasets import DatasetError, load_dataset
from fer_audio.labels import EMOTIONS, emotion_index
from training.split import make_splits, stratified_split


def test_labels_are_fer2013_order():
    assert EMOTIONS == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    assert emotion_index("Happy") == 3
    with pytest.raises(ValueError, match="expected one of"):
        emotion_index("bored")


def _pixels(value: int) -> str:
    return " ".join([str(value)] * 2304)


def test_csv_loader_counts_and_skips_malformed_rows(tmp_path):
    rows = [
        "emotion,pixels,Usage",
        f"3,{_pixels(10)},Training",
        f"0,{_pixels(20)},PublicTest",
        f"9,{_pixels(20)},Training",  # label out of range
        "2,1 2 3,Training",  # too few pixels
        f"x,{_pixels(1)},Training",  # label not a number
        f"4,{_pixels(300)},Training",  # pixel out of range
        f"5,{_pixels(30)},Elsewhere",  # unknown usage
        f"6,{_pixels(40)},PrivateTest",
    ]
    path = tmp_path / "fer.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(rows) + "\n")
    data = load_dataset(path)
    assert {k: len(v) for k, v in data.splits.items()} == {"Training": 1, "PublicTest": 1, "PrivateTest": 1}
    assert data.splits["Training"].labels.tolist() == [3]
    assert data.splits["Training"].images.shape == (1, 48, 48)
    reasons = {p.where.rsplit(":", 1)[1]: p.reason for p in data.problems}
    assert set(reasons) == {"row 4", "row 5", "row 6", "row 7", "row 8"}
    assert "0..6" in reasons["row 4"] and "2304" in reasons["row 5"]


def test_csv_without_columns_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DatasetError, match="missing column"):
        load_dataset(path)


def test_folder_loader_reads_splits_and_reports_unreadable(tmp_path):
    face = np.arange(48 * 48, dtype=np.uint8).reshape(48, 48)
    for split, prefix in (("train", "Training"), ("test", "PublicTest"), ("test", "PrivateTest")):
        d = tmp_path / "fer2013" / split / "happy"
        d.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(d / f"{prefix}_1.jpg"), face)
    (tmp_path / "fer2013" / "train" / "sad").mkdir()
    cv2.imwrite(str(tmp_path / "fer2013" / "train" / "sad" / "Training_2.png"), np.dstack([face] * 3))
    (tmp_path / "fer2013" / "train" / "sad" / "Training_3.jpg").write_bytes(b"not a jpeg")
    data = load_dataset(tmp_path)
    assert {k: len(v) for k, v in data.splits.items()} == {"Training": 2, "PublicTest": 1, "PrivateTest": 1}
    assert sorted(data.splits["Training"].labels.tolist()) == [3, 4]
    assert [p.where.endswith("Training_3.jpg") for p in data.problems] == [True]
    with tarfile.open(tmp_path / "fer.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "fer2013", arcname="fer2013")
    from_tar = load_dataset(tmp_path / "fer.tar.gz")
    assert {k: len(v) for k, v in from_tar.splits.items()} == {k: len(v) for k, v in data.splits.items()}


def test_missing_split_stops_with_a_clear_message(tmp_path, fer_csv):
    data = load_dataset(fer_csv)
    del data.splits["PublicTest"]
    with pytest.raises(DatasetError, match="no PublicTest images"):
        make_splits(data, 0.1, 0)


def test_no_image_is_in_two_splits(fer_csv):
    data = load_dataset(fer_csv)
    splits = make_splits(data, 0.2, seed=7)
    sets = {k: set(v.sources) for k, v in splits.items()}
    assert sets["fit"].isdisjoint(sets["val"])
    assert sets["fit"].isdisjoint(sets["test"]) and sets["val"].isdisjoint(sets["test"])
    assert len(sets["fit"]) + len(sets["val"]) == len(data.splits["Training"])
    # stratified and seeded: every class is in validation, and the same seed gives the same split
    assert all(n > 0 for n in splits["val"].class_counts().values())
    a = stratified_split(data.splits["Training"].labels, 0.2, 7)
    b = stratified_split(data.splits["Training"].labels, 0.2, 7)
    assert all((x == y).all() for x, y in zip(a, b, strict=True))


def test_faces_load_exactly_as_the_run_time_crop_gives_them(tmp_path, public_test_faces, training_faces):
    from fer_audio.vision.preprocess import face_input

    face = public_test_faces["happy"][0]
    d = tmp_path / "fer2013" / "test" / "happy"
    d.mkdir(parents=True)
    cv2.imwrite(str(d / "PublicTest_1.png"), face)
    csv_path = tmp_path / "fer.csv"
    csv_path.write_text("emotion,pixels,Usage\n3," + " ".join(map(str, face.ravel())) + ",PublicTest\n")
    for source in (tmp_path, csv_path):  # folder (and tar) and CSV alike
        seen = load_dataset(source).require("PublicTest").images[0]
        np.testing.assert_array_equal(seen, face)  # as the file holds it: no blur, no change
        np.testing.assert_array_equal(seen, face_input(face).astype(np.uint8))  # as live sees it
    # training images and a sharp crop at run time take the same path, unchanged at 48x48
    for crop in (training_faces[0], face.astype(np.float32)):
        np.testing.assert_array_equal(face_input(crop), crop)
    big = cv2.resize(face, (96, 96), interpolation=cv2.INTER_CUBIC)
    assert np.abs(face_input(big) - face).mean() < 4.0  # a larger crop is only resized
