"""Camtrap DP 1.0.2 (tdwg/camtrap-dp): deployments, media and observations of a task.

A deployment is one camera at one site between setup and retrieval (the survey's
deployments, or the camera's photo span where it has none); media are
the photos (a video is one media file); observations come at both levels:
``media`` (one per labelled box or file) and ``event`` (one per cluster and
species, with the largest count in one image). Camera times are local, so
every timestamp carries the survey's UTC offset. Labels are common names;
``taxa`` maps them to scientific names (unmapped names are written as they
are, and listed in the package's taxonomic coverage as such).
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import re
import uuid
from collections.abc import Mapping
from typing import Any

import pandas as pd

from traptagger_lab.deployments.camtrap_dp import comments
from traptagger_lab.deployments.dates import Moment
from traptagger_lab.deployments.rows import ProblemRow
from traptagger_lab.errors import ConfigurationError
from traptagger_lab.exports.safe_names import file_of

VERSION = "1.0.2"
BASE = f"https://raw.githubusercontent.com/tdwg/camtrap-dp/{VERSION}"
PROFILE = f"{BASE}/camtrap-dp-profile.json"
TABLES = ("deployments", "media", "observations")
#: Every table's fields, in the order of the 1.0.2 table schemas (CSV columns must match).
FIELDS = {
    "deployments": (
        "deploymentID", "locationID", "locationName", "latitude", "longitude",
        "coordinateUncertainty", "deploymentStart", "deploymentEnd", "setupBy", "cameraID",
        "cameraModel", "cameraDelay", "cameraHeight", "cameraDepth", "cameraTilt",
        "cameraHeading", "detectionDistance", "timestampIssues", "baitUse", "featureType",
        "habitat", "deploymentGroups", "deploymentTags", "deploymentComments",
    ),
    "media": (
        "mediaID", "deploymentID", "captureMethod", "timestamp", "filePath", "filePublic",
        "fileName", "fileMediatype", "exifData", "favorite", "mediaComments",
    ),
    "observations": (
        "observationID", "deploymentID", "mediaID", "eventID", "eventStart", "eventEnd",
        "observationLevel", "observationType", "cameraSetupType", "scientificName", "count",
        "lifeStage", "sex", "behavior", "individualID", "individualPositionRadius",
        "individualPositionAngle", "individualSpeed", "bboxX", "bboxY", "bboxWidth",
        "bboxHeight", "classificationMethod", "classifiedBy", "classificationTimestamp",
        "classificationProbability", "observationTags", "observationComments",
    ),
}  # fmt: skip
#: observationType of our built-in labels (species are "animal").
TYPES = {"nothing": "blank", "human": "human", "vehicle": "vehicle", "unknown": "unknown"}
_OFFSET = re.compile(r"^[+-]\d{2}:\d{2}$")


def _stamp(moment: Any, offset: str) -> str | None:
    if moment is None or pd.isna(moment):
        return None
    stamp: str = pd.Timestamp(moment).strftime("%Y-%m-%dT%H:%M:%S")
    return stamp + offset


#: The observations' columns that say who settled a label (see results.observations).
PROVENANCE = ("by_machine", "classified_by", "classified_at")


def _utc(moment: Any) -> str | None:
    """A UTC time (as the database stores annotation times) in ISO 8601 with ``Z``."""
    if moment is None or pd.isna(moment):
        return None
    stamp: str = pd.Timestamp(moment).strftime("%Y-%m-%dT%H:%M:%SZ")
    return stamp


def _method(by_machine: Any) -> str:
    """Camtrap DP's classificationMethod of a settled label: the AI's rule or a person."""
    return "machine" if by_machine is True else "human"


def _media_type(path: str) -> str:
    return mimetypes.guess_type(path)[0] or "application/octet-stream"


def _bait(value: Any) -> bool | None:
    """Camtrap DP's baitUse (a boolean) of our free-text bait: none, no, false... is False."""
    if value is None or pd.isna(value) or str(value).strip() == "":
        return None
    return str(value).strip().lower() not in ("false", "no", "none", "0", "n", "f")


def _moment(when: Any, known: Any, end: bool) -> Moment:
    """A deployment's setup or retrieval; a date alone is written as the start (00:00) or the
    end (23:59:59) of its day, so that every photo of that day lies inside."""
    moment = pd.Timestamp(when).to_pydatetime()
    if bool(known):
        return Moment(moment)
    day = dt.datetime.combine(moment.date(), dt.time(23, 59, 59) if end else dt.time())
    return Moment(day, False)


def _problems(table: pd.DataFrame) -> tuple[ProblemRow, ...]:
    return tuple(
        ProblemRow(
            Moment(pd.Timestamp(p.start).to_pydatetime(), bool(p.start_time_known)),
            Moment(pd.Timestamp(p.end).to_pydatetime(), bool(p.end_time_known)),
            str(p.reason or ""),
        )
        for p in table.itertuples()
    )


