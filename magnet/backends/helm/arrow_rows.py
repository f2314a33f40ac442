"""Fast flattening of the big numeric tables (``stats``, ``per_instance_stats``) with Arrow.

The rows and column names are the same as :mod:`.tables` produces; the work
happens in Arrow's C++ (struct arrays inferred from all records, struct flattening, list
explosion) instead of one Python dict per row. Anything unexpected (a value of
the wrong type, a missing name or count) makes these functions return
``None``, and the caller falls back to :mod:`.tables`, which validates every
field and names the file and the problem.

Example:
    >>> stats = [{"name": {"name": "exact_match", "split": "test"}, "count": 1, "sum": 0.5, "sum_squared": 0.25,
    ...           "mean": 0.5},
    ...          {"name": {"name": "em", "split": "test", "perturbation": {"name": "typos", "computed_on": "worst"}},
    ...           "count": 0, "sum": 0, "sum_squared": 0}]
    >>> t = stats_arrow(stats)
    >>> t.column("stats.name.perturbation.name").to_pylist(), t.column("stats.mean").to_pylist()
    ([None, 'typos'], [0.5, None])
    >>> stats_arrow([{"name": {"name": "em"}, "count": 1, "mean": "high"}]) is None   # -> validate in Python
    True
    >>> stats_arrow([{"name": {"name": "em"}, "count": 0}, {"name": {"name": "em"}, "count": 1, "mean": 1.0}]
    ...             ).column("stats.mean").to_pylist()   # columns from every record, not just the first
    [None, 1.0]
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from magnet.backends.helm.tables import STAT_NUMBERS


def _flatten_structs(table: pa.Table) -> pa.Table:
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    return table


def _is_number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_null(t)


def _valid_stats(table: pa.Table, prefix: str) -> bool:
    """Names are strings, counts present, and every numeric field is numeric."""
    names = table.schema.names
    name_col, count_col = f"{prefix}name.name", f"{prefix}count"
    if name_col not in names or count_col not in names:
        return False
    if not pa.types.is_string(table.schema.field(name_col).type) or table.column(name_col).null_count:
        return False
    if table.column(count_col).null_count:
        return False
    for field in STAT_NUMBERS:
        col = f"{prefix}{field}"
        if col in names and not _is_number(table.schema.field(col).type):
            return False
    return True


def _from_records(records: list[dict]) -> pa.Table:
    """A table whose columns are the union of every record's keys.

    (``pa.Table.from_pylist`` takes the columns from the first record only.)
    """
    return pa.Table.from_struct_array(pa.array(records))


def _rename(table: pa.Table, prefix: str) -> pa.Table:
    return table.rename_columns([prefix + n for n in table.schema.names])


def stats_arrow(stats) -> pa.Table | None:
    """The ``stats`` rows of one parsed ``stats.json`` as an Arrow table, or None to fall back."""
    if not isinstance(stats, list) or not stats or not all(isinstance(s, dict) for s in stats):
        return None
    try:
        table = _rename(_flatten_structs(_from_records(stats)), "stats.")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        return None
    return table if _valid_stats(table, "stats.") else None


def per_instance_stats_arrow(entries) -> pa.Table | None:
    """The ``per_instance_stats`` rows (one per entry x stat) as an Arrow table, or None to fall back."""
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        return None
    try:
        table = _from_records(entries)
        if "stats" not in table.schema.names or not pa.types.is_list(table.schema.field("stats").type):
            return None
        stats = table.column("stats").combine_chunks()
        if stats.null_count:
            return None
        parents = pc.list_parent_indices(stats)
        flat = pc.list_flatten(stats)
        if not pa.types.is_struct(flat.type):
            return None
        stat_table = _rename(_flatten_structs(pa.Table.from_struct_array(flat)), "per_instance_stats.stats.")
        head = _rename(_flatten_structs(table.drop_columns(["stats"]).take(parents)), "per_instance_stats.")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        return None
    if not _valid_stats(stat_table, "per_instance_stats.stats."):
        return None
    for name in stat_table.schema.names:
        head = head.append_column(name, stat_table.column(name))
    return head


ARROW_MAKERS = {"stats": stats_arrow, "per_instance_stats": per_instance_stats_arrow}
