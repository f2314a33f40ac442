"""Write a table to parquet, csv or jsonl.

Example:
    >>> import pandas as pd, tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "t.jsonl"
    >>> export_table(pd.DataFrame({"a.b": [1, 2], "c": [[1], []]}), out)
    >>> out.read_text().splitlines()[0]
    '{"a.b":1,"c":[1]}'
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from magnet.backends.helm.cache import _json_columns
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


def export_table(df: pd.DataFrame, path: str | os.PathLike, fmt: str | None = None) -> None:
    """Write ``df`` atomically; ``fmt`` defaults to the file extension."""
    path = Path(path)
    fmt = export_format(path, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if fmt == "parquet":
        import orjson

        df = df.copy()
        for col in _json_columns(df):  # Python objects are stored as JSON text
            df[col] = [None if v is None else orjson.dumps(v).decode() for v in df[col]]
        df.to_parquet(tmp, index=False)
    elif fmt == "csv":
        df.to_csv(tmp, index=False)
    else:
        df.to_json(tmp, orient="records", lines=True)
    os.replace(tmp, path)
