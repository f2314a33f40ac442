"""Row and cluster bootstrap resampling shared by :mod:`magnet.stats.scoring` and :mod:`magnet.stats.mbe`.

Runs of the same model (or the same scenario) are not independent, so a
bootstrap that resamples rows treats correlated rows as independent evidence
and gives intervals that are too narrow.  When ``groups`` is given, the
*cluster bootstrap* resamples whole groups with replacement and keeps every
row of each drawn group; otherwise every row is its own cluster (the ordinary
row bootstrap).

A :class:`ResamplePlan` holds the random draws once, so every statistic
computed from one plan sees exactly the same resamples.  A plan can hand out

* the row indices of one resample (:meth:`ResamplePlan.indices`), for any
  statistic;
* a matrix of row indices (:meth:`ResamplePlan.index_matrix`), when every
  resample has the same size (the row bootstrap), for vectorised statistics;
* a matrix of row multiplicities (:meth:`ResamplePlan.weights`), so that
  mean-type statistics of all resamples are one matrix product, and rank
  statistics of all resamples are a few array operations
  (:func:`weighted_ranks`, :func:`weighted_pearson`).

Intervals are percentile intervals (:func:`percentile_interval`), except for
means under a cluster bootstrap: with few clusters (8 models) the percentile
interval of a mean covers about 87-89% where 95% is claimed, so
:func:`studentized_cluster_interval` gives a bootstrap-t interval (each
resample's mean studentized by its own cluster-robust standard error), which
covers 94-95% at 8 clusters in simulation (``tests/test_scoring_intervals.py``).

No interval here raises on data: :func:`cluster_mean_interval` computes the
log-scale bootstrap-t bounds as ``exp(log m -/+ q s / m)`` with the exponent
bounded, and when that exponent is degenerate (a row whose absolute errors are
almost all zero or nearly equal between most clusters: resamples drawing only
those clusters have a near-zero standard error, so their studentized statistics
and ``q`` are huge), it falls back to the percentile
interval of the resampled means and says so in :attr:`Interval.method`. When the
bootstrap-t quantile ``q`` is more than :data:`MAX_Q_RATIO` times the t(G-1)
quantile (few clusters: resamples drawing only a few of them make ``q`` explode),
the cluster-robust t(G-1) interval is used instead, again with the reason. When
no interval can be made it returns NaN bounds with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np
import pandas as pd
from scipy.stats import t as _t_dist

__all__ = [
    "ResamplePlan",
    "as_group_labels",
    "make_plan",
    "percentile_interval",
    "bootstrap_ci",
    "weighted_ranks",
    "weighted_pearson",
    "drawn_constant",
    "studentized_cluster_interval",
    "Interval",
    "cluster_mean_interval",
]

NAN = float("nan")

#: Largest number of matrix cells (resamples x rows) built at once.
MAX_CELLS = 4_000_000


@dataclass(frozen=True)
class ResamplePlan:
    """The draws of a row or cluster bootstrap.

    Parameters
    ----------
    n : int
        Number of rows of the data being resampled.
    draws : numpy.ndarray
        ``(n_boot, n_clusters)`` integer array; row ``b`` lists the clusters
        drawn (with replacement) for resample ``b``.
    members : tuple of numpy.ndarray
        Row indices belonging to each cluster (empty for the row bootstrap,
        where cluster ``i`` is row ``i``).
    codes : numpy.ndarray
        Cluster number of each row (length ``n``).
    clustered : bool
        True for a cluster bootstrap (``groups`` given).

    Examples
    --------
    >>> plan = make_plan(4, groups=["a", "a", "b", "c"], n_boot=2, seed=0)
    >>> plan.n_boot, plan.n_clusters, plan.clustered
    (2, 3, True)
    >>> plan.weights().sum(axis=1).tolist() == [len(plan.indices(0)), len(plan.indices(1))]
    True
    """

    n: int
    draws: np.ndarray
    members: tuple[np.ndarray, ...]
    codes: np.ndarray
    clustered: bool

    @property
    def n_boot(self) -> int:
        """Number of resamples."""
        return int(self.draws.shape[0])

    @property
    def n_clusters(self) -> int:
        """Number of clusters (groups, or rows for the row bootstrap)."""
        return len(self.members) if self.clustered else self.n

    @property
    def description(self) -> str:
        """Words saying which bootstrap this is, e.g. ``"row bootstrap"``."""
        if self.clustered:
            return f"cluster bootstrap over {self.n_clusters} groups"
        return "row bootstrap"

    def indices(self, b: int) -> np.ndarray:
        """Row indices of resample ``b``.

        Parameters
        ----------
        b : int
            Resample number, ``0 <= b < n_boot``.

        Returns
        -------
        numpy.ndarray
            Row indices (with repeats) making up the resample.

        Examples
        --------
        >>> make_plan(3, n_boot=1, seed=1).indices(0).shape
        (3,)
        """
        if not self.clustered:
            return self.draws[b]
        return np.concatenate([self.members[c] for c in self.draws[b]])

    def __iter__(self) -> Iterator[np.ndarray]:
        """Iterate over the row indices of every resample."""
        for b in range(self.n_boot):
            yield self.indices(b)

    def index_matrix(self) -> np.ndarray | None:
        """All resamples as one ``(n_boot, n)`` index matrix, or None.

        Returns
        -------
        numpy.ndarray or None
            The index matrix for the row bootstrap; None for a cluster
            bootstrap, whose resamples differ in size.

        Examples
        --------
        >>> make_plan(5, n_boot=3, seed=0).index_matrix().shape
        (3, 5)
        >>> make_plan(2, groups=[0, 1], n_boot=3).index_matrix() is None
        True
        """
        return None if self.clustered else self.draws

    def weights(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """How many times each row appears in resamples ``start:stop``.

        Parameters
        ----------
        start, stop : int
            Range of resamples (default: all).

        Returns
        -------
        numpy.ndarray
            ``(stop - start, n)`` float array of row multiplicities.

        Examples
        --------
        >>> plan = make_plan(3, n_boot=4, seed=0)
        >>> plan.weights().sum(axis=1).tolist()
        [3.0, 3.0, 3.0, 3.0]
        """
        draws = self.draws[start:stop]
        n_rows, n_clusters = draws.shape
        offsets = (np.arange(n_rows) * n_clusters)[:, None]
        counts = np.bincount((draws + offsets).ravel(), minlength=n_rows * n_clusters)
        counts = counts.reshape(n_rows, n_clusters).astype(float)
        return counts[:, self.codes] if self.clustered else counts

    def weight_chunks(self) -> Iterator[np.ndarray]:
        """Yield :meth:`weights` in consecutive blocks of bounded size.

        Returns
        -------
        iterator of numpy.ndarray
            Blocks of at most :data:`MAX_CELLS` cells, in resample order.

        Examples
        --------
        >>> sum(w.shape[0] for w in make_plan(10, n_boot=7).weight_chunks())
        7
        """
        step = max(1, MAX_CELLS // max(self.n, 1))
        for start in range(0, self.n_boot, step):
            yield self.weights(start, start + step)


def as_group_labels(groups: Sequence | np.ndarray | pd.Series, n: int) -> np.ndarray:
    """Validate group labels: 1-D, one per row.

    Parameters
    ----------
    groups : array-like
        One hashable label per row (a Series is taken by position).
    n : int
        Expected number of rows.

    Returns
    -------
    numpy.ndarray
        The labels as a 1-D object array.

    Examples
    --------
    >>> as_group_labels(["m1", "m1", "m2"], 3).tolist()
    ['m1', 'm1', 'm2']
    """
    if isinstance(groups, (pd.Series, pd.Index)):
        groups = groups.to_numpy()
    values = np.asarray(groups, dtype=object)
    if values.ndim != 1 or len(values) != n:
        raise ValueError(f"groups must be 1-D with one label per row ({n}), got shape {values.shape}")
    return values


def _group_codes(groups: Sequence | np.ndarray | pd.Series, n: int) -> np.ndarray:
    """Integer cluster codes 0..G-1 for ``groups`` (validated against ``n``)."""
    values = as_group_labels(groups, n)
    if pd.isna(values).any():
        raise ValueError("groups must not contain missing labels (NaN/None)")
    codes, _ = pd.factorize(values, sort=False)
    return codes.astype(np.intp)


def make_plan(
    n: int,
    groups: Sequence | np.ndarray | pd.Series | None = None,
    n_boot: int = 1000,
    seed: int | None = 0,
) -> ResamplePlan:
    """Draw the resamples of a row bootstrap, or of a cluster bootstrap over ``groups``.

    Parameters
    ----------
    n : int
        Number of rows.
    groups : array-like, optional
        One label per row.  When given, whole groups are resampled.
    n_boot : int
        Number of resamples (>= 0).
    seed : int or None
        Seed of :func:`numpy.random.default_rng`; same seed, same plan.

    Returns
    -------
    ResamplePlan
        The draws.

    Examples
    --------
    >>> plan = make_plan(6, groups=[1, 1, 2, 2, 3, 3], n_boot=100, seed=0)
    >>> plan.description
    'cluster bootstrap over 3 groups'
    >>> sorted({len(idx) for idx in plan})
    [6]
    """
    if int(n) != n or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if int(n_boot) != n_boot or n_boot < 0:
        raise ValueError(f"n_boot must be a non-negative integer, got {n_boot!r}")
    n, n_boot = int(n), int(n_boot)
    rng = np.random.default_rng(seed)
    if groups is None:
        codes = np.arange(n, dtype=np.intp)
        draws = rng.integers(0, n, size=(n_boot, n)) if n else np.zeros((n_boot, 0), np.intp)
        return ResamplePlan(n, draws, (), codes, clustered=False)
    codes = _group_codes(groups, n)
    n_clusters = int(codes.max()) + 1 if n else 0
    order = np.argsort(codes, kind="stable")
    splits = np.cumsum(np.bincount(codes, minlength=n_clusters))[:-1]
    members = tuple(np.split(order, splits)) if n else ()
    if n_clusters:
        draws = rng.integers(0, n_clusters, size=(n_boot, n_clusters))
    else:
        draws = np.zeros((n_boot, 0), np.intp)
    return ResamplePlan(n, draws, members, codes, clustered=True)


def percentile_interval(samples: Sequence[float] | np.ndarray, ci: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap replicates, ignoring undefined (NaN) ones.

    Parameters
    ----------
    samples : array-like
        Bootstrap replicates of a statistic; NaN marks a resample where the
        statistic was undefined (e.g. a constant resample for a correlation).
    ci : float
        Coverage, in (0, 1).

    Returns
    -------
    tuple of float
        ``(low, high)``; ``(nan, nan)`` when fewer than half the replicates
        are defined (the interval would describe a biased subset).

    Examples
    --------
    >>> lo, hi = percentile_interval(range(101), ci=0.9)
    >>> print(round(lo, 6), round(hi, 6))
    5.0 95.0
    >>> percentile_interval([float("nan")] * 3)
    (nan, nan)
    """
    _check_ci(ci)
    values = np.asarray(samples, dtype=float).ravel()
    finite = values[np.isfinite(values)]
    if finite.size == 0 or finite.size < 0.5 * values.size:
        return (float("nan"), float("nan"))
    tail = (1.0 - ci) / 2.0
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return (float(low), float(high))


