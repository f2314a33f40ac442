"""tinyBenchmarks' p-IRT and gp-IRT (Polo et al. 2024), as benchpred 1.0.0 runs them (``tiny_bench.py``).

1. Fit a multidimensional 2PL IRT model to the source models: ``P(correct) = sigmoid(a_i . theta_m - b_i)``
   with ``dims`` ability dimensions. benchpred fits it by stochastic variational inference (Pyro,
   hierarchical priors, 2000 epochs, 10 dimensions); we fit the MAP estimate with L-BFGS and fixed
   Gaussian priors (``theta, a ~ N(0, 1)``, ``b ~ N(0, 3^2)``) -- deterministic, seconds, no torch.
2. Anchor points: k-means (``KMeans(k, n_init="auto", random_state=seed)``) on the items' ``(a, b)``;
   each centre's nearest item is an anchor, and a cluster's share of the items is its weight.
3. A target's ability is the BFGS maximum-likelihood fit on its anchor scores, with tinyBenchmarks'
   item curve ``sigmoid(sum_d clip(a_d theta_d - b, -30, 30))`` (note: ``b`` enters once per dimension
   there, unlike in the fitted model; we keep the curve as the peers have it).
4. p-IRT = ``lam * mean(anchor scores) + (1 - lam) * mean(curve on the other items)``, ``lam = k / n``.
5. gp-IRT = ``(1 - l) * p-IRT + l * sum(weights * anchor scores)``, where ``l = e^2 / (v + e^2)``:
   ``e`` is the IRT curve's mean absolute error on the odd items of every 5th source model (an IRT
   model refitted without them, abilities from their even items) and
   ``v = mean over source models of var(scores) / (4 k)``.

Fitted models are cached per source matrix, so ``select`` then ``estimate`` fits once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits
from sklearn.metrics.pairwise import pairwise_distances

from magnet.peers._common import check_inputs, check_k, check_source, rest_of, seed_of

_FITS: dict[tuple, "IrtFit"] = {}
_SELECTIONS: dict[tuple, np.ndarray] = {}


@dataclass(frozen=True)
class IrtFit:
    """A fitted multidimensional 2PL model: discriminations ``a`` (items x dims), difficulties ``b``, abilities.

    Example:
        >>> IrtFit(a=np.ones((3, 2)), b=np.zeros(3), theta=np.zeros((4, 2))).a.shape
        (3, 2)
    """

    a: np.ndarray
    b: np.ndarray
    theta: np.ndarray


def _key(src: np.ndarray, *extra) -> tuple:
    return (hashlib.sha1(np.ascontiguousarray(src, dtype=float).tobytes()).hexdigest(), src.shape) + extra


def fit_irt(source, dims: int = 10, max_iter: int = 1000) -> IrtFit:
    """MAP fit of a ``dims``-dimensional 2PL model to a 0/1 matrix (models x items), by L-BFGS.

    Example:
        >>> rs = np.random.RandomState(0)
        >>> ability, difficulty = rs.normal(size=40), rs.normal(size=60)
        >>> y = (rs.rand(40, 60) < 1 / (1 + np.exp(difficulty - ability[:, None]))).astype(float)
        >>> fit = fit_irt(y, dims=1)
        >>> bool(np.corrcoef(fit.b, difficulty)[0, 1] > 0.8)
        True
    """
    y = check_source(source).astype(float)
    if not isinstance(dims, (int, np.integer)) or dims < 1:
        raise ValueError(f"dims: expected a positive int, got {dims!r}")
    key = _key(y, int(dims), int(max_iter))
    if key in _FITS:
        return _FITS[key]
    m, n = y.shape
    var_theta, var_a, var_b = 1.0, 1.0, 9.0
    init = np.random.RandomState(0).normal(0.0, 0.1, size=m * dims + n * dims + n)
    p = np.clip(y.mean(axis=0), 0.5 / m, 1 - 0.5 / m)
    init[m * dims + n * dims:] = -np.log(p / (1 - p))

    def unpack(x):
        theta = x[: m * dims].reshape(m, dims)
        a = x[m * dims: m * dims + n * dims].reshape(n, dims)
        return theta, a, x[m * dims + n * dims:]

    def objective(x):
        theta, a, b = unpack(x)
        z = theta @ a.T - b
        nll = np.sum(np.logaddexp(0.0, z) - y * z)
        r = 1.0 / (1.0 + np.exp(-z)) - y
        value = nll + 0.5 * (np.sum(theta**2) / var_theta + np.sum(a**2) / var_a + np.sum(b**2) / var_b)
        grad = np.concatenate([(r @ a + theta / var_theta).ravel(), (r.T @ theta + a / var_a).ravel(),
                               -r.sum(axis=0) + b / var_b])
        return value, grad

    with threadpool_limits(limits=1, user_api="blas"):   # small products: threads only add overhead
        res = minimize(objective, init, jac=True, method="L-BFGS-B", options={"maxiter": int(max_iter)})
    theta, a, b = unpack(res.x)
    fit = IrtFit(a=a.copy(), b=b.copy(), theta=theta.copy())
    if len(_FITS) > 16:
        _FITS.clear()
    _FITS[key] = fit
    return fit


def item_curve(theta, a, b) -> np.ndarray:
    """tinyBenchmarks' curve: ``sigmoid(sum_d clip(a[:, d] * theta[d] - b, -30, 30))`` for every item.

    Example:
        >>> item_curve(np.zeros(2), np.ones((3, 2)), np.zeros(3)).tolist()
        [0.5, 0.5, 0.5]
    """
    z = np.clip(np.asarray(a) * np.asarray(theta)[None, :] - np.asarray(b)[:, None], -30, 30).sum(axis=1)
    return 1.0 / (1.0 + np.exp(-z))


def estimate_ability(responses, a, b, eps: float = 1e-10) -> np.ndarray:
    """Maximum-likelihood ability (BFGS from 0, as tinyBenchmarks) from 0/1 ``responses`` on items ``(a, b)``.

    Example:
        >>> a, b = np.ones((4, 1)), np.array([-1.0, 0.0, 0.5, 1.0])
        >>> bool(estimate_ability([1, 1, 1, 0], a, b)[0] > estimate_ability([1, 0, 0, 0], a, b)[0])
        True
    """
    r = np.asarray(responses, dtype=float)

    def neg_log_like(x):
        p = item_curve(x, a, b)
        return -np.sum(r * np.log(p + eps) + (1 - r) * np.log(1 - p + eps))

    return minimize(neg_log_like, np.zeros(np.shape(a)[1]), method="BFGS").x


def irt_anchors(a, b, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Anchor items and weights: k-means on the items' ``(a, b)``, the item nearest each centre.

    Returns ``(anchors, weights)``; ``weights[c]`` is cluster ``c``'s share of the items (an anchor
    may repeat when two centres share their nearest item, as in tinyBenchmarks).

    Example:
        >>> a = np.array([[0.0], [0.1], [5.0], [5.1]]); b = np.array([0.0, 0.0, 1.0, 1.0])
        >>> anchors, w = irt_anchors(a, b, 2, 0)
        >>> sorted(w.tolist())
        [0.5, 0.5]
    """
    x = np.column_stack([np.asarray(a), np.asarray(b)])
    km = KMeans(n_clusters=k, n_init="auto", random_state=seed).fit(x)
    anchors = pairwise_distances(km.cluster_centers_, x, metric="euclidean").argmin(axis=1)
    weights = np.bincount(km.labels_, minlength=k) / x.shape[0]
    return anchors.astype(int), weights


