"""Input checks and random-number helpers shared by the peer methods (`magnet.peers`)."""

from __future__ import annotations

import numpy as np

RandomLike = "int | np.random.RandomState | np.random.Generator | None"


def as_rng(rng) -> np.random.RandomState | np.random.Generator:
    """A numpy random source from ``rng``: an int seeds a legacy ``RandomState``.

    ``benchpred`` draws with the legacy global generator after ``np.random.seed(seed)``, and
    ``np.random.RandomState(seed)`` gives the same stream, so passing the int ``seed`` (or
    ``np.random.RandomState(seed)``) reproduces the package's random coresets exactly.

    Example:
        >>> as_rng(0).permutation(5).tolist() == np.random.RandomState(0).permutation(5).tolist()
        True
    """
    if rng is None:
        return np.random.RandomState(0)
    if isinstance(rng, (np.random.RandomState, np.random.Generator)):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.RandomState(int(rng))
    raise TypeError(f"rng: expected an int seed, numpy RandomState or Generator, got {type(rng).__name__}")


def seed_of(rng) -> int:
    """An int seed for libraries that take one (KMeans): ``rng`` itself if it is an int, else a draw.

    Example:
        >>> seed_of(7)
        7
        >>> 0 <= seed_of(np.random.RandomState(1)) < 2**31 - 1
        True
    """
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return int(rng)
    return int(as_rng(rng).randint(0, 2**31 - 1))


def check_source(source, name: str = "source") -> np.ndarray:
    """``source`` as a float 2-D array (models x items) with at least 2 models and 2 items, or a one-line error.

    float32 input stays float32 (benchpred works on float32 matrices; scikit-learn then computes in
    float32 too), anything else becomes float64.

    Example:
        >>> check_source([[0, 1], [1, 1]]).dtype
        dtype('float64')
        >>> check_source(np.ones((2, 2), dtype=np.float32)).dtype
        dtype('float32')
    """
    arr = np.asarray(source)
    arr = arr if arr.dtype == np.float32 else arr.astype(float)
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (models x items), got shape {arr.shape}")
    if arr.shape[0] < 2 or arr.shape[1] < 2:
        raise ValueError(f"{name}: need at least 2 models and 2 items, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: has {int((~np.isfinite(arr)).sum())} missing or non-finite cells; "
                         "the peer methods need a complete matrix")
    return arr


def check_k(k, n_items: int) -> int:
    """The coreset size as an int in ``[2, n_items)`` (benchpred asserts ``1 < k < n_items``), or an error.

    Example:
        >>> check_k(50, 1000)
        50
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k: expected an int coreset size, got {type(k).__name__}")
    if not 1 < int(k) < n_items:
        raise ValueError(f"k: coreset size must be in [2, {n_items - 1}] for {n_items} items, got {k}")
    return int(k)


def check_inputs(source, coreset, target_coreset_scores, allow_repeats: bool = False):
    """Validate an ``estimate`` call; returns (source, coreset, target scores) as arrays.

    The target scores may be 1-D (one target model). Errors name the argument and the problem.
    ``allow_repeats`` admits an item twice (tinyBenchmarks' anchors can repeat).

    Example:
        >>> s, c, t = check_inputs([[0, 1, 1], [1, 1, 0]], [0, 2], [1, 0])
        >>> c.tolist(), t.shape
        ([0, 2], (1, 2))
    """
    src = check_source(source)
    idx = np.asarray(coreset)
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"coreset: expected a non-empty 1-D array of item indices, got {idx!r}")
    if idx.min() < 0 or idx.max() >= src.shape[1]:
        raise ValueError(f"coreset: indices must be in [0, {src.shape[1] - 1}], got {idx.min()}..{idx.max()}")
    if not allow_repeats and len(np.unique(idx)) != len(idx):
        raise ValueError("coreset: has repeated item indices")
    tgt = np.asarray(target_coreset_scores, dtype=float)
    if tgt.ndim == 1:
        tgt = tgt.reshape(1, -1)
    if tgt.ndim != 2 or tgt.shape[1] != len(idx):
        raise ValueError(f"target_coreset_scores: expected shape (n_target, {len(idx)}), got {np.shape(target_coreset_scores)}")
    if not np.isfinite(tgt).all():
        raise ValueError("target_coreset_scores: has missing or non-finite cells")
    return src, idx.astype(int), tgt


def random_coreset(n_items: int, k: int, rng=None) -> np.ndarray:
    """``k`` distinct item indices: the first ``k`` of ``rng.permutation(n_items)``, as benchpred draws them.

    Example:
        >>> random_coreset(10, 3, 0).tolist()   # == np.random.seed(0); np.random.permutation(10)[:3]
        [2, 8, 4]
    """
    k = check_k(k, n_items)
    return np.asarray(as_rng(rng).permutation(n_items)[:k], dtype=int)


def rest_of(n_items: int, coreset: np.ndarray) -> np.ndarray:
    """The item indices not in ``coreset``, in increasing order.

    Example:
        >>> rest_of(5, np.array([3, 0])).tolist()
        [1, 2, 4]
    """
    keep = np.ones(n_items, dtype=bool)
    keep[coreset] = False
    return np.flatnonzero(keep)
