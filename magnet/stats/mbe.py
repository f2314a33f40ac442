"""The Marginal Baseline Evaluation (MBE) check: does a prediction beat its cheap baseline?

A predictor predicts a stat (e.g. accuracy) per eval run.  The *baseline* is
a cheap early signal for the same runs - the mean over a small revealed sample
of the run, optionally with further controls such as the mean negative
log-probability of the revealed completions (an "early loss").  The MBE check
asks whether the predictions carry information about the actual values
*beyond* the baseline: the partial correlation of predicted and actual,
controlling for the baseline.  In the original protocol (PyPI ``mbe-eval``) a
metric whose partial correlation with the target, controlling for early
validation loss, is not significant is a *loss proxy*.

Partial correlation (the linear special case)
---------------------------------------------
For ``method="spearman"`` every variable is replaced by its average ranks;
``method="pearson"`` uses the values.  Predicted and actual are each regressed
(least squares, with intercept) on the ``k`` baseline columns, and the
residuals are correlated (Pearson).  The p-value is two-sided from
``t = r sqrt(df / (1 - r^2))`` with ``df = n - 2 - k``.  These are the fields
``partial_r``, ``partial_p`` and ``ci95`` (Fisher z interval
``tanh(atanh(r) -/+ 1.96 / sqrt(n - 3 - k))``), and they equal
``pingouin.partial_corr(..., covar=[...], method=...)`` exactly.
``ci95_bootstrap`` is a percentile bootstrap of that partial r over rows, or
over whole groups when ``groups`` is given (cluster bootstrap).

The decision
------------
The verdict does not use ``partial_p``: with runs of one model sharing its
ability, and with predictors that are non-linear functions of the controls,
that test calls uninformative predictors ``genuine`` far more often than its
level (issue 17).  The verdict tests ``estimate``, computed as follows (see
:mod:`magnet.stats.cluster_inference`):

1. **Flexible adjustment** (default ``adjustment="flexible"``): predicted and
   actual (ranks) are residualised on restricted cubic splines of each
   control plus the tensor products of each pair's splines (3 to 5 knots from
   30 rows on; the plain controls below 30 rows; simpler bases when the
   splines would leave fewer than 10 degrees of freedom).  ``estimate`` is the correlation of these
   residuals, i.e. ``pingouin.partial_corr`` with the basis columns as
   covariates.  ``adjustment="linear"`` uses the controls themselves, so
   ``estimate == partial_r``.
2. **Inference.**  Without ``groups``, the classical partial-correlation t
   test on ``n - 2 - p`` df (``p`` control columns): with the linear
   adjustment the one-sided ``p`` is exactly pingouin's two-sided p halved
   (when ``estimate > 0``).  With ``groups`` (magnet passes the model of each
   run), a CR2 cluster-robust test of the slope with Bell-McCaffrey degrees
   of freedom (small-number-of-clusters correction), whose variance ratio to
   the classical test (the design effect, at least 1) widens the interval.
3. **Interval.**  ``interval`` is the two-sided ``1 - 2 alpha`` interval
   (90% at the default alpha 0.05) on Fisher's scale with the Bonett-Wright
   standard error for rank correlations, ``sqrt((1 + r^2/2) deff / (n - 3 - p))``,
   and Student's t critical value on the decision's df.

Verdict
-------
:func:`mbe_check` applies these rules, in order, to the complete rows (rows
with a NaN or infinite value anywhere are dropped and counted).  Both tests
are **one-sided at level alpha** (default 0.05); the **effect size** (default
0.2) is the smallest partial correlation that counts as an increment.

1. ``insufficient-data`` - fewer than 5 complete rows; or predicted, actual or
   a baseline column is constant; or ``df = n - 2 - k <= 0``; or fewer than
   3 groups.
2. ``loss-proxy`` - the predictions are (nearly) a function of the baseline:
   the *residual variance ratio* (variance of the predicted values, or ranks
   for spearman, left after regressing on the baseline or its flexible basis,
   over their total variance) is below 1e-10.  This is detected *before*
   correlating (pingouin raises or returns noise here).  By convention
   ``partial_r = estimate = 0`` and ``partial_p = p = 1``, intervals NaN.
3. ``insufficient-data`` - the actual values are themselves (nearly) a
   function of the baseline: nothing is left for any prediction to explain.
   Also when the decision's interval is undefined (``n - 3 - p <= 0`` for the
   ``p`` control columns it used).
4. ``genuine`` - ``estimate > 0``, one-sided ``p <= alpha`` and the
   reported interval's lower bound above 0 (both are required: in the
   linear path without groups ``p`` is pingouin's t test while the interval
   uses the rank standard error, and on small n they can disagree; then the
   verdict is ``inconclusive``): an increment is established.
5. ``loss-proxy`` - the interval's upper bound is below the effect size: the
   increment is shown to be negligible (or negative).
6. ``inconclusive`` - otherwise: the interval contains both 0 and the effect
   size, so the data cannot tell an increment from none.  This is *not*
   evidence of no effect.

The error rates are measured by simulation in
``benchmarks/bench_mbe_calibration.py`` (worlds in
:mod:`magnet.stats.mbe_calibration`).

Scenarios
---------
When runs of several scenarios (or target metrics) are pooled, a prediction
that knows only which scenario a run belongs to (the train runs' scenario
mean, alone or blended with the revealed mean) correlates with the actual
values beyond a noisy revealed mean: the partial correlation is carried by
differences *between* scenarios, while within each scenario it is zero or
negative (Simpson's reversal).  With ``strata`` (one scenario label per row,
two or more scenarios) the decision is made within scenarios, in two ways:

* ``within-ranks``: predicted, actual and the controls are ranked *within*
  their scenario (``(rank - 0.5) / size``), and the basis gains one indicator
  per scenario.  A prediction that within a scenario is a monotone function
  of the revealed mean has exactly the revealed mean's ranks there, so it is
  a degenerate ``loss-proxy`` whatever its scenario offsets.
* ``fixed-effects``: the pooled ranks, with scenario indicators added to the
  flexible basis.

``genuine`` needs both (default ``scenario_adjustment="both"``: an
intersection-union test, level alpha when each is); the reported
``estimate``/``interval``/``p`` are those of the first adjustment that is not
``genuine`` (else of ``within-ranks``), and ``scenario_checks`` holds each
one's verdict.  In simulation each alone misses a target that the other meets
(``docs/explanations/mbe-check.md``).  The same decision without scenarios is
reported as ``pooled_estimate``, ``pooled_interval``, ``pooled_p`` and
``pooled_verdict``; ``between_scenarios_only`` marks a row that is ``genuine``
pooled but not within scenarios.  A single scenario leaves the check unchanged.

Data problems never raise; :class:`ValueError` is raised only for malformed
input (mismatched lengths, wrong shapes, unknown method).

Effect class
------------
``effect_class`` is extra information, following ``classify_effect`` of the
``mbe-eval`` package (``mbe_eval/core.py`` of AparajeetS/metric-audit-paper-code;
effect threshold 0.20, washout threshold 0.10), first matching rule wins:

======================== ==========================================
``insufficient-data``    raw or partial r is NaN
``washout``              ``|raw| >= 0.20`` and ``|partial| < 0.10``
``sign-inversion``       ``raw <= -0.20`` and ``partial >= 0.20``
``reverse-inversion``    ``raw >= 0.20`` and ``partial <= -0.20``
``hidden-after-control`` ``|raw| < 0.20`` and ``|partial| >= 0.20``
``survives``             same sign and ``|partial| >= 0.20``
``weak-or-mixed``        otherwise
======================== ==========================================

The rules are taken from that source file (its README states the same table);
which released version of ``mbe-eval`` (e.g. 0.5.0) it matches could not be confirmed.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> actual = rng.uniform(0, 1, 80)
>>> baseline = actual + rng.normal(0, 0.3, 80)
>>> mbe_check(baseline, actual, baseline, n_boot=0).verdict
'loss-proxy'
>>> mbe_check(actual + rng.normal(0, 0.05, 80), actual, baseline, n_boot=0).verdict
'genuine'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from magnet.stats.bootstrap import (
    as_group_labels,
    drawn_constant,
    make_plan,
    percentile_interval,
    weighted_pearson,
    weighted_ranks,
)
from magnet.stats.cluster_inference import cluster_slope_test, flexible_basis, partial_r_interval
from magnet.stats.scoring import as_float_vector

__all__ = [
    "MBEResult",
    "PartialCorrelation",
    "mbe_check",
    "partial_correlation",
    "partial_residuals",
    "fisher_ci",
    "min_detectable_r",
    "classify_effect",
]

METHODS = ("spearman", "pearson")
ADJUSTMENTS = ("flexible", "linear")
#: How the decision controls for scenario when ``strata`` has several levels (module docstring, "Scenarios").
SCENARIO_ADJUSTMENTS = ("both", "within-ranks", "fixed-effects")
VERDICTS = ("genuine", "loss-proxy", "inconclusive", "insufficient-data")
#: Smallest partial correlation that counts as an increment (the loss-proxy bound).
EFFECT_SIZE = 0.20
#: Fewest groups for the cluster-robust decision.
MIN_GROUPS = 3
#: Fewest residual degrees of freedom (n - 3 - p) the spline basis may leave; else the linear one is used.
MIN_FLEXIBLE_DF = 10
MIN_ROWS = 5
DEGENERATE_RATIO = 1e-10
EFFECT_THRESHOLD = 0.20
WASHOUT_THRESHOLD = 0.10
POWER = 0.80
NAN = float("nan")
NAN_CI = (NAN, NAN)


# ------------------------------------------------------------------ results


class PartialCorrelation(NamedTuple):
    """Partial correlation of x and y given covariates.

    Attributes
    ----------
    r : float
        Partial correlation (NaN when undefined).
    p : float
        Two-sided p-value (NaN when undefined).
    n : int
        Complete rows used.
    residual_variance_ratio : float
        Share of the variance of x (ranks for spearman) not explained by the
        covariates.
    """

    r: float
    p: float
    n: int
    residual_variance_ratio: float


@dataclass(frozen=True)
class MBEResult:
    """Outcome of :func:`mbe_check`.

    Attributes
    ----------
    n : int
        Complete rows used.
    n_dropped : int
        Rows dropped for a NaN or infinite value.
    k : int
        Number of baseline controls.
    controls : tuple of str
        Names of the controls.
    method : str
        ``"spearman"`` or ``"pearson"``.
    alpha : float
        One-sided level of each of the verdict's tests.
    raw_r, raw_p : float
        Plain correlation of predicted and actual (scipy), same method.
    partial_r, partial_p : float
        Partial correlation given the baseline and its two-sided p-value.
    ci95 : tuple of float
        Fisher z 95% interval of ``partial_r`` (se ``1 / sqrt(n - 3 - k)``).
    ci95_bootstrap : tuple of float
        Percentile bootstrap 95% interval of ``partial_r``.
    bootstrap : str
        Which bootstrap made ``ci95_bootstrap`` (``"none"`` when skipped).
    min_detectable_r : float
        Smallest ``|r|`` detectable at one-sided ``alpha`` with 80% power (linear, independent rows).
    verdict : str
        ``"genuine"``, ``"loss-proxy"``, ``"inconclusive"`` or ``"insufficient-data"``.
    reason : str
        Why, in words, with the numbers.
    effect_class : str
        ``mbe-eval`` effect-size class (see the module docstring).
    residual_variance_ratio : float
        Variance of the predictions (ranks) left after regressing on the
        baseline, over their total variance.
    estimate : float
        The partial correlation the verdict tests: given the flexible basis of
        the controls (``adjustment="flexible"``) or the controls themselves
        (``"linear"``, then equal to ``partial_r``).
    interval : tuple of float
        The two-sided ``1 - 2 alpha`` interval of ``estimate`` the verdict
        used (90% for alpha 0.05): its lower bound is the one-sided test of
        ``estimate <= 0``, its upper bound the one-sided test of
        ``estimate >= effect_size``.
    p : float
        One-sided p-value of ``H0: estimate <= 0`` (``genuine`` when ``p <= alpha``).
    df : float
        Degrees of freedom of the reference t distribution (Bell-McCaffrey
        with groups, ``n - 2 - p`` without).
    design_effect : float
        Variance inflation from clustering (1 without groups).
    n_groups : int or None
        Clusters used by the decision (None without groups).
    adjustment : str
        ``"flexible"`` or ``"linear"``, and the number of control columns.
    effect_size : float
        The smallest increment that matters (``loss-proxy`` bound).
    inference : str
        Which test made ``p`` and ``interval``.
    scenarios : int
        Scenarios (levels of ``strata``) the decision controlled for; 0 when
        it did not (no ``strata``, or a single level).
    scenario_adjustment : str
        The scenario adjustment of the reported decision: ``"within-ranks"``,
        ``"fixed-effects"`` or ``"none"``.
    scenario_checks : dict
        Verdict of each scenario adjustment tried (empty without scenarios);
        ``genuine`` needs all of them.
    pooled_estimate, pooled_interval, pooled_p : float, tuple, float
        The same decision *without* controlling for scenario (the pooled,
        unadjusted partial r); equal to ``estimate``, ``interval``, ``p`` when
        ``scenarios == 0``.
    pooled_verdict : str
        The verdict the pooled decision would give.
    between_scenarios_only : bool
        True when the pooled decision is ``genuine`` but the scenario-adjusted
        one is not: the pooled correlation comes from differences between
        scenarios (Simpson's reversal), not from ranking runs within one.
    """

    n: int
    n_dropped: int
    k: int
    controls: tuple[str, ...]
    method: str
    alpha: float
    raw_r: float
    raw_p: float
    partial_r: float
    partial_p: float
    ci95: tuple[float, float]
    ci95_bootstrap: tuple[float, float]
    bootstrap: str
    min_detectable_r: float
    verdict: str
    reason: str
    effect_class: str
    residual_variance_ratio: float
    estimate: float = NAN
    interval: tuple[float, float] = NAN_CI
    p: float = NAN
    df: float = NAN
    design_effect: float = NAN
    n_groups: int | None = None
    adjustment: str = "flexible"
    effect_size: float = EFFECT_SIZE
    inference: str = "none"
    scenarios: int = 0
    scenario_adjustment: str = "none"
    scenario_checks: dict = field(default_factory=dict)
    pooled_estimate: float = NAN
    pooled_interval: tuple[float, float] = NAN_CI
    pooled_p: float = NAN
    pooled_verdict: str = "insufficient-data"
    between_scenarios_only: bool = False

    @property
    def sided(self) -> str:
        """The tests behind the verdict, in words."""
        return (f"one-sided at alpha = {self.alpha:g} each: estimate > 0 (genuine), "
                f"estimate < {self.effect_size:g} (loss-proxy)")

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame laid out like ``pingouin.partial_corr``, plus our columns.

        Returns
        -------
        pandas.DataFrame
            Indexed by the method; columns ``n, r, CI95%, p-val`` (the partial
            correlation) followed by the remaining fields.

        Examples
        --------
        >>> rng = np.random.default_rng(1)
        >>> a = rng.normal(size=30)
        >>> frame = mbe_check(a + rng.normal(size=30), a, rng.normal(size=30), n_boot=0).to_frame()
        >>> list(frame.columns[:4]), frame.index[0]
        (['n', 'r', 'CI95%', 'p-val'], 'spearman')
        """
        row = {
            "n": self.n,
            "r": self.partial_r,
            "CI95%": [np.array(self.ci95)],
            "p-val": self.partial_p,
            "n_dropped": self.n_dropped,
            "k": self.k,
            "controls": [list(self.controls)],
            "raw_r": self.raw_r,
            "raw_p": self.raw_p,
            "ci95_bootstrap": [np.array(self.ci95_bootstrap)],
            "bootstrap": self.bootstrap,
            "min_detectable_r": self.min_detectable_r,
            "residual_variance_ratio": self.residual_variance_ratio,
            "effect_class": self.effect_class,
            "estimate": self.estimate,
            "interval": [np.array(self.interval)],
            "p_one_sided": self.p,
            "df": self.df,
            "design_effect": self.design_effect,
            "adjustment": self.adjustment,
            "inference": self.inference,
            "scenarios": self.scenarios,
            "scenario_adjustment": self.scenario_adjustment,
            "scenario_checks": [dict(self.scenario_checks)],
            "pooled_estimate": self.pooled_estimate,
            "pooled_interval": [np.array(self.pooled_interval)],
            "pooled_p": self.pooled_p,
            "pooled_verdict": self.pooled_verdict,
            "between_scenarios_only": self.between_scenarios_only,
            "verdict": self.verdict,
            "reason": self.reason,
        }
        return pd.DataFrame(row, index=[self.method])

    def __str__(self) -> str:
        """Readable multi-line summary."""
        names = ", ".join(self.controls)
        if self.bootstrap == "none":
            boot = "no bootstrap"
        else:
            boot = f"{self.bootstrap} [{self.ci95_bootstrap[0]:.3f}, {self.ci95_bootstrap[1]:.3f}]"
        lines = [
            f"MBE check ({self.method}; controls: {names}): {self.verdict}",
            f"  rows: n = {self.n} complete ({self.n_dropped} dropped), k = {self.k}",
            f"  raw r = {self.raw_r:.3f} (p = {self.raw_p:.3g})",
            f"  decision: estimate = {self.estimate:.3f}, {100 * (1 - 2 * self.alpha):g}% interval "
            f"[{self.interval[0]:.3f}, {self.interval[1]:.3f}], one-sided p = {self.p:.3g} "
            f"({self.inference}; adjustment {self.adjustment}; effect size {self.effect_size:g})",
            *([f"  pooled over {self.scenarios} scenarios, not adjusted for them: estimate = "
               f"{self.pooled_estimate:.3f} [{self.pooled_interval[0]:.3f}, {self.pooled_interval[1]:.3f}], "
               f"one-sided p = {self.pooled_p:.3g}: {self.pooled_verdict}"] if self.scenarios else []),
            f"  linear partial r = {self.partial_r:.3f} (two-sided p = {self.partial_p:.3g}, as pingouin)",
            f"  95% CI: Fisher z [{self.ci95[0]:.3f}, {self.ci95[1]:.3f}], {boot}",
            f"  smallest detectable |r| (alpha {self.alpha:g}, 80% power): {self.min_detectable_r:.3f}",
            f"  residual variance ratio of predictions: {self.residual_variance_ratio:.3g}",
            f"  effect class: {self.effect_class}",
            f"  reason: {self.reason}",
        ]
        return "\n".join(lines)


# -------------------------------------------------------------- input shape


@dataclass(frozen=True)
class _Data:
    """Complete rows of the inputs."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    controls: tuple[str, ...]
    groups: np.ndarray | None
    n_dropped: int
    keep: np.ndarray
    strata: np.ndarray | None = None


def _baseline_matrix(baseline, n: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """Baseline as an ``(n, k)`` float matrix with control names."""
    if isinstance(baseline, pd.DataFrame):
        names = tuple(str(c) for c in baseline.columns)
        values = baseline.to_numpy()
    elif isinstance(baseline, pd.Series):
        names = (str(baseline.name) if baseline.name is not None else "baseline",)
        values = baseline.to_numpy()
    else:
        values, names = baseline, None
    try:
        matrix = np.array(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"baseline must be numeric, got values that are not: {err}") from None
    if matrix.ndim == 1:
        matrix = matrix[:, None]
    if matrix.ndim != 2:
        raise ValueError(f"baseline must be 1-D or 2-D (n x k), got an array of shape {matrix.shape}")
    if matrix.shape[0] != n:
        raise ValueError(f"baseline must have one row per prediction ({n}), got {matrix.shape[0]} rows")
    if matrix.shape[1] == 0:
        raise ValueError("baseline must have at least one column, got 0")
    if names is None:
        k = matrix.shape[1]
        names = ("baseline",) if k == 1 else tuple(f"baseline_{j}" for j in range(k))
    return matrix, names


def _check_method(method: str) -> str:
    """Validate the correlation method."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return method


def _complete_rows(predicted, actual, baseline, groups=None, strata=None) -> _Data:
    """Validate inputs and keep the rows where every value is finite."""
    x = as_float_vector(predicted, "predicted")
    y = as_float_vector(actual, "actual")
    if len(x) != len(y):
        raise ValueError(f"predicted and actual must have the same length, got {len(x)} and {len(y)}")
    z, names = _baseline_matrix(baseline, len(x))
    group_values = None if groups is None else as_group_labels(groups, len(x))
    keep = np.isfinite(x) & np.isfinite(y) & np.all(np.isfinite(z), axis=1)
    if group_values is not None:
        group_values = group_values[keep]
    strata_values = None if strata is None else as_group_labels(strata, len(x))[keep]
    return _Data(x[keep], y[keep], z[keep], names, group_values, int((~keep).sum()), keep, strata_values)


# ------------------------------------------------------------------ algebra


def _transform(values: np.ndarray, method: str) -> np.ndarray:
    """Average ranks (column-wise) for spearman, the values for pearson."""
    return stats.rankdata(values, axis=0) if method == "spearman" else values


def _residualize(values: np.ndarray, covar: np.ndarray) -> np.ndarray:
    """Residuals of a least-squares fit of ``values`` on ``[1, covar]``."""
    design = np.column_stack([np.ones(len(values)), covar])
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)
    return values - design @ coef


