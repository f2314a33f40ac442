"""Anchor points (Vivek et al., via benchpred's ``anchor_points.py``): k-medoids coresets on item correlations.

Items are compared by the correlation of their score columns across the source models (NaN, from a
constant column, counts as 0). The coreset is the medoids of a k-medoids clustering (FasterPAM, random
initial medoids) with dissimilarity ``1 - corr`` (weighted variant) or ``1 - |corr|`` (predictor variant):

- weighted: every item joins the anchor it correlates with most; a target's estimate is the
  cluster-size-weighted mean of its anchor scores;
- predictor: every other item ("floater") is predicted by a least-squares line from the one anchor
  whose line fits it best on the source models; the estimate is the mean of the floaters' predictions.

``fasterpam`` is our implementation of Schubert & Rousseeuw's FasterPAM with the same visiting order,
tie-breaking and stopping rules as the ``kmedoids`` package's sequential version. Note that
``kmedoids.fasterpam`` switches to a randomized parallel variant when the matrix has >= 1000 rows and
the machine has several cores, so its medoids for 1000 items are not reproducible across machines.
"""

from __future__ import annotations

import numpy as np

from magnet.peers._common import as_rng, check_inputs, check_k, check_source, rest_of


def item_correlations(source) -> np.ndarray:
    """Items x items Pearson correlation of the source models' score columns; NaN (constant column) -> 0.

    Example:
        >>> item_correlations(np.array([[0, 1, 1], [1, 0, 1], [1, 1, 1]])).round(2).tolist()
        [[1.0, -0.5, 0.0], [-0.5, 1.0, 0.0], [0.0, 0.0, 0.0]]
    """
    src = check_source(source)
    with np.errstate(divide="ignore", invalid="ignore"):
        corrs = np.corrcoef(src, rowvar=False)
    corrs[np.isnan(corrs)] = 0.0
    return corrs


