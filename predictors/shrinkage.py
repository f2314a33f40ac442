"""Shrinkage: empirical-Bayes blend of the revealed-sample mean with a low-rank prior, weighted by sample size.

Idea: the beta-binomial / James-Stein compromise (Efron & Morris 1975,
"Data analysis using Stein's estimator and its generalizations"; the
empirical-Bayes "shrinkage toward a model prediction" used for small-sample
benchmark estimates, e.g. the p-IRT blend of tinyBenchmarks, Polo et al.
2024). A run's success rate ``p`` has a prior centred on ``p0``, the
:mod:`predictors.low_rank` completion of its (model, scenario) cell computed
*without* the run's own revealed outcomes; with ``k`` observed outcomes of
mean ``m`` the posterior mean is

``p_hat = (k * m + k0 * p0) / (k + k0)``,

i.e. the revealed mean gets weight ``k / (k + k0)``. ``k0`` (the prior's
worth in instances, ``p(1-p) / tau^2`` for a prior of variance ``tau^2``)
is **estimated from the train runs**: reveal ``k`` instances of each train
run at random, compute its prior the same way (its cell left out; in a
fold whose eval models have no train runs, its model's other train runs
seen only through revealed samples too), and take the ``k0`` of a grid that
minimises the squared error on their unrevealed means.

The actual stat covers all ``n`` instances, ``k`` of them revealed, so the
prediction is ``(sum of revealed outcomes + sum of outcomes already known
for this model, e.g. from a sibling run + p_hat * the rest) / n``.

Perturbation variants: the unperturbed prediction plus an offset estimated
from train runs of the same configuration and the revealed instances.

Run it::

    python -m predictors.shrinkage --split kfold

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> from magnet.protocol.corpus import Corpus
    >>> from magnet.protocol.runner import run_protocol
    >>> corpus = Corpus.load(HelmOutputs.demo(preset="small"))
    >>> result = run_protocol(Shrinkage(), corpus, split="kfold", num_eval_samples=5, progress=False)
    >>> p = result.predictions
    >>> p["run_spec.name"].nunique() == len(corpus.run_specs) and bool(p["stats.mean"].between(0, 1).all())
    True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from magnet.predictor import Predictor

from predictors._common import RUN, FoldData, prepare, trust_revealed, stable_seed, with_variants, write_predictions
from predictors._irt_data import full_run_estimate, item_data, run_items
from predictors.low_rank import complete_entries, eval_matrix_rows, train_matrix_rows

K0_GRID = (0.5, 1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 100, 300, 1000)


def _eval_priors(data: FoldData, exact, noisy, rank, shrink, k0_lr) -> pd.DataFrame:
    """Prior ``p0`` of each eval main target: its cell completed without the cell's own revealed outcomes."""
    t = data.main_targets()
    out = {}
    for (m, c), _ in t.groupby(["model", "cell"]):
        others = noisy[~((noisy["model"] == m) & (noisy["cell"] == c))]
        out[(m, c)] = float(complete_entries(exact, others, [(m, c)], k0_lr, rank, shrink)[0])
    return pd.DataFrame({RUN: t[RUN].to_numpy(), "key": t["key"].to_numpy(),
                         "p0": [out[(m, c)] for m, c in zip(t["model"], t["cell"])]})


