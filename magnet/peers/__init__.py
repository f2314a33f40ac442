"""The peers' benchmark-prediction methods, on score matrices, as references for magnet's own predictors.

Each method is a :class:`PeerMethod` with one signature:

- ``select(source, k, rng) -> indices``: the coreset it evaluates targets on (random for most;
  chosen from the source models for anchor points, lasso and the IRT methods);
- ``estimate(source, coreset, target_coreset_scores, rng) -> predicted means`` (calling the
  ``PeerMethod`` itself does this).

``source`` is the source models' full 0/1 (or [0, 1]) score matrix (models x items). Definitions and
defaults follow ``benchpred`` 1.0.0 (Zhang, Dorner, Hardt, "How Benchmark Prediction from Fewer Data
Misses the Mark") and tinyBenchmarks (Polo et al.); ``tests/test_peers.py`` checks them against the
package's own numbers (``tools/benchpred_reference.py``). ``rng`` may be an int seed: the random draws
then equal benchpred's for that seed.

Example:
    >>> scores = load_benchpred_matrix("gsm")
    >>> aipw = PEER_METHODS["aipw"]
    >>> core = aipw.select(scores[:60], 50, 0)
    >>> aipw(scores[:60], core, scores[60:, core], 0).shape
    (23,)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from magnet.peers.anchor_points import (
    anchor_predictor_estimate,
    anchor_predictor_select,
    anchor_weighted_estimate,
    anchor_weighted_select,
)
from magnet.peers.irt import gpirt_estimate, irt_select, pirt_estimate
from magnet.peers.lasso import lasso_estimate, lasso_select
from magnet.peers.pca import pca_estimate
from magnet.peers.protocol import PeerResult, run_peer, run_peers, split_models
from magnet.peers.sampling import (
    aipw_estimate,
    random_sampling_and_learn_estimate,
    random_sampling_estimate,
    random_search_select,
    random_select,
)


@dataclass(frozen=True)
class PeerMethod:
    """A peer method: ``select(source, k, rng)`` picks the coreset, ``estimate(...)`` (or calling it) predicts.

    ``chooses_coreset`` is True when ``select`` looks at the source scores (not a random draw).

    Example:
        >>> m = PEER_METHODS["random_sampling"]
        >>> m(np.zeros((2, 4)), [0, 1], [[1, 0]]).tolist()
        [0.5]
    """

    name: str
    select: Callable
    estimate: Callable
    chooses_coreset: bool
    summary: str

    def __call__(self, source, coreset, target_coreset_scores, rng=None) -> np.ndarray:
        return self.estimate(source, coreset, target_coreset_scores, rng)


PEER_METHODS: dict[str, PeerMethod] = {
    m.name: m
    for m in [
        PeerMethod("random_sampling", random_select, random_sampling_estimate, False,
                   "mean of the target's scores on a random coreset"),
        PeerMethod("random_sampling_and_learn", random_select, random_sampling_and_learn_estimate, False,
                   "RidgeCV from coreset scores to the mean, fitted on the source models"),
        PeerMethod("random_search_and_learn", random_search_select, random_sampling_and_learn_estimate, True,
                   "as random_sampling_and_learn on the best of 10000 random coresets"),
        PeerMethod("aipw", random_select, aipw_estimate, False,
                   "prediction-powered mean: Ridge over items from source scores, residual-corrected"),
        PeerMethod("pca", random_select, pca_estimate, False,
                   "rank-2 PCA completion of the target's row, averaged"),
        PeerMethod("lasso", lasso_select, lasso_estimate, True,
                   "lasso of the mean on all items with k non-zero coefficients"),
        PeerMethod("anchor_points_weighted", anchor_weighted_select, anchor_weighted_estimate, True,
                   "k-medoids anchors on 1 - corr, cluster-size-weighted anchor mean"),
        PeerMethod("anchor_points_predictor", anchor_predictor_select, anchor_predictor_estimate, True,
                   "k-medoids anchors on 1 - |corr|, each other item predicted from its best anchor"),
        PeerMethod("pirt", irt_select, pirt_estimate, True,
                   "tinyBenchmarks p-IRT: IRT anchors, ability fit, curve on the unseen items"),
        PeerMethod("gpirt", irt_select, gpirt_estimate, True,
                   "tinyBenchmarks gp-IRT: p-IRT mixed with the weighted anchor mean"),
    ]
}


def shared_data_dir() -> Path:
    """The folder of the shared real-data matrices (``benchpred-helm-lite``).

    ``$MAGNET_SHARED_DATA`` if set, else the repository's own copy (``tests/data``), else the first
    ``shared/data`` found beside a parent folder of this package.

    Example:
        >>> (shared_data_dir() / "benchpred-helm-lite" / "gsm.npy").exists()
        True
    """
    env = os.environ.get("MAGNET_SHARED_DATA")
    if env:
        return Path(env)
    repo_copy = Path(__file__).resolve().parents[2] / "tests" / "data"
    if (repo_copy / "benchpred-helm-lite" / "gsm.npy").is_file():
        return repo_copy
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data"
        if (candidate / "benchpred-helm-lite").is_dir():
            return candidate
    raise FileNotFoundError("shared/data/benchpred-helm-lite not found beside the repository; "
                            "set MAGNET_SHARED_DATA to the folder that holds it")


def load_benchpred_matrix(name: str) -> np.ndarray:
    """A HELM Lite score matrix (``gsm``, ``mmlu`` or ``math``) as benchpred loads it: float32, models x items.

    Models whose mean is 0 would be dropped, as benchpred's ``get_scores`` does (none are, in these three).

    Example:
        >>> load_benchpred_matrix("mmlu").shape
        (83, 567)
    """
    path = shared_data_dir() / "benchpred-helm-lite" / f"{name}.npy"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such matrix (expected gsm, mmlu or math)")
    scores = np.load(path).astype(np.float32)
    return scores[scores.mean(axis=-1) > 1e-8]


__all__ = [
    "PEER_METHODS",
    "PeerMethod",
    "PeerResult",
    "load_benchpred_matrix",
    "run_peer",
    "run_peers",
    "shared_data_dir",
    "split_models",
]
