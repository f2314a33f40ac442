"""Tests of magnet.stats.scoring and the shared bootstrap in magnet.stats.bootstrap."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

from magnet.stats import scoring
from magnet.stats.bootstrap import bootstrap_ci, make_plan, percentile_interval
from magnet.stats.scoring import Scores, score_predictions

METRICS = ("mae", "rmse", "bias", "r2", "spearman", "kendall")


def noisy_predictions(n=300, seed=0):
    """Accuracies in [0, 1] and predictions with noise and a little bias."""
    rng = np.random.default_rng(seed)
    actual = rng.beta(2, 2, n)
    predicted = np.clip(actual + 0.02 + rng.normal(0, 0.08, n), 0, 1)
    return predicted, actual


# --------------------------------------------------------------- point values


def test_point_values_match_sklearn_and_scipy():
    predicted, actual = noisy_predictions()
    predicted = np.round(predicted, 2)  # ties, so tau-b differs from tau-a
    s = score_predictions(predicted, actual, n_boot=0)
    assert s.mae == pytest.approx(mean_absolute_error(actual, predicted), abs=1e-12)
    assert s.rmse == pytest.approx(root_mean_squared_error(actual, predicted), abs=1e-12)
    assert s.bias == pytest.approx(np.mean(predicted - actual), abs=1e-12)
    assert s.r2 == pytest.approx(r2_score(actual, predicted), abs=1e-12)
    assert s.spearman == pytest.approx(stats.spearmanr(predicted, actual).statistic, abs=1e-12)
    assert s.kendall == pytest.approx(stats.kendalltau(predicted, actual, variant="b").statistic, abs=1e-12)
    assert (s.n, s.n_dropped, s.n_groups, s.bootstrap) == (300, 0, None, "row bootstrap")


def test_vectorised_rank_correlations_match_scipy_with_ties():
    from magnet.stats.bootstrap import weighted_pearson, weighted_ranks

    rng = np.random.default_rng(1)
    for n in (30, scoring.PAIRWISE_KENDALL_MAX + 10):  # all-pairs path, then scipy per resample
        x = rng.integers(0, 5, size=n).astype(float)
        y = x + rng.integers(0, 3, size=n)
        w = rng.multinomial(n, np.full(n, 1 / n), size=25).astype(float)  # 25 resamples as row multiplicities
        w[0] = 0.0
        w[0, x == 2.0] = 3.0  # only rows with x == 2 drawn: undefined
        tau = scoring._weighted_kendall(x, y, w)
        rho = weighted_pearson(weighted_ranks(x, w), weighted_ranks(y, w), w)
        assert math.isnan(tau[0]) and math.isnan(rho[0])
        for b in range(1, 25):
            idx = np.repeat(np.arange(n), w[b].astype(int))
            assert tau[b] == pytest.approx(stats.kendalltau(x[idx], y[idx]).statistic, abs=1e-12)
            assert rho[b] == pytest.approx(stats.spearmanr(x[idx], y[idx]).statistic, abs=1e-12)


@pytest.mark.parametrize("ties", [False, True])
def test_weighted_bootstrap_equals_explicit_resamples(ties):
    predicted, actual = noisy_predictions(n=60, seed=2)
    if ties:
        predicted, actual = np.round(predicted, 1), np.round(actual, 1)
    groups = np.repeat(np.arange(12), 5)
    for plan in (make_plan(60, n_boot=30, seed=3), make_plan(60, groups=groups, n_boot=30, seed=3)):
        fast = scoring._weighted_replicates(plan, predicted, actual) | scoring._rank_replicates(
            plan, predicted, actual
        )
        for b, idx in enumerate(plan):
            p, a = predicted[idx], actual[idx]
            assert fast["mae"][b] == pytest.approx(mean_absolute_error(a, p), abs=1e-12)
            assert fast["rmse"][b] == pytest.approx(root_mean_squared_error(a, p), abs=1e-12)
            assert fast["bias"][b] == pytest.approx(np.mean(p - a), abs=1e-12)
            assert fast["r2"][b] == pytest.approx(r2_score(a, p), abs=1e-9)
            assert fast["spearman"][b] == pytest.approx(stats.spearmanr(p, a).statistic, abs=1e-12)
            assert fast["kendall"][b] == pytest.approx(stats.kendalltau(p, a).statistic, abs=1e-12)


# ------------------------------------------------------------------ intervals


def test_intervals_contain_point_estimates():
    predicted, actual = noisy_predictions()
    s = score_predictions(predicted, actual, n_boot=500, seed=0)
    for name in METRICS:
        low, high = getattr(s, f"{name}_ci")
        assert low < getattr(s, name) < high, name


def test_same_seed_same_intervals_other_seed_other_intervals():
    predicted, actual = noisy_predictions(n=80)
    a = score_predictions(predicted, actual, n_boot=200, seed=11)
    b = score_predictions(predicted, actual, n_boot=200, seed=11)
    c = score_predictions(predicted, actual, n_boot=200, seed=12)
    assert a == b
    assert a.mae_ci != c.mae_ci


def test_cluster_bootstrap_wider_than_row_bootstrap_with_group_effects():
    rng = np.random.default_rng(4)
    n_models, runs = 12, 25
    groups = np.repeat([f"model-{i}" for i in range(n_models)], runs)
    actual = rng.uniform(0.2, 0.8, n_models * runs)
    model_bias = rng.normal(0, 0.1, n_models)[np.repeat(np.arange(n_models), runs)]
    predicted = actual + model_bias + rng.normal(0, 0.01, n_models * runs)
    rows = score_predictions(predicted, actual, n_boot=500, seed=0)
    clustered = score_predictions(predicted, actual, groups=groups, n_boot=500, seed=0)
    width = lambda ci: ci[1] - ci[0]  # noqa: E731
    assert clustered.bootstrap == "cluster bootstrap over 12 groups" and clustered.n_groups == 12
    assert clustered.mae == rows.mae
    for name in ("bias", "mae", "rmse"):
        assert width(getattr(clustered, f"{name}_ci")) > 2 * width(getattr(rows, f"{name}_ci")), name


def true_normal_mae(mu: float, sigma: float) -> float:
    """E|e| for e ~ Normal(mu, sigma) (folded normal mean)."""
    return sigma * math.sqrt(2 / math.pi) * math.exp(-(mu**2) / (2 * sigma**2)) + mu * (
        1 - 2 * stats.norm.cdf(-mu / sigma)
    )


def test_mae_interval_covers_population_mae_about_95_percent():
    rng = np.random.default_rng(2024)
    mu, sigma, n, reps = 0.03, 0.1, 40, 200
    target = true_normal_mae(mu, sigma)
    covered = 0
    for rep in range(reps):
        actual = rng.uniform(0, 1, n)
        predicted = actual + rng.normal(mu, sigma, n)
        low, high = score_predictions(predicted, actual, n_boot=400, seed=rep).mae_ci
        covered += low <= target <= high
    assert 0.88 <= covered / reps <= 0.99


# ----------------------------------------------------- NaN and degenerate data


def test_nan_rows_are_dropped_and_counted_with_their_groups():
    predicted, actual = noisy_predictions(n=50)
    groups = np.repeat(np.arange(10), 5)
    predicted[[0, 1, 2, 3, 4]] = np.nan  # all of group 0
    actual[7] = np.inf
    s = score_predictions(predicted, actual, groups=groups, n_boot=50)
    assert (s.n, s.n_dropped, s.n_groups) == (44, 6, 9)
    keep = np.isfinite(predicted) & np.isfinite(actual)
    assert s.mae == pytest.approx(mean_absolute_error(actual[keep], predicted[keep]))


def test_degenerate_inputs_give_nan_not_exceptions():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        empty = score_predictions([np.nan], [1.0])
        single = score_predictions([0.5], [0.7])
        constant = score_predictions([0.5, 0.5, 0.5, 0.5], [0.1, 0.3, 0.2, 0.9], n_boot=100)
        flat_actual = score_predictions([0.1, 0.3, 0.2, 0.9], [0.5, 0.5, 0.5, 0.5], n_boot=100)
    assert empty.n == 0 and empty.n_dropped == 1
    assert all(math.isnan(getattr(empty, m)) for m in METRICS)
    assert single.mae == pytest.approx(0.2) and math.isnan(single.spearman) and math.isnan(single.r2)
    assert all(math.isnan(v) for v in single.mae_ci)
    assert math.isnan(constant.spearman) and math.isnan(constant.kendall) and math.isnan(constant.spearman_ci[0])
    assert constant.r2 == pytest.approx(r2_score([0.1, 0.3, 0.2, 0.9], [0.5] * 4))
    assert math.isnan(flat_actual.r2) and math.isnan(flat_actual.kendall)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(predicted=[1, 2], actual=[1, 2, 3]), "^predicted and actual must have the same length, got 2 and 3$"),
        (dict(predicted=[[1, 2]], actual=[1, 2]), r"^predicted must be 1-D, got an array of shape \(1, 2\)$"),
        (dict(predicted=[1, 2], actual=["x", "y"]), "^actual must be numeric, got values that are not: could not convert string to float: 'x'$"),
        (dict(predicted=[1, 2], actual=[1, 2], groups=[1]), r"^groups must be 1-D with one label per row \(2\), got shape \(1,\)$"),
        (dict(predicted=[1, 2], actual=[1, 2], ci=1.0), r"^ci must be in \(0, 1\), got 1.0$"),
        (dict(predicted=[1, 2], actual=[1, 2], n_boot=2.5), "^n_boot must be a non-negative integer, got 2.5$"),
    ],
)
def test_malformed_input_raises_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        score_predictions(**kwargs)


def test_to_dict_has_every_field():
    s = score_predictions(*noisy_predictions(n=30), n_boot=20)
    d = s.to_dict()
    assert isinstance(s, Scores)
    assert set(d) >= {"n", "n_groups", "bootstrap"} | set(METRICS) | {f"{m}_ci" for m in METRICS}
    assert d["mae_ci"] == s.mae_ci


# ------------------------------------------------------------------ bootstrap


def test_plan_resamples_whole_groups():
    groups = np.array(["a"] * 3 + ["b"] * 2 + ["c"] * 4)
    plan = make_plan(9, groups=groups, n_boot=50, seed=0)
    for idx in plan:
        labels, counts = np.unique(groups[idx], return_counts=True)
        sizes = {"a": 3, "b": 2, "c": 4}
        assert all(count % sizes[label] == 0 for label, count in zip(labels, counts))
    np.testing.assert_array_equal(plan.weights().sum(axis=1), [len(i) for i in plan])


def test_bootstrap_ci_helper_and_percentile_interval():
    x = np.random.default_rng(0).normal(size=100)
    lo, hi = bootstrap_ci(lambda idx: x[idx].mean(), 100, n_boot=1000, seed=0)
    se = x.std(ddof=1) / 10
    assert lo == pytest.approx(x.mean() - 1.96 * se, abs=0.3 * se)
    assert hi == pytest.approx(x.mean() + 1.96 * se, abs=0.3 * se)
    assert percentile_interval([1.0, np.nan, np.nan, np.nan]) == pytest.approx((np.nan, np.nan), nan_ok=True)
    with pytest.raises(ValueError, match="groups"):
        make_plan(3, groups=["a", None, "b"])


def test_cluster_intervals_of_mean_type_metrics_are_bootstrap_t_of_the_errors():
    """With groups: mae and rmse on the log scale (rmse via the MSE), bias on the raw scale, from the same plan;
    the other metrics keep the percentile interval of the cluster resamples."""
    from magnet.stats.bootstrap import studentized_cluster_interval

    predicted, actual = noisy_predictions(n=72, seed=5)
    groups = np.repeat([f"m{i}" for i in range(8)], 9)
    predicted = predicted + np.repeat(np.random.default_rng(1).normal(0, 0.05, 8), 9)
    s = score_predictions(predicted, actual, groups=groups, n_boot=300, ci=0.9, seed=4)
    plan = make_plan(72, groups=groups, n_boot=300, seed=4)
    err = predicted - actual
    assert s.mae_ci == pytest.approx(studentized_cluster_interval(np.abs(err), plan, 0.9, log=True), rel=1e-12)
    assert s.bias_ci == pytest.approx(studentized_cluster_interval(err, plan, 0.9), rel=1e-12)
    mse = studentized_cluster_interval(err**2, plan, 0.9, log=True)
    assert s.rmse_ci == pytest.approx((math.sqrt(mse[0]), math.sqrt(mse[1])), rel=1e-12)
    assert s.rmse_ci[0] < s.rmse < s.rmse_ci[1] and s.mae_ci[0] < s.mae < s.mae_ci[1]
    spearman = [stats.spearmanr(predicted[idx], actual[idx]).statistic for idx in plan]
    assert s.spearman_ci == pytest.approx(tuple(np.quantile(spearman, [0.05, 0.95])), abs=1e-12)
    r2 = [r2_score(actual[idx], predicted[idx]) for idx in plan]
    assert s.r2_ci == pytest.approx(tuple(np.quantile(r2, [0.05, 0.95])), abs=1e-9)


def test_cluster_rmse_interval_is_nan_when_the_mse_interval_is():
    # 2 groups: most resamples draw one group twice, so the bootstrap-t is undefined
    s = score_predictions([0.1, 0.4, 0.3, 0.9], [0.2, 0.2, 0.5, 0.5], groups=[0, 0, 1, 1], n_boot=10, seed=0)
    assert all(math.isnan(v) for v in s.rmse_ci + s.mae_ci + s.bias_ci)
    assert s.n_groups == 2 and s.bootstrap == "cluster bootstrap over 2 groups"


def test_two_rows_are_enough_for_every_metric():
    predicted, actual = np.array([0.2, 0.7]), np.array([0.1, 0.9])
    s = score_predictions(predicted, actual, n_boot=50, seed=1)
    assert s.r2 == pytest.approx(r2_score(actual, predicted))
    assert s.spearman == pytest.approx(stats.spearmanr(predicted, actual).statistic)
    assert s.kendall == pytest.approx(stats.kendalltau(predicted, actual).statistic)
    lo, hi = s.mae_ci  # resamples of 2 rows: each row's error twice, or both
    assert lo == pytest.approx(0.1) and hi == pytest.approx(0.2)


def test_defaults_and_reported_settings():
    predicted, actual = noisy_predictions(n=40)
    default = score_predictions(predicted, actual)
    assert default == score_predictions(predicted, actual, n_boot=1000, seed=0, ci=0.95)
    assert (default.n_boot, default.ci) == (1000, 0.95)
    other = score_predictions(predicted, actual, n_boot=200, ci=0.9)
    assert (other.n_boot, other.ci) == (200, 0.9)


@pytest.mark.parametrize("ci", [0.0, 1.0, 1.5])
def test_ci_is_checked_even_without_resamples(ci):
    with pytest.raises(ValueError, match=rf"^ci must be in \(0, 1\), got {ci}$"):
        score_predictions([1, 2], [1, 2], ci=ci, n_boot=0)


def test_r2_replicate_is_nan_when_a_resample_draws_a_single_actual_value():
    """As the point r2 is NaN for constant actual values, so is a resample's, even when rounding leaves sst > 0."""
    from magnet.stats.bootstrap import ResamplePlan

    actual = np.array([0.63] * 4 + [0.5, 0.43, 0.62, 1.0])
    predicted = actual + np.array([0.05, -0.02, 0.1, 0.0, 0.03, -0.04, 0.02, 0.01])
    draws = np.array([[1, 1, 1, 1, 1, 2, 3, 3],  # rows 0-3 only, all with actual 0.63
                      [0, 1, 2, 3, 4, 5, 6, 7]])
    plan = ResamplePlan(8, draws, (), np.arange(8), clustered=False)
    r2 = scoring._weighted_replicates(plan, predicted, actual)["r2"]
    assert math.isnan(score_predictions(predicted[:4], actual[:4], n_boot=0).r2)
    assert math.isnan(r2[0]) and r2[1] == pytest.approx(r2_score(actual, predicted))


