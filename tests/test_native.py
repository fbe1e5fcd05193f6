"""Native libraries' log lines are kept off the terminal without hiding another thread's lines."""

import os
import threading

import numpy as np

from fer_audio.vision.landmarks import FaceMeshModel
from fer_audio.vision.litert import TFLiteModel
from fer_audio.vision.model_files import model_path


def test_models_made_after_the_first_never_touch_descriptor_2(monkeypatch):
    """Descriptor 2 is shared by every thread: once the process's first model has taken LiteRT's
    one log line, a model made or re-allocated in a worker thread (narrate's face meshes) never
    points it elsewhere, so a "skipped ..." line written meanwhile cannot vanish."""
    TFLiteModel(model_path("blazeface"))  # the first in this process, or a later one: either way
    moved: list[int] = []
    real_dup2 = os.dup2
    monkeypatch.setattr(os, "dup2", lambda a, b, *rest: moved.append(b) or real_dup2(a, b, *rest))

    def worker() -> None:
        mesh = FaceMeshModel()
        for n in (1, 3, 2):
            mesh._model.run(np.zeros((n, *mesh._model.input_shape), np.float32))

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert moved == []
