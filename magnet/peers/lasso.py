"""Lasso coreset (benchpred's ``LassoPred``): the items a sparse linear predictor of the mean keeps.

``Lasso(alpha, max_iter=10000)`` from the source models' full score rows to their mean is fitted for
alpha on ``np.logspace(-4, 1, 1000)`` in increasing order; the first alpha with exactly ``k`` non-zero
coefficients is kept (else the one with the fewest missing coefficients among those with at most
``k``). Its support is the coreset and the model predicts a target from its coreset scores (the other
features set to 0). The scan is deterministic; its result is cached per (source, k) so that ``select``
followed by ``estimate`` fits once.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso

from magnet.peers._common import check_inputs, check_k, check_source

_CACHE: dict[tuple, "LassoFit"] = {}
_BY_SUPPORT: dict[tuple, "LassoFit"] = {}  # the same fits by support: ``estimate`` on a coreset of fewer than k items


@dataclass(frozen=True)
class LassoFit:
    """The chosen lasso: its ``alpha``, coefficients over all items, intercept and support (the coreset).

    Example:
        >>> LassoFit(alpha=0.1, coef=np.array([0.0, 0.5]), intercept=0.1, support=np.array([1])).support.tolist()
        [1]
    """

    alpha: float
    coef: np.ndarray
    intercept: float
    support: np.ndarray


def fit_lasso_sparsity(source, k: int, alphas=None) -> LassoFit:
    """Scan alphas (increasing) for a lasso of the row mean with ``k`` non-zero coefficients (benchpred's rule).

    Example:
        >>> src = (np.random.RandomState(0).rand(15, 20) < 0.5).astype(float)
        >>> fit = fit_lasso_sparsity(src, 4, alphas=np.logspace(-3, 0, 60))
        >>> len(fit.support) <= 4
        True
    """
    src = check_source(source)
    k = check_k(k, src.shape[1])
    grid = np.logspace(-4, 1, 1000) if alphas is None else np.asarray(alphas, dtype=float)
    key = (hashlib.sha1(np.ascontiguousarray(src).tobytes()).hexdigest(), src.shape, k,
           hashlib.sha1(grid.tobytes()).hexdigest())
    if key in _CACHE:
        return _CACHE[key]
    y = src.mean(axis=-1)
    best, best_diff = None, float("inf")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = Lasso(max_iter=10000)
        for alpha in grid:
            model.set_params(alpha=alpha).fit(src, y)
            nonzero = int(np.sum(model.coef_ != 0))
            diff = abs(nonzero - k)
            if nonzero <= k and diff < best_diff:
                best, best_diff = (float(alpha), model.coef_.copy(), float(model.intercept_)), diff
            if diff == 0:
                break
    if best is None:
        raise ValueError(f"k: no alpha on the grid gives a lasso with at most {k} items")
    fit = LassoFit(alpha=best[0], coef=best[1], intercept=best[2], support=np.flatnonzero(best[1] != 0))
    if len(_CACHE) > 16:
        _CACHE.clear()
        _BY_SUPPORT.clear()
    _CACHE[key] = fit
    _BY_SUPPORT[(key[0], src.shape, tuple(fit.support))] = fit
    return fit


def lasso_select(source, k, rng=None) -> np.ndarray:
    """The lasso's support for ``k`` items (may be fewer when no alpha gives exactly ``k``).

    Example:
        >>> src = (np.random.RandomState(0).rand(15, 12) < 0.5).astype(float)
        >>> bool(len(lasso_select(src, 3)) <= 3)
        True
    """
    return fit_lasso_sparsity(source, k).support


def lasso_estimate(source, coreset, target_coreset_scores, rng=None) -> np.ndarray:
    """Predict the targets' means with the lasso whose support is ``coreset``.

    The coreset must be the one ``lasso_select`` returned for this source (the method has no
    definition for another coreset); the fit is recomputed if it is not cached.

    Example:
        >>> src = (np.random.RandomState(0).rand(15, 12) < 0.5).astype(float)
        >>> core = lasso_select(src, 3)
        >>> lasso_estimate(src, core, src[:2, core]).shape
        (2,)
    """
    src, idx, tgt = check_inputs(source, coreset, target_coreset_scores)
    key = (hashlib.sha1(np.ascontiguousarray(src).tobytes()).hexdigest(), src.shape, tuple(np.sort(idx)))
    fit = _BY_SUPPORT.get(key) or (fit_lasso_sparsity(src, len(idx)) if len(idx) > 1 else None)
    if fit is None or not np.array_equal(np.sort(idx), fit.support):
        raise ValueError("coreset: lasso estimates only on its own coreset (lasso_select(source, k))")
    return tgt @ fit.coef[idx] + fit.intercept