def _variance_ratio(values: np.ndarray, resid: np.ndarray) -> float:
    """Residual sum of squares over total sum of squares (NaN for a constant)."""
    total = float(np.sum((values - values.mean()) ** 2))
    return float(np.sum(resid**2)) / total if total > 0 else NAN


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two centred-or-not vectors, clipped to [-1, 1]."""
    a = a - a.mean()
    b = b - b.mean()
    denom = math.sqrt(float(np.sum(a**2)) * float(np.sum(b**2)))
    return float(np.clip(np.sum(a * b) / denom, -1.0, 1.0)) if denom > 0 else NAN


def _t_pvalue(r: float, n: int, k: int) -> float:
    """Two-sided p-value of a (partial) correlation, ``df = n - 2 - k``."""
    df = n - 2 - k
    if not np.isfinite(r) or df <= 0:
        return NAN
    if np.isclose(r * r, 1.0):
        return 0.0
    t = r * math.sqrt(df / (1.0 - r * r))
    return float(2.0 * stats.t.sf(abs(t), df))


def _is_constant(values: np.ndarray) -> bool:
    """True when a vector has fewer than two distinct values."""
    return values.size < 2 or bool(np.all(values == values[0]))


def _core(x: np.ndarray, y: np.ndarray, z: np.ndarray, method: str) -> tuple[float, float, float]:
    """``(r, ratio_x, ratio_y)`` on complete, non-constant data.

    ``r`` is NaN when either residual is degenerate (ratio below 1e-10).
    """
    tx, ty, tz = _transform(x, method), _transform(y, method), _transform(z, method)
    rx, ry = _residualize(tx, tz), _residualize(ty, tz)
    ratio_x, ratio_y = _variance_ratio(tx, rx), _variance_ratio(ty, ry)
    if not (ratio_x >= DEGENERATE_RATIO and ratio_y >= DEGENERATE_RATIO):
        return NAN, ratio_x, ratio_y
    return _pearson(rx, ry), ratio_x, ratio_y


def _constant_name(data: _Data) -> str | None:
    """Name of the first constant input among the complete rows, or None."""
    columns = [("predicted", data.x), ("actual", data.y)]
    columns += [(f"baseline column {name!r}", data.z[:, j]) for j, name in enumerate(data.controls)]
    for name, values in columns:
        if _is_constant(values):
            return name
    return None


def _weighted_residuals(design: np.ndarray, target: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Residuals of a weighted least-squares fit of each resample's ``target`` on its ``design``.

    ``design`` is ``(n_boot, n, p)``, ``target`` and ``weights`` ``(n_boot, n)``.
    Row ``i`` counts ``weights[b, i]`` times, so this is :func:`_residualize` on
    the resample written out: rows scaled by the square root of their weight,
    projected off the span of the design's singular vectors above numpy
    ``lstsq``'s cutoff (``eps * max(rows, p) * largest singular value``, rows
    being the resample size), then scaled back.
    """
    root = np.sqrt(weights)
    scaled_design = design * root[:, :, None]
    scaled_target = target * root
    u, sing, _ = np.linalg.svd(scaled_design, full_matrices=False)
    size = np.maximum(weights.sum(axis=1), design.shape[2])
    keep = sing > (np.finfo(float).eps * size * sing[:, 0])[:, None]
    u = u * keep[:, None, :]
    fitted = np.einsum("bnp,bp->bn", u, np.einsum("bnp,bn->bp", u, scaled_target))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(weights > 0, (scaled_target - fitted) / root, 0.0)


