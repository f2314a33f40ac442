"""The peers' evaluation protocol on a score matrix: model splits, one coreset per method, the gap.

As in benchpred's ``main.py`` (Zhang, Dorner, Hardt): for a seed, the models are split into source
and target models; every method chooses (or is given) a coreset of ``k`` items from the source
models, sees the targets' scores on it, and predicts each target's full-benchmark mean. The *gap*
is the mean over targets of ``|predicted - actual|``.

- interpolation: a random ``target_fraction`` (25%) of the models are targets, the rest source
  (``np.random.seed(seed); permutation(n)[:int(0.25 n)]``);
- extrapolation: models sorted by mean score; the bottom ``source_fraction`` (50%) are source, the
  top ``target_fraction`` (30%) targets, the rest unused. The seed then only changes the coresets.

Each method starts from a fresh ``np.random.RandomState(seed)``, as benchpred reseeds in every
``fit``, so a method's random coreset is the package's for the same seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from magnet.peers._common import check_k, check_source

SPLITS = ("interpolation", "extrapolation")


def split_models(scores, split: str, seed: int = 0, target_fraction: float | None = None,
                 source_fraction: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """``(source, target)`` model indices for the peers' ``interpolation`` or ``extrapolation`` split.

    ``target_fraction`` defaults to 0.25 (interpolation) or 0.3 (extrapolation). Ties in the mean
    score are ordered by model index (a stable sort).

    Example:
        >>> scores = np.array([[0, 0], [1, 1], [0, 1], [1, 0], [0, 0], [1, 1], [0, 1], [1, 1]])
        >>> split_models(scores, "interpolation", seed=0)[1].tolist()   # 2 of 8 models
        [6, 2]
        >>> [x.tolist() for x in split_models(scores, "extrapolation")]
        [[0, 4, 2, 3], [5, 7]]
    """
    src = check_source(scores, "scores")
    n = src.shape[0]
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {', '.join(SPLITS)}, got {split!r}")
    frac = (0.25 if split == "interpolation" else 0.3) if target_fraction is None else float(target_fraction)
    if not 0 < frac < 1 or not 0 < source_fraction < 1:
        raise ValueError(f"fractions must be in (0, 1), got target {frac}, source {source_fraction}")
    n_target = int(frac * n)
    if split == "interpolation":
        target = np.random.RandomState(seed).permutation(n)[:n_target]
        source = np.setdiff1d(np.arange(n), target)
    else:
        n_source = int(source_fraction * n)
        if n_source + n_target > n:
            raise ValueError(f"fractions: source {source_fraction} + target {frac} exceed all {n} models")
        order = np.argsort(src.mean(axis=-1), kind="stable")
        source, target = order[:n_source], order[n - n_target:]
    if n_target < 1 or len(source) < 2:
        raise ValueError(f"scores: {n} models are too few for the {split} split")
    return np.asarray(source, dtype=int), np.asarray(target, dtype=int)


@dataclass(frozen=True)
class PeerResult:
    """One method on one split: its coreset, the targets' predicted and actual means, and the gap.

    Example:
        >>> res = PeerResult("m", "interpolation", 0, 2, np.arange(3), np.array([3, 4]), np.array([0, 1]),
        ...                  predicted=np.array([0.5, 0.7]), actual=np.array([0.6, 0.7]))
        >>> round(res.gap, 3)
        0.05
    """

    method: str
    split: str
    seed: int
    k: int
    source: np.ndarray
    target: np.ndarray
    coreset: np.ndarray
    predicted: np.ndarray
    actual: np.ndarray

    @property
    def gap(self) -> float:
        """Mean over targets of ``|predicted - actual|`` (the peers' "gap")."""
        return float(np.mean(np.abs(self.predicted - self.actual)))


def run_peer(method, scores, split: str, k: int, seed: int = 0, **split_options) -> PeerResult:
    """Run one peer method (a name in ``PEER_METHODS`` or a ``PeerMethod``) on one split of ``scores``.

    Example:
        >>> from magnet.peers import load_benchpred_matrix
        >>> scores = load_benchpred_matrix("gsm")
        >>> res = run_peer("random_sampling", scores, "extrapolation", k=50, seed=0)
        >>> len(res.target), len(res.coreset), round(res.gap, 4)
        (24, 50, 0.0202)
    """
    from magnet.peers import PEER_METHODS

    if isinstance(method, str):
        if method not in PEER_METHODS:
            raise ValueError(f"method: unknown peer method {method!r}; known: {', '.join(PEER_METHODS)}")
        method = PEER_METHODS[method]
    src = check_source(scores, "scores")
    k = check_k(k, src.shape[1])
    source, target = split_models(src, split, seed, **split_options)
    coreset = np.asarray(method.select(src[source], k, seed), dtype=int)
    predicted = np.asarray(method.estimate(src[source], coreset, src[target][:, coreset], seed), dtype=float)
    return PeerResult(method=method.name, split=split, seed=int(seed), k=k, source=source, target=target,
                      coreset=coreset, predicted=predicted, actual=src[target].mean(axis=1).astype(float))


def run_peers(scores, split: str, k: int, seeds=(0,), methods=None, **split_options) -> pd.DataFrame:
    """The gap of every peer method (default: all of ``PEER_METHODS``) on each seed: one row per (method, seed).

    Columns: ``method``, ``split``, ``seed``, ``k``, ``n_source``, ``n_target``, ``gap``.

    Example:
        >>> from magnet.peers import load_benchpred_matrix
        >>> scores = load_benchpred_matrix("gsm")
        >>> table = run_peers(scores, "interpolation", k=50, seeds=[0, 1], methods=["random_sampling", "aipw"])
        >>> table.groupby("method")["gap"].mean().round(3).to_dict()
        {'aipw': 0.031, 'random_sampling': 0.059}
    """
    from magnet.peers import PEER_METHODS

    names = list(PEER_METHODS) if methods is None else list(methods)
    rows = []
    for seed in seeds:
        for name in names:
            res = run_peer(name, scores, split, k, seed, **split_options)
            rows.append({"method": res.method, "split": split, "seed": int(seed), "k": res.k,
                         "n_source": len(res.source), "n_target": len(res.target), "gap": res.gap})
    return pd.DataFrame(rows, columns=["method", "split", "seed", "k", "n_source", "n_target", "gap"])
