"""Weight interpolation of a network and its fine-tune (WiSE-FT, Wortsman et al. 2022): a run
folder whose network is ``(1 - alpha) * BASE + alpha * TUNED``, weight by weight (batch-norm
statistics included), then exported and scored like any finished run.

A fine-tune on real-face targets (FER-2013's own labels mixed in, class-balanced weights, camera
augmentation) hears more anger, disgust and fear but loses crowd agreement on FER-2013; the
weights between the two networks (which share the base's start, so they lie in one basin) keep
much of both. No new training, and the result costs what either network costs at run time.

    python -m training.interpolate runs/shipped runs/A --alpha 0.5 --out runs/wise-50 \\
        --data fer2013-images.tar.gz --votes ferplus-votes.csv
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fer_audio.outputs import atomic_path, write_atomic
from training.options import TrainConfig, teacher_files


def interpolate(base: str | Path, tuned: str | Path, alpha: float, out: str | Path) -> Path:
    """Write run folder `out` (best.keras, config.json, state.json) holding the network between
    the best networks of run folders `base` (alpha 0) and `tuned` (alpha 1). Both must be one
    network of the same shape; `out`'s config.json is `tuned`'s, with `out` as its folder, and
    interpolated.json says what it was made of."""
    from training.distill import load_network

    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"--alpha {alpha}: give a share between 0 and 1")
    files = teacher_files(base, "base"), teacher_files(tuned, "tuned")
    if len(files[0]) != 1 or len(files[1]) != 1:
        raise ValueError(f"{base}, {tuned}: give two runs of one network each, not ensembles")
    base_file, tuned_file = files[0][0], files[1][0]
    a, b = load_network(base_file, option="base"), load_network(tuned_file, option="tuned")
    wa, wb = a.get_weights(), b.get_weights()
    if [w.shape for w in wa] != [w.shape for w in wb]:
        raise ValueError(f"{base} and {tuned}: networks of different shapes cannot be interpolated")
    b.set_weights([((1.0 - alpha) * x + alpha * y).astype(x.dtype) for x, y in zip(wa, wb, strict=True)])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "best.keras") as tmp:
        b.save(tmp)
    config = TrainConfig.from_json(json.loads((tuned_file.parent / "config.json").read_text()))
    write_atomic(out / "config.json", json.dumps(config.to_json() | {"out": str(out)}, indent=2))
    source = {"base": str(base), "tuned": str(tuned), "alpha": alpha}
    write_atomic(out / "interpolated.json", json.dumps(source, indent=2))
    write_atomic(out / "state.json", (tuned_file.parent / "state.json").read_bytes())
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="run folder of the network at alpha 0 (e.g. the shipped one)")
    parser.add_argument("tuned", help="run folder of its fine-tune (alpha 1)")
    parser.add_argument("--alpha", type=float, action="append", required=True, help="repeatable")
    parser.add_argument("--out", required=True, help="run folder; with several --alpha, a prefix")
    parser.add_argument("--data", help="FER-2013 here, to export and score (else: no export)")
    parser.add_argument("--votes", help="FER+ crowd votes, to score against the crowd")
    args = parser.parse_args(argv)
    for alpha in args.alpha:
        out = args.out if len(args.alpha) == 1 else f"{args.out}-{round(alpha * 100):02d}"
        run = interpolate(args.base, args.tuned, alpha, out)
        print(f"{run}: alpha {alpha:g}", flush=True)
        if args.data:
            from training.report import finalize

            finalize(run, data=args.data, votes=args.votes)


if __name__ == "__main__":
    main()
