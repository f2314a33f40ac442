"""magnet.stats.bootstrap against brute force: every vectorised shortcut equals the resample written out."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from magnet.stats.bootstrap import (
    as_group_labels,
    bootstrap_ci,
    drawn_constant,
    make_plan,
    percentile_interval,
    weighted_pearson,
    weighted_ranks,
)


@pytest.mark.parametrize("groups", [None, ["b", "a", "b", "c", "a", "a", "d"]])
def test_weights_count_each_rows_copies_in_each_resample(groups):
    plan = make_plan(7, groups=groups, n_boot=50, seed=3)
    weights = plan.weights()
    assert weights.shape == (50, 7)
    for b in range(plan.n_boot):
        np.testing.assert_array_equal(weights[b], np.bincount(plan.indices(b), minlength=7))
    chunks = np.vstack(list(plan.weight_chunks()))
    np.testing.assert_array_equal(chunks, weights)
    np.testing.assert_array_equal(plan.weights(10, 20), weights[10:20])


def test_cluster_plan_draws_whole_groups_with_replacement():
    groups = np.array(["m1", "m1", "m2", "m3", "m3", "m3"])
    plan = make_plan(6, groups=groups, n_boot=200, seed=0)
    assert (plan.clustered, plan.n_clusters, plan.description) == (True, 3, "cluster bootstrap over 3 groups")
    assert plan.draws.shape == (200, 3) and plan.draws.min() == 0 and plan.draws.max() == 2
    for b in range(plan.n_boot):
        idx = plan.indices(b)
        expected = np.concatenate([np.flatnonzero(groups == ["m1", "m2", "m3"][c]) for c in plan.draws[b]])
        np.testing.assert_array_equal(idx, expected)
    assert plan.index_matrix() is None
    # each group is drawn with probability 1 - (2/3)^3 per resample
    drawn_m1 = np.mean([(plan.draws[b] == 0).any() for b in range(200)])
    assert drawn_m1 == pytest.approx(1 - (2 / 3) ** 3, abs=0.1)


def test_row_plan_is_uniform_and_reproducible():
    plan = make_plan(5, n_boot=4000, seed=7)
    assert (plan.clustered, plan.n_clusters, plan.description) == (False, 5, "row bootstrap")
    assert plan.index_matrix().shape == (4000, 5)
    counts = np.bincount(plan.index_matrix().ravel(), minlength=5) / plan.index_matrix().size
    np.testing.assert_allclose(counts, 0.2, atol=0.01)
    np.testing.assert_array_equal(make_plan(5, n_boot=10, seed=7).draws, make_plan(5, n_boot=10, seed=7).draws)
    assert not np.array_equal(make_plan(5, n_boot=10, seed=7).draws, make_plan(5, n_boot=10, seed=8).draws)
    assert make_plan(0, n_boot=3).weights().shape == (3, 0)
    assert make_plan(0, groups=[], n_boot=3).n_clusters == 0


def test_weighted_ranks_and_pearson_equal_scipy_on_the_written_out_resample():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, 12).astype(float)  # many ties
    b = rng.normal(size=12)
    plan = make_plan(12, groups=rng.integers(0, 4, 12), n_boot=40, seed=1)
    w = plan.weights()
    ranks = weighted_ranks(a, w)
    rho = weighted_pearson(weighted_ranks(a, w), weighted_ranks(b, w), w)
    r = weighted_pearson(a, b, w)
    for row in range(w.shape[0]):
        idx = np.repeat(np.arange(12), w[row].astype(int))
        np.testing.assert_allclose(ranks[row, idx], stats.rankdata(a[idx]), atol=1e-12)
        if np.ptp(a[idx]) > 0 and np.ptp(b[idx]) > 0:
            assert rho[row] == pytest.approx(stats.spearmanr(a[idx], b[idx]).statistic, abs=1e-12)
            assert r[row] == pytest.approx(np.corrcoef(a[idx], b[idx])[0, 1], abs=1e-12)
        else:
            assert math.isnan(r[row])
        assert drawn_constant(a, w)[row] == (len(set(a[idx])) < 2)


def test_weighted_pearson_is_nan_without_spread():
    w = np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 1.0]])
    r = weighted_pearson(np.array([1.0, 1.0, 3.0]), np.array([0.0, 1.0, 2.0]), w)
    assert math.isnan(r[0]) and r[1] == pytest.approx(1.0)
    assert weighted_ranks(np.array([]), np.zeros((2, 0))).shape == (2, 0)


def test_percentile_interval_is_numpys_quantile_of_the_defined_replicates():
    rng = np.random.default_rng(2)
    x = rng.normal(size=301)
    for ci in (0.5, 0.9, 0.95):
        lo, hi = percentile_interval(x, ci)
        assert (lo, hi) == tuple(np.quantile(x, [(1 - ci) / 2, 1 - (1 - ci) / 2]))
    with_nan = np.r_[x, [np.nan] * 100]
    assert percentile_interval(with_nan, 0.9) == percentile_interval(x, 0.9)
    # fewer than half defined: undefined
    half = np.r_[x[:10], [np.nan] * 11]
    assert all(math.isnan(v) for v in percentile_interval(half))
    assert not any(math.isnan(v) for v in percentile_interval(np.r_[x[:10], [np.nan] * 10]))


def test_bootstrap_ci_equals_a_loop_over_the_same_plan():
    rng = np.random.default_rng(4)
    x = rng.exponential(size=30)
    groups = rng.integers(0, 6, 30)
    got = bootstrap_ci(lambda idx: float(np.median(x[idx])), 30, groups=groups, n_boot=300, ci=0.9, seed=5)
    plan = make_plan(30, groups=groups, n_boot=300, seed=5)
    expected = np.quantile([np.median(x[idx]) for idx in plan], [0.05, 0.95])
    assert got == pytest.approx(tuple(expected), abs=1e-12)
    # a continuous statistic: the seed picks the plan
    mean_ci = bootstrap_ci(lambda idx: float(x[idx].mean()), 30, n_boot=200, seed=5)
    loop = np.quantile([x[idx].mean() for idx in make_plan(30, n_boot=200, seed=5)], [0.025, 0.975])
    assert mean_ci == pytest.approx(tuple(loop), abs=1e-12)
    assert mean_ci != bootstrap_ci(lambda idx: float(x[idx].mean()), 30, n_boot=200, seed=6)
    # one resample: an interval of zero width at that resample's value
    only = make_plan(30, n_boot=1, seed=2).indices(0)
    assert bootstrap_ci(lambda idx: float(x[idx].mean()), 30, n_boot=1, seed=2) == (x[only].mean(),) * 2
    assert all(math.isnan(v) for v in bootstrap_ci(lambda idx: 0.0, 30, n_boot=0))
    assert all(math.isnan(v) for v in bootstrap_ci(lambda idx: 0.0, 0, n_boot=10))


@pytest.mark.parametrize("call, message", [
    (lambda: make_plan(-1), r"^n must be a non-negative integer, got -1$"),
    (lambda: make_plan(2.5), r"^n must be a non-negative integer, got 2.5$"),
    (lambda: make_plan(3, n_boot=-2), r"^n_boot must be a non-negative integer, got -2$"),
    (lambda: make_plan(3, n_boot=1.5), r"^n_boot must be a non-negative integer, got 1.5$"),
    (lambda: make_plan(3, groups=["a", "b"]), r"^groups must be 1-D with one label per row \(3\), got shape \(2,\)$"),
    (lambda: make_plan(2, groups=["a", None]), r"^groups must not contain missing labels \(NaN/None\)$"),
    (lambda: percentile_interval([1.0, 2.0], ci=1.0), r"^ci must be in \(0, 1\), got 1.0$"),
    (lambda: percentile_interval([1.0, 2.0], ci=0), r"^ci must be in \(0, 1\), got 0$"),
    (lambda: bootstrap_ci(lambda i: 0.0, 3, ci=0.0), r"^ci must be in \(0, 1\), got 0.0$"),
    (lambda: as_group_labels([[1, 2]], 1), r"^groups must be 1-D with one label per row \(1\), got shape \(1, 2\)$"),
])
def test_malformed_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def cluster_mean_se(values, clusters):
    """statsmodels' cluster-robust (CR1) standard error of a mean: OLS on a constant, one label per cluster."""
    import statsmodels.api as sm

    fit = sm.OLS(values, np.ones((values.size, 1))).fit(cov_type="cluster", cov_kwds={"groups": clusters})
    return float(fit.params[0]), float(fit.bse[0])


