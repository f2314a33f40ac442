"""Calling a predictor of either API on one fold's inputs: the adapter, not a second information boundary.

Two ``predict`` signatures are recognised by their parameters:

* **frames** (magnet's): ``predict(train_run_specs_df, train_scenario_states_df,
  train_stats_df, eval_run_specs_df, eval_scenario_states_df[, train_per_instance_stats_df]
  [, eval_per_instance_stats_df])``;
* **splits** (MAGNET's): ``predict(train_split, sequestered_test_split)`` with
  :class:`~magnet.data_splits.TrainSplit` (the train frames, per-instance
  stats included, as MAGNET gives them) and
  :class:`~magnet.data_splits.SequesteredTestSplit` (eval run_specs and the
  revealed request states, each row numbered ``magnet.instance_predict_id``).

Both receive exactly the frames :func:`magnet.protocol.splits.fold_inputs`
built; this module only repackages them. What comes back is coerced by
:func:`magnet.predictions.predictions_to_frame`, except a list of
:class:`~magnet.predictions.InstancePrediction`: each is tied to its
(run, instance, perturbation) through its id, and the run-level prediction of
``stat`` on the run's target split is the mean of the run's unperturbed
instance predictions (:func:`instances_to_runs`).

Example:
    >>> class Frames:
    ...     def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df,
    ...                 eval_run_specs_df, eval_scenario_states_df): ...
    >>> class Splits:
    ...     def predict(self, train_split, sequestered_test_split): ...
    >>> predict_style(Frames()), predict_style(Splits())
    ('frames', 'splits')
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import pandas as pd

from magnet.data_splits import SequesteredTestSplit, TrainSplit
from magnet.predictions import PREFIX, InstancePrediction, predictions_to_frame
from magnet.protocol.corpus import RUN, STATE
from magnet.protocol.private_copy import raw_attribute
from magnet.protocol.splits import TARGET_SPLIT, PredictorInputs
PREDICT_ID = "magnet.instance_predict_id"
SPLIT_PARAMS = ("train_split", "sequestered_test_split")


def predict_style(predictor) -> str:
    """``"splits"`` for ``predict(train_split, sequestered_test_split)``, else ``"frames"``."""
    params = [p for p in inspect.signature(predictor.predict).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    names = tuple(p.name for p in params)
    if names[:2] == SPLIT_PARAMS or (len(names) == 2 and not names[0].endswith("_df")):
        return "splits"
    return "frames"


def wants_per_instance_stats(predictor) -> bool:
    """True when the predictor receives the train runs' per-instance stats (always for the splits API)."""
    if predict_style(predictor) == "splits":
        return True
    return "train_per_instance_stats_df" in inspect.signature(predictor.predict).parameters


def wants_eval_per_instance_stats(predictor) -> bool:
    """True when a frames-API ``predict`` declares ``eval_per_instance_stats_df`` (the revealed instances' stats)."""
    return predict_style(predictor) == "frames" and \
        "eval_per_instance_stats_df" in inspect.signature(predictor.predict).parameters


def as_splits(inputs: PredictorInputs) -> tuple[TrainSplit, SequesteredTestSplit]:
    """The fold's frames packaged as MAGNET's split objects (eval request states numbered by ``magnet.instance_predict_id``).

    Example:
        >>> import pandas as pd
        >>> empty = pd.DataFrame({RUN: []})
        >>> inputs = PredictorInputs(empty, empty, empty, pd.DataFrame({RUN: ["r"]}), pd.DataFrame({RUN: ["r", "r"]}))
        >>> train, seq = as_splits(inputs)
        >>> seq.scenario_state[PREDICT_ID].tolist(), seq.stats
        ([0, 1], None)
    """
    # the train frames pass on unread (a Deferred copy is made when the predictor first reads it)
    train = TrainSplit(run_specs=inputs.train_run_specs_df,
                       scenario_state=raw_attribute(inputs, "train_scenario_states_df"),
                       stats=raw_attribute(inputs, "train_stats_df"),
                       per_instance_stats=raw_attribute(inputs, "train_per_instance_stats_df"))
    states = inputs.eval_scenario_states_df.reset_index(drop=True)
    states.insert(0, PREDICT_ID, range(len(states)))
    return train, SequesteredTestSplit(run_specs=inputs.eval_run_specs_df, scenario_state=states)


@dataclass
class PredictOutput:
    """Run-level predictions (the tidy table) and, for instance predictors, the per-instance ones."""

    runs: pd.DataFrame
    instances: pd.DataFrame | None = None


