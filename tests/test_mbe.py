"""Tests of magnet.stats.mbe: agreement with pingouin, verdict rules, intervals, power."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from scipy import stats
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from magnet.stats.mbe import (
    MBEResult,
    classify_effect,
    fisher_ci,
    mbe_check,
    min_detectable_r,
    partial_correlation,
    partial_residuals,
)

VERDICTS = {"genuine", "loss-proxy", "inconclusive", "insufficient-data"}


def pingouin_partial(x, y, z, method):
    """pingouin.partial_corr on arrays; returns (r, p, ci) from its one-row frame."""
    z = np.asarray(z).reshape(len(x), -1)
    covar = [f"cv{j}" for j in range(z.shape[1])]
    frame = pd.DataFrame({"x": x, "y": y, **{c: z[:, j] for j, c in enumerate(covar)}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = pg.partial_corr(data=frame, x="x", y="y", covar=covar, method=method)
    p_col = "p_val" if "p_val" in out.columns else "p-val"
    ci_col = "CI95" if "CI95" in out.columns else "CI95%"
    return float(out["r"].iloc[0]), float(out[p_col].iloc[0]), np.asarray(out[ci_col].iloc[0], dtype=float)


def random_case(seed: int):
    """A random (x, y, z, method) case with 1-3 controls, varied n, scale and ties."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 250))
    k = int(rng.integers(1, 4))
    method = "spearman" if seed % 2 == 0 else "pearson"
    z = rng.normal(size=(n, k)) * rng.uniform(0.1, 100, size=k)
    x = z @ rng.normal(size=k) / z.std(axis=0).sum() + rng.normal(size=n)
    y = z @ rng.normal(size=k) / z.std(axis=0).sum() + rng.uniform(-1, 1) * x + rng.normal(size=n)
    if seed % 5 == 0:  # ties, as in accuracies over few instances
        x, y, z = np.round(x, 1), np.round(y, 1), np.round(z, 0)
    if seed % 7 == 0:
        x = 1e4 * x + 3e5
    return x, y, (z[:, 0] if k == 1 and seed % 3 == 0 else z), method


def ci_tolerance(ci: np.ndarray) -> float:
    """Tolerance for comparing with pingouin's CI, which it rounds (2 or 6 decimals by version)."""
    return 5e-3 + 1e-12 if np.allclose(ci, np.round(ci, 2), atol=1e-12, rtol=0) else 5e-7


# ------------------------------------------------------------ pingouin parity


def test_partial_correlation_matches_pingouin_on_200_random_cases():
    compared = 0
    for seed in range(200):
        x, y, z, method = random_case(seed)
        res = partial_correlation(x, y, z, method=method)
        r, p, ci = pingouin_partial(x, y, z, method)
        assert res.n == len(x)
        assert res.r == pytest.approx(r, abs=1e-8), (seed, method)
        assert res.p == pytest.approx(p, abs=1e-8), (seed, method)
        k = np.asarray(z).reshape(len(x), -1).shape[1]
        ours = fisher_ci(res.r, res.n, k)
        np.testing.assert_allclose(ours, ci, atol=ci_tolerance(ci), rtol=0)
        unrounded = pg.compute_esci(stat=res.r, nx=res.n - k, ny=res.n - k, eftype="r", decimals=12)
        np.testing.assert_allclose(ours, unrounded, atol=1e-10, rtol=0)
        compared += 1
    assert compared == 200


@pytest.mark.parametrize("method", ["spearman", "pearson"])
def test_mbe_check_matches_pingouin_with_named_dataframe_baseline(method):
    rng = np.random.default_rng(3)
    n = 60
    baseline = pd.DataFrame({"early_acc": rng.uniform(size=n), "early_loss": rng.gamma(2.0, size=n)})
    actual = baseline["early_acc"] - 0.2 * baseline["early_loss"] + rng.normal(0, 0.3, n)
    predicted = actual + rng.normal(0, 0.5, n)
    res = mbe_check(predicted, actual, baseline, method=method, n_boot=0)
    r, p, ci = pingouin_partial(predicted.to_numpy(), actual.to_numpy(), baseline.to_numpy(), method)
    assert res.controls == ("early_acc", "early_loss")
    assert res.k == 2 and res.n == n and res.n_dropped == 0
    assert res.partial_r == pytest.approx(r, abs=1e-8)
    assert res.partial_p == pytest.approx(p, abs=1e-8)
    np.testing.assert_allclose(res.ci95, ci, atol=ci_tolerance(ci), rtol=0)
    frame = res.to_frame()
    assert frame.index.tolist() == [method]
    assert frame["r"].iloc[0] == pytest.approx(r, abs=1e-8)
    assert frame["p-val"].iloc[0] == pytest.approx(p, abs=1e-8)


def test_raw_correlation_matches_scipy():
    from scipy import stats

    rng = np.random.default_rng(4)
    x, y, z = rng.normal(size=(3, 40))
    res_s = mbe_check(x, y, z, method="spearman", n_boot=0)
    res_p = mbe_check(x, y, z, method="pearson", n_boot=0)
    assert res_s.raw_r == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert res_s.raw_p == pytest.approx(stats.spearmanr(x, y).pvalue, abs=1e-12)
    assert res_p.raw_r == pytest.approx(stats.pearsonr(x, y).statistic, abs=1e-12)


def test_nan_rows_are_dropped_like_pingouin():
    rng = np.random.default_rng(5)
    x, y, z = rng.normal(size=(3, 50))
    x[[1, 7]] = np.nan
    z[10] = np.inf
    res = mbe_check(x, y, z, n_boot=0)
    keep = np.isfinite(x) & np.isfinite(z)
    r, p, _ = pingouin_partial(x[keep], y[keep], z[keep], "spearman")
    assert (res.n, res.n_dropped) == (47, 3)
    assert res.partial_r == pytest.approx(r, abs=1e-8)
    assert res.partial_p == pytest.approx(p, abs=1e-8)


def test_partial_residuals_correlate_to_partial_r():
    rng = np.random.default_rng(6)
    z = rng.normal(size=(40, 2))
    x = z.sum(axis=1) + rng.normal(size=40)
    y = z[:, 0] + 0.5 * x + rng.normal(size=40)
    x[3] = np.nan
    rx, ry = partial_residuals(x, y, z, method="spearman")
    assert rx.shape == (40,) and np.isnan(rx[3]) and np.isnan(ry[3])
    keep = ~np.isnan(rx)
    assert np.corrcoef(rx[keep], ry[keep])[0, 1] == pytest.approx(mbe_check(x, y, z, n_boot=0).partial_r, abs=1e-12)


# ------------------------------------------------------------------ verdicts


def weak_baseline_data(n=120, seed=0):
    """Actual values and a baseline only weakly related to them."""
    rng = np.random.default_rng(seed)
    actual = rng.uniform(0, 1, n)
    baseline = 0.3 * actual + rng.normal(0, 0.3, n)
    return rng, actual, baseline


