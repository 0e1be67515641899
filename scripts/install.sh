#!/usr/bin/env bash
# Everything symile-bench needs on a fresh Debian machine, idempotent.
#   bash scripts/install.sh         what building and scoring need:
#     - Debian: espeak-ng (offline speech, 10 languages), ffmpeg (decoding datasets' Audio
#       feature), fonts-noto-color-emoji (default class images);
#     - the CPU build of torch 2.13.0 first, so nothing later pulls a multi-GB CUDA build;
#     - this package, editable, with the extras every command in the README needs (audio
#       decoding, gTTS, MIMIC's WFDB reader, plots, safetensors embeddings, the leaderboard,
#       the baselines); only `--executor ray` needs one more: pip install 'symile-bench[ray]'.
#   bash scripts/install.sh --dev   all of that plus what the tests need: Debian chromium (the
#     leaderboard's browser test, driven by Playwright; never `playwright install`), Debian
#     postgresql (the leaderboard tests also run on a real PostgreSQL: tests/pg_server.py
#     starts a private server from its binaries on a unix socket in a temp folder and stops
#     it; Debian's package rather than a server wheel from PyPI because it is the maintained
#     build a Debian operator runs, with security updates, and is already on this image) and
#     the dev extra (pytest, ruff, scipy, Ray, FastAPI stack, psycopg, playwright, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
dev=false
[ "${1:-}" = "--dev" ] && dev=true

need=()
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v ffmpeg >/dev/null || need+=(ffmpeg)
[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || need+=(fonts-noto-color-emoji)
if $dev; then
  command -v chromium >/dev/null || need+=(chromium)
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
fi
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

python3 -m pip install -q --disable-pip-version-check "torch==2.13.0"
if $dev; then
  python3 -m pip install -q --disable-pip-version-check -e ".[dev]"
else
  python3 -m pip install -q --disable-pip-version-check \
    -e ".[audio,gtts,mimic,plot,safetensors,leaderboard,baselines]"
fi
