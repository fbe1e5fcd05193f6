#!/usr/bin/env bash
# Installs the system libraries fer-audio needs, with apt where it exists.
#   espeak-ng            speech (pyttsx3's engine on Linux)
#   libportaudio2        audio output (sounddevice)
#   libgl1 libglib2.0-0  what opencv-python needs
#   pulseaudio pulseaudio-utils libasound2-plugins
#                        a sound server; the tests record what was played from a null sink
#   strace               the privacy test traces system calls (no network sockets)
set -euo pipefail
packages=(espeak-ng libportaudio2 libgl1 libglib2.0-0 pulseaudio pulseaudio-utils libasound2-plugins strace)
missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
else
  missing=("${packages[@]}")
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "fer-audio: no apt-get here; install these with your package manager, then run make again: ${missing[*]}" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "fer-audio: run as root or install sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "fer-audio: installing system packages: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
