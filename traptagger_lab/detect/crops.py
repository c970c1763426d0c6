"""Square crops around detections (for review grids now, for the species classifier later)."""

from __future__ import annotations

from io import BytesIO

from PIL import Image


def square_crop(
    image: Image.Image, x: float, y: float, w: float, h: float, pad: float = 0.1
) -> Image.Image:
    """A square around a normalised box, padded by ``pad`` of its long side; black off-photo."""
    width, height = image.size
    side = max(w * width, h * height) * (1 + 2 * pad)
    cx, cy = (x + w / 2) * width, (y + h / 2) * height
    left, top = round(cx - side / 2), round(cy - side / 2)
    size = max(1, round(side))
    square = Image.new("RGB", (size, size))
    box = (max(0, left), max(0, top), min(width, left + size), min(height, top + size))
    if box[2] > box[0] and box[3] > box[1]:
        square.paste(image.crop(box), (box[0] - left, box[1] - top))
    return square


def crop_jpeg(picture: bytes, x: float, y: float, w: float, h: float, size: int = 160) -> bytes:
    """JPEG bytes of the square crop of a box in ``picture``, resized to ``size`` pixels."""
    with Image.open(BytesIO(picture)) as image:
        crop = square_crop(image.convert("RGB"), x, y, w, h).resize((size, size))
    buffer = BytesIO()
    crop.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()