def test_predictor_equal_to_baseline_is_loss_proxy_where_pingouin_fails():
    rng, actual, baseline = weak_baseline_data()
    frame = pd.DataFrame({"x": baseline, "y": actual, "z": baseline})
    for method in ("spearman", "pearson"):  # pingouin 0.7 (the pinned version) refuses the identical covariate
        with pytest.raises(ValueError, match="numerically identical"):
            pg.partial_corr(data=frame, x="x", y="y", covar=["z"], method=method)
    for method in ("spearman", "pearson"):
        res = mbe_check(baseline, actual, baseline, method=method)
        assert res.verdict == "loss-proxy"
        assert res.residual_variance_ratio < 1e-10
        assert (res.partial_r, res.partial_p) == (0.0, 1.0)
        assert "function of the baseline" in res.reason
        assert math.isnan(res.ci95[0]) and math.isnan(res.ci95_bootstrap[0])


def test_affine_copy_of_baseline_where_pingouin_returns_noise():
    """predicted = 2 * baseline + 1: pingouin answers from rounding noise; the verdict must not be 'genuine'."""
    _, actual, baseline = weak_baseline_data()
    predicted = 2 * baseline + 1
    frame = pd.DataFrame({"x": predicted, "y": actual, "z": baseline})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        noise = pg.partial_corr(data=frame, x="x", y="y", covar=["z"], method="pearson")
    assert np.isfinite(noise["r"].iloc[0])  # a number, though x carries nothing beyond z
    # Independently: least squares of x on [1, z] leaves no residual (numpy lstsq).
    design = np.column_stack([np.ones_like(baseline), baseline])
    resid = predicted - design @ np.linalg.lstsq(design, predicted, rcond=None)[0]
    expected_ratio = np.sum(resid**2) / np.sum((predicted - predicted.mean()) ** 2)
    assert expected_ratio < 1e-20
    res = mbe_check(predicted, actual, baseline, method="pearson", n_boot=0)
    assert (res.verdict, res.partial_r, res.partial_p) == ("loss-proxy", 0.0, 1.0)
    assert res.residual_variance_ratio == pytest.approx(expected_ratio, abs=1e-15)
    # Just off the degenerate case pingouin and mbe_check agree again (the convention is only for exact copies).
    off = predicted + rng_normal(len(predicted), 0.05)
    frame["x"] = off
    r = pg.partial_corr(data=frame, x="x", y="y", covar=["z"], method="pearson")["r"].iloc[0]
    assert mbe_check(off, actual, baseline, method="pearson", n_boot=0).partial_r == pytest.approx(r, abs=1e-8)


def rng_normal(n, sd, seed=11):
    return np.random.default_rng(seed).normal(0, sd, n)


def test_monotone_transform_of_baseline_is_loss_proxy_under_spearman():
    rng, actual, baseline = weak_baseline_data()
    res = mbe_check(np.exp(3 * baseline), actual, baseline, method="spearman")
    assert res.verdict == "loss-proxy"
    assert res.residual_variance_ratio < 1e-10
    assert "ranks" in res.reason and "function of the baseline" in res.reason
    early_loss = rng.gamma(2.0, size=len(actual))
    two = np.column_stack([baseline, early_loss])
    res2 = mbe_check(-np.log(early_loss), actual, two, method="spearman", n_boot=0)
    assert res2.verdict == "loss-proxy" and res2.k == 2


def test_linear_combination_of_baselines_is_loss_proxy_under_pearson():
    rng, actual, baseline = weak_baseline_data()
    loss = rng.normal(size=len(actual))
    res = mbe_check(2 * baseline - 0.5 * loss + 1, actual, np.column_stack([baseline, loss]), method="pearson")
    assert res.verdict == "loss-proxy" and res.residual_variance_ratio < 1e-10


def test_constant_inputs_are_insufficient_data():
    rng, actual, baseline = weak_baseline_data(n=30)
    res = mbe_check(np.full(30, 0.5), actual, baseline)
    assert res.verdict == "insufficient-data" and "predicted is constant" in res.reason
    assert math.isnan(res.partial_r) and res.effect_class == "insufficient-data"
    assert "actual is constant" in mbe_check(actual, np.ones(30), baseline).reason
    two = np.column_stack([baseline, np.zeros(30)])
    assert "baseline column 'baseline_1' is constant" in mbe_check(actual, actual, two).reason


def test_four_rows_are_insufficient_data():
    res = mbe_check([0.1, 0.4, 0.3, 0.9], [0.2, 0.5, 0.1, 0.8], [0.3, 0.2, 0.1, 0.7])
    assert res.verdict == "insufficient-data"
    assert res.n == 4 and "only 4 complete rows" in res.reason


def test_nans_leaving_four_rows_are_insufficient_data():
    rng = np.random.default_rng(1)
    predicted, actual, baseline = rng.uniform(size=(3, 10))
    predicted[[0, 1]] = np.nan
    actual[[2, 3]] = np.nan
    baseline[[4, 5]] = np.nan
    res = mbe_check(predicted, actual, baseline)
    assert (res.verdict, res.n, res.n_dropped) == ("insufficient-data", 4, 6)
    assert "6 dropped" in res.reason


def test_too_many_controls_for_rows_is_insufficient_data():
    rng = np.random.default_rng(2)
    res = mbe_check(rng.normal(size=6), rng.normal(size=6), rng.normal(size=(6, 4)))
    assert res.verdict == "insufficient-data" and "df = n - 2 - k" in res.reason
    assert res.reason == "df = n - 2 - k = 6 - 2 - 4 = 0 <= 0: too few rows for 4 controls"


def test_no_verdict_when_the_interval_is_undefined():
    """n - 3 - k = 0 (5 rows, 2 controls): the t test has df = 1, but no interval exists, so no genuine.

    Found by test_data_problems_never_raise: ranks with ties made the residuals equal (partial r = 1,
    pingouin p = 0) and the verdict was genuine with a NaN interval.
    """
    predicted = np.array([1.0, 1, 1, 1, 1, 1, 0, 1, 1])
    actual = np.array([np.nan, 1, 1, 1, 1, 1, 0, 1, 1])
    baseline = np.array([[0.0, 0], [np.nan, 0], [np.nan, 0], [np.nan, 0], [1, 0], [0, 1], [0, 0], [0, 0], [0, 0]])
    res = mbe_check(predicted, actual, baseline, n_boot=20)
    assert (res.n, res.n_dropped, res.k, res.df) == (5, 4, 2, 1.0)
    # predicted == actual on the complete rows: equal residuals, partial r = 1, t test p = 0 on df = 1
    assert res.partial_r == pytest.approx(1.0) and res.partial_p == 0.0
    assert np.isnan(res.interval).all() and np.isnan(res.p)
    assert res.verdict == "insufficient-data" and "n - 3 - p <= 0" in res.reason
    assert res.reason.endswith("): too few rows for the control columns")


def test_actual_function_of_baseline_is_insufficient_data():
    rng = np.random.default_rng(3)
    baseline = rng.uniform(size=40)
    res = mbe_check(rng.uniform(size=40), baseline**2, baseline)
    assert res.verdict == "insufficient-data" and "nothing is left" in res.reason


def test_truth_plus_small_noise_with_weak_baseline_is_genuine():
    rng, actual, baseline = weak_baseline_data()
    res = mbe_check(actual + rng.normal(0, 0.05, len(actual)), actual, baseline, n_boot=300)
    assert res.verdict == "genuine"
    assert res.partial_r > 0.8 and res.partial_p < 1e-10
    assert res.ci95[0] < res.partial_r < res.ci95[1]
    assert res.ci95_bootstrap[0] < res.partial_r < res.ci95_bootstrap[1]
    assert "beyond the baseline" in res.reason and f"{res.estimate:.3f}" in res.reason
    assert res.interval[0] > 0 and res.p <= 0.05


