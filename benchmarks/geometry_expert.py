"""The geometry expert (issue #32): a small classifier on the face mesh's geometry
(benchmarks/face_geometry.py) beside the CNN, measured; not shipped (the model card says why).

    python -m benchmarks.geometry_expert       # about 5 minutes on 2 cores

1. The face mesh runs on every FER-2013 face (48x48, the whole crop as the face's box, as narrate
   reads a face-filling photo); faces where it sees no face (score < 0.5) are left out.
2. A multinomial logistic regression on the standardised features and their squares is fitted
   to the crowd's vote distributions of the Training faces outside the shipped model's
   validation slice (FER+'s 'probability' targets, each emotion weighted equally).
3. The fusion is log p = log p_cnn + w log p_geometry; for each w: crowd agreement and mean
   recall on the validation slice and PublicTest, and the per-frame majority of the real-world
   talking and CK+ clips as `live` reads them (largest face, align on), with the features as they
   are and as change from the person's rest face (W011's neutral clip; a CK+ clip's first second).
4. The ablation: each feature group alone and left out (fusion on the validation slice and
   PublicTest).
"""

from __future__ import annotations

import time
from collections import Counter

import numpy as np

from benchmarks.common import data, model_outputs
from benchmarks.face_geometry import FEATURES, GROUPS, features
from benchmarks.realvideo import items
from fer_audio.data import crowd
from fer_audio.labels import EMOTIONS, NEUTRAL, NUM_CLASSES
from fer_audio.types import FaceBox
from fer_audio.vision.landmarks import MIN_FACE_SCORE, FaceMeshModel
from training.split import stratified_split

WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)  # of the geometry's log-probabilities beside the CNN's
TARGETS = ("angry", "disgust", "fear")
REST_FRAMES = 25  # a CK+ clip's first frames (its onset face, held for 1 s at 30 fps)


def mesh_features(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, F) features and (n,) mesh scores of face crops, each read whole."""
    mesh = FaceMeshModel(threads=2)
    box = FaceBox(0, 0, images.shape[2], images.shape[1])
    feats = np.zeros((len(images), len(FEATURES)), np.float32)
    scores = np.zeros(len(images), np.float32)
    for i, image in enumerate(images):
        m = mesh.mesh(np.ascontiguousarray(image.astype(np.uint8)), [box])[0]
        feats[i], scores[i] = features(m.points), m.score
    return feats, scores


def expand(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Standardised features and their squares."""
    z = (x - mean) / std
    return np.concatenate([z, z * z], axis=1)


