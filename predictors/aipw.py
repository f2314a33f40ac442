"""AIPW: a model-based estimate corrected by the revealed sample's residuals (augmented inverse-probability weighting).

Idea: the doubly robust / prediction-powered estimator of a mean from a
small labelled sample plus model predictions (Robins, Rotnitzky & Zhao
1994; Angelopoulos et al. 2023, "Prediction-powered inference"), proposed
for benchmark prediction by Zhang, Dorner & Hardt 2025 ("How benchmark
prediction from fewer data misses the mark", arXiv:2506.07673), where it
was the one method that beat the random-sample average consistently, also
when extrapolating to models unlike the train models (with modest gains). With the revealed instances a
uniform random sample (inclusion probability ``k/n``), the estimate of the
unrevealed mean is

``mean over unrevealed i of f_i  +  mean over revealed i of (y_i - f_i)``

where ``f_i`` is a model's P(correct) for instance ``i``: here the joint
IRT model of :mod:`predictors.irt`, *cross-fitted*: the eval runs are cut
into two groups (by model and scenario cell, so a run and its
data-augmented sibling stay together) and ``f`` for one group is fitted
on the train runs and the other group's revealed outcomes only, so the
residual correction is not computed on the data ``f`` was fitted to. If
``f`` is biased for this model (say an unusual model), the residual term
removes the bias; if ``f`` is good, the residuals are small.

The actual stat covers all ``n`` instances, ``k`` of them revealed:
prediction ``= (sum of revealed and already-known outcomes + sum over the
other instances of (f_i + mean residual)) / n``.

Perturbation variants: the unperturbed prediction plus an offset estimated
from train runs of the same configuration and the revealed instances.

Run it::

    python -m predictors.aipw --split kfold

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> from magnet.protocol.corpus import Corpus
    >>> from magnet.protocol.runner import run_protocol
    >>> corpus = Corpus.load(HelmOutputs.demo(preset="small"))
    >>> result = run_protocol(AIPW(), corpus, split="kfold", num_eval_samples=5, progress=False)
    >>> p = result.predictions
    >>> p["run_spec.name"].nunique() == len(corpus.run_specs) and bool(p["stats.mean"].between(0, 1).all())
    True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from magnet.predictor import Predictor

from predictors._common import RUN, FoldData, prepare, trust_revealed, stable_seed, with_variants, write_predictions
from predictors._irt_data import item_data, run_items
from predictors.irt import fit_irt


def aipw_estimates(data: FoldData, dim: int = 2, lam_u: float = 0.3, lam_v: float = 0.3, sigma_d: float = 1.5,
                   n_groups: int = 2, seed: int = 0) -> pd.DataFrame:
    """Cross-fitted AIPW predictions of every eval main target: ``run_spec.name, key, value``."""
    t = data.main_targets()
    group_of = {(m, c): stable_seed("aipw", seed, m, c) % n_groups for m, c in zip(t["model"], t["cell"])}
    run_group = {r: group_of[(m, c)] for r, m, c in zip(t[RUN], t["model"], t["cell"])}
    full_items = item_data(data)
    table = run_items(data, full_items)
    table["group"] = table[RUN].map(run_group)
    f = np.full(len(table), np.nan)
    for g in range(n_groups):
        members = {r for r, gg in run_group.items() if gg == g}
        if not members:
            continue
        model, items = fit_irt(data, dim, lam_u, lam_v, sigma_d, seed, exclude_revealed_runs=members)
        rows = table["group"].to_numpy() == g
        sub = table[rows]
        # map the full item coding onto this fit's coding
        mi = {m: j for j, m in enumerate(items.models)}
        ci = {c: j for j, c in enumerate(items.cells)}
        ii = {it: j for j, it in enumerate(items.items)}
        mm = np.array([mi.get(full_items.models[m], -1) for m in sub["m"]])
        cc = np.array([ci.get(full_items.cells[c], -1) for c in sub["c"]])
        iis = np.array([ii.get(full_items.items[i], -1) if i >= 0 else -1 for i in sub["i"]])
        ok_m = (mm >= 0) & (cc >= 0)
        p = np.full(len(sub), np.nan)
        has_item = ok_m & (iis >= 0)
        if has_item.any():
            p[has_item] = model.prob(mm[has_item], cc[has_item], iis[has_item])
        new = ok_m & ~has_item
        if new.any():
            p[new] = model.prob_new_item(mm[new], cc[new])
        f[rows] = p
    table["f"] = f
    seen = table["status"].isin(["revealed", "known"]).to_numpy()
    table["resid"] = np.where(seen, table["value"] - table["f"], np.nan)
    resid = table.groupby([RUN, "key"])["resid"].mean().fillna(0.0)
    table["r"] = [resid.get((r, k), 0.0) for r, k in zip(table[RUN], table["key"])]
    fallback = table.groupby([RUN, "key"])["value"].transform("mean")
    fu = np.where(np.isfinite(table["f"]), table["f"] + table["r"], fallback)
    contrib = np.where(seen, table["value"], np.clip(fu, 0.0, 1.0)) * table["count"].to_numpy(dtype=float)
    s = pd.DataFrame({RUN: table[RUN], "key": table["key"], "n": table["n"], "x": contrib})
    out = s.groupby([RUN, "key"], sort=False).agg(n=("n", "first"), x=("x", "sum")).reset_index()
    out["value"] = out["x"] / np.maximum(out["n"].astype(float), 1.0)
    return out[[RUN, "key", "value"]]


class AIPW(Predictor):
    """Cross-fitted IRT predictions of the unrevealed instances plus the mean revealed residual."""

    def __init__(self, dim: int = 2, lam_u: float = 0.3, lam_v: float = 0.3, sigma_d: float = 1.5, n_groups: int = 2,
                 seed: int = 0):
        self.dim = dim
        self.lam_u = lam_u
        self.lam_v = lam_v
        self.sigma_d = sigma_d
        self.n_groups = n_groups
        self.seed = seed

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df,
                eval_run_specs_df, eval_scenario_states_df, train_per_instance_stats_df=None,
                eval_per_instance_stats_df=None):
        data = prepare(train_run_specs_df, train_scenario_states_df, train_stats_df, eval_run_specs_df,
                       eval_scenario_states_df, train_per_instance_stats_df, eval_per_instance_stats_df)
        if not len(item_data(data).responses):  # no per-instance value of any target: train-run means, no model fit
            return write_predictions(data, None)
        est = aipw_estimates(data, self.dim, self.lam_u, self.lam_v, self.sigma_d, self.n_groups, self.seed)
        return write_predictions(data, with_variants(data, trust_revealed(data, est)))


if __name__ == "__main__":
    from magnet.cli.predict import predictor_main

    raise SystemExit(predictor_main(AIPW))
