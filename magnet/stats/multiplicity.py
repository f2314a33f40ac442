"""Holm's step-down adjustment of p-values for the many rows of one leaderboard.

A leaderboard holds many MBE checks (every predictor x split, pooled and per
target variant); at level 0.05 each, some null rows would be called
``genuine`` by chance.  magnet adjusts with **Holm's method** (1979), which
controls the family-wise error rate (the chance of *any* false ``genuine`` in
a family) under any dependence between the rows - the rows of one leaderboard
share runs, so a method that needs independence or positive dependence
(Benjamini-Hochberg) is not assumed.  With ``m`` p-values sorted
``p_(1) <= ... <= p_(m)``, the adjusted value of ``p_(i)`` is
``max_{j <= i} min(1, (m - j + 1) p_(j))``.  NaN p-values (rows without a
test) are left NaN and do not count in ``m``.

Examples
--------
>>> holm([0.01, 0.04, 0.03, float("nan")]).round(2).tolist()
[0.03, 0.06, 0.06, nan]
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["holm"]


def holm(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values (same order as the input; NaN stays NaN).

    Parameters
    ----------
    pvalues : array-like
        p-values in [0, 1] or NaN.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, each at least its raw value and at most 1.

    Examples
    --------
    >>> holm([0.2, 0.001]).tolist()
    [0.2, 0.002]
    """
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1:
        raise ValueError(f"pvalues must be 1-D, got an array of shape {p.shape}")
    finite = np.isfinite(p)
    if np.any((p[finite] < 0) | (p[finite] > 1)):
        raise ValueError("pvalues must lie in [0, 1] (or be NaN)")
    out = np.full(p.shape, np.nan)
    values = p[finite]
    m = values.size
    if m == 0:
        return out
    order = np.argsort(values, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * values[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled)
    out[finite] = adjusted
    return out
