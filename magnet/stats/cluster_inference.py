"""Flexible control adjustment and a small-cluster test of a partial correlation (the MBE decision).

The MBE decision asks whether predictions ``x`` carry information about the
actual values ``y`` beyond the controls ``z``.  Two things make the plain
partial-correlation t test wrong in magnet's setting, and this module fixes
both.

**Flexible adjustment.**  A linear fit on the controls leaves any non-linear
dependence of ``x`` and ``y`` on them in the residuals, so a prediction built
from the controls alone (e.g. a coarsened copy of the revealed mean) can look
informative.  :func:`flexible_basis` expands each control into a restricted
cubic spline (Harrell's natural spline, linear beyond the outer knots) with
knots at fixed quantiles, plus, for each pair of controls, the tensor product
of their spline columns (a smooth function of two controls need not be
additive, least of all on the rank scale); ``x`` and ``y`` are both
residualised on that basis.  The number of knots grows with the
number of rows ``n``:

=========== ========================================== ==================
``n``       basis per control                          columns, 2 controls
=========== ========================================== ==================
< 30        linear (the classical partial correlation) 2
30 - 59     3 knots (quantiles .10 .50 .90)            2 x 2 + 2 x 2 = 8
60 - 149    4 knots (.05 .35 .65 .95)                  2 x 3 + 3 x 3 = 15
>= 150      5 knots (.05 .275 .50 .725 .95)            2 x 4 + 4 x 4 = 24
=========== ========================================== ==================

When the basis would leave fewer than 10 residual degrees of freedom the MBE
check falls back to the additive splines with the plain product of each pair,
then to the controls themselves (:func:`magnet.stats.mbe.mbe_check`).

The partial correlation given the basis columns is exactly
``pingouin.partial_corr`` with those columns as covariates; with the linear
basis it is pingouin's partial correlation given the controls themselves.

**Clustered rows.**  Runs of one model share its ability, so they are not
independent evidence.  :func:`cluster_slope_test` regresses ``y`` on ``x`` and
the basis (by Frisch-Waugh-Lovell the slope of ``x`` is the slope of the
residuals) and computes the CR2 (Bell-McCaffrey) cluster-robust standard error
of the slope with the Bell-McCaffrey / Imbens-Kolesar degrees of freedom, the
small-number-of-clusters correction recommended by Imbens and Kolesar (2016,
"Robust standard errors in small samples", REStat 98(4)).  The ratio of that
standard error to the classical one is the *design effect* used to widen the
Fisher interval of the partial correlation (:func:`partial_r_interval`); it is
never below 1 (the interval is never narrower than the independent-rows one).

Examples
--------
>>> rng = np.random.default_rng(0)
>>> z = rng.uniform(size=(80, 2))
>>> flexible_basis(z).shape   # 2 x (1 linear + 2 spline) columns + 3 x 3 tensor product
(80, 15)
>>> flexible_basis(z[:20]).shape
(20, 2)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = [
    "KNOT_QUANTILES",
    "knots_for",
    "restricted_cubic_basis",
    "flexible_basis",
    "ClusterTest",
    "cluster_slope_test",
    "partial_r_interval",
]

#: Harrell's default knot quantiles by number of knots.
KNOT_QUANTILES = {
    3: (0.10, 0.50, 0.90),
    4: (0.05, 0.35, 0.65, 0.95),
    5: (0.05, 0.275, 0.50, 0.725, 0.95),
}


def knots_for(n: int) -> int:
    """Number of spline knots per control for ``n`` rows (0 means linear only).

    Examples
    --------
    >>> [knots_for(n) for n in (8, 30, 72, 200)]
    [0, 3, 4, 5]
    """
    if n < 30:
        return 0
    if n < 60:
        return 3
    if n < 150:
        return 4
    return 5


def restricted_cubic_basis(values: np.ndarray, n_knots: int) -> np.ndarray:
    """Non-linear columns of a restricted cubic spline of one variable (Harrell's parametrisation).

    Parameters
    ----------
    values : numpy.ndarray
        ``(n,)`` values.
    n_knots : int
        3, 4 or 5 knots at :data:`KNOT_QUANTILES`; duplicate knots (many ties)
        are merged, and fewer than 3 distinct knots give no columns.

    Returns
    -------
    numpy.ndarray
        ``(n, n_distinct_knots - 2)`` columns; together with ``values`` they
        span the natural cubic splines with those knots.

    Examples
    --------
    >>> x = np.linspace(0, 1, 201)
    >>> restricted_cubic_basis(x, 4).shape
    (201, 2)
    >>> bool(np.allclose(np.diff(restricted_cubic_basis(x, 4)[-8:], 2, axis=0), 0))   # linear past the last knot
    True
    """
    values = np.asarray(values, dtype=float)
    if n_knots not in KNOT_QUANTILES:
        return np.zeros((values.size, 0))
    knots = np.unique(np.quantile(values, KNOT_QUANTILES[n_knots]))
    if knots.size < 3:
        return np.zeros((values.size, 0))
    last, second = knots[-1], knots[-2]
    scale = (last - knots[0]) ** 2
    cube = lambda u: np.maximum(u, 0.0) ** 3  # noqa: E731
    columns = []
    for knot in knots[:-2]:
        column = (cube(values - knot)
                  - cube(values - second) * (last - knot) / (last - second)
                  + cube(values - last) * (second - knot) / (last - second))
        columns.append(column / scale)
    return np.column_stack(columns)


def flexible_basis(z: np.ndarray, n_knots: int | None = None, tensor: bool = True) -> np.ndarray:
    """Control columns for the flexible adjustment: each control's spline, and pairwise interactions.

    Parameters
    ----------
    z : numpy.ndarray
        ``(n, k)`` controls (ranks for a rank analysis).
    n_knots : int, optional
        Knots per control; default :func:`knots_for` ``(n)``.  0 gives the
        controls unchanged (the linear adjustment).
    tensor : bool
        Interactions of two controls as the tensor product of their spline
        columns (default); False: only the product of the two controls.

    Returns
    -------
    numpy.ndarray
        ``(n, p)`` basis, without the intercept column.

    Examples
    --------
    >>> z = np.arange(40.0)[:, None]
    >>> flexible_basis(z).shape, flexible_basis(z, n_knots=0).shape
    ((40, 2), (40, 1))
    >>> two = np.random.default_rng(0).uniform(size=(72, 2))
    >>> flexible_basis(two).shape, flexible_basis(two, tensor=False).shape   # 2 x 3 + 3 x 3; 2 x 3 + 1
    ((72, 15), (72, 7))
    """
    z = np.asarray(z, dtype=float)
    if z.ndim == 1:
        z = z[:, None]
    n, k = z.shape
    knots = knots_for(n) if n_knots is None else n_knots
    if knots == 0:
        return z
    scaled = (z - z.min(axis=0)) / np.where(np.ptp(z, axis=0) > 0, np.ptp(z, axis=0), 1.0)
    single = [np.column_stack([scaled[:, j], restricted_cubic_basis(scaled[:, j], knots)]) for j in range(k)]
    columns = list(single)
    for i in range(k):
        for j in range(i + 1, k):
            if tensor:
                columns.append(np.einsum("na,nb->nab", single[i], single[j]).reshape(n, -1))
            else:
                columns.append((scaled[:, i] * scaled[:, j])[:, None])
    return np.column_stack(columns)


@dataclass(frozen=True)
class ClusterTest:
    """Slope of ``x`` in a regression of ``y`` on ``[x, 1, basis]`` with classical and cluster-robust errors.

    Attributes
    ----------
    slope : float
        Least-squares coefficient of ``x``.
    se_classical : float
        Its classical standard error (``sigma^2 (X'X)^-1``, ``sigma^2`` on
        ``n - rank`` degrees of freedom).
    se_cluster : float
        CR2 cluster-robust standard error.
    df : float
        Bell-McCaffrey degrees of freedom of the CR2 t statistic.
    n_groups : int
        Number of clusters.
    design_effect : float
        ``max(1, (se_cluster / se_classical)^2)``.
    """

    slope: float
    se_classical: float
    se_cluster: float
    df: float
    n_groups: int
    design_effect: float


def _inverse_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Symmetric ``matrix^(-1/2)`` on its non-null eigenspace (pseudo-inverse square root)."""
    values, vectors = np.linalg.eigh(matrix)
    keep = values > 1e-10
    inv = np.zeros_like(values)
    inv[keep] = 1.0 / np.sqrt(values[keep])
    return (vectors * inv) @ vectors.T


def cluster_slope_test(x: np.ndarray, y: np.ndarray, basis: np.ndarray, groups: np.ndarray) -> ClusterTest:
    """CR2 cluster-robust test of the slope of ``x`` given the basis, with Bell-McCaffrey df.

    Parameters
    ----------
    x, y : numpy.ndarray
        ``(n,)`` values.
    basis : numpy.ndarray
        ``(n, p)`` control columns (an intercept is added).
    groups : numpy.ndarray
        ``(n,)`` integer cluster codes (or any labels).

    Returns
    -------
    ClusterTest
        Slope, standard errors, degrees of freedom and design effect.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> g = np.repeat(np.arange(8), 9)
    >>> x = rng.normal(size=8)[g] + rng.normal(size=72)
    >>> y = rng.normal(size=8)[g] + rng.normal(size=72)
    >>> t = cluster_slope_test(x, y, np.zeros((72, 0)), g)
    >>> t.n_groups, bool(2 < t.df < 8), t.design_effect >= 1
    (8, True, True)
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.size
    design = np.column_stack([x, np.ones(n), np.asarray(basis, dtype=float).reshape(n, -1)])
    bread = np.linalg.pinv(design.T @ design)
    coef = bread @ design.T @ y
    resid = y - design @ coef
    rank = np.linalg.matrix_rank(design)
    sigma2 = float(resid @ resid) / max(n - rank, 1)
    se_classical = math.sqrt(max(sigma2 * bread[0, 0], 0.0))
    hat = design @ bread @ design.T
    residual_maker = np.eye(n) - hat
    _, codes = np.unique(np.asarray(groups), return_inverse=True)
    n_groups = int(codes.max()) + 1 if n else 0
    direction = bread[:, 0]  # (X'X)^-1 c for the slope of x
    meat_terms, g_columns = [], []
    for s in range(n_groups):
        rows = np.flatnonzero(codes == s)
        adjust = _inverse_sqrt(np.eye(rows.size) - hat[np.ix_(rows, rows)])
        weights = adjust @ design[rows] @ direction  # A_s X_s (X'X)^-1 c
        meat_terms.append(float(weights @ resid[rows]))
        g_columns.append(residual_maker[:, rows] @ weights)
    variance = float(np.sum(np.square(meat_terms)))
    se_cluster = math.sqrt(variance)
    gram = np.column_stack(g_columns)
    gram = gram.T @ gram
    denom = float(np.sum(gram * gram))
    df = float(np.trace(gram) ** 2 / denom) if denom > 0 else float("nan")
    deff = max(1.0, (se_cluster / se_classical) ** 2) if se_classical > 0 else float("nan")
    return ClusterTest(float(coef[0]), se_classical, se_cluster, df, n_groups, deff)


def partial_r_interval(r: float, n: int, p: int, *, rank: bool, design_effect: float = 1.0,
                       df: float | None = None, alpha: float = 0.05) -> tuple[tuple[float, float], float]:
    """Two-sided ``1 - 2 alpha`` interval of a partial correlation and the one-sided p of ``H0: r <= 0``.

    On Fisher's scale ``atanh(r)`` with standard error
    ``sqrt(c * design_effect / (n - 3 - p))``: ``c = 1 + r^2 / 2`` for a rank
    correlation (Bonett and Wright 2000, Psychometrika 65(1)) and ``c = 1`` for
    Pearson's; ``p`` is the number of control columns.  The critical value is
    Student's t with ``df`` degrees of freedom (the normal when ``df`` is None).

    Parameters
    ----------
    r : float
        The partial correlation.
    n, p : int
        Rows and control columns.
    rank : bool
        True for a rank (Spearman) correlation.
    design_effect : float
        Variance inflation from clustering (>= 1).
    df : float, optional
        Degrees of freedom of the reference t distribution.
    alpha : float
        One-sided level of each bound.

    Returns
    -------
    tuple
        ``((low, high), p_one_sided)``; NaN when ``n - 3 - p <= 0``.

    Examples
    --------
    >>> (lo, hi), p = partial_r_interval(0.4, 72, 7, rank=False, alpha=0.025)
    >>> print(round(lo, 3), round(hi, 3), f"{p:.1e}")
    0.173 0.587 4.3e-04
    """
    if not np.isfinite(r) or n - 3 - p <= 0:
        return (float("nan"), float("nan")), float("nan")
    c = 1.0 + r * r / 2.0 if rank else 1.0
    se = math.sqrt(c * design_effect / (n - 3 - p))
    ref = stats.norm if df is None or not np.isfinite(df) else stats.t(df)
    crit = float(ref.ppf(1.0 - alpha))
    z = float(np.arctanh(np.clip(r, -1 + 1e-15, 1 - 1e-15)))
    low, high = math.tanh(z - crit * se), math.tanh(z + crit * se)
    p_one = float(ref.sf(z / se))
    return (low, high), p_one
