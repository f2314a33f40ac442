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
* :func:`calibrated_irt_dr_estimate`: the curve recalibrated per target (its own intercept and slope on
  the curve's logits, fitted on its coreset), then the difference estimator;
* :func:`learn_estimate`: ridge regression of the full mean on the coreset scores, fitted on the source;
* :func:`difference_average`: the plain average of the three difference estimators (unbiased on a random
  coreset whatever their models' errors);
* :func:`ensemble_estimate`: the plain average of the best candidates under **cross-validation inside
  the source models** (how many to average is itself chosen inside the source, :func:`choose_top`):
  for targets inside the source's range, :data:`ENSEMBLE_PARTS` on random inner splits; for targets
  beyond the source (extrapolation), :data:`EXTRAPOLATION_PARTS` (equal-weight sample mean and
  :func:`difference_average`, and their anchor-weighted versions as separate candidates) on inner
  extrapolation splits (the strongest source models held out). Nothing of the targets but their
  coreset scores is used.
* :func:`select_coreset`: a random or an anchor-points coreset (k-medoids on item correlations), whichever
  predicted held-out source models better.

Example:
    >>> rng = np.random.default_rng(0)
    >>> theta, b = rng.normal(size=80), rng.normal(size=400)
    >>> S = (rng.random((80, 400)) < 1 / (1 + np.exp(-(theta[:, None] - b)))).astype(float)
    >>> core = np.arange(20)
    >>> est = ensemble_estimate(S[:60], core, S[60:, core], 0)
    >>> gap = np.abs(est - S[60:].mean(1)).mean()
    >>> base = np.abs(S[60:, core].mean(1) - S[60:].mean(1)).mean()   # the sample mean's gap
    >>> round(float(gap), 3), round(float(base), 3)
    (0.055, 0.066)
"""

from __future__ import annotations

import itertools

import numpy as np

from magnet.peers.anchor_points import anchor_weighted_select, anchor_weights  # the peers' cluster shares

__all__ = ["fit_irt", "irt_abilities", "irt_estimate", "irt_dr_estimate", "item_ridge_dr_estimate", "learn_estimate",
           "ensemble_estimate", "ENSEMBLE_PARTS", "EXTRAPOLATION_PARTS", "difference_average"]


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


def _remember(memo: dict, key, compute, size: int = 16):
    """``memo[key]``, from ``compute()`` when missing; the oldest entry makes room once ``memo`` holds ``size``."""
    if key not in memo:
        if len(memo) >= size:
            memo.pop(next(iter(memo)))
        memo[key] = compute()
    return memo[key]


def _fit_irt_cached(source: np.ndarray):
    """:func:`fit_irt` with defaults, remembered for the last few source matrices (the ensemble reuses them)."""
    return _remember(_FITS, (source.shape, hash(source.tobytes())), lambda: fit_irt(source))


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


def _doubly_robust(p: np.ndarray, idx: np.ndarray, tgt: np.ndarray, weights=None) -> np.ndarray:
    """Mean prediction over all items plus the (design-weighted) mean residual on the coreset (a difference estimator)."""
    resid = tgt - p[:, idx]
    return p.mean(1) + (resid.mean(1) if weights is None else resid @ weights)


def irt_dr_estimate(source, coreset, target_coreset_scores, rng=None, weights=None) -> np.ndarray:
    """The 2PL curve's mean over all items, corrected by the mean coreset residual.

    Example:
        >>> S = np.array([[1, 1, 1, 0.], [1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 1]])
        >>> irt_dr_estimate(S, [0, 1], [[1, 1], [1, 0]]).shape
        (2,)
    """
    src, idx, tgt = _check(source, coreset, target_coreset_scores)
    a, b, _ = _fit_irt_cached(src)
    theta = irt_abilities(tgt, a[idx], b[idx])
    return _doubly_robust(_sigmoid(theta[:, None] * a + b), idx, tgt, weights)


def item_ridge_dr_estimate(source, coreset, target_coreset_scores, rng=None, alpha: float = 10.0,
                           weights=None) -> np.ndarray:
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
    return _doubly_robust(p, idx, tgt, weights)


def calibrated_irt_dr_estimate(source, coreset, target_coreset_scores, rng=None, l2: float = 1.0,
                               iters: int = 15, weights=None) -> np.ndarray:
    """The 2PL curve recalibrated per target, then the difference estimator.

    Each target's curve logit ``a_j * theta + b_j`` is mapped through ``sigmoid(alpha + beta * logit)``, with
    ``(alpha, beta)`` a logistic regression of the target's coreset scores on its curve logits, penalised toward
    ``(0, 1)`` (no change) with strength ``l2``: a target whose success rises more or less steeply with item
    easiness than the source models' curve says (as models beyond the source often do) gets its own slope.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> S = (rng.random((40, 200)) < np.linspace(0.2, 0.8, 200)).astype(float)
        >>> est = calibrated_irt_dr_estimate(S[:30], np.arange(0, 200, 5), S[30:, ::5])
        >>> bool(np.abs(est - S[30:].mean(1)).mean() < 0.1)
        True
    """
    src, idx, tgt = _check(source, coreset, target_coreset_scores)
    a, b, _ = _fit_irt_cached(src)
    theta = irt_abilities(tgt, a[idx], b[idx])
    z = theta[:, None] * a + b  # targets x items: curve logits
    zc = z[:, idx]
    alpha, beta = np.zeros(len(tgt)), np.ones(len(tgt))
    for _ in range(iters):  # per-target 2x2 Newton steps, all targets at once
        p = _sigmoid(alpha[:, None] + beta[:, None] * zc)
        r, w = tgt - p, p * (1 - p)
        g0, g1 = r.sum(1) - l2 * alpha, (r * zc).sum(1) - l2 * (beta - 1)
        h00, h11, h01 = -w.sum(1) - l2, -(w * zc * zc).sum(1) - l2, -(w * zc).sum(1)
        det = h00 * h11 - h01 ** 2
        alpha = alpha - (h11 * g0 - h01 * g1) / det
        beta = beta - (h00 * g1 - h01 * g0) / det
    return _doubly_robust(_sigmoid(alpha[:, None] + beta[:, None] * z), idx, tgt, weights)


_ANCHOR_WEIGHTS: dict = {}


def _anchor_weights_cached(source, coreset) -> np.ndarray:
    """:func:`anchor_weights` (read-only), remembered for the last few (source, coreset) pairs by their content."""
    src, idx = np.asarray(source), np.asarray(coreset)

    def compute():
        w = anchor_weights(src, idx)
        w.setflags(write=False)  # shared by the calls that hit the memo
        return w

    return _remember(_ANCHOR_WEIGHTS, tuple((a.shape, a.dtype.str, hash(a.tobytes())) for a in (src, idx)), compute)


def _anchor_mean(source, coreset, target_coreset_scores, rng=None) -> np.ndarray:
    src, idx, tgt = _check(source, coreset, target_coreset_scores)
    return tgt @ _anchor_weights_cached(src, idx)


def _irt_dr_anchor(source, coreset, target_coreset_scores, rng=None) -> np.ndarray:
    return irt_dr_estimate(source, coreset, target_coreset_scores, weights=_anchor_weights_cached(source, coreset))


def _item_ridge_dr_anchor(source, coreset, target_coreset_scores, rng=None) -> np.ndarray:
    return item_ridge_dr_estimate(source, coreset, target_coreset_scores,
                                  weights=_anchor_weights_cached(source, coreset))


#: The candidates the ensemble weighs, in order (``*_anchor``: coreset items weighted by :func:`anchor_weights`).
ENSEMBLE_PARTS = {"sample_mean": _sample_mean, "anchor_mean": _anchor_mean, "irt": irt_estimate,
                  "irt_dr": irt_dr_estimate, "irt_dr_anchor": _irt_dr_anchor, "irt_dr_calibrated": calibrated_irt_dr_estimate,
                  "item_ridge_dr": item_ridge_dr_estimate, "item_ridge_dr_anchor": _item_ridge_dr_anchor,
                  "learn": learn_estimate}

#: How many of the best candidates the ensemble may average; ``top="auto"`` picks one inside the source.
TOP_RULES = (1, 2, 3, 4, 6, 8)

#: Random inner splits of the source per ensemble call.
INNER_SPLITS = 6


def _weights_grid(n: int, step: float = 0.1) -> np.ndarray:
    ticks = int(round(1 / step))
    out = [c for c in itertools.product(range(ticks + 1), repeat=n) if sum(c) == ticks]
    return np.array(out, dtype=float) / ticks


def _inner_splits(src: np.ndarray, idx: np.ndarray, tgt: np.ndarray, rng: np.random.Generator,
                  n_random: int = INNER_SPLITS):
    """Inner (train, validate) source-model splits shaped like the targets' relation to the source.

    Targets above most source models (by coreset mean): extrapolation inside the source (train on the
    lower models, validate on the top ones), on the whole source at three train shares and on
    ``n_random`` random 80% subsets; else ``n_random`` random 75/25 splits.
    """
    n = len(src)
    splits = []
    if targets_beyond_source(src, idx, tgt):  # validate extrapolation inside the source
        order = np.argsort(src.mean(1), kind="stable")
        for train_share, val_share in ((0.5, 0.3), (0.6, 0.25), (0.7, 0.2)):
            n_tr, n_val = max(2, int(train_share * n)), max(1, int(val_share * n))
            splits.append((order[:n_tr], order[n - n_val:]))
        m = max(4, int(0.8 * n))
        for _ in range(n_random):
            sub = np.sort(rng.choice(n, size=min(m, n), replace=False))
            sub = sub[np.argsort(src[sub].mean(1), kind="stable")]
            n_tr, n_val = max(2, int(0.5 * len(sub))), max(1, int(0.3 * len(sub)))
            splits.append((sub[:n_tr], sub[len(sub) - n_val:]))
    else:
        n_val = max(1, int(0.25 * n))
        for _ in range(n_random):
            perm = rng.permutation(n)
            splits.append((perm[n_val:], perm[:n_val]))
    return splits


def _top_weights(errors: np.ndarray, top: int) -> np.ndarray:
    """Equal weights on the ``top`` candidates with the smallest errors."""
    w = np.zeros(len(errors))
    best = np.argsort(errors, kind="stable")[:top]
    w[best] = 1 / len(best)
    return w


def choose_top(inner: list[tuple[np.ndarray, np.ndarray]], rules=TOP_RULES) -> int:
    """The number of best candidates to average, chosen by leave-one-inner-split-out on the inner predictions.

    ``inner`` holds, per inner split, ``(P, y)``: the candidates' predictions (validation models x
    candidates) and the validation models' actual means. For each rule and each inner split, the
    candidates are ranked on the other splits and the rule's average is scored on the held-out one;
    the rule with the smallest mean absolute error wins (ties: fewer candidates).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> y = [rng.random(5) for _ in range(4)]
        >>> good = [np.column_stack([t + 0.01, t - 0.01, t + rng.normal(0, 0.3, 5)]) for t in y]
        >>> choose_top(list(zip(good, y)), rules=(1, 2, 3))
        2
    """
    rules = [r for r in rules if r <= inner[0][0].shape[1]]
    if len(inner) < 2:
        return rules[min(2, len(rules) - 1)]
    loss = np.zeros(len(rules))
    for s, (P_s, y_s) in enumerate(inner):
        rest = [i for i in range(len(inner)) if i != s]
        err = np.abs(np.vstack([inner[i][0] for i in rest]) - np.concatenate([inner[i][1] for i in rest])[:, None])
        ranks = err.mean(0)
        for j, r in enumerate(rules):
            loss[j] += np.abs(P_s @ _top_weights(ranks, r) - y_s).sum()
    return rules[int(np.argmin(loss))]


def targets_beyond_source(src: np.ndarray, idx: np.ndarray, tgt: np.ndarray) -> bool:
    """Whether the targets lie beyond the source models: their median coreset mean above >= 80% of the source's."""
    return float(np.mean(np.median(tgt.mean(1)) > src[:, idx].mean(1))) >= 0.8


def difference_average(source, coreset, target_coreset_scores, rng=None, weights=None) -> np.ndarray:
    """Plain average of the three difference estimators (2PL, calibrated 2PL, item ridge).

    Each is the model's mean over all items plus the mean coreset residual, so on a random coreset each
    is unbiased whatever its model's errors (the model only lowers the variance); their average needs no
    weights fitted to anything.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> S = (rng.random((40, 200)) < np.linspace(0.2, 0.8, 200)).astype(float)
        >>> difference_average(S[:30], np.arange(0, 200, 5), S[30:, ::5]).shape
        (10,)
    """
    src, idx, tgt = _check(source, coreset, target_coreset_scores)
    return np.mean([irt_dr_estimate(src, idx, tgt, weights=weights),
                    calibrated_irt_dr_estimate(src, idx, tgt, weights=weights),
                    item_ridge_dr_estimate(src, idx, tgt, weights=weights)], axis=0)


def _difference_average_anchor(source, coreset, target_coreset_scores, rng=None) -> np.ndarray:
    return difference_average(source, coreset, target_coreset_scores, weights=_anchor_weights_cached(source, coreset))


#: The candidates of the extrapolation branch (targets beyond the source) per coreset design, in order.
#: On a random coreset (``"random"``) only equal weights: the sample mean and :func:`difference_average` are
#: unbiased whatever the item models' errors. On an anchor-points coreset (``"anchor"``, the k-medoids
#: medoids) the anchors' cluster weights (:func:`anchor_weights`) are the design weights: the anchor-weighted
#: mean and the anchor-weighted :func:`difference_average`. Which candidate of the design (or the average of
#: both) is used is chosen on extrapolation splits inside the source (:func:`ensemble_estimate`); which design
#: is revealed is chosen inside the source too (:func:`select_coreset`).
EXTRAPOLATION_PARTS = {"random": {"sample_mean": _sample_mean, "difference_average": difference_average},
                       "anchor": {"anchor_mean": _anchor_mean, "difference_average_anchor": _difference_average_anchor}}


def ensemble_estimate(source, coreset, target_coreset_scores, rng=None, step: float = 0.1,
                      top: int | str | None = "auto", parts=None, inner_splits: int | None = None,
                      design: str = "random") -> np.ndarray:
    """The best candidates under cross-validation inside the source models, on inner splits shaped like the
    targets' relation to the source.

    * Targets within the source's range (:func:`targets_beyond_source` false): the candidates are
      :data:`ENSEMBLE_PARTS`, scored on random inner splits of the source models.
    * Targets beyond the source (extrapolation): the candidates are ``EXTRAPOLATION_PARTS[design]``: on a
      random coreset (``design="random"``, the default) the equal-weight sample mean and
      :func:`difference_average`, unbiased whatever the item models' errors; on an anchor-points coreset
      (``design="anchor"``, from :func:`select_coreset`) their anchor-weighted versions. They are scored on
      inner extrapolation splits: the strongest source models are validated on the weaker ones
      (:func:`_inner_splits`).

    The estimate is the plain average of the best candidates; how many (``top="auto"``) is itself chosen
    inside the source (:func:`choose_top`); an int fixes it; ``None``: convex weights on a ``step`` grid
    (overfits). ``parts`` (a dict of array functions) replaces the candidates of both branches. Nothing of the
    targets but their coreset scores is used, and those only to tell which branch applies.

    Example:
        >>> S = (np.random.default_rng(1).random((30, 80)) < np.linspace(0.1, 0.9, 30)[:, None]).astype(float)
        >>> ensemble_estimate(S[:24], np.arange(20), S[24:, :20], 0).shape
        (6,)
    """
    src, idx, tgt = _check(source, coreset, target_coreset_scores)
    if design not in EXTRAPOLATION_PARTS:
        raise ValueError(f"design: expected one of {sorted(EXTRAPOLATION_PARTS)}, got {design!r}")
    if parts is None:
        parts = EXTRAPOLATION_PARTS[design] if targets_beyond_source(src, idx, tgt) else ENSEMBLE_PARTS
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    parts = list(parts.values())
    inner = []
    for tr, val in _inner_splits(src, idx, tgt, gen, INNER_SPLITS if inner_splits is None else inner_splits):
        inner.append((np.column_stack([f(src[tr], idx, src[val][:, idx]) for f in parts]), src[val].mean(1)))
    P, y = np.vstack([p for p, _ in inner]), np.concatenate([t for _, t in inner])
    if top is None:
        grid = _weights_grid(len(parts), step)
        w = grid[int(np.argmin(np.abs(P @ grid.T - y[:, None]).mean(0)))]
    else:
        n_top = choose_top(inner) if top == "auto" else int(top)
        w = _top_weights(np.abs(P - y[:, None]).mean(0), n_top)
    full = np.column_stack([f(src, idx, tgt) for f, wi in zip(parts, w) if wi > 0])
    return np.clip(full @ w[w > 0], 0.0, 1.0)


#: Coreset strategies :func:`select_coreset` chooses between.
CORESET_STRATEGIES = ("random", "anchor")


def _coreset(strategy: str, src: np.ndarray, k: int, seed) -> np.ndarray:
    if strategy == "random":
        return np.sort(np.random.default_rng(seed).choice(src.shape[1], size=k, replace=False))
    return np.sort(anchor_weighted_select(src, k, seed))


def _design_splits(n: int, gen: np.random.Generator, n_each: int):
    """Inner (train, validate) splits of ``n`` source models of both kinds the eval split may be: ``n_each``
    random 75/25 splits (interpolation) and ``n_each`` extrapolation splits (on a random 85% of the models, the
    weakest 60% train and the strongest 25% validate); ranks are by the models' means, filled in by the caller."""
    n_val = max(1, int(0.25 * n))
    out = [("interpolation", *np.split(gen.permutation(n), [n - n_val])) for _ in range(n_each)]
    m = max(4, int(0.85 * n))
    out += [("extrapolation", np.sort(gen.choice(n, size=min(m, n), replace=False)), None) for _ in range(n_each)]
    return out


def select_coreset(source, k: int, seed=0, strategy: str = "auto", inner_splits: int = 12) -> tuple[np.ndarray, str]:
    """k items to reveal, and the design that chose them: ``random`` or ``anchor`` (k-medoids on item
    correlations, the peers' anchor points), or ``auto``: the one whose coresets predicted held-out source
    models better, on ``inner_splits`` random 75/25 splits (interpolation) and as many extrapolation splits
    (the strongest source models held out) of the source, since the eval split is not known yet. Each design
    selects on the inner train models and predicts the inner validation models: on the interpolation splits by
    :func:`difference_average` with the design's weights (equal, or the anchors' cluster weights), on the
    extrapolation splits by the average of its extrapolation candidates (``EXTRAPOLATION_PARTS[design]``);
    the design with the smaller mean absolute error, summed over the splits, wins (ties: ``random``). Only
    the source is used.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> S = (rng.random((40, 120)) < np.linspace(0.2, 0.8, 120)).astype(float)
        >>> core, how = select_coreset(S, 10, 0)
        >>> len(core), how in CORESET_STRATEGIES
        (10, True)
    """
    src = np.asarray(source, dtype=float)
    if strategy != "auto":
        return _coreset(strategy, src, k, seed), strategy
    gen = np.random.default_rng(seed)
    means = src.mean(1)
    loss = np.zeros(len(CORESET_STRATEGIES))
    for kind, tr, val in _design_splits(len(src), gen, inner_splits):
        if kind == "extrapolation":
            sub = tr[np.argsort(means[tr], kind="stable")]
            tr, val = sub[:max(2, int(0.6 * len(sub)))], sub[len(sub) - max(1, int(0.25 * len(sub))):]
        s_tr, s_val = src[tr], src[val]
        for j, strat in enumerate(CORESET_STRATEGIES):
            core = _coreset(strat, s_tr, k, int(gen.integers(2 ** 31)))
            if kind == "extrapolation":
                pred = np.mean([f(s_tr, core, s_val[:, core]) for f in EXTRAPOLATION_PARTS[strat].values()], axis=0)
            else:
                w = _anchor_weights_cached(s_tr, core) if strat == "anchor" else None
                pred = difference_average(s_tr, core, s_val[:, core], weights=w)
            loss[j] += np.abs(pred - s_val.mean(1)).mean()
    best = CORESET_STRATEGIES[int(np.argmin(loss))]
    return _coreset(best, src, k, seed), best
