#!/usr/bin/env bash
# Debian packages the test-suite uses: Chromium for the browser tests (never a downloaded browser).
# Safe to run again; does nothing when everything is there or when not root (tests then skip).
set -u
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-packages: chromium missing and cannot apt-get; browser tests will skip" >&2
  exit 0
fi
echo "install-system-packages: installing Debian's chromium"
apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends chromium >/dev/null
exit 0
