"""``lab.results(survey)``: the analyses of a survey's settled labels (or of tasks, or of
several surveys), behind one set of filters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import pandas as pd

from traptagger_lab.annotate.settled import LabelsRef, Selection, selections
from traptagger_lab.deployments.effort import check_outside
from traptagger_lab.deployments.periods import within
from traptagger_lab.errors import NotFoundError
from traptagger_lab.results import activity, camtrap, sun
from traptagger_lab.results import records as reading
from traptagger_lab.results.colext import colext as fit_colext
from traptagger_lab.results.occupancy import occupancy
from traptagger_lab.results.selection import model_selection as rank_models
from traptagger_lab.surveys import find_survey, sites_frame

if TYPE_CHECKING:
    from traptagger_lab.workspace import Workspace

DateLike: TypeAlias = str | dt.date | dt.datetime | pd.Timestamp | None


class Results:
    """Analyses of settled labels: of a survey (its name: every labelling pass merged, the
    default), of a task (with the passes that build on it), or of several tasks and surveys
    combined (see :mod:`~traptagger_lab.annotate.settled`; ``people_only`` leaves the AI's
    auto-labels out).

    ``min_delta_minutes`` (camtrapR's minDeltaTime) decides which records are
    independent. Filters apply to every analysis: ``exclude`` or ``species``
    (only these), ``sites`` (station names), ``start``/``end`` (dates, inclusive).
    With several surveys, stations are named ``survey/station``.
    """

    def __init__(
        self,
        workspace: Workspace,
        task: LabelsRef | Selection,
        min_delta_minutes: float = 60,
        exclude: Sequence[str] = (),
        species: Sequence[str] = (),
        sites: Sequence[str] = (),
        start: DateLike = None,
        end: DateLike = None,
        people_only: bool = False,
        outside_deployments: str = "exclude",
    ) -> None:
        """``outside_deployments``: ``"exclude"`` (the default) leaves photos outside their
        deployment's dates (and, in a survey without deployments, a camera's far-off
        photos: see :mod:`~traptagger_lab.deployments.checks`) out of records and effort;
        ``"keep"`` keeps them."""
        self.outside_deployments = check_outside(outside_deployments)
        self.workspace = workspace
        with workspace.sessions() as session:
            self.selections: list[Selection] = selections(session, task, people_only)
        self.people_only = people_only
        self.min_delta_minutes = min_delta_minutes
        self.exclude = tuple(exclude)
        self.species = tuple(species)
        self.sites = tuple(sites)
        self.start = pd.Timestamp(start) if start is not None else None
        self.end = pd.Timestamp(end) + pd.Timedelta(days=1) if end is not None else None
        self._tables: dict[tuple[str, str], pd.DataFrame] = {}

    def __repr__(self) -> str:
        names = "; ".join(
            f"{s.survey}: " + ", ".join(p.name for p in s.passes) for s in self.selections
        )
        return f"Results({names}, min_delta_minutes={self.min_delta_minutes})"

    # -- the two inputs of everything: records and effort ------------------------------------

    def _station(self, chosen: Selection, names: pd.Series) -> pd.Series:
        if len(self.selections) == 1:
            return names
        return chosen.survey + "/" + names.astype(str)

    def _in_window(self, moments: pd.Series) -> pd.Series:
        keep = pd.Series(True, index=moments.index)
        if self.start is not None:
            keep &= moments >= self.start
        if self.end is not None:
            keep &= moments < self.end
        return keep

    @cached_property
    def records(self) -> pd.DataFrame:
        """Every record that passes the filters, before the independence filter: Station,
        Camera, Species, Individual, DateTimeOriginal, Directory, FileName; a sequence
        labelled as a whole is one record with ``DateTimeLast`` and ``Images`` (see
        :func:`~traptagger_lab.results.camtrap.species_records`)."""
        frames = []
        for chosen in self.selections:
            found = reading.species_records(self.workspace, chosen, self.exclude)
            found["Station"] = self._station(chosen, found["Station"])
            frames.append(found)
        records = pd.concat(frames, ignore_index=True)
        if self.species:
            records = records[records["Species"].isin(self.species)]
        if self.sites:
            records = records[records["Station"].isin(self.sites)]
        first = records["DateTimeOriginal"]
        last = records["DateTimeLast"].fillna(first) if "DateTimeLast" in records else first
        inside = self._in_window(first) & self._in_window(last)
        across = ~inside & (self._in_window(first) | self._in_window(last))
        if across.any():  # a sequence across the window's edge: its photos inside it count
            photos = self._photos(records.loc[across, "cluster_id"].tolist())
            photos = photos.merge(
                records.loc[across, ["cluster_id", "Station", "Camera", "Species", "Individual"]],
                on=["cluster_id", "Station", "Camera"],
            )
            records = pd.concat(
                [records[inside], photos[self._in_window(photos["DateTimeOriginal"])]],
                ignore_index=True,
            )
        else:
            records = records[inside]
        if self.outside_deployments == "exclude":  # see deployments.checks
            records = records[within(records, self.effort_inputs[0])]
        return records.reset_index(drop=True)

    def _photos(self, clusters: list[int]) -> pd.DataFrame:
        """The photos of these sequences (labelled as a whole), without species."""
        frames = []
        for chosen in self.selections:
            found = reading.sequence_photos(self.workspace, chosen, clusters)
            found["Station"] = self._station(chosen, found["Station"])
            frames.append(found)
        return pd.concat(frames, ignore_index=True)

    @cached_property
    def effort_inputs(self) -> tuple[pd.DataFrame, pd.DataFrame, str]:
        """(deployments, problems, source) behind :attr:`effort`, stations named as in the
        records (see :func:`~traptagger_lab.results.records.deployments`): source
        "deployments", "photos", or "mixed" when some surveys have deployments and some
        not."""
        frames = []
        for chosen in self.selections:
            deployments, problems = reading.deployments(
                self.workspace, chosen.survey_id, self.outside_deployments
            )
            frames.append((deployments.attrs["source"], deployments, problems))
            deployments["Station"] = self._station(chosen, deployments["Station"])
            problems["Station"] = self._station(chosen, problems["Station"])
        sources = {source for source, _, _ in frames}
        found = [d for _, d, _ in frames if not d.empty]
        lost = [p for _, _, p in frames if not p.empty]
        return (
            pd.concat(found, ignore_index=True) if found else frames[0][1],
            pd.concat(lost, ignore_index=True) if lost else frames[0][2],
            sources.pop() if len(sources) == 1 else "mixed",
        )

    @cached_property
    def effort(self) -> pd.DataFrame:
        """Stations x days effort of the filtered stations and dates (camera operation): from
        the surveys' deployments where they have them, else from each camera's photo days;
        ``attrs["effort_source"]`` says which ("deployments", "photos" or "mixed")."""
        deployments, problems, source = self.effort_inputs
        if self.sites:
            deployments = deployments[deployments["Station"].isin(self.sites)]
        matrix = camtrap.operation_matrix(deployments, problems)
        if not matrix.empty:
            days = pd.to_datetime(pd.Series(matrix.columns))
            matrix = matrix.loc[:, self._in_window(days).to_numpy()]
        matrix.attrs["effort_source"] = source
        return matrix

    # -- camtrapR tables ---------------------------------------------------------------------

    def record_table(self, compared_to: str = "last_record", by: str = "site") -> pd.DataFrame:
        """camtrapR's record table of independent records (worked out once per layout; every
        analysis below starts from it): delta.time.* and n_images as camtrapR's recordTable
        (see :func:`~traptagger_lab.results.camtrap.independent_records`)."""
        if (compared_to, by) not in self._tables:
            records = self.records.drop_duplicates(
                ["Station", "Camera", "Species", "Directory", "FileName"]
            ).drop(columns=["Individual", *(["Camera"] if by == "site" else [])])
            self._tables[compared_to, by] = camtrap.independent_records(
                records, self.min_delta_minutes, compared_to, by, expand=self._photos
            )
        return self._tables[compared_to, by].copy()

    def camera_operation(
        self,
        by: str = "station",
        cameras_independent: bool = False,
        all_cams_on: bool = False,
        occasion_start_time: int = 0,
    ) -> pd.DataFrame:
        """camtrapR's camera-operation matrix: stations (or cameras, ``by="camera"``) x days,
        effort in days (see :func:`~traptagger_lab.results.operation.operation_matrix` for
        ``cameras_independent``, ``all_cams_on`` and ``occasion_start_time``)."""
        if (by, cameras_independent, all_cams_on, occasion_start_time) == (
            "station",
            False,
            False,
            0,
        ):
            return self.effort
        deployments, problems, source = self.effort_inputs
        if self.sites:
            deployments = deployments[deployments["Station"].isin(self.sites)]
        matrix = camtrap.operation_matrix(
            deployments,
            problems,
            by=by,
            cameras_independent=cameras_independent,
            all_cams_on=all_cams_on,
            occasion_start_time=occasion_start_time,
        )
        if not matrix.empty:
            days = pd.to_datetime(pd.Series(matrix.columns))
            matrix = matrix.loc[:, self._in_window(days).to_numpy()]
        matrix.attrs["effort_source"] = source
        return matrix

    def trap_days(self) -> pd.Series:
        """Days of effort per station."""
        return self.effort.sum(axis=1, skipna=True).rename("trap_days")

    def detection_history(
        self,
        species: str,
        occasion_length: int = 7,
        *,
        day1: str = "station",
        include_effort: bool = False,
        scale_effort: bool = False,
        min_active_days: float | None = None,
        output: str = "binary",
        seasons: Sequence[tuple[DateLike, DateLike]] | None = None,
    ) -> Any:
        """camtrapR's detectionHistory of one species: stations x occasions, 1/0 (or counts,
        ``output="count"``), NaN where an occasion lacks effort; with ``include_effort`` a
        (history, effort) pair, ``scale_effort`` scaling that effort (see
        :func:`~traptagger_lab.results.history.history_matrix` for ``day1`` and
        ``min_active_days``). With ``seasons`` (date ranges, first and last day) a dict of
        one history (or pair) per season
        (:func:`~traptagger_lab.results.history.season_histories`)."""
        records = self.record_table()
        known = set(records["Species"])
        if species not in known:
            raise NotFoundError(f"no records of {species!r}; species recorded: {sorted(known)}")
        options: dict[str, Any] = {
            "day1": day1,
            "include_effort": include_effort,
            "min_active_days": min_active_days,
            "scale_effort": scale_effort,
            "output": output,
        }
        if seasons is not None:
            return camtrap.season_histories(
                records, self.effort, species, occasion_length, seasons=seasons, **options
            )
        return camtrap.history_matrix(records, self.effort, species, occasion_length, **options)

    def relative_abundance(self) -> pd.DataFrame:
        """Independent detections, trap days and RAI (per 100 camera-days) per station and
        species."""
        counts = self.record_table().groupby(["Station", "Species"]).size()
        table = counts.rename("detections").reset_index()
        table["trap_days"] = table["Station"].map(self.trap_days()).astype(float)
        table["rai"] = 100 * table["detections"] / table["trap_days"]
        return table

    def diversity(self) -> pd.DataFrame:
        """Richness, Shannon, Simpson, evenness per station and overall."""
        records = self.record_table()
        counts = records.groupby(["Station", "Species"]).size().unstack(fill_value=0)
        return camtrap.diversity_table(counts)

    def accumulation(self, permutations: int = 100, seed: Any = 0) -> pd.DataFrame:
        """Species accumulation curve over sampling days."""
        return camtrap.accumulation(self.record_table(), permutations, seed)

    def detections_over_time(self, freq: str = "W") -> pd.DataFrame:
        """Independent detections per period (``freq``: D, W, MS...) and species."""
        records = self.record_table()
        moments = pd.to_datetime(records["DateTimeOriginal"])
        return (
            records.groupby([moments.dt.to_period(freq).dt.start_time, "Species"])
            .size()
            .unstack(fill_value=0)
            .rename_axis("period")
        )

    # -- activity ----------------------------------------------------------------------------

    def times(self, species: str, clock: str = "clock") -> np.ndarray:
        """Times of day (radians) of the species' independent records: ``clock`` time or
        ``sun`` time (sunrise at pi/2, sunset at 3pi/2, from the sites' coordinates and the
        survey's ``utc_offset`` setting, else the longitude's time zone)."""
        table = self.record_table()
        table = table[table["Species"] == species]
        if clock == "clock":
            return _radians(table["DateTimeOriginal"])
        if clock != "sun":
            raise ValueError(f"clock={clock!r}: use 'clock' or 'sun'")
        places = self._places
        missing = sorted(set(table["Station"]) - set(places.index))
        if missing:
            raise NotFoundError(f"sun time needs coordinates of station(s) {missing}")
        rise = np.empty(len(table))
        set_ = np.empty(len(table))
        for station, rows in table.groupby("Station"):
            lat, lon, offset = places.loc[station]
            r, s = sun.sunrise_sunset(rows["DateTimeOriginal"], lat, lon, offset)
            where = table.index.get_indexer(rows.index)
            rise[where], set_[where] = r, s
        return sun.sun_time(_radians(table["DateTimeOriginal"]), rise, set_)

    @cached_property
    def _places(self) -> pd.DataFrame:
        """latitude, longitude, UTC offset (hours) per station with coordinates."""
        frames = []
        for chosen in self.selections:
            with self.workspace.sessions() as session:
                survey = find_survey(session, chosen.survey_id)
                sites = sites_frame(session, survey.id).dropna(subset=["latitude", "longitude"])
            setting = (survey.settings or {}).get("utc_offset")
            offsets = (sites["longitude"].astype(float) / 15).round()
            frames.append(
                pd.DataFrame(
                    {
                        "latitude": sites["latitude"].to_numpy(),
                        "longitude": sites["longitude"].to_numpy(),
                        "offset": _hours(setting) if setting else offsets.to_numpy(),
                    },
                    index=self._station(chosen, sites["site"]).to_numpy(),
                )
            )
        return pd.concat(frames)

    def activity(self, species: str, clock: str = "clock") -> pd.DataFrame:
        """The species' activity curve over the day (kernel density of its record times)."""
        return activity.activity_density(self.times(species, clock))

    def overlap(
        self, species_a: str, species_b: str, n_boot: int = 999, clock: str = "clock"
    ) -> dict[str, float]:
        """Overlap of two species' activity with a bootstrap CI of the recommended estimator
        (Dhat4 when both have 75 records or more, else Dhat1; Meredith & Ridout)."""
        a, b = self.times(species_a, clock), self.times(species_b, clock)
        estimator = "Dhat4" if min(len(a), len(b)) >= 75 else "Dhat1"
        result = activity.overlap(a, b)
        ci = activity.overlap_ci(a, b, estimator, n_boot=n_boot)
        return {**result, "estimator": estimator, "lower": ci["lower"], "upper": ci["upper"]}  # type: ignore[dict-item]

    # -- occupancy and individuals -----------------------------------------------------------

    def occupancy(
        self,
        species: str,
        occasion_length: int = 7,
        site_covs: pd.DataFrame | None = None,
        obs_covs: Mapping[str, Any] | None = None,
        **model: Any,
    ) -> dict[str, Any]:
        """Single-season occupancy of the species from its detection history.

        ``site_covs``: a DataFrame indexed by station (text, categorical and boolean
        columns are factors); ``obs_covs``: name -> stations x occasions; ``state`` and
        ``detection`` formulas as unmarked's ``occu``; ``settings``
        (:class:`~traptagger_lab.results.mle.FitSettings`) and ``conf`` passed on."""
        history = self.detection_history(species, occasion_length)
        return occupancy(history, site_covs, obs_covs, **model)

    def colext(
        self,
        species: str,
        seasons: Sequence[tuple[DateLike, DateLike]],
        occasion_length: int = 7,
        site_covs: pd.DataFrame | None = None,
        yearly_site_covs: Mapping[str, Any] | None = None,
        obs_covs: Mapping[str, Any] | None = None,
        effort_covariate: bool = False,
        **model: Any,
    ) -> dict[str, Any]:
        """Multi-season occupancy (MacKenzie et al. 2003: psi, colonisation gamma,
        extinction epsilon, detection p) from one detection history per season
        (``seasons``: first and last day of each). ``site_covs`` by station;
        ``yearly_site_covs``: name -> stations x seasons; ``obs_covs``: name -> per-season
        tables; ``effort_covariate`` adds each occasion's effort as the observation
        covariate ``effort``. Formulas ``psi``, ``gamma``, ``epsilon``, ``detection`` as
        unmarked's ``colext``."""
        histories: Any = self.detection_history(
            species, occasion_length, seasons=seasons, include_effort=effort_covariate
        )
        if effort_covariate:
            effort = {season: pair[1] for season, pair in histories.items()}
            obs_covs = {**(obs_covs or {}), "effort": effort}
            histories = {season: pair[0] for season, pair in histories.items()}
        return fit_colext(histories, site_covs, yearly_site_covs, obs_covs, **model)

    def model_selection(
        self,
        species: str,
        models: Mapping[str, Any] | Sequence[Any],
        occasion_length: int = 7,
        seasons: Sequence[tuple[DateLike, DateLike]] | None = None,
        null: str | None = None,
        **covariates: Any,
    ) -> pd.DataFrame:
        """AIC table (unmarked's ``modSel``) of models given as fits or formulas
        (``"~det ~state"`` strings or ``{"state": ..., "detection": ...}``; with
        ``seasons``, colext formulas ``{"psi", "gamma", "epsilon", "detection"}``);
        ``covariates``: site_covs, obs_covs, yearly_site_covs."""
        if seasons is None:
            y: Any = self.detection_history(species, occasion_length)
        else:
            y = self.detection_history(species, occasion_length, seasons=seasons)
        return rank_models(models, y=y, null=null, **covariates)

    def record_table_individual(
        self, species: str, compared_to: str = "last_record"
    ) -> pd.DataFrame:
        """camtrapR's recordTableIndividual: independent records per identified animal."""
        records = self.records
        records = records[(records["Species"] == species) & records["Individual"].notna()]
        if records.empty:
            raise NotFoundError(f"no identified individuals of {species!r}")
        return camtrap.independent_records(
            records.drop(columns="Camera"), self.min_delta_minutes, compared_to, per_individual=True
        )

    def capture_history(
        self, species: str, occasion_length: int = 1
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Individuals x occasions capture matrix and the secr-style capture table."""
        return camtrap.capture_history(
            self.record_table_individual(species), self.effort, occasion_length
        )

    def sites_summary(self) -> pd.DataFrame:
        """Per station: coordinates, trap days, independent detections and species (for maps)."""
        places = self._places
        records = self.record_table()
        table = pd.DataFrame({"trap_days": self.trap_days()})
        table["detections"] = records.groupby("Station").size()
        table["species"] = records.groupby("Station")["Species"].nunique()
        table = table.fillna({"detections": 0, "species": 0})
        table["rai"] = 100 * table["detections"] / table["trap_days"]
        return table.join(places[["latitude", "longitude"]], how="left").rename_axis("Station")


def _radians(moments: pd.Series) -> np.ndarray:
    moments = pd.to_datetime(moments)
    seconds = moments.dt.hour * 3600 + moments.dt.minute * 60 + moments.dt.second
    days: np.ndarray = seconds.to_numpy(dtype=float) / 86400
    return days * 2 * np.pi


def _hours(offset: str | float) -> float:
    """``+02:00`` (or a number of hours) as hours."""
    if isinstance(offset, int | float):
        return float(offset)
    sign = -1 if offset.startswith("-") else 1
    hours, _, minutes = offset.lstrip("+-").partition(":")
    return sign * (int(hours) + int(minutes or 0) / 60)


# -- one analysis at a time, for scripts ---------------------------------------------------


def record_table(
    workspace: Workspace,
    labels: LabelsRef,
    min_delta_minutes: float = 60,
    compared_to: str = "last_record",
    exclude: Sequence[str] = (),
    by: str = "site",
) -> pd.DataFrame:
    """camtrapR's record table for a task: independent records with camtrapR's columns."""
    return Results(workspace, labels, min_delta_minutes, exclude).record_table(compared_to, by)


def detection_history(
    workspace: Workspace,
    labels: LabelsRef,
    species: str,
    occasion_length: int = 7,
    day1: str = "station",
    min_delta_minutes: float = 0,
    include_effort: bool = False,
    **options: Any,
) -> Any:
    """camtrapR's detectionHistory for one species of a task: stations x occasions (other
    options as :meth:`Results.detection_history`)."""
    return Results(workspace, labels, min_delta_minutes).detection_history(
        species, occasion_length, day1=day1, include_effort=include_effort, **options
    )


def relative_abundance(
    workspace: Workspace, labels: LabelsRef, min_delta_minutes: float = 60
) -> pd.DataFrame:
    """Independent detections per station and species, trap days, and RAI
    (independent detections per 100 camera-days)."""
    return Results(workspace, labels, min_delta_minutes).relative_abundance()


def diversity(
    workspace: Workspace, labels: LabelsRef, min_delta_minutes: float = 60
) -> pd.DataFrame:
    """Richness, Shannon, Simpson and evenness per station and overall, from independent
    detections."""
    return Results(workspace, labels, min_delta_minutes).diversity()
