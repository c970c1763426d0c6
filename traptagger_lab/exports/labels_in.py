"""Store labels read from other tools on a survey's images, as annotations of a task.

Every label is kept per file, on a box: the file's box when the source gave
one (an ``active`` detection, usable for training), otherwise a whole-image
holder (status ``image_label``, never shown as a box or classified). The
annotation also names the file's cluster, so the cluster's settled labels are
the union of its files' labels and the cluster counts as done. Importing the
same source again replaces what it imported before; nothing else is touched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from traptagger_lab.annotate.labels import LabelDef, assign_hotkeys
from traptagger_lab.annotate.sightings import add_labelled_box
from traptagger_lab.annotate.tasks import store_labels
from traptagger_lab.db.engine import chunks
from traptagger_lab.db.models import (
    Annotation,
    Detection,
    Image,
    Individual,
    IndividualDetection,
    Label,
    TaskItem,
    Video,
    path_digest,
    utcnow,
)
from traptagger_lab.errors import InputFileError
from traptagger_lab.exports.readers import ImageLabel
from traptagger_lab.results.observations import IMAGE_LABEL


@dataclass
class LabelImport:
    """What an import stored, and what it could not."""

    task: str
    source: str
    images: int = 0
    labels: int = 0
    clusters: int = 0
    individuals: int = 0
    added_labels: list[str] = field(default_factory=list)
    unknown_files: list[str] = field(default_factory=list)
    problems: list[InputFileError] = field(default_factory=list)

    def __str__(self) -> str:
        text = (
            f"{self.labels} label(s) on {self.images} image(s) in {self.clusters} cluster(s) "
            f"of task {self.task!r}"
        )
        if self.added_labels:
            text += f"; new labels: {', '.join(self.added_labels)}"
        if self.unknown_files:
            text += f"; {len(self.unknown_files)} file(s) not in the survey"
        if self.problems:
            text += f"; {len(self.problems)} problem(s)"
        return text


def _match_images(
    session: Session, survey_id: int, paths: Sequence[str]
) -> dict[str, list[tuple[int, int | None]]]:
    """path -> [(image id, cluster id)] by the exact relative path (a video's path gives
    all its stills), else by the file name where one file of the survey has it (other
    tools keep paths from other roots)."""
    wanted = {path_digest(p): p for p in paths}
    found: dict[str, list[tuple[int, int | None]]] = defaultdict(list)
    for part in chunks(list(wanted)):
        for digest, image_id, cluster_id in session.execute(
            select(Image.path_hash, Image.id, Image.cluster_id).where(
                Image.survey_id == survey_id, Image.path_hash.in_(part)
            )
        ):
            found[wanted[digest]].append((image_id, cluster_id))
        for digest, image_id, cluster_id in session.execute(
            select(Video.path_hash, Image.id, Image.cluster_id)
            .join(Image, Image.video_id == Video.id)
            .where(Video.survey_id == survey_id, Video.path_hash.in_(part))
        ):
            found[wanted[digest]].append((image_id, cluster_id))
    loose = {p: p.rsplit("/", 1)[-1] for p in paths if p not in found}
    if loose:
        names = set(loose.values())
        by_name: dict[str, list[tuple[int, int | None]]] = defaultdict(list)
        for path, image_id, cluster_id in session.execute(
            select(Image.path, Image.id, Image.cluster_id).where(Image.survey_id == survey_id)
        ):
            name = path.rsplit("/", 1)[-1]
            if name in names:
                by_name[name].append((image_id, cluster_id))
        for path, name in loose.items():
            if len(by_name[name]) == 1:
                found[path] = by_name[name]
    return dict(found)


def _label_ids(
    session: Session, task_id: int, names: set[str], add: bool, report: LabelImport, origin: str
) -> dict[str, int]:
    """name (any case) -> label id; unknown names are added or refused, listed either way."""
    rows = session.execute(
        select(Label.id, Label.name, Label.hotkey, Label.is_tag).where(Label.task_id == task_id)
    ).all()
    known = {name.lower(): label_id for label_id, name, _, is_tag in rows if not is_tag}
    unknown = sorted(n for n in names if n.lower() not in known)
    if unknown and not add:
        raise InputFileError(
            origin,
            f"label(s) the task does not have: {unknown}; it has {sorted(known)} "
            "(pass add_labels=True / --add-labels to add them)",
        )
    if unknown:
        keys = assign_hotkeys(unknown, [k for _, _, k, _ in rows if k])
        added = store_labels(session, task_id, [LabelDef(n, None, keys[n]) for n in unknown])
        known.update((n.lower(), i) for n, i in added.items())
        report.added_labels = unknown
    return {n: known[n.lower()] for n in names}


def _forget_previous(session: Session, task_id: int, image_ids: list[int], source: str) -> None:
    """Retire what an earlier import from the same source stored on these images."""
    for part in chunks(image_ids):
        old = list(
            session.scalars(
                select(Detection.id).where(Detection.image_id.in_(part), Detection.source == source)
            )
        )
        for ids in chunks(old):
            session.execute(
                update(Annotation)
                .where(Annotation.task_id == task_id, Annotation.detection_id.in_(ids))
                .values(active=False)
            )
            session.execute(update(Detection).where(Detection.id.in_(ids)).values(status="deleted"))


def store_image_labels(
    session: Session,
    survey_id: int,
    task_id: int,
    rows: Sequence[ImageLabel],
    source: str,
    report: LabelImport,
    add_labels: bool,
) -> LabelImport:
    """Store ``rows`` as annotations of the task by ``source`` (e.g. ``import:folders``)."""
    images = _match_images(session, survey_id, sorted({r.path for r in rows}))
    report.unknown_files = sorted({r.path for r in rows if r.path not in images})
    usable = [r for r in rows if r.path in images]
    labels = _label_ids(
        session, task_id, {r.species for r in usable}, add_labels, report, report.source
    )
    hits = {image_id for r in usable for image_id, _ in images[r.path]}
    _forget_previous(session, task_id, sorted(hits), source)
    individuals = {
        (i.species.lower(), i.name): i.id
        for i in session.scalars(select(Individual).where(Individual.task_id == task_id))
    }
    now = utcnow()
    clusters: set[int] = set()
    for row, (image_id, cluster_id) in ((r, hit) for r in usable for hit in images[r.path]):
        detection_id = add_labelled_box(
            session,
            task_id,
            image_id,
            cluster_id,
            row.box or (0.0, 0.0, 1.0, 1.0),
            labels[row.species],
            source,
            source,
            now,
            status="active" if row.box else IMAGE_LABEL,
            count=row.count,
        )
        if row.individual:
            key = (row.species.lower(), row.individual)
            if key not in individuals:
                animal = Individual(task_id=task_id, species=row.species, name=row.individual)
                session.add(animal)
                session.flush()
                individuals[key] = animal.id
                report.individuals += 1
            session.add(
                IndividualDetection(individual_id=individuals[key], detection_id=detection_id)
            )
        if cluster_id is not None:
            clusters.add(cluster_id)
    for part in chunks(sorted(clusters)):
        session.execute(
            update(TaskItem)
            .where(TaskItem.task_id == task_id, TaskItem.cluster_id.in_(part))
            .values(done=TaskItem.required)
        )
    report.images = len(hits)
    report.labels = len(usable)
    report.clusters = len(clusters)
    return report
