"""Fit the shipped model's calibration and grid-search the smoother's defaults on PublicTest.

    python -m benchmarks.tune_smoothing [--model FILE.tflite]

PublicTest is the set ../shared/datasets/README.md reserves for validation and model selection
(the shipped model was chosen on a slice of Training, so PublicTest is new to it too). Each face's
true emotion is the FER+ crowd's majority (faces without one are left out): what the listener
should hear. The calibration is fitted to the model's outputs for the PublicTest faces and printed
(--write puts it into the model's sidecar, where the live path reads it). The sequences drawn here
(seeds below REPORT_SEED) are never the ones `python -m benchmarks smoothing` reports, and its sequences from
the validation slice of Training are not tuned on at all.

Each setting is scored at 15 and at 30 fps on 8 sequences of 2 minutes, and judged by its worse
frame rate. Settings are ranked by event F1, where F1s within 0.005 of the best count as equal
and the sooner median latency goes first. The 40 first of the settings that meet the targets
(median latency at most 0.6 s, at most 1 false event per minute in stable stretches, at both
rates) with 10% to spare are scored again on 100 other sequences, as many as the benchmark reports
on, so that the choice does not rest on a lucky draw. The one to use is the first, so ranked, of
those that meet both targets there with 10% to spare: one setting's false events per minute still
move by about 0.1 from one draw of 100 sequences to another. The ten best of each round are
printed. It takes about 10 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import functools
import itertools
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from benchmarks.common import by_class, crowd_truth, data, model_outputs
from benchmarks.smoothing_eval import REPORT_SEED, evaluate
from fer_audio.events import calibration
from fer_audio.events.smoothing import SmootherOptions
from fer_audio.vision.classify import default_model_path, update_sidecar

GRID = {  # coarser and wider searches (0.25-0.6 s, margins 0-0.2, confidences 0.15-0.4) led here;
    # the shorter time constants and dwells are for a more accurate model, whose frames agree more
    "time_constant": (0.25, 0.3, 0.35, 0.4, 0.45),  # s
    "margin": (0.02, 0.04, 0.06, 0.08),
    "min_confidence": (0.2, 0.25, 0.3),
    "dwell": (0.1, 0.15, 0.2, 0.25, 0.3),  # s
    "refractory": (0.8, 1.0),  # s
}
MAX_LATENCY = 0.6  # s, median
MAX_FALSE_PER_MIN = 1.0  # in stable stretches

NEAR = 1.1  # candidates for the second round: within 10% of both targets, if none meets SPARE
F1_TIE = 0.005  # F1s this close count as equal, and the sooner setting is preferred: with a model
# this good nearly every setting scores 0.99 or more, and a listener gains from each 0.1 s sooner
SECOND_ROUND = 40  # how many candidates are scored again (a better model meets the targets with
# nearly every setting: 581 of 600 did, and 100 sequences for each would take an hour)
SPARE = 0.9  # the choice: meets both targets with 10% to spare in the second round


def _score(outputs: dict, fitted: tuple, values: tuple, n_sequences: int = 8, seed: int = 0) -> tuple:
    """(worse F1, worse median latency, worse false events/min, values) of one grid setting over
    `outputs` (the model's PublicTest outputs by true class) read through calibration `fitted`."""
    options = SmootherOptions(**dict(zip(GRID, values, strict=True)), calibration=fitted)
    r15, r30 = (evaluate(outputs, options, fps, n_sequences, seed=seed) for fps in (15, 30))
    f1 = min(r15["event_f1"], r30["event_f1"])
    latency = max(r15["median_latency_s"] or 9.0, r30["median_latency_s"] or 9.0)
    false = max(r15["false_events_per_min_stable"], r30["false_events_per_min_stable"])
    return f1, latency, false, values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=None, help="a .tflite model (default: the shipped one)")
    parser.add_argument("--write", action="store_true", help="write the calibration into the model's sidecar")
    parser.add_argument("--no-search", action="store_true", help="fit the calibration only")
    args = parser.parse_args()
    faces = crowd_truth(data().require("PublicTest"))  # labelled with the crowd's majority
    probs = model_outputs(faces, args.model)
    fitted = calibration.fit(probs, faces.labels)
    print("calibration (7 rows of the matrix, then the bias; FER-2013 order):")
    print("\n".join(f"    {row}," for row in fitted))
    if args.write:
        model = Path(args.model) if args.model else default_model_path()
        print(f"wrote it into {update_sidecar(model, calibration=[list(row) for row in fitted])}")
    if args.no_search:
        return
    score = functools.partial(_score, by_class(probs, faces.labels), fitted)  # sent with each task
    with ProcessPoolExecutor(2) as pool:
        rows = list(pool.map(score, itertools.product(*GRID.values()), chunksize=4))
        _show("first round, 8 sequences per rate", rows, 1.0)
        near = _candidates(rows)
        again = list(pool.map(score, near, [100] * len(near), [REPORT_SEED // 2] * len(near)))
        title = f"second round, {len(near)} settings near the targets, 100 other sequences per rate"
        _show(title, again, SPARE)


def _ranked(rows: list[tuple], share: float) -> list[tuple]:
    """The rows that meet `share` of both targets, best first: the highest F1, where F1s within
    F1_TIE of the best count as equal and the sooner median latency goes first."""
    ok = [r for r in rows if r[1] <= share * MAX_LATENCY and r[2] <= share * MAX_FALSE_PER_MIN]
    if not ok:
        return []
    best = max(r[0] for r in ok)
    return sorted(ok, key=lambda r: (r[0] < best - F1_TIE, r[1], -r[0], r[2]))


def _candidates(rows: list[tuple]) -> list[tuple]:
    """The settings worth scoring again: the SECOND_ROUND first of those that met both targets
    with the spare the choice needs, else of those within NEAR of them."""
    for share in (SPARE, NEAR):
        ranked = _ranked(rows, share)
        if ranked:
            return [r[3] for r in ranked[:SECOND_ROUND]]
    return []


def _show(title: str, rows: list[tuple], share: float) -> None:
    """The ten best rows that meet `share` of both targets (the ten best of all if none do)."""
    ok = _ranked(rows, share)
    spare = f" with {1 - share:.0%} to spare" if share < 1 else ""
    print(f"{title}: {len(ok)} of {len(rows)} settings meet both targets{spare} at 15 and 30 fps")
    print("F1 (worse fps)  latency  false/min  " + "  ".join(GRID))
    for f1, latency, false, values in (ok or sorted(rows, reverse=True))[:10]:
        print(f"{f1:.3f}           {latency:.2f} s   {false:.2f}       " + "  ".join(map(str, values)))


if __name__ == "__main__":
    main()
