"""Score runs' best networks and their average on validation and test, under any Keras backend.

    python -m training.score --data fer2013-images.tar.gz --votes ferplus-votes.csv RUN [RUN ...]

For a GPU machine without TensorFlow (the TFLite export and its scores in `fer-audio train` need
TensorFlow): prints, for each run (each member of an ensemble run) and for the mean of all of
them, agreement with the crowd's majority and accuracy on the dataset's own labels, on the
validation slice and on the test split. ``--json FILE`` writes the same figures. Selection
stays on validation; the test figures are only reported. Every network computes in float32, as
the TFLite export does, also one trained on a GPU with bfloat16 mixed precision.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import keras
import numpy as np

from fer_audio.data.datasets import FaceSet
from fer_audio.data.evaluation import scores_json
from fer_audio.outputs import write_atomic
from training.distill import load_network
from training.model import dtype_policy
from training.options import TrainConfig, teacher_files
from training.train import prepare_data


def scores(probs: np.ndarray, part: FaceSet) -> dict:
    """fer_audio.data.evaluation.scores_json of the top class of each face (crowd agreement under
    'crowd' where the faces carry votes)."""
    return scores_json(part.labels, part.votes, probs.argmax(axis=1))


def float32_network(path: Path) -> keras.Model:
    """A run's best.keras rebuilt to compute in float32, as the TFLite export does: a network
    trained with bfloat16 mixed precision is saved computing in bfloat16, and scored so its
    figures would differ from the exported file's by a face or two. Whatever policy ran before
    in this process (a fit's) is left as it was."""
    with dtype_policy("float32"):
        return load_network(path, option="run")


def score_runs(runs: list[str], data: str, votes: str | None) -> dict:
    files = [f for run in runs for f in teacher_files(run, "run")]
    config = TrainConfig.from_json(json.loads((files[0].parent / "config.json").read_text()))
    config = dataclasses.replace(config, data=data, votes=votes or "")
    splits = prepare_data(config, lambda _m: None)
    result: dict = {"runs": {}, "mean": {}}
    probs: dict[str, list[np.ndarray]] = {"val": [], "test": []}
    for path in files:
        network = float32_network(path)
        entry = {"params": int(network.count_params())}
        for split in probs:
            p = np.asarray(network.predict(splits[split].images[..., None].astype(np.float32), 512, 0))
            probs[split].append(p)
            entry[split] = scores(p, splits[split])
        result["runs"][str(path.parent)] = entry
        print(f"{path.parent}: {summary(entry)}", flush=True)
    for split, ps in probs.items():
        result["mean"][split] = scores(np.mean(ps, axis=0), splits[split])
    print(f"mean of {len(files)}: {summary(result['mean'])}", flush=True)
    return result


def summary(entry: dict) -> str:
    """One line of an entry {'val': scores_json, 'test': scores_json}: crowd agreement where
    there are votes, and accuracy on the dataset's own labels, each with its n."""
    parts = []
    for split in ("val", "test"):
        s = entry[split]
        if "crowd" in s:
            parts.append(f"{split} crowd {s['crowd']['accuracy']:.4f} (n {s['crowd']['n']})")
        parts.append(f"{split} labels {s['accuracy']:.4f} (n {s['n']})")
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training.score", description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="run folders (or ensemble folders with member-*/)")
    parser.add_argument("--data", required=True, help="the data the runs were trained on")
    parser.add_argument("--votes", default=None, help="the crowd votes (for crowd agreement)")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    result = score_runs(args.runs, args.data, args.votes)
    if args.json:
        write_atomic(Path(args.json), json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
