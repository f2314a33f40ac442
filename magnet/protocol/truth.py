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

import numpy as np
import pandas as pd

from magnet.predictions import NOTE, PREFIX
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
    extra = [c for c in predictions.columns if c in ("fold", "fold_label", "predictor", "split", NOTE)]
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


PERT_PREFIX = "stats.name.perturbation."


def _same(predicted, actual) -> bool:
    """A perturbation field the prediction gives agrees with the actual one (numbers compared with isclose)."""
    if isinstance(predicted, (int, float)) and not isinstance(predicted, bool) and \
            isinstance(actual, (int, float)) and not isinstance(actual, bool):
        return bool(np.isclose(float(predicted), float(actual)))
    return predicted == actual


def predicted_vs_actual(predicted: pd.DataFrame, actual: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """MAGNET's comparison table of predicted stats and the actual stats of the same runs; also how many matched nothing.

    ``predicted`` has the stats table's columns (as
    :meth:`magnet.predictions.RunPrediction.to_df` gives; a ``predicted_``
    prefix is dropped), ``actual`` is a stats table. A prediction matches the
    stat of the same run, split, name, perturbation name and ``computed_on``
    (absent matches absent); every other perturbation field the prediction
    gives (``prob``, ``robustness``, ``fairness``, ...) must agree too. The
    table has MAGNET's columns: ``run_spec``, ``split``, ``stat_name``,
    ``predicted_mean``, ``actual_mean`` and ``perturbation_<field>``.

    Example:
        >>> actual = pd.DataFrame({"run_spec.name": ["r", "r"], "stats.name.name": ["exact_match"] * 2,
        ...                        "stats.name.split": ["valid", "valid"],
        ...                        "stats.name.perturbation.name": [None, "misspellings"],
        ...                        "stats.name.perturbation.computed_on": [None, "perturbed"],
        ...                        "stats.name.perturbation.prob": [np.nan, 0.2], "stats.mean": [0.5, 0.3]})
        >>> predicted = actual.assign(**{"stats.mean": [0.4, 0.1]})
        >>> predicted.loc[2] = ["r", "exact_match", "valid", "misspellings", "perturbed", 0.5, 0.9]  # wrong prob
        >>> table, missed = predicted_vs_actual(predicted, actual)
        >>> table[["split", "predicted_mean", "actual_mean", "perturbation_name", "perturbation_prob"]].values.tolist()
        [['valid', 0.4, 0.5, None, nan], ['valid', 0.1, 0.3, 'misspellings', 0.2]]
        >>> missed
        1
    """
    key = ["run_spec.name", "name", "stat_split", "pert", "computed_on"]
    left = _keyed(predicted, strip_prefix=False)
    left["name"] = left["name"].str.removeprefix(PREFIX)
    left["predicted_mean"] = predicted["stats.mean"].to_numpy(dtype=float)
    left["_row"] = range(len(left))
    right = _keyed(actual, strip_prefix=False)
    right["actual_mean"] = actual["stats.mean"].to_numpy(dtype=float)
    extra = sorted({c for c in predicted.columns if c.startswith(PERT_PREFIX)} - {PERT_PREFIX + "name", PERT_PREFIX + "computed_on"})
    for c in extra:
        left["p:" + c] = predicted[c].to_numpy()
        right["a:" + c] = actual[c].to_numpy() if c in actual else None
    merged = left.merge(right, on=key, how="inner")
    keep = np.ones(len(merged), dtype=bool)
    for c in extra:
        given = merged["p:" + c].map(lambda v: not (v is None or (isinstance(v, float) and v != v)))
        agree = [_same(p, a) for p, a in zip(merged["p:" + c], merged["a:" + c])]
        keep &= ~given.to_numpy() | np.array(agree, dtype=bool)
    merged = merged[keep].drop_duplicates("_row")
    table = pd.DataFrame({
        "run_spec": merged["run_spec.name"].to_numpy(), "split": merged["stat_split"].replace("∅", None).to_numpy(),
        "stat_name": merged["name"].to_numpy(), "predicted_mean": merged["predicted_mean"].to_numpy(),
        "actual_mean": merged["actual_mean"].to_numpy(),
        "perturbation_name": merged["pert"].replace("∅", None).to_numpy(),
        "perturbation_computed_on": merged["computed_on"].replace("∅", None).to_numpy(),
    })
    for c in extra:
        table["perturbation_" + c.removeprefix(PERT_PREFIX)] = merged["a:" + c].to_numpy()
    return table.reset_index(drop=True), len(predicted) - len(merged)
