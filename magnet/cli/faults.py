"""Failed folds in the terminal: a predictor's exception once per predictor and split (not once per fold),
with the user's file:line; ``--debug`` adds the full traceback.

Example:
    >>> from rich.console import Console
    >>> from magnet.protocol.fold_run import FoldResult
    >>> folds = [FoldResult(i, f"m{i}", "failed", "raised KeyError: 'x'", 0.1, 2, 0, where="blend.py:7 in predict")
    ...          for i in range(3)]
    >>> print_failed_folds(Console(width=200), folds, "Blend/kfold")
    Blend/kfold: 3 of 3 folds failed: raised KeyError: 'x' at blend.py:7 in predict (folds 0, 1, 2)
"""

from __future__ import annotations

import sys


def print_failed_folds(console, folds, label: str, debug: bool = False) -> None:
    """One line per distinct failure of ``folds`` (``FoldResult``s), naming the folds it hit."""
    groups: dict[tuple, list] = {}
    for f in folds:
        if f.status != "ok":
            groups.setdefault((f.status, f.reason, getattr(f, "where", "")), []).append(f)
    for (status, reason, where), hit in groups.items():
        at = f" at {where}" if where else ""
        which = ", ".join(str(f.index) for f in hit) if len(hit) > 1 else f"{hit[0].index} ({hit[0].label})"
        verb = "failed" if status == "failed" else status
        console.print(f"[yellow]{label}: {len(hit)} of {len(folds)} folds {verb}:[/] {reason}{at} "
                      f"({'folds' if len(hit) > 1 else 'fold'} {which})", highlight=False)
        if debug and getattr(hit[0], "trace", ""):
            print(hit[0].trace, file=sys.stderr, end="")
