"""Fold inputs as score matrices: what the matrix predictors (``predictors/matrix.py``, ``predictors/peers.py``) see.

Per scenario configuration of the eval runs (``magnet.protocol.splits.scenario_of``) and its main
target stat (``magnet.target_names[0]`` on ``magnet.target_split``):

* ``source``: the train runs' per-instance values of that stat (unperturbed), runs x instances;
  instances a train run lacks are filled with the instance's mean over the other train runs, and
  instances no train run has are dropped;
* per eval run, its revealed instances (those among the source columns) and their values, from
  ``eval_per_instance_stats_df``;
* eval runs are grouped by identical revealed sets, so an estimator sees one coreset per group (one
  group per scenario with ``--reveal shared`` or ``predictor``).

Example:
    >>> import pandas as pd
    >>> P = "per_instance_stats."
    >>> pis = pd.DataFrame({"run_spec.name": ["s:model=a"] * 2 + ["s:model=b"] * 2,
    ...     P + "instance_id": ["i1", "i2"] * 2, P + "stats.name.name": ["em"] * 4,
    ...     P + "stats.name.split": ["test"] * 4, P + "stats.mean": [1.0, 0.0, 1.0, 1.0]})
    >>> source_matrix(pis, "em", "test").values.tolist()
    [[1.0, 0.0], [1.0, 1.0]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from magnet.helm_objects import make_stat
from magnet.protocol.splits import TARGET_NAMES, TARGET_SPLIT, scenario_of

RUN = "run_spec.name"
P = "per_instance_stats."


def _main_rows(pis: pd.DataFrame, stat: str, split: str) -> pd.DataFrame:
    keep = (pis[P + "stats.name.name"] == stat) & (pis[P + "stats.name.split"] == split)
    if P + "perturbation.name" in pis:
        keep &= pis[P + "perturbation.name"].isna()
    return pis[keep]


def source_matrix(train_pis: pd.DataFrame, stat: str, split: str, runs=None) -> pd.DataFrame:
    """Train runs x instances of ``stat`` (mean-filled; see the module docstring)."""
    rows = _main_rows(train_pis, stat, split)
    if runs is not None:
        rows = rows[rows[RUN].isin(set(runs))]
    table = rows.pivot_table(index=RUN, columns=P + "instance_id", values=P + "stats.mean", aggfunc="mean",
                             sort=False)
    table = table.loc[:, table.notna().any(axis=0)]
    return table.fillna(table.mean(axis=0))


@dataclass
class Group:
    """Eval runs of one scenario that revealed the same instances."""

    runs: list[str]
    coreset: np.ndarray  # column indices into the source matrix
    scores: np.ndarray  # runs x coreset values


@dataclass
class ScenarioTask:
    """One scenario of a fold, as matrices."""

    scenario: str
    stat: str
    split: str
    source: pd.DataFrame
    groups: list[Group]


def scenario_tasks(train_run_specs_df, eval_run_specs_df, train_per_instance_stats_df,
                   eval_per_instance_stats_df) -> list[ScenarioTask]:
    """The fold's inputs per scenario (see the module docstring)."""
    tasks = []
    train_scen = pd.Series(scenario_of(train_run_specs_df).to_numpy(), index=train_run_specs_df[RUN].to_numpy())
    eval_scen = scenario_of(eval_run_specs_df)
    for scenario, specs in eval_run_specs_df.groupby(eval_scen.to_numpy(), sort=False):
        names = specs[TARGET_NAMES].iloc[0]
        stat, split = (names[0] if len(names) else "exact_match"), specs[TARGET_SPLIT].iloc[0] or "test"
        source = source_matrix(train_per_instance_stats_df, stat, split, train_scen.index[train_scen == scenario])
        col = {c: j for j, c in enumerate(source.columns)}
        revealed = _main_rows(eval_per_instance_stats_df, stat, split)
        revealed = revealed[revealed[P + "instance_id"].isin(col)]
        by_set: dict[tuple, list[tuple[str, np.ndarray]]] = {}
        for run in specs[RUN]:
            r = revealed[revealed[RUN] == run].groupby(P + "instance_id", sort=True)[P + "stats.mean"].mean()
            by_set.setdefault(tuple(r.index), []).append((run, r.to_numpy(dtype=float)))
        groups = [Group([run for run, _ in members], np.array([col[i] for i in ids], dtype=int),
                        np.array([v for _, v in members]).reshape(len(members), len(ids)))
                  for ids, members in by_set.items()]
        tasks.append(ScenarioTask(scenario, stat, split, source, groups))
    return tasks


def predict_tasks(tasks: list[ScenarioTask], estimate, rng, fallback: float = np.nan) -> dict[str, list]:
    """Run ``estimate(source, coreset, scores, rng)`` on every group; Stats per eval run.

    A group with no revealed instance (or a scenario without train runs) gets the source mean
    (or ``fallback`` when there is no source).
    """
    out = {}
    for task in tasks:
        src = task.source.to_numpy(dtype=float)
        for g in task.groups:
            if len(g.coreset) and len(src) >= 2:
                pred = np.asarray(estimate(src, g.coreset, g.scores, rng), dtype=float)
            else:
                pred = np.full(len(g.runs), src.mean() if src.size else fallback)
            for run, value in zip(g.runs, pred):
                out[run] = [make_stat(f"predicted_{task.stat}", float(np.clip(value, 0, 1)), split=task.split)]
    return out