def test_predictions_against_residual_truth_are_loss_proxy():
    rng = np.random.default_rng(7)
    n = 150
    baseline = rng.uniform(size=n)
    actual = baseline + rng.normal(0, 0.2, n)
    predicted = baseline - 0.8 * (actual - baseline) + rng.normal(0, 0.05, n)
    res = mbe_check(predicted, actual, baseline, n_boot=0)
    assert res.verdict == "loss-proxy"
    assert res.partial_r < 0 and res.partial_p < 0.05
    assert res.interval[1] < 0.2 and "below the effect size 0.2" in res.reason


def test_no_increment_is_loss_proxy_with_many_rows_and_inconclusive_with_few():
    """No information beyond the baseline: shown small with 2000 rows, undecidable with 20."""
    rng = np.random.default_rng(9)
    verdicts, reasons = {}, {}
    for n in (20, 2000):
        baseline = rng.uniform(size=n)
        actual = baseline + rng.normal(0, 0.2, n)
        predicted = baseline + rng.normal(0, 0.05, n)
        res = mbe_check(predicted, actual, baseline, n_boot=0)
        verdicts[n], reasons[n] = res.verdict, res.reason
        assert res.interval[0] < res.estimate < res.interval[1]
    assert verdicts == {20: "inconclusive", 2000: "loss-proxy"}
    assert "contains both 0 and the effect size 0.2" in reasons[20]


def test_effect_size_sets_the_loss_proxy_bound():
    rng = np.random.default_rng(10)
    n = 400
    baseline = rng.uniform(size=n)
    actual = baseline + rng.normal(0, 0.2, n)
    predicted = baseline + rng.normal(0, 0.05, n)
    loose = mbe_check(predicted, actual, baseline, n_boot=0, effect_size=0.3)
    strict = mbe_check(predicted, actual, baseline, n_boot=0, effect_size=0.01)
    assert loose.interval == strict.interval and 0.01 < loose.interval[1] < 0.3
    assert (loose.verdict, strict.verdict) == ("loss-proxy", "inconclusive")


# ----------------------------------------------------------------- intervals


