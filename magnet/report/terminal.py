"""The leaderboard as a rich table for the terminal.

Example:
    >>> fmt_ci((0.1, 0.25)), fmt_num(float("nan"))
    ('[0.100, 0.250]', 'n/a')
"""

from __future__ import annotations

import math

from rich.table import Table

#: Rich style of each MBE verdict.
VERDICT_STYLE = {"genuine": "green", "loss-proxy": "bold red", "inconclusive": "yellow",
                 "insufficient-data": "yellow"}


def mbe_cell(mbe: dict) -> str:
    """The MBE decision of a row: estimate, the interval the verdict used, Holm-adjusted p.

    Example:
        >>> mbe_cell({"estimate": 0.31, "interval": (0.12, 0.48), "p_one_sided": 0.004, "p_holm": 0.012, "alpha": 0.05})
        '0.31 [0.120, 0.480] p=0.004 (Holm 0.012)'
    """
    text = f"{fmt_num(mbe.get('estimate', float('nan')), '.2f')} {fmt_ci(mbe.get('interval', (None, None)))}"
    text += f" p={fmt_num(mbe.get('p_one_sided', float('nan')), '.3g')}"
    if mbe.get("p_holm") is not None and math.isfinite(mbe["p_holm"]):
        text += f" (Holm {mbe['p_holm']:.3g})"
    return text + pooled_cell(mbe)


def pooled_cell(mbe: dict) -> str:
    """For a row pooling several scenarios: the pooled (not scenario-adjusted) estimate, interval and verdict.

    Example:
        >>> pooled_cell({"scenarios": 4, "pooled_estimate": 0.45, "pooled_interval": (0.18, 0.66),
        ...              "pooled_verdict": "genuine"})
        '; pooled over 4 scenarios 0.45 [0.180, 0.660] genuine'
        >>> pooled_cell({"scenarios": 0})
        ''
    """
    if not mbe.get("scenarios"):
        return ""
    return (f"; pooled over {mbe['scenarios']} scenarios {fmt_num(mbe.get('pooled_estimate', float('nan')), '.2f')} "
            f"{fmt_ci(mbe.get('pooled_interval', (None, None)))} {mbe.get('pooled_verdict', '?')}")


def verdict_text(mbe: dict) -> str:
    """The verdict, marked when the pooled check would call it genuine but the scenario-adjusted one does not.

    Example:
        >>> verdict_text({"verdict": "loss-proxy", "between_scenarios_only": True})
        'loss-proxy (pooled genuine: between scenarios only)'
    """
    verdict = mbe.get("verdict", "?")
    return verdict + (" (pooled genuine: between scenarios only)" if mbe.get("between_scenarios_only") else "")


def fmt_ci(ci) -> str:
    """A 95% interval as ``[lo, hi]``, or empty when undefined."""
    lo, hi = ci
    return "" if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)) else f"[{lo:.3f}, {hi:.3f}]"


def fmt_num(x, fmt=".3f") -> str:
    """A number, or ``n/a`` when undefined."""
    return "n/a" if x is None or not math.isfinite(x) else format(x, fmt)


def with_n(text: str, row, column: str) -> str:
    """A cell's text, followed by ``(n=K)`` when its column used K runs, not the row's n (``row.column_n``).

    Example:
        >>> from types import SimpleNamespace as R
        >>> row = R(n=48, column_n={"mae": 48, "noise_floor": 36})
        >>> with_n("0.012", row, "noise_floor"), with_n("0.180", row, "mae")
        ('0.012 (n=36)', '0.180')
    """
    k = (getattr(row, "column_n", None) or {}).get(column)
    return text if k is None or k == row.n else f"{text} (n={k})"


def gain_text(row) -> str:
    """The gain share as a percentage (``n/a`` when undefined), with its n when it differs from the row's."""
    g = row.gain_share
    return with_n("n/a" if not math.isfinite(g) else f"{g:.0%}", row, "gain_share")


def shown_rows(board) -> list:
    """The main rows the tables show: one per predictor x split, predictors with identical predictions once."""
    return [r for r in board.main_rows() if not getattr(r, "shown_as", None)]


def predictor_label(row) -> str:
    """The predictor of a shown row, with every predictor whose predictions are identical (``A = B = C``).

    Example:
        >>> from types import SimpleNamespace as R
        >>> predictor_label(R(predictor="ModelMean", same_predictions=["ScenarioMean"]))
        'ModelMean = ScenarioMean'
    """
    return " = ".join([row.predictor] + list(getattr(row, "same_predictions", None) or []))


