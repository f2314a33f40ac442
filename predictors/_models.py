"""Numerical building blocks of the built-in predictors: weighted soft-impute and a joint logistic IRT model.

Both are plain numpy/scipy and deterministic (no random initialisation
that depends on anything but the given seed).

* :func:`soft_impute`: weighted matrix completion by iterative truncated,
  soft-thresholded SVD (Mazumder, Hastie & Tibshirani 2010, "Spectral
  regularization algorithms for learning large incomplete matrices"), with
  entry weights in [0, 1] so that noisy observations (a revealed-sample
  mean) count less than exact ones (EM-style imputation:
  ``X = W*Y + (1-W)*L``).
* :class:`JointIRT`: a multidimensional two-parameter logistic IRT model
  in the spirit of tinyBenchmarks (Polo et al. 2024) fitted jointly over
  every scenario: ``P(correct | model m, item i) = g_c + (1 - g_c) *
  sigmoid(u_m . v_c - d_i)``, with ``u_m`` the model's ability vector,
  ``v_c`` the loadings (and discrimination) of the item's scenario cell
  ``c``, ``d_i`` the item's difficulty and ``g_c`` the known guessing
  floor of a multiple-choice cell (1 / number of options, as in the 3PL
  model with a fixed lower asymptote). Gaussian priors (ridge penalties) on
  every parameter; ``d_i ~ N(mu_c, sigma_d^2)`` with a per-cell mean, so an
  item never seen by any model gets the cell's difficulty distribution.
  Fitted by L-BFGS on the penalised Bernoulli (quasi-)likelihood, which
  also accepts fractional outcomes such as set-F1 in [0, 1].

Example:
    >>> Y = np.array([[0.9, 0.5, np.nan], [0.8, np.nan, 0.3], [np.nan, 0.4, 0.2]])
    >>> L = soft_impute(Y, np.isfinite(Y).astype(float), rank=1, shrink=0.0)
    >>> bool(np.all(np.isfinite(L))) and L.shape == (3, 3)
    True
    >>> rng = np.random.default_rng(0)
    >>> m, i = np.meshgrid(np.arange(6), np.arange(30), indexing="ij")
    >>> ability, difficulty = np.linspace(-1, 1, 6), rng.normal(0, 1, 30)
    >>> y = (rng.uniform(size=m.shape) < 1 / (1 + np.exp(-(ability[m] - difficulty[i])))).astype(float)
    >>> irt = JointIRT(dim=1).fit(m.ravel(), np.zeros(m.size, int), i.ravel(), y.ravel(), n_models=6, n_cells=1,
    ...                           n_items=30, item_cell=np.zeros(30, int))
    >>> p = irt.prob(np.arange(6), np.zeros(6, int), np.zeros(6, int))
    >>> bool(p[-1] > p[0])
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

# --------------------------------------------------------------------------- soft-impute


def soft_impute(Y: np.ndarray, W: np.ndarray, rank: int = 2, shrink: float = 0.05, n_iter: int = 300,
                tol: float = 1e-7) -> np.ndarray:
    """Complete ``Y`` (NaN = missing) with a rank-``rank`` matrix plus column means.

    ``W`` holds entry weights in [0, 1] (0 for missing entries). Each
    iteration fills ``X = W*Y + (1-W)*L``, centres the columns, and keeps
    the top ``rank`` singular values, each reduced by ``shrink`` times the
    largest (soft-thresholding). Returns the completed matrix ``L``.
    """
    Y = np.asarray(Y, dtype=float)
    W = np.where(np.isfinite(Y), np.clip(np.asarray(W, dtype=float), 0.0, 1.0), 0.0)
    Y0 = np.where(np.isfinite(Y), Y, 0.0)
    wsum = W.sum(axis=0)
    col = np.where(wsum > 0, (W * Y0).sum(axis=0) / np.maximum(wsum, 1e-12), np.nan)
    glob = (W * Y0).sum() / max(W.sum(), 1e-12) if W.sum() > 0 else 0.5
    col = np.where(np.isfinite(col), col, glob)
    L = np.tile(col, (Y.shape[0], 1))
    if rank <= 0 or min(Y.shape) < 2:
        return L
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _soft_impute_loop(Y0, W, L, rank, shrink, n_iter, tol)


def _soft_impute_loop(Y0, W, L, rank, shrink, n_iter, tol):
    for _ in range(n_iter):
        X = W * Y0 + (1 - W) * L
        mu = X.mean(axis=0)
        U, s, Vt = np.linalg.svd(X - mu, full_matrices=False)
        r = min(rank, len(s))
        s_shr = np.maximum(s[:r] - shrink * (s[0] if len(s) else 0.0), 0.0)
        new = mu + (U[:, :r] * s_shr) @ Vt[:r]
        delta = np.sum((new - L) ** 2) / max(np.sum(L ** 2), 1e-12)
        L = new
        if delta < tol:
            break
    return L


# --------------------------------------------------------------------------- joint IRT


@dataclass
class JointIRT:
    """``P = g_c + (1 - g_c) sigmoid(u_m . v_c - d_i)``, fitted by penalised maximum likelihood (see module doc).

    Parameters: ``dim`` (ability dimensions), ridge penalties ``lam_u``,
    ``lam_v`` (on ``v_c`` around its prior mean, 1 in the first
    dimension), ``sigma_d`` (prior sd of item difficulty around its cell
    mean), ``lam_mu`` (on the cell means), ``seed`` (initialisation).
    """

    dim: int = 2
    lam_u: float = 1.0
    lam_v: float = 1.0
    sigma_d: float = 1.5
    lam_mu: float = 0.01
    max_iter: int = 500
    seed: int = 0

    def fit(self, m, c, i, y, *, n_models: int, n_cells: int, n_items: int, item_cell, guess=None,
            weight=None) -> "JointIRT":
        """Fit on responses ``y`` of model ``m`` to item ``i`` of cell ``c`` (parallel int arrays)."""
        m, c, i = (np.asarray(a, dtype=int) for a in (m, c, i))
        y = np.clip(np.asarray(y, dtype=float), 0.0, 1.0)
        w = np.ones_like(y) if weight is None else np.asarray(weight, dtype=float)
        g = np.zeros(n_cells) if guess is None else np.asarray(guess, dtype=float)
        item_cell = np.asarray(item_cell, dtype=int)
        D = self.dim
        self.n_models, self.n_cells, self.n_items = n_models, n_cells, n_items
        self.guess, self.item_cell = g, item_cell
        rng = np.random.default_rng(self.seed)
        v_prior = np.zeros((n_cells, D))
        v_prior[:, 0] = 1.0
        sizes = [n_models * D, n_cells * D, n_items, n_cells]
        cuts = np.cumsum(sizes)[:-1]

        def unpack(x):
            U, V, d, mu = np.split(x, cuts)
            return U.reshape(n_models, D), V.reshape(n_cells, D), d, mu

        # initial values: items' difficulty from their mean outcome
        x0 = np.concatenate([rng.normal(0, 0.01, n_models * D), v_prior.ravel() + rng.normal(0, 0.01, n_cells * D),
                             np.zeros(n_items), np.zeros(n_cells)])
        gi = g[c]
        inv_s2 = 1.0 / self.sigma_d ** 2

        def objective(x):
            U, V, d, mu = unpack(x)
            eta = np.sum(U[m] * V[c], axis=1) - d[i]
            s = expit(eta)
            p = np.clip(gi + (1 - gi) * s, 1e-9, 1 - 1e-9)
            nll = -np.sum(w * (y * np.log(p) + (1 - y) * np.log(1 - p)))
            # d nll / d eta
            dp = (1 - gi) * s * (1 - s)
            r = w * (p - y) / (p * (1 - p)) * dp
            Vc, Um = V[c], U[m]
            gU = np.stack([np.bincount(m, weights=r * Vc[:, j], minlength=n_models)
                           for j in range(D)], axis=1).astype(float)
            gV = np.stack([np.bincount(c, weights=r * Um[:, j], minlength=n_cells)
                           for j in range(D)], axis=1).astype(float)
            gd = -np.bincount(i, weights=r, minlength=n_items).astype(float)
            dd = d - mu[item_cell]
            pen = (self.lam_u * np.sum(U ** 2) + self.lam_v * np.sum((V - v_prior) ** 2)
                   + 0.5 * inv_s2 * np.sum(dd ** 2) + self.lam_mu * np.sum(mu ** 2))
            gU += 2 * self.lam_u * U
            gV += 2 * self.lam_v * (V - v_prior)
            gd += inv_s2 * dd
            gmu = -inv_s2 * np.bincount(item_cell, weights=dd, minlength=n_cells) + 2 * self.lam_mu * mu
            grad = np.concatenate([gU.ravel(), gV.ravel(), gd, gmu])
            return nll + pen, grad

        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):  # tiny BLAS calls: threads cost more than they save
            res = minimize(objective, x0, jac=True, method="L-BFGS-B", options={"maxiter": self.max_iter})
        self.U_, self.V_, self.d_, self.mu_ = unpack(res.x)
        self.converged_ = bool(res.success)
        return self

    def eta(self, m, c, i) -> np.ndarray:
        """The logit ``u_m . v_c - d_i`` of each (model, cell, item)."""
        m, c, i = (np.asarray(a, dtype=int) for a in (m, c, i))
        return np.einsum("nd,nd->n", self.U_[m], self.V_[c]) - self.d_[i]

    def prob(self, m, c, i) -> np.ndarray:
        """P(correct) of each (model, cell, item)."""
        c = np.asarray(c, dtype=int)
        g = self.guess[c]
        return g + (1 - g) * expit(self.eta(m, c, i))

    def prob_new_item(self, m, c) -> np.ndarray:
        """P(correct) of a not yet seen item of cell ``c``: averaged over ``d ~ N(mu_c, sigma_d^2)``."""
        m, c = np.asarray(m, dtype=int), np.asarray(c, dtype=int)
        nodes, weights = np.polynomial.hermite_e.hermegauss(9)
        weights = weights / weights.sum()
        base = np.einsum("nd,nd->n", self.U_[m], self.V_[c]) - self.mu_[c]
        s = expit(base[:, None] - self.sigma_d * nodes[None, :]) @ weights
        g = self.guess[c]
        return g + (1 - g) * s
