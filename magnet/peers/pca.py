"""PCA matrix completion (benchpred's ``PCAPred``): impute the targets' unseen items, average the row.

The source matrix and the targets' coreset rows (other items missing) are stacked; missing cells
start at the column mean and are refilled by a rank-``n_comp`` PCA reconstruction until the change
on the missing cells has norm below ``tol`` (at most ``max_iter`` rounds). The prediction is the
completed row's mean.

On ``n_comp``: benchpred 1.0.0 means to choose it from (2, 5, 10, 20) on a validation split of the
source models, but masks the validation cells with ``masked[val][:, rest] = nan`` -- chained fancy
indexing writes into a copy, so nothing is masked, every candidate scores a gap of exactly 0 and the
first, 2, is always kept. The effective definition is therefore ``n_comp=2``, our default.
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from magnet.peers._common import check_inputs, rest_of


def _pca_reconstruct(x: np.ndarray, n_comp: int) -> np.ndarray:
    """``PCA(n_comp).inverse_transform(PCA.fit_transform(x))``: the column means plus the projection of
    the centred rows on their top-``n_comp`` principal subspace (from the small rows x rows Gram matrix)."""
    mean = x.mean(axis=0)
    centred = x - mean
    if x.shape[0] > x.shape[1]:
        _, vecs = np.linalg.eigh(centred.T @ centred)
        top = vecs[:, -n_comp:]
        return mean + (centred @ top) @ top.T
    _, vecs = np.linalg.eigh(centred @ centred.T)
    top = vecs[:, -n_comp:]
    return mean + top @ (top.T @ centred)


def pca_impute(matrix, n_comp: int, max_iter: int = 100, tol: float = 1e-4) -> np.ndarray:
    """Fill the NaN cells of ``matrix`` by iterated rank-``n_comp`` PCA reconstruction.

    Example:
        >>> m = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [3.0, 6.0, np.nan]])
        >>> round(float(pca_impute(m, 1, max_iter=500, tol=1e-10)[2, 2]), 3)
        9.0
    """
    matrix = np.asarray(matrix, dtype=float)
    mask = np.isnan(matrix)
    col_mean = np.nanmean(np.where(mask.all(axis=0), 0.0, matrix), axis=0) if mask.any() else None
    filled = matrix.copy()
    if col_mean is not None:
        filled[mask] = np.take(col_mean, np.nonzero(mask)[1])
    # small matrices, up to 100 rounds: BLAS threads only add overhead (and stall on a busy machine)
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(int(max_iter)):
            recon = _pca_reconstruct(filled, n_comp)
            if np.linalg.norm(recon[mask] - filled[mask]) < tol:
                break
            filled[mask] = recon[mask]
    return filled


def pca_estimate(source, coreset, target_coreset_scores, rng=None, n_comp: int = 2,
                 max_iter: int = 100, tol: float = 1e-4) -> np.ndarray:
    """Each target's mean over its PCA-completed row (benchpred ``PCAPred``; see the module note on ``n_comp``).

    Example:
        >>> src = np.array([[0, 0, 1, 1, 1, 1], [0, 1, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1], [1, 1, 1, 1, 1, 1]])
        >>> pred = pca_estimate(src, [0, 2], [[1, 1], [0, 0]], n_comp=1)
        >>> bool(pred[0] > pred[1])
        True
    """
    src, idx, tgt = check_inputs(source, coreset, target_coreset_scores)
    n_items = src.shape[1]
    if not 0 < n_comp <= min(src.shape[0] + len(tgt), n_items):
        raise ValueError(f"n_comp: must be in [1, {min(src.shape[0] + len(tgt), n_items)}], got {n_comp}")
    target = np.full((len(tgt), n_items), np.nan)
    target[:, idx] = tgt
    target[:, rest_of(n_items, idx)] = np.nan
    stacked = np.concatenate([src, target], axis=0)
    return pca_impute(stacked, n_comp, max_iter, tol).mean(axis=1)[-len(tgt):]
