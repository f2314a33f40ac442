"""What a predictor returns, coerced once into the tidy predictions table.

Every accepted form ends up in :func:`predictions_to_frame`:

* ``{run name: [Stat, ...]}`` where a stat is a HELM ``Stat`` (its name a
  ``MetricName`` or, as ``Stat(**json)`` builds it, a plain dict), a plain
  dict in HELM's JSON form, or a :class:`RunPrediction`;
* a list of :class:`RunPrediction` (MAGNET's run-level API);
* a tidy DataFrame (``run_spec.name``, ``stats.name.name``, ``stats.mean``, ...).

Anything else is a one-line ``TypeError`` naming the run. Per-instance
predictions (:class:`InstancePrediction`) are turned into run-level rows by
:mod:`magnet.protocol.predict_call`, which knows which instance each one is.

Example:
    >>> from helm.benchmark.metrics.statistic import Stat
    >>> seed_style = Stat(**{"name": {"name": "predicted_exact_match", "split": "test"}, "count": 1, "mean": 0.25})
    >>> run_style = RunPrediction(run_spec_name="r2", split="test", stat_name="exact_match", mean=0.5)
    >>> df = predictions_to_frame({"r1": [seed_style], "r2": [run_style]})
    >>> df[["run_spec.name", "stats.name.name", "stats.mean"]].values.tolist()
    [['r1', 'predicted_exact_match', 0.25], ['r2', 'predicted_exact_match', 0.5]]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from helm.benchmark.metrics.statistic import Stat

from magnet.helm_objects import stat_to_json

PREFIX = "predicted_"

#: Column of the tidy predictions table holding a prediction's note (present only when some prediction has one).
NOTE = "magnet.note"

#: A note starting with this marks an abstention: a stat with a NaN value the predictor declined to predict.
ABSTAINED = "abstained: "


def noted(stat, note: str):
    """``stat`` (a HELM ``Stat``) carrying ``note``: how the value was made (e.g. a fallback), shown in the
    leaderboard's row notes and in ``predictions.csv``. A ``Stat`` with a NaN value and a note starting with
    :data:`ABSTAINED` is an abstention (no prediction, with its reason), not an invalid value.

    Example:
        >>> from magnet.helm_objects import make_stat
        >>> df = predictions_to_frame({"r": [noted(make_stat("predicted_em", 0.4), "fallback: train mean"),
        ...                                  noted(make_stat("predicted_f1", float("nan")), ABSTAINED + "no train value")]})
        >>> df[NOTE].tolist()
        ['fallback: train mean', 'abstained: no train value']
        >>> valid, problems = check_predictions(df, ["r"])
        >>> len(valid), problems, abstentions(df)["stats.name.name"].tolist()
        (1, [], ['predicted_f1'])
    """
    stat.magnet_note = str(note)
    return stat


def abstentions(predictions: pd.DataFrame) -> pd.DataFrame:
    """The rows of a tidy predictions table that are abstentions (NaN value, note starting with :data:`ABSTAINED`)."""
    return predictions[_abstained(predictions)]


def _abstained(predictions: pd.DataFrame) -> np.ndarray:
    if NOTE not in predictions:
        return np.zeros(len(predictions), dtype=bool)
    nan = ~np.isfinite(predictions["stats.mean"].to_numpy(dtype=float))
    return nan & predictions[NOTE].astype(str).str.startswith(ABSTAINED).to_numpy()

#: Columns of the tidy predictions table (``stats.*`` as in the stats table).
PREDICTION_COLUMNS = [
    "run_spec.name", "stats.name.name", "stats.name.split", "stats.name.sub_split",
    "stats.name.perturbation.name", "stats.name.perturbation.computed_on", "stats.mean",
]


_RUN_PREDICTION_COLUMNS = [
    "run_spec.name", "stats.name.name", "stats.name.split", "stats.count", "stats.sum", "stats.sum_squared",
    "stats.min", "stats.max", "stats.mean", "stats.variance", "stats.stddev", "stats.name.perturbation.name",
    "stats.name.perturbation.robustness", "stats.name.perturbation.fairness", "stats.name.perturbation.computed_on",
]


@dataclass
class RunPrediction:
    """One predicted run-level stat, MAGNET's spelling (``stat_name`` without the ``predicted_`` prefix).

    ``perturbation_parameters`` holds the perturbation's ``name``,
    ``robustness``, ``fairness``, ``computed_on`` (and e.g. ``prob``);
    ``computed_on`` may also be given on its own.

    Example:
        >>> p = RunPrediction("r", "test", "exact_match", 0.4, perturbation_parameters={"name": "typos", "computed_on": "perturbed"})
        >>> p.to_json()["name"]
        {'name': 'predicted_exact_match', 'split': 'test', 'perturbation': {'name': 'typos', 'computed_on': 'perturbed'}}
    """

    run_spec_name: str
    split: str | None
    stat_name: str
    mean: float
    computed_on: str | None = None
    perturbation_parameters: dict | None = None
    count: int = 1
    sum: float | None = None
    sum_squared: float | None = None
    min: float | None = None
    max: float | None = None
    variance: float = 0.0
    stddev: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """HELM's JSON form of the predicted stat (name prefixed with ``predicted_``)."""
        name: dict[str, Any] = {"name": _prefixed(self.stat_name), "split": self.split}
        pert = {k: v for k, v in (self.perturbation_parameters or {}).items() if v is not None}
        if self.computed_on is not None:
            pert["computed_on"] = self.computed_on
        if pert.get("name") is not None:
            name["perturbation"] = pert
        return {"name": name, "count": self.count, "mean": self.mean}

    def perturbation(self) -> dict[str, Any]:
        """The perturbation fields (``name``, ``robustness``, ``fairness``, ``computed_on`` and any others, e.g. ``prob``)."""
        pert = {"name": None, "robustness": None, "fairness": None, "computed_on": None,
                **(self.perturbation_parameters or {})}
        if self.computed_on is not None:
            pert["computed_on"] = self.computed_on
        return pert

    @classmethod
    def to_df(cls, predictions: list["RunPrediction"]) -> pd.DataFrame:
        """MAGNET's table of run predictions: one row each, stat names without the prefix, every perturbation field kept.

        The columns are those of the stats table (``stats.name.name``,
        ``stats.name.split``, ``stats.mean``, ``stats.count``, ...), so the table
        lines up with the actual stats (see
        :meth:`magnet.predictor.RunPredictor.compare_predicted_to_actual`);
        ``stats.name.perturbation.<field>`` holds each perturbation field,
        ``prob`` included. (:func:`predictions_to_frame` gives the protocol's
        tidy table instead.)

        Example:
            >>> df = RunPrediction.to_df([
            ...     RunPrediction("r", "valid", "exact_match", 0.5),
            ...     RunPrediction("r", "valid", "exact_match", 0.25, perturbation_parameters={
            ...         "name": "misspellings", "robustness": True, "fairness": False, "computed_on": "perturbed",
            ...         "prob": 0.1})])
            >>> df[["stats.name.name", "stats.mean", "stats.name.perturbation.name",
            ...     "stats.name.perturbation.robustness", "stats.name.perturbation.prob"]].values.tolist()
            [['exact_match', 0.5, None, None, nan], ['exact_match', 0.25, 'misspellings', True, 0.1]]
        """
        rows = []
        for p in predictions:
            row = {"run_spec.name": p.run_spec_name, "stats.name.name": str(p.stat_name).removeprefix(PREFIX),
                   "stats.name.split": p.split, "stats.count": p.count, "stats.sum": p.sum,
                   "stats.sum_squared": p.sum_squared if p.sum_squared is not None or p.sum is None else p.sum ** 2,
                   "stats.min": p.min, "stats.max": p.max, "stats.mean": p.mean, "stats.variance": p.variance,
                   "stats.stddev": p.stddev}
            row.update({f"stats.name.perturbation.{k}": v for k, v in p.perturbation().items()})
            rows.append(row)
        return pd.DataFrame(rows) if rows else pd.DataFrame(columns=_RUN_PREDICTION_COLUMNS)


