"""Join predictions with the actual stats they predict (magnet holds the truth; predictors never see it).

A prediction ``predicted_X`` matches the actual stat ``X`` of the same run,
split and perturbation (name and ``computed_on``). :func:`join_truth` joins
with the declared targets (what ``magnet benchmark`` scores);
:func:`join_named` joins the remaining predictions with any stat the run has
(MAGNET's example predictors name ``split="valid"`` and perturbed variants,
which ``predictor(...)`` scores too).

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

from magnet.predictions import PREFIX
from magnet.protocol.corpus import target_key

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
    extra = [c for c in predictions.columns if c in ("fold", "fold_label", "predictor", "split")]
    for c in extra:
        left[c] = predictions[c].to_numpy()
    right = _keyed(targets, strip_prefix=False).assign(
        actual=targets["stats.mean"].to_numpy(), **{"target.key": targets["target.key"].to_numpy(),
                                                     "target.name": targets["target.name"].to_numpy()})
    right = right.drop_duplicates(KEY)
    merged = left.merge(right, on=KEY, how="inner")
    return merged.drop(columns=["name", "pert", "computed_on", "stat_split"])


def join_named(predictions: pd.DataFrame, stats: pd.DataFrame, targets: pd.DataFrame | None = None) -> pd.DataFrame:
    """Predictions (matching no target) joined with the run's actual stat they name, whatever its split or perturbation.

    ``stats`` is the stats table of the runs. Predictions that match a target
    (given ``targets``) are left out: :func:`join_truth` scores those. The
    result has :func:`join_truth`'s columns; ``target.key`` names the stat
    with its split (``exact_match@misspellings/perturbed [valid]``) and
    ``stats.*`` holds the actual stat.

    Example:
        >>> stats = pd.DataFrame({"run_spec.name": ["r", "r"], "stats.name.name": ["exact_match"] * 2,
        ...                       "stats.name.split": ["test", "valid"], "stats.name.perturbation.name": [None, None],
        ...                       "stats.name.perturbation.computed_on": [None, None], "stats.mean": [0.5, 0.75],
        ...                       "stats.count": [8, 4]})
        >>> preds = pd.DataFrame({"run_spec.name": ["r", "r"], "stats.name.name": ["predicted_exact_match"] * 2,
        ...                       "stats.name.split": ["valid", "train"], "stats.name.perturbation.name": [None, None],
        ...                       "stats.name.perturbation.computed_on": [None, None], "stats.mean": [0.4, 0.1]})
        >>> join_named(preds, stats)[["target.key", "predicted", "actual", "stats.count"]].values.tolist()
        [['exact_match [valid]', 0.4, 0.75, 4]]
    """
    columns = ["run_spec.name", "target.key", "target.name", "predicted", "actual"]
    if not len(predictions) or not len(stats):
        return pd.DataFrame(columns=columns)
    left = _keyed(predictions, strip_prefix=True).assign(predicted=predictions["stats.mean"].to_numpy())
    for c in [c for c in predictions.columns if c in ("fold", "fold_label", "predictor", "split")]:
        left[c] = predictions[c].to_numpy()
    if targets is not None and len(targets):
        on_target = _keyed(targets, strip_prefix=False).drop_duplicates(KEY)
        left = left.merge(on_target.assign(_target=True), on=KEY, how="left")
        left = left[left["_target"].isna()].drop(columns="_target")
    stat_cols = [c for c in stats.columns if c.startswith("stats.") and c not in (
        "stats.name.name", "stats.name.split", "stats.name.perturbation.name", "stats.name.perturbation.computed_on")]
    right = _keyed(stats, strip_prefix=False)
    for c in stat_cols:
        right[c] = stats[c].to_numpy()
    right = right.drop_duplicates(KEY)
    merged = left.merge(right, on=KEY, how="inner")
    if not len(merged):
        return pd.DataFrame(columns=columns)
    merged["actual"] = merged["stats.mean"].astype(float)
    merged["target.name"] = merged["name"]
    merged["target.key"] = [
        f"{target_key(n, None if p == '∅' else p, on)} [{s}]"
        for n, p, on, s in zip(merged["name"], merged["pert"], merged["computed_on"], merged["stat_split"])]
    return merged.drop(columns=["name", "pert", "computed_on", "stat_split"]).reset_index(drop=True)
