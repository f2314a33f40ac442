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


def random_search_select(source, k, rng=None, num_search: int = 10000) -> np.ndarray:
    """The best of ``num_search`` random coresets for a ``RidgeCV`` predictor of the mean.

    As benchpred: the source models are permuted once, the first 75% train and the rest validate;
    each draw ``permutation(n_items)[:k]`` is scored by the validation models' mean absolute error.
    The estimate on the chosen coreset is ``random_sampling_and_learn_estimate``.

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
    best_idxs, best_gap = None, 1e9
    for _ in range(int(num_search)):
        selected = gen.permutation(num_data)[:k]
        rgs = RidgeCV().fit(src[tr_models][:, selected], mean[tr_models])
        gap = np.fabs(rgs.predict(src[val_models][:, selected]) - mean[val_models]).mean()
        if gap < best_gap:
            best_gap, best_idxs = gap, selected
    return np.asarray(best_idxs, dtype=int)


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
