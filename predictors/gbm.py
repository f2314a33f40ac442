"""GBM: gradient-boosted stacking of the other predictors and the revealed-sample features, fitted on train runs only.

Idea: stacked generalisation (Wolpert 1992; Breiman 1996) with gradient
boosting (Friedman 2001; scikit-learn's ``HistGradientBoostingRegressor``,
after LightGBM, Ke et al. 2017), the usual "learned combiner" of
performance-prediction studies. Features of a run:

* run-spec / scenario features: ``n``, ``k``, ``k/n``, whether the
  scenario is multiple choice (guessing floor);
* revealed-sample features: the revealed mean and the mean logprob of the
  revealed completions;
* the other built-in predictors' estimates of the run's success rate:
  :mod:`ModelMean <predictors.model_mean>`, :mod:`ScenarioMean
  <predictors.scenario_mean>`, :mod:`LowRank <predictors.low_rank>` and
  :mod:`IRT <predictors.irt>`.

Training rows come from the **train runs only**, by an inner
cross-validation that mimics the outer split: the train runs are cut into
inner folds (one per model when the eval models have no train runs, as in
leave-one-model-out; otherwise ``inner_folds`` random folds), each inner
eval run gets a simulated reveal of ``k`` instances drawn from its request
states, and the base predictors are run on the inner fold exactly as on a
real one. The booster learns the residual of the IRT estimate of the
unrevealed mean (stacking on top of the strongest base model, so with few
training rows it can only make small corrections), and the prediction
keeps the revealed outcomes exactly: ``(k * revealed_mean + (n - k) * p) / n``
(outcomes already known for the model count as known, as in IRT).

Perturbation variants: the unperturbed prediction plus an offset estimated
from train runs of the same configuration and the revealed instances.

Run it::

    python -m predictors.gbm --split kfold

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> from magnet.protocol.corpus import Corpus
    >>> from magnet.protocol.runner import run_protocol
    >>> corpus = Corpus.load(HelmOutputs.demo(preset="small"))
    >>> result = run_protocol(GBM(inner_folds=2), corpus, split="kfold", num_eval_samples=5, progress=False)
    >>> p = result.predictions
    >>> p["run_spec.name"].nunique() == len(corpus.run_specs) and bool(p["stats.mean"].between(0, 1).all())
    True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from magnet.predictor import Predictor
from magnet.protocol.splits import NUM_EVAL_INSTANCES, NUM_REVEALED, TARGET_NAMES, TARGET_SPLIT

from predictors._irt_data import item_data
from predictors._common import RUN, FoldData, prepare, trust_revealed, stable_seed, with_variants, write_predictions
from predictors._revealed import STATE, _is_missing
from predictors.irt import fit_irt, irt_estimates
from predictors.low_rank import complete

FEATURES = ("n", "k", "frac", "guess", "rm", "lp", "model_mean", "cell_mean", "lowrank", "irt", "known_frac",
            "rm_vs_irt", "lowrank_vs_irt", "model_mean_vs_irt", "cell_mean_vs_irt")


def base_features(data: FoldData, irt_kwargs: dict, seed: int = 0) -> pd.DataFrame:
    """One row per eval main target: the features above, plus ``irt_u`` (the IRT estimate of the unknown part)."""
    t = data.main_targets()
    rmt = data.revealed_main().set_index([RUN, "key"])
    tm = data.train_main
    model_mean = tm.groupby("model")["value"].mean()
    cell_mean = tm.groupby("cell")["value"].mean()
    lr = complete(data, k0=10.0, rank=2).set_index([RUN, "key"])["p"]
    model, items = fit_irt(data, seed=seed, **irt_kwargs)
    est, table = irt_estimates(data, model, items)
    unknown = table[table["status"].isin(["unknown", "new"])]
    w = unknown["count"].to_numpy(dtype=float)
    irt_u = (unknown.assign(pw=unknown["p"] * w, w=w).groupby([RUN, "key"])[["pw", "w"]].sum())
    irt_u = irt_u["pw"] / irt_u["w"].where(irt_u["w"] > 0)
    seen = table.assign(w=table["count"]).groupby([RUN, "key"]).apply(
        lambda g: g.loc[g["status"] == "known", "w"].sum() / max(g["n"].iloc[0], 1), include_groups=False)
    guess = dict(zip(items.cells, items.guess))
    rows = []
    for run, key, model_name, cell, n in zip(t[RUN], t["key"], t["model"], t["cell"], t["n"]):
        k = int(rmt["k"].get((run, key), 0))
        rows.append({RUN: run, "key": key, "n": n, "k": k, "frac": k / max(n, 1), "guess": guess.get(cell, 0.0),
                     "rm": rmt["rm"].get((run, key), np.nan), "lp": data.revealed_logprob.get(run, np.nan),
                     "model_mean": model_mean.get(model_name, np.nan), "cell_mean": cell_mean.get(cell, np.nan),
                     "lowrank": lr.get((run, key), np.nan), "irt": irt_u.get((run, key), np.nan),
                     "known_frac": float(seen.get((run, key), 0.0))})
    out = pd.DataFrame(rows)
    out["irt_u"] = out["irt"]
    for f in ("rm", "lowrank", "model_mean", "cell_mean"):
        out[f + "_vs_irt"] = out[f] - out["irt"]
    return out, table


def _eval_ids(states: pd.DataFrame, run: str, split: str) -> list:
    s = states[states[RUN] == run]
    pert = s.get(STATE + "instance.perturbation.name")
    if pert is not None:
        s = s[pert.map(_is_missing).astype(bool)]
    if STATE + "instance.split" in s:
        s = s[s[STATE + "instance.split"] == split]
    return list(dict.fromkeys(s[STATE + "instance.id"]))


def inner_rows(data: FoldData, k: int, inner_folds: int, irt_kwargs: dict, seed: int) -> pd.DataFrame:
    """Training rows for the booster: base features of train runs from an inner CV with simulated reveals."""
    raw = data.raw
    specs, states, stats = raw["train_run_specs_df"], raw["train_scenario_states_df"], raw["train_stats_df"]
    info = data.train_specs.dropna(subset=["main_name"])
    runs = list(info[RUN])
    eval_models = set(data.main_targets()["model"])
    lomo_like = bool(eval_models) and np.mean([m in set(info["model"]) for m in eval_models]) < 0.5
    if lomo_like:
        groups = {m: list(g[RUN]) for m, g in info.groupby("model")}
    else:
        order = np.random.default_rng(stable_seed("gbm-inner", seed)).permutation(len(runs))
        groups = {f: [runs[j] for j in sorted(order[f::inner_folds])] for f in range(inner_folds)}
    actual = data.train_main.set_index(RUN)["value"]
    rows = []
    for label, inner_eval in groups.items():
        inner_eval = [r for r in inner_eval if r in set(actual.index)]
        inner_train = [r for r in runs if r not in set(inner_eval)]
        if not inner_eval or len(inner_train) < 2:
            continue
        ev = specs[specs[RUN].isin(inner_eval)].copy()
        meta = info.set_index(RUN)
        ids = {r: _eval_ids(states, r, meta.loc[r, "main_split"]) for r in ev[RUN]}
        revealed = {}
        for r, lst in ids.items():
            kk = min(k, max(len(lst) - 1, 0))
            rng = np.random.default_rng(stable_seed("gbm-reveal", seed, r))
            revealed[r] = {lst[j] for j in rng.choice(len(lst), size=kk, replace=False)} if kk else set()
        ev[NUM_EVAL_INSTANCES] = ev[RUN].map(lambda r: len(ids[r]))
        ev[NUM_REVEALED] = ev[RUN].map(lambda r: len(revealed[r]))
        ev[TARGET_NAMES] = ev[RUN].map(lambda r: [meta.loc[r, "main_name"]])
        ev[TARGET_SPLIT] = ev[RUN].map(lambda r: meta.loc[r, "main_split"])
        est = states[states[RUN].isin(inner_eval)]
        keep = [i in revealed.get(r, ()) for r, i in zip(est[RUN], est[STATE + "instance.id"])]
        pis = raw.get("train_per_instance_stats_df")
        inner_pis = eval_pis = None
        if pis is not None and raw.get("eval_per_instance_stats_df") is not None:
            inner_pis = pis[pis[RUN].isin(inner_train)]
            iid = pis.get("per_instance_stats.instance_id")
            eval_pis = pis[[r in set(inner_eval) and i in revealed.get(r, ()) for r, i in zip(pis[RUN], iid)]]
        elif pis is not None:
            inner_pis = pis[pis[RUN].isin(inner_train)]
        inner = prepare(specs[specs[RUN].isin(inner_train)], states[states[RUN].isin(inner_train)],
                        stats[stats[RUN].isin(inner_train)], ev, est[keep], inner_pis, eval_pis)
        feats, table = base_features(inner, irt_kwargs, seed)
        # target: mean of the outcomes the predictor did not know (unrevealed and not known)
        feats["actual"] = feats[RUN].map(actual)
        unknown = table[table["status"].isin(["unknown", "new"])]
        known_sum = table[table["status"].isin(["revealed", "known"])].groupby([RUN, "key"]).apply(
            lambda g: (g["value"] * g["count"]).sum(), include_groups=False)
        n_unknown = unknown.groupby([RUN, "key"])["count"].sum()
        feats["u"] = [(a * n - known_sum.get((r, kk), 0.0)) / n_unknown.get((r, kk), np.nan)
                      for r, kk, a, n in zip(feats[RUN], feats["key"], feats["actual"], feats["n"])]
        rows.append(feats)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


class GBM(Predictor):
    """HistGradientBoosting on revealed-sample features and the other predictors' estimates (stacked on IRT)."""

    def __init__(self, inner_folds: int = 5, max_iter: int = 50, learning_rate: float = 0.05, max_depth: int = 2,
                 min_samples_leaf: int = 20, l2_regularization: float = 1.0, seed: int = 0):
        self.inner_folds = inner_folds
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.seed = seed

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df,
                eval_run_specs_df, eval_scenario_states_df, train_per_instance_stats_df=None,
                eval_per_instance_stats_df=None):
        from sklearn.ensemble import HistGradientBoostingRegressor

        data = prepare(train_run_specs_df, train_scenario_states_df, train_stats_df, eval_run_specs_df,
                       eval_scenario_states_df, train_per_instance_stats_df, eval_per_instance_stats_df)
        if not len(item_data(data).responses):  # no per-instance value of any target: train-run means, no model fit
            return write_predictions(data, None)
        irt_kwargs = {"dim": 2, "lam_u": 0.3, "lam_v": 0.3}
        feats, table = base_features(data, irt_kwargs, self.seed)
        ks = feats.loc[feats["k"] > 0, "k"]
        k = int(np.median(ks)) if len(ks) else 1
        train = inner_rows(data, k, self.inner_folds, irt_kwargs, self.seed)
        p_u = feats["irt_u"].to_numpy(dtype=float)
        if len(train):
            train = train[np.isfinite(train["u"]) & np.isfinite(train["irt_u"])]
        cols = [f for f in FEATURES if len(train) and train[f].dropna().nunique() > 1]
        if len(train) >= 10 and cols:
            model = HistGradientBoostingRegressor(
                max_iter=self.max_iter, learning_rate=self.learning_rate, max_depth=self.max_depth,
                min_samples_leaf=self.min_samples_leaf, l2_regularization=self.l2_regularization,
                random_state=self.seed)
            model.fit(train[cols].to_numpy(dtype=float), (train["u"] - train["irt_u"]).to_numpy())
            p_u = p_u + model.predict(feats[cols].to_numpy(dtype=float))
        p_u = np.clip(np.where(np.isfinite(p_u), p_u, feats["rm"].to_numpy(dtype=float)), 0.0, 1.0)
        pu = dict(zip(zip(feats[RUN], feats["key"]), p_u))
        status = table["status"].to_numpy()
        val = np.where(np.isin(status, ["revealed", "known"]), table["value"].to_numpy(dtype=float),
                       [pu.get((r, kk), np.nan) for r, kk in zip(table[RUN], table["key"])])
        s = pd.DataFrame({RUN: table[RUN], "key": table["key"], "n": table["n"],
                          "x": val * table["count"].to_numpy(dtype=float)})
        out = s.groupby([RUN, "key"], sort=False).agg(n=("n", "first"), x=("x", "sum")).reset_index()
        out["value"] = out["x"] / np.maximum(out["n"].astype(float), 1.0)
        return write_predictions(data, with_variants(data, trust_revealed(data, out[[RUN, "key", "value"]])))


if __name__ == "__main__":
    from magnet.cli.predict import predictor_main

    raise SystemExit(predictor_main(GBM))
