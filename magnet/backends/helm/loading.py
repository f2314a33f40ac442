"""Read runs into tables: fast JSON parsing, parallel workers, the cache, the errors policy.

:func:`load_table` is what ``HelmOutputs.table`` calls. For each run it reads
only the table's own file (plus the small ``run_spec.json`` for the run's
name), parses it with orjson, and flattens it with :mod:`.tables`. Many runs
are parsed in parallel worker processes; flattened tables are cached as
Parquet (:mod:`.cache`), so a second load re-reads only changed files.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import orjson
import pandas as pd

from magnet.backends.helm import cache as table_cache
from magnet.backends.helm.errors import HelmOutputError, HelmOutputWarning, Skipped, check_policy
from magnet.backends.helm.tables import OPTIONAL_FILES, ROW_MAKERS, TABLE_FILES, TABLES

#: Below this many bytes to parse, loading stays in one process (workers cost more than they save).
PARALLEL_MIN_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class RunRef:
    """Where one run lives: its suite name and directory."""

    suite: str
    path: str


def read_json(path: str | os.PathLike):
    """Parse a JSON file with orjson; any problem becomes a one-line :class:`HelmOutputError`.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "stats.json"
        >>> _ = p.write_text('[{"name": ')
        >>> read_json(p)
        Traceback (most recent call last):
        ...
        magnet.backends.helm.errors.HelmOutputError: ...stats.json: invalid JSON (truncated or corrupt): unexpected end of data: line 1 column 11 (char 10)
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise HelmOutputError(path, "file is missing") from None
    except IsADirectoryError:
        raise HelmOutputError(path, "expected a file, found a directory") from None
    except OSError as e:
        raise HelmOutputError(path, f"cannot read: {e.strerror or e}") from None
    if not data.strip():
        raise HelmOutputError(path, "file is empty")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise HelmOutputError(path, f"invalid JSON (truncated or corrupt): {e}") from None


def run_name(run_dir: str) -> str:
    """A run's ``run_spec.name``, read from its ``run_spec.json``."""
    path = os.path.join(run_dir, "run_spec.json")
    if not os.path.isfile(path):
        if os.path.isdir(run_dir) and not os.listdir(run_dir):
            raise HelmOutputError(run_dir, "empty run directory (no run_spec.json); the run probably failed")
        raise HelmOutputError(path, "file is missing")
    obj = read_json(path)
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        raise HelmOutputError(path, "field 'name' should be a string")
    return obj["name"]


def read_run_rows(table: str, ref: RunRef) -> list[dict]:
    """All rows of one run for one table, each with ``suite`` and ``run_spec.name``.

    Raises :class:`HelmOutputError` for any problem with the run's files.
    """
    name = run_name(ref.path)
    path = os.path.join(ref.path, TABLE_FILES[table])
    rows = ROW_MAKERS[table](read_json(path), path)
    for row in rows:
        row["suite"] = ref.suite
        row["run_spec.name"] = name
    return rows


def _read_chunk(table: str, refs: list[RunRef]) -> tuple[pd.DataFrame, list[tuple[int, str, str]]]:
    """Worker: rows of several runs as one DataFrame, plus ``(index, path, problem)`` per failed run."""
    rows, failures = [], []
    for i, ref in enumerate(refs):
        try:
            run_rows = read_run_rows(table, ref)
        except HelmOutputError as e:
            failures.append((i, e.path, e.problem))
            continue
        for row in run_rows:
            row[table_cache.RUN_DIR_COLUMN] = ref.path
        rows.extend(run_rows)
    return pd.DataFrame.from_records(rows) if rows else pd.DataFrame(), failures


def _signature(ref: RunRef, table: str) -> list | None:
    sig = []
    for name in ("run_spec.json", TABLE_FILES[table]):
        try:
            st = os.stat(os.path.join(ref.path, name))
        except OSError:
            return None
        sig.append([st.st_size, st.st_mtime_ns])
    return sig


def _parse(table: str, refs: list[RunRef], n_jobs: int | None):
    """Parse runs, in parallel when there is enough to parse."""
    total = sum(os.path.getsize(p) for r in refs if os.path.isfile(p := os.path.join(r.path, TABLE_FILES[table])))
    n_jobs = n_jobs if n_jobs is not None else (os.cpu_count() or 1)
    if n_jobs <= 1 or len(refs) < 2 * n_jobs or total < PARALLEL_MIN_BYTES:
        frame, failures = _read_chunk(table, refs)
        return [frame], [(refs[i], p, m) for i, p, m in failures]
    from joblib import Parallel, delayed

    n_chunks = min(len(refs), 4 * n_jobs)
    chunks = [refs[i::n_chunks] for i in range(n_chunks)]
    results = Parallel(n_jobs=n_jobs, backend="loky")(delayed(_read_chunk)(table, c) for c in chunks)
    frames, failures = [], []
    for chunk, (frame, chunk_failures) in zip(chunks, results):
        frames.append(frame)
        failures += [(chunk[i], p, m) for i, p, m in chunk_failures]
    return frames, failures