def grouped_data(n_groups=15, per_group=20, seed=0):
    """Rows that are near-copies within groups: the effective sample is the groups."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(n_groups), per_group)
    u, v, w = rng.normal(size=(3, n_groups))
    small = lambda: rng.normal(0, 0.05, n_groups * per_group)  # noqa: E731
    actual = (u + 0.6 * v)[groups] + small()
    predicted = (u + 0.6 * w)[groups] + small()
    baseline = v[groups] + small()
    return predicted, actual, baseline, groups


def test_cluster_bootstrap_is_wider_than_row_bootstrap_with_group_effects():
    predicted, actual, baseline, groups = grouped_data()
    rows = mbe_check(predicted, actual, baseline, n_boot=400, seed=1)
    clustered = mbe_check(predicted, actual, baseline, groups=groups, n_boot=400, seed=1)
    width = lambda ci: ci[1] - ci[0]  # noqa: E731
    assert rows.bootstrap == "row bootstrap"
    assert clustered.bootstrap == "cluster bootstrap over 15 groups"
    assert width(clustered.ci95_bootstrap) > 2 * width(rows.ci95_bootstrap)


def test_bootstrap_is_reproducible_and_seed_dependent():
    rng, actual, baseline = weak_baseline_data(n=60)
    predicted = actual + rng.normal(0, 0.3, 60)
    a = mbe_check(predicted, actual, baseline, n_boot=200, seed=5)
    b = mbe_check(predicted, actual, baseline, n_boot=200, seed=5)
    c = mbe_check(predicted, actual, baseline, n_boot=200, seed=6)
    assert a.ci95_bootstrap == b.ci95_bootstrap
    assert a.ci95_bootstrap != c.ci95_bootstrap
    assert mbe_check(predicted, actual, baseline, n_boot=0).bootstrap == "none"


def test_fisher_ci_formula():
    lo, hi = fisher_ci(0.3, 40, 2)
    half = 1.959963984540054 / math.sqrt(40 - 3 - 2)
    assert (lo, hi) == pytest.approx((math.tanh(math.atanh(0.3) - half), math.tanh(math.atanh(0.3) + half)))
    assert all(math.isnan(v) for v in fisher_ci(0.3, 5, 2))
    assert all(math.isnan(v) for v in fisher_ci(float("nan"), 50, 0))
    lo, hi = fisher_ci(-0.2, 6, 2)  # n - 3 - k = 1: the smallest defined case
    assert (lo, hi) == pytest.approx((math.tanh(math.atanh(-0.2) - 1.959963984540054),
                                      math.tanh(math.atanh(-0.2) + 1.959963984540054)), abs=1e-12)
    z90 = 1.6448536269514722
    assert fisher_ci(0.3, 40, 2, confidence=0.9) == pytest.approx(
        (math.tanh(math.atanh(0.3) - z90 / math.sqrt(35)), math.tanh(math.atanh(0.3) + z90 / math.sqrt(35))), abs=1e-12)


def test_min_detectable_r_closed_form_and_monotone():
    z = 1.959963984540054 + 0.8416212335729143  # z_{0.975} + z_{0.80}
    assert min_detectable_r(100, k=1) == pytest.approx(math.tanh(z / math.sqrt(96)), abs=1e-12)
    assert min_detectable_r(100, k=0) == pytest.approx(0.277, abs=1e-3)  # textbook: n ~ 100 detects r ~ 0.28
    values = [min_detectable_r(n, k=1) for n in (10, 20, 50, 100, 1000)]
    assert all(a > b for a, b in zip(values, values[1:]))
    assert min_detectable_r(50, k=3) > min_detectable_r(50, k=1)
    assert min_detectable_r(50, alpha=0.01) > min_detectable_r(50, alpha=0.05)
    assert math.isnan(min_detectable_r(4, k=1))
    assert min_detectable_r(5, k=1) == pytest.approx(math.tanh(z), abs=1e-12)  # n - 3 - k = 1
    z99 = 2.5758293035489004 + 0.8416212335729143
    assert min_detectable_r(50, alpha=0.01) == pytest.approx(math.tanh(z99 / math.sqrt(47)), abs=1e-12)
    z90 = 1.959963984540054 + 1.2815515655446004
    assert min_detectable_r(50, power=0.9) == pytest.approx(math.tanh(z90 / math.sqrt(47)), abs=1e-12)
    res = mbe_check(*np.random.default_rng(0).normal(size=(3, 100)), n_boot=0)
    assert res.min_detectable_r == pytest.approx(min_detectable_r(100, 1, alpha=0.10))  # one-sided 0.05


# ------------------------------------------------------------- effect class


@pytest.mark.parametrize(
    "raw, partial, expected",
    [
        (0.6, 0.05, "washout"),
        (-0.6, -0.09, "washout"),
        (-0.4, 0.25, "sign-inversion"),
        (0.4, -0.25, "reverse-inversion"),
        (0.05, 0.3, "hidden-after-control"),
        (0.15, -0.3, "hidden-after-control"),
        (0.5, 0.3, "survives"),
        (-0.5, -0.2, "survives"),
        (0.5, 0.15, "weak-or-mixed"),
        (0.1, 0.1, "weak-or-mixed"),
        (0.3, -0.15, "weak-or-mixed"),
        (float("nan"), 0.3, "insufficient-data"),
        (0.3, float("nan"), "insufficient-data"),
        # exactly at the thresholds (0.20 effect, 0.10 washout): >= and < as in mbe-eval
        (0.2, 0.05, "washout"),
        (-0.2, 0.0999, "washout"),
        (0.3, 0.1, "weak-or-mixed"),
        (-0.2, 0.2, "sign-inversion"),
        (0.2, -0.2, "reverse-inversion"),
        (0.1999, 0.2, "hidden-after-control"),
        (-0.1999, -0.2, "hidden-after-control"),
        (0.5, 0.2, "survives"),
        (0.5, 0.1999, "weak-or-mixed"),
        (-0.3, 0.15, "weak-or-mixed"),
        (0.2, 0.3, "survives"),  # |raw| = 0.2 is not "< 0.20": not hidden-after-control
        (-0.2, -0.3, "survives"),
    ],
)
def test_classify_effect(raw, partial, expected):
    assert classify_effect(raw, partial) == expected


def test_effect_class_of_degenerate_loss_proxy_is_washout():
    rng, actual, baseline = weak_baseline_data()
    res = mbe_check(baseline, actual, baseline, n_boot=0)
    assert abs(res.raw_r) >= 0.2 and res.effect_class == "washout"


# -------------------------------------------------------- input and output


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(predicted=[1, 2, 3], actual=[1, 2], baseline=[1, 2, 3]), "same length"),
        (dict(predicted=[1, 2, 3], actual=[1, 2, 3], baseline=[1, 2]), "one row per prediction"),
        (dict(predicted=[1, 2, 3], actual=[1, 2, 3], baseline=np.zeros((3, 1, 1))), "1-D or 2-D"),
        (dict(predicted=[1, 2, 3], actual=[1, 2, 3], baseline=np.zeros((3, 0))), "at least one column"),
        (dict(predicted=[[1, 2, 3]], actual=[1, 2, 3], baseline=[1, 2, 3]), "predicted must be 1-D"),
        (dict(predicted=["a", "b", "c"], actual=[1, 2, 3], baseline=[1, 2, 3]), "predicted must be numeric"),
        (dict(predicted=[1, 2, 3], actual=[1, 2, 3], baseline=[1, 2, 3], method="kendall"), "method must be"),
        (dict(predicted=[1, 2, 3], actual=[1, 2, 3], baseline=[1, 2, 3], alpha=1.5), "alpha"),
        (dict(predicted=[1, 2, 3], actual=[1, 2, 3], baseline=[1, 2, 3], alpha=0.5), "one-sided level"),
        (dict(predicted=[1, 2, 3], actual=[1, 2, 3], baseline=[1, 2, 3], adjustment="cubic"), "adjustment"),
        (dict(predicted=[1, 2, 3], actual=[1, 2, 3], baseline=[1, 2, 3], effect_size=0), "effect_size"),
        (dict(predicted=[1, 2, 3], actual=[1, 2, 3], baseline=[1, 2, 3], n_boot=-1), "n_boot"),
        (dict(predicted=[1, 2, 3], actual=[1, 2, 3], baseline=[1, 2, 3], alpha=0.0), r"^alpha must be in \(0, 0.5\)"),
        (dict(predicted=[1, 2, 3], actual=[1, 2, 3], baseline=[1, 2, 3], effect_size=1.0),
         r"^effect_size must be in \(0, 1\), got 1.0$"),
        (dict(predicted=[1, 2, 3], actual=[1, 2, 3], baseline=[1, 2, 3], effect_size=1.5), "effect_size"),
        (dict(predicted=[1, 2, 3], actual=[1, 2, 3], baseline=[1, 2, 3], n_boot=True),
         "^n_boot must be a non-negative integer, got True$"),
        (dict(predicted=[1, 2, 3], actual=[1, 2, 3], baseline=[1, 2, 3], n_boot=2.5), "n_boot"),
        (dict(predicted=[1, 2, 3], actual=[1, 2, 3], baseline=np.zeros((2, 3))),
         r"^baseline must have one row per prediction \(3\), got 2 rows$"),
        (dict(predicted=[1, 2, 3], actual=[1, 2, 3], baseline=np.zeros((3, 0))), "^baseline must have at least one column, got 0$"),
        (dict(predicted=[1, 2, 3], actual=["a", "b", "c"], baseline=[1, 2, 3]), "^actual must be numeric, got values that are not"),
        (dict(predicted=[1, 2, 3], actual=[1, 2, 3], baseline=[1, 2, 3], groups=[1, 2]), "groups"),
        (dict(predicted=[1, 2, 3], actual=[1, 2, 3], baseline=["a", "b", "c"]), "baseline must be numeric"),
    ],
)
def test_malformed_input_raises_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mbe_check(**kwargs)


def test_series_baseline_name_and_str():
    rng, actual, baseline = weak_baseline_data(n=40)
    res = mbe_check(actual + rng.normal(0, 0.1, 40), actual, pd.Series(baseline, name="revealed_mean"), n_boot=50)
    assert isinstance(res, MBEResult) and res.controls == ("revealed_mean",)
    text = str(res)
    assert "MBE check (spearman; controls: revealed_mean): genuine" in text
    assert "reason:" in text and "row bootstrap" in text
    frame = res.to_frame()
    assert list(frame.columns[:4]) == ["n", "r", "CI95%", "p-val"]
    assert {"verdict", "effect_class", "residual_variance_ratio", "min_detectable_r"} <= set(frame.columns)


finite_or_nan = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(float("nan")), st.sampled_from([0.0, 1.0]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.integers(0, 14).flatmap(
        lambda n: st.tuples(
            arrays(float, n, elements=finite_or_nan),
            arrays(float, n, elements=finite_or_nan),
            arrays(float, (n, 2), elements=finite_or_nan),
        )
    ),
    method=st.sampled_from(["spearman", "pearson"]),
)
def test_data_problems_never_raise(data, method):
    predicted, actual, baseline = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mbe_check(predicted, actual, baseline, method=method, n_boot=20)
    assert res.verdict in VERDICTS
    assert res.n + res.n_dropped == len(predicted)
    if res.verdict == "genuine":
        assert res.estimate > 0 and res.p <= 0.05 and res.interval[0] > 0
    if res.verdict == "loss-proxy" and np.isfinite(res.interval[1]):
        assert res.interval[1] < res.effect_size


@pytest.mark.parametrize("method", ["spearman", "pearson"])
@pytest.mark.parametrize("k", [1, 2])
def test_vectorised_bootstrap_replicates_equal_pingouin_on_each_resample(method, k):
    """Every bootstrap replicate (computed for all resamples at once) is pingouin's partial r of that resample."""
    from magnet.stats import mbe
    from magnet.stats.bootstrap import make_plan

    rng = np.random.default_rng(k)
    n = 36
    z = np.round(rng.normal(size=(n, k)), 1)  # rounded: ties
    y = np.round(z.sum(axis=1) + rng.normal(size=n), 1)
    x = np.round(y + rng.normal(size=n), 1)
    data = mbe._complete_rows(x, y, z)
    groups = np.repeat(np.arange(12), 3)
    for plan in (make_plan(n, n_boot=25, seed=1), make_plan(n, groups=groups, n_boot=25, seed=2)):
        fast = mbe._weighted_partial_r(data, method, plan.weights())
        for b, idx in enumerate(plan):
            df = pd.DataFrame({"x": x[idx], "y": y[idx], **{f"z{j}": z[idx, j] for j in range(k)}})
            expected = pg.partial_corr(df, x="x", y="y", covar=[f"z{j}" for j in range(k)], method=method)["r"].iloc[0]
            assert fast[b] == pytest.approx(expected, abs=1e-9), (plan.description, b)


