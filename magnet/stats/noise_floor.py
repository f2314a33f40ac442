r"""The irreducible error of predicting a run's stat from a revealed sample.

A run has ``n`` eval instances.  The predictor sees ``k`` of them (revealed);
the actual stat is the mean over all ``n`` (revealed included).  Even an oracle
that knew the run's true per-instance mean ``p`` misses, because the ``m = n - k``
unrevealed outcomes are random.  With ``S_k`` the sum over revealed instances and
``S_u`` the sum over unrevealed ones:

.. math::

    \text{oracle} = \frac{S_k + m p}{n}, \qquad
    \text{actual} = \frac{S_k + S_u}{n}, \qquad
    \text{error} = \frac{S_u - m p}{n}.

**Binary outcomes** (every per-instance value is 0 or 1): ``S_u ~ Binomial(m, p)``
and the floor on the expected absolute error is computed exactly,

.. math::

    \text{floor} = \frac{1}{n} \sum_{s=0}^{m} \binom{m}{s} p^s (1-p)^{m-s} \, |s - m p|,

summing over the binomial pmf (:func:`scipy.stats.binom`).  ``p`` is estimated
by the run's mean over all ``n`` instances.

**Continuous outcomes** (any other value, e.g. F1 in [0, 1]): ``S_u`` is a sum of
``m`` draws with variance ``var``, approximately normal, so

.. math::

    \text{floor} \approx \sqrt{2/\pi}\,\frac{\sqrt{m \cdot var}}{n},

with ``var`` the per-instance sample variance (``ddof=1``).  The choice is made
per run from its values: all in {0, 1} means binary, otherwise continuous.

**RMSE floor**: the expected squared oracle error is exactly ``m var / n^2``
(``var = p (1 - p)`` for binary runs), so over runs the floor on the RMSE is
``sqrt(mean(m var / n^2))`` (:func:`expected_rmse_floor`).

``k = n`` gives a floor of 0 (nothing is left to chance); ``k = 0`` gives the
error of knowing ``p`` but seeing nothing.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy import stats

__all__ = [
    "binomial_floor",
    "continuous_floor",
    "is_binary",
    "run_noise_floor",
    "noise_floor_mae",
    "expected_rmse_floor",
]


# ---------------------------------------------------------------- validation


def _instance_values(values, name: str = "per_instance_values") -> np.ndarray:
    """Per-instance values of one run as a non-empty finite 1-D float array."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numeric, got values that are not: {err}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} must hold at least one instance, got none")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {int((~np.isfinite(array)).sum())} NaN/inf values")
    return array


def _revealed_count(k, n: int) -> int:
    """Validate ``k`` as an integer with ``0 <= k <= n``."""
    if isinstance(k, bool) or int(k) != k or not 0 <= k <= n:
        raise ValueError(f"k must be an integer with 0 <= k <= n = {n}, got {k!r}")
    return int(k)


# ------------------------------------------------------------------ formulas


def is_binary(values) -> bool:
    """True when every per-instance value is 0 or 1.

    Parameters
    ----------
    values : array-like
        Per-instance values of one run.

    Returns
    -------
    bool
        Whether the run is treated as binary (exact binomial floor).

    Examples
    --------
    >>> is_binary([0, 1, 1.0]), is_binary([0, 0.5, 1])
    (True, False)
    """
    array = _instance_values(values)
    return bool(np.all((array == 0) | (array == 1)))


def _binomial_mad(p: np.ndarray, m: int) -> np.ndarray:
    """``E|S - m p|`` for ``S ~ Binomial(m, p)``, by summing the pmf (one ``m``, many ``p``)."""
    support = np.arange(m + 1)
    pmf = stats.binom.pmf(support[None, :], m, p[:, None])
    return np.sum(pmf * np.abs(support[None, :] - m * p[:, None]), axis=1)


def binomial_floor(p, n, k) -> np.ndarray | float:
    """Exact expected absolute oracle error of binary runs, ``E|S_u - (n-k) p| / n``.

    Parameters
    ----------
    p : float or array-like
        Per-instance success probability of each run, in [0, 1].
    n : int or array-like
        Instances per run (>= 1).
    k : int or array-like
        Revealed instances per run, ``0 <= k <= n``.

    Returns
    -------
    float or numpy.ndarray
        The floor, broadcast over the inputs (a float for scalar inputs).

    Examples
    --------
    >>> print(round(binomial_floor(0.5, 2, 0), 4))
    0.25
    >>> np.round(binomial_floor([0.5, 0.9, 0.3], [100, 100, 10], [10, 50, 10]), 4).tolist()
    [0.0377, 0.0166, 0.0]
    """
    p_arr, n_arr, k_arr = np.broadcast_arrays(
        np.asarray(p, dtype=float), np.asarray(n), np.asarray(k)
    )
    if np.any(~np.isfinite(p_arr)) or np.any((p_arr < 0) | (p_arr > 1)):
        raise ValueError("p must be in [0, 1], got values outside it (or NaN)")
    if np.any(n_arr != np.round(n_arr)) or np.any(k_arr != np.round(k_arr)):
        raise ValueError("n and k must be whole numbers")
    n_arr, k_arr = n_arr.astype(np.int64), k_arr.astype(np.int64)
    if np.any(n_arr < 1) or np.any(k_arr < 0) or np.any(k_arr > n_arr):
        raise ValueError("n and k must satisfy n >= 1 and 0 <= k <= n")
    m_arr = (n_arr - k_arr).ravel()
    mad = np.zeros(m_arr.shape, dtype=float)
    flat_p = p_arr.ravel()
    for m in np.unique(m_arr[m_arr > 0]):
        rows = m_arr == m
        mad[rows] = _binomial_mad(flat_p[rows], int(m))
    floor = (mad / n_arr.ravel()).reshape(p_arr.shape)
    return float(floor) if floor.ndim == 0 else floor


