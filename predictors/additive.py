"""Additive: model effect + scenario effect, fitted by ridge least squares on the train runs' main scores.

``score(model, scenario) = mu + a_model + b_scenario``: the two-way
additive (main-effects ANOVA) model, the simplest model of a models x
scenarios score matrix and the usual "row + column" baseline of matrix
completion (the baseline predictor of collaborative filtering, Koren, Bell
& Volinsky 2009, "Matrix factorization techniques for recommender
systems"), here on the score matrix studied by benchmark-predictability
work (Ye et al. 2023, "How predictable are large language model
capabilities? A case study on BIG-bench"). The scenario is the
run name without model and data augmentation
(:func:`magnet.protocol.splits.scenario_of`); a model or scenario unseen in training
gets effect 0. A small ridge penalty keeps poorly observed effects near 0.
It ignores the revealed sample. Perturbation variants: the prediction plus
the train mean ``variant - unperturbed`` offset of the same scenario
configuration.

Run it::

    python -m predictors.additive --split kfold

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> from magnet.protocol.corpus import Corpus
    >>> from magnet.protocol.runner import run_protocol
    >>> corpus = Corpus.load(HelmOutputs.demo(preset="small"))
    >>> result = run_protocol(Additive(), corpus, split="kfold", num_eval_samples=5, progress=False)
    >>> p = result.predictions
    >>> p["run_spec.name"].nunique() == len(corpus.run_specs) and bool(p["stats.mean"].between(0, 1).all())
    True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from magnet.predictor import Predictor

from predictors._common import RUN, prepare, with_variants, write_predictions


def fit_additive(models, cells, values, ridge: float = 0.1):
    """Ridge fit of ``value = mu + a[model] + b[cell]``: returns ``(mu, a: dict, b: dict)``.

    Example:
        >>> mu, a, b = fit_additive(["m1", "m1", "m2", "m2"], ["s1", "s2", "s1", "s2"], [0.9, 0.5, 0.7, 0.3], ridge=0)
        >>> round(mu + a["m2"] + b["s2"], 6)
        0.3
    """
    values = np.asarray(values, dtype=float)
    ms, cs = sorted(set(models)), sorted(set(cells))
    if not len(values):
        return 0.5, {}, {}
    mi = {m: j for j, m in enumerate(ms)}
    ci = {c: j for j, c in enumerate(cs)}
    X = np.zeros((len(values), 1 + len(ms) + len(cs)))
    X[:, 0] = 1
    for r, (m, c) in enumerate(zip(models, cells)):
        X[r, 1 + mi[m]] = 1
        X[r, 1 + len(ms) + ci[c]] = 1
    P = np.eye(X.shape[1]) * max(ridge, 1e-8)
    P[0, 0] = 0
    coef = np.linalg.solve(X.T @ X + P, X.T @ values)
    return float(coef[0]), {m: float(coef[1 + j]) for m, j in mi.items()}, \
        {c: float(coef[1 + len(ms) + j]) for c, j in ci.items()}


class Additive(Predictor):
    """``mu + model effect + scenario effect`` fitted on train main scores (ridge ``ridge``)."""

    def __init__(self, ridge: float = 0.1, seed: int = 0):
        self.ridge = ridge
        self.seed = seed

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df,
                eval_run_specs_df, eval_scenario_states_df, train_per_instance_stats_df=None,
                eval_per_instance_stats_df=None):
        data = prepare(train_run_specs_df, train_scenario_states_df, train_stats_df, eval_run_specs_df,
                       eval_scenario_states_df, train_per_instance_stats_df, eval_per_instance_stats_df)
        tm = data.train[data.train["main"]]
        tm = tm[tm["is_main_name"] | tm["cell"].isin(set(data.main_targets()["cell"]))]
        mu, a, b = fit_additive(list(tm["model"]), list(tm["cell"]), tm["value"], self.ridge)
        t = data.main_targets()
        pred = [mu + a.get(m, 0.0) + b.get(c, 0.0) for m, c in zip(t["model"], t["cell"])]
        main = pd.DataFrame({RUN: t[RUN], "key": t["key"], "value": pred})
        alone = {run: "fallback: model effect 0 (the model has no train run)" for run, m in zip(t[RUN], t["model"])
                 if m not in a}
        return write_predictions(data, with_variants(data, main, use_revealed=False), run_notes=alone)


if __name__ == "__main__":
    from magnet.cli.predict import predictor_main

    raise SystemExit(predictor_main(Additive))