def _check_ci(ci: float) -> None:
    """Raise ValueError unless ``0 < ci < 1``."""
    if not 0.0 < float(ci) < 1.0:
        raise ValueError(f"ci must be in (0, 1), got {ci!r}")


def bootstrap_ci(
    statistic: Callable[[np.ndarray], float],
    n: int,
    groups: Sequence | np.ndarray | pd.Series | None = None,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int | None = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of any statistic of row indices.

    Parameters
    ----------
    statistic : callable
        ``statistic(indices) -> float``: the statistic computed on the rows
        ``indices`` (with repeats).  Return NaN where it is undefined.
    n : int
        Number of rows.
    groups : array-like, optional
        One label per row; when given, whole groups are resampled.
    n_boot : int
        Number of resamples; 0 gives ``(nan, nan)``.
    ci : float
        Coverage, in (0, 1).
    seed : int or None
        Random seed.

    Returns
    -------
    tuple of float
        ``(low, high)``.

    Examples
    --------
    >>> x = np.arange(20.0)
    >>> lo, hi = bootstrap_ci(lambda idx: x[idx].mean(), len(x), n_boot=500, seed=0)
    >>> bool(lo < x.mean() < hi)
    True
    """
    _check_ci(ci)
    plan = make_plan(n, groups=groups, n_boot=n_boot, seed=seed)
    if plan.n_boot == 0 or n == 0:
        return (float("nan"), float("nan"))
    return percentile_interval([statistic(idx) for idx in plan], ci)


def weighted_ranks(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Average rank of each row within each resample given by row multiplicities.

    Row ``i`` appears ``weights[b, i]`` times in resample ``b``; its rank there
    is the one :func:`scipy.stats.rankdata` gives its copies on the expanded
    resample (ties, including the copies themselves, share the average rank).
    One sort of ``values`` serves every resample.

    Parameters
    ----------
    values : numpy.ndarray
        ``(n,)`` values.
    weights : numpy.ndarray
        ``(n_boot, n)`` multiplicities (see :meth:`ResamplePlan.weights`).

    Returns
    -------
    numpy.ndarray
        ``(n_boot, n)`` ranks; rows not drawn get a rank that their zero
        weight makes irrelevant.

    Examples
    --------
    >>> from scipy import stats
    >>> v = np.array([3.0, 1.0, 3.0, 2.0])
    >>> weighted_ranks(v, np.array([[2.0, 0.0, 1.0, 1.0]]))[0, [0, 2, 3]].tolist()
    [3.0, 3.0, 1.0]
    >>> stats.rankdata([3.0, 3.0, 3.0, 2.0]).tolist()   # the resample written out: rows 0, 0, 2, 3
    [3.0, 3.0, 3.0, 1.0]
    """
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return np.zeros(weights.shape)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    new_value = np.r_[True, ordered[1:] != ordered[:-1]]
    starts = np.flatnonzero(new_value)  # first sorted position of each distinct value
    tie_group = np.cumsum(new_value) - 1  # distinct value of each sorted position
    group_weight = np.add.reduceat(weights[:, order], starts, axis=1)  # copies of each distinct value drawn
    below = np.cumsum(group_weight, axis=1) - group_weight  # copies drawn of smaller values
    ranks = np.empty(weights.shape, dtype=float)
    ranks[:, order] = (below + (group_weight + 1.0) / 2.0)[:, tie_group]
    return ranks


def weighted_pearson(a: np.ndarray, b: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Pearson correlation within each resample given by row multiplicities.

    Equal to :func:`numpy.corrcoef` on the expanded resample; NaN where either
    side has no spread.

    Parameters
    ----------
    a, b : numpy.ndarray
        ``(n,)`` or ``(n_boot, n)`` values (e.g. :func:`weighted_ranks`).
    weights : numpy.ndarray
        ``(n_boot, n)`` multiplicities.

    Returns
    -------
    numpy.ndarray
        ``(n_boot,)`` correlations in [-1, 1].

    Examples
    --------
    >>> a, b = np.array([1.0, 2.0, 4.0]), np.array([1.0, 3.0, 2.0])
    >>> w = np.array([[1.0, 2.0, 0.0], [1.0, 1.0, 1.0]])
    >>> r = weighted_pearson(a, b, w)
    >>> bool(np.isclose(r[0], np.corrcoef([1, 2, 2], [1, 3, 3])[0, 1]))
    True
    >>> bool(np.isclose(r[1], np.corrcoef(a, b)[0, 1]))
    True
    """
    total = weights.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        ac = a - (weights * a).sum(axis=1, keepdims=True) / total
        bc = b - (weights * b).sum(axis=1, keepdims=True) / total
        denom = np.sqrt((weights * ac * ac).sum(axis=1) * (weights * bc * bc).sum(axis=1))
        r = (weights * ac * bc).sum(axis=1) / denom
    return np.where(denom > 0, np.clip(r, -1.0, 1.0), np.nan)


def drawn_constant(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """True for the resamples in which the drawn rows hold fewer than two distinct values.

    Examples
    --------
    >>> drawn_constant(np.array([1.0, 1.0, 2.0]), np.array([[2.0, 1.0, 0.0], [1.0, 0.0, 1.0]])).tolist()
    [True, False]
    """
    drawn = weights > 0
    high = np.where(drawn, values, -np.inf).max(axis=1)
    low = np.where(drawn, values, np.inf).min(axis=1)
    return ~(high > low)


def _cluster_mean_and_se(values: np.ndarray, codes: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and CR1 standard error ``sqrt(G/(G-1) sum_g c_g D_g^2) / N`` of each resample given cluster counts."""
    n_clusters = counts.shape[1]
    sums = np.bincount(codes, values, minlength=n_clusters)
    sizes = np.bincount(codes, minlength=n_clusters).astype(float)
    total = counts @ sizes
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = (counts @ sums) / total
        dev = sums[None, :] - sizes[None, :] * mean[:, None]
        se = np.sqrt(n_clusters / max(n_clusters - 1, 1) * (counts * dev * dev).sum(axis=1)) / total
    return mean, se


@dataclass(frozen=True)
class Interval:
    """An interval with the method that made it and, when it fell back or is undefined, why.

    Examples
    --------
    >>> Interval(0.1, 0.3, "bootstrap-t (log scale)").note
    ''
    """

    low: float
    high: float
    method: str
    note: str = ""

    @property
    def bounds(self) -> tuple[float, float]:
        """``(low, high)``."""
        return (self.low, self.high)


#: Largest log-scale half-width ``q s / m`` a bootstrap-t interval of a positive mean may have (a factor e^50).
MAX_LOG_HALF_WIDTH = 50.0

#: Largest ratio of the bootstrap-t quantile ``q`` to the t(G-1) quantile before the bootstrap-t counts as
#: degenerate and the cluster-robust t(G-1) interval is used instead. With 4-6 clusters the bootstrap-t's ``q``
#: sometimes explodes (a villageFlower MMLU LowRank row at 5 models got [0.000, 63611] for an MAE of 0.12);
#: in simulation (absolute errors, model effect + run noise, 500 leaderboards per row, 200 resamples) this rule
#: covers 94-95% at 4, 5, 6 and 8 clusters with the largest upper bound 3.6-7.5x the mean, where the bare
#: bootstrap-t's largest was 1e3-1e304x (``tests/test_scoring_intervals.py``).
MAX_Q_RATIO = 2.0


def cluster_mean_interval(values, plan: ResamplePlan, ci: float = 0.95, log: bool = False) -> Interval:
    """Bootstrap-t interval of a mean under a cluster bootstrap, with a stated fallback; never raises on data.

    The interval of :func:`studentized_cluster_interval`, returned with its
    method.  On the log scale (``log=True``) a half-width ``q s / m`` above
    :data:`MAX_LOG_HALF_WIDTH` (the bounds would differ by a factor over
    e^100, or overflow) means the studentized statistic is degenerate (almost
    every value is 0), and the percentile interval of the resampled means is
    used instead (``method`` says so, ``note`` gives the numbers).  Before
    that, a bootstrap-t quantile ``q`` over :data:`MAX_Q_RATIO` times the
    t(G-1) quantile (few clusters) gives the cluster-robust t(G-1) interval
    ``m -/+ t s`` (log scale: ``m exp(-/+ t s / m)``), with the reason.  NaN
    bounds always come with a ``note``.

    Parameters
    ----------
    values : array-like
        One value per row (e.g. absolute errors).
    plan : ResamplePlan
        A cluster plan (:func:`make_plan` with ``groups``).
    ci : float
        Coverage, in (0, 1).
    log : bool
        Studentize on the log scale (positive statistics such as an MAE).

    Returns
    -------
    Interval
        Bounds, method and note.

    Examples
    --------
    A row of a benchmark whose runs were 95% revealed (absolute errors; 4
    models, two runs each): resamples that draw only the three nearly equal
    models have a near-zero standard error, so ``q`` is huge (229, against
    3.18 for t(3)): the cluster-robust t(G-1) interval is used.

    >>> g = np.repeat(np.arange(4), 2)
    >>> v = np.array([0.1, 0.1, 0.109, 0.109, 0.3903, 0.3903, 0.1082, 0.1082])
    >>> iv = cluster_mean_interval(v, make_plan(8, groups=g, n_boot=1000, seed=0), log=True)
    >>> iv.method, bool(0 < iv.low <= v.mean() <= iv.high < 1)
    ('cluster-robust t(3) (log scale)', True)
    >>> cluster_mean_interval(np.zeros(8), make_plan(8, groups=g, n_boot=50), log=True)
    Interval(low=0.0, high=0.0, method='exact', note='every value is 0: no spread to resample')
    """
    _check_ci(ci)
    values = np.asarray(values, dtype=float)
    method = "bootstrap-t" + (" (log scale)" if log else "")
    if not plan.clustered or plan.n_boot == 0 or plan.n_clusters < 2:
        why = ("not a cluster plan" if not plan.clustered else "no resamples" if plan.n_boot == 0
               else f"{plan.n_clusters} cluster(s): a cluster interval needs at least 2")
        return Interval(NAN, NAN, "none", why)
    if not np.all(np.isfinite(values)):
        return Interval(NAN, NAN, "none", f"{int((~np.isfinite(values)).sum())} non-finite values")
    first = np.array([members[0] for members in plan.members])
    mean, se = (float(v[0]) for v in _cluster_mean_and_se(values, plan.codes, np.ones((1, plan.n_clusters))))
    if not se > 0:
        if values.size and np.all(values == values[0]):
            return Interval(mean, mean, "exact", f"every value is {values[0]:g}: no spread to resample")
        return Interval(mean, mean, "exact", "the cluster means are equal: no spread between clusters")
    if log and not mean > 0:
        return Interval(NAN, NAN, "none", f"mean {mean:g} is not positive: no log-scale interval")
    stats_t, means = [], []
    for w in plan.weight_chunks():
        m_b, s_b = _cluster_mean_and_se(values, plan.codes, w[:, first])
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            t = (np.log(m_b) - math.log(mean)) / (s_b / m_b) if log else (m_b - mean) / s_b
        stats_t.append(np.where(s_b > 0, t, np.nan))
        means.append(m_b)
    t = np.concatenate(stats_t)
    t = t[np.isfinite(t)]
    if t.size < 0.5 * plan.n_boot:
        return Interval(NAN, NAN, "none", f"only {t.size} of {plan.n_boot} resamples have a defined studentized "
                                          "statistic (most draw a single cluster)")
    q = float(np.quantile(np.abs(t), ci))
    q_t = float(_t_dist.ppf(0.5 + ci / 2, plan.n_clusters - 1))
    if q > MAX_Q_RATIO * q_t:
        return _t_fallback(mean, se, q, q_t, plan.n_clusters, ci, log)
    if not log:
        return Interval(mean - q * se, mean + q * se, method)
    half = q * se / mean
    if not half <= MAX_LOG_HALF_WIDTH:
        return _percentile_fallback(np.concatenate(means), ci, f"the log-scale bootstrap-t half-width q*se/mean = "
                                                                 f"{half:.3g} is degenerate (resamples of nearly equal clusters have "
                                                                 "a near-zero standard error)")
    return Interval(mean * math.exp(-half), mean * math.exp(half), method)


def _t_fallback(mean: float, se: float, q: float, q_t: float, n_clusters: int, ci: float, log: bool) -> Interval:
    """The cluster-robust t interval ``m -/+ t_{G-1} s`` (log scale: ``m exp(-/+ t_{G-1} s / m)``), with why."""
    why = (f"the bootstrap-t quantile q = {q:.3g} is over {MAX_Q_RATIO:g}x the t({n_clusters - 1}) quantile "
           f"{q_t:.3g} (with {n_clusters} clusters, resamples drawing only a few nearly equal clusters have a "
           "near-zero standard error)")
    if not log:
        return Interval(mean - q_t * se, mean + q_t * se, f"cluster-robust t({n_clusters - 1})", why)
    half = q_t * se / mean
    if not half <= MAX_LOG_HALF_WIDTH:
        return Interval(NAN, NAN, "none", f"{why}; the t interval's log half-width {half:.3g} is degenerate too")
    return Interval(mean * math.exp(-half), mean * math.exp(half), f"cluster-robust t({n_clusters - 1}) (log scale)",
                    why)


def _percentile_fallback(means: np.ndarray, ci: float, why: str) -> Interval:
    """The percentile interval of resampled means, with the reason the bootstrap-t was not used."""
    low, high = percentile_interval(means, ci)
    if not (np.isfinite(low) and np.isfinite(high)):
        return Interval(NAN, NAN, "none", f"{why}; the percentile interval is undefined too")
    return Interval(low, high, "percentile cluster bootstrap", why)


def studentized_cluster_interval(values, plan: ResamplePlan, ci: float = 0.95, log: bool = False) -> tuple[float, float]:
    """Symmetric bootstrap-t interval of a mean under a cluster bootstrap (small-number-of-clusters correction).

    With ``m`` the mean and ``s`` its cluster-robust (CR1) standard error, and
    ``t_b = (m_b - m) / s_b`` over the resamples of ``plan``, the interval is
    ``m -/+ q s`` with ``q`` the ``ci`` quantile of ``|t_b|`` (resamples with
    ``s_b = 0``, one cluster drawn every time, are ignored).  With
    ``log=True`` (positive statistics such as an MAE) the same is done for
    ``log m`` with standard error ``s / m``: ``m exp(-/+ q s / m)``.  At 8
    clusters this covers 94-95% in simulation where the percentile interval
    covers about 85-88% and the equal-tailed bootstrap-t about 92%.

    Parameters
    ----------
    values : array-like
        One value per row (e.g. absolute errors).
    plan : ResamplePlan
        A cluster plan (:func:`make_plan` with ``groups``).
    ci : float
        Coverage, in (0, 1).
    log : bool
        Studentize on the log scale (all values must be positive on average).

    Returns
    -------
    tuple of float
        ``(low, high)``; NaN without resamples or with fewer than 2 clusters.
        Where the bootstrap-t is degenerate, the percentile interval of the
        resampled means (:func:`cluster_mean_interval` says which was used).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> g = np.repeat(np.arange(8), 9)
    >>> v = np.abs(rng.normal(size=8)[g] + rng.normal(size=72))
    >>> lo, hi = studentized_cluster_interval(v, make_plan(72, groups=g, n_boot=500, seed=0), log=True)
    >>> bool(0 < lo < v.mean() < hi)
    True
    """
    return cluster_mean_interval(values, plan, ci, log).bounds
