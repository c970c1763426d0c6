"""Model formulas, covariates lined up by station, and design matrices as R builds them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from traptagger_lab.errors import NotFoundError
from traptagger_lab.results.formulas import (
    as_covariate,
    design,
    parse_formula,
    site_covariates,
    split_double_formula,
    station_covariates,
)


def test_formulas_are_read_as_r_reads_their_additive_part() -> None:
    formula = parse_formula("~ habitat + height + offset(area) + 1")
    assert (formula.terms, formula.offsets, formula.intercept) == (
        ("habitat", "height"),
        ("area",),
        True,
    )
    assert not parse_formula("~ 0 + x").intercept
    assert not parse_formula("~ x - 1").intercept
    assert parse_formula("~ x - 1").terms == ("x",)
    assert parse_formula("~1").terms == ()
    assert parse_formula("~ x + x").terms == ("x",)
    assert split_double_formula("~ o1 + o2 ~ x") == ("~o1 + o2", "~x")
    assert split_double_formula("~~") == ("~1", "~1")
    for bad in ("x + y", "~ x * y", "~ log(x)", "~ x - y", "~ x ~ y"):
        with pytest.raises(ValueError, match="formula"):
            parse_formula(bad)
    with pytest.raises(ValueError, match="'~ detection ~ state'"):
        split_double_formula("~ x")


def test_factors_are_coded_as_treatment_contrasts() -> None:
    """R: model.matrix(~ habitat + bait + height) names columns habitatgrass, baitTRUE."""
    covs = site_covariates(
        pd.DataFrame(
            {
                "habitat": ["grass", "forest", None, "scrub"],
                "bait": [True, False, True, True],
                "height": [1.0, 2.0, 3.0, np.nan],
            }
        ),
        4,
    )
    built = design(parse_formula("~ habitat + bait + height"), covs, (4,), "state")
    assert built.names == ("(Intercept)", "habitatgrass", "habitatscrub", "baitTRUE", "height")
    expected = [[1, 1, 0, 1, 1], [1, 0, 0, 0, 2], [1, np.nan, np.nan, 1, 3], [1, 0, 1, 1, np.nan]]
    np.testing.assert_array_equal(built.matrix, expected)
    assert list(built.missing) == [False, False, True, True]
    no_intercept = design(parse_formula("~ 0 + height"), covs, (4,), "state")
    assert no_intercept.names == ("height",)
    with pytest.raises(ValueError, match="must be numeric"):
        design(parse_formula("~ offset(habitat)"), covs, (4,), "state")


def test_covariate_kinds() -> None:
    assert as_covariate([1, 2], "x").levels is None
    assert as_covariate(np.array([1.0, None], dtype=object), "x").levels is None
    gappy = as_covariate(np.array([True, None], dtype=object), "x")
    assert gappy.levels == ("FALSE", "TRUE") and list(gappy.values) == [1, -1]  # noqa: PT018
    ordered = as_covariate(pd.Categorical(["b", "a", None], ["b", "a"]), "x")
    assert ordered.levels == ("b", "a") and list(ordered.missing) == [False, False, True]  # noqa: PT018
    with pytest.raises(ValueError, match="not supported"):
        as_covariate(pd.to_datetime(["2024-01-01"]).to_numpy(), "when")


def test_deployments_become_one_row_per_station() -> None:
    deployments = pd.DataFrame(
        {
            "Station": ["A", "A", "B", "C"],
            "Camera": ["A1", "A2", "B1", "C1"],
            "height": [0.5, 1.0, 0.8, np.nan],
            "habitat": ["forest", "forest", "grass", None],
            "bait": [True, True, False, None],
        }
    )
    table = station_covariates(deployments, ["height", "habitat", "bait"])
    assert list(table.index) == ["A", "B", "C"] and table.index.name == "Station"  # noqa: PT018
    assert list(table["height"].iloc[:2]) == [0.75, 0.8]
    assert list(table["habitat"].iloc[:2]) == ["forest", "grass"]
    assert pd.isna(table.loc["C", "habitat"])
    covs = site_covariates(table, 3, ["C", "A", "B"])
    assert list(covs["bait"].values) == [-1, 1, 0]
    with pytest.raises(ValueError, match=r"station 'A' has different values of 'Camera'"):
        station_covariates(deployments)
    with pytest.raises(NotFoundError, match=r"no column\(s\) \['feature'\]"):
        station_covariates(deployments, ["feature"])
    by_index = station_covariates(deployments.set_index("Station"), ["height"])
    assert list(by_index["height"].iloc[:2]) == [0.75, 0.8]
