"""The cluster MAE interval at 4-6 models: no absurd bounds (issue 28, round 3).

World as ``tests/test_scoring_intervals.py`` (a run's absolute error is |model effect + run noise|, equal
variances, true MAE ``sqrt(2 * 0.05^2) * sqrt(2 / pi)``), with 5 models x 10 runs. The bare bootstrap-t's
quantile sometimes explodes at so few clusters (a villageFlower MMLU LowRank row at 5 models printed
[0.000, 63611] for an MAE of 0.12); the interval must keep its coverage and stay within a sane factor of the mean.
"""

from __future__ import annotations

import math

import numpy as np

from magnet.stats.bootstrap import cluster_mean_interval, make_plan

SIMS = 300


def test_mae_interval_at_5_models_covers_without_absurd_bounds():
    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(5), 10)
    true_mae = math.sqrt(2 * 0.05**2) * math.sqrt(2 / math.pi)
    hits, ratios = 0, []
    for _ in range(SIMS):
        err = np.abs(rng.normal(0, 0.05, 5)[g] + rng.normal(0, 0.05, g.size))
        iv = cluster_mean_interval(err, make_plan(g.size, groups=g, n_boot=200, seed=int(rng.integers(2**31))),
                                   log=True)
        hits += iv.low <= true_mae <= iv.high
        ratios.append(iv.high / err.mean())
    assert hits / SIMS >= 0.92, hits / SIMS  # Monte Carlo SE about 1.3 points near 95%
    assert max(ratios) < 10, max(ratios)  # the bare bootstrap-t reached 1e9 x the mean here


def test_degenerate_bootstrap_t_states_the_t_interval_it_used():
    g = np.repeat(np.arange(5), 2)
    v = np.array([0.1, 0.1, 0.101, 0.101, 0.1, 0.1, 0.4, 0.4, 0.1, 0.1])
    iv = cluster_mean_interval(v, make_plan(10, groups=g, n_boot=500, seed=0), log=True)
    assert iv.method == "cluster-robust t(4) (log scale)", iv
    assert "t(4) quantile" in iv.note and 0 < iv.low < v.mean() < iv.high < 1