@dataclass
class InstancePrediction:
    """One predicted per-instance stat (MAGNET's spelling).

    ``instance_predict_id`` is the ``magnet.instance_predict_id`` of a row of
    the sequestered split's ``scenario_state``; ``stat_name`` has no prefix.
    ``mean`` is the predicted value (for a 0/1 stat: the probability of 1).
    """

    run_spec_name: str
    instance_predict_id: int
    stat_name: str
    mean: float
    count: int = 1
    sum: float | None = None
    sum_squared: float | None = None
    min: float | None = None
    max: float | None = None
    variance: float = 0.0
    stddev: float = 0.0
    extra: dict = field(default_factory=dict)

    @classmethod
    def to_df(cls, predictions: list["InstancePrediction"]) -> pd.DataFrame:
        """One row per prediction: run, ``magnet.instance_predict_id``, stat name, mean.

        Example:
            >>> InstancePrediction.to_df([InstancePrediction("r", 3, "exact_match", 1.0)]).values.tolist()
            [['r', 3, 'exact_match', 1.0]]
        """
        return pd.DataFrame(
            [(p.run_spec_name, p.instance_predict_id, p.stat_name, p.mean) for p in predictions],
            columns=["run_spec.name", "magnet.instance_predict_id", "per_instance_stats.stats.name.name",
                     "per_instance_stats.stats.mean"])


def _prefixed(name: str) -> str:
    return name if str(name).startswith(PREFIX) else PREFIX + str(name)