def leaderboard_table(board) -> Table:
    """The main leaderboard: one row per predictor x split, ranked by MAE; flagged rows marked."""
    rows = shown_rows(board)
    models = max((r.n_models for r in rows), default=0)
    table = Table(title=f"magnet leaderboard: main targets, {board.num_eval_samples:g} revealed instances per eval run")
    alpha = next((r.mbe.get("alpha") for r in rows if r.mbe.get("alpha")), 0.05)
    effect = next((r.mbe.get("effect_size") for r in rows if r.mbe.get("effect_size")), 0.2)
    level = f"{100 * (1 - 2 * alpha):g}%"
    for col, justify in (("split", "left"), ("predictor", "left"), ("n", "right"), ("MAE [95% CI]", "right"),
                         ("floor", "right"), ("gain", "right"), ("Spearman", "right"),
                         (f"partial r [{level} CI]", "right"), ("MBE", "left")):
        table.add_column(col, justify=justify, overflow="fold")
    for r in rows:
        mbe = r.mbe
        verdict = mbe.get("verdict", "?")
        flag = "" if verdict == "genuine" else " ⚑"
        table.add_row(
            r.split, predictor_label(r) + flag, str(r.n), f"{fmt_num(r.mae)} {fmt_ci(r.mae_ci)}",
            with_n(fmt_num(r.noise_floor), r, "noise_floor"), gain_text(r), fmt_num(r.spearman, ".2f"),
            with_n(mbe_cell(mbe), r, "mbe"), f"[{VERDICT_STYLE.get(verdict, '')}]{verdict_text(mbe)}[/]",
        )
    table.caption = (
        f"MAE CIs: studentized cluster bootstrap over {models} models. floor: expected MAE of an oracle knowing each "
        f"run's true rate (binomial noise of unrevealed instances; a plug-in). gain: share of the attainable gain over "
        f"the revealed-sample mean on the same runs (over 100%: below that floor, possible for a predictor that knows "
        f"which instances are hard or a sibling run's answers). MBE: partial Spearman r of predicted vs actual given "
        f"splines of {', '.join(board.controls)}, cluster-robust over models (CR2, Bell-McCaffrey df), n = runs per "
        f"row; genuine = one-sided p <= {alpha:g}, loss-proxy = the {level} interval lies below {effect:g}, "
        f"inconclusive = it contains both; a row pooling several scenarios is checked within them (within-scenario "
        f"ranks and scenario indicators), the pooled check shown beside it; Holm: p adjusted over the pooled main "
        f"rows (the primary family). "
        f"n: runs of the row (MAE, Spearman); (n=K) after a column: it used K of them (see the notes). "
        f"A = B: predictors with identical predictions, one row. "
        f"⚑ = not genuine."
        + "".join(f"\n{note}" for note in data_notes(rows))
    )
    return table


def data_notes(rows) -> list[str]:
    """One line per proxy used, per reason runs were left out of rows or of a column, and per interval fallback.

    Lines that several rows share (e.g. a column without a floor for the same runs in every row) are printed once,
    naming the rows.

    Example:
        >>> from types import SimpleNamespace as R
        >>> data_notes([R(baseline_proxy="bbq_accuracy <- exact_match", dropped={"no revealed instances": 2},
        ...              predictor="P", split="kfold", interval_notes={"mae": "percentile cluster bootstrap: why"})])
        ['baseline proxy: bbq_accuracy <- exact_match (per-instance stat chosen from train runs)', 'P / kfold: 2 runs dropped (no revealed instances)', 'P / kfold: MAE interval by percentile cluster bootstrap: why']
    """
    notes = []
    for proxy in dict.fromkeys(getattr(r, "baseline_proxy", None) for r in rows):
        if proxy:
            notes.append(f"baseline proxy: {proxy} (per-instance stat chosen from train runs)")
    shared: dict[str, list[str]] = {}
    for r in rows:
        who = f"{r.predictor} / {r.split}"
        for reason, count in (getattr(r, "dropped", None) or {}).items():
            shared.setdefault(f"{count} runs dropped ({reason})", []).append(who)
        for column, why in (getattr(r, "column_notes", None) or {}).items():
            shared.setdefault(f"{COLUMN_LABEL.get(column, column)} {why}", []).append(who)
        for metric, how in (getattr(r, "interval_notes", None) or {}).items():
            shared.setdefault(f"{metric.upper()} interval by {how}", []).append(who)
        for note in getattr(r, "notes", None) or []:
            shared.setdefault(note, []).append(who)
    for text, who in shared.items():
        label = who[0] if len(who) == 1 else ("every row" if len(who) == len(rows) else ", ".join(who))
        notes.append(f"{label}: {text}")
    return notes


#: How the notes name a column of a row.
COLUMN_LABEL = {"noise_floor": "floor", "gain_share": "gain", "mbe": "MBE", "mae": "MAE"}
