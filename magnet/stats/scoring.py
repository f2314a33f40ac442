"""Error metrics of predictions, with row or cluster bootstrap confidence intervals.

:func:`score_predictions` compares predicted with actual values and reports

========== ============================================================
``mae``     mean absolute error, ``mean(|predicted - actual|)``
``rmse``    root mean squared error
``bias``    mean signed error, ``mean(predicted - actual)``
``r2``      ``1 - SSE / SST`` (scikit-learn's ``r2_score`` convention:
            the coefficient of determination of the predictions as they
            are, not a squared correlation); NaN when ``actual`` is constant
``spearman`` Spearman rank correlation (scipy)
``kendall`` Kendall tau-b (scipy)
========== ============================================================

each with a percentile bootstrap interval.  Runs of the same model are not
independent, so when ``groups`` (e.g. the model of each run) is given the
bootstrap resamples whole groups (a cluster bootstrap, see
:mod:`magnet.stats.bootstrap`) and the result says so in ``Scores.bootstrap``.
With groups, ``mae``, ``bias`` and ``rmse`` (via the mean squared error) get
a symmetric studentized (bootstrap-t) cluster interval instead, on the log
scale for ``mae`` and ``rmse``: the small-number-of-clusters correction (the
percentile interval covers about 85-88% at 8 models, this one 94-95%).

Rows where either value is NaN or infinite are dropped and counted.
Undefined quantities (fewer than two rows, constant inputs) are NaN, never an
exception.  Every metric is bootstrapped from row multiplicities: the
mean-type metrics with one matrix product, the rank correlations with ranks
computed for all resamples at once (:func:`magnet.stats.bootstrap.weighted_ranks`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from magnet.stats.bootstrap import (
    MAX_CELLS,
    ResamplePlan,
    as_group_labels,
    make_plan,
    percentile_interval,
    cluster_mean_interval,
    weighted_pearson,
    weighted_ranks,
)

__all__ = ["Scores", "score_predictions", "as_float_vector"]

NAN = float("nan")
NAN_CI = (NAN, NAN)

#: Largest resample size for which Kendall's tau is computed from all pairs
#: (vectorised); larger resamples use scipy's O(n log n) algorithm.
PAIRWISE_KENDALL_MAX = 120


@dataclass(frozen=True)
class Scores:
    """Error metrics of predictions with bootstrap confidence intervals.

    Attributes
    ----------
    n : int
        Rows used (complete pairs).
    n_dropped : int
        Rows dropped because a value was NaN or infinite.
    n_groups : int or None
        Distinct groups among the rows used, None when no groups were given.
    bootstrap : str
        ``"cluster bootstrap over G groups"`` or ``"row bootstrap"``.
    n_boot : int
        Number of bootstrap resamples.
    ci : float
        Coverage of the intervals.
    mae, rmse, bias, r2, spearman, kendall : float
        Point estimates (see the module docstring).
    mae_ci, rmse_ci, bias_ci, r2_ci, spearman_ci, kendall_ci : tuple of float
        Percentile bootstrap intervals ``(low, high)``.
    interval_notes : dict
        Metric -> how its interval was made instead, and why, for every
        interval that fell back from its usual method or is undefined for a
        reason the data gives (e.g. ``{"mae": "percentile cluster bootstrap:
        ..."}``); empty when every interval is the usual one.

    Examples
    --------
    >>> s = score_predictions([0.1, 0.5, 0.9], [0.2, 0.4, 1.0], n_boot=0)
    >>> print(round(s.mae, 3), s.mae_ci)
    0.1 (nan, nan)
    """

    n: int
    n_dropped: int
    n_groups: int | None
    bootstrap: str
    n_boot: int
    ci: float
    mae: float
    mae_ci: tuple[float, float]
    rmse: float
    rmse_ci: tuple[float, float]
    bias: float
    bias_ci: tuple[float, float]
    r2: float
    r2_ci: tuple[float, float]
    spearman: float
    spearman_ci: tuple[float, float]
    kendall: float
    kendall_ci: tuple[float, float]
    interval_notes: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """All fields as a plain dict (intervals as ``(low, high)`` tuples).

        Returns
        -------
        dict
            Field name to value.

        Examples
        --------
        >>> d = score_predictions([1.0, 2.0, 3.0], [1.0, 2.0, 4.0], n_boot=0).to_dict()
        >>> print(d["n"], round(d["rmse"], 4), d["bootstrap"])
        3 0.5774 row bootstrap
        """
        return asdict(self)


# ----------------------------------------------------------------- validation


def as_float_vector(values, name: str) -> np.ndarray:
    """Convert a 1-D array-like (list, numpy array, pandas Series) to floats.

    Parameters
    ----------
    values : array-like
        The values; a Series is taken by position (its index is ignored).
    name : str
        Name used in error messages.

    Returns
    -------
    numpy.ndarray
        1-D float array (a copy).

    Examples
    --------
    >>> as_float_vector(pd.Series([1, 2]), "x").tolist()
    [1.0, 2.0]
    """
    if isinstance(values, (pd.Series, pd.Index)):
        values = values.to_numpy()
    try:
        array = np.array(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numeric, got values that are not: {err}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {array.shape}")
    return array


def _clean(predicted, actual, groups) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, int]:
    """Validate inputs and drop rows with a non-finite value; return (p, a, groups, n_dropped)."""
    pred = as_float_vector(predicted, "predicted")
    act = as_float_vector(actual, "actual")
    if len(pred) != len(act):
        raise ValueError(f"predicted and actual must have the same length, got {len(pred)} and {len(act)}")
    group_values = None if groups is None else as_group_labels(groups, len(pred))
    keep = np.isfinite(pred) & np.isfinite(act)
    if group_values is not None:
        group_values = group_values[keep]
    return pred[keep], act[keep], group_values, int((~keep).sum())


# -------------------------------------------------------------- point values


def _is_constant(x: np.ndarray) -> bool:
    """True when ``x`` has fewer than two distinct values."""
    return x.size < 2 or bool(np.all(x == x[0]))


def _r2(pred: np.ndarray, act: np.ndarray) -> float:
    """``1 - SSE/SST``; NaN for fewer than 2 rows or constant ``act``."""
    if act.size < 2 or _is_constant(act):
        return NAN
    sse = float(np.sum((pred - act) ** 2))
    sst = float(np.sum((act - act.mean()) ** 2))
    return 1.0 - sse / sst


def _spearman(pred: np.ndarray, act: np.ndarray) -> float:
    """Spearman rho (scipy); NaN when undefined."""
    if _is_constant(pred) or _is_constant(act):
        return NAN
    return float(stats.spearmanr(pred, act).statistic)


def _kendall(pred: np.ndarray, act: np.ndarray) -> float:
    """Kendall tau-b (scipy); NaN when undefined."""
    if _is_constant(pred) or _is_constant(act):
        return NAN
    return float(stats.kendalltau(pred, act).statistic)


def _point_scores(pred: np.ndarray, act: np.ndarray) -> dict[str, float]:
    """Point estimates of every metric."""
    if pred.size == 0:
        return dict.fromkeys(("mae", "rmse", "bias", "r2", "spearman", "kendall"), NAN)
    err = pred - act
    return {
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "bias": float(np.mean(err)),
        "r2": _r2(pred, act),
        "spearman": _spearman(pred, act),
        "kendall": _kendall(pred, act),
    }


# ------------------------------------------------------- bootstrap replicates


def _weighted_replicates(plan: ResamplePlan, pred: np.ndarray, act: np.ndarray) -> dict[str, np.ndarray]:
    """Mean-type metrics of every resample, from row multiplicities (vectorised)."""
    err = pred - act
    centred = act - act.mean()
    parts: dict[str, list[np.ndarray]] = {"mae": [], "rmse": [], "bias": [], "r2": []}
    for w in plan.weight_chunks():
        total = w.sum(axis=1)
        sse = w @ err**2
        mean_centred = (w @ centred) / total
        sst = w @ centred**2 - total * mean_centred**2
        scale = np.maximum(w @ centred**2, np.finfo(float).tiny)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(sst > 1e-12 * scale, 1.0 - sse / sst, np.nan)
        parts["mae"].append((w @ np.abs(err)) / total)
        parts["rmse"].append(np.sqrt(sse / total))
        parts["bias"].append((w @ err) / total)
        parts["r2"].append(r2)
    return {key: np.concatenate(chunks) for key, chunks in parts.items()}


def _weighted_kendall(pred: np.ndarray, act: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Kendall tau-b within each resample given by row multiplicities ``w``.

    Over all pairs of rows ``i < j`` with ``sx = sign(x_i - x_j)`` and
    ``sy = sign(y_i - y_j)``, a pair of drawn rows occurs ``w_i * w_j`` times
    in the resample (copies of one row tie on both sides and count nowhere), so
    ``tau_b = sum(w_i w_j sx sy) / sqrt(sum(w_i w_j |sx|) * sum(w_i w_j |sy|))``,
    which is scipy's ``(P - Q) / sqrt((P + Q + T_x) (P + Q + T_y))`` on the
    resample written out. Above :data:`PAIRWISE_KENDALL_MAX` rows, scipy
    computes each resample.
    """
    n = pred.size
    if n > PAIRWISE_KENDALL_MAX:
        taus = []
        for row in w:
            idx = np.repeat(np.arange(n), row.astype(np.intp))
            taus.append(_kendall(pred[idx], act[idx]))
        return np.array(taus)
    upper_i, upper_j = np.triu_indices(n, 1)
    sx = np.sign(pred[upper_i] - pred[upper_j])
    sy = np.sign(act[upper_i] - act[upper_j])
    step = max(1, MAX_CELLS // max(upper_i.size, 1))
    taus = []
    for start in range(0, w.shape[0], step):
        pair_w = w[start : start + step, upper_i] * w[start : start + step, upper_j]
        denom = np.sqrt((pair_w @ np.abs(sx)) * (pair_w @ np.abs(sy)))
        with np.errstate(divide="ignore", invalid="ignore"):
            tau = (pair_w @ (sx * sy)) / denom
        taus.append(np.where(denom > 0, np.clip(tau, -1.0, 1.0), np.nan))
    return np.concatenate(taus) if taus else np.zeros(0)


def _rank_replicates(plan: ResamplePlan, pred: np.ndarray, act: np.ndarray) -> dict[str, np.ndarray]:
    """Spearman and Kendall of every resample, from row multiplicities (vectorised for both bootstraps)."""
    rho, tau = [], []
    for w in plan.weight_chunks():
        rho.append(weighted_pearson(weighted_ranks(pred, w), weighted_ranks(act, w), w))
        tau.append(_weighted_kendall(pred, act, w))
    return {"spearman": np.concatenate(rho), "kendall": np.concatenate(tau)}


def _bootstrap_intervals(
    pred: np.ndarray, act: np.ndarray, plan: ResamplePlan, ci: float
) -> tuple[dict[str, tuple[float, float]], dict[str, str]]:
    """Intervals of every metric over the resamples of ``plan``, and notes on those that fell back."""
    if plan.n_boot == 0 or pred.size < 2:
        return dict.fromkeys(("mae", "rmse", "bias", "r2", "spearman", "kendall"), NAN_CI), {}
    replicates = _weighted_replicates(plan, pred, act) | _rank_replicates(plan, pred, act)
    intervals = {key: percentile_interval(values, ci) for key, values in replicates.items()}
    notes: dict[str, str] = {}
    if plan.clustered:  # few clusters: bootstrap-t for the mean-type metrics (stated fallbacks when degenerate)
        err = pred - act
        made = {"mae": cluster_mean_interval(np.abs(err), plan, ci, log=True),
                "bias": cluster_mean_interval(err, plan, ci),
                "rmse": cluster_mean_interval(err**2, plan, ci, log=True)}
        for key, iv in made.items():
            if iv.method.startswith(("percentile", "cluster-robust")) or iv.method == "none":
                notes[key] = f"{iv.method}: {iv.note}"
        intervals["mae"], intervals["bias"] = made["mae"].bounds, made["bias"].bounds
        lo, hi = made["rmse"].bounds
        intervals["rmse"] = (math.sqrt(max(lo, 0.0)), math.sqrt(max(hi, 0.0))) if np.isfinite(lo) else NAN_CI
    return intervals, notes


# ---------------------------------------------------------------- public API


def score_predictions(
    predicted: Sequence[float] | np.ndarray | pd.Series,
    actual: Sequence[float] | np.ndarray | pd.Series,
    *,
    groups: Sequence | np.ndarray | pd.Series | None = None,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int | None = 0,
) -> Scores:
    """Score predictions against actual values, with bootstrap confidence intervals.

    Parameters
    ----------
    predicted, actual : array-like
        1-D numeric arrays of equal length, matched by position.
    groups : array-like, optional
        One label per row (e.g. the model of each run).  When given, the
        bootstrap resamples whole groups (cluster bootstrap).
    n_boot : int
        Number of bootstrap resamples; 0 skips the intervals (NaN).
    ci : float
        Coverage of the intervals, in (0, 1).
    seed : int or None
        Random seed; the same seed gives the same intervals.

    Returns
    -------
    Scores
        Point estimates, intervals and counts.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> actual = rng.uniform(0, 1, 200)
    >>> predicted = actual + rng.normal(0, 0.1, 200)
    >>> s = score_predictions(predicted, actual, n_boot=500, seed=0)
    >>> print(s.n, s.bootstrap, round(s.mae, 3), round(s.r2, 2))
    200 row bootstrap 0.081 0.88
    >>> bool(s.mae_ci[0] < s.mae < s.mae_ci[1])
    True
    """
    pred, act, group_values, n_dropped = _clean(predicted, actual, groups)
    plan = make_plan(pred.size, groups=group_values, n_boot=n_boot, seed=seed)
    if not 0.0 < float(ci) < 1.0:
        raise ValueError(f"ci must be in (0, 1), got {ci!r}")
    points = _point_scores(pred, act)
    intervals, notes = _bootstrap_intervals(pred, act, plan, ci)
    return Scores(
        n=int(pred.size),
        n_dropped=n_dropped,
        n_groups=plan.n_clusters if plan.clustered else None,
        bootstrap=plan.description,
        n_boot=plan.n_boot,
        ci=float(ci),
        **{name: points[name] for name in points},
        **{f"{name}_ci": intervals[name] for name in intervals},
        interval_notes=notes,
    )
