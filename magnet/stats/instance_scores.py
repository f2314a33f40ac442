"""Scores of per-instance probability predictions against 0/1 outcomes: Brier, log-loss, AUROC.

Arrays in, numbers out (checked against ``sklearn.metrics`` in the tests).
AUROC is the Mann-Whitney probability that a positive outranks a negative
(ties count one half); it is None unless both classes occur.

Example:
    >>> s = binary_scores([1, 0, 1, 0], [0.9, 0.2, 0.6, 0.7])
    >>> s["n"], round(s["brier"], 4), round(s["log_loss"], 4), s["auroc"]
    (4, 0.175, 0.5108, 0.75)
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

EPS = 1e-15


def brier(y, p) -> float:
    """Mean squared difference between outcome and predicted probability."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    return float(np.mean((p - y) ** 2))


def log_loss(y, p, eps: float = EPS) -> float:
    """Mean negative log-likelihood of the outcomes, probabilities clipped to [eps, 1 - eps]."""
    y, p = np.asarray(y, float), np.clip(np.asarray(p, float), eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def auroc(y, p) -> float | None:
    """Area under the ROC curve (Mann-Whitney U / (n_pos n_neg)); None with a single class."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    n_pos = int((y == 1).sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(p)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def is_binary(y) -> bool:
    """True when every outcome is 0 or 1."""
    y = np.asarray(y, float)
    return bool(len(y)) and bool(np.isin(y, (0.0, 1.0)).all())


def binary_scores(y, p) -> dict:
    """``n``, ``n_positive``, ``brier``, ``log_loss``, ``auroc`` (None if one class) and ``mae``.

    Predictions outside [0, 1] get no log-loss (None): they are not probabilities.
    """
    y, p = np.asarray(y, float), np.asarray(p, float)
    probabilities = bool(len(p)) and bool(((p >= 0) & (p <= 1)).all())
    return {"n": int(len(y)), "n_positive": int((y == 1).sum()), "brier": brier(y, p),
            "log_loss": log_loss(y, p) if probabilities else None, "auroc": auroc(y, p),
            "mae": float(np.mean(np.abs(p - y)))}
