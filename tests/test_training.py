"""Training on the small challenge-CSV sample: loss falls (own labels and crowd votes), resume is
exact, the step runs under JAX too, TFLite matches Keras."""

import csv
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytestmark = [pytest.mark.training, pytest.mark.slow]

from training.options import ModelOptions, TrainConfig  # noqa: E402
from training.train import fit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TINY = ModelOptions(stem=8, widths=(8, 16, 16, 32), dropout=0.1)


def _config(fer_csv, out, **kw) -> TrainConfig:
    base = dict(
        data=str(fer_csv),
        out=str(out),
        epochs=3,
        batch_size=32,
        learning_rate=3e-3,
        val_fraction=0.2,
        model=TINY,
    )
    return TrainConfig(**{**base, **kw})


def _history(run) -> list[dict]:
    return list(csv.DictReader((run / "history.csv").open()))


class StopAfter:
    """A log function that acts like Ctrl-C right after epoch `n` is reported."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self, message: str) -> None:
        if message.startswith(f"epoch {self.n}/"):
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def full_run(fer_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("full")
    fit(_config(fer_csv, out), log=lambda m: None)
    return out


def test_short_fit_lowers_the_loss_and_writes_the_run(full_run):
    rows = _history(full_run)
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])
    for name in ("config.json", "split.json", "checkpoint.keras", "best.keras", "state.json"):
        assert (full_run / name).is_file(), name
    split = json.loads((full_run / "split.json").read_text())
    assert set(split) == {"fit", "val", "test"}
    assert not set(split["fit"]) & set(split["val"])


def test_a_short_fit_on_crowd_votes_lowers_the_loss(fer_csv, ferplus_sample, tmp_path):
    messages = []
    out = fit(_config(fer_csv, tmp_path / "crowd", votes=str(ferplus_sample), epochs=4), log=messages.append)
    rows = _history(out)
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])
    assert {"val_acc", "val_label_acc"} <= set(rows[0])  # crowd agreement and own-label accuracy
    assert any("420 images matched to crowd votes" in m for m in messages)
    assert any(m.startswith("left out of training (unknown: 1)") for m in messages)


def test_soft_targets_reach_the_loss_as_vote_distributions(fer_csv, ferplus_sample, tmp_path):
    from fer_audio.labels import INDEX
    from training.train import epoch_arrays, prepare_data, targets

    config = _config(fer_csv, tmp_path / "t", votes=str(ferplus_sample), class_weight_power=0.0)
    part = prepare_data(config, lambda m: None)["fit"]
    # a known row of ferplus-sample.csv: fer0000039.png, neutral 1, happiness 8, surprise 1
    k = part.keys.index("#1")
    expected = np.zeros(7, np.float32)
    expected[[INDEX["neutral"], INDEX["happy"], INDEX["surprise"]]] = [0.1, 0.8, 0.1]
    np.testing.assert_allclose(targets(part, config)[k], expected, rtol=1e-6)
    x, y, w = epoch_arrays(part, config, 0)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(w, 1.0)
    assert len(x) == len(y) and len(x) % config.batch_size == 0


NO_TENSORFLOW = """
import sys

