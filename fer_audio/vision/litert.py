"""One small runner for the TFLite models (expression model, BlazeFace, face mesh) through LiteRT.

Never imports TensorFlow. The interpreter is resized only when the batch size changes, and is
guarded by a lock (an interpreter must not run two invocations at once).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from fer_audio.native import prime_litert


class TFLiteModel:
    """run(batch (n, *input_shape) float32) -> list of output arrays, each (n, ...)."""

    def __init__(self, path: str | Path, threads: int = 2) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.path = Path(path)

        def make() -> None:  # the first allocation in the process logs a line on fd 2
            self._interpreter = Interpreter(model_path=str(self.path), num_threads=threads)
            self._interpreter.allocate_tensors()

        prime_litert(make)
        inp = self._interpreter.get_input_details()[0]
        self._input = inp["index"]
        self.input_shape = tuple(int(d) for d in inp["shape"][1:])
        self._outputs = [d["index"] for d in self._interpreter.get_output_details()]
        self._batch = int(inp["shape"][0])  # the size the model was allocated with
        self._lock = threading.Lock()

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        batch = np.ascontiguousarray(batch, np.float32)
        n = batch.shape[0]
        with self._lock:
            if n == self._batch:
                self._interpreter.set_tensor(self._input, batch)
                self._interpreter.invoke()
            else:  # LiteRT's one log line was taken when the process's first model was made
                self._interpreter.resize_tensor_input(self._input, [n, *self.input_shape])
                self._interpreter.allocate_tensors()
                self._interpreter.set_tensor(self._input, batch)
                self._interpreter.invoke()
                self._batch = n
            return [np.array(self._interpreter.get_tensor(i)) for i in self._outputs]


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Scores the MediaPipe models give as logits -> float32 probabilities (computed in float64,
    clipped as MediaPipe clips them, so no overflow)."""
    x = np.clip(np.asarray(logits, np.float64), -100.0, 100.0)
    return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)
