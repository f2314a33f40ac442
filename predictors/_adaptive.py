"""Adaptive reveal estimators: choose each eval model's next item from what it answered so far.

Array functions on a score matrix. ``source`` is the train models' complete matrix (models x items);
a *run* is one target model; ``order`` the item indices it revealed, in the order asked, and ``y`` its
outcomes on them. Every policy is a deterministic function of ``(source, order, y)`` plus a random
draw, so :func:`replay` recomputes, from the revealed sequence alone, the surrogate and the
probabilities each step used (what an estimator needs; the protocol records only the sequence).

Two methods:

* **IRT adaptive testing** (:func:`cat_policy`, :func:`cat_estimate`): 2PL item parameters fitted on
  the source models (``predictors._matrix.fit_irt``); the next item is the unrevealed one with the
  largest Fisher information ``a_j^2 p_j (1 - p_j)`` at the run's current MAP ability; the score is the
  revealed outcomes plus the curve on the unrevealed items, corrected by the mean revealed residual
  (a difference estimator; biased when the curve misfits, since adaptively chosen items are not a
  random sample).
* **Active testing** (:func:`active_policy`, :func:`active_estimate`): the next item is *drawn* from the
  unrevealed ones with probability ``q_j`` proportional to ``sqrt(f_j (1 - f_j))`` (mixed with a uniform
  share ``eps``), ``f`` the 2PL surrogate at the current MAP ability; each step ``t`` gives
  ``phi_t = (sum of revealed y before t + sum_U f + (y_J - f_J) / q_J) / N`` over the unrevealed set
  ``U``, conditionally unbiased for the run's full mean given the past (a sequential
  without-replacement difference estimator, Des Raj's with a surrogate), whatever the surrogate's
  errors; the estimate averages the ``phi_t`` with weights fixed in advance (so it stays unbiased).
  :func:`active_irt_estimate` returns the lower-variance but model-dependent IRT estimate from the same
  sample (the "AIPW vs plug-in" choice, made inside the source models).

Example:
    >>> rng = np.random.default_rng(0)
    >>> theta, b = rng.normal(size=60), rng.normal(size=300)
    >>> S = (rng.random((60, 300)) < 1 / (1 + np.exp(-(theta[:, None] - b)))).astype(float)
    >>> fit = fit_source(S[:50])
    >>> order, y = simulate(fit, S[55], 30, "active", seed=1)
    >>> len(order), len(set(order.tolist()))
    (30, 30)
    >>> est = active_estimate(fit, order, y)
    >>> bool(abs(est - S[55].mean()) < 0.15)
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predictors._matrix import _sigmoid, fit_irt

__all__ = ["SourceFit", "fit_source", "ability", "cat_policy", "active_policy", "replay", "simulate",
           "cat_estimate", "active_estimate", "active_irt_estimate", "sample_mean", "POLICIES", "ESTIMATES"]

#: Uniform share mixed into active testing's sampling probabilities (bounds the importance weights).
EPS = 0.2
#: Prior standard deviation of a run's ability (wide: eval models may lie beyond every source model).
PRIOR_SD = 2.0


@dataclass(frozen=True)
class SourceFit:
    """The 2PL fit on the source models: item slopes ``a``, intercepts ``b``, source abilities ``theta``."""

    a: np.ndarray
    b: np.ndarray
    theta: np.ndarray

    @property
    def n_items(self) -> int:
        return len(self.a)


def fit_source(source) -> SourceFit:
    """Fit the 2PL item model on the source (train) models' complete score matrix.

    Example:
        >>> fit = fit_source(np.array([[1, 1, 0, 0.], [1, 0, 0, 0], [1, 1, 1, 0]]))
        >>> fit.n_items
        4
    """
    src = np.asarray(source, dtype=float)
    if src.ndim != 2 or src.shape[0] < 2 or np.isnan(src).any():
        raise ValueError(f"source must be a complete 2-D matrix with at least 2 models, got shape {src.shape}")
    a, b, theta = fit_irt(src)
    return SourceFit(a, b, theta)


def ability(fit: SourceFit, order, y, prior_sd: float = PRIOR_SD, iters: int = 20) -> float:
    """MAP ability of one run from its revealed items ``order`` and outcomes ``y`` (prior N(mean source
    ability, prior_sd^2)); the prior mean when nothing is revealed.

    Example:
        >>> fit = SourceFit(np.ones(3), np.zeros(3), np.zeros(2))
        >>> ability(fit, [0, 1], [1, 1]) > 0 > ability(fit, [0, 1], [0, 0])
        True
    """
    mu = float(np.mean(fit.theta))
    idx = np.asarray(order, dtype=int)
    if not len(idx):
        return mu
    a, b, yy = fit.a[idx], fit.b[idx], np.asarray(y, dtype=float)
    th = mu
    for _ in range(iters):
        p = _sigmoid(th * a + b)
        grad = ((yy - p) * a).sum() - (th - mu) / prior_sd ** 2
        hess = -(p * (1 - p) * a * a).sum() - 1 / prior_sd ** 2
        th = float(np.clip(th - grad / hess, -10, 10))
    return th


def _unrevealed(n: int, order) -> np.ndarray:
    mask = np.ones(n, dtype=bool)
    mask[np.asarray(order, dtype=int)] = False
    return mask


def cat_policy(fit: SourceFit, order, y):
    """IRT adaptive testing: ``(f, q)`` with ``f`` the curve at the current ability and ``q`` all mass on
    the unrevealed item of largest Fisher information (a deterministic choice).

    Example:
        >>> fit = SourceFit(np.array([1., 3, 1]), np.zeros(3), np.zeros(2))
        >>> int(np.argmax(cat_policy(fit, [], [])[1]))
        1
    """
    th = ability(fit, order, y)
    f = _sigmoid(th * fit.a + fit.b)
    info = np.where(_unrevealed(fit.n_items, order), fit.a ** 2 * f * (1 - f), -np.inf)
    q = np.zeros(fit.n_items)
    q[int(np.argmax(info))] = 1.0
    return f, q


def active_policy(fit: SourceFit, order, y, eps: float = EPS):
    """Active testing: ``(f, q)``, ``q`` over the unrevealed items proportional to ``sqrt(f (1 - f))`` (the
    residual spread the surrogate expects) mixed with a uniform share ``eps``.

    Example:
        >>> fit = SourceFit(np.ones(4), np.array([0., 5, -5, 0]), np.zeros(2))
        >>> f, q = active_policy(fit, [0], [1])
        >>> float(q[0]), bool(q[3] > q[1]), round(float(q.sum()), 6)
        (0.0, True, 1.0)
    """
    th = ability(fit, order, y)
    f = _sigmoid(th * fit.a + fit.b)
    mask = _unrevealed(fit.n_items, order)
    spread = np.sqrt(f * (1 - f)) * mask
    total = spread.sum()
    uniform = mask / mask.sum()
    q = uniform if total <= 0 else (1 - eps) * spread / total + eps * uniform
    return f, q


POLICIES = {"cat": cat_policy, "active": active_policy}


def replay(fit: SourceFit, order, y, policy="active"):
    """The surrogate ``F`` (steps x items) and probability ``q`` (steps,) of each revealed item at the step
    it was asked, recomputed from the sequence (the policy depends only on what was revealed before).

    Example:
        >>> fit = SourceFit(np.ones(4), np.zeros(4), np.zeros(2))
        >>> F, q = replay(fit, [2, 0], [1, 0])
        >>> F.shape, q.round(2).tolist()
        ((2, 4), [0.25, 0.33])
    """
    pol = POLICIES[policy] if isinstance(policy, str) else policy
    order, y = np.asarray(order, dtype=int), np.asarray(y, dtype=float)
    F, q = np.zeros((len(order), fit.n_items)), np.zeros(len(order))
    for t in range(len(order)):
        f, probs = pol(fit, order[:t], y[:t])
        F[t], q[t] = f, probs[order[t]]
    return F, q


def next_item(fit: SourceFit, order, y, policy, rng) -> int:
    """The next item to ask for under ``policy`` (drawn from its probabilities with ``rng``).

    Example:
        >>> fit = SourceFit(np.ones(4), np.zeros(4), np.zeros(2))
        >>> next_item(fit, [0, 1, 2], [1, 1, 0], "active", np.random.default_rng(0))
        3
    """
    pol = POLICIES[policy] if isinstance(policy, str) else policy
    _, q = pol(fit, order, y)
    return int(rng.choice(len(q), p=q / q.sum()))


def simulate(fit: SourceFit, row, budget: int, policy="active", seed=0):
    """Run a policy on one target whose full outcome row is known: ``(order, y)`` of ``budget`` items.

    Example:
        >>> fit = SourceFit(np.ones(5), np.zeros(5), np.zeros(2))
        >>> simulate(fit, np.array([1, 0, 1, 1, 0.]), 3, "cat")[0].tolist()
        [0, 1, 2]
    """
    row = np.asarray(row, dtype=float)
    rng = np.random.default_rng(seed)
    order: list[int] = []
    for _ in range(min(int(budget), len(row))):
        order.append(next_item(fit, order, row[order], policy, rng))
    return np.asarray(order, dtype=int), row[order]


def step_weights(k: int, power: float = 1.0) -> np.ndarray:
    """Weights of the per-step estimates, fixed in advance: proportional to ``(t + 1) ** power``.

    Example:
        >>> step_weights(3).round(3).tolist()
        [0.167, 0.333, 0.5]
    """
    w = (np.arange(k) + 1.0) ** power
    return w / w.sum()


def active_steps(fit: SourceFit, order, y, policy="active") -> np.ndarray:
    """The per-step estimates ``phi_t`` of the run's full mean (module docstring), each conditionally
    unbiased given the steps before it.

    Example:
        >>> fit = SourceFit(np.ones(4), np.zeros(4), np.zeros(2))
        >>> active_steps(fit, [1, 3], [1, 0]).round(3).tolist()
        [1.0, 0.25]
    """
    order, y = np.asarray(order, dtype=int), np.asarray(y, dtype=float)
    F, q = replay(fit, order, y, policy)
    n = fit.n_items
    phi = np.zeros(len(order))
    for t in range(len(order)):
        mask = _unrevealed(n, order[:t])
        phi[t] = (y[:t].sum() + F[t][mask].sum() + (y[t] - F[t, order[t]]) / q[t]) / n
    return phi


def active_estimate(fit: SourceFit, order, y, policy="active", power: float = 1.0) -> float:
    """Active testing's estimate: the per-step estimates averaged with :func:`step_weights` (unbiased).

    Example:
        >>> fit = SourceFit(np.ones(4), np.zeros(4), np.zeros(2))
        >>> round(active_estimate(fit, [1, 3], [1, 0]), 3)
        0.5
    """
    phi = active_steps(fit, order, y, policy)
    return float(np.clip(phi @ step_weights(len(phi), power), 0.0, 1.0))


def cat_estimate(fit: SourceFit, order, y, correct: bool = True) -> float:
    """IRT estimate: revealed outcomes plus the curve at the final MAP ability on the unrevealed items,
    plus (``correct``) the mean revealed residual on each unrevealed item (difference estimator).

    Example:
        >>> fit = SourceFit(np.ones(4), np.zeros(4), np.zeros(2))
        >>> 0 < cat_estimate(fit, [0, 1], [1, 0]) < 1
        True
    """
    order, y = np.asarray(order, dtype=int), np.asarray(y, dtype=float)
    th = ability(fit, order, y)
    p = _sigmoid(th * fit.a + fit.b)
    mask = _unrevealed(fit.n_items, order)
    resid = float((y - p[order]).mean()) if correct and len(order) else 0.0
    return float(np.clip((y.sum() + (p[mask] + resid).sum()) / fit.n_items, 0.0, 1.0))


def active_irt_estimate(fit: SourceFit, order, y, policy="active") -> float:
    """The plug-in IRT estimate on an actively drawn sample, with the importance-weighted residual correction
    of the last step only (model-dependent; lower variance than :func:`active_estimate` when the curve fits).

    Example:
        >>> fit = SourceFit(np.ones(4), np.zeros(4), np.zeros(2))
        >>> 0 < active_irt_estimate(fit, [0, 1], [1, 1]) < 1
        True
    """
    return cat_estimate(fit, order, y, correct=False)


def sample_mean(fit: SourceFit, order, y) -> float:
    """The mean of the revealed outcomes (biased on an adaptive sample; the early-signal reference).

    Example:
        >>> sample_mean(None, [0, 1], [1, 0])
        0.5
    """
    return float(np.mean(y))


ESTIMATES = {"cat": cat_estimate, "active": active_estimate, "active_irt": active_irt_estimate,
             "sample_mean": sample_mean}


# --- Prototype testing: the train models as prototypes of the eval model -------------------------------------

#: Smoothing of a prototype's 0/1 outcomes in the likelihood: a train model's outcome is taken as right with
#: probability 1 - PROTO_EPS (its row is evidence about the eval model, not a copy of it).
PROTO_EPS = 0.3
#: Share of the strongest train models whose posterior mass (over half) flags a run as beyond the train models.
BEYOND_TOP = 0.2
#: Candidate estimates of :func:`proto_estimate`, chosen per regime by :func:`choose_estimates` (the uncorrected 2PL
#: plug-in enters the average only: alone, its misfit bias made a noisy choice costly, e.g. 0.061 on gsm at 200 items).
PROTO_CANDIDATES = ("plugin", "irt_corrected", "average")


@dataclass(frozen=True)
class PrototypeFit:
    """The train models as prototypes: their complete rows ``S``, the smoothed rows ``P`` and their log tables, their means,
    the mask of the strongest ``BEYOND_TOP`` share, and the 2PL fit of the same rows."""

    S: np.ndarray
    P: np.ndarray
    log1: np.ndarray
    log0: np.ndarray
    means: np.ndarray
    top: np.ndarray
    irt: SourceFit

    @property
    def n_items(self) -> int:
        return self.S.shape[1]


def fit_prototypes(source, eps: float = PROTO_EPS) -> PrototypeFit:
    """The prototype tables of the train (source) models' complete score matrix.

    Example:
        >>> pf = fit_prototypes(np.array([[1, 1, 0, 0.], [1, 0, 0, 0], [1, 1, 1, 0]]))
        >>> pf.n_items, pf.top.tolist()
        (4, [False, False, True])
    """
    fit = fit_source(source)
    S = np.asarray(source, dtype=float)
    P = S * (1 - 2 * eps) + eps
    means = S.mean(1)
    top = means >= np.quantile(means, 1 - BEYOND_TOP)
    return PrototypeFit(S, P, np.log(P), np.log(1 - P), means, top, fit)


#: Beyond this many revealed items the plug-in's likelihood is tempered by ``PLUGIN_TEMPER / k`` (its posterior
#: would otherwise collapse onto one prototype, whose row is then the prediction of every unrevealed item).
PLUGIN_TEMPER = 50


def proto_weights(pf: PrototypeFit, order, y, power: float = 1.0) -> np.ndarray:
    """Posterior weights of the prototypes given the run's revealed outcomes (uniform prior; the likelihood
    raised to ``power``).

    Example:
        >>> pf = fit_prototypes(np.array([[1, 1, 0, 0.], [0, 0, 1, 1]]))
        >>> proto_weights(pf, [0, 1], [1, 1]).round(3).tolist()
        [0.845, 0.155]
    """
    idx, yy = np.asarray(order, dtype=int), np.asarray(y, dtype=float)
    ll = (pf.log1[:, idx] * yy + pf.log0[:, idx] * (1 - yy)).sum(1) * power
    w = np.exp(ll - ll.max())
    return w / w.sum()


def proto_policy(pf: PrototypeFit, order, y):
    """``(f, q)``: ``f`` the posterior mean row of the prototypes, ``q`` all mass on the unrevealed item whose
    outcome, under the posterior, most reduces the expected variance of the prototypes' mean score
    (``P(1) P(0) (E[score | 1] - E[score | 0])^2``).

    Example:
        >>> pf = fit_prototypes(np.array([[1, 1, 1, 0.], [1, 0, 0, 0], [1, 1, 0, 0]]))
        >>> f, q = proto_policy(pf, [], [])
        >>> int(np.argmax(q)) in (1, 2), float(q[0])
        (True, 0.0)
    """
    w = proto_weights(pf, order, y)
    P = pf.P
    p1 = w @ P
    m1 = (w * pf.means) @ P / p1
    m0 = (w * pf.means) @ (1 - P) / (1 - p1)
    gain = np.where(_unrevealed(pf.n_items, order), p1 * (1 - p1) * (m1 - m0) ** 2, -np.inf)
    q = np.zeros(pf.n_items)
    q[int(np.argmax(gain))] = 1.0
    return w @ pf.S, q


def beyond(pf: PrototypeFit, order, y) -> bool:
    """Whether the run looks beyond the train models: over half its posterior mass on the strongest share.

    Example:
        >>> pf = fit_prototypes(np.array([[1, 1, 1, 1.], [0, 0, 0, 1], [0, 0, 1, 1]] * 4))
        >>> beyond(pf, [0, 1], [1, 1]), beyond(pf, [0, 1], [0, 0])
        (True, False)
    """
    return bool(proto_weights(pf, order, y)[pf.top].sum() > 0.5)


def proto_candidates(pf: PrototypeFit, order, y) -> dict:
    """Every candidate estimate of the run's full mean from its revealed items:

    * ``plugin``: the revealed outcomes plus the prototypes' posterior mean on the unrevealed items (the
      likelihood tempered by ``PLUGIN_TEMPER / k`` beyond ``PLUGIN_TEMPER`` revealed items);
    * ``irt_corrected`` / ``irt``: :func:`cat_estimate` with and without the residual correction.

    Example:
        >>> pf = fit_prototypes(np.array([[1, 1, 0, 0.], [1, 0, 0, 0], [1, 1, 1, 0]]))
        >>> sorted(proto_candidates(pf, [0, 2], [1, 1]))
        ['average', 'irt', 'irt_corrected', 'plugin']
    """
    idx, yy = np.asarray(order, dtype=int), np.asarray(y, dtype=float)
    g = proto_weights(pf, idx, yy, min(1.0, PLUGIN_TEMPER / max(len(idx), 1))) @ pf.S
    mask = _unrevealed(pf.n_items, idx)
    out = {"plugin": float((yy.sum() + g[mask].sum()) / pf.n_items),
           "irt_corrected": cat_estimate(pf.irt, idx, yy), "irt": cat_estimate(pf.irt, idx, yy, correct=False)}
    out["average"] = float(np.mean(list(out.values())))
    return out


#: Pseudo-splits of :func:`_inner_targets` mimicking interpolation, and the share of their pseudo-eval models.
INNER_RANDOM, INNER_SHARE = 8, 0.1


def _inner_targets(means: np.ndarray, rng, n_random: int | None = None,
                   share: float | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pseudo-splits of the train models: the strongest 30% as targets of the weakest 60% (as the
    extrapolation split), and ``n_random`` random ``share`` shares of targets for the rest (as interpolation)."""
    n_random = INNER_RANDOM if n_random is None else n_random
    share = INNER_SHARE if share is None else share
    n = len(means)
    order = np.argsort(means, kind="stable")
    n_t = max(2, int(0.3 * n))
    ext = (order[: max(2, int(0.6 * n))], order[n - n_t:])
    n_i = max(2, int(share * n))
    perms = [rng.permutation(n) for _ in range(n_random)]
    return [ext] + [(np.sort(p[n_i:]), np.sort(p[:n_i])) for p in perms]


