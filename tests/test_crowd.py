"""FER+ crowd votes: both file forms, bad rows, matching, soft targets and majority labels."""

import gzip

import cv2
import numpy as np
import pytest

from fer_audio.data.crowd import (
    VOTE_COLUMNS,
    attach_votes,
    excluded_counts,
    load_votes,
    majority_labels,
    soft_targets,
)
from fer_audio.data.datasets import DatasetError, load_dataset
from fer_audio.labels import INDEX

HEADER = "neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"


def _face(value: int) -> np.ndarray:
    return np.full((48, 48), value, np.uint8)


@pytest.fixture
def folder(tmp_path):
    """fer2013/{train,test}/<class>/*.png with four images."""
    root = tmp_path / "fer2013"
    for rel, value in {
        "train/happy/Training_1.png": 10,
        "train/sad/Training_2.png": 20,
        "train/angry/Training_3.png": 30,
        "test/happy/PublicTest_4.png": 40,
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / rel), _face(value))
    return root


def test_path_keyed_votes_match_by_path_then_by_file_name(folder, tmp_path):
    votes = tmp_path / "votes.csv"
    votes.write_text(
        f"path,{HEADER}\n"
        "train/happy/Training_1.png,1,8,1,0,0,0,0,0,0,0\n"  # by path
        "train/happy/Training_2.png,0,0,0,9,1,0,0,0,0,0\n"  # the path is off, the name matches
        "train/angry/Training_3.png,0,0,0,x,0,0,0,0,0,0\n"  # malformed: not a number
        "train/angry/Training_99.png,0,0,0,0,10,0,0,0,0,0\n"  # no such image
        "test/happy/PublicTest_4.png,0,9,0,0,0,0,0\n"  # malformed: too few fields
    )
    table = load_votes(votes)
    assert table.kind == "paths"
    assert [(str(p.where), p.reason) for p in table.problems] == [
        (f"{votes}:row 4", "vote counts are not numbers"),
        (f"{votes}:row 6", "8 fields, expected 11"),
    ]
    data, report = attach_votes(load_dataset(folder.parent), table)
    assert report.matched == 2 and report.unmatched_rows == (5,)
    assert len(report.images_without_votes) == 2  # Training_3 (its row was malformed), PublicTest_4
    train = data.splits["Training"]
    by_key = dict(zip(train.keys, train.votes, strict=True))
    happy = by_key["fer2013/train/happy/Training_1.png"]
    assert happy[INDEX["happy"]] == 8 and happy[INDEX["neutral"]] == 1 and happy[INDEX["surprise"]] == 1
    assert by_key["fer2013/train/sad/Training_2.png"][INDEX["sad"]] == 9
    assert np.isnan(by_key["fer2013/train/angry/Training_3.png"]).all()
    lines = report.lines("votes.csv")
    assert "1 vote row(s) match no image: rows 5" in lines
    assert "2 malformed vote row(s) skipped" in lines


def test_the_same_votes_serve_a_plain_folder_of_class_folders(tmp_path):
    (tmp_path / "faces" / "happy").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "faces" / "happy" / "Training_1.png"), _face(5))
    votes = tmp_path / "votes.csv"
    votes.write_text(f"path,{HEADER}\ntrain/happy/Training_1.png,0,10,0,0,0,0,0,0,0,0\n")
    data, report = attach_votes(load_dataset(tmp_path / "faces"), load_votes(votes))
    assert report.matched == 1
    part = next(iter(data.splits.values()))
    assert part.votes[0][INDEX["happy"]] == 10


def _challenge_csv(path, rows):
    lines = ["emotion,pixels,Usage"] + [
        f"{label}," + " ".join([str(v)] * 2304) + f",{usage}" for label, v, usage in rows
    ]
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")


def test_ferplus_own_file_pairs_row_by_row_with_the_challenge_csv(tmp_path):
    data_csv = tmp_path / "fer2013.csv.gz"
    _challenge_csv(
        data_csv,
        [
            (3, 10, "Training"),
            (4, 20, "Training"),
            (0, 30, "Training"),
            (6, 40, "PublicTest"),
            (5, 50, "PublicTest"),
        ],
    )
    votes = tmp_path / "fer2013new.csv"
    votes.write_text(
        f"Usage,Image name,{HEADER}\n"
        "Training,fer0000000.png,0,10,0,0,0,0,0,0,0,0\n"
        "Training,,0,0,0,0,0,0,0,0,0,10\n"  # FER+ dropped this image
        "Training,fer0000002.png,0,0,0,0,-1,0,0,0,0,0\n"  # malformed: negative
        "Training,fer0000003.png,6,0,0,0,0,0,0,0,4,0\n"  # Usage differs: not aligned here
        "PublicTest,fer0000004.png,0,0,7,0,0,0,0,0,3,0\n"
    )
    table = load_votes(votes)
    assert table.kind == "ferplus" and table.dropped == 1
    assert [p.where for p in table.problems] == [f"{votes}:row 4"]
    data, report = attach_votes(load_dataset(data_csv), table)
    assert report.matched == 2 and report.dropped_by_ferplus == 1
    assert report.unmatched_rows == (5,)  # row 5 says Training, the CSV's row says PublicTest
    train, test = data.splits["Training"], data.splits["PublicTest"]
    assert train.votes[0][INDEX["happy"]] == 10
    assert np.isnan(train.votes[1]).all() and np.isnan(train.votes[2]).all()
    assert np.isnan(test.votes[0]).all() and test.votes[1][INDEX["surprise"]] == 7
    with pytest.raises(DatasetError, match="row by row"):
        attach_votes(_folder_data(tmp_path), table)


def _folder_data(tmp_path):
    (tmp_path / "f" / "happy").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "f" / "happy" / "a.png"), _face(1))
    return load_dataset(tmp_path / "f")