def predict_args(predictor, inputs: PredictorInputs) -> tuple[tuple, dict]:
    """The ``(args, kwargs)`` of the predictor's ``predict`` for these inputs (splits or frames)."""
    if predict_style(predictor) == "splits":
        return as_splits(inputs), {}
    wants = wants_per_instance_stats(predictor) and raw_attribute(inputs, "train_per_instance_stats_df") is not None
    return (), inputs.as_kwargs(wants, wants_eval_per_instance_stats(predictor))


def coerce_output(raw, inputs: PredictorInputs, args: tuple = ()) -> PredictOutput:
    """What ``predict`` returned as run-level predictions (and instance predictions); raises on bad output."""
    if isinstance(raw, (list, tuple)) and raw and all(isinstance(p, InstancePrediction) for p in raw):
        if not args:
            raise TypeError("InstancePrediction needs predict(train_split, sequestered_test_split)")
        instances = locate_instances(InstancePrediction.to_df(raw), args[1].scenario_state)
        return PredictOutput(instances_to_runs(instances, inputs.eval_run_specs_df), instances)
    return PredictOutput(predictions_to_frame(raw))


def call_predict(predictor, inputs: PredictorInputs) -> PredictOutput:
    """Call ``predictor.predict`` with the inputs of its API and coerce what it returns (raises on bad output)."""
    args, kwargs = predict_args(predictor, inputs)
    return coerce_output(predictor.predict(*args, **kwargs), inputs, args)


def locate_instances(predicted: pd.DataFrame, states: pd.DataFrame) -> pd.DataFrame:
    """Instance predictions with their run, instance id, split and perturbation (from the numbered request states).

    Raises ``ValueError`` naming the first prediction whose id or run matches no request state.
    """
    cols = {STATE + "instance.id": "instance_id", STATE + "instance.split": "instance_split",
            STATE + "instance.perturbation.name": "perturbation", STATE + "train_trial_index": "train_trial_index"}
    keys = states[[PREDICT_ID, RUN] + [c for c in cols if c in states]].rename(columns=cols)
    merged = predicted.merge(keys, on=[PREDICT_ID, RUN], how="left", indicator=True)
    lost = merged[merged["_merge"] != "both"]
    if len(lost):
        row = lost.iloc[0]
        raise ValueError(f"InstancePrediction for run {row[RUN]!r} has instance_predict_id {row[PREDICT_ID]!r}, "
                         f"which is no row of that run in sequestered_test_split.scenario_state")
    for c in cols.values():
        if c not in merged:
            merged[c] = None
    return merged.drop(columns="_merge")


def instances_to_runs(instances: pd.DataFrame, eval_run_specs: pd.DataFrame) -> pd.DataFrame:
    """Run-level predictions: per run and stat, the mean of its unperturbed instance predictions on the target split.

    Example:
        >>> inst = pd.DataFrame({RUN: ["r", "r", "r"], "per_instance_stats.stats.name.name": ["exact_match"] * 3,
        ...                      "per_instance_stats.stats.mean": [1.0, 0.0, 0.0], "instance_id": ["a", "b", "a"],
        ...                      "instance_split": ["test"] * 3, "perturbation": [None, None, "typos"]})
        >>> specs = pd.DataFrame({RUN: ["r"], TARGET_SPLIT: ["test"]})
        >>> instances_to_runs(inst, specs)[[RUN, "stats.name.name", "stats.mean"]].values.tolist()
        [['r', 'predicted_exact_match', 0.5]]
    """
    split_of = dict(zip(eval_run_specs[RUN], eval_run_specs[TARGET_SPLIT])) if TARGET_SPLIT in eval_run_specs else {}
    plain = instances[instances["perturbation"].isna()]
    rows = []
    for (run, name), group in plain.groupby([RUN, "per_instance_stats.stats.name.name"], sort=True):
        split = split_of.get(run, "test")
        group = group[group["instance_split"].isna() | (group["instance_split"] == split)]
        if len(group):
            rows.append({RUN: run, "stats.name.name": PREFIX + str(name).removeprefix(PREFIX),
                         "stats.name.split": split,
                         "stats.mean": float(group["per_instance_stats.stats.mean"].astype(float).mean())})
    return predictions_to_frame(pd.DataFrame(rows, columns=[RUN, "stats.name.name", "stats.name.split", "stats.mean"]))
