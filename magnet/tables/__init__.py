"""The table contract every source (HELM, score matrices, and later Inspect AI, lm-eval, Every Eval Ever) serves.

Four tables with HELM's dotted column names; the names and meanings every
predictor, split, baseline and the MBE check rely on are listed once, in
:data:`REQUIRED_COLUMNS`. A source keeps anything else it holds under a
prefix named after its backend. See :mod:`magnet.tables.columns`.

Example:
    >>> from magnet.tables import TABLES, REQUIRED_COLUMNS
    >>> TABLES
    ('run_specs', 'scenario_states', 'stats', 'per_instance_stats')
    >>> "stats.mean" in REQUIRED_COLUMNS["stats"]
    True
"""

from magnet.tables.columns import REQUIRED_COLUMNS, TABLES, missing_columns

__all__ = ["REQUIRED_COLUMNS", "TABLES", "missing_columns"]