def test_metrics_scale_with_the_units():
    """Errors scale with the units, r2 and rank correlations do not; the intervals follow (same resamples)."""
    predicted, actual = noisy_predictions(n=60, seed=3)
    groups = np.repeat(np.arange(6), 10)
    for g in (None, groups):
        base = score_predictions(predicted, actual, groups=g, n_boot=200, seed=1)
        small = score_predictions(1e-5 * predicted, 1e-5 * actual, groups=g, n_boot=200, seed=1)
        for name in ("mae", "rmse", "bias"):
            assert getattr(small, name) == pytest.approx(1e-5 * getattr(base, name), rel=1e-9)
            assert getattr(small, f"{name}_ci") == pytest.approx(tuple(1e-5 * v for v in getattr(base, f"{name}_ci")), rel=1e-6)
        for name in ("r2", "spearman", "kendall"):
            assert getattr(small, name) == pytest.approx(getattr(base, name), rel=1e-9)
            assert getattr(small, f"{name}_ci") == pytest.approx(getattr(base, f"{name}_ci"), rel=1e-6)


def test_vectorised_kendall_over_many_resamples_and_the_smallest_ones():
    """Every resample is computed (the pairs are processed in blocks of resamples), and a resample of two rows counts."""
    rng = np.random.default_rng(7)
    n = 100  # 4950 pairs: blocks of 808 resamples
    x, y = rng.normal(size=n), rng.normal(size=n)
    w = rng.multinomial(n, np.full(n, 1 / n), size=1700).astype(float)
    tau = scoring._weighted_kendall(x, y, w)
    assert tau.shape == (1700,)
    for b in (0, 807, 808, 1615, 1616, 1699):
        idx = np.repeat(np.arange(n), w[b].astype(int))
        assert tau[b] == pytest.approx(stats.kendalltau(x[idx], y[idx]).statistic, abs=1e-12), b
    small = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [3.0, 0.0, 0.0]])
    got = scoring._weighted_kendall(np.array([1.0, 2.0, 3.0]), np.array([2.0, 1.0, 3.0]), small)
    assert got[0] == -1.0 and got[1] == 1.0 and math.isnan(got[2])
