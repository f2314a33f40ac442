"""The leaderboard as a rich table for the terminal.

Example:
    >>> fmt_ci((0.1, 0.25)), fmt_num(float("nan"))
    ('[0.100, 0.250]', 'n/a')
"""

from __future__ import annotations

import math

from rich.table import Table

VERDICT_STYLE = {"genuine": "green", "loss-proxy": "bold red", "insufficient-data": "yellow"}


def fmt_ci(ci) -> str:
    """A 95% interval as ``[lo, hi]``, or empty when undefined."""
    lo, hi = ci
    return "" if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)) else f"[{lo:.3f}, {hi:.3f}]"


def fmt_num(x, fmt=".3f") -> str:
    """A number, or ``n/a`` when undefined."""
    return "n/a" if x is None or not math.isfinite(x) else format(x, fmt)


def leaderboard_table(board) -> Table:
    """The main leaderboard: one row per predictor x split, ranked by MAE; flagged rows marked."""
    rows = board.main_rows()
    models = max((r.n_models for r in rows), default=0)
    table = Table(title=f"magnet leaderboard: main targets, {board.num_eval_samples:g} revealed instances per eval run")
    for col, justify in (("split", "left"), ("predictor", "left"), ("n", "right"), ("MAE [95% CI]", "right"),
                         ("floor", "right"), ("gain", "right"), ("Spearman", "right"),
                         ("partial r [95% CI]", "right"), ("MBE", "left")):
        table.add_column(col, justify=justify, overflow="fold")
    for r in rows:
        mbe = r.mbe
        verdict = mbe.get("verdict", "?")
        flag = "" if verdict == "genuine" else " ⚑"
        table.add_row(
            r.split, r.predictor + flag, str(r.n), f"{fmt_num(r.mae)} {fmt_ci(r.mae_ci)}", fmt_num(r.noise_floor),
            "n/a" if not math.isfinite(r.gain_share) else f"{r.gain_share:.0%}", fmt_num(r.spearman, ".2f"),
            f"{fmt_num(mbe.get('partial_r', float('nan')), '.2f')} {fmt_ci(mbe.get('ci95', (None, None)))}"
            f" p={fmt_num(mbe.get('partial_p', float('nan')), '.3g')}",
            f"[{VERDICT_STYLE.get(verdict, '')}]{verdict}[/]",
        )
    table.caption = (
        f"MAE CIs: cluster bootstrap over {models} models. floor: expected MAE of an oracle knowing each run's true "
        f"rate (binomial noise of unrevealed instances). gain: share of the attainable gain over the revealed-sample "
        f"mean (over 100%: below that floor, possible for a predictor that knows which instances are hard or a "
        f"sibling run's answers). MBE: partial Spearman r of predicted vs actual controlling for {', '.join(board.controls)} "
        f"(n = runs per row; Fisher 95% CI); ⚑ = no information beyond the baseline (loss-proxy) or too little data."
    )
    return table


