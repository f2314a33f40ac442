"""Item-level estimators of a target model's full-benchmark mean from its scores on a coreset.

Array functions with the peers' signature (``magnet/peers``):
``estimate(source (n_source x n_items), coreset (k indices), target_coreset_scores (n_target x k), rng)
-> (n_target,)`` predicted means over all items (coreset included).

* :func:`irt_estimate`: a two-parameter logistic item model fitted on the source models
  (``P(correct) = sigmoid(a_j * theta + b_j)``, one ability per model, L2-penalised items, alternating
  Newton steps); a target's ability is its MAP estimate from its coreset scores under a wide prior, so
  it can lie beyond every source model (extrapolation); the estimate keeps the observed coreset scores and
  adds the curve's probabilities on the other items.
* :func:`irt_dr_estimate`: the curve's mean over all items plus the mean coreset residual (difference estimator);
* :func:`item_ridge_dr_estimate`: the same with a per-target ridge across items on the source models'
  scores as the item predictor (the idea of the peers' AIPW);
* :func:`learn_estimate`: ridge regression of the full mean on the coreset scores, fitted on the source.
* :func:`ensemble_estimate`: the plain average of the ``top`` (3) of these and the sample mean with the
  smallest inner error (``top=None``: the convex combination on a 0.1 grid with the smallest inner error), chosen by **cross-validation inside the source models**: the
  source is split as the targets relate to it (if the targets' coreset means lie above most source
  models, the inner split trains on the lower source models and validates on the top ones, as
  extrapolation does; else random inner splits), each candidate is run on the inner splits, and
  the plain average of the ``top`` (default 3) candidates with the smallest inner mean absolute error
  is the estimate (``top=None``: the weights on a 0.1 grid of the simplex with the smallest inner
  error; measured to overfit the few inner validation models). Nothing of the targets but their
  coreset scores is used.

Example:
    >>> rng = np.random.default_rng(0)
    >>> theta, b = rng.normal(size=80), rng.normal(size=400)
    >>> S = (rng.random((80, 400)) < 1 / (1 + np.exp(-(theta[:, None] - b)))).astype(float)
    >>> core = np.arange(20)
    >>> est = ensemble_estimate(S[:60], core, S[60:, core], 0)
    >>> gap = np.abs(est - S[60:].mean(1)).mean()
    >>> base = np.abs(S[60:, core].mean(1) - S[60:].mean(1)).mean()   # the sample mean's gap
    >>> round(float(gap), 3), round(float(base), 3)
    (0.057, 0.066)
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["fit_irt", "irt_abilities", "irt_estimate", "irt_dr_estimate", "item_ridge_dr_estimate", "learn_estimate",
           "ensemble_estimate", "ENSEMBLE_PARTS"]


def _check(source, coreset, target_coreset_scores):
    src = np.asarray(source, dtype=float)
    idx = np.asarray(coreset, dtype=int)
    tgt = np.asarray(target_coreset_scores, dtype=float).reshape(-1, len(idx))
    if src.ndim != 2 or not len(idx) or np.isnan(src).any() or np.isnan(tgt).any():
        raise ValueError("source must be a complete 2-D matrix and the coreset non-empty")
    return src, idx, tgt


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


def irt_abilities(y: np.ndarray, a: np.ndarray, b: np.ndarray, prior_sd: float = 3.0, iters: int = 25) -> np.ndarray:
    """MAP abilities of each row of ``y`` (n x k scores in [0, 1]) given item parameters ``a``, ``b`` (k,).

    Example:
        >>> th = irt_abilities(np.array([[1, 1, 0.], [0, 0, 1.]]), np.ones(3), np.zeros(3))
        >>> bool(th[0] > th[1])
        True
    """
    y = np.atleast_2d(np.asarray(y, dtype=float))
    theta = np.zeros(len(y))
    for _ in range(iters):
        p = _sigmoid(theta[:, None] * a + b)
        grad = ((y - p) * a).sum(1) - theta / prior_sd ** 2
        hess = -(p * (1 - p) * a * a).sum(1) - 1 / prior_sd ** 2
        theta = np.clip(theta - grad / hess, -8, 8)
    return theta


_FITS: dict = {}


def _fit_irt_cached(source: np.ndarray):
    """:func:`fit_irt` with defaults, remembered for the last few source matrices (the ensemble reuses them)."""
    key = (source.shape, hash(source.tobytes()))
    if key not in _FITS:
        if len(_FITS) >= 16:
            _FITS.pop(next(iter(_FITS)))
        _FITS[key] = fit_irt(source)
    return _FITS[key]


def fit_irt(source: np.ndarray, iters: int = 12, item_l2: float = 0.5, ability_sd: float = 2.0):
    """Item parameters ``(a, b)`` and source abilities ``theta`` of the 2PL model, by alternating Newton steps.

    Example:
        >>> S = np.array([[1, 1, 1, 0.], [1, 1, 0, 0], [1, 0, 0, 0]])
        >>> a, b, theta = fit_irt(S)
        >>> bool(theta[0] > theta[1] > theta[2]) and bool(b[0] > b[3])
        True
    """
    S = np.asarray(source, dtype=float)
    m = S.mean(1).clip(0.02, 0.98)
    theta = np.log(m / (1 - m))
    theta = (theta - theta.mean()) / (theta.std() + 1e-9)
    a, b = np.ones(S.shape[1]), np.zeros(S.shape[1])
    for _ in range(iters):
        for _ in range(3):  # items: penalised logistic regression of each column on theta (2x2 Newton)
            p = _sigmoid(theta[:, None] * a + b)
            w = p * (1 - p)
            r = S - p
            ga = (r * theta[:, None]).sum(0) - item_l2 * (a - 1)
            gb = r.sum(0) - item_l2 * b
            haa = -(w * theta[:, None] ** 2).sum(0) - item_l2
            hbb = -w.sum(0) - item_l2
            hab = -(w * theta[:, None]).sum(0)
            det = haa * hbb - hab ** 2
            a = a - (hbb * ga - hab * gb) / det
            b = b - (haa * gb - hab * ga) / det
            a = np.clip(a, 0.05, 6)
            b = np.clip(b, -10, 10)
        theta = irt_abilities(S, a, b, prior_sd=ability_sd, iters=5)
    return a, b, theta


def irt_estimate(source, coreset, target_coreset_scores, rng=None) -> np.ndarray:
    """Observed coreset scores plus the 2PL curve's probabilities on the other items, averaged.

    Example:
        >>> S = np.array([[1, 1, 1, 0.], [1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 1]])
        >>> irt_estimate(S, [0, 1], [[1, 1], [1, 0]]).round(2).tolist()[0] > 0.5
        True
    """
    src, idx, tgt = _check(source, coreset, target_coreset_scores)
    a, b, _ = _fit_irt_cached(src)
    theta = irt_abilities(tgt, a[idx], b[idx])
    rest = np.setdiff1d(np.arange(src.shape[1]), idx)
    p_rest = _sigmoid(theta[:, None] * a[rest] + b[rest])
    return (tgt.sum(1) + p_rest.sum(1)) / src.shape[1]


def learn_estimate(source, coreset, target_coreset_scores, rng=None, alphas=(0.1, 1.0, 10.0)) -> np.ndarray:
    """Ridge regression of the full mean on the coreset scores (alpha by leave-one-out on the source).

    Example:
        >>> S = np.array([[0, 0, 0, 1], [0, 1, 1, 1], [1, 1, 1, 1], [0, 0, 1, 1.]])
        >>> learn_estimate(S, [1, 2], [[1, 1], [0, 0]]).shape
        (2,)
    """
    from sklearn.linear_model import RidgeCV

    src, idx, tgt = _check(source, coreset, target_coreset_scores)
    return RidgeCV(alphas=alphas).fit(src[:, idx], src.mean(1)).predict(tgt)


def _sample_mean(source, coreset, target_coreset_scores, rng=None) -> np.ndarray:
    return np.asarray(target_coreset_scores, dtype=float).mean(1)


def _doubly_robust(p: np.ndarray, idx: np.ndarray, tgt: np.ndarray) -> np.ndarray:
    """Mean prediction over all items plus the mean residual on the coreset (a difference estimator)."""
    return p.mean(1) + (tgt - p[:, idx]).mean(1)


def irt_dr_estimate(source, coreset, target_coreset_scores, rng=None) -> np.ndarray:
    """The 2PL curve's mean over all items, corrected by the mean coreset residual.

    Example:
        >>> S = np.array([[1, 1, 1, 0.], [1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 1]])
        >>> irt_dr_estimate(S, [0, 1], [[1, 1], [1, 0]]).shape
        (2,)
    """
    src, idx, tgt = _check(source, coreset, target_coreset_scores)
    a, b, _ = _fit_irt_cached(src)
    theta = irt_abilities(tgt, a[idx], b[idx])
    return _doubly_robust(_sigmoid(theta[:, None] * a + b), idx, tgt)


def item_ridge_dr_estimate(source, coreset, target_coreset_scores, rng=None, alpha: float = 10.0) -> np.ndarray:
    """Per target, ridge regression across items of its score on the source models' scores (fitted on the
    coreset items), averaged over all items and corrected by the mean coreset residual.

    Example:
        >>> S = np.array([[0, 1, 1, 0, 1], [0, 1, 1, 1, 1], [1, 1, 0, 0, 1.]])
        >>> item_ridge_dr_estimate(S, [0, 1, 2], [[0, 1, 1]]).shape
        (1,)
    """
    src, idx, tgt = _check(source, coreset, target_coreset_scores)
    X = src.T  # items x source models
    Xc = X[idx]
    mu_x, mu_y = Xc.mean(0), tgt.mean(1, keepdims=True)
    A = (Xc - mu_x).T @ (Xc - mu_x) + alpha * np.eye(X.shape[1])
    W = np.linalg.solve(A, (Xc - mu_x).T @ (tgt - mu_y).T)  # source models x targets
    p = ((X - mu_x) @ W).T + mu_y
    return _doubly_robust(p, idx, tgt)


#: The candidates the ensemble weighs, in order.
ENSEMBLE_PARTS = {"sample_mean": _sample_mean, "irt": irt_estimate, "irt_dr": irt_dr_estimate,
                  "item_ridge_dr": item_ridge_dr_estimate, "learn": learn_estimate}


def _weights_grid(n: int, step: float = 0.1) -> np.ndarray:
    ticks = int(round(1 / step))
    out = [c for c in itertools.product(range(ticks + 1), repeat=n) if sum(c) == ticks]
    return np.array(out, dtype=float) / ticks


def _inner_splits(src: np.ndarray, idx: np.ndarray, tgt: np.ndarray, rng: np.random.Generator):
    """Inner (train, validate) source-model splits shaped like the targets' relation to the source."""
    n = len(src)
    src_core = src[:, idx].mean(1)
    above = float(np.mean(np.median(tgt.mean(1)) > src_core))
    splits = []
    if above >= 0.8:  # targets above most source models: validate extrapolation inside the source
        order = np.argsort(src.mean(1), kind="stable")
        for train_share, val_share in ((0.5, 0.3), (0.6, 0.25), (0.7, 0.2)):
            n_tr, n_val = max(2, int(train_share * n)), max(1, int(val_share * n))
            splits.append((order[:n_tr], order[n - n_val:]))
    else:
        n_val = max(1, int(0.25 * n))
        for _ in range(6):
            perm = rng.permutation(n)
            splits.append((perm[n_val:], perm[:n_val]))
    return splits