def deployments_table(deployments: pd.DataFrame, sites: pd.DataFrame, offset: str) -> pd.DataFrame:
    """One Camtrap DP deployment per camera and period (the rows of
    :func:`~traptagger_lab.deployments.per_camera.camera_deployments`): real setup and
    retrieval from the survey's deployments, or the camera's photo span where the survey has
    none; coordinates of the deployment, else of its site. A date without a time is written
    as the whole day and noted in ``deploymentComments`` with the problem periods, which
    Camtrap DP has no field for (our import reads them back).

    Raises:
        ConfigurationError: if a deployment has no coordinates, nor its site.
    """
    located = sites.set_index("site")
    latitude = (
        deployments["latitude"]
        .astype(float)
        .fillna(deployments["Station"].map(located["latitude"]).astype(float))
    )
    longitude = (
        deployments["longitude"]
        .astype(float)
        .fillna(deployments["Station"].map(located["longitude"]).astype(float))
    )
    missing = sorted(set(deployments.loc[latitude.isna() | longitude.isna(), "Station"]))
    if missing:
        raise ConfigurationError(
            f"Camtrap DP needs coordinates for every site; missing for {missing} "
            "(set them with lab.import_site_coordinates or import deployments with them)"
        )
    setups = [
        _moment(w, k, end=False)
        for w, k in zip(deployments["setup"], deployments["setup_time_known"], strict=True)
    ]
    retrievals = [
        _moment(w, k, end=True)
        for w, k in zip(deployments["retrieval"], deployments["retrieval_time_known"], strict=True)
    ]
    problems = [_problems(p) for p in deployments["problems"]]
    return pd.DataFrame(
        {
            "deploymentID": deployments["deploymentID"],
            "locationID": deployments["Station"],
            "locationName": deployments["Station"],
            "latitude": latitude,
            "longitude": longitude,
            "deploymentStart": [_stamp(m.when, offset) for m in setups],
            "deploymentEnd": [_stamp(m.when, offset) for m in retrievals],
            "cameraID": deployments["Camera"],
            "cameraHeight": deployments["camera_height"],
            "timestampIssues": False,
            "baitUse": [_bait(b) for b in deployments["bait"]],
            "featureType": deployments["feature_type"],
            "habitat": deployments["habitat"],
            "deploymentComments": [
                comments(s, r, p) for s, r, p in zip(setups, retrievals, problems, strict=True)
            ],
        }
    ).reindex(columns=FIELDS["deployments"])


def media_table(images: pd.DataFrame, offset: str) -> pd.DataFrame:
    """One row per photo or video (a video's stills are one media file, at its first still)."""
    files = images.dropna(subset=["timestamp"])
    files = files.assign(file=files["path"].map(file_of))
    files = files.sort_values(["file", "timestamp"]).drop_duplicates("file")
    return pd.DataFrame(
        {
            "mediaID": files["image_id"].astype(str),
            "deploymentID": files["site"] + "/" + files["camera"],
            "captureMethod": "activityDetection",
            "timestamp": [_stamp(m, offset) for m in files["timestamp"]],
            "filePath": files["file"],
            "filePublic": False,
            "fileName": files["file"].str.rsplit("/", n=1).str[-1],
            "fileMediatype": [_media_type(f) for f in files["file"]],
        }
    ).reindex(columns=FIELDS["media"])