def continuous_floor(var: float, n: int, k: int) -> float:
    """Normal approximation of the oracle's expected absolute error, ``sqrt(2/pi) sqrt((n-k) var) / n``.

    Parameters
    ----------
    var : float
        Per-instance variance (>= 0).
    n : int
        Instances in the run (>= 1).
    k : int
        Revealed instances, ``0 <= k <= n``.

    Returns
    -------
    float
        The approximate floor.

    Examples
    --------
    >>> print(round(continuous_floor(0.04, 100, 36), 5))
    0.01277
    """
    if not var >= 0:
        raise ValueError(f"var must be >= 0, got {var!r}")
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    m = int(n) - _revealed_count(k, int(n))
    return math.sqrt(2.0 / math.pi) * math.sqrt(m * var) / n


def _run_variance(values: np.ndarray) -> float:
    """Per-instance variance: ``p(1-p)`` for binary runs, sample variance (ddof=1) otherwise."""
    if np.all((values == 0) | (values == 1)):
        p = float(values.mean())
        return p * (1.0 - p)
    if values.size < 2:
        return float("nan")
    return float(np.var(values, ddof=1))


def run_noise_floor(per_instance_values, k: int) -> float:
    """Expected absolute error of an oracle predicting one run's mean from ``k`` revealed instances.

    Parameters
    ----------
    per_instance_values : array-like
        The stat of every instance of the run (length ``n``), finite.
    k : int
        Number of revealed instances, ``0 <= k <= n``.

    Returns
    -------
    float
        Exact binomial floor if every value is 0 or 1 (with ``p`` the run's
        mean), else the normal approximation with the sample variance; 0 when
        ``k = n``; NaN for a continuous run with a single instance and ``k = 0``
        (its variance is unknown).

    Examples
    --------
    >>> print(round(run_noise_floor([1, 0, 1, 1, 0, 1, 1, 1], k=2), 4))
    0.1112
    >>> print(round(run_noise_floor([0.2, 0.9, 0.4, 0.7], k=1), 4))
    0.1074
    >>> run_noise_floor([0.3, 0.8], k=2)
    0.0
    """
    values = _instance_values(per_instance_values)
    n = values.size
    k = _revealed_count(k, n)
    if k == n:
        return 0.0
    if np.all((values == 0) | (values == 1)):
        return float(binomial_floor(values.mean(), n, k))
    var = _run_variance(values)
    return continuous_floor(var, n, k) if np.isfinite(var) else float("nan")


def _check_runs(runs: Sequence, ks: Sequence) -> list:
    """Validate that there is one ``k`` per run and at least one run."""
    runs = list(runs)
    ks = list(np.atleast_1d(np.asarray(ks)))
    if len(runs) == 0:
        raise ValueError("need at least one run, got none")
    if len(ks) != len(runs):
        raise ValueError(f"need one k per run: got {len(runs)} runs and {len(ks)} ks")
    return list(zip(runs, ks))


def noise_floor_mae(per_instance_runs: Sequence, ks: Sequence[int]) -> float:
    """Mean of :func:`run_noise_floor` over runs: the MAE an oracle would reach.

    Parameters
    ----------
    per_instance_runs : sequence of array-like
        Per-instance values of each run.
    ks : sequence of int
        Revealed instances of each run.

    Returns
    -------
    float
        Mean floor over runs (runs whose floor is NaN are skipped; NaN if all are).

    Examples
    --------
    >>> runs = [[1, 0, 1, 1, 0, 1, 1, 1], [0.2, 0.9, 0.4, 0.7]]
    >>> print(round(noise_floor_mae(runs, [2, 1]), 4))
    0.1093
    """
    floors = np.array([run_noise_floor(values, k) for values, k in _check_runs(per_instance_runs, ks)])
    finite = floors[np.isfinite(floors)]
    return float(finite.mean()) if finite.size else float("nan")


def expected_rmse_floor(per_instance_runs: Sequence, ks: Sequence[int]) -> float:
    """RMSE an oracle would reach: ``sqrt(mean over runs of (n-k) var / n^2)``.

    Parameters
    ----------
    per_instance_runs : sequence of array-like
        Per-instance values of each run.
    ks : sequence of int
        Revealed instances of each run.

    Returns
    -------
    float
        The floor on the RMSE (exact in expectation of the squared error;
        ``var = p(1-p)`` for binary runs, the sample variance otherwise).

    Examples
    --------
    >>> print(round(expected_rmse_floor([[1, 0, 1, 1], [0, 0, 1, 0]], [0, 2]), 4))
    0.1875
    """
    squared = []
    for values, k in _check_runs(per_instance_runs, ks):
        array = _instance_values(values)
        n = array.size
        m = n - _revealed_count(k, n)
        squared.append(0.0 if m == 0 else m * _run_variance(array) / n**2)
    squared = np.array(squared)
    finite = squared[np.isfinite(squared)]
    return float(np.sqrt(finite.mean())) if finite.size else float("nan")
