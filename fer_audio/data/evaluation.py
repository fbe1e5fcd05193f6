"""Scores of predictions against labels: accuracy, per-class precision/recall/F1, confusion."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fer_audio.data import crowd
from fer_audio.labels import EMOTIONS, NUM_CLASSES


@dataclass(frozen=True)
class Scores:
    accuracy: float
    n: int
    confusion: np.ndarray  # (7, 7) int64, rows: true class, columns: predicted class

    @classmethod
    def of(cls, labels: np.ndarray, predicted: np.ndarray) -> Scores:
        labels, predicted = np.asarray(labels, np.int64), np.asarray(predicted, np.int64)
        confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
        np.add.at(confusion, (labels, predicted), 1)
        n = int(labels.size)
        return cls(float(np.trace(confusion) / n) if n else 0.0, n, confusion)

    def per_class(self) -> dict[str, dict[str, float]]:
        tp = np.diag(self.confusion).astype(np.float64)
        support = self.confusion.sum(axis=1)
        predicted = self.confusion.sum(axis=0)
        precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
        recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
        denom = precision + recall
        f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
        return {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(EMOTIONS)
        }

    def to_json(self, **extra: float) -> dict:
        return {
            "accuracy": self.accuracy,
            "n": self.n,
            "per_class": self.per_class(),
            "confusion": self.confusion.tolist(),
            "labels": list(EMOTIONS),
            **extra,
        }

    def table(self) -> str:
        """A plain-text table a screen reader reads row by row."""
        lines = [
            f"accuracy {self.accuracy:.2%} on {self.n} faces",
            "class      precision  recall  f1     support",
        ]
        for name, s in self.per_class().items():
            lines.append(
                f"{name:<10} {s['precision']:>9.3f}  {s['recall']:>6.3f}  {s['f1']:.3f}  {s['support']:>7d}"
            )
        lines.append("confusion (rows: true, columns: predicted, order " + ", ".join(EMOTIONS) + ")")
        for name, row in zip(EMOTIONS, self.confusion, strict=True):
            lines.append(f"{name:<10} " + " ".join(f"{v:>5d}" for v in row))
        return "\n".join(lines)


def crowd_scores(votes: np.ndarray, predicted: np.ndarray) -> tuple[Scores, dict[str, int]]:
    """Agreement of `predicted` (n,) with the crowd's majority of `votes` (n, 10) on the faces
    that have one, and how many were left out, by reason."""
    majority, reason = crowd.majority_labels(votes)
    scored = majority >= 0
    return Scores.of(majority[scored], np.asarray(predicted)[scored]), crowd.excluded_counts(reason)


def scores_json(labels: np.ndarray, votes: np.ndarray | None, predicted: np.ndarray, **extra) -> dict:
    """Scores on the dataset's own labels (top level, with `extra`) and, where there are votes,
    agreement with the crowd's majority under 'crowd' (with its 'excluded' counts)."""
    result = Scores.of(labels, predicted).to_json(**extra)
    if votes is not None:
        scores, excluded = crowd_scores(votes, predicted)
        result["crowd"] = {**scores.to_json(), "excluded": excluded}
    return result
