"""Coverage of the cluster MAE interval at 8 models (issue 17), and gain share on the same runs.

World: 8 models x 9 runs; a run's error is a model effect plus run noise
(equal variances: half the error is shared by the model's runs), so the MAE
the intervals should cover is ``E|u + e| = sqrt(2/pi) * sd``.  Over 1000
simulated leaderboards (Monte Carlo standard error of a coverage near 95%:
0.7 points) the studentized cluster interval must cover at least 93%; the
percentile cluster interval it replaced does not.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from magnet.stats.bootstrap import make_plan, percentile_interval, studentized_cluster_interval
from magnet.stats.gain import gain_share
from magnet.stats.scoring import score_predictions

SIMS = 1000


def coverage_at_8_models(seed=0, n_boot=400):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(8), 9)
    true_mae = math.sqrt(0.05**2 + 0.05**2) * math.sqrt(2 / math.pi)
    hits_t = hits_pct = 0
    for _ in range(SIMS):
        err = np.abs(rng.normal(0, 0.05, 8)[g] + rng.normal(0, 0.05, g.size))
        plan = make_plan(g.size, groups=g, n_boot=n_boot, seed=int(rng.integers(2**31)))
        lo, hi = studentized_cluster_interval(err, plan, log=True)
        hits_t += lo <= true_mae <= hi
        w = plan.weights()
        lo, hi = percentile_interval((w @ err) / w.sum(axis=1))
        hits_pct += lo <= true_mae <= hi
    return hits_t / SIMS, hits_pct / SIMS


def test_studentized_cluster_mae_interval_covers_at_8_models():
    studentized, percentile = coverage_at_8_models()
    assert studentized >= 0.93, studentized
    assert percentile < 0.93, percentile  # the interval it replaced under-covers


def test_score_predictions_uses_the_studentized_interval_with_groups():
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(8), 9)
    actual = rng.uniform(0.2, 0.8, g.size)
    predicted = actual + rng.normal(0, 0.05, 8)[g] + rng.normal(0, 0.05, g.size)
    s = score_predictions(predicted, actual, groups=g, n_boot=300, seed=3)
    plan = make_plan(g.size, groups=g, n_boot=300, seed=3)
    assert s.mae_ci == pytest.approx(studentized_cluster_interval(np.abs(predicted - actual), plan, log=True))
    assert s.bias_ci == pytest.approx(studentized_cluster_interval(predicted - actual, plan))
    lo, hi = studentized_cluster_interval((predicted - actual) ** 2, plan, log=True)
    assert s.rmse_ci == pytest.approx((math.sqrt(max(lo, 0)), math.sqrt(hi)))
    rows = score_predictions(predicted, actual, n_boot=300, seed=3)  # no groups: percentile row bootstrap
    w = make_plan(g.size, n_boot=300, seed=3).weights()
    assert rows.mae_ci == pytest.approx(percentile_interval((w @ np.abs(predicted - actual)) / w.sum(axis=1)))


def test_gain_share_uses_the_same_runs_for_all_three_means():
    a = np.array([0.2, 0.5, 0.7, 0.9, 0.4, 0.6, 0.3])
    pred = a + 0.01
    base = a + 0.1
    floors = np.full(7, 0.02)
    base[6] = np.nan  # no revealed mean for this run: it leaves all three means
    pred[6] = a[6] + 0.5
    g = gain_share(pred, a, base, floors, n_boot=0)
    assert (g.n, g.n_dropped) == (6, 1)
    assert g.mae == pytest.approx(0.01) and g.baseline_mae == pytest.approx(0.1) and g.floor == pytest.approx(0.02)
    assert g.estimate == pytest.approx((0.1 - 0.01) / (0.1 - 0.02))


def test_gain_share_interval_resamples_models():
    rng = np.random.default_rng(6)
    g = np.repeat(np.arange(8), 9)
    a = rng.uniform(0.2, 0.8, g.size)
    pred = a + rng.normal(0, 0.04, 8)[g] + rng.normal(0, 0.02, g.size)
    base = a + rng.normal(0, 0.1, g.size)
    floors = np.full(g.size, 0.03)
    clustered = gain_share(pred, a, base, floors, groups=g, n_boot=500, seed=1)
    rows = gain_share(pred, a, base, floors, n_boot=500, seed=1)
    assert clustered.ci[0] < clustered.estimate < clustered.ci[1]
    assert clustered.ci[1] - clustered.ci[0] > rows.ci[1] - rows.ci[0]
    assert clustered.bootstrap == "cluster bootstrap over 8 groups"
    with pytest.raises(ValueError, match="same length"):
        gain_share(pred, a, base, floors[:3])