def fasterpam(diss, medoids, max_iter: int = 100) -> tuple[np.ndarray, float]:
    """FasterPAM k-medoids from the given initial ``medoids``; returns (medoids, loss).

    Eager swaps, visiting objects 0..n-1 and stopping once a full pass since the last swap found no
    improvement (Schubert & Rousseeuw 2021); a medoid is always its own nearest medoid.

    Example:
        >>> d = np.abs(np.subtract.outer([0.0, 0.1, 0.2, 5.0, 5.1], [0.0, 0.1, 0.2, 5.0, 5.1]))
        >>> meds, loss = fasterpam(d, [0, 1])
        >>> sorted(meds.tolist()), round(loss, 2)
        ([1, 3], 0.3)
    """
    d = np.asarray(diss, dtype=float)
    med = np.array(medoids, dtype=int)
    n, k = d.shape[0], len(med)
    if d.ndim != 2 or d.shape[1] != n:
        raise ValueError(f"diss: expected a square matrix, got shape {d.shape}")
    if not 2 <= k <= n:
        raise ValueError(f"medoids: need 2..{n} initial medoids, got {k}")
    # initial assignment: nearest and second nearest medoid (positions in med) of every object
    dm = d[:, med]
    near_i = np.zeros(n, dtype=int)
    near_d = dm[:, 0].copy()
    seco_i = np.full(n, -1)
    seco_d = np.zeros(n)
    rows = np.arange(n)
    for m in range(1, k):
        dd = dm[:, m]
        closer = (dd < near_d) | (rows == med[m])
        other = ~closer & ((seco_i == -1) | (dd < seco_d))
        seco_i = np.where(closer, near_i, np.where(other, m, seco_i))
        seco_d = np.where(closer, near_d, np.where(other, dd, seco_d))
        near_i = np.where(closer, m, near_i)
        near_d = np.where(closer, dd, near_d)
    loss = _seq_sum(near_d)

    def removal_loss():
        return np.bincount(near_i, weights=seco_d - near_d, minlength=k)

    def second_nearest(objs, nearest, b, djo):
        # the closest medoid to each obj other than nearest[obj] and b, if closer than djo (else b)
        dd = d[np.ix_(objs, med)].copy()
        dd[np.arange(len(objs)), nearest] = np.inf
        dd[:, b] = np.inf
        best = np.argmin(dd, axis=1)
        bestd = dd[np.arange(len(objs)), best]
        take = bestd < djo
        return np.where(take, best, b), np.where(take, bestd, djo)

    rl = removal_loss()
    lastswap, n_swaps, it = n, 0, 0
    while it < max_iter:
        it += 1
        swaps_before = n_swaps
        for j in range(n):
            if j == lastswap:
                break
            if j == med[near_i[j]]:
                continue
            djo = d[j]
            closer = djo < near_d
            between = ~closer & (djo < seco_d)
            # accumulate in object order, as the reference implementation does, so that ties
            # between equally good swaps break the same way
            acc = _seq_sum(djo[closer] - near_d[closer])
            active = closer | between
            ploss = rl.copy()
            np.add.at(ploss, near_i[active], np.where(closer, near_d - seco_d, djo - seco_d)[active])
            b = int(np.argmin(ploss))
            if ploss[b] + acc >= 0:
                continue
            n_swaps += 1
            lastswap = j
            # do the swap: medoid position b becomes object j
            med[b] = j
            was_b = near_i == b
            case_a1 = was_b & (djo < seco_d)
            case_a2 = was_b & ~(djo < seco_d)
            case_b1 = ~was_b & (djo < near_d)
            case_b2 = ~was_b & ~case_b1 & (djo < seco_d)
            case_b3 = ~was_b & ~case_b1 & ~case_b2 & (seco_i == b)
            for mask in (case_a1, case_a2, case_b1, case_b2, case_b3):
                mask[j] = False
            new_near_i, new_near_d = near_i.copy(), near_d.copy()
            new_seco_i, new_seco_d = seco_i.copy(), seco_d.copy()
            new_near_d[case_a1] = djo[case_a1]
            new_near_i[case_a2], new_near_d[case_a2] = seco_i[case_a2], seco_d[case_a2]
            if case_a2.any():
                objs = np.flatnonzero(case_a2)
                new_seco_i[objs], new_seco_d[objs] = second_nearest(objs, seco_i[objs], b, djo[objs])
            new_seco_i[case_b1], new_seco_d[case_b1] = near_i[case_b1], near_d[case_b1]
            new_near_i[case_b1], new_near_d[case_b1] = b, djo[case_b1]
            new_seco_i[case_b2], new_seco_d[case_b2] = b, djo[case_b2]
            if case_b3.any():
                objs = np.flatnonzero(case_b3)
                new_seco_i[objs], new_seco_d[objs] = second_nearest(objs, near_i[objs], b, djo[objs])
            if near_i[j] != b:
                new_seco_i[j], new_seco_d[j] = near_i[j], near_d[j]
            new_near_i[j], new_near_d[j] = b, 0.0
            near_i, near_d, seco_i, seco_d = new_near_i, new_near_d, new_seco_i, new_seco_d
            newloss = _seq_sum(near_d)
            if newloss >= loss:
                break
            loss = newloss
            rl = removal_loss()
        if n_swaps == swaps_before:
            break
    return med, loss


def _seq_sum(values: np.ndarray) -> float:
    """Left-to-right float sum (``np.sum`` sums pairwise, which rounds differently)."""
    return float(np.cumsum(values)[-1]) if len(values) else 0.0


def _kmedoids_coreset(diss: np.ndarray, k: int, rng) -> np.ndarray:
    init = as_rng(rng).choice(diss.shape[0], k, replace=False)  # kmedoids' init="random"
    med, _ = fasterpam(diss, init)
    # benchpred keeps list(set(medoids)): same values, CPython's set order
    return np.array(list(set(int(m) for m in med)), dtype=int)


def anchor_weighted_select(source, k, rng=None) -> np.ndarray:
    """Medoids of a k-medoids clustering of the items on ``1 - corr`` (random initial medoids from ``rng``).

    Example:
        >>> src = (np.random.RandomState(0).rand(10, 30) < 0.5).astype(float)
        >>> len(anchor_weighted_select(src, 4, 0))
        4
    """
    src = check_source(source)
    k = check_k(k, src.shape[1])
    return _kmedoids_coreset(1 - item_correlations(src), k, rng)


def anchor_predictor_select(source, k, rng=None) -> np.ndarray:
    """Medoids of a k-medoids clustering of the items on ``1 - |corr|`` (random initial medoids from ``rng``).

    Example:
        >>> src = (np.random.RandomState(0).rand(10, 30) < 0.5).astype(float)
        >>> len(anchor_predictor_select(src, 4, 0))
        4
    """
    src = check_source(source)
    k = check_k(k, src.shape[1])
    return _kmedoids_coreset(1 - np.abs(item_correlations(src)), k, rng)


