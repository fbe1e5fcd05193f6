"""Benchmarks: print figures (accuracy, speed, smoothing quality, audio latency, memory) and write
benchmarks/results/latest.json. They never fail on timing.

    python -m benchmarks                 # everything but the soak run
    python -m benchmarks accuracy live   # some sections
    python -m benchmarks soak --soak-minutes 10
    python -m benchmarks classify --candidate runs/w40/model-int8.tflite   # time other models too
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
from dataclasses import replace
from pathlib import Path

from benchmarks import accuracy, audio, detectors, gestures, headcues, live, narrate, pause, smoothing
from benchmarks.common import RESULTS, TAR, VIDEO, fer_detector, say
from benchmarks.realworld import bench_realworld, bench_rest_photo
from benchmarks.soak import bench_soak_live


def _realworld(args) -> dict:
    """realworld, with --model MODEL.tflite in place of the shipped model where given: the live
    path then reads it through a calibration and a rest reference fitted to its own PublicTest
    outputs (as the shipped model's were), printed so that they can be shipped with the model."""
    peer = None if args.no_peer else fer_detector()
    if args.model is None:
        return bench_realworld(say, peer)
    from benchmarks.common import crowd_truth, data, model_outputs
    from benchmarks.tune_events import fit_rest_reference
    from fer_audio.apps.options import LiveOptions, NarrateOptions
    from fer_audio.events import calibration
    from fer_audio.vision.classify import ClassifierOptions

    faces = crowd_truth(data().require("PublicTest"))
    outputs = model_outputs(faces, str(args.model))
    fitted = calibration.fit(outputs, faces.labels)
    say(f"realworld: {args.model}, calibration fitted to its PublicTest outputs:")
    say("\n".join(f"    {row}," for row in fitted))
    reference = fit_rest_reference(outputs, faces.labels, fitted)  # as benchmarks.tune_events fits it
    say(f"realworld: its rest reference: {reference}")
    classifier = ClassifierOptions(model=str(args.model))
    options = LiveOptions()
    tracker = replace(
        options.tracker,
        smoother=replace(options.tracker.smoother, calibration=fitted),
        rest=replace(options.tracker.rest, reference=reference),
    )
    options = replace(options, recognizer=replace(options.recognizer, classifier=classifier), tracker=tracker)
    photo_options = replace(NarrateOptions().recognizer, classifier=classifier)
    return bench_realworld(say, peer, options, photo_options)


SECTIONS = {  # name -> section(args); each area's module holds its sections
    "startup": lambda args: live.bench_startup(),
    "accuracy": lambda args: accuracy.bench_accuracy(),
    "classify": lambda args: accuracy.bench_classify(candidates=tuple(args.candidate)),
    "narrate": lambda args: narrate.bench_narrate(),
    "detectors": lambda args: detectors.bench_detectors(),
    "live": lambda args: live.bench_live(),
    "smoothing": lambda args: smoothing.bench_smoothing(),
    "audio": lambda args: audio.bench_audio(),
    "glass": lambda args: audio.bench_glass_to_ear(),
    "gestures": lambda args: gestures.bench_gestures(),
    "headcues": lambda args: headcues.bench_headcues(),
    "alignment": lambda args: detectors.bench_alignment(),
    "framing": lambda args: detectors.bench_framing(),
    "realworld": _realworld,
    "rest-photo": lambda args: bench_rest_photo(say),
    "pause": lambda args: pause.bench_pause(),
}
ON_REQUEST = {  # long runs: only when named
    "soak": lambda args: live.bench_soak(args.soak_minutes),
    "soak-live": lambda args: bench_soak_live(say, VIDEO, args.soak_minutes),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sections", nargs="*", help=f"some of: {', '.join([*SECTIONS, *ON_REQUEST])}")
    parser.add_argument("--soak-minutes", type=float, default=10.0)
    parser.add_argument(
        "--candidate",
        action="append",
        default=[],
        type=Path,
        metavar="MODEL.tflite",
        help="classify: also time this model in the same rounds (repeatable), e.g. a wider student",
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        metavar="MODEL.tflite",
        help="realworld: measure this model instead",
    )
    parser.add_argument(
        "--no-peer", action="store_true", help="realworld: leave the fer package out (quicker)"
    )
    args = parser.parse_args()
    if not TAR.exists():
        sys.exit(f"benchmarks: {TAR} is missing (the benchmarks read FER-2013 and the video from ../shared)")
    for path in args.candidate:
        if not path.is_file():
            sys.exit(f"benchmarks: --candidate {path}: no such file; give a .tflite model")
    chosen = args.sections or list(SECTIONS)
    unknown = [name for name in chosen if name not in {**SECTIONS, **ON_REQUEST}]
    if unknown:
        sys.exit(
            f"benchmarks: no section {', '.join(unknown)}; choose from {', '.join([*SECTIONS, *ON_REQUEST])}"
        )
    say(
        "the fer package: "
        + (
            "installed, measured in this run"
            if fer_detector()
            else "not installed; its earlier figures are quoted (pip install --no-deps fer)"
        )
        + ("; left out of realworld (--no-peer)" if args.no_peer and "realworld" in chosen else "")
    )
    results = {"machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()}}
    for name in chosen:
        results[name] = {**SECTIONS, **ON_REQUEST}[name](args)
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2, default=float))
    say(f"wrote {RESULTS / 'latest.json'}")


if __name__ == "__main__":
    main()