def ensemble_estimate(source, coreset, target_coreset_scores, rng=None, step: float = 0.1,
                      top: int | None = 3) -> np.ndarray:
    """Convex combination of :data:`ENSEMBLE_PARTS` with weights cross-validated inside the source models.

    Example:
        >>> S = (np.random.default_rng(1).random((30, 80)) < np.linspace(0.1, 0.9, 30)[:, None]).astype(float)
        >>> ensemble_estimate(S[:24], np.arange(20), S[24:, :20], 0).shape
        (6,)
    """
    src, idx, tgt = _check(source, coreset, target_coreset_scores)
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    parts = list(ENSEMBLE_PARTS.values())
    preds, truth = [], []
    for tr, val in _inner_splits(src, idx, tgt, gen):
        preds.append(np.column_stack([f(src[tr], idx, src[val][:, idx]) for f in parts]))
        truth.append(src[val].mean(1))
    P, y = np.vstack(preds), np.concatenate(truth)
    if top is None:
        grid = _weights_grid(len(parts), step)
        errors = np.abs(P @ grid.T - y[:, None]).mean(0)
        w = grid[int(np.argmin(errors))]
    else:  # the plain average of the `top` candidates with the smallest inner error (fewer choices: less overfit)
        best = np.argsort(np.abs(P - y[:, None]).mean(0), kind="stable")[:top]
        w = np.zeros(len(parts))
        w[best] = 1 / len(best)
    full = np.column_stack([f(src, idx, tgt) for f in parts])
    return np.clip(full @ w, 0.0, 1.0)