@pytest.mark.parametrize("log", [False, True])
def test_studentized_cluster_interval_equals_bootstrap_t_written_out(log):
    """Each resample written out (every drawn copy of a group its own cluster), studentized with statsmodels' CR1 se."""
    from magnet.stats.bootstrap import studentized_cluster_interval

    rng = np.random.default_rng(6)
    sizes = [3, 1, 4, 2, 5, 2]
    labels = np.repeat(["f", "a", "d", "b", "e", "c"], sizes)  # not sorted: groups are numbered as first seen
    values = np.abs(rng.normal(size=len(sizes))[np.repeat(np.arange(len(sizes)), sizes)] + rng.normal(size=labels.size))
    plan = make_plan(labels.size, groups=labels, n_boot=60, seed=2)
    mean, se = cluster_mean_se(values, labels)
    t = []
    for b in range(plan.n_boot):
        idx = plan.indices(b)
        copies = np.repeat(np.arange(plan.n_clusters), [np.sum(plan.codes == c) for c in plan.draws[b]])
        if len(set(labels[idx])) < 2:  # one group drawn every time: no spread between clusters
            continue
        m_b, s_b = cluster_mean_se(values[idx], copies)
        t.append((math.log(m_b) - math.log(mean)) / (s_b / m_b) if log else (m_b - mean) / s_b)
    for ci in (0.8, 0.95):
        q = np.quantile(np.abs(t), ci)
        expected = (mean * math.exp(-q * se / mean), mean * math.exp(q * se / mean)) if log else (mean - q * se, mean + q * se)
        assert studentized_cluster_interval(values, plan, ci, log=log) == pytest.approx(expected, rel=1e-9)