def stat_as_json(stat, run: str) -> dict[str, Any]:
    """HELM's JSON form of one predicted stat, whatever way it was built; ``TypeError`` naming ``run`` otherwise.

    Example:
        >>> stat_as_json({"name": {"name": "predicted_em"}, "mean": 1}, "r")["name"]
        {'name': 'predicted_em'}
        >>> stat_as_json(0.5, "r")
        Traceback (most recent call last):
        TypeError: predictions for run 'r': expected a HELM Stat, a dict or a RunPrediction, got float 0.5
    """
    if isinstance(stat, RunPrediction):
        return stat.to_json()
    if isinstance(stat, dict):
        d = stat
    elif hasattr(stat, "name") and hasattr(stat, "mean"):
        if isinstance(stat.name, dict):  # Stat(**json): HELM leaves the name a dict
            d = {"name": stat.name, "mean": stat.mean}
        else:
            try:
                d = stat_to_json(stat)
            except AttributeError as e:
                raise TypeError(f"predictions for run {run!r}: stat name {stat.name!r} is neither a "
                                f"MetricName nor a dict ({e})") from None
    else:
        raise TypeError(f"predictions for run {run!r}: expected a HELM Stat, a dict or a RunPrediction, "
                        f"got {type(stat).__name__} {str(stat)[:60]}")
    name = d.get("name")
    if isinstance(name, str):
        name = {"name": name}
    if hasattr(name, "name") and not isinstance(name, dict):  # a MetricName inside a dict
        name = stat_to_json(Stat(name))["name"]
    if not isinstance(name, dict) or "name" not in name:
        raise TypeError(f"predictions for run {run!r}: a stat lacks a name ({str(d)[:80]})")
    pert = name.get("perturbation")
    if pert is not None and not isinstance(pert, dict):
        pert = {k: getattr(pert, k, None) for k in ("name", "robustness", "fairness", "computed_on")}
        name = {**name, "perturbation": pert}
    return {**d, "name": name}


def _stat_rows(run: str, stats: list) -> list[dict[str, Any]]:
    rows = []
    for stat in stats:
        d = stat_as_json(stat, run)
        name = d.get("name") or {}
        pert = name.get("perturbation") or {}
        rows.append({
            "run_spec.name": run, "stats.name.name": name.get("name"), "stats.name.split": name.get("split"),
            "stats.name.sub_split": name.get("sub_split"), "stats.name.perturbation.name": pert.get("name"),
            "stats.name.perturbation.computed_on": pert.get("computed_on"), "stats.mean": d.get("mean"),
            NOTE: getattr(stat, "magnet_note", None) if not isinstance(stat, dict) else stat.get("note"),
        })
    return rows


def predictions_to_frame(result: "dict[str, list] | list | pd.DataFrame") -> pd.DataFrame:
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
        df = pd.DataFrame(rows, columns=PREDICTION_COLUMNS + [NOTE])
    elif isinstance(result, (list, tuple)) and all(isinstance(p, RunPrediction) for p in result):
        rows = [row for p in result for row in _stat_rows(p.run_spec_name, [p])]
        df = pd.DataFrame(rows, columns=PREDICTION_COLUMNS + [NOTE])
    elif isinstance(result, (list, tuple)):
        bad = next(p for p in result if not isinstance(p, RunPrediction))
        raise TypeError(f"predict() should return a dict of run name -> list[Stat] or a DataFrame, got list of "
                        f"{type(bad).__name__} (a list may hold only RunPrediction, or InstancePrediction from "
                        "predict(train_split, sequestered_test_split))")
    else:
        raise TypeError(f"predict() should return a dict of run name -> list[Stat] or a DataFrame, "
                        f"got {type(result).__name__} (or a list of RunPrediction)")
    notes = df[NOTE] if NOTE in df else None
    df = df[PREDICTION_COLUMNS].copy()
    if notes is not None and notes.notna().any():  # the note column only when some prediction has a note
        df[NOTE] = notes.to_numpy()
    df["stats.mean"] = pd.to_numeric(df["stats.mean"], errors="coerce").astype(float)
    for col in PREDICTION_COLUMNS + ([NOTE] if NOTE in df else []):
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
    abstained = _abstained(predictions)  # declined with a reason (see :func:`noted`): neither valid nor a problem
    bad_value = ~np.isfinite(predictions["stats.mean"].to_numpy(dtype=float)) & ~abstained
    if bad_value.any():
        runs = sorted(set(predictions.loc[bad_value, "run_spec.name"]))
        problems.append(f"non-finite values for {len(runs)} run(s): {', '.join(runs[:5])}")
    bad_name = ~predictions["stats.name.name"].astype(str).str.startswith(PREFIX)
    if bad_name.any():
        names = sorted(set(predictions.loc[bad_name, "stats.name.name"].astype(str)))
        problems.append(f"stat names must start with {PREFIX!r}: {', '.join(names[:5])}")
    known = predictions["run_spec.name"].isin(eval_set)
    valid = predictions[~bad_value & ~bad_name & known & ~abstained]
    missing = sorted(eval_set - set(valid["run_spec.name"]) - set(predictions.loc[bad_value, "run_spec.name"])
                     - set(predictions.loc[abstained, "run_spec.name"]))
    if missing:
        problems.append(f"missing eval runs ({len(missing)} of {len(eval_set)}): {', '.join(missing[:5])}")
    unknown = sorted(set(predictions.loc[~known, "run_spec.name"].astype(str)))
    if unknown:
        problems.append(f"unknown runs (not in this eval fold): {', '.join(unknown[:5])}")
    return valid.reset_index(drop=True), problems