def load_table(
    table: str,
    refs: list[RunRef],
    *,
    errors: str = "raise",
    n_jobs: int | None = None,
    cache_root: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Load one table for the given runs (see :meth:`HelmOutputs.table`)."""
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}")
    check_policy(errors)
    order = {ref.path: i for i, ref in enumerate(refs)}
    by_suite: dict[str, list[RunRef]] = {}
    for ref in refs:
        by_suite.setdefault(str(Path(ref.path).parent), []).append(ref)

    frames, failures = [], []
    for suite_dir, suite_refs in by_suite.items():
        sigs = {ref.path: _signature(ref, table) for ref in suite_refs}
        cached, to_read = None, suite_refs
        others, others_runs = None, {}
        cdir = table_cache.cache_dir_for(suite_dir, cache_root) if cache_root else None
        if cdir is not None:
            cached_df, manifest = table_cache.load(cdir, table)
            old = manifest["runs"]
            names = {os.path.basename(r.path) for r in suite_refs}
            fresh = {os.path.basename(r.path) for r in suite_refs
                     if sigs[r.path] is not None and old.get(os.path.basename(r.path)) == sigs[r.path]}
            if cached_df is not None:
                run_dirs = cached_df[table_cache.RUN_DIR_COLUMN]
                # Runs cached earlier but not asked for now stay in the cache.
                others = cached_df[~run_dirs.isin(names)]
                others_runs = {k: v for k, v in old.items() if k not in names}
                # The cache is keyed by directory name; restore this load's full paths.
                cached = cached_df[run_dirs.isin(fresh)]
                cached = cached.assign(**{table_cache.RUN_DIR_COLUMN: suite_dir + os.sep + cached[table_cache.RUN_DIR_COLUMN]})
            else:
                fresh = set()
            to_read = [r for r in suite_refs if os.path.basename(r.path) not in fresh]
        new_frames, new_failures = _parse(table, to_read, n_jobs) if to_read else ([], [])
        failures += new_failures
        suite_frames = ([cached] if cached is not None else []) + [f for f in new_frames if len(f)]
        frames += suite_frames
        if cdir is not None and new_frames:
            failed = {ref.path for ref, _, _ in new_failures}
            combined = pd.concat(suite_frames, ignore_index=True) if suite_frames else pd.DataFrame()
            if len(combined):
                combined = combined.assign(**{table_cache.RUN_DIR_COLUMN: combined[table_cache.RUN_DIR_COLUMN].map(os.path.basename)})
            if others is not None and len(others):
                combined = pd.concat([combined, others], ignore_index=True, sort=False)
            ok = {os.path.basename(r.path): sigs[r.path] for r in suite_refs if r.path not in failed and sigs[r.path]}
            table_cache.save(cdir, table, combined, {**others_runs, **ok})

    df = _assemble(frames, order)
    skipped, missing = _apply_policy(table, failures, errors, order)
    df.attrs["skipped"] = skipped
    df.attrs["missing"] = missing
    return df


def _assemble(frames: list[pd.DataFrame], order: dict[str, int]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=["suite", "run_spec.name"])
    df = pd.concat(frames, ignore_index=True, sort=False)
    # Rows in run order (as listed), and in file order within a run.
    key = df[table_cache.RUN_DIR_COLUMN].map(order)
    df = df.iloc[key.argsort(kind="stable")].drop(columns=table_cache.RUN_DIR_COLUMN).reset_index(drop=True)
    for col in df.columns[df.dtypes == object]:
        # One missing-value marker in object columns (None), whether fresh or from the cache.
        df[col] = df[col].where(df[col].notna(), None)
    front = ["suite", "run_spec.name"]
    return df[front + [c for c in df.columns if c not in front]]


def _apply_policy(table, failures, errors, order):
    failures = sorted(failures, key=lambda f: order[f[0].path])
    skipped, missing = [], []
    for ref, path, problem in failures:
        optional = os.path.basename(path) in OPTIONAL_FILES and problem == "file is missing"
        if optional:
            missing.append(Skipped(path, problem))
            continue
        if errors == "raise":
            raise HelmOutputError(path, problem)
        skipped.append(Skipped(path, problem))
    if errors != "skip":
        if skipped:
            warnings.warn(f"skipped {len(skipped)} damaged run(s) reading the {table} table; first: {skipped[0]}",
                          HelmOutputWarning, stacklevel=3)
        if missing:
            warnings.warn(f"{len(missing)} run(s) have no {TABLE_FILES[table]} (HELM does not always publish it); "
                          f"they add no rows to {table}; first: {missing[0].path}", HelmOutputWarning, stacklevel=3)
    return skipped, missing