def test_vectorised_bootstrap_replicates_are_nan_where_a_resample_is_undefined():
    from magnet.stats import mbe

    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    y = np.array([2.0, 1.0, 4.0, 3.0, 6.0, 5.0, 8.0, 7.0])
    z = np.array([[1.0], [1.0], [2.0], [2.0], [3.0], [3.0], [4.0], [5.0]])
    data = mbe._complete_rows(x, y, z)
    w = np.array([
        [1, 1, 1, 1, 1, 1, 1, 1],  # defined
        [4, 4, 0, 0, 0, 0, 0, 0],  # z constant among the drawn rows
        [2, 0, 0, 0, 0, 0, 0, 1],  # 3 rows drawn, 1 control: no degrees of freedom left
        [0, 0, 0, 0, 3, 0, 3, 2],  # x is a function of z among the drawn rows: degenerate residual
    ], dtype=float)
    r = mbe._weighted_partial_r(data, "spearman", w)
    assert np.isfinite(r[0]) and np.isnan(r[1:]).all()
    assert r[0] == pytest.approx(mbe.mbe_check(x, y, z, n_boot=0).partial_r, abs=1e-12)


def test_to_frame_reports_every_field_under_its_name():
    """Each column holds the result's field of that name (pingouin's four under pingouin's names)."""
    import dataclasses

    rng, actual, baseline = weak_baseline_data(n=40)
    controls = pd.DataFrame({"early": baseline, "loss": rng.normal(size=40)})
    res = mbe_check(actual + rng.normal(0, 0.3, 40), actual, controls, n_boot=50, groups=np.repeat(np.arange(8), 5))
    frame = res.to_frame()
    renamed = {"r": "partial_r", "CI95%": "ci95", "p-val": "partial_p", "p_one_sided": "p"}
    assert frame.index.tolist() == [res.method] and len(frame) == 1
    fields = {f.name for f in dataclasses.fields(res)}
    assert {renamed.get(c, c) for c in frame.columns} == fields - {"method", "alpha", "effect_size", "n_groups"}
    for column in frame.columns:
        got, expected = frame[column].iloc[0], getattr(res, renamed.get(column, column))
        if isinstance(expected, tuple):
            np.testing.assert_array_equal(np.asarray(got), np.asarray(expected, dtype=object if column == "controls" else float))
            assert len(got) == 2 or column == "controls"
        else:
            assert got == expected, column
    assert frame["controls"].iloc[0] == ["early", "loss"]
    assert all(np.isfinite(frame[c].iloc[0]).all() for c in ("CI95%", "interval", "ci95_bootstrap"))


@pytest.mark.parametrize("alpha, n_boot", [(0.05, 0), (0.1, 60)])
def test_str_shows_the_results_numbers(alpha, n_boot):
    rng, actual, baseline = weak_baseline_data(n=60)
    controls = pd.DataFrame({"early": baseline, "loss": rng.normal(size=60)})
    res = mbe_check(actual + rng.normal(0, 0.4, 60), actual, controls, n_boot=n_boot, alpha=alpha)
    lines = str(res).split("\n")
    assert len(lines) == 10 and lines[0] == f"MBE check (spearman; controls: early, loss): {res.verdict}"
    level = {0.05: "90%", 0.1: "80%"}[alpha]
    assert f"estimate = {res.estimate:.3f}, {level} interval [{res.interval[0]:.3f}, {res.interval[1]:.3f}]" in lines[3]
    assert f"Fisher z [{res.ci95[0]:.3f}, {res.ci95[1]:.3f}]" in lines[5]
    assert res.interval[0] < res.interval[1] and res.ci95[0] < res.ci95[1]  # distinct bounds: each is shown
    if n_boot:
        lo, hi = res.ci95_bootstrap
        assert lo < hi and lines[5].endswith(f"row bootstrap [{lo:.3f}, {hi:.3f}]")
    else:
        assert lines[5].endswith(", no bootstrap")
    assert lines[-1] == f"  reason: {res.reason}"


def written_out_partial_r(x, y, z, w, method):
    """partial_correlation (pingouin-checked) of every resample written out from row multiplicities ``w``."""
    out = []
    for row in w:
        idx = np.repeat(np.arange(len(x)), row.astype(int))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out.append(partial_correlation(x[idx], y[idx], z[idx], method=method).r)
    return np.array(out)


@pytest.mark.parametrize("method", ["spearman", "pearson"])
def test_vectorised_bootstrap_replicates_at_the_degrees_of_freedom_edge(method):
    """Resamples of 3 rows with 1 control leave df = 0 (undefined); 4 rows leave df = 1 (defined)."""
    from magnet.stats import mbe

    x = np.array([1.0, 4.0, 2.0, 8.0, 5.0, 3.0])
    y = np.array([2.0, 1.0, 5.0, 7.0, 3.0, 4.0])
    z = np.array([[1.0], [3.0], [2.0], [2.5], [6.0], [4.0]])
    w = np.array([
        [1, 1, 1, 0, 0, 0],  # 3 distinct rows: df = 0
        [0, 0, 1, 1, 0, 1],
        [1, 1, 1, 1, 0, 0],  # 4 rows: df = 1
        [0, 1, 0, 1, 1, 1],
        [1, 1, 0, 0, 0, 2],  # 4 copies of 3 distinct rows: df = 1
        [1, 1, 1, 1, 1, 1],
    ], dtype=float)
    expected = written_out_partial_r(x, y, z, w, method)
    assert np.isnan(expected[:2]).all() and np.isfinite(expected[2:]).all()
    got = mbe._weighted_partial_r(mbe._complete_rows(x, y, z), method, w)
    np.testing.assert_allclose(got, expected, atol=1e-9)
    for b in range(len(w)):  # one resample at a time: the rules apply per resample
        np.testing.assert_allclose(mbe._weighted_partial_r(mbe._complete_rows(x, y, z), method, w[b:b + 1]),
                                   expected[b:b + 1], atol=1e-9)


def test_vectorised_bootstrap_replicates_with_controls_collinear_in_a_resample():
    """Two controls proportional among the drawn rows (not overall): the fit drops the redundant direction, as lstsq."""
    from magnet.stats import mbe

    rng = np.random.default_rng(5)
    n = 12
    z1 = rng.normal(size=n) * 100
    z2 = 2 * z1
    z2[:4] += rng.normal(size=4) * 50  # collinear on rows 4..11 only
    z = np.column_stack([z1, z2])
    x, y = z1 / 100 + rng.normal(size=n), z1 / 100 + rng.normal(size=n)
    w = np.zeros((3, n))
    w[0, 4:] = 1  # collinear resample
    w[1, 4:] = [2, 1, 1, 2, 1, 1, 2, 1]
    w[2] = 1
    expected = written_out_partial_r(x, y, z, w, "pearson")
    assert np.isfinite(expected).all()
    got = mbe._weighted_partial_r(mbe._complete_rows(x, y, z), "pearson", w)
    np.testing.assert_allclose(got, expected, atol=1e-8)


