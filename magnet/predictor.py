"""The ``Predictor`` contract, and conversion of what a predictor returns into a tidy table.

Example:
    >>> import pandas as pd
    >>> from magnet.helm_objects import make_stat
    >>> class Half(Predictor):
    ...     '''Predicts 0.5 for the exact_match of every eval run.'''
    ...     def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df,
    ...                 eval_run_specs_df, eval_scenario_states_df):
    ...         return {name: [make_stat("predicted_exact_match", 0.5)]
    ...                 for name in eval_run_specs_df["run_spec.name"]}
    >>> eval_specs = pd.DataFrame({"run_spec.name": ["r1", "r2"]})
    >>> out = Half().predict(None, None, None, eval_specs, None)
    >>> predictions_to_frame(out)[["run_spec.name", "stats.name.name", "stats.mean"]].values.tolist()
    [['r1', 'predicted_exact_match', 0.5], ['r2', 'predicted_exact_match', 0.5]]
"""

from __future__ import annotations

import abc
import importlib
import inspect
from typing import Any

import numpy as np
import pandas as pd

from magnet.helm_objects import stat_to_json

PREFIX = "predicted_"

#: Columns of the tidy predictions table (``stats.*`` as in the stats table).
PREDICTION_COLUMNS = [
    "run_spec.name", "stats.name.name", "stats.name.split", "stats.name.sub_split",
    "stats.name.perturbation.name", "stats.name.perturbation.computed_on", "stats.mean",
]


class Predictor(abc.ABC):
    """Base class of predictors of HELM stats. Subclass it and implement :meth:`predict`.

    The contract (checked by :func:`magnet.testing.check_predictor`):

    * ``predict`` receives five DataFrames (columns as in
      :mod:`magnet.backends.helm.tables`): the **train** runs in full (their
      run_specs, every request state, every stat) and, for the **eval** runs,
      only their run_specs and the request states of a small *revealed*
      sample of instances. ``eval_run_specs_df`` also has
      ``magnet.num_eval_instances`` (how many eval instances the run has in
      its target split: known before any model runs) and
      ``magnet.num_revealed_instances``, and which stats to predict:
      ``magnet.target_names`` (a list) on split ``magnet.target_split``.
      The actual stat is computed over all eval instances, the revealed ones
      included.
    * It returns, for every eval ``run_spec.name``, HELM ``Stat`` objects
      named ``predicted_<stat name>`` (e.g. ``predicted_exact_match``) with
      the same split and perturbation as the stat they predict (build them
      with :func:`magnet.helm_objects.make_stat`); or a tidy DataFrame with
      one row per prediction and the columns ``run_spec.name``,
      ``stats.name.name``, ``stats.mean`` (and optionally
      ``stats.name.split``, ``stats.name.perturbation.name``,
      ``stats.name.perturbation.computed_on``).
    * It must not modify its inputs, read anything else (files, global
      caches of eval data), or depend on anything but its inputs and
      ``self.seed``.
    * Parameters go in ``__init__`` (no work there); the same seed gives the
      same predictions.
    * A predictor that also wants the train runs' per-instance stats
      declares an extra keyword parameter ``train_per_instance_stats_df``;
      one that wants the per-instance stats of the eval runs' *revealed*
      instances (every stat of them) declares ``eval_per_instance_stats_df``.

    Example:
        >>> from magnet.helm_objects import make_stat
        >>> class Constant(Predictor):
        ...     def __init__(self, value=0.5, seed=0):
        ...         self.value, self.seed = value, seed
        ...     def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df,
        ...                 eval_run_specs_df, eval_scenario_states_df):
        ...         return {n: [make_stat("predicted_exact_match", self.value)]
        ...                 for n in eval_run_specs_df["run_spec.name"]}
        >>> Constant(0.7).name
        'Constant'
    """

    seed: int = 0

    @abc.abstractmethod
    def predict(
        self,
        train_run_specs_df: pd.DataFrame,
        train_scenario_states_df: pd.DataFrame,
        train_stats_df: pd.DataFrame,
        eval_run_specs_df: pd.DataFrame,
        eval_scenario_states_df: pd.DataFrame,
    ) -> "dict[str, list] | pd.DataFrame":
        """Predict stats of the eval runs; see the class docstring for the contract."""

    @property
    def name(self) -> str:
        """A display name: the class name."""
        return type(self).__name__

    def wants_per_instance_stats(self) -> bool:
        """True when ``predict`` accepts ``train_per_instance_stats_df``."""
        return "train_per_instance_stats_df" in inspect.signature(self.predict).parameters

    def wants_eval_per_instance_stats(self) -> bool:
        """True when ``predict`` accepts ``eval_per_instance_stats_df`` (per-instance stats of revealed instances)."""
        return "eval_per_instance_stats_df" in inspect.signature(self.predict).parameters