def test_studentized_cluster_interval_degenerate_cases():
    from magnet.stats.bootstrap import studentized_cluster_interval

    g = np.repeat([0, 1, 2], 3)
    v = np.arange(9.0)
    nan = lambda pair: all(math.isnan(x) for x in pair)  # noqa: E731
    assert nan(studentized_cluster_interval(v, make_plan(9, n_boot=50)))  # a row bootstrap: no clusters
    assert nan(studentized_cluster_interval(v, make_plan(9, groups=g, n_boot=0)))
    assert nan(studentized_cluster_interval(v, make_plan(9, groups=np.zeros(9), n_boot=50)))  # one cluster
    two_ok = make_plan(6, groups=g[:6], n_boot=10, seed=6)
    assert np.mean([len(set(d)) == 2 for d in two_ok.draws]) >= 0.5  # most resamples draw both clusters
    # two clusters suffice; a resample with spread draws both once, reproducing the mean: t = 0, q = 0
    assert studentized_cluster_interval(v[:6], two_ok) == (2.5, 2.5)
    # every cluster has the same sum: se 0, the interval is the point
    assert studentized_cluster_interval([1.0, 2.0, 3.0, 2.0, 2.0, 2.0], make_plan(6, groups=[0, 0, 0, 1, 1, 1], n_boot=20)) == (2.0, 2.0)
    # a log interval needs a positive mean
    assert nan(studentized_cluster_interval(-v - 1, make_plan(9, groups=g, n_boot=50), log=True))
    assert not nan(studentized_cluster_interval(-v - 1, make_plan(9, groups=g, n_boot=50)))
    # most resamples draw one of 2 clusters twice (s_b = 0): fewer than half defined, undefined
    two = make_plan(6, groups=g[:6], n_boot=10, seed=0)
    assert np.mean([len(set(d)) == 2 for d in two.draws]) < 0.5 and nan(studentized_cluster_interval(v[:6], two))
    with pytest.raises(ValueError, match=r"^ci must be in \(0, 1\), got 1.5$"):
        studentized_cluster_interval(v, make_plan(9, groups=g, n_boot=5), ci=1.5)


def test_drawn_constant_judges_each_resample_on_its_own_rows():
    values = np.array([1.0, 1.0, 2.0, 3.0])
    w = np.array([[0, 0, 3, 0], [1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 1]], dtype=float)
    assert drawn_constant(values, w).tolist() == [True, True, False, True]