@pytest.mark.parametrize("log_ratio", [-9.5, -10.5])
def test_vectorised_bootstrap_replicates_near_the_degenerate_ratio(log_ratio):
    """x = baseline + a tiny wiggle: residual variance ratio ~ 10**log_ratio, either side of the 1e-10 cutoff."""
    from magnet.stats import mbe

    rng = np.random.default_rng(8)
    n = 30
    z = 50 + rng.normal(size=n)  # a large mean: the ratio must be taken about the resample's own mean
    wiggle = rng.normal(size=n)
    wiggle -= np.polyval(np.polyfit(z, wiggle, 1), z)
    x = z + wiggle * math.sqrt(10.0**log_ratio) / wiggle.std() * z.std()
    y = z + rng.normal(size=n)
    w = np.vstack([np.ones(n), make_plan_weights(n, 4)])
    expected = written_out_partial_r(x, y, z[:, None], w, "pearson")
    got = mbe._weighted_partial_r(mbe._complete_rows(x, y, z), "pearson", w)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert np.isfinite(got[0]) == (log_ratio > -10)


def make_plan_weights(n, n_boot):
    from magnet.stats.bootstrap import make_plan

    return make_plan(n, n_boot=n_boot, seed=3).weights()


def test_partial_correlation_defaults_to_spearman_and_is_undefined_without_degrees_of_freedom():
    rng = np.random.default_rng(11)
    z = rng.normal(size=(7, 2))
    x = np.exp(z[:, 0] + rng.normal(size=7))  # skewed: ranks and values disagree
    y = x + rng.normal(size=7)
    assert partial_correlation(x, y, z) == partial_correlation(x, y, z, method="spearman")
    assert partial_correlation(x, y, z).r != partial_correlation(x, y, z, method="pearson").r
    for a, b in zip(partial_residuals(x, y, z), partial_residuals(x, y, z, method="spearman")):
        np.testing.assert_array_equal(a, b)
    # df = n - 2 - k: 5 rows with 2 controls leave df = 1 (pingouin's r and p), 4 rows leave none
    r, p, _ = pingouin_partial(x[:5], y[:5], z[:5], "pearson")
    res5 = partial_correlation(x[:5], y[:5], z[:5], method="pearson")
    assert (res5.n, res5.r, res5.p) == (5, pytest.approx(r, abs=1e-9), pytest.approx(p, abs=1e-9))
    res4 = partial_correlation(x[:4], y[:4], z[:4], method="pearson")
    assert res4.n == 4 and all(math.isnan(v) for v in (res4.r, res4.p, res4.residual_variance_ratio))
    const = partial_correlation(np.ones(7), y, z)  # a constant input, enough rows
    assert const.n == 7 and all(math.isnan(v) for v in (const.r, const.p, const.residual_variance_ratio))


def test_residual_variance_ratio_is_one_minus_r_squared_of_x_on_the_controls():
    rng = np.random.default_rng(12)
    z = rng.normal(size=40)
    x, y = z + rng.normal(size=40), rng.normal(size=40)
    fit = stats.linregress(z, x)
    assert partial_correlation(x, y, z, method="pearson").residual_variance_ratio == pytest.approx(1 - fit.rvalue**2)
    ranks = stats.linregress(stats.rankdata(z), stats.rankdata(x))
    assert partial_correlation(x, y, z).residual_variance_ratio == pytest.approx(1 - ranks.rvalue**2)


@pytest.mark.parametrize("method, what", [("spearman", "ranks"), ("pearson", "values")])
def test_degenerate_loss_proxy_reason_names_what_was_regressed(method, what):
    rng, actual, baseline = weak_baseline_data(n=40)
    res = mbe_check(3 * baseline + 1, actual, baseline, method=method, n_boot=0)
    assert res.verdict == "loss-proxy" and res.residual_variance_ratio < 1e-10
    assert res.reason.startswith(f"the predictions' {what} are (nearly) a function of the baseline: ")


# --------------------------------------------- the decision: adjustment, one-sided p, interval, groups


def bonett_wright_interval(r, n, cols, rank, alpha, crit=None):
    """Fisher-scale interval with se sqrt((1 + r^2/2) / (n - 3 - cols)) for ranks (1 for Pearson), written out."""
    se = math.sqrt((1 + r * r / 2 if rank else 1.0) / (n - 3 - cols))
    crit = stats.norm.ppf(1 - alpha) if crit is None else crit
    return math.tanh(math.atanh(r) - crit * se), math.tanh(math.atanh(r) + crit * se)


@pytest.mark.parametrize("method", ["spearman", "pearson"])
@pytest.mark.parametrize("alpha", [0.05, 0.1])
@pytest.mark.parametrize("sign", [1, -1])
def test_linear_decision_is_pingouins_p_halved_with_the_bonett_wright_interval(method, alpha, sign):
    rng = np.random.default_rng(21)
    n = 50
    z = rng.normal(size=(n, 2))
    y = z.sum(axis=1) + rng.normal(size=n)
    x = sign * 0.4 * y + z[:, 0] + rng.normal(size=n)
    r, p_two, _ = pingouin_partial(x, y, z, method)
    assert np.sign(r) == sign
    res = mbe_check(x, y, z, method=method, alpha=alpha, adjustment="linear", n_boot=0)
    assert res.estimate == pytest.approx(r, abs=1e-10) and res.partial_r == pytest.approx(r, abs=1e-10)
    assert res.p == pytest.approx(p_two / 2 if sign > 0 else 1 - p_two / 2, abs=1e-10)
    expected = bonett_wright_interval(r, n, 2, method == "spearman", alpha)
    assert res.interval == pytest.approx(expected, abs=1e-10)
    assert (res.df, res.design_effect, res.n_groups) == (n - 4, 1.0, None)
    assert res.adjustment == "linear (2 control columns)" and res.effect_class == classify_effect(res.raw_r, r)
    assert res.inference == f"partial-correlation t test, independent rows, df = {n - 4}"
    where = f"(n = {n}, k = 2; {100 * (1 - 2 * alpha):g}% interval [{expected[0]:.3f}, {expected[1]:.3f}], one-sided p = "
    assert where in res.reason


