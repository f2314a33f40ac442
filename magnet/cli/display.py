"""Rich tables for the terminal: corpus summaries and listings.

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> table = corpus_summary_table(HelmOutputs.demo(preset="small"))
    >>> table.row_count  # 4 scenario configurations + the mean
    5
"""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

from magnet.backends.helm.outputs import HelmOutputs
from magnet.protocol.corpus import scenario_label
from magnet.protocol.targets import main_stat_rows

MODEL_COL = "run_spec.adapter_spec.model"


def make_console(stderr: bool = False) -> Console:
    """A rich console; 160 columns wide when output is not a terminal (logs, CI, pipes)."""
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=160)
SCENARIO_COL = "run_spec.scenario_spec.class_name"


def corpus_summary_table(outputs: HelmOutputs, stat_name: str | None = None) -> Table:
    """Models x scenario configurations: each run's main score (test split, unperturbed)."""

    run_specs = outputs.run_specs()
    main = main_stat_rows(outputs, run_specs=run_specs, stat_names=[stat_name] if stat_name else None)
    main = main[main["stats.name.perturbation.name"].isna()] if "stats.name.perturbation.name" in main else main
    labels = dict(zip(run_specs["run_spec.name"], scenario_label(run_specs)))
    models = dict(zip(run_specs["run_spec.name"], run_specs[MODEL_COL]))
    main = main.assign(scenario=main["run_spec.name"].map(labels), model=main["run_spec.name"].map(models))
    main["model"] = main["model"].str.split("/").str[-1]
    pivot = main.pivot_table(index="scenario", columns="model", values="stats.mean", aggfunc="mean")
    names = ", ".join(sorted(main["stats.name.name"].unique()))
    table = Table(title=f"Main score per run ({names}; test split, unperturbed)", caption=str(outputs.root))
    table.add_column("scenario", overflow="fold")
    for col in pivot.columns:
        table.add_column(str(col), justify="right", overflow="fold")
    for scenario, row in pivot.iterrows():
        table.add_row(str(scenario), *[("" if pd.isna(v) else f"{v:.2f}") for v in row])
    table.add_row("[bold]mean[/]", *[f"[bold]{v:.2f}[/]" for v in pivot.mean()])
    return table


def listing_table(outputs: HelmOutputs, errors: str = "raise") -> Table:
    """``magnet ls``: per suite, its runs, models, scenarios and stat names."""
    run_specs = outputs.run_specs(errors=errors)
    stats = outputs.stats(errors=errors)
    kind = getattr(outputs, "source_format", "helm")
    table = Table(title=f"{'HELM outputs' if kind == 'helm' else kind + ' results'} in {outputs.root}")
    for col in ("suite", "runs", "models", "scenarios", "stat names"):
        table.add_column(col, overflow="fold")
    for suite in [s.name for s in outputs.suites()]:
        rs = run_specs[run_specs["suite"] == suite] if len(run_specs) else run_specs
        st = stats[stats["suite"] == suite] if len(stats) else stats
        models = sorted(rs[MODEL_COL].dropna().unique()) if MODEL_COL in rs else []
        scenarios = sorted(scenario_label(rs).unique()) if len(rs) else []
        stat_names = sorted(st["stats.name.name"].unique()) if len(st) else []
        table.add_row(suite, str(len(rs)), _short(models), _short(scenarios), _short(stat_names, 12))
    return table


def _short(values: list, limit: int = 8) -> str:
    shown = ", ".join(map(str, values[:limit]))
    return f"{len(values)}: {shown}" + (f", ... (+{len(values) - limit})" if len(values) > limit else "")
