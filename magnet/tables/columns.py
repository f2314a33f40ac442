"""Column names and meanings of the four tables, in one place (HELM's field paths joined by dots).

Every table carries ``suite`` and ``run_spec.name``; ``(suite, run_spec.name)``
identifies a run. The columns below are the ones code above ``backends/``
relies on; a backend may add others (HELM keeps all of its JSON fields; other
sources keep theirs under a prefix named after the backend).

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame(columns=["suite", "run_spec.name", "stats.name.name", "stats.mean"])
    >>> missing_columns("stats", df)
    ['stats.name.split', 'stats.count']
"""

from __future__ import annotations

import pandas as pd

TABLES = ("run_specs", "scenario_states", "stats", "per_instance_stats")

#: table -> {column: meaning}: the columns every source must provide.
REQUIRED_COLUMNS: dict[str, dict[str, str]] = {
    "run_specs": {
        "suite": "the group of runs a run was produced in (HELM's suite; a folder for other sources)",
        "run_spec.name": "the run's stable, readable name (HELM: scenario + arguments + model)",
        "run_spec.adapter_spec.model": "the model, as the source names it",
        "run_spec.groups": "list of task groups, most specific last (the main metric is resolved from them)",
    },
    "scenario_states": {
        "suite": "as in run_specs",
        "run_spec.name": "as in run_specs",
        "scenario_state.request_states.instance.id": "the instance (sample) id",
        "scenario_state.request_states.instance.split": "the split the instance belongs to (test, valid, ...)",
    },
    "stats": {
        "suite": "as in run_specs",
        "run_spec.name": "as in run_specs",
        "stats.name.name": "the metric name",
        "stats.name.split": "the split it was computed on",
        "stats.mean": "the run-level value of the metric (missing when count == 0)",
        "stats.count": "the number of values averaged",
    },
    "per_instance_stats": {
        "suite": "as in run_specs",
        "run_spec.name": "as in run_specs",
        "per_instance_stats.instance_id": "the instance (sample) id",
        "per_instance_stats.stats.name.name": "the metric name",
        "per_instance_stats.stats.name.split": "the split",
        "per_instance_stats.stats.mean": "the instance's value of the metric",
    },
}


def missing_columns(table: str, df: pd.DataFrame) -> list[str]:
    """The contract's columns of ``table`` that ``df`` lacks (in the contract's order)."""
    if table not in REQUIRED_COLUMNS:
        raise ValueError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}")
    return [c for c in REQUIRED_COLUMNS[table] if c not in df.columns]
