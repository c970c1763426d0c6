"""Model selection by AIC, as unmarked's fitList + modSel.

unmarked references: biodiverse/unmarked tests/testthat/test_modSel.R ("modSel method
works") and test_fitList.R ("fitList operations work"), commit 5db350f.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from traptagger_lab.results.colext import colext
from traptagger_lab.results.occupancy import occupancy
from traptagger_lab.results.selection import COLUMNS, model_selection, nagelkerke_r2

# test_modSel.R: y <- matrix(rep(1, 10), 5, 2); siteCovs x = -2:2; obsCovs z = -5:4
ONES = np.ones((5, 2))
X = np.arange(-2.0, 3.0)
Z = np.arange(-5.0, 5.0).reshape(5, 2)


def test_model_selection_table_like_modsel() -> None:
    # "modSel method works": fm1 <- occu(~ 1 ~ 1), fm2 <- occu(~ 1 ~ x); ms1 <- modSel(fits)
    fits = {"m1": occupancy(ONES, {"x": X}), "m2": occupancy(ONES, {"x": X}, state="~x")}
    table = model_selection(fits)
    assert list(table.columns) == COLUMNS
    assert table["AIC_weight"].sum() == pytest.approx(1)  # sum(ms1@Full$AICwt) == 1
    assert table["delta_AIC"].iloc[0] == 0  # ms1@Full$delta[1] == 0
    assert table["model"].iloc[0] == "m1"  # fewer parameters, same likelihood (1)
    assert list(table["K"]) == [2, 3]
    assert not table["converged"].any()  # every site detected twice: psi = p = 1
    # expect_error(modSel(fits, nullmod=fm2)): the null model is named
    with pytest.raises(ValueError, match="no model named 'm3'"):
        model_selection(fits, null="m3")


def test_models_fitted_to_other_data_are_refused_like_fitlist() -> None:
    # test_modSel.R, "fitLists can be constructed": obsCovs(umf)[3, 1] <- NA;
    # fm3 <- occu(~ z ~ 1) leaves an occasion out: expect_error(fitList(fm1, fm3))
    z = Z.copy()
    z[1, 0] = np.nan  # row 3 of the site-major obsCovs
    fits = {"m1": occupancy(ONES), "m3": occupancy(ONES, obs_covs={"z": z}, detection="~z")}
    with pytest.raises(ValueError, match=r"different data.*\[\['m1'\], \['m3'\]\]"):
        model_selection(fits)


def test_weights_and_r2_by_hand(shared_data: Path) -> None:
    y = pd.read_csv(shared_data / "unmarked/MesoCarnivores_bobcat.csv").to_numpy(dtype=float)
    covs = pd.read_csv(shared_data / "unmarked/MesoCarnivores_sitecovs.csv")
    covs["Dist_5km"] = (covs["Dist_5km"] - covs["Dist_5km"].mean()) / covs["Dist_5km"].std()
    # formulas are fitted first; a fit given as such is taken as it is
    table = model_selection(
        {
            "null": "~1 ~1",
            "trail": "~ Trail ~ 1",
            "both": {"state": "~ Dist_5km", "detection": "~ Trail"},
            "given": occupancy(y, covs, state="~ Dist_5km"),
        },
        y=y,
        site_covs=covs,
        null="null",
    )
    assert table["AIC"].is_monotonic_increasing
    aic = table.set_index("model")["AIC"]
    weights = np.exp(-(aic - aic.min()) / 2)
    assert table.set_index("model")["AIC_weight"].to_numpy() == pytest.approx(
        (weights / weights.sum()).to_numpy()
    )
    assert table["cumulative_weight"].iloc[-1] == pytest.approx(1)
    assert table.set_index("model").loc["trail", "formula"] == "~Trail ~1"
    row = table.set_index("model").loc["both"]
    assert row["K"] == 4 and row["converged"] and row["n_sites"] == 1437  # noqa: PT018
    null_ll = table.set_index("model").loc["null", "logLik"]
    assert table.set_index("model").loc["null", "R2"] == 0
    # unmarked's nagR2: (1 - exp((devI - devN) / n)) / (1 - exp(-devN / n))
    dev_i, dev_n = -2 * row["logLik"], -2 * null_ll
    assert row["R2"] == pytest.approx(
        (1 - np.exp((dev_i - dev_n) / 1437)) / (1 - np.exp(-dev_n / 1437))
    )
    assert nagelkerke_r2(null_ll, null_ll, 1437) == 0


def test_formulas_are_the_names_without_a_mapping() -> None:
    # test_fitList.R: fitList(fm, fm2, autoNames='formula') names them by formula
    table = model_selection(["~1 ~1", "~1 ~ x"], y=ONES, site_covs={"x": X})
    assert set(table["model"]) == {"~1 ~1", "~1 ~ x"}
    with pytest.raises(ValueError, match="named '~1 ~1'"):
        model_selection(["~1 ~1", "~1 ~1"], y=ONES)
    with pytest.raises(ValueError, match="give the detections as y"):
        model_selection(["~1 ~1"])
    with pytest.raises(ValueError, match=r"\['phi'\] are not formula keywords"):
        model_selection([{"phi": "~1"}], y=ONES)


def test_dynamic_models() -> None:
    rng = np.random.default_rng(7)
    seasons = [(rng.random((30, 3)) < 0.3).astype(float) for _ in range(3)]
    covs = {"forest": rng.normal(size=30)}
    table = model_selection(
        {
            "constant": {},
            "forest": {"psi": "~ forest", "gamma": "~ forest"},
        },
        y=seasons,
        site_covs=covs,
    )
    assert set(table["K"]) == {4, 6}
    given = colext(seasons, covs, psi="~ forest", gamma="~ forest")
    assert table.set_index("model").loc["forest", "logLik"] == pytest.approx(
        given["log_likelihood"]
    )
    assert table.set_index("model").loc["forest", "formula"] == "~ forest ~ forest ~1 ~1"
