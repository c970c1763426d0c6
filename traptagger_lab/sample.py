"""Generate a small, realistic-looking camera-trap survey for demos and self-contained tests.

The survey has the layout of a real one (``SITE/CAMERA/IMG_0001.JPG``), bursts
of 3-5 shots a second or two apart, empty triggers (wind, heat), night shots
in infrared grey, a burned-in data strip, EXIF DateTimeOriginal, Make, Model
and GPS, one short video, and the problem files that real surveys contain: a
zero-byte file, a truncated JPEG, a text file named ``.JPG``, a photo with no
EXIF, a duplicate with edited EXIF, and a photo outside any site folder.

``sample_truth.csv`` at the root lists what each generated photo shows (species,
count, and each animal's normalised ``[x, y, w, h]`` box), so later stages
(detection, annotation, results, classifier training) can be checked against it.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SPECIES = {
    # name: (body colour, size as a share of the frame width, has stripes)
    "impala": ((170, 110, 60), 0.16, False),
    "zebra": ((235, 235, 235), 0.2, True),
    "warthog": ((95, 80, 70), 0.12, False),
    "elephant": ((120, 118, 115), 0.34, False),
    "hyaena": ((150, 130, 95), 0.14, False),
}
MAKE, MODEL = "TrapTagger Lab", "SampleCam 2"


@dataclass(frozen=True)
class SampleSpec:
    """What to generate. The defaults make about 80 photos in a few seconds."""

    sites: tuple[tuple[str, tuple[str, ...]], ...] = (
        ("Site01", ("CamA", "CamB")),
        ("Site02", ("CamA",)),
        ("Site03", ("CamA",)),
    )
    bursts_per_camera: int = 6
    width: int = 1280
    height: int = 960
    start: dt.datetime = dt.datetime(2024, 3, 1, 6, 0, 0)
    seed: int = 7
    broken_files: bool = True
    video: bool = True


@dataclass
class SampleSurvey:
    """Where a sample survey was written and what a correct ingest must find in it."""

    root: Path
    photos: list[str] = field(default_factory=list)
    videos: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    without_timestamp: list[str] = field(default_factory=list)
    bursts: int = 0

    @property
    def expected_failures(self) -> Counter[str]:
        """How many files a correct ingest reports, by reason."""
        return Counter(self.failures.values())


def _exif(when: dt.datetime | None, latlon: tuple[float, float] | None, make: str = MAKE) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = make
    exif[0x0110] = MODEL
    if when is not None:
        stamp = when.strftime("%Y:%m:%d %H:%M:%S")
        exif[0x0132] = stamp
        exif.get_ifd(0x8769)[0x9003] = stamp
        exif.get_ifd(0x8769)[0x9004] = stamp
    if latlon is not None:
        lat, lon = latlon
        gps = exif.get_ifd(0x8825)
        gps[1] = "N" if lat >= 0 else "S"
        gps[2] = _dms(abs(lat))
        gps[3] = "E" if lon >= 0 else "W"
        gps[4] = _dms(abs(lon))
    return exif.tobytes()


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 4)
    return (float(degrees), float(minutes), seconds)


def _background(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A fixed scene for one camera: sky, horizon, grass texture, trees and rocks."""
    horizon = int(height * rng.uniform(0.3, 0.45))
    sky = np.linspace([150, 185, 215], [205, 220, 230], horizon)[:, None, :]
    ground_rows = height - horizon
    ground = np.linspace([135, 125, 80], [95, 85, 55], ground_rows)[:, None, :]
    pixels = np.concatenate(
        [np.repeat(sky, width, axis=1), np.repeat(ground, width, axis=1)], axis=0
    )
    pixels[horizon:] += rng.normal(0, 14, (ground_rows, width, 1))
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(2, 6))):
        x = int(rng.uniform(0, width))
        top = horizon - int(rng.uniform(0.05, 0.25) * height)
        draw.rectangle([x - 6, min(top + 40, horizon), x + 6, horizon + 10], fill=(70, 55, 40))
        radius = int(rng.uniform(0.05, 0.12) * width)
        green = (int(rng.integers(40, 80)), int(rng.integers(80, 120)), int(rng.integers(30, 60)))
        draw.ellipse([x - radius, top - radius // 2, x + radius, top + radius], fill=green)
    for _ in range(int(rng.integers(1, 4))):
        x, y = int(rng.uniform(0, width)), int(rng.uniform(horizon + 40, height - 40))
        r = int(rng.uniform(0.02, 0.05) * width)
        draw.ellipse([x - r, y - r // 2, x + r, y + r // 2], fill=(128, 124, 118))
    return image.filter(ImageFilter.GaussianBlur(1.2))


def _animal(
    draw: ImageDraw.ImageDraw, species: str, cx: float, cy: float, width: int, facing: int
) -> None:
    colour, share, stripes = SPECIES[species]
    body_w = share * width
    body_h = body_w * 0.5
    left, top = cx - body_w / 2, cy - body_h / 2
    leg = body_h * 0.9
    for offset in (0.15, 0.3, 0.7, 0.85):
        x = left + offset * body_w
        draw.rectangle([x - body_w * 0.03, cy, x + body_w * 0.03, cy + leg], fill=colour)
    draw.ellipse([left, top, left + body_w, top + body_h], fill=colour)
    head_x = left + body_w if facing > 0 else left
    draw.ellipse(
        [head_x - body_h * 0.35, top - body_h * 0.45, head_x + body_h * 0.35, top + body_h * 0.2],
        fill=colour,
    )
    if stripes:
        for i in range(1, 8):
            x = left + i * body_w / 8
            draw.line(
                [x, top + 4, x, top + body_h - 4], fill=(20, 20, 20), width=max(2, int(body_w / 40))
            )


def animal_box(
    species: str, cx: float, cy: float, facing: int, width: int, height: int
) -> tuple[float, float, float, float]:
    """The normalised ``(x, y, w, h)`` box around an animal :func:`_animal` draws (clipped)."""
    _, share, _ = SPECIES[species]
    body_w = share * width
    body_h = body_w * 0.5
    left, top = cx - body_w / 2, cy - body_h / 2
    head_x = left + body_w if facing > 0 else left
    x0 = max(0.0, min(left, head_x - body_h * 0.35))
    x1 = min(float(width), max(left + body_w, head_x + body_h * 0.35))
    y0 = max(0.0, top - body_h * 0.45)
    y1 = min(float(height), cy + body_h * 0.9)
    return (x0 / width, y0 / height, max(0.0, x1 - x0) / width, max(0.0, y1 - y0) / height)


def _data_strip(image: Image.Image, when: dt.datetime, camera: str) -> None:
    draw = ImageDraw.Draw(image)
    strip = max(16, image.height // 30)
    draw.rectangle([0, image.height - strip, image.width, image.height], fill=(0, 0, 0))
    text = f"{camera}  {when:%Y-%m-%d %H:%M:%S}  23C"
    draw.text((8, image.height - strip + 2), text, fill=(255, 255, 255))


def _is_night(when: dt.datetime) -> bool:
    """Whether the camera shoots in infrared grey at ``when``."""
    return when.hour < 6 or when.hour >= 19


def _photo(
    background: Image.Image,
    rng: np.random.Generator,
    animals: list[tuple[str, float, float, int]],
    when: dt.datetime,
    camera: str,
) -> Image.Image:
    image = background.copy()
    draw = ImageDraw.Draw(image)
    for species, cx, cy, facing in animals:
        _animal(draw, species, cx, cy, image.width, facing)
    if _is_night(when):
        grey = np.asarray(image.convert("L"), dtype=np.float32) * 0.55 + 20
        grey += rng.normal(0, 9, grey.shape)
        image = Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8)).convert("RGB")
    _data_strip(image, when, camera)
    return image


def _jpeg(image: Image.Image, exif: bytes | None, quality: int = 88) -> bytes:
    buffer = BytesIO()
    if exif is None:
        image.save(buffer, "JPEG", quality=quality)
    else:
        image.save(buffer, "JPEG", quality=quality, exif=exif)
    return buffer.getvalue()


def _write_video(path: Path, background: Image.Image, when: dt.datetime, seconds: int = 6) -> None:
    import av

    fps = 5
    size = (320, 240)
    with av.open(str(path), mode="w", format="mp4") as container:
        container.metadata["creation_time"] = when.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        base = background.resize(size)
        for index in range(seconds * fps):
            frame_image = base.copy()
            _animal(ImageDraw.Draw(frame_image), "warthog", 40 + index * 8, 170, size[0], 1)
            frame = av.VideoFrame.from_image(frame_image)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def make_sample_survey(root: str | Path, spec: SampleSpec | None = None) -> SampleSurvey:
    """Write a sample survey under ``root`` (created if needed) and describe it.

    Deterministic for a given ``spec`` (same seed, same files).
    """
    spec = spec or SampleSpec()
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(spec.seed)
    pyrng = random.Random(spec.seed)
    survey = SampleSurvey(root=root)
    truth: list[dict[str, object]] = []
    backgrounds: dict[str, Image.Image] = {}
    for site_index, (site, cameras) in enumerate(spec.sites):
        latlon = (-24.0 - site_index * 0.05, 31.5 + site_index * 0.04)
        for camera in cameras:
            folder = root / site / camera
            folder.mkdir(parents=True, exist_ok=True)
            background = _background(rng, spec.width, spec.height)
            backgrounds[f"{site}/{camera}"] = background
            when = spec.start + dt.timedelta(minutes=pyrng.randint(0, 180))
            number = 1
            for _burst in range(spec.bursts_per_camera):
                when += dt.timedelta(seconds=round(pyrng.uniform(2, 14) * 3600))
                shots = pyrng.randint(3, 5)
                empty = pyrng.random() < 0.25
                species = pyrng.choice(sorted(SPECIES))
                herd = 0 if empty else pyrng.choice([1, 1, 1, 2, 3])
                positions = [
                    (pyrng.uniform(0.15, 0.85) * spec.width, pyrng.uniform(0.6, 0.8) * spec.height)
                    for _ in range(herd)
                ]
                facing = pyrng.choice([-1, 1])
                stamp = when
                for shot in range(shots):
                    if shot:
                        stamp += dt.timedelta(seconds=pyrng.choice([1, 1, 2]))
                    step = shot * 0.03 * spec.width * facing
                    animals = [(species, x + step, y, facing) for x, y in positions]
                    image = _photo(background, rng, animals, stamp, camera)
                    relative = f"{site}/{camera}/IMG_{number:04d}.JPG"
                    (root / relative).write_bytes(_jpeg(image, _exif(stamp, latlon)))
                    survey.photos.append(relative)
                    boxes = [
                        [round(v, 5) for v in animal_box(*a, spec.width, spec.height)]
                        for a in animals
                    ]
                    truth.append(
                        {
                            "path": relative,
                            "site": site,
                            "camera": camera,
                            "timestamp": stamp.isoformat(sep=" "),
                            "burst": survey.bursts,
                            "species": species if herd else "none",
                            "count": herd,
                            "boxes": json.dumps(boxes),
                        }
                    )
                    number += 1
                survey.bursts += 1
    if spec.broken_files:
        _add_problem_files(root, survey, rng, backgrounds, spec)
    if spec.video:
        relative = f"{spec.sites[-1][0]}/{spec.sites[-1][1][0]}/VID_0001.MP4"
        _write_video(
            root / relative,
            backgrounds[f"{spec.sites[-1][0]}/{spec.sites[-1][1][0]}"],
            spec.start + dt.timedelta(days=2, hours=3),
        )
        survey.videos.append(relative)
    _write_csv(
        root / "sample_truth.csv",
        ["path", "site", "camera", "timestamp", "burst", "species", "count", "boxes"],
        truth,
    )
    return survey


def _add_problem_files(
    root: Path,
    survey: SampleSurvey,
    rng: np.random.Generator,
    backgrounds: dict[str, Image.Image],
    spec: SampleSpec,
) -> None:
    site, cameras = spec.sites[0]
    folder = root / site / cameras[0]
    (folder / "IMG_9990.JPG").write_bytes(b"")
    survey.failures[f"{site}/{cameras[0]}/IMG_9990.JPG"] = "empty_file"
    first = (root / survey.photos[0]).read_bytes()
    (folder / "IMG_9991.JPG").write_bytes(first[: len(first) // 2])
    survey.failures[f"{site}/{cameras[0]}/IMG_9991.JPG"] = "truncated"
    (folder / "IMG_9992.JPG").write_text("this is a note, not a photo\n")
    survey.failures[f"{site}/{cameras[0]}/IMG_9992.JPG"] = "not_an_image"
    # The same photo again with edited EXIF (clock fixed, make changed): a duplicate.
    original = survey.photos[1]
    pixels_untouched = _replace_exif(
        (root / original).read_bytes(),
        _exif(spec.start + dt.timedelta(days=365), None, make="Edited"),
    )
    duplicate = f"{site}/{cameras[-1]}/IMG_9993.JPG"
    (root / duplicate).write_bytes(pixels_untouched)
    survey.failures[duplicate] = "duplicate"
    # A photo without any EXIF: kept, flagged as having no timestamp.
    no_exif = f"{spec.sites[1][0]}/{spec.sites[1][1][0]}/IMG_9994.JPG"
    background = backgrounds[f"{spec.sites[1][0]}/{spec.sites[1][1][0]}"]
    (root / no_exif).write_bytes(_jpeg(background, None))
    survey.photos.append(no_exif)
    survey.without_timestamp.append(no_exif)
    # A photo lying at the root, outside any site folder.
    (root / "stray_photo.jpg").write_bytes(
        _jpeg(background.resize((320, 240)), _exif(spec.start, None))
    )
    survey.failures["stray_photo.jpg"] = "no_site"
    # A thumbnail cache folder that ingest must ignore.
    hidden = folder / ".thumbnails"
    hidden.mkdir(exist_ok=True)
    (hidden / "IMG_0001.JPG").write_bytes(first)


def _replace_exif(jpeg: bytes, exif: bytes) -> bytes:
    """The same JPEG (byte-identical image data) with its APP1 EXIF segment replaced."""
    assert jpeg[:2] == b"\xff\xd8"
    pos = 2
    while jpeg[pos] == 0xFF and 0xE0 <= jpeg[pos + 1] <= 0xEF:
        length = int.from_bytes(jpeg[pos + 2 : pos + 4], "big")
        pos += 2 + length
    segment = b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif  # exif starts with "Exif\0\0"
    return b"\xff\xd8" + segment + jpeg[pos:]


def truth_labels(root: str | Path, path: str | Path | None = None) -> Path:
    """A LILA-style training CSV (full path, species, site, bbox: one row per animal) from a
    sample survey's ``sample_truth.csv``; written to ``path`` (default: beside it).

    Raises:
        FileNotFoundError: when ``root`` holds no ``sample_truth.csv``.
    """
    root = Path(root)
    target = Path(path) if path is not None else root / "sample_training_labels.csv"
    rows = [
        {
            "path": str(root.resolve() / row["path"]),
            "species": row["species"],
            "site": row["site"],
            "bbox": json.dumps(box),
        }
        for row in _truth_rows(root)
        for box in row["boxes"]
    ]
    return _write_csv(target, ["path", "species", "site", "bbox"], rows)


def _truth_rows(root: Path) -> list[dict[str, Any]]:
    """The rows of a sample survey's ``sample_truth.csv``, each animal box list parsed."""
    with (root / "sample_truth.csv").open() as handle:
        return [
            {**row, "boxes": json.loads(row.get("boxes") or "[]")} for row in csv.DictReader(handle)
        ]


def _write_csv(target: Path, fieldnames: list[str], rows: list[dict[str, Any]]) -> Path:
    with target.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)
    return target


#: What the sample's stand-in for a detector gets wrong, per generated photo.
MISS_RATE = 0.06  # an animal the "detector" does not box
FALSE_BOX_RATE = 0.1  # a box on a rock or bush where nothing is


def sample_detections(root: str | Path, path: str | Path | None = None, seed: int = 11) -> Path:
    """A MegaDetector batch-output JSON of a sample survey, made from where the generator drew
    each animal (not by a model): for machines that cannot get MegaDetector's weights.

    Like a real detector's output: the boxes are a little off (a few per cent), confidences
    spread from 0.35 to 0.98 (smaller animals and night shots lower), about 6% of the animals
    are missed and about 10% of the photos get a false box (mostly below the usual 0.2
    threshold, a few above it). Deterministic for a given ``seed``. Written to ``path``
    (default: ``sample_detections.json`` beside ``sample_truth.csv``).

    Raises:
        FileNotFoundError: when ``root`` holds no ``sample_truth.csv``.
    """
    from traptagger_lab.detect.mdjson import MdDetection, MdImage, to_json

    root = Path(root)
    target = Path(path) if path is not None else root / "sample_detections.json"
    rng = random.Random(seed)
    images = []
    for row in _truth_rows(root):
        night = _is_night(dt.datetime.fromisoformat(row["timestamp"]))
        found = []
        for x, y, w, h in row["boxes"]:
            if rng.random() < MISS_RATE:
                continue
            jitter = [rng.gauss(0, 0.01) for _ in range(4)]
            box = _clip_box(x + jitter[0], y + jitter[1], w * (1 + jitter[2]), h * (1 + jitter[3]))
            size_penalty = 0.15 if w * h < 0.01 else 0.0
            conf = rng.betavariate(8, 1.6) - size_penalty - (0.12 if night else 0.0)
            found.append(MdDetection("1", min(0.98, max(0.35, conf)), box))
        if rng.random() < FALSE_BOX_RATE:
            w, h = rng.uniform(0.03, 0.12), rng.uniform(0.03, 0.1)
            box = _clip_box(rng.uniform(0, 1 - w), rng.uniform(0.4, 0.95 - h), w, h)
            conf = rng.uniform(0.21, 0.45) if rng.random() < 0.3 else rng.uniform(0.05, 0.19)
            found.append(MdDetection("1", conf, box))
        found.sort(key=lambda d: -d.conf)
        images.append(MdImage(row["path"], tuple(found)))
    document = to_json(images, "sample generator (not a model)", {"typical": 0.2})
    document["info"]["comment"] = (
        "boxes drawn from the sample generator's own record of its animals, with noise, "
        "misses and false boxes: sample detections, not a model's"
    )
    target.write_text(json.dumps(document, indent=1))
    return target


def _clip_box(x: float, y: float, w: float, h: float) -> tuple[float, float, float, float]:
    x0, y0 = min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0)
    return (x0, y0, max(0.0, min(w, 1.0 - x0)), max(0.0, min(h, 1.0 - y0)))


def truth_label_table(
    root: str | Path, path: str | Path, sites: Collection[str] | None = None
) -> Path:
    """The sample's truth as a labels CSV for ``import-labels --from csv`` (path, species,
    count; species title-cased as the demo's task names them), for ``sites`` (default: all).
    Photos with no animal are labelled ``Nothing``.
    """
    root, target = Path(root), Path(path)
    rows = [
        {
            "path": row["path"],
            "species": "Nothing" if row["species"] == "none" else row["species"].title(),
            "count": row["count"],
        }
        for row in _truth_rows(root)
        if sites is None or row["site"] in sites
    ]
    return _write_csv(target, ["path", "species", "count"], rows)


# Printed date/time strips in the styles of real cameras (for OCR timestamp repair).

#: Fonts from Debian's fonts-dejavu-core, tried in order; PIL's bitmap font when none is there.
STRIP_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
)


@dataclass(frozen=True)
class StripStyle:
    """How a camera model prints its data strip: where, the date and time formats, and
    what is printed around them (temperature, moon glyph, counter, name)."""

    name: str
    edge: str  # "top" or "bottom"
    date: str  # strftime format of the date
    twelve_hour: bool
    seconds: bool = True
    before: str = ""  # printed left of the date and time
    after: str = ""  # printed right of them
    time_first: bool = False
    bar: tuple[int, int, int] = (0, 0, 0)
    ink: tuple[int, int, int] = (255, 255, 255)
    font: str = STRIP_FONTS[0]
    height: float = 0.045  # the bar's height as a share of the photo's


STRIP_STYLES = {
    style.name: style
    for style in (
        # HyperFire 1 / PC900: bottom bar, month first, 12 h, moon and temperatures.
        StripStyle("reconyx", "bottom", "%m/%d/%Y", True, before="RECONYX  M 1/3  ◐  75°F 24°C"),
        # HyperFire 2 / PC850: top bar, ISO date, 24 h (the Camtrap DP sample's photos).
        StripStyle("reconyx-top", "top", "%Y-%m-%d", False, after="M 1/10  ◑  2°C"),
        # Bushnell Trophy Cam: bottom bar, month first with dashes, 24 h, a sans font.
        StripStyle(
            "bushnell",
            "bottom",
            "%m-%d-%Y",
            False,
            before="72°F 22°C ●",
            after="TROPHY CAM",
            font=STRIP_FONTS[2],
        ),
        # Browning: bottom bar, month first, 12 h without seconds.
        StripStyle("browning", "bottom", "%m/%d/%Y", True, seconds=False, before="BROWNING 75°F ◑"),
        # Cuddeback: bottom, time before the date, month first, 12 h.
        StripStyle("cuddeback", "bottom", "%m/%d/%Y", True, time_first=True, after="CUDDEBACK"),
        # A European set-up: top bar, day first with dots, 24 h, grey bar.
        StripStyle(
            "dayfirst-top",
            "top",
            "%d.%m.%Y",
            False,
            after="15°C  CAM-07",
            bar=(40, 40, 40),
            font=STRIP_FONTS[1],
        ),
        # A light bar with dark text, day first with slashes, 12 h.
        StripStyle(
            "light-dayfirst",
            "bottom",
            "%d/%m/%Y",
            True,
            before="SITE 4",
            bar=(235, 235, 235),
            ink=(10, 10, 10),
        ),
    )
}


def strip_text(when: dt.datetime, style: StripStyle) -> str:
    """The line a camera of ``style`` prints for a photo taken at ``when``."""
    if style.twelve_hour:
        hour = when.hour % 12 or 12
        clock = f"{hour}:{when:%M}" + (f":{when:%S}" if style.seconds else "") + f" {when:%p}"
    else:
        clock = f"{when:%H:%M}" + (f":{when:%S}" if style.seconds else "")
    date = when.strftime(style.date)
    stamp = f"{clock}  {date}" if style.time_first else f"{date}  {clock}"
    return "   ".join(part for part in (style.before, stamp, style.after) if part)


def _strip_font(path: str, size: int) -> Any:
    """DejaVu at ``size`` (the style's own, else any of :data:`STRIP_FONTS`), else PIL's
    built-in font: scalable where PIL has FreeType, a small bitmap font where not."""
    from PIL import ImageFont

    for candidate in (path, *STRIP_FONTS):
        if Path(candidate).is_file():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default(size)


def draw_strip(image: Image.Image, when: dt.datetime, style: StripStyle | str) -> Image.Image:
    """A copy of ``image`` with a data strip printed as a camera of ``style`` prints it.

    The text is drawn in DejaVu (Debian's fonts-dejavu-core) when it is installed, else
    in PIL's own font (a bitmap font scaled up to the bar's height where PIL lacks FreeType).
    """
    from PIL import ImageFont

    style = STRIP_STYLES[style] if isinstance(style, str) else style
    picture = image.convert("RGB")
    bar = max(14, round(picture.height * style.height))
    top = 0 if style.edge == "top" else picture.height - bar
    draw = ImageDraw.Draw(picture)
    draw.rectangle([0, top, picture.width, top + bar - 1], fill=style.bar)
    text = strip_text(when, style)
    font = _strip_font(style.font, round(bar * 0.72))
    if isinstance(font, ImageFont.FreeTypeFont):
        draw.text((bar // 2, top + bar // 2), text, fill=style.ink, font=font, anchor="lm")
        return picture
    text = text.encode("ascii", "replace").decode()
    _left, _upper, right, lower = font.getbbox(text)
    small = Image.new("RGB", (int(right) + 4, int(lower) + 2), style.bar)
    ImageDraw.Draw(small).text((2, 1), text, fill=style.ink, font=font)
    scale = bar * 0.8 / small.height
    small = small.resize(
        (round(small.width * scale), round(small.height * scale)), Image.Resampling.NEAREST
    )
    picture.paste(small, (bar // 2, top + (bar - small.height) // 2))
    return picture


def strip_photo(
    when: dt.datetime,
    style: StripStyle | str,
    size: tuple[int, int] = (1280, 960),
    seed: int = 0,
    night: bool | None = None,
    shot: int = 0,
) -> Image.Image:
    """A generated scene (infrared grey at night) with ``style``'s strip printed on it.

    ``seed`` makes the scene (one per camera), ``shot`` the sensor noise (one per photo,
    so that two photos of a scene are never the same picture).
    """
    image = _background(np.random.default_rng(seed), *size)
    noise = np.random.default_rng((seed, shot))
    pixels = np.asarray(image, dtype=np.float64)
    if night if night is not None else _is_night(when):
        pixels = np.asarray(image.convert("L"), dtype=np.float64)[..., None] * 0.55 + 20
    pixels = pixels + noise.normal(0, 6, pixels.shape[:2])[..., None]
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8).squeeze()).convert("RGB")
    return draw_strip(image, when, style)


@dataclass(frozen=True)
class StripCamera:
    """One camera of a strip survey: its style and how far its EXIF clock is off.

    ``exif_offset_s`` is added to the true (printed) time to make the EXIF time; from
    ``jump_after`` photos on, ``jump_s`` more is added (a clock that jumped). Photos
    listed in ``without_exif`` (by index) get no EXIF at all.
    """

    site: str
    camera: str
    style: str
    exif_offset_s: float = 0.0
    jump_after: int | None = None
    jump_s: float = 0.0
    without_exif: tuple[int, ...] = ()
    #: The true times of its photos (default: generated, see :func:`make_strip_survey`).
    times: tuple[dt.datetime, ...] = ()


def make_strip_survey(
    root: str | Path,
    cameras: Collection[StripCamera],
    photos_per_camera: int = 8,
    start: dt.datetime = dt.datetime(2024, 3, 13, 5, 40, 7),
    size: tuple[int, int] = (1280, 960),
    seed: int = 3,
) -> list[dict[str, Any]]:
    """Write a survey of photos whose strips print the true time while their EXIF may be
    off (see :class:`StripCamera`); returns one row per photo (``path``, ``true_time``,
    ``exif_time`` or None) and writes them to ``strip_truth.csv`` under ``root``.

    Photos of a camera come in pairs a few seconds apart (two shots of one trigger), the
    pairs some hours apart, so that the days cross the 12th (day/month order settles).
    """
    root = Path(root)
    pyrng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for index, cam in enumerate(cameras):
        folder = root / cam.site / cam.camera
        folder.mkdir(parents=True, exist_ok=True)
        when = start + dt.timedelta(minutes=37 * index)
        for number in range(len(cam.times) or photos_per_camera):
            if cam.times:
                when = cam.times[number]
            elif number % 2 == 0:
                when += dt.timedelta(hours=pyrng.randint(9, 30), seconds=pyrng.randint(0, 3599))
            else:
                when += dt.timedelta(seconds=pyrng.randint(2, 5))
            shift = cam.exif_offset_s + (
                cam.jump_s if cam.jump_after is not None and number >= cam.jump_after else 0.0
            )
            exif_time = None if number in cam.without_exif else when + dt.timedelta(seconds=shift)
            picture = strip_photo(when, cam.style, size, seed=seed + index, shot=number)
            relative = f"{cam.site}/{cam.camera}/IMG_{number + 1:04d}.JPG"
            (root / relative).write_bytes(_jpeg(picture, _exif(exif_time, None)))
            rows.append({"path": relative, "true_time": when, "exif_time": exif_time})
    _write_csv(root / "strip_truth.csv", ["path", "true_time", "exif_time"], rows)
    return rows
