"""LowRank: matrix completion of the models x scenarios score matrix (weighted soft-impute).

Benchmark scores of many models on many scenarios form an approximately
low-rank matrix: a few latent "capabilities" explain most of the variation
(Ruan, Maddison & Hashimoto 2024, "Observational scaling laws and the
predictability of language model performance"; Polo et al. 2024's
tinyBenchmarks). The unobserved (model, scenario)
cells of the eval runs are filled by soft-impute (Mazumder, Hastie &
Tibshirani 2010) from similar models and scenarios:

* rows are models, columns are scenario *cells*: the scenario
  configuration (run name without model and data augmentation) and the
  stat (:func:`predictors._common.cell_of`), so a data-augmented run and its
  plain sibling share the cell of their unperturbed stat (they are scored
  on the same original instances);
* train runs' actual scores are exact entries (weight 1); an eval run's
  revealed-sample mean is a noisy entry with weight ``k / (k + k0)``;
* the completed cell estimates the run's success rate ``p``; the
  prediction keeps the ``k`` revealed outcomes exactly and uses ``p`` for
  the ``n - k`` unrevealed ones: ``(k * revealed_mean + (n - k) * p) / n``.

Perturbation variants: the unperturbed prediction plus an offset estimated
from train runs of the same configuration and the revealed instances.

Run it::

    python -m predictors.low_rank --split kfold

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> from magnet.protocol.corpus import Corpus
    >>> from magnet.protocol.runner import run_protocol
    >>> corpus = Corpus.load(HelmOutputs.demo(preset="small"))
    >>> result = run_protocol(LowRank(), corpus, split="kfold", num_eval_samples=5, progress=False)
    >>> p = result.predictions
    >>> p["run_spec.name"].nunique() == len(corpus.run_specs) and bool(p["stats.mean"].between(0, 1).all())
    True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from magnet.predictor import Predictor

from predictors._common import RUN, FoldData, exact_part, prepare, trust_revealed, with_variants, write_predictions
from predictors._models import soft_impute


def train_matrix_rows(data: FoldData) -> pd.DataFrame:
    """Train entries of the score matrix: ``model, cell, value`` (each run's main stat and the eval target cells)."""
    tm = data.train[data.train["main"]]
    tm = tm[tm["is_main_name"] | tm["cell"].isin(set(data.main_targets()["cell"]))]
    return tm.groupby(["model", "cell"], as_index=False)["value"].mean()


def eval_matrix_rows(data: FoldData) -> pd.DataFrame:
    """Revealed means of the eval main targets, pooled per (model, cell): ``model, cell, rm, k, runs``."""
    rm = data.revealed_main()
    rm = rm[rm["main"] & (rm["k"] > 0)].merge(data.main_targets()[[RUN, "key", "model", "cell"]], on=[RUN, "key"])
    rm = rm.assign(s=rm["rm"] * rm["k"])
    g = rm.groupby(["model", "cell"], as_index=False).agg(s=("s", "sum"), k=("k", "sum"), runs=(RUN, tuple))
    g["rm"] = g["s"] / g["k"]
    return g[["model", "cell", "rm", "k", "runs"]]


def complete_entries(exact: pd.DataFrame, noisy: pd.DataFrame, queries: list, k0: float, rank: int = 2,
                     shrink: float = 0.05) -> np.ndarray:
    """Soft-impute from exact entries (``model, cell, value``) and noisy ones (``model, cell, rm, k``).

    A noisy entry has weight ``k / (k + k0)``; it is ignored where an exact
    entry exists. Returns the completed value at each ``(model, cell)`` of
    ``queries`` (the exact value where there is one).
    """
    models = sorted(set(exact["model"]) | set(noisy["model"]) | {m for m, _ in queries})
    cells = sorted(set(exact["cell"]) | set(noisy["cell"]) | {c for _, c in queries})
    mi = {m: j for j, m in enumerate(models)}
    ci = {c: j for j, c in enumerate(cells)}
    Y = np.full((len(models), len(cells)), np.nan)
    W = np.zeros_like(Y)
    for m, c, v in zip(exact["model"], exact["cell"], exact["value"]):
        Y[mi[m], ci[c]], W[mi[m], ci[c]] = v, 1.0
    for m, c, v, k in zip(noisy["model"], noisy["cell"], noisy["rm"], noisy["k"]):
        if W[mi[m], ci[c]] < 1.0 and k > 0:
            Y[mi[m], ci[c]], W[mi[m], ci[c]] = v, k / (k + k0)
    L = soft_impute(Y, W, rank=rank, shrink=shrink)
    return np.array([Y[mi[m], ci[c]] if W[mi[m], ci[c]] == 1.0 else L[mi[m], ci[c]] for m, c in queries])


def complete(data: FoldData, k0: float | None = 10.0, rank: int = 2, shrink: float = 0.05) -> pd.DataFrame:
    """Soft-impute estimates of every eval main target's cell: ``run_spec.name, key, p``.

    ``k0``: prior strength of a revealed mean (None: revealed means are not used).
    """
    exact = train_matrix_rows(data)
    noisy = eval_matrix_rows(data) if k0 is not None else pd.DataFrame(columns=["model", "cell", "rm", "k"])
    t = data.main_targets()
    p = complete_entries(exact, noisy, list(zip(t["model"], t["cell"])), k0 if k0 is not None else 1.0, rank, shrink)
    return pd.DataFrame({RUN: t[RUN].to_numpy(), "key": t["key"].to_numpy(), "p": np.clip(p, 0.0, 1.0)})


class LowRank(Predictor):
    """Soft-impute over models x scenario cells (train scores exact, revealed means weighted ``k/(k+k0)``)."""

    def __init__(self, rank: int = 2, shrink: float = 0.05, k0: float = 10.0, seed: int = 0):
        self.rank = rank
        self.shrink = shrink
        self.k0 = k0
        self.seed = seed

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df,
                eval_run_specs_df, eval_scenario_states_df, train_per_instance_stats_df=None,
                eval_per_instance_stats_df=None):
        data = prepare(train_run_specs_df, train_scenario_states_df, train_stats_df, eval_run_specs_df,
                       eval_scenario_states_df, train_per_instance_stats_df, eval_per_instance_stats_df)
        p = complete(data, k0=self.k0, rank=self.rank, shrink=self.shrink)
        return write_predictions(data, with_variants(data, trust_revealed(data, exact_part(data, p))))


if __name__ == "__main__":
    from magnet.cli.predict import predictor_main

    raise SystemExit(predictor_main(LowRank))
