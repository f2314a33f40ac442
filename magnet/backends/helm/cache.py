"""Parquet cache of flattened tables, keyed by each source file's size and mtime.

One cache entry per (suite directory, table): ``<table>.parquet`` holding the
rows of every cached run plus ``<table>.manifest.json`` mapping each run
directory to the ``(size, mtime_ns)`` signatures of the files its rows came
from. A load reuses the rows of runs whose signatures are unchanged and
re-reads only the others, so a second load is one Parquet read, and any
changed file is re-read.

Python objects (lists, mappings, mixed-type columns) are stored as JSON text
and decoded on read; the manifest lists those columns.

Example:
    >>> import pandas as pd, tempfile
    >>> d = tempfile.mkdtemp()
    >>> df = pd.DataFrame({"__run_dir__": ["r1", "r1"], "x.refs": [[1, 2], []], "x.v": [1.0, None]})
    >>> save(d, "stats", df, {"r1": [[10, 5]]})
    >>> back, manifest = load(d, "stats")
    >>> back["x.refs"].tolist(), manifest["runs"]
    ([[1, 2], []], {'r1': [[10, 5]]})
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import orjson
import pandas as pd

RUN_DIR_COLUMN = "__run_dir__"
CACHE_FORMAT = 4  # bump whenever flattening or row order changes: old caches are then rebuilt


def cache_dir_for(suite_dir: str | os.PathLike, root: str | os.PathLike) -> Path:
    """The cache folder for one suite directory, under ``root``."""
    key = hashlib.sha256(str(Path(suite_dir).resolve()).encode()).hexdigest()[:20]
    return Path(root) / key


def _json_columns(df: pd.DataFrame) -> list[str]:
    """Object columns that Parquet cannot store as plain strings/bools."""
    out = []
    for col in df.columns:
        if df[col].dtype != object:
            continue
        kinds = {type(v) for v in df[col] if v is not None and not (isinstance(v, float) and v != v)}
        if kinds and not (kinds <= {str} or kinds <= {bool}):
            out.append(col)
    return out


def save(cache_dir: str | os.PathLike, table: str, df, runs: dict[str, list]) -> None:
    """Write a table (DataFrame or Arrow table) and its manifest atomically (temp file, then rename)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache_dir / f".{table}.{os.getpid()}.parquet"
    json_cols: list[str] = []
    if df is None:
        df = pd.DataFrame({RUN_DIR_COLUMN: pd.Series([], dtype=object)})
    if isinstance(df, pa.Table):
        pq.write_table(df, tmp)
    else:
        json_cols = _json_columns(df)
        if json_cols:
            df = df.copy()
            for col in json_cols:
                df[col] = [None if v is None else orjson.dumps(v, option=orjson.OPT_SERIALIZE_NUMPY).decode()
                           for v in df[col]]
        df.to_parquet(tmp, index=False)
    os.replace(tmp, cache_dir / f"{table}.parquet")
    manifest = {"format": CACHE_FORMAT, "json_columns": json_cols, "runs": runs}
    tmp = cache_dir / f".{table}.{os.getpid()}.manifest.json"
    tmp.write_text(json.dumps(manifest))
    os.replace(tmp, cache_dir / f"{table}.manifest.json")


def load(cache_dir: str | os.PathLike, table: str, arrow: bool = False, columns: list[str] | None = None):
    """Read a cached table (a DataFrame, or an Arrow table with ``arrow=True``) and its manifest.

    ``columns`` reads only those columns (plus the keys ``suite``, ``run_spec.name``
    and the run directory). Returns ``(None, {"runs": {}})`` when absent or unreadable.
    """
    import pyarrow.parquet as pq

    cache_dir = Path(cache_dir)
    empty = {"runs": {}, "json_columns": []}
    try:
        manifest = json.loads((cache_dir / f"{table}.manifest.json").read_text())
        if manifest.get("format") != CACHE_FORMAT:
            return None, empty
        path = cache_dir / f"{table}.parquet"
        wanted = None
        if columns:
            present = set(pq.read_schema(path).names)
            wanted = [c for c in dict.fromkeys(["suite", "run_spec.name", RUN_DIR_COLUMN, *columns]) if c in present]
        if arrow:
            return pq.read_table(path, columns=wanted), manifest
        df = pd.read_parquet(path, columns=wanted)
    except (OSError, ValueError):
        return None, empty
    for col in manifest["json_columns"]:
        if col in df.columns:
            df[col] = [None if v is None else orjson.loads(v) for v in df[col]]
    return df, manifest
