"""Sanity checks of a protocol's set-up: options that make the result meaningless or surprising.

Each check returns messages; :func:`warn_all` emits them as
:class:`magnet.errors.MagnetWarning` (the command line prints one
``warning:`` line each). A corpus with nothing to predict at all is an error
(:class:`magnet.errors.UserError`), not a warning.

Example:
    >>> import pandas as pd
    >>> from magnet.protocol.splits import Fold
    >>> reveal_warnings({"r1": ["a", "b"], "r2": ["a"]}, {"r1": ["a", "b"], "r2": ["a", "b", "c", "d"]})
    ['the revealed sample covers every eval instance of 1 of 2 runs (e.g. r1: 2 of 2): nothing is left to predict there; lower --num-eval-samples']
    >>> fold_warnings([Fold("leave-one-model-out", 0, "m1", (), ("r1", "r2"))])
    ['1 of 1 folds have no train runs (m1): their predictors see no outputs to learn from']
"""

from __future__ import annotations

import warnings

import pandas as pd

from magnet.errors import MagnetWarning, UserError, user_stacklevel
from magnet.protocol.corpus import RUN


def reveal_warnings(revealed: dict[str, list[str]], eval_instances: dict[str, list[str]],
                    nearly: float = 0.9) -> list[str]:
    """Runs whose revealed sample covers all (or >= ``nearly`` of) their eval instances."""
    full, most = [], []
    for run, ids in eval_instances.items():
        n, k = len(ids), len(revealed.get(run, []))
        if n and k >= n:
            full.append((run, k, n))
        elif n and k >= nearly * n:
            most.append((run, k, n))
    out = []
    if full:
        run, k, n = full[0]
        out.append(f"the revealed sample covers every eval instance of {len(full)} of {len(eval_instances)} runs "
                   f"(e.g. {run}: {k} of {n}): nothing is left to predict there; lower --num-eval-samples")
    if most:
        run, k, n = most[0]
        out.append(f"the revealed sample covers >= {nearly:.0%} of the eval instances of {len(most)} of "
                   f"{len(eval_instances)} runs (e.g. {run}: {k} of {n}): little is left to predict there")
    return out


def fold_warnings(folds) -> list[str]:
    """Folds that leave a predictor no train runs."""
    empty = [f.label for f in folds if not f.train_runs]
    if not empty:
        return []
    return [f"{len(empty)} of {len(folds)} folds have no train runs ({', '.join(empty[:3])}"
            f"{', ...' if len(empty) > 3 else ''}): their predictors see no outputs to learn from"]


def target_problems(run_specs: pd.DataFrame, targets: pd.DataFrame, stat_names: list[str] | None,
                    where: str = "corpus") -> list[str]:
    """Asked-for target stats that no run has; raises :class:`UserError` when nothing at all is left to predict.

    Example:
        >>> specs = pd.DataFrame({RUN: ["r1", "r2"]})
        >>> targets = pd.DataFrame({RUN: ["r1"], "target.name": ["exact_match"]})
        >>> target_problems(specs, targets, ["exact_match", "f1"])
        ["target stat 'f1' (--stat) exists in no run; runs without a target value: 1 of 2"]
    """
    if not len(run_specs):
        raise UserError(where, "it has no runs")
    if not len(targets):
        asked = f"--stat {', '.join(stat_names)}" if stat_names else "each run's main metric"
        raise UserError(where, f"no run has a value for its target stats ({asked}): nothing to predict",
                        hint="'magnet ls PATH' lists the stat names; choose one with --stat")
    out = [f"target stat {name!r} (--stat) exists in no run"
           for name in stat_names or [] if name not in set(targets["target.name"])]
    missing = len(set(run_specs[RUN]) - set(targets[RUN]))
    if missing and out:
        out[-1] += f"; runs without a target value: {missing} of {len(run_specs)}"
    elif missing:
        out.append(f"{missing} of {len(run_specs)} runs have no value for their target stat and are left out")
    return out


def warn_all(messages: list[str]) -> None:
    """Emit each message as a :class:`MagnetWarning`, attributed to the first line outside magnet."""
    for message in messages:
        warnings.warn(message, MagnetWarning, stacklevel=user_stacklevel())
