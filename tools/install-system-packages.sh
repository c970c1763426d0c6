#!/usr/bin/env bash
# Debian packages the project uses: Chromium for the browser tests (never a downloaded browser),
# Node.js/npm for JupyterHub's configurable-http-proxy, tesseract-ocr (with its English data)
# for reading the date/time strip printed on photos, and the DejaVu fonts the generated
# strips are drawn in.
# Safe to run again; does nothing when everything is there or when not root (tests then skip).
set -u
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf ] || missing+=(fonts-dejavu-core)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-packages: ${missing[*]} missing and cannot apt-get; their tests will skip" >&2
  exit 0
fi
echo "install-system-packages: installing Debian's ${missing[*]}"
apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
exit 0
