"""Gain share: how much of the attainable improvement over the revealed-sample mean a predictor captures.

On a set of runs, with ``a`` the actual values, ``p`` the predictions, ``b``
the revealed-sample means and ``f`` each run's noise floor (the expected
absolute error of an oracle that knows the run's true rate,
:mod:`magnet.stats.noise_floor`)::

    gain_share = (mean|b - a| - mean|p - a|) / (mean|b - a| - mean f)

1 means the predictor is as good as the oracle, 0 as good as the revealed
mean, negative worse.  All three means are over **the same runs** (runs
missing any of the four values are dropped and counted).  The floor is a
*plug-in* estimate: each run's floor is computed from the run's observed mean
as its true rate, so it is itself noisy (and biased slightly low for runs near
0 or 1); the interval below does not include that uncertainty.

The interval is a percentile bootstrap of the ratio, resampling whole groups
(models) when ``groups`` is given; resamples whose denominator is not positive
are undefined (NaN) and ignored (no interval when more than half are).

Examples
--------
>>> a = np.array([0.2, 0.5, 0.7, 0.9, 0.4, 0.6])
>>> g = gain_share(a + 0.01, a, a + 0.1, np.full(6, 0.02), n_boot=0)
>>> print(g.n, round(g.estimate, 3))
6 1.125
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from magnet.stats.bootstrap import as_group_labels, make_plan, percentile_interval
from magnet.stats.scoring import as_float_vector

__all__ = ["GainShare", "gain_share"]


@dataclass(frozen=True)
class GainShare:
    """Gain share on one set of runs, with its bootstrap interval.

    Attributes
    ----------
    estimate : float
        The gain share (NaN when the revealed mean is not above the floor).
    ci : tuple of float
        Percentile bootstrap interval.
    n : int
        Runs used.
    n_dropped : int
        Runs dropped for a missing value.
    mae, baseline_mae, floor : float
        The three means on those runs.
    bootstrap : str
        Which bootstrap made ``ci``.
    """

    estimate: float
    ci: tuple[float, float]
    n: int
    n_dropped: int
    mae: float
    baseline_mae: float
    floor: float
    bootstrap: str


def _ratio(num_pred, num_base, floor) -> np.ndarray:
    """``(base - pred) / (base - floor)``, NaN where the denominator is not positive."""
    denom = num_base - floor
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 1e-12, (num_base - num_pred) / denom, np.nan)


def gain_share(predicted, actual, baseline, floors, *, groups=None, n_boot: int = 1000, ci: float = 0.95,
               seed: int | None = 0) -> GainShare:
    """Gain share of predictions over a baseline, relative to the noise floor, on the same runs.

    Parameters
    ----------
    predicted, actual, baseline, floors : array-like
        One value per run: prediction, actual value, baseline prediction
        (the revealed-sample mean) and the run's noise floor.
    groups : array-like, optional
        One label per run (the model); the bootstrap then resamples groups.
    n_boot : int
        Bootstrap resamples (0: no interval).
    ci : float
        Coverage of the interval.
    seed : int or None
        Seed of the bootstrap.

    Returns
    -------
    GainShare
        Estimate, interval and the means it is made of.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a = rng.uniform(0.2, 0.8, 60)
    >>> g = gain_share(a + rng.normal(0, 0.03, 60), a, a + rng.normal(0, 0.1, 60), np.full(60, 0.02),
    ...                groups=np.repeat(np.arange(6), 10), n_boot=300)
    >>> bool(g.ci[0] < g.estimate < g.ci[1]), g.bootstrap
    (True, 'cluster bootstrap over 6 groups')
    """
    columns = [as_float_vector(v, name) for v, name in
               ((predicted, "predicted"), (actual, "actual"), (baseline, "baseline"), (floors, "floors"))]
    n_all = columns[0].size
    if any(c.size != n_all for c in columns):
        raise ValueError(f"predicted, actual, baseline and floors must have the same length, got "
                         f"{[c.size for c in columns]}")
    labels = None if groups is None else as_group_labels(groups, n_all)
    keep = np.all([np.isfinite(c) for c in columns], axis=0)
    pred, act, base, floor = (c[keep] for c in columns)
    labels = None if labels is None else labels[keep]
    n = int(keep.sum())
    err_pred, err_base = np.abs(pred - act), np.abs(base - act)
    if n == 0:
        nan = float("nan")
        return GainShare(nan, (nan, nan), 0, n_all, nan, nan, nan, "none")
    estimate = float(_ratio(err_pred.mean(), err_base.mean(), floor.mean()))
    plan = make_plan(n, groups=labels, n_boot=n_boot, seed=seed)
    if plan.n_boot == 0:
        interval = (float("nan"), float("nan"))
    else:
        reps = []
        for w in plan.weight_chunks():
            total = w.sum(axis=1)
            reps.append(_ratio(w @ err_pred / total, w @ err_base / total, w @ floor / total))
        interval = percentile_interval(np.concatenate(reps), ci)
    return GainShare(estimate, interval, n, n_all - n, float(err_pred.mean()), float(err_base.mean()),
                     float(floor.mean()), plan.description if plan.n_boot else "none")