def _weighted_partial_r(data: _Data, method: str, weights: np.ndarray) -> np.ndarray:
    """Partial r of every resample given by row multiplicities, NaN where undefined.

    The same rules as :func:`_core` on each resample written out: NaN when the
    resample leaves no degrees of freedom, when an input is constant among the
    drawn rows, or when a residual is degenerate.
    """
    k = data.z.shape[1]
    columns = [data.x, data.y, *data.z.T]
    undefined = weights.sum(axis=1) - 2 - k <= 0
    for values in columns:
        undefined |= drawn_constant(values, weights)
    if method == "spearman":
        tx, ty, *tz = (weighted_ranks(values, weights) for values in columns)
    else:
        tx, ty, *tz = (np.broadcast_to(values, weights.shape) for values in columns)
    design = np.stack([np.ones(weights.shape), *tz], axis=2)
    rx = _weighted_residuals(design, tx, weights)
    ry = _weighted_residuals(design, ty, weights)
    for t, r in ((tx, rx), (ty, ry)):
        total = weights.sum(axis=1)
        centred = t - ((weights * t).sum(axis=1) / total)[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (weights * r * r).sum(axis=1) / (weights * centred * centred).sum(axis=1)
        undefined |= ~(ratio >= DEGENERATE_RATIO)
    r = weighted_pearson(rx, ry, weights)
    return np.where(undefined, np.nan, r)


# ---------------------------------------------------------------- public API


def fisher_ci(r: float, n: int, k: int = 0, confidence: float = 0.95) -> tuple[float, float]:
    """Fisher z confidence interval of a (partial) correlation, as pingouin computes it.

    Parameters
    ----------
    r : float
        The correlation.
    n : int
        Rows used.
    k : int
        Number of controls (se is ``1 / sqrt(n - 3 - k)``).
    confidence : float
        Coverage, in (0, 1).

    Returns
    -------
    tuple of float
        ``(low, high)``; NaN when ``r`` is NaN or ``n - 3 - k <= 0``.

    Examples
    --------
    >>> lo, hi = fisher_ci(0.5, 50, 1)
    >>> print(round(lo, 3), round(hi, 3))
    0.255 0.685
    """
    if not np.isfinite(r) or n - 3 - k <= 0:
        return NAN_CI
    crit = stats.norm.ppf(0.5 + confidence / 2.0)
    se = 1.0 / math.sqrt(n - 3 - k)
    with np.errstate(divide="ignore"):
        z = np.arctanh(r)
    return (float(np.tanh(z - crit * se)), float(np.tanh(z + crit * se)))


def min_detectable_r(n: int, k: int = 0, alpha: float = 0.05, power: float = POWER) -> float:
    """Smallest |r| a two-sided test at ``alpha`` detects with the given power.

    Uses the Fisher z approximation
    ``atanh(r) = (z_{1-alpha/2} + z_{power}) / sqrt(n - 3 - k)``.

    Parameters
    ----------
    n : int
        Rows.
    k : int
        Number of controls.
    alpha : float
        Two-sided significance level.
    power : float
        Desired power.

    Returns
    -------
    float
        The detectable correlation; NaN when ``n - 3 - k <= 0``.

    Examples
    --------
    >>> print(round(min_detectable_r(100), 3), round(min_detectable_r(1000, k=2), 3))
    0.277 0.089
    """
    if n - 3 - k <= 0:
        return NAN
    z = stats.norm.ppf(1.0 - alpha / 2.0) + stats.norm.ppf(power)
    return float(np.tanh(z / math.sqrt(n - 3 - k)))


def classify_effect(raw_r: float, partial_r: float) -> str:
    """Effect-size class of ``mbe-eval``: how the raw correlation fares after controls.

    Parameters
    ----------
    raw_r : float
        Correlation without controls.
    partial_r : float
        Partial correlation given the controls.

    Returns
    -------
    str
        One of ``insufficient-data``, ``washout``, ``sign-inversion``,
        ``reverse-inversion``, ``hidden-after-control``, ``survives``,
        ``weak-or-mixed`` (rules in the module docstring).

    Examples
    --------
    >>> classify_effect(0.6, 0.05), classify_effect(0.6, 0.3), classify_effect(-0.4, 0.25)
    ('washout', 'survives', 'sign-inversion')
    """
    if not (np.isfinite(raw_r) and np.isfinite(partial_r)):
        return "insufficient-data"
    if abs(raw_r) >= EFFECT_THRESHOLD and abs(partial_r) < WASHOUT_THRESHOLD:
        return "washout"
    if raw_r <= -EFFECT_THRESHOLD and partial_r >= EFFECT_THRESHOLD:
        return "sign-inversion"
    if raw_r >= EFFECT_THRESHOLD and partial_r <= -EFFECT_THRESHOLD:
        return "reverse-inversion"
    if abs(raw_r) < EFFECT_THRESHOLD and abs(partial_r) >= EFFECT_THRESHOLD:
        return "hidden-after-control"
    if np.sign(raw_r) == np.sign(partial_r) and abs(partial_r) >= EFFECT_THRESHOLD:
        return "survives"
    return "weak-or-mixed"


def partial_correlation(x, y, covar, method: str = "spearman") -> PartialCorrelation:
    """Partial correlation of ``x`` and ``y`` controlling for ``covar`` (equals pingouin's).

    Parameters
    ----------
    x, y : array-like
        1-D numeric, equal length.
    covar : array-like or DataFrame
        1-D (one control) or ``(n, k)``.
    method : {"spearman", "pearson"}
        Rank (average ranks) or value correlation.

    Returns
    -------
    PartialCorrelation
        ``(r, p, n, residual_variance_ratio)``.  ``r`` and ``p`` are NaN when
        undefined: a constant input, ``n - 2 - k <= 0``, or x or y (nearly) a
        function of the covariates (residual variance ratio < 1e-10).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=50)
    >>> x, y = z + rng.normal(size=50), z + rng.normal(size=50)
    >>> res = partial_correlation(x, y, z, method="pearson")
    >>> print(res.n, round(res.r, 3), round(res.p, 3))
    50 0.13 0.375
    """
    data = _complete_rows(x, y, covar)
    method = _check_method(method)
    n, k = data.x.size, data.z.shape[1]
    if n - 2 - k <= 0 or _constant_name(data) is not None:
        return PartialCorrelation(NAN, NAN, n, NAN)
    r, ratio_x, _ = _core(data.x, data.y, data.z, method)
    return PartialCorrelation(r, _t_pvalue(r, n, k), n, ratio_x)


def partial_residuals(predicted, actual, baseline, method: str = "spearman") -> tuple[np.ndarray, np.ndarray]:
    """Residuals of predicted and actual after regressing (ranks) on the baseline.

    Their Pearson correlation is the partial correlation; plot one against the
    other to see it.

    Parameters
    ----------
    predicted, actual : array-like
        1-D numeric, equal length.
    baseline : array-like or DataFrame
        1-D or ``(n, k)`` controls.
    method : {"spearman", "pearson"}
        Residualise ranks or values.

    Returns
    -------
    tuple of numpy.ndarray
        ``(predicted_residuals, actual_residuals)``, the same length as the
        input, NaN at rows dropped for a NaN or infinite value.

    Examples
    --------
    >>> rx, ry = partial_residuals([1, 2, 3, 4, np.nan], [2, 1, 4, 3, 5], [1, 1, 2, 2, 3])
    >>> rx.round(2).tolist()
    [-0.5, 0.5, -0.5, 0.5, nan]
    """
    method = _check_method(method)
    data = _complete_rows(predicted, actual, baseline)
    out_x = np.full(data.keep.size, np.nan)
    out_y = np.full(data.keep.size, np.nan)
    if data.x.size:
        tz = _transform(data.z, method)
        out_x[data.keep] = _residualize(_transform(data.x, method), tz)
        out_y[data.keep] = _residualize(_transform(data.y, method), tz)
    return out_x, out_y


def _raw_correlation(x: np.ndarray, y: np.ndarray, method: str) -> tuple[float, float]:
    """scipy Spearman or Pearson correlation and p-value; NaN when undefined."""
    if x.size < 3 or _is_constant(x) or _is_constant(y):
        return NAN, NAN
    result = stats.spearmanr(x, y) if method == "spearman" else stats.pearsonr(x, y)
    return float(result.statistic), float(result.pvalue)


def _insufficiency(data: _Data, ratio_y: float | None) -> str | None:
    """Reason the data cannot be judged, or None."""
    n, k = data.x.size, data.z.shape[1]
    if n < MIN_ROWS:
        return f"only {n} complete rows ({data.n_dropped} dropped for NaN/inf); need at least {MIN_ROWS}"
    constant = _constant_name(data)
    if constant is not None:
        return f"{constant} is constant over the {n} complete rows, so correlations are undefined"
    if n - 2 - k <= 0:
        return f"df = n - 2 - k = {n} - 2 - {k} = {n - 2 - k} <= 0: too few rows for {k} controls"
    if ratio_y is not None and not ratio_y >= DEGENERATE_RATIO:
        return (
            f"actual is (nearly) a function of the baseline (residual variance ratio {ratio_y:.2g} < "
            f"{DEGENERATE_RATIO:g}): nothing is left for a prediction to explain"
        )
    return None


def _degenerate_reason(ratio_x: float, method: str) -> str:
    """Reason for the loss-proxy verdict when the predictions are a function of the baseline."""
    what = "ranks" if method == "spearman" else "values"
    return (
        f"the predictions' {what} are (nearly) a function of the baseline: residual variance ratio "
        f"{ratio_x:.2g} < {DEGENERATE_RATIO:g}, so partial_r is set to 0 (p = 1)"
    )


@dataclass(frozen=True)
class _Decision:
    """The tested estimate, its interval and p, and how they were made."""

    estimate: float
    interval: tuple[float, float]
    p: float
    df: float
    design_effect: float
    n_groups: int | None
    adjustment: str
    inference: str
    ratio_x: float
    ratio_y: float


def _decision_basis(tz: np.ndarray, n: int, adjustment: str,
                    fixed: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """Control columns for the decision: the flexible basis when it leaves enough df, else the controls.

    ``fixed`` (scenario indicator columns) is appended to either basis.
    """
    extra = np.empty((n, 0)) if fixed is None else fixed
    what_fixed = f" + {extra.shape[1]} scenario indicators" if extra.shape[1] else ""
    if adjustment == "flexible":
        for tensor, what in ((True, "tensor-product interactions"), (False, "products")):
            spline = flexible_basis(tz, tensor=tensor)
            basis = np.column_stack([spline, extra])
            cols = np.linalg.matrix_rank(np.column_stack([np.ones(n), basis])) - 1
            if spline.shape[1] > tz.shape[1] and n - 3 - cols >= MIN_FLEXIBLE_DF:
                return basis, (f"flexible ({cols} control columns: splines of each control + {what}"
                               f"{what_fixed})")
    basis = np.column_stack([tz, extra])
    cols = np.linalg.matrix_rank(np.column_stack([np.ones(n), basis])) - 1
    return basis, f"linear ({cols} control columns{': the controls' + what_fixed if what_fixed else ''})"


def _stratum_codes(strata: np.ndarray | None) -> np.ndarray | None:
    """Integer code of each row's scenario, or None with fewer than two scenarios."""
    if strata is None or not len(strata):
        return None
    codes = pd.factorize(pd.Series(strata, dtype=object))[0]
    return codes if codes.max() >= 1 else None


def _within_ranks(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Column-wise average ranks within each scenario, scaled to ``(rank - 0.5) / size`` in (0, 1)."""
    out = np.empty(values.shape, dtype=float)
    for code in np.unique(codes):
        rows = codes == code
        out[rows] = (stats.rankdata(values[rows], axis=0) - 0.5) / int(rows.sum())
    return out


def _indicators(codes: np.ndarray) -> np.ndarray:
    """One 0/1 column per scenario but the first (fixed effects next to the intercept)."""
    return (codes[:, None] == np.arange(1, int(codes.max()) + 1)[None, :]).astype(float)


def _decide(data: _Data, method: str, alpha: float, adjustment: str, linear_p: float,
            codes: np.ndarray | None = None, scenario_adjustment: str = "within-ranks") -> _Decision:
    """Residualise on the (flexible) basis and test the partial correlation, cluster-robust with groups.

    With scenario ``codes`` the basis gains scenario indicators, and for spearman with
    ``scenario_adjustment="within-ranks"`` every variable is ranked within its scenario first.
    """
    if codes is not None and method == "spearman" and scenario_adjustment == "within-ranks":
        tx, ty, tz = (_within_ranks(v, codes) for v in (data.x, data.y, data.z))
    else:
        tx, ty, tz = _transform(data.x, method), _transform(data.y, method), _transform(data.z, method)
    n = tx.size
    basis, described = _decision_basis(tz, n, adjustment, None if codes is None else _indicators(codes))
    cols = np.linalg.matrix_rank(np.column_stack([np.ones(n), basis])) - 1
    rx, ry = _residualize(tx, basis), _residualize(ty, basis)
    ratio_x, ratio_y = _variance_ratio(tx, rx), _variance_ratio(ty, ry)
    if not (ratio_x >= DEGENERATE_RATIO and ratio_y >= DEGENERATE_RATIO):
        return _Decision(NAN, NAN_CI, NAN, NAN, NAN, None, described, "none", ratio_x, ratio_y)
    r = _pearson(rx, ry)
    rank = method == "spearman"
    if data.groups is None:
        df = float(n - 2 - cols)
        interval, p = partial_r_interval(r, n, cols, rank=rank, alpha=alpha)
        if cols == data.z.shape[1] and np.isfinite(linear_p) and np.isfinite(p):  # linear: pingouin's p, halved
            p = linear_p / 2.0 if r > 0 else 1.0 - linear_p / 2.0
        inference = f"partial-correlation t test, independent rows, df = {df:g}"
        return _Decision(r, interval, p, df, 1.0, None, described, inference, ratio_x, ratio_y)
    codes = pd.factorize(pd.Series(data.groups, dtype=object))[0]
    n_groups = int(codes.max()) + 1
    if n_groups < MIN_GROUPS:
        return _Decision(r, NAN_CI, NAN, NAN, NAN, n_groups, described, "none", ratio_x, ratio_y)
    test = cluster_slope_test(tx, ty, basis, codes)
    df = float(min(test.df, n - 3 - cols)) if np.isfinite(test.df) else float(n_groups - 1)
    interval, p = partial_r_interval(r, n, cols, rank=rank, design_effect=test.design_effect, df=df, alpha=alpha)
    inference = (f"CR2 cluster-robust over {n_groups} groups, Bell-McCaffrey df = {df:.1f}, "
                 f"design effect {test.design_effect:.2f}")
    return _Decision(r, interval, p, df, test.design_effect, n_groups, described, inference, ratio_x, ratio_y)


def _judge(d: _Decision, alpha: float, effect_size: float, n: int, k: int) -> tuple[str, str]:
    """Verdict and reason from the decision's estimate, interval and one-sided p."""
    level = f"{100 * (1 - 2 * alpha):g}%"
    where = (f"n = {n}, k = {k}" + (f", {d.n_groups} groups" if d.n_groups else "")
             + f"; {level} interval [{d.interval[0]:.3f}, {d.interval[1]:.3f}], one-sided p = {d.p:.3g}")
    if not np.isfinite(d.p):
        return "insufficient-data", (
            f"partial r = {d.estimate:.3f}, but its interval is undefined with n - 3 - p <= 0 ({where}): "
            "too few rows for the control columns")
    if d.estimate > 0 and d.p <= alpha and not d.interval[0] > 0:
        # the linear no-groups path takes pingouin's t-test p, the interval Bonett-Wright's rank se: they can
        # disagree on small n; genuine needs both (the reported interval must exclude 0)
        return "inconclusive", (
            f"partial r = {d.estimate:.3f} with one-sided p <= alpha = {alpha:g}, but the reported interval does "
            f"not exclude 0 ({where}): not established")
    if d.estimate > 0 and d.p <= alpha:
        return "genuine", (
            f"partial r = {d.estimate:.3f} > 0 with one-sided p <= alpha = {alpha:g} ({where}): the predictions "
            "carry information about the actual values beyond the baseline")
    if d.interval[1] < effect_size:
        return "loss-proxy", (
            f"partial r = {d.estimate:.3f}: the interval lies below the effect size {effect_size:g} ({where}): "
            "beyond the baseline the predictions add at most a negligible increment")
    return "inconclusive", (
        f"partial r = {d.estimate:.3f}: the interval contains both 0 and the effect size {effect_size:g} "
        f"({where}): too little data to tell an increment from none")


def _bootstrap_ci95(data: _Data, method: str, n_boot: int, seed: int | None) -> tuple[tuple[float, float], str]:
    """Percentile bootstrap 95% interval of the partial r (rows or whole groups)."""
    plan = make_plan(data.x.size, groups=data.groups, n_boot=n_boot, seed=seed)
    if plan.n_boot == 0:
        return NAN_CI, "none"
    replicates = np.concatenate([_weighted_partial_r(data, method, w) for w in plan.weight_chunks()])
    return percentile_interval(replicates, 0.95), plan.description


def _validate_options(method: str, alpha: float, n_boot: int, adjustment: str = "flexible",
                      effect_size: float = EFFECT_SIZE) -> None:
    """Raise ValueError for an unknown method or adjustment, alpha or effect_size outside (0, 1), a bad n_boot."""
    _check_method(method)
    if not 0.0 < float(alpha) < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5) (one-sided level), got {alpha!r}")
    if adjustment not in ADJUSTMENTS:
        raise ValueError(f"adjustment must be one of {ADJUSTMENTS}, got {adjustment!r}")
    if not 0.0 < float(effect_size) < 1.0:
        raise ValueError(f"effect_size must be in (0, 1), got {effect_size!r}")
    if isinstance(n_boot, bool) or int(n_boot) != n_boot or n_boot < 0:
        raise ValueError(f"n_boot must be a non-negative integer, got {n_boot!r}")


def mbe_check(
    predicted: Sequence[float] | np.ndarray | pd.Series,
    actual: Sequence[float] | np.ndarray | pd.Series,
    baseline: Sequence[float] | np.ndarray | pd.Series | pd.DataFrame,
    *,
    method: str = "spearman",
    alpha: float = 0.05,
    groups: Sequence | np.ndarray | pd.Series | None = None,
    n_boot: int = 1000,
    seed: int | None = 0,
    adjustment: str = "flexible",
    effect_size: float = EFFECT_SIZE,
    strata: Sequence | np.ndarray | pd.Series | None = None,
    scenario_adjustment: str = "both",
) -> MBEResult:
    """Marginal Baseline Evaluation: do the predictions beat the baseline?

    Parameters
    ----------
    predicted, actual : array-like
        1-D numeric, equal length, matched by position.
    baseline : array-like or DataFrame
        The controls: 1-D (one control) or ``(n, k)``; a DataFrame's column
        names (a Series' name) become the control names.
    method : {"spearman", "pearson"}
        Rank-based (default) or value-based partial correlation.
    alpha : float
        One-sided level of each of the verdict's two tests, in (0, 0.5).
    groups : array-like, optional
        One label per row (e.g. the model).  The decision is then
        cluster-robust (CR2, Bell-McCaffrey df) and the bootstrap resamples
        whole groups.
    n_boot : int
        Bootstrap resamples for ``ci95_bootstrap``; 0 skips it.
    seed : int or None
        Random seed of the bootstrap.
    adjustment : {"flexible", "linear"}
        Residualise on a spline basis of the controls (default) or on the
        controls themselves (the classical partial correlation).
    effect_size : float
        Smallest partial correlation that matters: ``loss-proxy`` needs the
        interval's upper bound below it.
    strata : array-like, optional
        One scenario label per row.  With two or more scenarios the decision
        controls for scenario (module docstring, "Scenarios") and the result
        also carries the pooled decision (``pooled_*`` fields).
    scenario_adjustment : {"both", "within-ranks", "fixed-effects"}
        With ``strata``: rank within each scenario and add scenario
        indicators (``"within-ranks"``), keep the pooled ranks and add the
        indicators (``"fixed-effects"``), or require ``genuine`` from both
        (default; module docstring, "Scenarios").  For pearson every choice
        adds the indicators to the values.

    Returns
    -------
    MBEResult
        Verdict, reason and statistics (rules in the module docstring).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> actual = rng.uniform(0, 1, 100)
    >>> early = actual + rng.normal(0, 0.2, 100)
    >>> res = mbe_check(actual + rng.normal(0, 0.05, 100), actual, early, n_boot=200)
    >>> print(res.verdict, res.effect_class, round(res.estimate, 2), res.n)
    genuine survives 0.95 100
    >>> mbe_check(np.exp(early), actual, early, n_boot=0).reason.startswith("the predictions' ranks")
    True

    Runs of two scenarios; the prediction knows only which scenario a run is in (Simpson's case):

    >>> scenario = np.repeat(["easy", "hard"], 50)
    >>> actual = np.where(scenario == "easy", 0.8, 0.3) + rng.normal(0, 0.1, 100)
    >>> early = actual + rng.normal(0, 0.3, 100)
    >>> simpson = np.where(scenario == "easy", 0.8, 0.3)
    >>> res = mbe_check(simpson, actual, early, strata=scenario, n_boot=0)
    >>> res.pooled_verdict, res.verdict, res.between_scenarios_only
    ('genuine', 'loss-proxy', True)
    """
    _validate_options(method, alpha, n_boot, adjustment, effect_size)
    if scenario_adjustment not in SCENARIO_ADJUSTMENTS:
        raise ValueError(f"scenario_adjustment must be one of {SCENARIO_ADJUSTMENTS}, got {scenario_adjustment!r}")
    data = _complete_rows(predicted, actual, baseline, groups, strata)
    n, k = data.x.size, data.z.shape[1]
    raw_r, raw_p = _raw_correlation(data.x, data.y, method)
    common = dict(n=n, n_dropped=data.n_dropped, k=k, controls=data.controls, method=method, alpha=float(alpha),
                  raw_r=raw_r, raw_p=raw_p, min_detectable_r=min_detectable_r(n, k, 2 * alpha),
                  effect_size=float(effect_size))
    no_ci = dict(ci95=NAN_CI, ci95_bootstrap=NAN_CI, bootstrap="none")

    problem = _insufficiency(data, None)
    if problem:
        return MBEResult(**common, **no_ci, partial_r=NAN, partial_p=NAN, verdict="insufficient-data",
                         reason=problem, effect_class=classify_effect(raw_r, NAN), residual_variance_ratio=NAN,
                         adjustment=adjustment)
    r, ratio_x, ratio_y = _core(data.x, data.y, data.z, method)
    if not ratio_x >= DEGENERATE_RATIO:
        return MBEResult(**common, **no_ci, partial_r=0.0, partial_p=1.0, verdict="loss-proxy",
                         reason=_degenerate_reason(ratio_x, method), effect_class=classify_effect(raw_r, 0.0),
                         residual_variance_ratio=ratio_x, estimate=0.0, p=1.0, adjustment="linear",
                         pooled_estimate=0.0, pooled_p=1.0, pooled_verdict="loss-proxy")
    problem = _insufficiency(data, ratio_y)
    if problem:
        return MBEResult(**common, **no_ci, partial_r=NAN, partial_p=NAN, verdict="insufficient-data",
                         reason=problem, effect_class=classify_effect(raw_r, NAN), residual_variance_ratio=ratio_x,
                         adjustment=adjustment)
    p = _t_pvalue(r, n, k)
    pooled = _decide(data, method, alpha, adjustment, p)
    codes = _stratum_codes(data.strata)
    pooled_verdict, pooled_reason = _outcome(pooled, data, method, alpha, effect_size, n, k)
    checks: dict[str, str] = {}
    if codes is None:
        used, decision, verdict, reason = "none", pooled, pooled_verdict, pooled_reason
    else:
        kinds = ("within-ranks", "fixed-effects") if scenario_adjustment == "both" else (scenario_adjustment,)
        kinds = kinds if method == "spearman" else ("fixed-effects",)  # values: both are scenario indicators
        outcomes = {}
        for kind in kinds:
            made = _decide(data, method, alpha, adjustment, p, codes, kind)
            outcomes[kind] = (made, *_outcome(made, data, method, alpha, effect_size, n, k, scenarios=True))
        checks = {kind: outcome[1] for kind, outcome in outcomes.items()}
        # genuine needs every adjustment to say so; the first that does not is the one reported
        used = next((kind for kind in kinds if checks[kind] != "genuine"), kinds[0])
        decision, verdict, reason = outcomes[used]
        others = [f"{kind}: {v}" for kind, v in checks.items() if kind != used]
        if others:
            reason += f" [scenario adjustment {used}; {'; '.join(others)}; genuine needs every one]"
    linear = dict(partial_r=r, partial_p=p, ci95=fisher_ci(r, n, k), effect_class=classify_effect(raw_r, r),
                  residual_variance_ratio=ratio_x)
    fields = dict(estimate=decision.estimate, interval=decision.interval, p=decision.p, df=decision.df,
                  design_effect=decision.design_effect, n_groups=decision.n_groups,
                  adjustment=decision.adjustment, inference=decision.inference,
                  scenarios=0 if codes is None else int(codes.max()) + 1, scenario_adjustment=used,
                  scenario_checks=checks, pooled_estimate=pooled.estimate, pooled_interval=pooled.interval,
                  pooled_p=pooled.p, pooled_verdict=pooled_verdict)
    if codes is not None and pooled_verdict == "genuine" and verdict != "genuine":
        fields["between_scenarios_only"] = True
        reason += (f". Pooled over the {fields['scenarios']} scenarios without controlling for them it would be "
                   f"genuine (partial r = {pooled.estimate:.3f}, one-sided p = {pooled.p:.3g}): that correlation "
                   "comes from differences between scenarios, not from ranking runs within a scenario")
    degenerate = verdict == "loss-proxy" and not decision.ratio_x >= DEGENERATE_RATIO
    boot = dict(ci95_bootstrap=NAN_CI, bootstrap="none")
    if verdict in ("genuine", "loss-proxy", "inconclusive") and not degenerate:
        ci_boot, boot_name = _bootstrap_ci95(data, method, n_boot, seed)
        boot = dict(ci95_bootstrap=ci_boot, bootstrap=boot_name)
    return MBEResult(**common, **linear, **fields, **boot, verdict=verdict, reason=reason)


def _outcome(decision: _Decision, data: _Data, method: str, alpha: float, effect_size: float, n: int, k: int,
             scenarios: bool = False) -> tuple[str, str]:
    """Verdict and reason of one decision (degenerate residuals and too few groups first, then :func:`_judge`)."""
    if not decision.ratio_x >= DEGENERATE_RATIO:
        where = "baseline's basis and the scenario" if scenarios else "baseline's basis"
        reason = _degenerate_reason(decision.ratio_x, method).replace("baseline", where, 1)
        if scenarios:
            reason += ("; within each scenario the predictions only re-rank the baseline (e.g. a scenario mean, "
                       "alone or blended with the revealed mean)")
        return "loss-proxy", reason
    if not decision.ratio_y >= DEGENERATE_RATIO:
        where = "the baseline's flexible basis" + (" and the scenario" if scenarios else "")
        return "insufficient-data", f"actual is (nearly) a function of {where}: nothing is left for a prediction to explain"
    if decision.n_groups is not None and decision.n_groups < MIN_GROUPS:
        return "insufficient-data", (f"only {decision.n_groups} groups among the {n} rows; the cluster-robust "
                                     f"decision needs at least {MIN_GROUPS}")
    return _judge(decision, alpha, effect_size, n, k)