#: Score the within regime on the interpolation-like pseudo-splits only (see :func:`choose_estimates`).
WITHIN_FROM_RANDOM = True


def choose_estimates(source, budget: int, seed: int = 0) -> dict:
    """The candidate of :func:`proto_candidates` with the smallest mean absolute error, per regime (run flagged
    :func:`beyond` or not), on the protocol simulated inside the train models only: pseudo-eval models held
    out of the source as in the two splits (:func:`_inner_targets`), each asking ``budget`` items by
    :func:`proto_policy`. The within regime is scored on the interpolation-like pseudo-splits only
    (``WITHIN_FROM_RANDOM``: an unflagged pseudo-eval model of the extrapolation-like split is beyond its
    pseudo-source, which the real within regime rarely is); the beyond regime on every flagged one. A regime
    no pseudo-eval model fell into gets ``plugin`` (within) or ``irt_corrected`` (beyond).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> th = np.linspace(-2, 2, 30)
        >>> S = (rng.random((30, 80)) < 1 / (1 + np.exp(-(th[:, None] - rng.normal(size=80))))).astype(float)
        >>> sorted(choose_estimates(S, 10))
        [False, True]
    """
    src = np.asarray(source, dtype=float)
    errors: dict = {False: [], True: []}
    for split, (tr, val) in enumerate(_inner_targets(src.mean(1), np.random.default_rng(seed))):
        pf = fit_prototypes(src[tr])
        for row in src[val]:
            order, yy = simulate_proto(pf, row, budget)
            cands = proto_candidates(pf, order, yy)
            flag = beyond(pf, order, yy)
            if flag or split > 0 or not WITHIN_FROM_RANDOM:
                errors[flag].append([abs(cands[c] - row.mean()) for c in PROTO_CANDIDATES])
    default = {False: "plugin", True: "irt_corrected"}
    return {flag: PROTO_CANDIDATES[int(np.argmin(np.mean(e, axis=0)))] if e else default[flag]
            for flag, e in errors.items()}