def anchor_weights(source, coreset) -> np.ndarray:
    """Each anchor's share of the items that correlate with it most (ties: the first anchor in ``coreset``).

    Example:
        >>> src = np.array([[0, 0, 1, 1], [1, 1, 0, 0], [1, 0, 1, 0]])
        >>> anchor_weights(src, [0, 2]).tolist()
        [0.5, 0.5]
    """
    corrs = item_correlations(source)
    idx = np.asarray(coreset, dtype=int)
    members = np.argmax(corrs[idx, :], axis=0)
    sizes = np.bincount(members, minlength=len(idx))
    return sizes / sizes.sum()


def anchor_weighted_estimate(source, coreset, target_coreset_scores, rng=None) -> np.ndarray:
    """The cluster-size-weighted mean of each target's anchor scores (benchpred ``AnchorPointsWeightedPred``).

    Example:
        >>> src = np.array([[0, 0, 1, 1], [1, 1, 0, 0], [1, 0, 1, 0]])
        >>> anchor_weighted_estimate(src, [0, 2], [[1, 0], [1, 1]]).tolist()
        [0.5, 1.0]
    """
    src, idx, tgt = check_inputs(source, coreset, target_coreset_scores)
    return (tgt * anchor_weights(src, idx)).sum(axis=1)


def anchor_lines(source, coreset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every non-anchor item: the slope, intercept and position of its best-fitting anchor line.

    Least squares ``floater ~ m * anchor + b`` over the source models for every (floater, anchor)
    pair, as ``numpy.linalg.lstsq`` solves it (a constant anchor column gets the minimum-norm
    solution); each floater keeps the anchor with the smallest residual sum of squares (ties: first).
    Returns ``(slope, intercept, anchor_position)``, one entry per item not in ``coreset``.

    Example:
        >>> src = np.array([[0, 0, 1], [1, 1, 0], [1, 1, 1.0]])
        >>> m, b, which = anchor_lines(src, [0, 2])
        >>> [m.round(6).tolist(), b.round(6).tolist(), which.tolist()]
        [[1.0], [0.0], [0]]
    """
    src = check_source(source).astype(float)
    idx = np.asarray(coreset, dtype=int)
    floaters = rest_of(src.shape[1], idx)
    x = src[:, idx]                                   # models x anchors
    y = src[:, floaters]                              # models x floaters
    n = src.shape[0]
    xm, ym = x.mean(axis=0), y.mean(axis=0)
    sxx = ((x - xm) ** 2).sum(axis=0)                 # anchors
    sxy = (y - ym).T @ (x - xm)                       # floaters x anchors
    syy = ((y - ym) ** 2).sum(axis=0)                 # floaters
    const = sxx <= 1e-12 * n
    safe = np.where(const, 1.0, sxx)
    slope = np.where(const, 0.0, sxy / safe)
    intercept = ym[:, None] - slope * xm[None, :]
    resid = np.maximum(syy[:, None] - np.where(const, 0.0, sxy ** 2 / safe), 0.0)
    # constant anchor column c: the minimum-norm solution of [c, 1] @ theta = mean(y)
    if const.any():
        c = x[0, const]
        slope[:, const] = ym[:, None] * c[None, :] / (c ** 2 + 1)[None, :]
        intercept[:, const] = ym[:, None] / (c ** 2 + 1)[None, :]
        resid[:, const] = syy[:, None]
    which = np.argmin(resid, axis=1)
    rows = np.arange(len(floaters))
    return slope[rows, which], intercept[rows, which], which


def anchor_predictor_estimate(source, coreset, target_coreset_scores, rng=None) -> np.ndarray:
    """Mean over the non-anchor items of their best anchor line's prediction (benchpred ``AnchorPointPredictorPred``).

    Example:
        >>> src = np.array([[0, 0, 1, 1], [1, 1, 0, 0], [1, 1, 1, 0.0]])
        >>> anchor_predictor_estimate(src, [0, 2], [[1, 0], [0, 1]]).round(6).tolist()
        [0.5, 0.5]
    """
    src, idx, tgt = check_inputs(source, coreset, target_coreset_scores)
    slope, intercept, which = anchor_lines(src, idx)
    return (slope[None, :] * tgt[:, which] + intercept[None, :]).mean(axis=1)
