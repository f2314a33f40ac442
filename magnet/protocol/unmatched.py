"""Predictions that match no target, each with the nearest target and what differs.

A prediction is scored only when its run, stat name, split and perturbation
match a target (:mod:`magnet.protocol.truth`). One that does not is reported,
never dropped silently: ``run r: predicted_exact_match (split 'valid'):
split 'valid', target split is 'test'``.

Example:
    >>> import pandas as pd
    >>> preds = pd.DataFrame({"run_spec.name": ["r", "r"], "stats.name.name": ["predicted_exact_match", "predicted_f1"],
    ...                       "stats.name.split": ["valid", "test"], "stats.name.perturbation.name": [None, None],
    ...                       "stats.name.perturbation.computed_on": [None, None], "stats.mean": [0.4, 0.2]})
    >>> targets = pd.DataFrame({"run_spec.name": ["r"], "stats.name.name": ["exact_match"], "stats.name.split": ["test"],
    ...                         "stats.name.perturbation.name": [None], "stats.name.perturbation.computed_on": [None],
    ...                         "target.key": ["exact_match"]})
    >>> for line in unmatched_predictions(preds, targets): print(line)
    run r: predicted_exact_match (split 'valid'): split 'valid', target split is 'test'
    run r: predicted_f1 (split 'test'): no target stat 'f1' for this run; its targets: exact_match
"""

from __future__ import annotations

import pandas as pd

from magnet.predictions import PREFIX

RUN = "run_spec.name"
PERT = "stats.name.perturbation.name"
ON = "stats.name.perturbation.computed_on"


def _norm(x):
    return None if x is None or (isinstance(x, float) and x != x) else x


def _describe(row) -> str:
    pert = _norm(row.get(PERT))
    where = f"split {_norm(row.get('stats.name.split'))!r}" + (f", {pert}/{_norm(row.get(ON))}" if pert else "")
    return f"{row['stats.name.name']} ({where})"


def _stat_keys(stats: pd.DataFrame | None) -> set:
    if stats is None or not len(stats):
        return set()
    cols = [stats[c] if c in stats else [None] * len(stats) for c in (RUN, "stats.name.name", "stats.name.split", PERT, ON)]
    return {tuple(_norm(v) for v in key) for key in zip(*cols)}


def unmatched_predictions(predictions: pd.DataFrame, targets: pd.DataFrame, stats: pd.DataFrame | None = None,
                          scored_elsewhere: bool = False) -> list[str]:
    """One line per prediction matching no target: the prediction and its nearest target's difference.

    Given the runs' ``stats``, a prediction naming a stat the run has (another
    split or perturbation) is either left out (``scored_elsewhere``: the caller
    scored it, as ``predictor(...)`` does) or reported as a declared-target
    miss that the run could score (what ``magnet benchmark`` ignores).

    Example:
        >>> preds = pd.DataFrame({"run_spec.name": ["r"], "stats.name.name": ["predicted_exact_match"],
        ...                       "stats.name.split": ["valid"], "stats.mean": [0.4]})
        >>> targets = pd.DataFrame({"run_spec.name": ["r"], "stats.name.name": ["exact_match"],
        ...                         "stats.name.split": ["test"], "target.key": ["exact_match"]})
        >>> stats = pd.DataFrame({"run_spec.name": ["r", "r"], "stats.name.name": ["exact_match"] * 2,
        ...                       "stats.name.split": ["test", "valid"]})
        >>> unmatched_predictions(preds, targets, stats)
        ["run r: predicted_exact_match (split 'valid'): split 'valid', target split is 'test' (the run has this stat: predictor(...) scores it, the benchmark keeps to its targets)"]
        >>> unmatched_predictions(preds, targets, stats, scored_elsewhere=True)
        []
    """
    if not len(predictions):
        return []
    by_run = {run: group for run, group in targets.groupby(RUN, sort=False)}
    existing = _stat_keys(stats)
    lines = []
    for _, row in predictions.iterrows():
        run, name = row[RUN], str(row["stats.name.name"]).removeprefix(PREFIX)
        split, pert, on = _norm(row.get("stats.name.split")), _norm(row.get(PERT)), _norm(row.get(ON))
        named = (run, name, split, pert, on) in existing
        if named and scored_elsewhere:
            continue
        before = len(lines)
        _explain(lines, row, run, name, split, pert, on, by_run.get(run))
        if named and len(lines) > before:
            lines[-1] += " (the run has this stat: predictor(...) scores it, the benchmark keeps to its targets)"
    return lines


def _explain(lines: list[str], row, run, name, split, pert, on, mine) -> None:
    """Append the line of a prediction that matches no target (nothing if it matches one)."""
    if mine is None:
        lines.append(f"run {run}: {_describe(row)}: the run has no target stats")
        return
    same_name = mine[mine["stats.name.name"] == name]
    if not len(same_name):
        names = ", ".join(sorted(mine["stats.name.name"].astype(str).unique())[:5])
        lines.append(f"run {run}: {_describe(row)}: no target stat {name!r} for this run; its targets: {names}")
        return
    splits = sorted({str(s) for s in same_name["stats.name.split"].map(_norm) if s is not None})
    if split not in splits:
        lines.append(f"run {run}: {_describe(row)}: split {split!r}, target split is "
                     f"{' or '.join(repr(s) for s in splits)}")
        return
    same = same_name[same_name["stats.name.split"] == split]
    variants = {(_norm(p), _norm(c)) for p, c in zip(same.get(PERT, [None] * len(same)), same.get(ON, [None] * len(same)))}
    if (pert, on) not in variants:
        shown = ", ".join(sorted(f"{p}/{c}" if p else "unperturbed" for p, c in variants)[:6])
        lines.append(f"run {run}: {_describe(row)}: perturbation {pert}/{on} is no target variant; "
                     f"variants: {shown}")