def _stat_rows(run: str, stats: list) -> list[dict[str, Any]]:
    rows = []
    for stat in stats:
        d = stat if isinstance(stat, dict) else stat_to_json(stat)
        name = d.get("name") or {}
        pert = name.get("perturbation") or {}
        rows.append({
            "run_spec.name": run, "stats.name.name": name.get("name"), "stats.name.split": name.get("split"),
            "stats.name.sub_split": name.get("sub_split"), "stats.name.perturbation.name": pert.get("name"),
            "stats.name.perturbation.computed_on": pert.get("computed_on"), "stats.mean": d.get("mean"),
        })
    return rows


def predictions_to_frame(result: "dict[str, list] | pd.DataFrame") -> pd.DataFrame:
    """Turn a predictor's return value into the tidy predictions table.

    Raises ``TypeError`` / ``ValueError`` with a one-line reason when the
    value does not follow the contract.
    """
    if isinstance(result, pd.DataFrame):
        missing = {"run_spec.name", "stats.name.name", "stats.mean"} - set(result.columns)
        if missing:
            raise ValueError(f"returned DataFrame lacks columns {sorted(missing)}")
        df = result.copy()
        for col in PREDICTION_COLUMNS:
            if col not in df:
                df[col] = "test" if col == "stats.name.split" else None
    elif isinstance(result, dict):
        rows = []
        for run, stats in result.items():
            if not isinstance(stats, (list, tuple)):
                raise TypeError(f"predictions for run {run!r} should be a list of Stat, got {type(stats).__name__}")
            rows += _stat_rows(run, list(stats))
        df = pd.DataFrame(rows, columns=PREDICTION_COLUMNS)
    else:
        raise TypeError(f"predict() should return a dict of run name -> list[Stat] or a DataFrame, "
                        f"got {type(result).__name__}")
    df = df[PREDICTION_COLUMNS].copy()
    df["stats.mean"] = pd.to_numeric(df["stats.mean"], errors="coerce").astype(float)
    for col in PREDICTION_COLUMNS:
        if df[col].dtype == object:
            df[col] = df[col].where(df[col].notna(), None)
    return df.reset_index(drop=True)


def check_predictions(predictions: pd.DataFrame, eval_runs: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Split predictions into the valid ones and a list of problems (missing/unknown runs, bad names, NaN/inf).

    Example:
        >>> p = pd.DataFrame({"run_spec.name": ["a", "x"], "stats.name.name": ["predicted_em", "predicted_em"],
        ...                   "stats.mean": [np.inf, 0.2]})
        >>> valid, problems = check_predictions(predictions_to_frame(p), ["a", "b"])
        >>> len(valid), problems
        (0, ['non-finite values for 1 run(s): a', 'missing eval runs (1 of 2): b', 'unknown runs (not in this eval fold): x'])
    """
    problems = []
    eval_set = set(eval_runs)
    bad_value = ~np.isfinite(predictions["stats.mean"].to_numpy(dtype=float))
    if bad_value.any():
        runs = sorted(set(predictions.loc[bad_value, "run_spec.name"]))
        problems.append(f"non-finite values for {len(runs)} run(s): {', '.join(runs[:5])}")
    bad_name = ~predictions["stats.name.name"].astype(str).str.startswith(PREFIX)
    if bad_name.any():
        names = sorted(set(predictions.loc[bad_name, "stats.name.name"].astype(str)))
        problems.append(f"stat names must start with {PREFIX!r}: {', '.join(names[:5])}")
    known = predictions["run_spec.name"].isin(eval_set)
    valid = predictions[~bad_value & ~bad_name & known]
    missing = sorted(eval_set - set(valid["run_spec.name"]) - set(predictions.loc[bad_value, "run_spec.name"]))
    if missing:
        problems.append(f"missing eval runs ({len(missing)} of {len(eval_set)}): {', '.join(missing[:5])}")
    unknown = sorted(set(predictions.loc[~known, "run_spec.name"].astype(str)))
    if unknown:
        problems.append(f"unknown runs (not in this eval fold): {', '.join(unknown[:5])}")
    return valid.reset_index(drop=True), problems


def load_predictor(spec: str):
    """Instantiate ``module.path:ClassName`` (with default parameters).

    Example:
        >>> load_predictor("predictors.example_random_predictor:ExampleRandomPredictor").name
        'ExampleRandomPredictor'
    """
    module, _, cls = spec.partition(":")
    if not cls:
        raise ValueError(f"--predictor should be MODULE:CLASS, got {spec!r}")
    try:
        obj = getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"cannot load predictor {spec!r}: {e}") from None
    return obj() if isinstance(obj, type) else obj