def test_cluster_decision_uses_the_cr2_test_on_the_rank_residuals():
    """With groups: df = min(Bell-McCaffrey df, n - 3 - p), the design effect widens the interval; labels of any type."""
    from magnet.stats.cluster_inference import cluster_slope_test

    rng = np.random.default_rng(22)
    n_groups, runs = 6, 8
    codes = np.repeat(np.arange(n_groups), runs)
    z = rng.normal(size=n_groups)[codes] + rng.normal(size=codes.size)
    y = z + rng.normal(size=n_groups)[codes] + rng.normal(size=codes.size)
    x = 0.5 * y + rng.normal(size=n_groups)[codes] + rng.normal(size=codes.size)
    labels = np.array([f"model-{c}" for c in (5 - codes)])  # strings, numbered differently from first appearance
    res = mbe_check(x, y, z, groups=labels, adjustment="linear", n_boot=0)
    tx, ty, tz = (stats.rankdata(v)[:, None] if v is z else stats.rankdata(v) for v in (x, y, z))
    test = cluster_slope_test(tx, ty, tz, codes)
    df = min(test.df, codes.size - 4)
    r, _, _ = pingouin_partial(x, y, z, "spearman")
    assert (res.n_groups, res.design_effect, res.df) == (n_groups, pytest.approx(test.design_effect), pytest.approx(df))
    assert res.estimate == pytest.approx(r, abs=1e-10)
    se = math.sqrt((1 + r * r / 2) * test.design_effect / (codes.size - 4))
    z_r, crit = math.atanh(r), stats.t.ppf(0.95, df)
    assert res.interval == pytest.approx((math.tanh(z_r - crit * se), math.tanh(z_r + crit * se)), abs=1e-9)
    assert res.p == pytest.approx(stats.t.sf(z_r / se, df), abs=1e-9)
    assert res.inference.startswith(f"CR2 cluster-robust over {n_groups} groups, Bell-McCaffrey df = {df:.1f}")
    assert f"n = {codes.size}, k = 1, {n_groups} groups; 90% interval" in res.reason
    assert res.adjustment == "linear (1 control columns)"
    wider = mbe_check(x, y, z, groups=labels, adjustment="linear", n_boot=0, alpha=0.1)
    crit = stats.t.ppf(0.9, df)
    assert wider.interval == pytest.approx((math.tanh(z_r - crit * se), math.tanh(z_r + crit * se)), abs=1e-9)
    two = mbe_check(x, y, z, groups=np.minimum(codes, 1), adjustment="linear", n_boot=50)
    assert (two.verdict, two.n_groups, two.bootstrap, two.inference) == ("insufficient-data", 2, "none", "none")
    assert two.estimate == pytest.approx(r, abs=1e-10)  # the estimate exists, no test of it does
    assert math.isnan(two.p) and math.isnan(two.df) and math.isnan(two.design_effect)
    assert all(math.isnan(v) for v in two.ci95_bootstrap + two.interval) and two.adjustment == "linear (1 control columns)"
    same = mbe_check(x, y, z, groups=codes, adjustment="linear", n_boot=0)
    assert (same.estimate, same.interval, same.p, same.df) == (res.estimate, res.interval, res.p, res.df)
    three = mbe_check(x, y, z, groups=np.minimum(codes, 2), adjustment="linear", n_boot=0)
    assert three.n_groups == 3 and three.verdict != "insufficient-data" and np.isfinite(three.p)


def test_flexible_adjustment_uses_the_spline_basis_when_it_leaves_ten_degrees_of_freedom():
    """One control: the spline basis (pearson: of the values) is used from n - 3 - cols >= 10 on, else the control."""
    from magnet.stats.cluster_inference import flexible_basis

    rng = np.random.default_rng(23)
    for n in range(10, 40):
        z = rng.normal(size=n)
        x, y = z + rng.normal(size=n), z + rng.normal(size=n)
        basis = flexible_basis(z[:, None])
        cols = np.linalg.matrix_rank(np.column_stack([np.ones(n), basis])) - 1
        res = mbe_check(x, y, z, method="pearson", n_boot=0)
        if basis.shape[1] > 1 and n - 3 - cols >= 10:
            assert res.adjustment == f"flexible ({cols} control columns: splines of each control + tensor-product interactions)"
            resid = [v - np.column_stack([np.ones(n), basis]) @ np.linalg.lstsq(np.column_stack([np.ones(n), basis]), v, rcond=None)[0] for v in (x, y)]
            assert res.estimate == pytest.approx(np.corrcoef(*resid)[0, 1], abs=1e-10), n
            assert res.df == n - 2 - cols
        else:
            assert res.adjustment == "linear (1 control columns)", n
            assert res.estimate == pytest.approx(res.partial_r, abs=1e-12)
    assert "flexible" in mbe_check(x, y, z, method="pearson", n_boot=0).adjustment  # n = 39 reaches the splines


def test_controls_fall_back_to_products_when_tensor_splines_leave_too_few_degrees_of_freedom():
    from magnet.stats.cluster_inference import flexible_basis

    rng = np.random.default_rng(24)
    seen = set()
    for n, k in ((30, 3), (36, 3), (40, 4), (45, 4), (60, 2), (28, 2)):
        z = rng.normal(size=(n, k))
        x, y = z.sum(axis=1) + rng.normal(size=n), z.sum(axis=1) + rng.normal(size=n)
        res = mbe_check(x, y, z, method="pearson", n_boot=0)
        tensor, plain = flexible_basis(z), flexible_basis(z, tensor=False)
        rank = lambda b: np.linalg.matrix_rank(np.column_stack([np.ones(n), b])) - 1  # noqa: E731
        if tensor.shape[1] > k and n - 3 - rank(tensor) >= 10:  # below 30 rows the "basis" is the controls
            expected = f"flexible ({rank(tensor)} control columns: splines of each control + tensor-product interactions)"
        elif plain.shape[1] > k and n - 3 - rank(plain) >= 10:
            expected = f"flexible ({rank(plain)} control columns: splines of each control + products)"
        else:
            expected = f"linear ({k} control columns)"
        assert res.adjustment == expected, n
        seen.add(expected.split(":")[-1].split(" (")[0])
    assert seen == {" splines of each control + tensor-product interactions)", " splines of each control + products)", "linear"}


@pytest.mark.parametrize("which", ["predicted", "actual"])
def test_a_function_of_the_spline_basis_is_caught_by_the_flexible_decision(which):
    """A spline of the baseline: not linear in it (the linear ratio is large) but in the flexible basis' span."""
    from magnet.stats.cluster_inference import flexible_basis

    rng = np.random.default_rng(25)
    n = 80
    z = rng.normal(size=n)
    spline = flexible_basis(z[:, None])[:, -1]
    other = z + rng.normal(size=n)
    x, y = (spline, other) if which == "predicted" else (other, spline)
    res = mbe_check(x, y, z, method="pearson", n_boot=50)
    assert math.isnan(res.estimate) and all(math.isnan(v) for v in res.interval) and math.isnan(res.p)
    assert np.isfinite(res.partial_r) and res.inference == "none" and math.isnan(res.df) and math.isnan(res.design_effect)
    assert res.adjustment.startswith("flexible (") and "control columns: splines of each control" in res.adjustment
    assert (res.ci95_bootstrap, res.bootstrap) == ((pytest.approx(np.nan, nan_ok=True),) * 2, "none")
    if which == "predicted":
        assert res.residual_variance_ratio > 0.01 and res.verdict == "loss-proxy"
        assert res.reason.startswith("the predictions' values are (nearly) a function of the baseline's basis")
    else:
        assert res.verdict == "insufficient-data"
        assert res.reason == ("actual is (nearly) a function of the baseline's flexible basis: nothing is left "
                              "for a prediction to explain")


def test_bootstrap_interval_is_the_percentile_interval_of_the_written_out_partial_r():
    from magnet.stats.bootstrap import make_plan

    rng, actual, baseline = weak_baseline_data(n=30)
    predicted = np.round(actual + rng.normal(0, 0.3, 30), 1)  # ties
    res = mbe_check(predicted, actual, baseline, n_boot=80, seed=9)
    plan = make_plan(30, n_boot=80, seed=9)
    reps = [partial_correlation(predicted[i], actual[i], baseline[i]).r for i in plan]
    assert res.ci95_bootstrap == pytest.approx(tuple(np.quantile(reps, [0.025, 0.975])), abs=1e-9)
    assert res.bootstrap == "row bootstrap"