class NoTensorFlow:  # as on the GPU machine, which has JAX but no TensorFlow
    def find_spec(self, name, path, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ImportError("no TensorFlow here")

sys.meta_path.insert(0, NoTensorFlow())
"""


@pytest.fixture(scope="module")
def jax_runs(fer_csv, ferplus_sample, tmp_path_factory):
    """One process under JAX with no TensorFlow (as on the GPU machine) fits every run the JAX
    tests look at: a plain run, a student distilled from it, and a run on the crowd's votes with
    FER-2013's own labels mixed in and the camera and speech augmentation. (folder, stdout)."""
    pytest.importorskip("jax")
    out = tmp_path_factory.mktemp("jax")
    script = NO_TENSORFLOW + (
        "import dataclasses\n"
        "import keras\n"
        "from training.options import CAMERA, SPEECH, AugmentOptions, ModelOptions, TrainConfig\n"
        "from training.train import fit\n"
        "assert keras.backend.backend() == 'jax'\n"
        f"c = TrainConfig(data={str(fer_csv)!r}, out={str(out / 'jax')!r}, epochs=2, batch_size=32,\n"
        "    val_fraction=0.2, limit=96, model=ModelOptions(stem=8, widths=(8, 16), dropout=0.1))\n"
        "fit(c, log=print)\n"
        f"fit(dataclasses.replace(c, out={str(out / 'student')!r}, teachers=(c.out,)), log=print)\n"
        f"fit(dataclasses.replace(c, out={str(out / 'mixed')!r}, votes={str(ferplus_sample)!r},\n"
        "    label_weight=0.3, augment=AugmentOptions(**CAMERA, **SPEECH)), log=print)\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    r = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    return out, r.stdout


def test_the_training_step_runs_under_jax_without_tensorflow(jax_runs):
    """The loop, data and augmentation use keras.ops only: the same code under another backend."""
    out, stdout = jax_runs
    assert "backend jax" in stdout and "epoch 2/2" in stdout
    for run in ("jax", "student"):  # a plain run, then a student distilled from it
        rows = _history(out / run)
        assert len(rows) == 2 and all(np.isfinite(float(r["loss"])) for r in rows)


def test_resume_continues_exactly_from_the_saved_epoch(fer_csv, tmp_path, full_run):
    import keras

    out = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        fit(_config(fer_csv, out), log=StopAfter(2))
    assert json.loads((out / "state.json").read_text())["epoch"] == 2
    messages = []
    fit(_config(fer_csv, out), resume=True, log=messages.append)
    assert any("epochs 3..3" in m for m in messages)
    assert [int(r["epoch"]) for r in _history(out)] == [1, 2, 3]
    a = keras.models.load_model(full_run / "checkpoint.keras")
    b = keras.models.load_model(out / "checkpoint.keras")
    assert int(a.optimizer.iterations.numpy()) == int(b.optimizer.iterations.numpy())
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(wa, wb, rtol=1e-4, atol=1e-5)


def test_a_finished_run_resumes_from_its_best_network_alone(fer_csv, full_run, tmp_path):
    """What comes back from a GPU machine (best.keras, state, config) is enough to resume, export
    and score."""

    run = tmp_path / "back"
    run.mkdir()
    for name in ("best.keras", "state.json", "config.json", "history.csv"):
        shutil.copy(full_run / name, run / name)
    messages = []
    assert fit(_config(fer_csv, run), resume=True, log=messages.append) == run
    assert any("all 3 epochs are done" in m for m in messages)
    assert not (run / "checkpoint.keras").exists()
    (run / "history.csv").unlink()  # nor is the history needed to export and score it
    from training.report import finalize

    messages.clear()
    metrics = finalize(run, log=messages.append)
    card = json.loads((run / "model.json").read_text())  # the sidecar: how to read the model
    assert card["classes"][0] == "angry" and card["input"]["range"] == [0.0, 255.0]
    assert (run / "model-int8.tflite").exists() and "test" in metrics["models"]["model-int8.tflite"]
    assert f"{run}: no history.csv, so no curves.png" in messages and not (run / "curves.png").exists()


def test_train_through_the_cli_shows_no_third_party_logs_and_resume_checks_the_data(fer_csv, tmp_path):
    """Ctrl-C after the first epoch, then the data change: --resume stops with one line that says
    what changed. TensorFlow's and absl's own lines never reach the terminal."""
    import gzip
    import signal
    import time

    data = tmp_path / "fer.csv.gz"
    data.write_bytes(fer_csv.read_bytes())
    run = tmp_path / "run"
    # 40 short epochs and no export: Ctrl-C lands while epochs are still being fitted
    args = [
        "--data",
        data,
        "--out",
        run,
        "--epochs",
        "40",
        "--limit",
        "64",
        "--batch-size",
        "32",
        "--no-export",
    ]
    cmd = [sys.executable, "-m", "fer_audio", "train", *map(str, args)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines, deadline = [], time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if line.startswith("epoch 1/40") or not line:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip() == "training stopped; continue it with --resume"
    printed = "".join(lines) + out
    assert "I0000" not in printed and "absl" not in printed and "WARNING" not in printed
    assert json.loads((run / "state.json").read_text())["epoch"] >= 1
    rows = gzip.decompress(data.read_bytes()).decode().splitlines()
    data.write_bytes(gzip.compress("\n".join(rows[:-60]).encode() + b"\n"))  # 60 faces fewer
    r = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip().startswith("fer-audio: --resume: the data differ from the run's split.json (")
    assert r.stderr.strip().endswith(
        "resume with the same --data and --votes, or start a new run with another --out"
    )
    assert "Traceback" not in r.stderr


def test_a_run_is_not_overwritten_without_resume(fer_csv, full_run):
    with pytest.raises(FileExistsError, match="--resume"):
        fit(_config(fer_csv, full_run), log=lambda m: None)


def test_exported_tflite_agrees_with_keras(full_run, fer_csv, tmp_path):
    import keras

    from fer_audio.data.datasets import load_dataset
    from fer_audio.vision.classify import Classifier, ClassifierOptions
    from training.export import to_tflite, with_flip_average

    model = keras.models.load_model(full_run / "best.keras")
    faces = load_dataset(fer_csv).splits["PublicTest"].images[:32].astype(np.float32)
    expected = model.predict(faces[..., None], verbose=0)
    for flip in (False, True):
        exported = with_flip_average(model) if flip else model
        path = tmp_path / f"m{flip}.tflite"
        path.write_bytes(to_tflite(exported))
        got = Classifier(ClassifierOptions(model=str(path))).predict(faces)
        if flip:
            mirrored = model.predict(faces[:, :, ::-1, None], verbose=0)
            np.testing.assert_allclose(got, (expected + mirrored) / 2, atol=1e-4)
        else:
            np.testing.assert_allclose(got, expected, atol=1e-4)
            assert (got.argmax(1) == expected.argmax(1)).all()


def test_an_ensemble_shares_one_split_and_exports_the_average_of_its_members(fer_csv, tmp_path):
    import keras

    from fer_audio.data.datasets import load_dataset
    from fer_audio.vision.classify import Classifier, ClassifierOptions
    from training.cli import run_train
    from training.options import TrainOptions
    from training.report import finalize

    out = tmp_path / "ens"
    config = TrainConfig(str(fer_csv), str(out), epochs=1, batch_size=32, val_fraction=0.2, model=TINY)
    assert run_train(TrainOptions(config, members=2, export=False)) == 0
    splits = [json.loads((out / f"member-{k}" / "split.json").read_text()) for k in (1, 2)]
    assert splits[0]["val"] == splits[1]["val"]  # neither member is fitted on the other's validation
    metrics = finalize(out, log=lambda m: None)
    assert [m["seed"] for m in metrics["members"]] == [1234, 1235]
    faces = load_dataset(fer_csv).splits["PublicTest"].images[:16].astype(np.float32)
    members = [keras.models.load_model(out / f"member-{k}" / "best.keras") for k in (1, 2)]
    expected = np.mean([m.predict(faces[..., None], verbose=0) for m in members], axis=0)
    got = Classifier(ClassifierOptions(model=str(out / "model.tflite"))).predict(faces)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert not np.allclose(expected, members[0].predict(faces[..., None], verbose=0), atol=1e-3)
    assert (out / "curves.png").is_file() and (out / "confusion.png").is_file()


def test_train_help_states_the_real_defaults():
    from click.testing import CliRunner

    from fer_audio.cli import main

    text = " ".join(CliRunner().invoke(main, ["train", "--help"]).output.split())
    config = TrainConfig(data="", out="")
    for option, value in [
        ("epochs", config.epochs),
        ("batch-size", config.batch_size),
        ("seed", config.seed),
        ("learning-rate", config.learning_rate),
        ("patience", config.patience),
        ("class-weight-power", config.class_weight_power),
    ]:
        assert re.search(rf"--{option} \S+( RANGE)? .*?\[default: {value}\b", text), option
    assert f"(default {config.distill_weight})" in text and f"(default {config.label_weight:g})" in text


def test_a_distilled_student_learns_the_teachers_view_and_resumes_exactly(fer_csv, full_run, tmp_path):
    """--teacher: the training model carries the frozen teachers, which see the student's own
    augmented batch in inference mode; the target is their mean; only the student is saved."""
    import keras

    from training.distill import DistillLoss
    from training.train import compile_model, network_of

    config = _config(fer_csv, tmp_path / "student", teachers=(str(full_run),), distill_weight=1.0)
    model = compile_model(config, 96, jit=False)
    teachers = model.get_layer("teachers")
    assert not teachers.trainable_weights and len(teachers.teachers) == 1
    faces = np.random.default_rng(0).uniform(0, 255, (8, 48, 48, 1)).astype(np.float32)
    teacher = keras.models.load_model(full_run / "best.keras")
    # in training mode the teachers still give their inference output (no dropout): same every call
    both = [np.asarray(teachers(faces, training=True)) for _ in range(2)]
    np.testing.assert_allclose(both[0], both[1], atol=1e-6)
    np.testing.assert_allclose(both[0], teacher.predict(faces, verbose=0), atol=1e-5)
    # the target is weight * teacher + (1 - weight) * y_true
    y_true = np.eye(7, dtype=np.float32)[[0, 3]]
    student = np.array([[0.4, 0.1, 0.1, 0.2, 0.1, 0.05, 0.05]] * 2, np.float32)
    teacher_p = np.eye(7, dtype=np.float32)[[3, 3]]
    loss = DistillLoss(weight=0.75, reduction=None)(y_true, np.concatenate([student, teacher_p], 1))
    expected = [-(0.25 * np.log(0.4) + 0.75 * np.log(0.2)), -np.log(0.2)]
    np.testing.assert_allclose(np.asarray(loss), expected, rtol=1e-5)

    out = tmp_path / "student"
    with pytest.raises(KeyboardInterrupt):
        fit(config, log=StopAfter(2))
    fit(config, resume=True, log=lambda m: None)
    rows = _history(out)
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3] and float(rows[-1]["loss"]) < float(rows[0]["loss"])
    best = keras.models.load_model(out / "best.keras")
    assert best.name == "fer_audio_cnn" and best.count_params() == network_of(model).count_params()
    resumed = keras.models.load_model(out / "checkpoint.keras").get_layer("teachers").teachers[0]
    for a, b in zip(resumed.get_weights(), teacher.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # frozen through the whole run and its resumption


def test_mirrored_teachers_and_a_student_started_from_a_run(fer_csv, full_run, tmp_path):
    """--teacher-mirror: each teacher's output is its mean over the face and its mirror image;
    --init: the network starts from the run's best weights (and must have its widths)."""
    import keras

    from fer_audio.data.datasets import load_dataset
    from training.train import compile_model, network_of

    config = _config(
        fer_csv, tmp_path / "s", teachers=(str(full_run),), teacher_mirror=True, init=str(full_run)
    )
    model = compile_model(config, 96, jit=False)
    teacher = keras.models.load_model(full_run / "best.keras")
    faces = load_dataset(str(fer_csv)).require("Training").images[:16, :, :, None].astype(np.float32)
    plain, mirrored = teacher.predict(faces, verbose=0), teacher.predict(faces[:, :, ::-1], verbose=0)
    assert np.abs(plain - mirrored).max() > 1e-4  # the mirror image is a different input
    np.testing.assert_allclose(
        np.asarray(model.get_layer("teachers")(faces)), (plain + mirrored) / 2, atol=1e-6
    )
    for a, b in zip(network_of(model).get_weights(), teacher.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    wider = dataclasses.replace(config, teachers=(), model=ModelOptions(stem=8, widths=(8, 16, 32, 32)))
    with pytest.raises(ValueError, match="that run's network has widths 8,16,16,32, this run's 8,16,32,32"):
        compile_model(wider, 96, jit=False)
    # a file that is not a saved network, with a config.json beside it: one line naming --init,
    # and no half-made run folder left behind
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "best.keras").write_bytes(b"not a zip")
    shutil.copy(full_run / "config.json", junk / "config.json")
    out = tmp_path / "never"
    with pytest.raises(ValueError) as caught:
        fit(dataclasses.replace(config, out=str(out), teachers=(), init=str(junk)), log=lambda m: None)
    assert str(caught.value) == (
        f"--init {junk / 'best.keras'}: not a network saved by fer-audio train; give a finished run"
    )
    assert not out.exists()


def test_patience_zero_runs_the_whole_schedule(tmp_path):
    """Early stopping counts epochs without a better validation score; patience 0 never stops
    (a cosine schedule's best epochs come at its end)."""
    from training.train import RunState, _end_epoch, compile_model

    for patience, stopped in ((2, True), (0, False)):
        config = TrainConfig(data="", out=str(tmp_path), patience=patience, model=TINY)
        model, state = compile_model(config, 64, jit=False), RunState()
        for epoch, score in enumerate((0.5, 0.4, 0.4, 0.3), start=1):
            _end_epoch(model, config, state, {"epoch": epoch, "val_acc": score}, tmp_path)
        assert (state.stopped_early, state.best_epoch, state.wait) == (stopped, 1, 3)


def _bfloat16_twin(reference):
    """`reference` rebuilt as a run trained on a GPU saves it: its layers compute in bfloat16."""
    from training.model import build_model, dtype_policy

    with dtype_policy("mixed_bfloat16"):
        twin = build_model(TINY)
    twin.set_weights(reference.get_weights())
    return twin


def test_score_computes_a_bfloat16_trained_network_in_float32_as_export_does(fer_csv, full_run, tmp_path):
    import keras

    from fer_audio.data.datasets import load_dataset
    from training.model import dtype_policy
    from training.score import float32_network, score_runs

    reference = keras.models.load_model(full_run / "best.keras", compile=False)
    run = tmp_path / "gpu-run"
    run.mkdir()
    shutil.copy(full_run / "config.json", run / "config.json")
    _bfloat16_twin(reference).save(run / "best.keras")
    saved = keras.models.load_model(run / "best.keras", compile=False)
    assert "bfloat16" in {layer.compute_dtype for layer in saved.layers}

    faces = load_dataset(fer_csv).splits["PublicTest"].images.astype(np.float32)[..., None]
    with dtype_policy("mixed_bfloat16"):  # e.g. left so by a fit in this process
        scored = float32_network(run / "best.keras")
    assert {layer.compute_dtype for layer in scored.layers} == {"float32"}
    want = reference.predict(faces, verbose=0)
    np.testing.assert_allclose(scored.predict(faces, verbose=0), want, atol=1e-5)
    want = want.argmax(1)
    got = score_runs([str(run)], str(fer_csv), None)["runs"][str(run)]["test"]
    assert got["n"] == len(faces)
    assert got["accuracy"] == pytest.approx(
        float(np.mean(want == load_dataset(fer_csv).splits["PublicTest"].labels))
    )


def test_float32_copy_computes_in_float32_whatever_the_global_policy(full_run):
    """The export's float32 copy of a bfloat16-trained network must not pick up a mixed-precision
    policy left set in the process (e.g. by a fit): TFLite has no bfloat16 kernels."""
    import keras

    from training.export import float32_copy
    from training.model import dtype_policy

    reference = keras.models.load_model(full_run / "best.keras", compile=False)
    faces = np.random.default_rng(0).uniform(0, 255, (4, 48, 48, 1)).astype(np.float32)
    with dtype_policy("mixed_bfloat16"):
        copy = float32_copy(_bfloat16_twin(reference))
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"  # left as it was
    assert {layer.compute_dtype for layer in copy.layers} == {"float32"}
    np.testing.assert_allclose(copy.predict(faces, verbose=0), reference.predict(faces, verbose=0), atol=1e-5)


def test_bfloat16_on_the_cpu_trains_and_exports_in_float32(fer_csv, tmp_path):
    """--bfloat16 (the default only on a GPU): the run computes in bfloat16 mixed precision, the
    TFLite export and its scores still work (float32), and the option is kept for --resume."""
    import keras

    run = tmp_path / "bf16"
    args = ["--data", fer_csv, "--out", run, "--epochs", "1", "--limit", "96", "--batch-size", "32"]
    args += ["--widths", "8,16,16,32", "--bfloat16"]
    cmd = [sys.executable, "-m", "fer_audio", "train", *map(str, args)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "training on the CPU in bfloat16 mixed precision (float32 weights)" in r.stdout
    assert json.loads((run / "config.json").read_text())["bfloat16"] is True
    saved = keras.models.load_model(run / "best.keras", compile=False)
    assert "bfloat16" in {layer.compute_dtype for layer in saved.layers}
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["models"]["model-int8.tflite"]["test"] is not None
    assert keras.mixed_precision.global_policy().name == "float32"  # this process is untouched


def test_label_weight_mixes_the_own_label_into_the_crowd_votes(fer_csv, ferplus_sample, tmp_path):
    from training.train import prepare_data, targets

    config = _config(fer_csv, tmp_path / "t", votes=str(ferplus_sample), label_weight=0.25)
    part = prepare_data(config, lambda m: None)["fit"]
    votes = targets(part, dataclasses.replace(config, label_weight=0.0))
    mixed = targets(part, config)
    np.testing.assert_allclose(mixed, 0.75 * votes + 0.25 * np.eye(7)[part.labels], rtol=1e-6)
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0, rtol=1e-6)


def _no_augment() -> dict:
    """AugmentOptions as a dict with every augmentation off: what a test adds on top is all that
    changes the faces."""
    from training.options import AugmentOptions

    off = {"flip": False, "rotation": 0.0, "shift": 0.0, "zoom": 0.0, "brightness": 0.0, "contrast": 0.0}
    return {**dataclasses.asdict(AugmentOptions()), **off, "cutout": 0.0}  # camera, speech: off already


def test_camera_augmentation_adds_noise_blur_and_an_exposure_curve():
    import keras

    from training.augment import Augment
    from training.options import CAMERA

    plain = _no_augment()
    faces = np.tile(np.linspace(40, 200, 48, dtype=np.float32), (8, 48, 1))[..., None]
    same = keras.ops.convert_to_numpy(Augment(plain, seed=1)(faces, training=True))
    np.testing.assert_allclose(same, faces, atol=1e-3)  # every camera effect off: untouched
    camera = keras.ops.convert_to_numpy(Augment({**plain, **CAMERA}, seed=1)(faces, training=True))
    assert camera.shape == faces.shape and camera.min() >= 0 and camera.max() <= 255
    assert np.abs(camera - faces).mean() > 1.0  # changed
    np.testing.assert_allclose(keras.ops.convert_to_numpy(Augment({**plain, **CAMERA})(faces)), faces)


def test_speech_augmentation_darkens_the_mouth_and_leaves_the_eyes():
    import keras

    from training.augment import Augment
    from training.options import SPEECH

    plain = _no_augment()
    faces = np.full((64, 48, 48, 1), 150.0, np.float32)
    talking = keras.ops.convert_to_numpy(Augment({**plain, "speech": 1.0}, seed=2)(faces, training=True))
    assert talking.shape == faces.shape and talking.min() >= 0 and talking.max() <= 255
    mouth = talking[:, 37:41, 21:27, 0].mean(axis=(1, 2))  # about the lips of an aligned crop
    assert (mouth < 150.0 - 20.0).all()  # every face got an open mouth, darker than the skin
    np.testing.assert_allclose(talking[:, :28], faces[:, :28], atol=0.5)  # brows and eyes untouched
    assert talking.mean(axis=(1, 2, 3)).std() > 0.1  # mouths differ from face to face
    some = keras.ops.convert_to_numpy(Augment({**plain, **SPEECH}, seed=2)(faces, training=True))
    touched = (np.abs(some - faces) > 1.0).any(axis=(1, 2, 3)).mean()
    assert 0.1 < touched < 0.6  # about SPEECH's share of the faces (0.3)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(Augment({**plain, "speech": 1.0})(faces)), faces)


def test_label_weight_camera_and_speech_fit_under_tensorflow_and_jax(
    fer_csv, ferplus_sample, tmp_path, jax_runs
):
    from training.options import CAMERA, SPEECH, AugmentOptions

    config = _config(
        fer_csv,
        tmp_path / "tf",
        votes=str(ferplus_sample),
        epochs=2,
        limit=96,
        label_weight=0.3,
        augment=AugmentOptions(**CAMERA, **SPEECH),
    )
    fit(config, log=lambda m: None)
    assert all(np.isfinite(float(r["loss"])) for r in _history(tmp_path / "tf"))
    mixed = jax_runs[0] / "mixed"  # the same under JAX (the jax_runs process)
    rows = _history(mixed)
    assert len(rows) == 2 and all(np.isfinite(float(r["loss"])) for r in rows)
    saved = json.loads((mixed / "config.json").read_text())
    assert saved["label_weight"] == 0.3 and saved["augment"]["noise"] == CAMERA["noise"]
    assert saved["augment"]["speech"] == SPEECH["speech"]


def test_a_network_rebuilt_from_its_int8_tflite_file_matches_it(full_run, fer_csv, tmp_path):
    import keras

    from fer_audio.data.datasets import load_dataset
    from fer_audio.vision.classify import Classifier, ClassifierOptions
    from training.export import to_tflite
    from training.from_tflite import rebuild

    model = keras.models.load_model(full_run / "best.keras")
    path = tmp_path / "m.tflite"
    path.write_bytes(to_tflite(model, "int8"))
    data = load_dataset(fer_csv)
    network = rebuild(path, TINY, data.splits["Training"].images)
    faces = data.splits["PublicTest"].images.astype(np.float32)
    ours = network.predict(faces[..., None], verbose=0)
    theirs = Classifier(ClassifierOptions(model=str(path))).predict_batched(faces)
    np.testing.assert_allclose(ours, theirs, atol=0.02)
    assert (ours.argmax(1) == theirs.argmax(1)).mean() >= 0.95


def test_interpolated_networks_lie_between_a_run_and_its_fine_tune(fer_csv, full_run, tmp_path):
    """training.interpolate: alpha 0 is the base network, alpha 1 its fine-tune, and in between
    every weight is the weighted mean; the folder is a finished run that exports like any other."""
    import keras

    from training.interpolate import interpolate
    from training.report import finalize

    tuned = tmp_path / "tuned"
    fit(_config(fer_csv, tuned, init=str(full_run), epochs=1, learning_rate=0.01), log=lambda m: None)
    base_w = keras.models.load_model(full_run / "best.keras").get_weights()
    tuned_w = keras.models.load_model(tuned / "best.keras").get_weights()
    assert any(np.abs(a - b).max() > 1e-4 for a, b in zip(base_w, tuned_w, strict=True))
    for alpha in (0.0, 0.3, 1.0):
        run = interpolate(full_run, tuned, alpha, tmp_path / f"mix-{alpha}")
        got = keras.models.load_model(run / "best.keras").get_weights()
        for g, a, b in zip(got, base_w, tuned_w, strict=True):
            np.testing.assert_allclose(g, (1 - alpha) * a + alpha * b, rtol=1e-6, atol=1e-6)
    assert json.loads((run / "config.json").read_text())["out"] == str(run)
    source = json.loads((run / "interpolated.json").read_text())
    assert source == {"base": str(full_run), "tuned": str(tuned), "alpha": 1.0}
    metrics = finalize(run, log=lambda m: None)
    assert (run / "model-int8.tflite").is_file() and "val" in metrics["models"]["model.tflite"]
    with pytest.raises(ValueError, match=re.escape("--alpha 1.5: give a share between 0 and 1")):
        interpolate(full_run, tuned, 1.5, tmp_path / "never")
