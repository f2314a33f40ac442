"""Write a table to parquet, csv or jsonl, with what was left out of it as metadata.

A table's ``df.attrs`` say which runs were skipped as damaged (``skipped``),
lack an optional file (``missing``) or had their request states rebuilt
(``rebuilt``). Every export keeps them: a sidecar ``<output>.meta.json``
is written next to each output (all formats), and a parquet file also
carries them in its own metadata (``pd.read_parquet(...).attrs``). In parquet,
list columns of plain values stay Arrow lists; mappings and mixed columns are
JSON text, named in the metadata's ``json_columns``.

Example:
    >>> import pandas as pd, tempfile, pathlib, json
    >>> from magnet.backends.helm.errors import Skipped
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "t.jsonl"
    >>> df = pd.DataFrame({"a.b": [1, 2], "c": [[1], []]})
    >>> df.attrs["skipped"] = [Skipped("/runs/s/r/stats.json", "file is empty")]
    >>> export_table(df, out)
    >>> out.read_text().splitlines()[0]
    '{"a.b":1,"c":[1]}'
    >>> json.loads(metadata_path(out).read_text())["skipped"]
    [{'path': '/runs/s/r/stats.json', 'problem': 'file is empty'}]
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, is_dataclass
from pathlib import Path

import pandas as pd
from magnet.backends.helm.cache import _json_columns
from magnet.files import write_atomic
from magnet.errors import UserError

FORMATS = ("parquet", "csv", "jsonl")


def export_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The format to write ``path`` in: ``fmt``, else the file extension; a :class:`UserError` if neither is known.

    Example:
        >>> export_format("stats.csv"), export_format("stats.out", "jsonl")
        ('csv', 'jsonl')
    """
    fmt = fmt or Path(path).suffix.lstrip(".")
    if fmt not in FORMATS:
        raise UserError(str(path), f"cannot tell the format from the extension; use --format {'|'.join(FORMATS)}")
    return fmt


def metadata_path(path: str | os.PathLike) -> Path:
    """The sidecar metadata file of an export: ``<output>.meta.json``."""
    path = Path(path)
    return path.with_name(path.name + ".meta.json")


def _plain(value):
    """``df.attrs`` values as JSON: Skipped (any dataclass) as a mapping, containers recursively."""
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, dict):  # a tuple key such as (suite, run) as "suite/run"
        return {"/".join(map(str, k)) if isinstance(k, tuple) else str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def export_metadata(df: pd.DataFrame) -> dict:
    """What an export records besides the rows: row count, and the table's skipped/missing/rebuilt runs."""
    meta = {"rows": len(df), "skipped": [], "missing": []}
    meta.update({k: _plain(v) for k, v in df.attrs.items()})
    return meta


def _arrow_list(column: pd.Series) -> bool:
    """True when Arrow stores ``column`` as a list of plain values (strings, numbers, booleans).

    Example:
        >>> _arrow_list(pd.Series([["a", "b"], None, []])), _arrow_list(pd.Series([{"a": 1}, None]))
        (True, False)
    """
    import pyarrow as pa

    try:
        typ = pa.array(list(column)).type
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return False
    return pa.types.is_list(typ) and not pa.types.is_nested(typ.value_type)


def export_table(df: pd.DataFrame, path: str | os.PathLike, fmt: str | None = None) -> None:
    """Write ``df`` atomically; ``fmt`` defaults to the file extension. Also writes :func:`metadata_path`."""

    path = Path(path)
    fmt = export_format(path, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = export_metadata(df)
    df = df.copy()
    df.attrs = {k: v for k, v in meta.items() if k != "rows"}  # JSON-safe: pandas embeds them in parquet
    if fmt == "parquet":
        import orjson

        as_text = [col for col in _json_columns(df) if not _arrow_list(df[col])]
        for col in as_text:  # mappings and mixed types are stored as JSON text, and named in the metadata
            df[col] = [None if v is None else orjson.dumps(v).decode() for v in df[col]]
        meta["json_columns"] = as_text
        df.attrs["json_columns"] = as_text
        write_atomic(path, lambda tmp: df.to_parquet(tmp, index=False))
    elif fmt == "csv":
        write_atomic(path, lambda tmp: df.to_csv(tmp, index=False))
    else:
        write_atomic(path, lambda tmp: df.to_json(tmp, orient="records", lines=True))
    write_atomic(metadata_path(path), lambda tmp: tmp.write_text(json.dumps(meta, indent=2) + "\n"))