def test_raw_correlation_is_scipys_from_three_rows_and_nan_for_a_constant_side():
    x, y, z = np.array([0.1, 0.5, 0.3]), np.array([0.2, 0.9, 0.4]), np.array([1.0, 2.0, 4.0])
    res = mbe_check(x, y, z, n_boot=0)  # 3 rows: no verdict, but the plain correlation exists
    assert res.verdict == "insufficient-data" and res.bootstrap == "none"
    assert (res.raw_r, res.raw_p) == pytest.approx(tuple(stats.spearmanr(x, y)), abs=1e-12)
    assert math.isnan(mbe_check(x[:2], y[:2], z[:2], n_boot=0).raw_r)
    rng, actual, baseline = weak_baseline_data(n=30)
    for predicted, truth in ((np.full(30, 0.5), actual), (actual, np.full(30, 0.5))):
        res = mbe_check(predicted, truth, baseline, n_boot=0)
        assert math.isnan(res.raw_r) and math.isnan(res.raw_p) and res.effect_class == "insufficient-data"


def test_default_bootstrap_is_1000_row_resamples_with_seed_0():
    rng, actual, baseline = weak_baseline_data(n=30)
    predicted = actual + rng.normal(0, 0.3, 30)
    default = mbe_check(predicted, actual, baseline)
    assert default == mbe_check(predicted, actual, baseline, n_boot=1000, seed=0)
    assert default.ci95_bootstrap != mbe_check(predicted, actual, baseline, n_boot=1001, seed=0).ci95_bootstrap
    assert default.ci95_bootstrap != mbe_check(predicted, actual, baseline, n_boot=1000, seed=1).ci95_bootstrap


@pytest.mark.parametrize("strength, verdict, ending", [
    (1.0, "genuine", "the predictions carry information about the actual values beyond the baseline"),
    (0.0, "loss-proxy", "beyond the baseline the predictions add at most a negligible increment"),
])
def test_reason_states_the_verdicts_meaning(strength, verdict, ending):
    rng = np.random.default_rng(31)
    n = 400
    baseline = rng.normal(size=n)
    actual = baseline + rng.normal(size=n)
    predicted = baseline + strength * (actual - baseline) + rng.normal(size=n)
    res = mbe_check(predicted, actual, baseline, n_boot=0)
    assert res.verdict == verdict and res.reason.endswith(ending)
    assert f"n = {n}, k = 1; 90% interval [{res.interval[0]:.3f}, {res.interval[1]:.3f}], one-sided p = " in res.reason


@pytest.mark.parametrize("adjustment", ["flexible", "linear"])
def test_verdicts_before_the_decision_fill_the_documented_conventions(adjustment):
    rng, actual, baseline = weak_baseline_data(n=40)
    predicted = actual + rng.normal(0, 0.3, 40)
    nan = lambda pair: all(math.isnan(v) for v in pair)  # noqa: E731
    # predictions a monotone function of the baseline: loss-proxy before correlating, r = 0 and p = 1 by convention
    lp = mbe_check(np.exp(baseline), actual, baseline, n_boot=50, adjustment=adjustment)
    assert (lp.verdict, lp.partial_r, lp.partial_p, lp.estimate, lp.p) == ("loss-proxy", 0.0, 1.0, 0.0, 1.0)
    assert lp.adjustment == "linear" and 0 <= lp.residual_variance_ratio < 1e-10
    assert nan(lp.ci95) and nan(lp.ci95_bootstrap) and nan(lp.interval) and lp.bootstrap == "none"
    assert lp.effect_class == classify_effect(lp.raw_r, 0.0) and lp.raw_r == pytest.approx(
        stats.spearmanr(baseline, actual).statistic)
    # actual a monotone function of the baseline: nothing to explain (the linear ratio of actual is 0)
    ins = mbe_check(predicted, baseline**3, baseline, n_boot=50, adjustment=adjustment)
    assert ins.verdict == "insufficient-data" and ins.adjustment == adjustment
    assert ins.reason.startswith("actual is (nearly) a function of the baseline (residual variance ratio ")
    fit = stats.linregress(stats.rankdata(baseline), stats.rankdata(predicted))
    assert ins.residual_variance_ratio == pytest.approx(1 - fit.rvalue**2)
    assert math.isnan(ins.partial_r) and math.isnan(ins.partial_p) and ins.effect_class == "insufficient-data"
    assert nan(ins.ci95) and nan(ins.interval) and ins.bootstrap == "none"
    # too few rows: nothing computed
    few = mbe_check(predicted[:4], actual[:4], baseline[:4], adjustment=adjustment)
    assert few.adjustment == adjustment and few.bootstrap == "none" and math.isnan(few.residual_variance_ratio)
    assert math.isnan(few.partial_r) and math.isnan(few.partial_p) and few.effect_class == "insufficient-data"


def test_fisher_ci_without_controls_is_pingouins_correlation_interval():
    for r, n in ((0.3, 30), (-0.55, 12), (0.05, 200)):
        expected = pg.compute_esci(r, n, n, eftype="r", confidence=0.95, decimals=12)
        assert fisher_ci(r, n) == pytest.approx(tuple(expected), abs=1e-10)


@pytest.mark.parametrize("method", ["spearman", "pearson"])
def test_verdict_does_not_depend_on_the_units(method):
    """Correlations are scale-free: the same data in other units (a spread far below 1) give the same check."""
    rng, actual, baseline = weak_baseline_data(n=40)
    predicted = actual + rng.normal(0, 0.3, 40)
    base = mbe_check(predicted, actual, baseline, method=method, n_boot=0)
    scaled = mbe_check(1e-4 * predicted, 1e-4 * actual, 1e-4 * baseline, method=method, n_boot=0)
    assert scaled.verdict == base.verdict
    for field in ("partial_r", "partial_p", "estimate", "p", "residual_variance_ratio", "raw_r"):
        assert getattr(scaled, field) == pytest.approx(getattr(base, field), rel=1e-6, abs=1e-12), field
    assert scaled.interval == pytest.approx(base.interval, rel=1e-6)


def test_unnamed_series_baseline_is_called_baseline():
    rng, actual, baseline = weak_baseline_data(n=30)
    res = mbe_check(actual + rng.normal(0, 0.3, 30), actual, pd.Series(baseline), n_boot=0)
    assert res.controls == ("baseline",) and "controls: baseline)" in str(res)
    assert mbe_check(actual, actual, baseline, n_boot=0).controls == ("baseline",)  # a 1-D array
    assert mbe_check(actual, actual, baseline[:, None], n_boot=0).controls == ("baseline",)  # one column


def test_genuine_needs_the_reported_interval_above_zero_on_small_n_without_groups():
    # issue 27: Spearman, no groups, n = 8, two controls: one-sided p 0.031 (pingouin's t test) but a 90% interval
    # (-0.016, 0.974) from the rank standard error; it was called genuine.
    x = [2.0, 6.0, 16.0, 9.0, 18.0, 18.0, 4.0, 18.0]
    y = [0.0, 1.0, 10.0, 0.0, 6.0, 9.0, 6.0, 18.0]
    z = np.array([[5.0, 16.0], [11.0, 18.0], [13.0, 16.0], [18.0, 3.0], [9.0, 19.0], [14.0, 7.0], [13.0, 0.0],
                  [17.0, 0.0]])
    res = mbe_check(x, y, z, n_boot=0)
    assert res.p <= 0.05 and res.interval[0] < 0
    assert res.verdict == "inconclusive" and "does not exclude 0" in res.reason