def estimate_k0(data: FoldData, exact, noisy, k: int, rank: int, shrink: float, k0_lr: float, seed: int,
                draws: int = 2, grid=K0_GRID) -> tuple[float, pd.DataFrame]:
    """Choose ``k0`` on train runs with a simulated reveal of ``k`` instances (see the module docstring)."""
    ti = data.train_instances("main")
    main_name = data.train_specs.set_index(RUN)["main_name"]
    ti = ti[ti["key"] == ti[RUN].map(main_name)]
    eval_models = set(data.main_targets()["model"])
    lomo_like = np.mean([m in set(exact["model"]) for m in eval_models]) < 0.5 if eval_models else False
    # one run per (model, cell): siblings share their unperturbed instances
    first = ti.drop_duplicates(["model", "cell"])[[RUN, "model", "cell"]]
    ti = ti[ti[RUN].isin(set(first[RUN]))]
    rows = []
    for draw in range(draws):
        sims = {}
        for run, g in ti.groupby(RUN, sort=True):
            ids = sorted(g["instance_id"])
            kk = min(k, len(ids) - 1)
            if kk < 1:
                continue
            rng = np.random.default_rng(stable_seed("shrinkage-k0", seed, draw, run))
            chosen = set(rng.choice(len(ids), size=kk, replace=False).tolist())
            vals = g.set_index("instance_id").loc[ids, "value"].to_numpy(dtype=float)
            mask = np.array([j in chosen for j in range(len(ids))])
            sims[run] = (g["model"].iloc[0], g["cell"].iloc[0], vals[mask].mean(), kk, vals[~mask].mean())
        sim_noisy = pd.DataFrame([(m, c, r, kk) for m, c, r, kk, _ in sims.values()],
                                 columns=["model", "cell", "rm", "k"])
        for run, (m, c, rm, kk, u) in sims.items():
            if lomo_like:
                ex = exact[exact["model"] != m]
                extra = sim_noisy[(sim_noisy["model"] == m) & (sim_noisy["cell"] != c)]
                nz = pd.concat([noisy[["model", "cell", "rm", "k"]], extra], ignore_index=True)
            else:
                ex = exact[~((exact["model"] == m) & (exact["cell"] == c))]
                nz = noisy
            p0 = float(complete_entries(ex, nz, [(m, c)], k0_lr, rank, shrink)[0])
            rows.append((run, rm, kk, np.clip(p0, 0, 1), u))
    sim = pd.DataFrame(rows, columns=[RUN, "rm", "k", "p0", "u"])
    if len(sim) < 3:
        return 10.0, sim
    losses = [np.mean(((sim["k"] * sim["rm"] + k0 * sim["p0"]) / (sim["k"] + k0) - sim["u"]) ** 2) for k0 in grid]
    return float(grid[int(np.argmin(losses))]), sim


def shrinkage_estimates(data: FoldData, rank: int = 2, shrink: float = 0.05, k0_lowrank: float = 10.0,
                        k0: float | None = None, seed: int = 0) -> tuple[pd.DataFrame, float]:
    """Shrinkage predictions of every eval main target, and the ``k0`` used."""
    exact = train_matrix_rows(data)
    noisy = eval_matrix_rows(data)
    priors = _eval_priors(data, exact, noisy, rank, shrink, k0_lowrank)
    if k0 is None:
        ks = data.revealed_main()
        ks = ks.loc[ks["main"] & (ks["k"] > 0), "k"]
        k = int(np.median(ks)) if len(ks) else 1
        k0, _ = estimate_k0(data, exact, noisy, k, rank, shrink, k0_lowrank, seed)
    items = item_data(data)
    table = run_items(data, items)
    seen = table[table["status"].isin(["revealed", "known"])]
    ev = seen.groupby([RUN, "key"]).agg(ke=("value", "size"), me=("value", "mean")).reset_index()
    p = priors.merge(ev, on=[RUN, "key"], how="left")
    p["ke"] = p["ke"].fillna(0)
    p["p_hat"] = (p["ke"] * p["me"].fillna(0) + k0 * p["p0"]) / (p["ke"] + k0)
    tab = table.merge(p[[RUN, "key", "p_hat"]], on=[RUN, "key"], how="left")
    ph = tab["p_hat"].to_numpy(dtype=float)
    return full_run_estimate(tab, ph, ph), k0


class Shrinkage(Predictor):
    """Revealed mean shrunk toward a leave-own-out low-rank prior, ``k / (k + k0)`` with ``k0`` fitted on train runs."""

    def __init__(self, rank: int = 2, shrink: float = 0.05, k0_lowrank: float = 10.0, k0: float | None = None,
                 seed: int = 0):
        self.rank = rank
        self.shrink = shrink
        self.k0_lowrank = k0_lowrank
        self.k0 = k0
        self.seed = seed

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df,
                eval_run_specs_df, eval_scenario_states_df, train_per_instance_stats_df=None,
                eval_per_instance_stats_df=None):
        data = prepare(train_run_specs_df, train_scenario_states_df, train_stats_df, eval_run_specs_df,
                       eval_scenario_states_df, train_per_instance_stats_df, eval_per_instance_stats_df)
        if not len(item_data(data).responses):  # no per-instance value of any target: train-run means, no model fit
            return write_predictions(data, None)
        est, _ = shrinkage_estimates(data, self.rank, self.shrink, self.k0_lowrank, self.k0, self.seed)
        return write_predictions(data, with_variants(data, trust_revealed(data, est)))


if __name__ == "__main__":
    from magnet.cli.predict import predictor_main

    raise SystemExit(predictor_main(Shrinkage))
