"""--show (a preview window) and --record (a video file) of a live session, for a sighted helper."""

from __future__ import annotations

import os
from pathlib import Path

from fer_audio.outputs import temporary_name


class Viewer:
    """--show (a preview window) and --record (a video file): both only when asked for. The video
    is written under a temporary name and takes its own name when recording ends."""

    def __init__(self, record: str | None, show: bool, fps: float, tell, warn) -> None:
        import cv2

        self.cv2, self.show, self.writer, self.fps, self.record = cv2, show, None, fps, record
        self.tell, self.warn, self.frames = tell, warn, 0
        self.partial = temporary_name(Path(record)) if record else None

    def frame(self, tracker):
        def draw(frame, events) -> None:
            cv2 = self.cv2
            image = frame.image.copy()
            for tr in tracker.tracks.values():
                b = tr.box
                cv2.rectangle(image, (b.x, b.y), (b.x + b.w, b.y + b.h), (0, 255, 0), 2)
                cv2.putText(
                    image,
                    f"{tr.id}: {tr.smoother.current}",
                    (b.x, max(12, b.y - 6)),
                    cv2.FONT_HERSHEY_SIMPLEX,
                    0.6,
                    (0, 255, 0),
                    2,
                )
            if self.record:
                self._write(image)
            if self.show:
                cv2.imshow("fer-audio", image)
                cv2.waitKey(1)

        return draw

    def _write(self, image) -> None:
        if self.writer is None:
            h, w = image.shape[:2]
            fourcc = self.cv2.VideoWriter_fourcc(*"mp4v")
            self.writer = self.cv2.VideoWriter(str(self.partial), fourcc, self.fps, (w, h))
            if not self.writer.isOpened():
                self.warn(f"--record {self.record}: OpenCV cannot write this video; nothing is recorded")
                self.record = None
                return
        self.writer.write(image)
        self.frames += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()
        if self.partial is not None and self.partial.exists():
            if self.record and self.frames:
                os.replace(self.partial, self.record)
                self.tell(f"Recorded {self.frames} frames to {self.record}.")
            else:
                self.partial.unlink()
        elif self.record and not self.frames:
            self.warn(f"--record {self.record}: no frame came from the source; nothing is recorded")
        if self.show:
            self.cv2.destroyAllWindows()
