"""Join predictions with the actual stats they predict (magnet holds the truth; predictors never see it).

A prediction ``predicted_X`` matches the actual stat ``X`` of the same run,
split and perturbation (name and ``computed_on``).

Example:
    >>> import pandas as pd
    >>> preds = pd.DataFrame({"run_spec.name": ["r"], "stats.name.name": ["predicted_exact_match"],
    ...                       "stats.name.split": ["test"], "stats.name.perturbation.name": [None],
    ...                       "stats.name.perturbation.computed_on": [None], "stats.mean": [0.4]})
    >>> targets = pd.DataFrame({"run_spec.name": ["r"], "stats.name.name": ["exact_match"], "stats.name.split": ["test"],
    ...                         "stats.name.perturbation.name": [None], "stats.name.perturbation.computed_on": [None],
    ...                         "stats.mean": [0.5], "target.key": ["exact_match"], "target.name": ["exact_match"]})
    >>> join_truth(preds, targets)[["run_spec.name", "target.key", "predicted", "actual"]].values.tolist()
    [['r', 'exact_match', 0.4, 0.5]]
"""

from __future__ import annotations

import pandas as pd

from magnet.predictions import NOTE, PREFIX

KEY = ["run_spec.name", "name", "stat_split", "pert", "computed_on"]


def _keyed(df: pd.DataFrame, strip_prefix: bool) -> pd.DataFrame:
    names = df["stats.name.name"].astype(str)
    if strip_prefix:
        names = names.str.slice(len(PREFIX))
    out = pd.DataFrame({
        "run_spec.name": df["run_spec.name"].to_numpy(), "name": names.to_numpy(),
        "stat_split": df.get("stats.name.split", pd.Series([None] * len(df))).to_numpy(),
        "pert": df.get("stats.name.perturbation.name", pd.Series([None] * len(df))).to_numpy(),
        "computed_on": df.get("stats.name.perturbation.computed_on", pd.Series([None] * len(df))).to_numpy(),
    })
    return out.fillna("∅")  # a value for "absent" that merges


def join_truth(predictions: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Predictions that match a target, with ``predicted`` and ``actual`` columns and the target's columns."""
    if not len(predictions):
        return pd.DataFrame(columns=["run_spec.name", "target.key", "target.name", "predicted", "actual"])
    left = _keyed(predictions, strip_prefix=True).assign(predicted=predictions["stats.mean"].to_numpy())
    extra = [c for c in predictions.columns if c in ("fold", "fold_label", "predictor", "split", NOTE)]
    for c in extra:
        left[c] = predictions[c].to_numpy()
    right = _keyed(targets, strip_prefix=False).assign(
        actual=targets["stats.mean"].to_numpy(), **{"target.key": targets["target.key"].to_numpy(),
                                                     "target.name": targets["target.name"].to_numpy()})
    right = right.drop_duplicates(KEY)
    merged = left.merge(right, on=KEY, how="inner")
    return merged.drop(columns=["name", "pert", "computed_on", "stat_split"])
