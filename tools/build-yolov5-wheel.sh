#!/usr/bin/env bash
# Build a local wheel of ultralytics-yolov5 0.1.1 (megadetector's YOLOv5 dependency).
#
# PyPI ships it only as an sdist whose setup.py downloads README.md from GitHub while it
# builds, which fails on machines that reach only the package registries. We fetch the
# same sdist from PyPI, read the README from the sdist instead, drop requirements its
# inference path does not use (protobuf<=3.20.1 clashes with tensorboard; fire, ipython,
# thop serve training/CLI), and build the wheel into wheels/. `pip install --find-links
# wheels megadetector` then resolves cleanly and `pip check` stays clean.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-"$here/.venv/bin/python"}
out="$here/wheels"
version=0.1.1
if ls "$out"/ultralytics_yolov5-$version-*.whl >/dev/null 2>&1; then exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" - "$work" "$version" <<'PY'
import hashlib, os, re, sys, tarfile, urllib.request
work, version = sys.argv[1], sys.argv[2]
index = urllib.request.urlopen("https://pypi.org/simple/ultralytics-yolov5/", timeout=60).read().decode()
url = next(u for u in re.findall(r'href="([^"]+)"', index) if f"ultralytics-yolov5-{version}.tar.gz" in u)
path = f"{work}/sdist.tar.gz"
urllib.request.urlretrieve(url.split("#")[0], path)
expected = url.split("#sha256=")[1]
with open(path, "rb") as handle:
    assert hashlib.sha256(handle.read()).hexdigest() == expected, "sdist hash mismatch"
with tarfile.open(path) as archive:
    root = os.path.realpath(work)
    for member in archive.getmembers():  # (Python before 3.11.4 has no extraction filter)
        target = os.path.realpath(os.path.join(work, member.name))
        if not target.startswith(root + os.sep) or not (member.isfile() or member.isdir()):
            sys.exit(f"refusing {member.name!r} in the sdist: not a plain file inside {work}")
    archive.extractall(work)
PY
src="$work/ultralytics-yolov5-$version"
sed -i "s|^README = request.urlopen(.*$|README = open('README.md', encoding='utf-8').read()|" "$src/setup.py"
grep -q "open('README.md'" "$src/setup.py"
grep -v -E '^(protobuf|fire|ipython|thop)' "$src/requirements.txt" > "$src/requirements.trimmed"
mv "$src/requirements.trimmed" "$src/requirements.txt"
mkdir -p "$out"
"$python" -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir "$out" "$src"
ls "$out"
