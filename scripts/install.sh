#!/usr/bin/env bash
# Everything symile-bench needs on a fresh Debian machine, idempotent:
#   - Debian packages: espeak-ng (offline speech, 10 languages), ffmpeg (audio decoding for
#     datasets' Audio feature), fonts-noto-color-emoji (default class images);
#   - the CPU build of torch 2.13.0 first, so nothing later pulls a multi-GB CUDA build;
#   - this package in editable mode with its dev extras (pytest, ruff, scipy, torchcodec, wfdb).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v ffmpeg >/dev/null || need+=(ffmpeg)
[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || need+=(fonts-noto-color-emoji)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

python3 -m pip install -q --disable-pip-version-check "torch==2.13.0"
python3 -m pip install -q --disable-pip-version-check -e ".[dev]"