def test_studentized_cluster_interval_edge_rules():
    from magnet.stats.bootstrap import studentized_cluster_interval

    # a log interval needs a mean above 0: exactly 0 (integers summing to 0) is refused, not an error
    g = [0, 0, 1, 1, 2, 2]
    v = [-1.0, 3.0, -2.0, 0.0, 1.0, -1.0]
    plan = make_plan(6, groups=g, n_boot=50, seed=0)
    assert all(math.isnan(x) for x in studentized_cluster_interval(v, plan, log=True))
    lo, hi = studentized_cluster_interval(v, plan)
    assert lo < 0 < hi
    # exactly half the resamples defined (both of 2 clusters drawn): enough
    half = make_plan(6, groups=g[:4] + [1, 1], n_boot=10, seed=7)
    assert np.mean([len(set(d)) == 2 for d in half.draws]) == 0.5
    assert studentized_cluster_interval(np.arange(6.0), half) == (2.5, 2.5)


def test_cluster_plan_depends_on_the_partition_not_on_the_label_names():
    """Groups are numbered as first seen: renaming (or reordering the names of) the groups gives the same plan."""
    import pandas as pd

    names = ["zeta", "alpha", "zeta", "mid", "alpha", "beta", "mid"]
    renamed = [{"zeta": 0, "alpha": 1, "mid": 2, "beta": 3}[g] for g in names]
    plans = [make_plan(7, groups=g, n_boot=30, seed=4) for g in (names, renamed)]
    series = pd.Series(names, index=[10, 3, 7, 1, 0, 2, 5])  # a Series is taken by position
    plans.append(make_plan(7, groups=series, n_boot=30, seed=4))
    for plan in plans[1:]:
        np.testing.assert_array_equal(plan.codes, plans[0].codes)
        for b in range(30):
            np.testing.assert_array_equal(plan.indices(b), plans[0].indices(b))
    np.testing.assert_array_equal(plans[0].codes, [0, 1, 0, 2, 1, 3, 2])


def test_group_labels_are_compared_as_given_not_as_text():
    plan = make_plan(4, groups=[1, "1", 1, "1"], n_boot=5)
    assert plan.n_clusters == 2 and plan.codes.tolist() == [0, 1, 0, 1]


def test_weight_chunks_respect_the_cell_bound_and_add_up_to_the_weights(monkeypatch):
    from magnet.stats import bootstrap

    monkeypatch.setattr(bootstrap, "MAX_CELLS", 10)
    for plan in (make_plan(7, n_boot=9, seed=1), make_plan(3, n_boot=10, seed=2), make_plan(7, groups=[0, 0, 1, 1, 2, 2, 2], n_boot=9)):
        chunks = list(plan.weight_chunks())
        assert all(c.shape[0] >= 1 and c.size <= max(10, plan.n) for c in chunks)
        np.testing.assert_array_equal(np.vstack(chunks), plan.weights())
    assert [c.shape[0] for c in make_plan(3, n_boot=10, seed=2).weight_chunks()] == [3, 3, 3, 1]


def test_plan_defaults_and_row_plan_fields():
    plan = make_plan(6)
    assert plan.draws.shape == (1000, 6) and not plan.clustered
    np.testing.assert_array_equal(plan.draws, make_plan(6, n_boot=1000, seed=0).draws)
    assert plan.members == () and plan.codes.tolist() == list(range(6))
    np.testing.assert_array_equal(plan.weights(), np.stack([np.bincount(d, minlength=6) for d in plan.draws]))
    empty = make_plan(0, groups=[], n_boot=3)
    assert empty.draws.shape == (3, 0) and empty.weights().shape == (3, 0)


def test_cluster_members_keep_row_order_in_large_plans():
    rng = np.random.default_rng(9)
    groups = rng.integers(0, 7, 500)
    plan = make_plan(500, groups=groups, n_boot=2, seed=0)
    first_seen = list(dict.fromkeys(groups.tolist()))
    for c, label in enumerate(first_seen):
        np.testing.assert_array_equal(plan.members[c], np.flatnonzero(groups == label))


def test_percentile_interval_of_one_or_no_replicates():
    assert percentile_interval([3.0]) == (3.0, 3.0)
    assert all(math.isnan(v) for v in percentile_interval([]))


def test_bootstrap_ci_defaults_are_1000_resamples_with_seed_0():
    x = np.random.default_rng(3).exponential(size=30)
    mean = lambda idx: float(x[idx].mean())  # noqa: E731
    default = bootstrap_ci(mean, 30)
    assert default == bootstrap_ci(mean, 30, n_boot=1000, ci=0.95, seed=0)
    assert default != bootstrap_ci(mean, 30, n_boot=1001, seed=0) and default != bootstrap_ci(mean, 30, seed=1)