def irt_select(source, k, rng=None, dims: int = 10) -> np.ndarray:
    """The IRT anchor points of ``source`` for a coreset of ``k`` (k-means seeded from ``rng``).

    Example:
        >>> src = (np.random.RandomState(0).rand(20, 40) < 0.5).astype(float)
        >>> len(irt_select(src, 5, 0, dims=2))
        5
    """
    src = check_source(source)
    k = check_k(k, src.shape[1])
    fit = fit_irt(src, dims)
    anchors, weights = irt_anchors(fit.a, fit.b, k, seed_of(rng))
    key = _key(src, int(dims), tuple(anchors.tolist()))
    if len(_SELECTIONS) > 64:
        _SELECTIONS.clear()
    _SELECTIONS[key] = weights
    return anchors


def pirt_from_params(a, b, coreset, target_coreset_scores) -> np.ndarray:
    """p-IRT predictions given fitted item parameters ``a`` (items x dims), ``b`` and the anchors.

    Example:
        >>> a, b = np.ones((4, 1)), np.zeros(4)
        >>> pred = pirt_from_params(a, b, [0, 1], [[1, 0], [1, 1]])
        >>> bool(pred[0] < pred[1])
        True
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    idx = np.asarray(coreset, dtype=int)
    tgt = np.atleast_2d(np.asarray(target_coreset_scores, dtype=float))
    n = a.shape[0]
    lam = len(idx) / n
    unseen = rest_of(n, idx)
    out = np.empty(len(tgt))
    for j, row in enumerate(tgt):
        theta = estimate_ability(row, a[idx], b[idx])
        out[j] = lam * row.mean() + (1 - lam) * item_curve(theta, a, b)[unseen].mean()
    return out


def pirt_estimate(source, coreset, target_coreset_scores, rng=None, dims: int = 10) -> np.ndarray:
    """p-IRT: the anchors' mean and the IRT curve's mean on the other items, mixed by ``k / n``.

    Example:
        >>> src = (np.random.RandomState(0).rand(20, 40) < 0.5).astype(float)
        >>> core = irt_select(src, 5, 0, dims=2)
        >>> pred = pirt_estimate(src, core, src[:3, core], dims=2)
        >>> bool(((pred > 0) & (pred < 1)).all())
        True
    """
    src, idx, tgt = check_inputs(source, coreset, target_coreset_scores, allow_repeats=True)
    fit = fit_irt(src, dims)
    return pirt_from_params(fit.a, fit.b, idx, tgt)


def gpirt_lambda(source, k: int, dims: int = 10) -> float:
    """gp-IRT's mixing weight ``e^2 / (v + e^2)`` (see the module text), from the source models alone.

    Example:
        >>> src = (np.random.RandomState(0).rand(20, 40) < 0.5).astype(float)
        >>> bool(0 <= gpirt_lambda(src, 5, dims=2) <= 1)
        True
    """
    src = check_source(source).astype(float)
    val = list(range(0, src.shape[0], 5))
    train = [i for i in range(src.shape[0]) if i not in val]
    fit = fit_irt(src[train], dims)
    seen = list(range(0, src.shape[1], 2))
    unseen = list(range(1, src.shape[1], 2))
    errors = []
    for i in val:
        theta = estimate_ability(src[i, seen], fit.a[seen], fit.b[seen])
        errors.append(abs(item_curve(theta, fit.a, fit.b)[unseen].mean() - src[i, unseen].mean()))
    v = np.var(src, axis=1).mean() / (4 * k)
    e = float(np.mean(errors))
    return e**2 / (v + e**2)


def gpirt_estimate(source, coreset, target_coreset_scores, rng=None, dims: int = 10) -> np.ndarray:
    """gp-IRT: p-IRT mixed with the cluster-weighted anchor mean by ``gpirt_lambda``.

    The weights are the k-means cluster shares from ``irt_select`` on this source; for a coreset
    that ``irt_select`` did not return, every item is given to its nearest coreset item in
    ``(a, b)`` space instead.

    Example:
        >>> src = (np.random.RandomState(0).rand(20, 40) < 0.5).astype(float)
        >>> core = irt_select(src, 5, 0, dims=2)
        >>> gpirt_estimate(src, core, src[:3, core], dims=2).shape
        (3,)
    """
    src, idx, tgt = check_inputs(source, coreset, target_coreset_scores, allow_repeats=True)
    fit = fit_irt(src, dims)
    weights = _SELECTIONS.get(_key(src, int(dims), tuple(idx.tolist())))
    if weights is None:
        x = np.column_stack([fit.a, fit.b])
        nearest = pairwise_distances(x, x[idx]).argmin(axis=1)
        weights = np.bincount(nearest, minlength=len(idx)) / x.shape[0]
    lam = gpirt_lambda(src, len(idx), dims)
    return (1 - lam) * pirt_from_params(fit.a, fit.b, idx, tgt) + lam * (tgt * weights).sum(axis=1)