def fit(x: np.ndarray, targets: np.ndarray, steps: int = 1500, l2: float = 1e-3) -> tuple[np.ndarray, ...]:
    """(weights, bias) of a multinomial logistic regression to soft targets (n, 7), each emotion
    weighted equally; full-batch Adam from zero, deterministic."""
    weight = (targets / np.maximum(targets.sum(axis=0), 1e-9)).sum(axis=1)
    weight /= weight.sum()
    params = [np.zeros((x.shape[1], NUM_CLASSES)), np.zeros(NUM_CLASSES)]
    first, second = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
    for step in range(1, steps + 1):
        residual = (np.exp(log_softmax(x @ params[0] + params[1])) - targets) * weight[:, None]
        grads = (x.T @ residual + l2 * params[0], residual.sum(axis=0))
        for k, g in enumerate(grads):  # Adam, learning rate 0.05
            first[k] = 0.9 * first[k] + 0.1 * g
            second[k] = 0.999 * second[k] + 0.001 * g * g
            params[k] -= 0.05 * (first[k] / (1 - 0.9**step)) / (np.sqrt(second[k] / (1 - 0.999**step)) + 1e-8)
    return tuple(params)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def agreement(truth: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    """(accuracy, mean per-class recall)."""
    recalls = [float((pred[truth == c] == c).mean()) for c in range(NUM_CLASSES) if (truth == c).any()]
    return float((pred == truth).mean()), float(np.mean(recalls))


class Expert:
    """The geometry classifier on some feature columns."""

    def __init__(self, train: dict, columns: list[int]) -> None:
        x = train["feats"][:, columns]
        self.columns, self.mean, self.std = columns, x.mean(axis=0), x.std(axis=0) + 1e-6
        self.params = fit(expand(x, self.mean, self.std), train["targets"])

    def log_probs(self, feats: np.ndarray) -> np.ndarray:
        return log_softmax(
            expand(feats[:, self.columns], self.mean, self.std) @ self.params[0] + self.params[1]
        )


def split_set(faces, with_outputs: bool) -> dict:
    """The faces the mesh sees, with features, soft targets, the crowd's majority and (for the
    evaluation sets) the shipped model's outputs."""
    feats, scores = mesh_features(faces.images)
    targets, reason = crowd.soft_targets(faces.votes)
    majority, _ = crowd.majority_labels(faces.votes)
    keep = (scores >= MIN_FACE_SCORE) & np.isfinite(feats).all(axis=1)
    keep &= (majority >= 0) if with_outputs else (reason == 0)
    out = {"feats": feats[keep], "targets": targets[keep], "truth": majority[keep], "seen": keep.mean()}
    if with_outputs:
        out["cnn"] = np.log(np.maximum(model_outputs(faces.subset(np.flatnonzero(keep))), 1e-6))
    return out


def fused_scores(expert: Expert, s: dict) -> list[tuple[float, float, float]]:
    geometry = expert.log_probs(s["feats"])
    return [(w, *agreement(s["truth"], (s["cnn"] + w * geometry).argmax(axis=1))) for w in WEIGHTS]


def clip_frames() -> list[tuple]:
    """[(item, [(probabilities, features or None)])] of the talking and CK+ clips, the largest
    face of each frame, read as live reads it."""
    from fer_audio.apps.options import LiveOptions
    from fer_audio.vision.detect import TrackingDetector
    from fer_audio.vision.preprocess import to_gray8
    from fer_audio.vision.recognize import Recognizer, left_to_right

    out = []
    for item in items(("talking", "ckplus")):
        recognizer = Recognizer(LiveOptions().recognizer)
        detector = TrackingDetector(recognizer.detector, 0.5, follow=recognizer.follow)
        seen, meshes_of = {}, recognizer.meshes

        def keep_meshes(gray, boxes, meshes_of=meshes_of, seen=seen):  # the meshes classify() uses
            seen["meshes"] = meshes_of(gray, boxes)
            return seen["meshes"]

        recognizer.meshes = keep_meshes
        frames = []
        for frame in item.frames():
            gray = to_gray8(frame.image)
            faces = recognizer.classify(gray, left_to_right(detector.detect_at(gray, frame.t)))
            if not faces:
                continue
            k = max(range(len(faces)), key=lambda i: faces[i].box.area)
            mesh = seen["meshes"][k]
            frames.append((faces[k].probabilities, None if mesh is None else features(mesh.points)))
        out.append((item, frames))
    return out


def clip_majorities(expert: Expert, clips: list[tuple], rest_of, neutral: np.ndarray, w: float) -> Counter:
    """Per-frame majorities right, by set, with the geometry at weight w; rest_of(item, frames)
    gives the rest features to read against (None: the features as they are)."""
    right = Counter()
    for item, frames in clips:
        rest = rest_of(item, frames)
        labels = []
        for probs, f in frames:
            evidence = np.log(np.maximum(probs, 1e-6))
            if f is not None and np.isfinite(f).all():
                g = f if rest is None else f - rest + neutral
                evidence = evidence + w * expert.log_probs(g[None])[0]
            labels.append(int(evidence.argmax()))
        said = EMOTIONS[Counter(labels).most_common(1)[0][0]]
        right[item.kind] += said == item.truth
        right[item.kind + " angry/disgust/fear"] += said == item.truth and item.truth in TARGETS
    return right


def _ok(f) -> bool:
    return f is not None and bool(np.isfinite(f).all())


def main() -> None:
    started = time.perf_counter()
    train_all = data().require("Training")
    train_idx, val_idx = stratified_split(train_all.labels, 0.1, 1234)
    train = split_set(train_all.subset(train_idx), with_outputs=False)
    evals = {"validation slice": split_set(train_all.subset(val_idx), True)}
    evals["PublicTest"] = split_set(data().require("PublicTest"), True)
    print(f"the mesh sees {train['seen']:.1%} of the fitting faces; {time.perf_counter() - started:.0f} s")
    columns = list(range(len(FEATURES)))
    expert = Expert(train, columns)
    for name, s in evals.items():
        alone = agreement(s["truth"], expert.log_probs(s["feats"]).argmax(axis=1))
        print(f"{name} ({len(s['truth'])} faces): geometry alone {alone[0]:.2%}, mean recall {alone[1]:.3f}")
        for w, acc, recall in fused_scores(expert, s):
            print(f"  w {w:.1f}: crowd agreement {acc:.2%}, mean recall {recall:.3f}")
    for group in sorted(set(GROUPS.values())):
        inside = [i for i, f in enumerate(FEATURES) if GROUPS[f] == group]
        for title, cols in (
            (f"only {group}", inside),
            (f"without {group}", [i for i in columns if i not in inside]),
        ):
            part = Expert(train, cols)
            cells = [
                " ".join(f"{w:.1f}:{acc:.2%}/{r:.3f}" for w, acc, r in fused_scores(part, s))
                for s in evals.values()
            ]
            print(f"ablation, {title}: validation {cells[0]} | PublicTest {cells[1]}")
    clips = clip_frames()
    neutral = np.median(train["feats"][train["targets"].argmax(axis=1) == NEUTRAL], axis=0)
    w011 = [f for item, frames in clips if item.truth == "neutral" for _, f in frames if _ok(f)]
    rests = {
        "as they are": lambda item, frames: None,
        "against the rest face": lambda item, frames: np.median(
            w011 if item.kind == "talking" else [f for _, f in frames[:REST_FRAMES] if _ok(f)], axis=0
        ),
    }
    for title, rest_of in rests.items():
        for w in WEIGHTS:
            right = clip_majorities(expert, clips, rest_of, neutral, w)
            print(
                f"clips, features {title}, w {w:.1f}: per-frame majority right {dict(sorted(right.items()))}"
            )
    mouthless = Expert(
        train, [i for i, f in enumerate(FEATURES) if GROUPS[f] != "mouth"]
    )  # does speech hurt?
    for w in WEIGHTS:
        right = clip_majorities(mouthless, clips, rests["as they are"], neutral, w)
        print(f"clips, without the mouth features, w {w:.1f}: majority right {dict(sorted(right.items()))}")
    print(f"geometry expert: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