def test_a_file_that_is_not_a_vote_file_is_refused(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("emotion,pixels,Usage\n")
    with pytest.raises(DatasetError, match="not a vote file"):
        load_votes(bad)
    with pytest.raises(DatasetError, match="no such vote file"):
        load_votes(tmp_path / "missing.csv")


def _row(**counts) -> np.ndarray:
    row = np.zeros(len(VOTE_COLUMNS), np.float32)
    for name, n in counts.items():
        row[VOTE_COLUMNS.index(name)] = n
    return row


def test_soft_targets_are_the_vote_distribution_over_the_seven_emotions():
    votes = np.stack(
        [
            _row(happy=6, neutral=2, contempt=2),  # contempt dropped: 6/8 and 2/8
            _row(unknown=6, sad=4),  # largest vote unknown: left out
            _row(not_a_face=10),  # not a face: left out
            _row(contempt=10),  # no vote for the seven: left out
            np.full(len(VOTE_COLUMNS), np.nan, np.float32),  # no votes at all
        ]
    )
    targets, reason = soft_targets(votes)
    np.testing.assert_allclose(targets[0][INDEX["happy"]], 0.75)
    np.testing.assert_allclose(targets[0][INDEX["neutral"]], 0.25)
    np.testing.assert_allclose(targets[0].sum(), 1.0)
    assert reason[0] == 0
    assert excluded_counts(reason) == {"no crowd votes": 3, "unknown": 1}


def test_majority_labels_exclude_ties_unknown_not_a_face_and_contempt():
    votes = np.stack(
        [
            _row(fear=5, surprise=4, neutral=1),
            _row(fear=4, surprise=4, neutral=2),  # a tie
            _row(unknown=5, happy=3, neutral=2),
            _row(not_a_face=6, neutral=4),
            _row(contempt=6, angry=4),
            np.full(len(VOTE_COLUMNS), np.nan, np.float32),
        ]
    )
    labels, reason = majority_labels(votes)
    assert labels.tolist() == [INDEX["fear"], -1, -1, -1, -1, -1]
    assert excluded_counts(reason) == {
        "no crowd votes": 1,
        "a tie": 1,
        "unknown": 1,
        "not a face": 1,
        "contempt (no class here)": 1,
    }


@pytest.mark.shared
def test_the_shared_votes_cover_every_shared_image_but_ten(fer_tar, ferplus_votes):
    data, report = attach_votes(load_dataset(fer_tar), load_votes(ferplus_votes))
    assert report.matched == 32_137 and not report.unmatched_rows and not report.malformed
    assert len(report.images_without_votes) == 10  # PublicTest images FER+ has no row for
    assert all("/test/" in s for s in report.images_without_votes)
    labels, _ = majority_labels(data.splits["PublicTest"].votes)
    assert 3_300 < int((labels >= 0).sum()) < 3_450


@pytest.mark.shared
def test_the_shared_ferplus_sample_pairs_with_the_challenge_csv_sample(fer_csv, ferplus_sample):
    data, report = attach_votes(load_dataset(fer_csv), load_votes(ferplus_sample))
    assert report.matched == 420 and not report.unmatched_rows and not report.images_without_votes
    # the crowd's majority agrees with the original label on most faces, not all
    train = data.splits["Training"]
    labels, _ = majority_labels(train.votes)
    agree = np.mean(labels[labels >= 0] == train.labels[labels >= 0])
    assert 0.5 < agree < 0.95


def test_a_vote_file_that_matches_no_image_stops_with_one_line(folder, tmp_path):
    from fer_audio.data.crowd import with_votes

    votes = tmp_path / "other.csv"
    votes.write_text(f"path,{HEADER}\ntrain/happy/Training_999.png,0,10,0,0,0,0,0,0,0,0\n")
    lines = []
    with pytest.raises(DatasetError, match="no vote row matches an image"):
        with_votes(load_dataset(folder.parent), votes, lines.append)
    assert lines[0] == f"{votes}: 0 images matched to crowd votes"


@pytest.mark.shared
def test_the_prior_correction_tool_writes_the_crowds_training_frequencies_beside_a_model(
    fer_csv, ferplus_sample, tmp_path
):
    """training.prior: the frequencies of the crowd's majority over the Training rows, written into
    the model's sidecar, which the classifier then reads."""
    import shutil

    from fer_audio.data import crowd
    from fer_audio.vision.classify import Classifier, ClassifierOptions, default_model_path
    from training.prior import main

    model = tmp_path / "m.tflite"
    shutil.copy(default_model_path(), model)
    shutil.copy(default_model_path().with_suffix(".json"), model.with_suffix(".json"))
    main([str(model), "--data", str(fer_csv), "--votes", str(ferplus_sample), "--strength", "0.3"])
    faces = crowd.with_votes(load_dataset(str(fer_csv)), str(ferplus_sample), lambda _l: None)
    labels, _ = majority_labels(faces.require("Training").votes)
    expected = np.bincount(labels[labels >= 0], minlength=7) / (labels >= 0).sum()
    classifier = Classifier(ClassifierOptions(model=str(model)))
    ratios = np.exp(-classifier.bias / 0.3)  # the prior, up to the 6-decimal rounding
    np.testing.assert_allclose(ratios / ratios.sum(), expected, atol=2e-6)
    shipped = Classifier()  # the rest of what the sidecar said is kept
    assert (
        classifier.calibration == [list(row) for row in shipped.calibration]
        or (np.asarray(classifier.calibration) == np.asarray(shipped.calibration)).all()
    )
    with pytest.raises(SystemExit):
        main([str(model), "--data", str(fer_csv), "--votes", str(ferplus_sample), "--strength", "2"])
