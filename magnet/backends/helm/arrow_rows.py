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


def _rename(table: pa.Table, prefix: str) -> pa.Table:
    return table.rename_columns([prefix + n for n in table.schema.names])


def stats_from_structs(records: pa.StructArray) -> pa.Table | None:
    """The ``stats`` rows of a struct array of stat records (one per ``stats.json`` entry), or None to fall back."""
    if not pa.types.is_struct(records.type) or records.null_count:
        return None
    try:
        table = _rename(_flatten_structs(pa.Table.from_struct_array(records)), "stats.")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        return None
    return table if _valid_stats(table, "stats.") else None


def per_instance_stats_from_structs(entries: pa.StructArray) -> pa.Table | None:
    """The ``per_instance_stats`` rows (one per entry x stat) of a struct array of entries, or None to fall back."""
    if not pa.types.is_struct(entries.type) or entries.null_count:
        return None
    try:
        table = pa.Table.from_struct_array(entries)
        if "stats" not in table.schema.names or not pa.types.is_list(table.schema.field("stats").type):
            return None
        stats = table.column("stats").combine_chunks()
        if stats.null_count:
            return None
        parents = pc.list_parent_indices(stats)
        flat = pc.list_flatten(stats)
        if not pa.types.is_struct(flat.type) or flat.null_count:
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


def _records_array(records) -> pa.Array | None:
    """Parsed JSON records (a non-empty list of dicts) as one struct array whose fields are the union of keys."""
    if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
        return None
    try:
        return pa.array(records)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        return None


def stats_arrow(stats) -> pa.Table | None:
    """The ``stats`` rows of one parsed ``stats.json`` as an Arrow table, or None to fall back."""
    records = _records_array(stats)
    return None if records is None else stats_from_structs(records)


def per_instance_stats_arrow(entries) -> pa.Table | None:
    """The ``per_instance_stats`` rows (one per entry x stat) as an Arrow table, or None to fall back."""
    records = _records_array(entries)
    return None if records is None else per_instance_stats_from_structs(records)


#: Order of HELM's stat and per-instance fields among siblings; other fields follow alphabetically.
FIELD_ORDER = ("instance_id", "train_trial_index", "name", "split", "sub_split", "perturbation", "robustness",
               "fairness", "computed_on", "seed", "count", "sum", "sum_squared", "min", "max", "mean", "variance",
               "stddev", "stats")
_RANK = {name: i for i, name in enumerate(FIELD_ORDER)}


def column_order_key(column: str) -> tuple:
    """Sort key giving the columns one order, whichever files (or chunks, or cache) they came from.

    Example:
        >>> sorted(["stats.name.perturbation.prob", "stats.count", "stats.name.perturbation.name", "stats.name.name"],
        ...        key=column_order_key)
        ['stats.name.name', 'stats.name.perturbation.name', 'stats.name.perturbation.prob', 'stats.count']
    """
    return tuple((_RANK.get(part, len(_RANK)), part) for part in column.split(".")[1:])


#: Flattening of parsed Python records, per table.
ARROW_MAKERS = {"stats": stats_arrow, "per_instance_stats": per_instance_stats_arrow}
#: Flattening of a struct array of records (from :mod:`.json_batches`), per table.
STRUCT_MAKERS = {"stats": stats_from_structs, "per_instance_stats": per_instance_stats_from_structs}