def observations_table(
    seen: pd.DataFrame,
    media: pd.DataFrame,
    offset: str,
    taxa: Mapping[str, str],
) -> pd.DataFrame:
    """Media-level and event-level observations (see the module doc)."""
    media_of = dict(zip(media["filePath"], media["mediaID"], strict=True))
    seen = seen.dropna(subset=["timestamp"])
    seen = seen.assign(file=seen["path"].map(file_of))
    seen = seen[~seen["species"].str.lower().eq("knocked down")]
    for column in PROVENANCE:
        if column not in seen:
            seen = seen.assign(**{column: None})  # observations made without provenance
    kinds = seen["species"].str.lower().map(TYPES).fillna("animal")
    names = [
        None if k != "animal" else taxa.get(s, s)
        for s, k in zip(seen["species"], kinds, strict=True)
    ]
    deployment = seen["site"] + "/" + seen["camera"]
    box = {c: seen[c].where(seen["x"].notna()) for c in ("x", "y", "w", "h")}
    event = seen["cluster_id"].map(lambda c: None if pd.isna(c) else str(int(c)))
    rows = pd.DataFrame(
        {
            "observationID": [f"{i}_{n}" for n, i in enumerate(seen["image_id"])],
            "deploymentID": deployment,
            "mediaID": seen["file"].map(media_of),
            "eventID": event,
            "eventStart": [_stamp(m, offset) for m in seen["timestamp"]],
            "eventEnd": [_stamp(m, offset) for m in seen["timestamp"]],
            "observationLevel": "media",
            "observationType": kinds,
            "scientificName": names,
            "count": [
                None if k == "blank" else c for k, c in zip(kinds, seen["count"], strict=True)
            ],
            "individualID": seen["individual"],
            "bboxX": box["x"].round(4),
            "bboxY": box["y"].round(4),
            "bboxWidth": box["w"].round(4),
            "bboxHeight": box["h"].round(4),
            "classificationMethod": [_method(m) for m in seen["by_machine"]],
            "classifiedBy": seen["classified_by"],
            "classificationTimestamp": [_utc(m) for m in seen["classified_at"]],
        }
    )
    rows = rows.drop_duplicates(["mediaID", "observationType", "scientificName", "bboxX", "bboxY"])
    events = seen.dropna(subset=["cluster_id"]).assign(
        kind=kinds, name=names, deployment=deployment
    )
    per_image = events.groupby(["cluster_id", "species", "image_id"])["count"].sum()
    grouped = events.groupby(["cluster_id", "species"])
    summary = grouped.agg(
        deploymentID=("deployment", "first"),
        eventStart=("timestamp", "min"),
        eventEnd=("timestamp", "max"),
        observationType=("kind", "first"),
        scientificName=("name", "first"),
        by_machine=("by_machine", "first"),
        classified_by=("classified_by", "first"),
        classified_at=("classified_at", "first"),
    ).reset_index()
    summary["count"] = per_image.groupby(["cluster_id", "species"]).max().to_numpy()
    event_rows = pd.DataFrame(
        {
            "observationID": [f"e{int(c)}_{n}" for n, c in enumerate(summary["cluster_id"])],
            "deploymentID": summary["deploymentID"],
            "mediaID": None,
            "eventID": summary["cluster_id"].astype(int).astype(str),
            "eventStart": [_stamp(m, offset) for m in summary["eventStart"]],
            "eventEnd": [_stamp(m, offset) for m in summary["eventEnd"]],
            "observationLevel": "event",
            "observationType": summary["observationType"],
            "scientificName": summary["scientificName"],
            "count": summary["count"].where(summary["observationType"] != "blank"),
            "classificationMethod": [_method(m) for m in summary["by_machine"]],
            "classifiedBy": summary["classified_by"],
            "classificationTimestamp": [_utc(m) for m in summary["classified_at"]],
        }
    )
    table = pd.concat([rows, event_rows], ignore_index=True)
    table["count"] = table["count"].astype("Int64")
    return table.reindex(columns=FIELDS["observations"])


def descriptor(
    survey: str,
    deployments: pd.DataFrame,
    observations: pd.DataFrame,
    taxa: Mapping[str, str],
    contributors: list[dict[str, str]] | None = None,
    **project: Any,
) -> dict[str, Any]:
    """The datapackage.json of a Camtrap DP package built from the three tables."""
    latitudes, longitudes = (
        deployments["latitude"].astype(float),
        deployments["longitude"].astype(float),
    )
    west, east, south, north = longitudes.min(), longitudes.max(), latitudes.min(), latitudes.max()
    common = {v: k for k, v in taxa.items()}
    animals = sorted(set(observations["scientificName"].dropna()))
    slug = re.sub(r"[^a-z0-9._-]+", "-", survey.lower()).strip("-") or "survey"
    return {
        "profile": PROFILE,
        "name": slug,
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"traptagger-lab:{survey}")),
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "title": survey,
        "contributors": contributors or [{"title": "TrapTagger Lab user", "role": "contact"}],
        "project": {
            "title": project.get("title", survey),
            "samplingDesign": project.get("sampling_design", "opportunistic"),
            "captureMethod": ["activityDetection"],
            "individualAnimals": bool(observations["individualID"].notna().any()),
            "observationLevel": ["media", "event"],
        },
        "spatial": {
            "type": "Polygon",
            "coordinates": [
                [[west, south], [east, south], [east, north], [west, north], [west, south]]
            ],
        },
        "temporal": {
            "start": str(deployments["deploymentStart"].min())[:10],
            "end": str(deployments["deploymentEnd"].max())[:10],
        },
        "taxonomic": [
            {"scientificName": name, "vernacularNames": {"eng": common.get(name, name)}}
            for name in animals
        ],
        "resources": [
            {
                "name": table,
                "path": f"{table}.csv",
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": f"{BASE}/{table}-table-schema.json",
            }
            for table in TABLES
        ],
    }


def check_offset(offset: str) -> str:
    """A UTC offset as Camtrap DP writes it (``+02:00``), or a clear error."""
    if not _OFFSET.match(offset):
        raise ConfigurationError(f"utc_offset {offset!r}: write it like +02:00 or -05:00")
    return offset
