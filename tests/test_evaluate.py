"""`fer-audio evaluate`: the JSON fields, and a known tiny case gives the known accuracy."""

import gzip
import json

import numpy as np
import pytest

from fer_audio.data.datasets import load_dataset
from fer_audio.data.evaluation import Scores
from fer_audio.vision.classify import Classifier
from test_narrate import run_cli

pytestmark = pytest.mark.shared


def test_scores_of_a_hand_made_case():
    s = Scores.of(np.array([0, 0, 3, 3, 6]), np.array([0, 3, 3, 3, 6]))
    assert s.accuracy == pytest.approx(0.8) and s.n == 5
    assert s.confusion[0].tolist() == [1, 0, 0, 1, 0, 0, 0]
    pc = s.per_class()
    assert pc["happy"]["precision"] == pytest.approx(2 / 3) and pc["happy"]["recall"] == 1.0
    assert pc["angry"]["f1"] == pytest.approx(2 * 1 * 0.5 / 1.5)
    assert pc["disgust"]["support"] == 0 and pc["disgust"]["f1"] == 0.0


def _csv_with_labels(path, images, labels):
    rows = ["emotion,pixels,Usage"]
    rows += [
        f"{lab}," + " ".join(map(str, img.ravel())) + ",PublicTest"
        for img, lab in zip(images, labels, strict=True)
    ]
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(rows) + "\n")


def test_known_accuracy_through_the_cli(fer_csv, tmp_path):
    faces = load_dataset(fer_csv).splits["PublicTest"]
    images = faces.images[:20]
    predicted = Classifier().predict(images.astype(np.float32)).argmax(1)
    labels = predicted.copy()
    labels[:5] = (labels[:5] + 1) % 7  # 5 of 20 deliberately wrong: accuracy must be 0.75
    data = tmp_path / "known.csv.gz"
    _csv_with_labels(data, images, labels)
    out = tmp_path / "scores.json"
    r = run_cli("evaluate", "--data", data, "--json", out)
    assert r.returncode == 0, r.stderr
    result = json.loads(out.read_text())
    assert {"accuracy", "n", "per_class", "confusion", "ms_per_face"} <= set(result)
    assert result["n"] == 20 and result["accuracy"] == pytest.approx(0.75)
    assert np.asarray(result["confusion"]).sum() == 20 and result["ms_per_face"] > 0
    assert "accuracy 75.00% on 20 faces" in r.stdout


def test_usage_selects_a_split_and_bad_input_is_a_usage_error(fer_csv, tmp_path):
    r = run_cli("evaluate", "--data", fer_csv, "--usage", "Training", "--json", tmp_path / "t.json")
    assert r.returncode == 0
    assert json.loads((tmp_path / "t.json").read_text())["n"] == 350
    r = run_cli("evaluate", "--data", fer_csv, "--usage", "PrivateTest")
    assert r.returncode == 2 and "no PrivateTest images" in r.stderr
    (tmp_path / "m.tflite").write_bytes(b"garbage")
    r = run_cli("evaluate", "--data", fer_csv, "--model", tmp_path / "m.tflite")
    assert r.returncode == 2 and "not a usable TFLite model" in r.stderr


def test_agreement_with_the_crowd_majority_on_a_known_case(fer_csv, tmp_path):
    from fer_audio.data.crowd import VOTE_COLUMNS

    faces = load_dataset(fer_csv).splits["PublicTest"]
    images = faces.images[:20]
    predicted = Classifier().predict(images.astype(np.float32)).argmax(1)
    data = tmp_path / "known.csv.gz"
    _csv_with_labels(data, images, predicted)  # the dataset's own labels: all as predicted
    ferplus = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear"]
    ours = ["neutral", "happy", "surprise", "sad", "angry", "disgust", "fear"]
    rows = ["Usage,Image name," + ",".join([*ferplus, "contempt", "unknown", "NF"])]
    for i, p in enumerate(predicted):
        votes = dict.fromkeys(VOTE_COLUMNS, 0)
        if i < 4:  # the crowd says something else: 4 disagreements
            votes[VOTE_COLUMNS[(p + 1) % 7]] = 7
        elif i < 6:  # a tie: left out
            votes[VOTE_COLUMNS[p]], votes[VOTE_COLUMNS[(p + 1) % 7]] = 5, 5
        else:
            votes[VOTE_COLUMNS[p]] = 6
        counts = [votes[name] for name in ours] + [votes["contempt"], votes["unknown"], votes["not_a_face"]]
        rows.append(f"PublicTest,fer{i:07d}.png," + ",".join(map(str, counts)))
    (tmp_path / "fer2013new.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "scores.json"
    r = run_cli("evaluate", "--data", data, "--votes", tmp_path / "fer2013new.csv", "--json", out)
    assert r.returncode == 0, r.stderr
    result = json.loads(out.read_text())
    assert result["n"] == 20 and result["accuracy"] == pytest.approx(1.0)
    assert result["crowd"]["n"] == 18 and result["crowd"]["accuracy"] == pytest.approx(14 / 18)
    assert result["crowd"]["excluded"] == {"a tie": 2}
    assert "Against the crowd's majority (FER+ votes; left out: a tie 2)" in r.stdout
    assert f"accuracy {14 / 18:.2%} on 18 faces" in r.stdout
