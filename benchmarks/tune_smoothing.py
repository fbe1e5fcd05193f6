"""Grid search of the smoother's defaults on validation-split sequences (never on PublicTest).

    python -m benchmarks.tune_smoothing

Prints the best settings by event F1 among those meeting the latency (<= 0.6 s median) and
false-event (<= 1 per minute when stable) targets.
"""

from __future__ import annotations

import itertools

from benchmarks.__main__ import _probs_by_class, data
from benchmarks.smoothing_eval import evaluate
from fer_audio.smoothing import SmootherOptions
from training.split import stratified_split


def main() -> None:
    train = data().require("Training")
    _, val_idx = stratified_split(train.labels, 0.1, 1234)
    by_class = _probs_by_class(train.subset(val_idx))
    rows = []
    grid = itertools.product((0.3, 0.4, 0.5), (0.08, 0.12, 0.16), (0.35, 0.4, 0.45), (0.15, 0.25, 0.35))
    for tau, margin, conf, dwell in grid:
        options = SmootherOptions(time_constant=tau, margin=margin, min_confidence=conf, dwell=dwell)
        r15 = evaluate(by_class, options, 15, n_sequences=8)
        r30 = evaluate(by_class, options, 30, n_sequences=8)
        f1 = (r15["event_f1"] + r30["event_f1"]) / 2
        latency = max(r15["median_latency_s"] or 9, r30["median_latency_s"] or 9)
        false = max(r15["false_events_per_min_stable"], r30["false_events_per_min_stable"])
        rows.append((f1, latency, false, tau, margin, conf, dwell))
    ok = sorted((r for r in rows if r[1] <= 0.6 and r[2] <= 1.0), reverse=True)
    print("F1     latency  false/min  tau  margin  min_conf  dwell")
    for r in (ok or sorted(rows, reverse=True))[:10]:
        print(f"{r[0]:.3f}  {r[1]:.2f} s   {r[2]:.2f}       {r[3]}  {r[4]}    {r[5]}      {r[6]}")


if __name__ == "__main__":
    main()
