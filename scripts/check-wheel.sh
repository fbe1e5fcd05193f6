#!/usr/bin/env bash
# Builds fer-audio's wheel, installs it with its dependencies in a fresh virtual environment
# (.wheel-venv, outside the development one) and runs each kind of command from it, offline as
# far as the commands go: live on the shared video, narrate on a photo, sounds preview to a file.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-python3}
video=../shared/videos/phone-smile.mp4
rm -rf dist .wheel-venv
"$python" -m pip wheel -q --no-deps -w dist . 2>&1 | grep -v '^WARNING' || true
wheel=$(ls dist/fer_audio-*.whl)
"$python" - "$wheel" <<'PY'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
wanted = ["fer_audio/models/fer2013.tflite", "fer_audio/models/fer2013.json",
          "fer_audio/models/mediapipe/face_detection_short_range.tflite",
          "fer_audio/models/mediapipe/face_landmark.tflite", "fer_audio/models/MEDIAPIPE-NOTICE.md"]
missing = [w for w in wanted if w not in names]
if missing:
    sys.exit(f"check-wheel: not in {sys.argv[1]}: {', '.join(missing)} (run make models first)")
PY
"$python" -m venv .wheel-venv
.wheel-venv/bin/python -m pip install -q "$wheel" 2>&1 | grep -v '^WARNING' || true
.wheel-venv/bin/fer-audio --version
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"  # away from the checkout: only the installed package is importable
if [ -f "$OLDPWD/$video" ]; then
  "$OLDPWD/.wheel-venv/bin/fer-audio" live --source "$OLDPWD/$video" --no-realtime --no-audio --quiet
  "$OLDPWD/.wheel-venv/bin/python" -c "
import cv2, sys
cap = cv2.VideoCapture(sys.argv[1])
for _ in range(40): ok, frame = cap.read()
cv2.imwrite('photo.jpg', frame)" "$OLDPWD/$video"
  "$OLDPWD/.wheel-venv/bin/fer-audio" narrate photo.jpg --no-speak
  talk="$OLDPWD/../shared/datasets/realworld/natural/OpenTalker__WDA_BobMenendez_000.mp4"  # has sound
  "$OLDPWD/.wheel-venv/bin/fer-audio" live --source "$talk" --no-realtime --cue speech --wait-for-pause \
    --listen-to-source --audio-out talk.wav --quiet
  test -s talk.wav
elif [ "${CI:-}" = "true" ]; then
  echo "check-wheel: $video is missing (CI needs ../shared)" >&2; exit 1
fi
"$OLDPWD/.wheel-venv/bin/fer-audio" sounds preview --audio-out x.wav > /dev/null
test -s x.wav
echo "check-wheel: the installed wheel runs live, narrate and sounds preview"