def simulate_proto(pf: PrototypeFit, row, budget: int):
    """:func:`proto_policy` run on one row whose outcomes are all known: ``(order, y)``.

    Example:
        >>> pf = fit_prototypes(np.array([[1, 1, 1, 0.], [1, 0, 0, 0], [1, 1, 0, 0]]))
        >>> simulate_proto(pf, np.array([1, 1, 0, 0.]), 2)[0].shape
        (2,)
    """
    row = np.asarray(row, dtype=float)
    order: list[int] = []
    for _ in range(min(int(budget), len(row))):
        order.append(int(np.argmax(proto_policy(pf, order, row[order])[1])))
    return np.asarray(order, dtype=int), row[order]


def proto_estimate(pf: PrototypeFit, order, y, choice: dict) -> float:
    """Prototype testing's estimate: the candidate ``choice`` names for the run's regime (:func:`beyond`).

    Example:
        >>> pf = fit_prototypes(np.array([[1, 1, 0, 0.], [1, 0, 0, 0], [1, 1, 1, 0]]))
        >>> 0 <= proto_estimate(pf, [0, 2], [1, 1], {False: "plugin", True: "average"}) <= 1
        True
    """
    cands = proto_candidates(pf, order, y)
    return float(np.clip(cands[choice[beyond(pf, order, y)]], 0.0, 1.0))


POLICIES["proto"] = proto_policy
