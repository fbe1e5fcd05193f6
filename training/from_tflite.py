"""Rebuild a network exported by `fer-audio train` from its TFLite file, as a run folder that
`fer-audio train --init` can fine-tune: for the shipped model, whose run folder is not shipped.

The export folds each batch norm into the convolution before it and stores the kernels as int8
with a scale per output channel. Here the kernels are dequantized into the network's own
convolutions, and each batch norm is set so that it gives back the folded result: its moving
mean and variance are the statistics of its input over `faces` (training images), its scale
and offset undo them. Inference is then the TFLite model's (to float rounding), and a fine-tune
in training mode, which normalises by each batch's statistics, starts from the same function.

    python -m training.from_tflite fer_audio/models/fer2013.tflite --data fer2013-images.tar.gz \\
        --out runs/shipped
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import keras
import numpy as np

from fer_audio.data.datasets import load_dataset
from fer_audio.outputs import atomic_path, write_atomic
from training.model import ModelOptions, build_model


def tflite_weights(path: str | Path) -> dict[str, np.ndarray]:
    """{tensor name: float32 array} of the model's constant tensors, int8 ones dequantized with
    their per-channel scales."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(str(path))
    interpreter.allocate_tensors()
    out = {}
    for t in interpreter.get_tensor_details():
        try:
            value = interpreter.get_tensor(t["index"])
        except ValueError:  # an activation, not a constant
            continue
        if value.dtype == np.int8:
            scales = t["quantization_parameters"]["scales"]
            shape = [-1] + [1] * (value.ndim - 1)
            value = value.astype(np.float32) * scales.reshape(shape)
        out[t["name"]] = np.asarray(value, np.float32)
    return out


def _find(weights: dict[str, np.ndarray], part: str, ndim: int) -> np.ndarray:
    found = [v for k, v in weights.items() if part in k and v.ndim == ndim and v.size > 1]
    if len(found) != 1:
        raise ValueError(f"expected one tensor named like {part!r} of rank {ndim}, found {len(found)}")
    return found[0]


def rebuild(path: str | Path, options: ModelOptions, faces: np.ndarray) -> keras.Model:
    """The network of `options` carrying the TFLite file's weights; `faces` (n, 48, 48) uint8
    training images set its batch norms' statistics."""
    weights = tflite_weights(path)
    network = build_model(options)
    x = faces[..., None].astype(np.float32)
    names = ["stem"] + [
        f"conv{s}_{i}" for s in range(len(options.widths)) for i in range(options.convs_per_stage)
    ]
    bns = ["stem_bn"] + [
        f"bn{s}_{i}" for s in range(len(options.widths)) for i in range(options.convs_per_stage)
    ]
    relus = ["stem_relu"] + [
        f"relu{s}_{i}" for s in range(len(options.widths)) for i in range(options.convs_per_stage)
    ]
    for conv, bn, relu in zip(names, bns, relus, strict=True):
        kernel = _find(weights, f"/{conv}_1/convolution", 4)  # (out, kh, kw, in)
        bias = next(v for k, v in weights.items() if f"/{relu}_1/Relu" in k and v.ndim == 1)
        network.get_layer(conv).set_weights([kernel.transpose(1, 2, 3, 0)])
        upto = keras.Model(network.input, network.get_layer(conv).output)
        z = np.concatenate([upto.predict(x[i : i + 512], verbose=0) for i in range(0, len(x), 512)])
        mean, var = z.mean(axis=(0, 1, 2)), z.var(axis=(0, 1, 2))
        layer = network.get_layer(bn)
        std = np.sqrt(var + layer.epsilon)
        # gamma * (z - mean) / std + beta == z + bias
        layer.set_weights([std, bias + mean, mean, var])
    dense = _find(weights, "/probs_1/MatMul", 2)  # (7, features)
    dense_bias = next(v for k, v in weights.items() if k.endswith("probs_1/BiasAdd") and v.ndim == 1)
    network.get_layer("probs").set_weights([dense.T, dense_bias])
    return network


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", type=Path)
    parser.add_argument("--data", required=True, help="FER-2013 (its Training faces set the statistics)")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--config", type=Path, default=None, help="the run's train-config.json (widths)")
    parser.add_argument("--faces", type=int, default=4000)
    args = parser.parse_args()
    config = json.loads((args.config or args.model.parent / "train-config.json").read_text())
    options = ModelOptions.from_json(config["model"])
    train = load_dataset(args.data).require("Training")
    pick = np.random.default_rng(0).permutation(len(train))[: args.faces]
    network = rebuild(args.model, options, train.images[np.sort(pick)])
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out / "best.keras") as tmp:
        network.save(tmp)
    write_atomic(
        args.out / "config.json", json.dumps({"model": config["model"], "from_tflite": str(args.model)})
    )
    print(f"wrote {args.out / 'best.keras'}")


if __name__ == "__main__":
    main()
