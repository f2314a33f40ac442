"""The leaderboard in the terminal (rich), as plots (PNG) and as one self-contained HTML report.

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> from magnet.benchmark import benchmark
    >>> from magnet.corpus import Corpus
    >>> from predictors.example_random_predictor import ExampleRandomPredictor
    >>> board = benchmark([ExampleRandomPredictor()], Corpus.load(HelmOutputs.demo(preset="small")),
    ...                   splits=["leave-one-model-out"], progress=False, n_boot=100)
    >>> leaderboard_table(board).row_count
    1
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path

import numpy as np
from rich.table import Table

VERDICT_STYLE = {"genuine": "green", "loss-proxy": "bold red", "insufficient-data": "yellow"}


def _ci(ci) -> str:
    lo, hi = ci
    return "" if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)) else f"[{lo:.3f}, {hi:.3f}]"


def _f(x, fmt=".3f") -> str:
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
            r.split, r.predictor + flag, str(r.n), f"{_f(r.mae)} {_ci(r.mae_ci)}", _f(r.noise_floor),
            "n/a" if not math.isfinite(r.gain_share) else f"{r.gain_share:.0%}", _f(r.spearman, ".2f"),
            f"{_f(mbe.get('partial_r', float('nan')), '.2f')} {_ci(mbe.get('ci95', (None, None)))}"
            f" p={_f(mbe.get('partial_p', float('nan')), '.3g')}",
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


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def predicted_vs_actual_figure(joined, predictor: str, split: str):
    """Scatter of predicted vs actual main targets, coloured by model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = joined[(joined["predictor"] == predictor) & (joined["split"] == split)
               & (joined["target.key"] == joined["target.name"])]
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    for model, g in d.groupby("model"):
        ax.scatter(g["actual"], g["predicted"], s=22, label=str(model).split("/")[-1], alpha=0.8)
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--")
    ax.set_xlim(-0.03, 1.03)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("actual")
    ax.set_ylabel("predicted")
    ax.set_title(f"{predictor} ({split}), n = {len(d)} runs")
    ax.legend(fontsize=7, loc="upper left", ncol=2)
    return fig


def residual_figure(joined, predictor: str, split: str, controls: list[str]):
    """The MBE picture: predicted vs actual after removing what the baseline(s) explain (ranks)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from magnet.mbe import partial_residuals

    d = joined[(joined["predictor"] == predictor) & (joined["split"] == split)
               & (joined["target.key"] == joined["target.name"])]
    controls = [c for c in controls if c in d]
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    if len(d) >= 5 and controls:
        rx, ry = partial_residuals(d["predicted"].to_numpy(), d["actual"].to_numpy(), d[controls].to_numpy())
        ok = np.isfinite(rx) & np.isfinite(ry)
        spread = np.ptp(rx[ok]) if ok.any() else 0.0
        if spread <= 1e-9 * max(1.0, len(d)):  # rounding noise: the predictions are a function of the baseline
            rx = np.zeros_like(rx)
            ax.text(0.5, 0.97, "no residual left: predictions are a function of the baseline (loss-proxy)",
                    transform=ax.transAxes, ha="center", va="top", fontsize=8, color="#b00")
        ax.scatter(rx, ry, s=22, alpha=0.8)
        if ok.sum() > 2 and np.ptp(rx[ok]) > 1e-12:
            slope, intercept = np.polyfit(rx[ok], ry[ok], 1)
            xs = np.linspace(rx[ok].min(), rx[ok].max(), 10)
            ax.plot(xs, slope * xs + intercept, color="black", lw=1)
    ax.axhline(0, color="grey", lw=0.5)
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_xlabel("predicted rank, residual after baseline")
    ax.set_ylabel("actual rank, residual after baseline")
    ax.set_title(f"MBE residuals: {predictor} ({split})\ncontrols: {', '.join(controls)}", fontsize=9)
    return fig


def write_report(board, out_dir: Path) -> Path:
    """PNG plots per predictor x split and a single self-contained ``report.html``."""
    import matplotlib.pyplot as plt

    plots = Path(out_dir) / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    sections = []
    for r in board.main_rows():
        images = []
        for kind, make in (("predicted_vs_actual", lambda: predicted_vs_actual_figure(board.joined, r.predictor, r.split)),
                           ("mbe_residuals", lambda: residual_figure(board.joined, r.predictor, r.split, board.controls))):
            fig = make()
            png = _png(fig)
            plt.close(fig)
            (plots / f"{r.predictor}-{r.split}-{kind}.png").write_bytes(png)
            images.append(f'<img src="data:image/png;base64,{base64.b64encode(png).decode()}" alt="{kind}">')
        verdict = r.mbe.get("verdict")
        sections.append(
            f"<h3>{html.escape(r.predictor)} &middot; {html.escape(r.split)} &middot; "
            f"<span class='{verdict}'>{verdict}</span></h3>"
            f"<p>MAE {_f(r.mae)} {_ci(r.mae_ci)} (n = {r.n} runs, {r.n_models} models); noise floor {_f(r.noise_floor)}; "
            f"MBE: {html.escape(r.mbe.get('reason', ''))}</p>" + "".join(images))
    table_rows = "".join(
        f"<tr class='{r.mbe.get('verdict')}'><td>{html.escape(r.split)}</td><td>{html.escape(r.predictor)}</td>"
        f"<td>{r.n}</td><td>{_f(r.mae)} {_ci(r.mae_ci)}</td><td>{_f(r.noise_floor)}</td>"
        f"<td>{'n/a' if not math.isfinite(r.gain_share) else f'{r.gain_share:.0%}'}</td><td>{_f(r.spearman, '.2f')}</td>"
        f"<td>{_f(r.mbe.get('partial_r', float('nan')), '.2f')} {_ci(r.mbe.get('ci95', (None, None)))}</td>"
        f"<td>{_f(r.mbe.get('partial_p', float('nan')), '.3g')}</td><td>{r.mbe.get('verdict')}</td></tr>"
        for r in board.main_rows())
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>magnet report</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px}} .loss-proxy{{color:#b00}} .genuine{{color:#070}}
.insufficient-data{{color:#a60}} img{{width:48%;margin:1%}}</style></head><body>
<h1>magnet leaderboard</h1><p>Corpus: {html.escape(board.corpus_source)}; {board.num_eval_samples:g} revealed instances
per eval run; MBE controls: {html.escape(', '.join(board.controls))}. MAE intervals: cluster bootstrap over models.</p>
<table><tr><th>split</th><th>predictor</th><th>n</th><th>MAE [95% CI]</th><th>floor</th><th>gain</th><th>Spearman</th>
<th>partial r [95% CI]</th><th>p</th><th>MBE</th></tr>{table_rows}</table>{''.join(sections)}</body></html>"""
    path = Path(out_dir) / "report.html"
    path.write_text(page)
    return path
