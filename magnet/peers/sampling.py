"""Random coresets: the sample mean, random-sampling-and-learn, random-search-and-learn, and AIPW.

Definitions follow ``benchpred`` 1.0.0 (``benchpred/random.py``, ``benchpred/aipw.py``) of Zhang,
Dorner and Hardt, "How Benchmark Prediction from Fewer Data Misses the Mark":

- random sampling: the target's mean over a uniformly random coreset;
- random-sampling-and-learn: ``RidgeCV()`` (alphas 0.1, 1, 10; leave-one-out) from the source models'
  coreset scores to their full-benchmark mean;
- random-search-and-learn: the same regression, on the best of ``num_search`` random coresets judged
  on a 25% validation split of the source models;
- AIPW: per target, ``Ridge(alpha=10)`` across *items* from the source models' scores on an item to
  the target's score on it, fitted on the coreset; the prediction-powered estimate is the mean
  prediction on the other items plus the coreset's mean residual divided by ``1 + n / N``.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import Ridge, RidgeCV

from magnet.peers._common import as_rng, check_inputs, check_k, check_source, random_coreset, rest_of


def random_select(source, k, rng=None) -> np.ndarray:
    """A uniformly random coreset of ``k`` items (benchpred's draw: ``permutation(n_items)[:k]``).

    Example:
        >>> random_select(np.zeros((3, 10)), 3, 0).tolist()
        [2, 8, 4]
    """
    src = check_source(source)
    return random_coreset(src.shape[1], k, rng)


def random_sampling_estimate(source, coreset, target_coreset_scores, rng=None) -> np.ndarray:
    """The sample mean: each target's mean score on the coreset (``source`` is only validated).

    Example:
        >>> random_sampling_estimate(np.eye(3), [0, 1], [[1, 0], [1, 1]]).tolist()
        [0.5, 1.0]
    """
    _, _, tgt = check_inputs(source, coreset, target_coreset_scores)
    return tgt.mean(axis=1)


def random_sampling_and_learn_estimate(source, coreset, target_coreset_scores, rng=None) -> np.ndarray:
    """``RidgeCV()`` from the source models' coreset scores to their full mean, applied to the targets.

    Example:
        >>> src = np.array([[0, 0, 0, 1], [0, 1, 1, 1], [1, 1, 1, 1], [0, 0, 1, 1]])
        >>> pred = random_sampling_and_learn_estimate(src, [1, 2], [[1, 1], [0, 0]])
        >>> bool(pred[0] > pred[1])
        True
    """
    src, idx, tgt = check_inputs(source, coreset, target_coreset_scores)
    rgs = RidgeCV().fit(src[:, idx], src.mean(axis=1))
    return rgs.predict(tgt)


def random_search_select(source, k, rng=None, num_search: int = 10000, batch: int = 500) -> np.ndarray:
    """The best of ``num_search`` random coresets for a ``RidgeCV`` predictor of the mean.

    As benchpred: the source models are permuted once, the first 75% train and the rest validate;
    each draw ``permutation(n_items)[:k]`` is scored by the validation models' mean absolute error.
    The estimate on the chosen coreset is ``random_sampling_and_learn_estimate``.

    The draws are the package's (same generator calls, same order) but ``RidgeCV()`` is evaluated
    for ``batch`` draws at once in closed form (:func:`ridgecv_validation_gaps`: the same
    leave-one-out choice among alphas 0.1, 1, 10 and the same fit), so the package's 10000 draws
    take seconds instead of minutes; the first draw with the smallest gap wins, as in the package.

    Example:
        >>> src = (np.random.RandomState(0).rand(12, 30) < 0.5).astype(float)
        >>> len(random_search_select(src, 5, 0, num_search=20))
        5
    """
    src = check_source(source)
    num_model, num_data = src.shape
    k = check_k(k, num_data)
    if int(num_search) < 1:
        raise ValueError(f"num_search: must be >= 1, got {num_search}")
    gen = as_rng(rng)
    order = gen.permutation(num_model)
    tr_models = order[: int(num_model * 0.75)]
    val_models = order[int(num_model * 0.75):]
    mean = src.mean(axis=1)
    best_idxs, best_gap = None, np.inf
    left = int(num_search)
    while left:
        draws = np.array([gen.permutation(num_data)[:k] for _ in range(min(batch, left))])
        left -= len(draws)
        gaps = ridgecv_validation_gaps(src[tr_models], mean[tr_models], src[val_models], mean[val_models], draws)
        j = int(np.argmin(gaps))
        if gaps[j] < best_gap:
            best_gap, best_idxs = gaps[j], draws[j]
    return np.asarray(best_idxs, dtype=int)


def ridgecv_validation_gaps(x_train, y_train, x_val, y_val, draws, alphas=(0.1, 1.0, 10.0)) -> np.ndarray:
    """Validation mean absolute error of ``RidgeCV(alphas).fit(x_train[:, d], y_train)`` for each row ``d`` of ``draws``.

    Closed form of scikit-learn's ``RidgeCV`` defaults (intercept not penalised; alpha by the smallest mean
    squared leave-one-out error, the first alpha on ties): with the centred train features ``Xc`` and
    ``K = Xc Xc^T`` and ``G = (K + alpha I)^-1``, the hat matrix is ``11^T/n + I - alpha G``, the
    leave-one-out residual is the residual ``alpha G (y - mean(y))`` over ``1 - H_ii`` and a prediction is
    ``mean(y) + (x - mean(x)) Xc^T G (y - mean(y))``.

    Example:
        >>> from sklearn.linear_model import RidgeCV
        >>> rng = np.random.default_rng(0)
        >>> X, V = rng.random((20, 8)), rng.random((6, 8))
        >>> y, yv = X.mean(1), V.mean(1)
        >>> d = np.array([[0, 3, 5], [1, 2, 7]])
        >>> ours = ridgecv_validation_gaps(X, y, V, yv, d)
        >>> ref = [np.abs(RidgeCV().fit(X[:, c], y).predict(V[:, c]) - yv).mean() for c in d]
        >>> bool(np.allclose(ours, ref))
        True
    """
    x_train, x_val = np.asarray(x_train, dtype=float), np.asarray(x_val, dtype=float)
    y_train, y_val = np.asarray(y_train, dtype=float), np.asarray(y_val, dtype=float)
    X = np.moveaxis(x_train[:, draws], 1, 0)  # draws x train models x k
    xm = X.mean(1, keepdims=True)
    Xc = X - xm
    ym = y_train.mean()
    yc = y_train - ym
    K = Xc @ np.swapaxes(Xc, 1, 2)  # draws x n x n
    Kv = (np.moveaxis(x_val[:, draws], 1, 0) - xm) @ np.swapaxes(Xc, 1, 2)  # draws x val x n
    n = len(y_train)
    eye = np.eye(n)
    best_loo = np.full(len(draws), np.inf)
    pred = np.zeros((len(draws), len(y_val)))
    for alpha in alphas:
        G = np.linalg.inv(K + alpha * eye)  # H = 11^T/n + K G = 11^T/n + I - alpha G (1 is in K's null space)
        c = G @ yc
        loo = ((alpha * c / (alpha * np.einsum("bii->bi", G) - 1 / n)) ** 2).mean(1)
        better = loo < best_loo
        best_loo = np.where(better, loo, best_loo)
        p = ym + np.einsum("bvn,bn->bv", Kv, c)
        pred[better] = p[better]
    return np.abs(pred - y_val).mean(1)


def aipw_estimate(source, coreset, target_coreset_scores, rng=None, alpha: float = 10.0) -> np.ndarray:
    """AIPW (prediction-powered) estimate of each target's full mean, as benchpred computes it.

    Items are the samples: features are the source models' scores on an item, the response is the
    target's score. ``Ridge(alpha)`` is fitted on the ``n`` coreset items; with ``N`` other items the
    estimate is ``mean(prediction on the others) + mean(coreset residual) / (1 + n / N)``.

    Example:
        >>> src = np.array([[0, 1, 1, 0, 1], [0, 1, 1, 1, 1], [1, 1, 0, 0, 1]])
        >>> est = aipw_estimate(src, [0, 1, 2], [[0, 1, 1]])
        >>> est.shape, bool(0 <= est[0] <= 1)
        ((1,), True)
    """
    src, idx, tgt = check_inputs(source, coreset, target_coreset_scores)
    rest = rest_of(src.shape[1], idx)
    x_train = src[:, idx].T
    x_test = src[:, rest].T
    n, big_n = len(idx), len(rest)
    out = np.empty(len(tgt))
    for i, y in enumerate(tgt):
        rgs = Ridge(alpha=alpha).fit(x_train, y)
        residual = (y - rgs.predict(x_train)).mean()
        out[i] = residual / (1 + n / big_n) + rgs.predict(x_test).mean()
    return out