# ------------------------------------------------------- degenerate rows (issue 27): never raise, say why

def _cluster_iv(values, groups, log, n_boot=500):
    from magnet.stats.bootstrap import cluster_mean_interval

    values = np.asarray(values, dtype=float)
    return cluster_mean_interval(values, make_plan(values.size, groups=groups, n_boot=n_boot, seed=0), log=log)


def test_the_row_that_overflowed_gets_a_stated_fallback_interval():
    # Additive's absolute errors on a 95%-revealed small demo (4 models x 2 runs): q * se / mean = 92.5 on the log
    # scale, and exp(q * se / mean) raised OverflowError for the neighbouring 245. q (229) is over 2x the t(3)
    # quantile, so the cluster-robust t(3) interval is used (issue 28 round 3; before: the percentile interval).
    v = np.array([0.1, 0.1, 0.109, 0.109, 0.3903, 0.3903, 0.1082, 0.1082])
    for scale in (1.0, 0.1, 1e-6):
        iv = _cluster_iv(v * scale, np.repeat(np.arange(4), 2), log=True, n_boot=1000)
        assert iv.method == "cluster-robust t(3) (log scale)" and "t(3) quantile" in iv.note
        assert 0 < iv.low <= (v * scale).mean() <= iv.high <= 2 * (v * scale).max()


@pytest.mark.parametrize("log", [True, False])
def test_degenerate_rows_give_an_interval_or_nan_with_a_reason(log):
    g8 = np.repeat(np.arange(8), 9)
    rng = np.random.default_rng(3)
    one_nonzero = np.zeros(72)
    one_nonzero[5] = 0.4
    almost_zero = np.where(rng.uniform(size=72) < 0.03, rng.uniform(0, 1, 72), 0.0)
    huge_ratio = np.r_[np.full(71, 1e-300), 1.0]  # se / mean enormous
    cases = {
        "all zero": (np.zeros(72), g8),
        "one nonzero": (one_nonzero, g8),
        "almost all zero": (almost_zero, g8),
        "se/mean huge": (huge_ratio, g8),
        "two clusters": (rng.uniform(0, 1, 12), np.repeat([0, 1], 6)),
        "constant": (np.full(72, 0.25), g8),
    }
    for name, (values, groups) in cases.items():
        iv = _cluster_iv(values, groups, log=log)
        assert iv.method in ("bootstrap-t (log scale)" if log else "bootstrap-t", "percentile cluster bootstrap",
                             "exact", "none") or iv.method.startswith("cluster-robust t("), name
        if np.isnan(iv.low) or np.isnan(iv.high):
            assert iv.method == "none" and iv.note, name
        else:
            assert iv.low <= values.mean() + 1e-12 and values.mean() - 1e-12 <= iv.high, name
            assert np.isfinite(iv.low) and np.isfinite(iv.high), name
        if iv.method != ("bootstrap-t (log scale)" if log else "bootstrap-t"):
            assert iv.note, name
    assert _cluster_iv(np.zeros(72), g8, log=log).bounds == (0.0, 0.0)
    assert _cluster_iv(np.full(72, 0.25), g8, log=log).bounds == (0.25, 0.25)


def test_score_predictions_reports_each_interval_that_fell_back():
    from magnet.stats.scoring import score_predictions

    actual = np.array([0.5, 0.6, 0.4, 0.7, 0.2, 0.3, 0.8, 0.9])
    err = np.array([0.1, 0.1, 0.109, 0.109, 0.3903, 0.3903, 0.1082, 0.1082])
    s = score_predictions(actual + err, actual, groups=np.repeat(np.arange(4), 2), n_boot=1000)
    assert s.interval_notes["mae"].startswith("cluster-robust t(3) (log scale): the bootstrap-t quantile")
    assert s.mae_ci[0] <= s.mae <= s.mae_ci[1]
    # the bias's bootstrap-t quantile explodes here too (4 clusters): stated like the MAE's
    assert s.interval_notes.get("bias", "cluster-robust t(3)").startswith("cluster-robust t(3)")
    exact = score_predictions(actual, actual, groups=np.repeat(np.arange(4), 2), n_boot=200)  # constant predictions
    assert exact.mae == 0 and exact.mae_ci == (0.0, 0.0) and exact.interval_notes == {}
