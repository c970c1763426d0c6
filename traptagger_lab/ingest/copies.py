"""The derived copies ingest stores of each image (a compressed copy and a thumbnail), read
back from the blob store by image id."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from traptagger_lab.db.models import Image
from traptagger_lab.errors import NotFoundError

if TYPE_CHECKING:
    from traptagger_lab.workspace import Workspace


def copy_key(session: Session, image_id: int, size: str = "thumbnail") -> str:
    """The blob key of an image's ``thumbnail`` or ``compressed`` copy.

    Raises:
        NotFoundError: if there is no such image, or it has no such copy.
    """
    image = session.get(Image, image_id)
    if image is None:
        raise NotFoundError(f"no image with id {image_id}")
    key = image.thumbnail_key if size == "thumbnail" else image.compressed_key
    if key is None:
        raise NotFoundError(f"image {image_id} has no {size} copy")
    return key


def read_copy(workspace: Workspace, image_id: int, size: str = "thumbnail") -> bytes:
    """The JPEG bytes of an image's ``thumbnail`` or ``compressed`` copy (see
    :func:`copy_key`)."""
    with workspace.sessions() as session:
        key = copy_key(session, image_id, size)
    return workspace.store.get(key)
