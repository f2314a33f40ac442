"""KNNRuns: predict from the train runs of the same scenario whose models behave most like the eval model.

Idea: neighbourhood-based collaborative filtering (Resnick et al. 1994,
"GroupLens"; Herlocker et al. 1999, "An algorithmic framework for
performing collaborative filtering"), with its mean-centring: runs are rows
of a (model x instance) outcome matrix, and an eval run is predicted from
its nearest train runs.
Candidates are the train runs of the same scenario cell (other models on
the same instances). The distance of a candidate combines

* a **revealed-sample feature**: how far its mean over the eval run's
  revealed instances is from the eval run's revealed mean (same
  instances, so item difficulty cancels out), and
* a **run-spec / model feature**: the root-mean-square difference of the
  two models' scores on the other scenario cells both have (train scores,
  or the eval model's revealed means where it has no train run).

The unrevealed instances are predicted by the distance-weighted mean of
the ``n_neighbors`` nearest candidates' outcomes on exactly those
instances, each shifted by ``centring`` times its offset from the eval run
on the revealed instances (Resnick's mean-centring), and the ``k``
revealed outcomes are kept:
``(k * revealed_mean + (n - k) * knn) / n``. Without a candidate (a
scenario absent from training) the revealed mean is used.

Perturbation variants: the unperturbed prediction plus an offset estimated
from train runs of the same configuration and the revealed instances.

Run it::

    python -m predictors.knn_runs --split kfold

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> from magnet.protocol.corpus import Corpus
    >>> from magnet.protocol.runner import run_protocol
    >>> corpus = Corpus.load(HelmOutputs.demo(preset="small"))
    >>> result = run_protocol(KNNRuns(), corpus, split="kfold", num_eval_samples=5, progress=False)
    >>> p = result.predictions
    >>> p["run_spec.name"].nunique() == len(corpus.run_specs) and bool(p["stats.mean"].between(0, 1).all())
    True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from magnet.predictor import Predictor

from predictors._common import RUN, FoldData, exact_part, prepare, trust_revealed, with_variants, write_predictions
from predictors.low_rank import eval_matrix_rows, train_matrix_rows


def _model_profiles(data: FoldData) -> dict:
    """model -> {cell: score}: train scores, completed by revealed means where a model has no train score."""
    prof: dict = {}
    for m, c, v in zip(*(train_matrix_rows(data)[col] for col in ("model", "cell", "value"))):
        prof.setdefault(m, {})[c] = float(v)
    for m, c, v in zip(*(eval_matrix_rows(data)[col] for col in ("model", "cell", "rm"))):
        prof.setdefault(m, {}).setdefault(c, float(v))
    return prof


def knn_estimates(data: FoldData, n_neighbors: int = 5, rev_scale: float = 0.15, model_scale: float = 0.1,
                  centring: float = 0.5, seed: int = 0) -> pd.DataFrame:
    """KNN predictions of the unrevealed mean of every eval main target: ``run_spec.name, key, p``."""
    ti = data.train_instances("main")
    t = data.main_targets()
    ti = ti[ti["cell"].isin(set(t["cell"]))]
    by_cell = {c: g.pivot_table(index="model", columns="instance_id", values="value", aggfunc="mean")
               for c, g in ti.groupby("cell")}
    prof = _model_profiles(data)
    rev = data.revealed
    out = []
    for run, key, model, cell in zip(t[RUN], t["key"], t["model"], t["cell"]):
        r = rev[(rev[RUN] == run) & (rev["key"] == key)]
        rm = float(r["value"].mean()) if len(r) else np.nan
        M = by_cell.get(cell)
        if M is None:
            out.append((run, key, rm))
            continue
        M = M.drop(index=model, errors="ignore")
        if not len(M):
            out.append((run, key, rm))
            continue
        rids = [i for i in r["instance_id"] if i in M.columns]
        uids = [i for i in M.columns if i not in set(r["instance_id"])]
        if not uids:
            out.append((run, key, rm))
            continue
        d_rev = (np.abs(M[rids].mean(axis=1).to_numpy() - rm) if rids and np.isfinite(rm)
                 else np.zeros(len(M)))
        mine = prof.get(model, {})
        d_model = []
        for other in M.index:
            theirs = prof.get(other, {})
            common = [c for c in mine if c in theirs and c != cell]
            d_model.append(np.sqrt(np.mean([(mine[c] - theirs[c]) ** 2 for c in common])) if common else np.nan)
        d_model = np.array(d_model, dtype=float)
        d_model = np.where(np.isfinite(d_model), d_model, np.nanmean(d_model) if np.isfinite(d_model).any() else 0.0)
        d = np.sqrt((d_rev / rev_scale) ** 2 + (d_model / model_scale) ** 2)
        idx = np.argsort(d, kind="stable")[:n_neighbors]
        w = 1.0 / (d[idx] + 0.25) ** 2
        u = M[uids].to_numpy(dtype=float)[idx]
        u_mean = np.nanmean(u, axis=1)
        if rids and np.isfinite(rm):  # mean-centred neighbours (Resnick et al.): shift by the revealed offset
            u_mean = u_mean + centring * (rm - M[rids].mean(axis=1).to_numpy()[idx])
        ok = np.isfinite(u_mean)
        p = float(np.sum(w[ok] * u_mean[ok]) / np.sum(w[ok])) if ok.any() else rm
        out.append((run, key, p))
    return pd.DataFrame(out, columns=[RUN, "key", "p"])


class KNNRuns(Predictor):
    """Distance-weighted outcomes of the nearest same-scenario train runs (revealed agreement + model profile)."""

    def __init__(self, n_neighbors: int = 5, rev_scale: float = 0.15, model_scale: float = 0.1, centring: float = 0.5,
                 seed: int = 0):
        self.n_neighbors = n_neighbors
        self.centring = centring
        self.rev_scale = rev_scale
        self.model_scale = model_scale
        self.seed = seed

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df,
                eval_run_specs_df, eval_scenario_states_df, train_per_instance_stats_df=None,
                eval_per_instance_stats_df=None):
        data = prepare(train_run_specs_df, train_scenario_states_df, train_stats_df, eval_run_specs_df,
                       eval_scenario_states_df, train_per_instance_stats_df, eval_per_instance_stats_df)
        p = knn_estimates(data, self.n_neighbors, self.rev_scale, self.model_scale, self.centring, self.seed)
        return write_predictions(data, with_variants(data, trust_revealed(data, exact_part(data, p))))


if __name__ == "__main__":
    from magnet.cli.predict import predictor_main

    raise SystemExit(predictor_main(KNNRuns))
