"""Read runs into tables: fast JSON parsing, parallel workers, the cache, the errors policy.

:func:`load_table` is what ``HelmOutputs.table`` calls. For each run it reads
only the table's own file (plus the small ``run_spec.json`` for the run's
name), parses it with orjson, and flattens it with :mod:`.tables`. Many runs
are parsed in parallel (threads or worker processes); flattened tables are
cached (:mod:`.cache`), so a second load re-reads only changed files.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import orjson
import pandas as pd

from magnet.backends.helm import cache as table_cache
from magnet.backends.helm.errors import HelmOutputError, HelmOutputWarning, Skipped, check_policy
from magnet.errors import user_stacklevel
from magnet.tables.building import gc_paused
from magnet.backends.helm.arrow_rows import ARROW_MAKERS, STRUCT_MAKERS, column_order_key
from magnet.backends.helm.json_batches import read_json_files
from magnet.backends.helm.load_progress import LoadProgress
from magnet.backends.helm.rebuild import REBUILD_FILES, SOURCE_COLUMN, SOURCES, rebuild_rows
from magnet.backends.helm.tables import OPTIONAL_FILES, ROW_MAKERS, TABLE_FILES, TABLES

#: Below this many bytes to parse, loading stays in one process: on 2 cores, starting
#: worker processes and shipping rows back cost more than they save (measured: 5,000
#: stats.json files, 350 MB, load in 3.0 s serial vs 5.7 s with 2 loky workers).
PARALLEL_MIN_BYTES = 256 * 1024 * 1024

#: Most bytes of JSON per chunk for the Arrow-parsed tables: the unit of work for the threads,
#: and one Parquet part of the cache (bigger parts: fewer files to re-open; smaller ones
#: keep both threads busy to the end, so a small corpus gets ~8 chunks per thread).
ARROW_CHUNK_BYTES = 64 * 1024 * 1024

#: Bytes of JSON per call to Arrow's JSON reader, and what a damaged file sends back to
#: the slower file-by-file path.
ARROW_BATCH_BYTES = 16 * 1024 * 1024

#: Column types a table can come in: numpy's (object strings) or Arrow's (``pd.ArrowDtype``).
DTYPE_BACKENDS = ("numpy", "pyarrow")

#: Bytes of JSON per chunk for the tables flattened in Python (run_specs, scenario_states).
PYTHON_CHUNK_BYTES = 64 * 1024 * 1024


class RunRef(NamedTuple):
    """Where one run lives: its suite's name and directory, and its own directory's name.

    Example:
        >>> RunRef("demo", "/out/runs/demo", "mmlu:model=m").path
        '/out/runs/demo/mmlu:model=m'
    """

    suite: str
    suite_dir: str
    name: str

    @property
    def path(self) -> str:
        return self.suite_dir + os.sep + self.name


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
        data = _read_bytes(path)
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


def _read_bytes(path: str | os.PathLike) -> bytes:
    """A file's bytes, read with the fewest system calls (open, fstat, one read, close).

    ``open(path, "rb").read()`` makes a buffered file object and asks the size
    twice; reading 20,000 files of 19 kB this way costs ~20% less (measured:
    18 us against 21-32 us a file).

    Example:
        >>> import tempfile, os
        >>> d = tempfile.mkdtemp()
        >>> with open(os.path.join(d, "a.json"), "wb") as f:
        ...     _ = f.write(b"[1, 2]")
        >>> _read_bytes(os.path.join(d, "a.json"))
        b'[1, 2]'
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        data = os.read(fd, size + 1)  # one byte more: a file that grew since the fstat is read on below
        if len(data) <= size:
            return data
        chunks = [data]
        while more := os.read(fd, 1 << 20):
            chunks.append(more)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _read_run_spec(run_dir: str):
    """A run's parsed ``run_spec.json`` (an empty run directory gets its own message)."""
    path = os.path.join(run_dir, "run_spec.json")
    try:
        return read_json(path)
    except HelmOutputError as e:
        if e.problem == "file is missing" and os.path.isdir(run_dir) and not os.listdir(run_dir):
            raise HelmOutputError(run_dir, "empty run directory (no run_spec.json); the run probably failed") from None
        raise


#: ``run_spec.json`` path -> (size, mtime_ns, run name): each table needs the run names, and
#: loading the four tables would otherwise parse every run_spec.json four times.
_RUN_NAMES: dict[str, tuple[int, int, str]] = {}

#: Most entries kept in :data:`_RUN_NAMES` (then it starts afresh).
RUN_NAMES_MAX = 200_000


def run_name(run_dir: str) -> str:
    """A run's ``run_spec.name``, read from its ``run_spec.json`` (remembered while the file's size and mtime hold).

    Example:
        >>> import json, tempfile
        >>> d = tempfile.mkdtemp()
        >>> with open(d + "/run_spec.json", "w") as f:
        ...     json.dump({"name": "mmlu:model=a_b"}, f)
        >>> run_name(d), run_name(d)
        ('mmlu:model=a_b', 'mmlu:model=a_b')
    """
    path = os.path.join(run_dir, "run_spec.json")
    st = _stat_or_none(path)  # None: _read_run_spec says what is wrong
    if st is not None:
        known = _RUN_NAMES.get(path)
        if known is not None and known[0] == st.st_size and known[1] == st.st_mtime_ns:
            return known[2]
    obj = _read_run_spec(run_dir)
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        raise HelmOutputError(path, "field 'name' should be a string")
    if st is not None:
        _remember_run_name(path, st, obj["name"])
    return obj["name"]


def _stat_or_none(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _remember_run_name(path: str, st: os.stat_result, name: str) -> None:
    """Keep a run's name for :func:`run_name`, with the size and mtime its run_spec.json had."""
    if len(_RUN_NAMES) >= RUN_NAMES_MAX:
        _RUN_NAMES.clear()
    _RUN_NAMES[path] = (st.st_size, st.st_mtime_ns, name)


def read_run_rows(table: str, ref: RunRef) -> list[dict]:
    """All rows of one run for one table, each with ``suite`` and ``run_spec.name``.

    Raises :class:`HelmOutputError` for any problem with the run's files.
    """
    path = os.path.join(ref.path, TABLE_FILES[table])
    if table == "run_specs":  # the table's own file holds the name: parse it once, and remember the name
        st = _stat_or_none(path)  # None: _read_run_spec says what is wrong
        rows = ROW_MAKERS[table](_read_run_spec(ref.path), path)
        name = rows[0]["run_spec.name"]
        if st is not None:  # stat'ed before the read: a file changed in between is parsed again next time
            _remember_run_name(path, st, name)
    elif table == "scenario_states":
        name = run_name(ref.path)
        rows = _scenario_state_rows(ref.path, path)
    else:
        name = run_name(ref.path)
        rows = ROW_MAKERS[table](read_json(path), path)
    for row in rows:
        row["suite"] = ref.suite
        row["run_spec.name"] = name
    return rows


def _scenario_state_rows(run_dir: str, path: str) -> list[dict]:
    """A run's request-state rows, each naming its source: ``scenario_state.json``, else rebuilt (:mod:`.rebuild`)."""
    try:
        rows, source = ROW_MAKERS["scenario_states"](read_json(path), path), SOURCES[0]
    except HelmOutputError as e:
        if e.problem != "file is missing":
            raise
        rows, source = rebuild_rows(run_dir, _read_run_spec(run_dir))
    for row in rows:
        row[SOURCE_COLUMN] = source
    return rows


def _read_chunk(table: str, refs: list[RunRef], cache_dir: str | None = None, sizes: list[int] | None = None,
                keep: bool = False, columns: list[str] | None = None):
    """Worker: rows of several runs as one frame, plus ``(index, path, problem)`` per failed run.

    The frame is an Arrow table for the numeric tables (see :mod:`.arrow_rows`)
    and a DataFrame for the others; its run-directory column holds directory names.
    With ``cache_dir`` (the suite's cache folder) the frame is written there as a
    cache part at once and ``((part id, manifest entry), frame)`` comes back
    instead, the frame only with ``keep`` (else None), projected to ``columns``.
    """
    frame, failures = _read_chunk_arrow(table, refs, sizes) if table in ARROW_MAKERS else _read_chunk_rows(table, refs)
    if cache_dir is None:
        return frame, failures
    if frame is None:
        return (None, None), failures
    written = table_cache.write_part(cache_dir, table, frame)
    if not keep:
        return (written, None), failures
    return (written, _frames_for(table).project(frame, _with_keys(columns)) if columns else frame), failures


def _with_keys(columns: list[str]) -> list[str]:
    """The columns plus those every frame keeps: suite, run name, run directory."""
    return ["suite", "run_spec.name", table_cache.RUN_DIR_COLUMN, *columns]


def _read_chunk_rows(table: str, refs: list[RunRef]):
    """:func:`_read_chunk` for the tables flattened in Python."""
    rows, run_dirs, failures = [], [], []
    for i, ref in enumerate(refs):
        try:
            run_rows = read_run_rows(table, ref)
        except HelmOutputError as e:
            failures.append((i, e.path, e.problem))
            continue
        rows.extend(run_rows)
        run_dirs += [ref.name] * len(run_rows)
    if not rows:
        return None, failures
    return _frame_from_rows(rows, pd.Index(run_dirs, name=table_cache.RUN_DIR_COLUMN)), failures


def _frame_from_rows(rows: list[dict], index=None) -> pd.DataFrame:
    """Rows (dicts) as a DataFrame: ``suite`` and ``run_spec.name`` first, then the other keys in order of appearance.

    The frame ``pd.DataFrame.from_records`` gives (each column's type inferred the
    same way: integers with gaps become float64 with NaN), except that a key absent
    from a row is None in object columns, not NaN; built in one pass over the
    cells, 2-5x faster than ``from_records`` and replacing its NaNs (measured:
    36 real runs' scenario_states in 1.8 ms against 8.2 ms; 1,000 runs' in 37 ms
    against 91 ms).

    Example:
        >>> df = _frame_from_rows([{"a": "x", "b": 1, "c": [1], "suite": "s", "run_spec.name": "r"},
        ...                        {"b": 2, "d": True, "suite": "s", "run_spec.name": "r"}])
        >>> list(df.columns), df["a"].tolist(), df["b"].dtype.name, df["c"].tolist(), df["d"].tolist()
        (['suite', 'run_spec.name', 'a', 'b', 'c', 'd'], ['x', None], 'int64', [[1], None], [None, True])
    """
    import numpy as np

    n = len(rows)
    values: dict[str, list] = {"suite": [None] * n, "run_spec.name": [None] * n}
    for i, row in enumerate(rows):  # one pass over the cells present (rows are sparse: per-scenario fields)
        for key, value in row.items():
            column = values.get(key)
            if column is None:
                column = values[key] = [None] * n
            column[i] = value
    columns = {key: _infer_column(np.fromiter(column, dtype=object, count=n)) for key, column in values.items()}
    return pd.DataFrame(columns, index=index, copy=False)


def _infer_column(values):
    """An object array of one column's values converted as ``from_records`` converts them (numbers to numpy types)."""
    try:
        from pandas._libs.lib import maybe_convert_objects  # what from_records itself calls
    except ImportError:  # pragma: no cover - a pandas without it: the public, slower inference
        return pd.Series(values.tolist()).to_numpy()
    return maybe_convert_objects(values)


def _none_for_missing(df: pd.DataFrame, columns=None) -> pd.DataFrame:
    """One missing-value marker in object columns: None (a field absent from a row comes back NaN).

    Example:
        >>> _none_for_missing(pd.DataFrame.from_records([{"a": "x", "b": 1}, {"b": 2}]))["a"].tolist()
        ['x', None]
        >>> df = pd.DataFrame({"a": ["x", float("nan")]}, index=["r1", "r1"])   # a repeated index
        >>> _none_for_missing(df)["a"].tolist()
        ['x', None]
    """
    objects = df.columns[df.dtypes == object]
    if columns is not None:  # only these may hold NaNs
        objects = [c for c in objects if c in columns]
    for col in objects:  # by position: the index may repeat (run directories)
        values = df[col].to_numpy(copy=True)
        missing = pd.isna(values)
        if missing.any():
            values[missing] = None
            df[col] = values
    return df


def _read_chunk_arrow(table: str, refs: list[RunRef], sizes: list[int] | None = None):
    """Like :func:`_read_chunk`, flattening in Arrow.

    The chunk is parsed by Arrow's JSON reader in batches of about
    :data:`ARROW_BATCH_BYTES` of files per call (:mod:`.json_batches`); if any
    file in a batch is damaged or unusual, that batch is read file by file,
    where a file Arrow cannot take goes through the validating Python path
    (which raises with the reason). ``sizes`` are the files' sizes, if known.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    tables, keys, failures, good = [], [], [], []
    for i, ref in enumerate(refs):
        try:
            good.append((i, ref, run_name(ref.path)))
        except HelmOutputError as e:
            failures.append((i, e.path, e.problem))
    if sizes is None:
        sizes = _table_file_sizes(table, refs)
    for batch in _byte_chunks(good, [sizes[i] for i, _, _ in good], ARROW_BATCH_BYTES):
        parsed = _read_batch_arrow(table, batch, [sizes[i] for i, _, _ in batch])
        if parsed is not None:
            tables += parsed[0]
            keys += parsed[1]
            continue
        for i, ref, name in batch:
            try:
                path = os.path.join(ref.path, TABLE_FILES[table])
                obj = read_json(path)
                t = ARROW_MAKERS[table](obj)
                if t is None:  # unexpected shape or types: validate field by field (raises with the reason)
                    rows = ROW_MAKERS[table](obj, path)
                    t = pa.Table.from_pandas(pd.DataFrame.from_records(rows), preserve_index=False) if rows else None
            except HelmOutputError as e:
                failures.append((i, e.path, e.problem))
                continue
            if t is not None and t.num_rows:
                tables.append(t)
                keys.append((ref.suite, name, ref.name, t.num_rows))
    if not tables:
        return None, failures
    combined = _dictionary_strings(pa.concat_tables(tables, promote_options="permissive"))
    codes = pa.array(np.repeat(np.arange(len(keys), dtype=np.int32), [k[3] for k in keys]))
    for col, idx in (("suite", 0), ("run_spec.name", 1), (table_cache.RUN_DIR_COLUMN, 2)):
        per_run = pc.dictionary_encode(pa.array([k[idx] for k in keys]))  # unique dictionary
        combined = combined.append_column(col, per_run.take(codes))
    return combined, failures


def _table_file_sizes(table: str, refs: list[RunRef]) -> list[int]:
    """Each run's table file size in bytes (0 when it cannot be stat'ed)."""
    return [_file_size(os.path.join(ref.path, TABLE_FILES[table])) for ref in refs]


def _file_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _read_batch_arrow(table: str, good: list[tuple[int, RunRef, str]], sizes: list[int] | None = None):
    """All runs' table files parsed in one Arrow call: ``([table], keys)``, or None to go file by file."""
    import pyarrow.compute as pc

    if not good:
        return None
    lists = read_json_files([os.path.join(ref.path, TABLE_FILES[table]) for _, ref, _ in good], sizes)
    if lists is None or not _is_list_type(lists.type):
        return None
    lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False)
    t = STRUCT_MAKERS[table](pc.list_flatten(lists))
    if t is None:
        return None
    entry_rows = _rows_per_entry(table, lists, lengths)
    keys = [(ref.suite, name, ref.name, int(n)) for (_, ref, name), n in zip(good, entry_rows)]
    return [t], keys


def _is_list_type(t) -> bool:
    import pyarrow as pa

    return pa.types.is_list(t) or pa.types.is_large_list(t)


def _rows_per_entry(table: str, lists, lengths):
    """Rows each file contributes: its records (stats), or the stats of its entries (per_instance_stats)."""
    import numpy as np
    import pyarrow.compute as pc

    if table == "stats":
        return lengths
    entries = pc.list_flatten(lists)
    stats_per_entry = pc.list_value_length(entries.field("stats")).to_numpy(zero_copy_only=False)
    file_of_entry = np.repeat(np.arange(len(lengths)), lengths)
    return np.bincount(file_of_entry, weights=stats_per_entry, minlength=len(lengths)).astype(np.int64)


def _dictionary_strings(table):
    """Dictionary-encode string columns (few distinct values: metric names, splits, perturbations)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for i, field in enumerate(table.schema):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            table = table.set_column(i, field.name, pc.dictionary_encode(table.column(i)))
    return table


def _signatures(refs: list[RunRef], table: str, stat=os.stat) -> list[list | None]:
    """``[[size, mtime_ns], ...]`` of each run's source files (None if one is missing), in order.

    Serial: on local disks a stat is a few microseconds, and threads cost more
    than they save (measured: 10,000 stats in 0.03 s serial, 0.05 s in 2 threads).
    ``stat``: how to stat a path (:func:`stat_memo` when several tables are loaded at once).
    """
    sigs = []
    spec = os.sep + "run_spec.json"
    own = os.sep + TABLE_FILES[table]
    for ref in refs:
        path = ref.suite_dir + os.sep + ref.name
        try:
            a = stat(path + spec)
            if own == spec:
                sigs.append([[a.st_size, a.st_mtime_ns]])
            else:
                b = stat(path + own)
                sigs.append([[a.st_size, a.st_mtime_ns], [b.st_size, b.st_mtime_ns]])
        except OSError:
            sigs.append(_rebuild_signature(path, stat) if table == "scenario_states" else None)
    return sigs


def stat_memo():
    """An ``os.stat`` that remembers each path's result, for one load of several tables.

    Each table's cache key stats the runs' ``run_spec.json`` besides the
    table's own file; loading the four tables at once stats it once, not four
    times. A file that changes during that load is seen at the next one.

    Example:
        >>> import tempfile, os
        >>> d = tempfile.mkdtemp()
        >>> stat = stat_memo()
        >>> first = stat(d)
        >>> os.utime(d, ns=(1, 1))
        >>> stat(d) is first, os.stat(d).st_mtime_ns
        (True, 1)
    """
    seen: dict = {}

    def stat(path):
        result = seen.get(path)
        if result is None:
            result = seen[path] = os.stat(path)  # a missing file raises, each time (not remembered)
        return result

    return stat


def _rebuild_signature(run_path: str, stat=os.stat) -> list | None:
    """Cache key of a run whose request states are rebuilt: its run_spec.json and the files they come from.

    A marker entry ``[-1, -1]`` tells it apart from a run read from its own ``scenario_state.json``.
    """
    sig = [[-1, -1]]
    for name in ("run_spec.json", *REBUILD_FILES):
        try:
            st = stat(run_path + os.sep + name)
        except OSError:
            if name == "run_spec.json":
                return None
            continue
        sig.append([st.st_size, st.st_mtime_ns])
    return sig if len(sig) > 2 else None


def _parse(table: str, refs: list[RunRef], n_jobs: int | None, cache_dir: str | None = None,
           sizes: list[int] | None = None, columns: list[str] | None = None, progress=None):
    """Parse runs in chunks (contiguous, results in order), in parallel when there is enough to parse.

    The Arrow-flattened tables parse in threads (Arrow's JSON reader releases
    the GIL), in chunks of about :data:`ARROW_CHUNK_BYTES`; the others in
    chunks of :data:`PYTHON_CHUNK_BYTES`, in worker processes above
    :data:`PARALLEL_MIN_BYTES`. Either way only a few chunks' parsed JSON
    is in memory at once; what is kept is the flattened (columnar) result.
    With ``cache_dir`` each chunk also becomes a cache part, and comes back as
    ``(chunk, (part id, manifest entry), frame)``: the frame (projected to
    ``columns``) when it was made in this process, None from worker processes,
    whose frames are read back from their parts rather than shipped.
    ``sizes`` are the table files' sizes when the caller has them (else stat'ed here).
    ``progress`` (a :class:`.load_progress.LoadProgress`) is told the bytes to parse
    and each chunk's bytes as it is done.
    """
    if sizes is None:
        sizes = _table_file_sizes(table, refs)
    n_jobs = n_jobs if n_jobs is not None else (os.cpu_count() or 1)
    size_of = dict(zip(refs, sizes))
    if progress is not None:
        progress.add(sum(sizes))

    def done(chunk, result):
        if progress is not None:
            progress.advance(sum(size_of[r] for r in chunk))
        return result

    if table in ARROW_MAKERS:
        # Enough chunks to keep every thread busy to the end, none above ARROW_CHUNK_BYTES.
        target = min(ARROW_CHUNK_BYTES, max(ARROW_BATCH_BYTES, sum(sizes) // (8 * max(n_jobs, 1))))
        chunks = _byte_chunks(refs, sizes, target)

        def read(chunk):
            return _read_chunk(table, chunk, cache_dir, [size_of[r] for r in chunk], True, columns)

        if n_jobs <= 1 or len(chunks) == 1:
            results = [done(c, read(c)) for c in chunks]
        else:
            from concurrent.futures import ThreadPoolExecutor, as_completed

            with ThreadPoolExecutor(max_workers=n_jobs) as pool:
                futures = {pool.submit(read, c): c for c in chunks}
                for future in as_completed(futures):
                    done(futures[future], None)
                results = [f.result() for f in futures]  # in chunk order
    elif n_jobs <= 1 or len(refs) < 2 * n_jobs or sum(sizes) < PARALLEL_MIN_BYTES:
        # Chunk by chunk, each flattened into a frame before the next is parsed: the parsed
        # JSON of one chunk is held at a time, never the whole corpus's.
        chunks = _byte_chunks(refs, sizes, PYTHON_CHUNK_BYTES)
        results = [done(c, _read_chunk(table, c, cache_dir, keep=True, columns=columns)) for c in chunks]
    else:
        from joblib import Parallel, delayed

        n_chunks = min(len(refs), 4 * n_jobs)
        bounds = [round(i * len(refs) / n_chunks) for i in range(n_chunks + 1)]
        chunks = [refs[a:b] for a, b in zip(bounds, bounds[1:])]
        stream = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")(
            delayed(_read_chunk)(table, c, cache_dir) for c in chunks)
        results = [done(c, result) for c, result in zip(chunks, stream)]
    frames, failures = [], []
    for chunk, (frame, chunk_failures) in zip(chunks, results):
        frames.append((chunk, *frame) if cache_dir is not None else frame)
        failures += [(chunk[i], p, m) for i, p, m in chunk_failures]
    return frames, failures


def _byte_chunks(refs: list, sizes: list[int], target: int) -> list[list]:
    """Contiguous chunks of runs (or anything sized) holding about ``target`` bytes each (at least one)."""
    chunks, current, total = [], [], 0
    for ref, size in zip(refs, sizes):
        if current and total + size > target:
            chunks.append(current)
            current, total = [], 0
        current.append(ref)
        total += size
    return chunks + [current] if current else chunks


class _PandasFrames:
    """Frame operations for the DataFrame-based tables, whose index holds each row's run directory."""

    @staticmethod
    def concat(frames):
        frames = [f for f in frames if f is not None and len(f)]
        if len(frames) <= 1:
            return frames[0] if frames else None
        df = pd.concat(frames, sort=False)
        gaps = set(df.columns) - set.intersection(*(set(f.columns) for f in frames))  # absent somewhere: NaN there
        return _none_for_missing(df, gaps) if gaps else df

    @staticmethod
    def order_key(frame, position: dict):
        return frame.index.map(position).to_numpy()

    @staticmethod
    def select(frame, names: set, keep: bool):
        mask = frame.index.isin(names)
        return frame[mask if keep else ~mask]

    @staticmethod
    def take(frame, order):
        return frame.iloc[order]

    @staticmethod
    def to_pandas(frame, dtype_backend: str = "numpy"):
        df = frame
        df.index = pd.RangeIndex(len(df))  # the run directories go (in place: the frame is this load's own)
        if dtype_backend == "pyarrow":  # lists and mappings stay Python objects
            df = df.convert_dtypes(dtype_backend="pyarrow", convert_integer=False)
        return df

    @staticmethod
    def project(frame, columns):
        return frame[[c for c in dict.fromkeys(columns) if c in frame.columns]]


class _ArrowFrames:
    """Frame operations for the Arrow-based tables."""

    @staticmethod
    def concat(frames):
        import pyarrow as pa

        frames = [f for f in frames if f is not None and f.num_rows]
        if len(frames) <= 1:
            return frames[0] if frames else None
        # Dictionary columns from different chunks have different dictionaries: unify them.
        return pa.concat_tables(frames, promote_options="permissive").unify_dictionaries()

    @staticmethod
    def _dict(frame):
        """(directory names, per-row index into them) of the run-directory column."""
        import pyarrow as pa
        import pyarrow.compute as pc

        col = frame.column(table_cache.RUN_DIR_COLUMN).combine_chunks()
        if not pa.types.is_dictionary(col.type):
            col = pc.dictionary_encode(col)
        return col.dictionary.to_pylist(), col.indices.to_numpy(zero_copy_only=False)

    @staticmethod
    def order_key(frame, position: dict):
        import numpy as np

        values, indices = _ArrowFrames._dict(frame)
        return np.asarray([position.get(v, -1) for v in values], dtype=np.int64)[indices]  # unused entries: -1

    @staticmethod
    def select(frame, names: set, keep: bool):
        import numpy as np

        values, indices = _ArrowFrames._dict(frame)
        inside = np.asarray([v in names for v in values], dtype=bool)[indices]
        return frame.filter(inside if keep else ~inside)

    @staticmethod
    def take(frame, order):
        return frame.take(order)

    @staticmethod
    def project(frame, columns):
        present = set(frame.column_names)
        return frame.select([c for c in dict.fromkeys(columns) if c in present])

    @staticmethod
    def to_pandas(frame, dtype_backend: str = "numpy"):
        """To pandas with plain object columns of strings, built without one Python string per row.

        Each numeric or boolean column converts with one Arrow call (as
        ``Table.to_pandas`` would: integers with nulls become float64 with NaN,
        booleans with nulls objects with None), without going through
        ``pyarrow.pandas_compat``, whose per-table overhead (~1 ms, and its
        import on first use) is most of a small suite's load; each string
        column becomes an object array indexing its few distinct values
        (dictionary encoding); the columns are put together without
        consolidating the object ones into one block, which would copy them all
        (measured on 610,000 stats rows: 0.05 s, against 0.08 s inserting
        column by column and 0.14 s consolidated).
        With ``dtype_backend="pyarrow"`` every column stays in Arrow memory
        (``pd.ArrowDtype``), strings decoded from their dictionaries.
        """
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        frame = frame.drop_columns([table_cache.RUN_DIR_COLUMN])
        front = ["suite", "run_spec.name"]
        rest = sorted((c for c in frame.column_names if c not in front), key=column_order_key)
        frame = frame.select(front + rest)
        if dtype_backend == "pyarrow":
            for i, field in enumerate(frame.schema):
                if pa.types.is_dictionary(field.type):
                    frame = frame.set_column(i, field.name, frame.column(i).cast(field.type.value_type))
            return frame.to_pandas(types_mapper=pd.ArrowDtype)
        columns = {}
        for field in frame.schema:
            name = field.name
            if not _is_string_like(field.type):
                columns[name] = _column_to_numpy(frame.column(name))
                continue
            col = frame.column(name).combine_chunks()
            if not pa.types.is_dictionary(col.type):
                col = pc.dictionary_encode(col)
            indices = col.indices.to_numpy(zero_copy_only=False)  # float with NaN where missing
            if col.indices.null_count:  # not pc.fill_null: its first call costs ~2 ms
                indices = np.nan_to_num(indices, nan=-1).astype(np.intp)
            values = np.empty(len(col.dictionary) + 1, dtype=object)
            values[:-1] = col.dictionary.to_pylist()  # values[-1] stays None: index -1 is a missing value
            columns[name] = values[indices]
        return pd.DataFrame(columns, copy=False)


def _column_to_numpy(col):
    """A non-string Arrow column as the writable numpy array ``Table.to_pandas`` would give it.

    Example:
        >>> import pyarrow as pa
        >>> _column_to_numpy(pa.chunked_array([[1, None]])).tolist(), _column_to_numpy(pa.chunked_array([[True, None]]))
        ([1.0, nan], array([True, None], dtype=object))
    """
    import pyarrow as pa

    t = col.type
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_null(t):
        arr = col.to_numpy()
        return arr if arr.flags.writeable else arr.copy()
    return pa.table({"c": col}).to_pandas()["c"].to_numpy()  # anything else: Arrow's own conversion


def _frames_for(table: str):
    """The frame operations of a table: Arrow tables for the Arrow-flattened ones, else DataFrames."""
    return _ArrowFrames if table in ARROW_MAKERS else _PandasFrames


def _is_string_like(t) -> bool:
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        t = t.value_type
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _load_cached(table: str, refs: list[RunRef], cdir, ops, n_jobs, columns, retries: int | None = None,
                 progress=None, sig_list: list | None = None):
    """One suite's rows through its cache: re-read changed runs into new parts, then read the asked runs' rows.

    Returns ``(frame, failures, in_order)``; ``in_order`` is True when the rows
    are known to be in the runs' order already (every asked run read whole from
    parts whose runs, in row order, follow the listing): no sorting needed.
    A part that cannot be read (deleted or damaged
    by another process) is forgotten and its runs re-read into new parts; each
    retry forgets at least one part, so this ends, at worst with
    :class:`.cache.CacheMiss` after one retry per part. ``sig_list``: the
    runs' signatures (:func:`_signatures`) when the caller has them.
    """
    names = [r.name for r in refs]
    if sig_list is None:
        sig_list = _signatures(refs, table)
    key = table_cache.listing_key(names, sig_list)
    if key is not None and retries is None:  # nothing changed since a load that ended in whole parts, in order
        snapshot = table_cache.load_snapshot(cdir, table)
        if snapshot is not None and snapshot["key"] == key:
            try:
                frames = list(table_cache.read_part_files(cdir, table, snapshot["parts"], columns,
                                                          ops is _ArrowFrames))
                return ops.concat(frames), [], True
            except table_cache.CacheMiss:
                pass  # a part went away: the manifest knows what to re-read
    sigs = dict(zip(names, sig_list))
    manifest = table_cache.load_manifest(cdir, table)
    retries = len(manifest.parts) if retries is None else retries
    to_read = [r for r in refs if not manifest.fresh(r.name, sigs[r.name])]
    sizes = [sigs[r.name][-1][0] if sigs[r.name] else 0 for r in to_read]  # the cache key stat'ed them already
    parts, failures = _parse(table, to_read, n_jobs, cdir, sizes, columns, progress) if to_read else ([], [])
    position = {name: i for i, name in enumerate(names)}
    fresh_frames, in_memory = [], set()  # chunks flattened in this process need not be read back
    if to_read:
        failed = {ref for ref, _, _ in failures}
        for chunk, written, frame in parts:
            part = None
            if written is not None:
                part, info = written
                manifest.parts[part] = info
                manifest.known.add(part)
            if frame is not None:
                fresh_frames.append((position[chunk[0].name], frame))
                in_memory.add(part)
            for ref in chunk:
                if ref in failed or sigs[ref.name] is None:
                    manifest.runs.pop(ref.name, None)
                else:
                    manifest.runs[ref.name] = {"sig": sigs[ref.name], "part": part}
        table_cache.save_manifest(cdir, table, manifest)
    asked = [r.name for r in refs if r.name in manifest.runs and manifest.runs[r.name]["part"] not in in_memory]
    try:
        read = list(table_cache.read_parts(cdir, table, manifest, asked, columns, ops is _ArrowFrames))
        first_of_part: dict = {}  # each part's first asked run, by position: the order read_parts yields them
        for n in asked:
            first_of_part.setdefault(manifest.runs[n]["part"], position[n])
        first_of_part.pop(None, None)
        read_pieces = [(pos, f if keep is None else ops.select(f, keep, keep=True))
                       for pos, (f, keep) in zip(first_of_part.values(), read)]
        # Pieces in the order of their first run: columns then come in the order a cold load gives them.
        pieces = [f for _, f in sorted(fresh_frames + read_pieces, key=lambda piece: piece[0])]
    except table_cache.CacheMiss as miss:
        if retries <= 0:
            raise
        table_cache.forget_parts(cdir, table, manifest, miss.part)
        return _load_cached(table, refs, cdir, ops, n_jobs, columns, retries - 1, progress)
    in_order = not fresh_frames and all(keep is None for _, keep in read) and _runs_in_order(
        _runs_of_parts(manifest, _parts_of(manifest, asked)), names)
    if key is not None and not failures:
        _save_snapshot_if_whole(cdir, table, key, names, manifest)
    return ops.concat(pieces), failures, in_order


def _save_snapshot_if_whole(cdir, table: str, key: str, names: list[str], manifest) -> None:
    """Save a snapshot (:func:`.cache.save_snapshot`) when the listed runs' rows are exactly some parts, whole,
    in order."""
    if not all(n in manifest.runs for n in names):
        return
    parts = _parts_of(manifest, names)
    if _runs_of_parts(manifest, parts) == [n for n in names if manifest.runs[n]["part"] is not None]:
        table_cache.save_snapshot(cdir, table, key, [(p, manifest.parts[p]["file"]) for p in parts])


def _parts_of(manifest, runs: list[str]) -> list[str]:
    """The parts holding these (cached) runs' rows, each once, in the order of their first run."""
    return [p for p in dict.fromkeys(manifest.runs[n]["part"] for n in runs) if p is not None]


def _runs_of_parts(manifest, parts: list[str]) -> list[str]:
    """The runs whose rows these parts hold, in row order."""
    return [run for p in parts for run in manifest.parts[p]["runs"]]


def _runs_in_order(runs: list[str], listed: list[str]) -> bool:
    """True when ``runs`` (the run directories of rows, in row order, each once) follow the order of ``listed``.

    Example:
        >>> _runs_in_order(["a", "c"], ["a", "b", "c"]), _runs_in_order(["c", "a"], ["a", "b", "c"])
        (True, False)
    """
    position = {name: i for i, name in enumerate(listed)}
    last = -1
    for run in runs:
        i = position.get(run, -1)
        if i <= last:
            return False
        last = i
    return True


def load_table(
    table: str,
    refs: list[RunRef],
    *,
    errors: str = "raise",
    n_jobs: int | None = None,
    cache_root: str | os.PathLike | None = None,
    columns: list[str] | None = None,
    dtype_backend: str = "numpy",
    progress: bool | None = None,
    stat=os.stat,
) -> pd.DataFrame:
    """Load one table for the given runs (see :meth:`HelmOutputs.table`).

    ``columns`` projects the result; when every run is cached, only those
    columns are read from the cache (less time and memory).
    ``dtype_backend`` is ``"numpy"`` (object strings, float64 with NaN) or
    ``"pyarrow"`` (``pd.ArrowDtype`` columns, as in pandas' own readers).
    ``progress``: a bar of bytes parsed on a terminal: True, False, or None (the
    default) for only when there is much to parse (see :mod:`.load_progress`).
    ``stat``: how the cache key stats files (:func:`stat_memo` for :func:`load_tables`).
    """
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}")
    if dtype_backend not in DTYPE_BACKENDS:
        raise ValueError(f"dtype_backend must be one of {', '.join(DTYPE_BACKENDS)}, got {dtype_backend!r}")
    check_policy(errors)
    ops = _frames_for(table)
    order = {ref: i for i, ref in enumerate(refs)}
    by_suite: dict[str, list[RunRef]] = {}
    for ref in refs:
        by_suite.setdefault(ref.suite_dir, []).append(ref)

    front = ["suite", "run_spec.name"]
    finished = _FinishedTable.of(table, by_suite, cache_root, dtype_backend, stat)
    with gc_paused():
        df, rebuilt = finished.load() if finished else (None, None)
        if df is None:
            keep = finished is not None and finished.listing_seen_before()
            bar = LoadProgress(table, progress)  # shown only for long parses on a terminal
            frame, failures = _load_suites(table, by_suite, ops, n_jobs, cache_root, columns, bar,
                                           finished.sigs if finished else None)
            rebuilt = _rebuilt_runs(frame, refs) if table == "scenario_states" else []
            if columns and frame is not None:  # project before converting: only the asked columns become pandas
                frame = ops.project(frame, [*front, table_cache.RUN_DIR_COLUMN, *columns])
            df = ops.to_pandas(frame, dtype_backend) if frame is not None else pd.DataFrame(columns=front)
            if keep and not failures and not columns:
                finished.save(df, rebuilt)
        else:
            failures = []
    if columns:
        unknown = sorted(set(columns) - set(df.columns)) if len(df) else []
        if unknown:
            raise ValueError(f"unknown columns for the {table} table: {', '.join(unknown)}")
        df = df[front + [c for c in columns if c not in front and c in df.columns]]
    elif list(df.columns[:2]) != front:
        df = df[front + [c for c in df.columns if c not in front]]
    skipped, missing = _apply_policy(table, failures, errors, order, rebuilt)
    df.attrs["skipped"] = skipped
    df.attrs["missing"] = missing
    if table == "scenario_states":
        suite_of = {os.path.join(ref.path, TABLE_FILES[table]): ref.suite for ref in refs}
        # keyed by (suite, run name): two releases of one benchmark share run names
        df.attrs["rebuilt"] = {(suite_of.get(path), run): source for run, path, source in rebuilt}
    return df


@dataclass
class _FinishedTable:
    """The finished table of a one-suite load kept in its cache (:func:`.cache.save_frame`), by listing digest.

    A load whose runs and files are unchanged since a load that ended without
    failures unpickles the table it returned, and does nothing else: no part
    to read, concatenate, convert or reorder. The table is kept by the second
    load of an unchanged listing:
    writing it costs about as much as a cached load (5,000 real runs: ~0.6 s),
    which a suite that changes between loads (runs still being added) would
    otherwise pay each time, for nothing. Loads of several suites at once go
    through each suite's parts (their tables differ in columns and dtypes).
    """

    table: str
    cdir: Path
    refs: list
    sigs: list
    key: str
    dtype_backend: str

    @classmethod
    def of(cls, table, by_suite: dict, cache_root, dtype_backend: str, stat=os.stat) -> "_FinishedTable | None":
        """The finished table to look for, or None (no cache, several suites, a run lacking a file)."""
        if not cache_root or len(by_suite) != 1:
            return None
        (suite_dir, refs), = by_suite.items()
        sigs = _signatures(refs, table, stat)
        key = table_cache.listing_key([r.name for r in refs], sigs)
        if key is None:
            return None
        return cls(table, table_cache.cache_dir_for(suite_dir, cache_root), refs, sigs, key, dtype_backend)

    def load(self):
        """``(DataFrame, rebuilt runs)`` as the load that saved it returned them, or ``(None, None)``."""
        found = table_cache.load_frame(self.cdir, self.table, self.key, self.dtype_backend)
        if found is None:
            return None, None
        df, rebuilt = found
        paths = {r.name: r.path for r in self.refs}  # paths as this load spells them
        return df, [(run, os.path.join(paths[d], TABLE_FILES[self.table]), source) for run, d, source in rebuilt]

    def listing_seen_before(self) -> bool:
        """True when the previous load of this table that missed found the same listing."""
        return table_cache.listing_seen_before(self.cdir, self.table, self.key)

    def save(self, df, rebuilt) -> None:
        """Keep ``df`` (and which runs were rebuilt, by run directory) for the next load of this listing."""
        runs = {os.path.join(r.path, TABLE_FILES[self.table]): r.name for r in self.refs}
        if all(path in runs for _, path, _ in rebuilt):
            table_cache.save_frame(self.cdir, self.table, self.key, self.dtype_backend, df,
                                   [(run, runs[path], source) for run, path, source in rebuilt])


def load_tables(tables, refs: list[RunRef], **kwargs) -> dict[str, pd.DataFrame]:
    """Several tables of the same runs, ``{table: DataFrame}``: :func:`load_table` for each, the files stat'ed once.

    Example:
        >>> from magnet.backends.helm.outputs import HelmOutputs
        >>> outputs = HelmOutputs.demo(preset="small")
        >>> refs = [RunRef(s.name, str(s.path), n) for s in outputs.suites() for n in s.run_dir_names()]
        >>> both = load_tables(["run_specs", "stats"], refs, cache_root=None)
        >>> both["stats"].equals(load_table("stats", refs))
        True
    """
    unknown = [t for t in tables if t not in TABLES]
    if unknown:  # before loading any of them
        raise ValueError(f"unknown table {unknown[0]!r}; expected one of {', '.join(TABLES)}")
    stat = stat_memo()
    return {table: load_table(table, refs, stat=stat, **kwargs) for table in tables}


def _load_suites(table, by_suite, ops, n_jobs, cache_root, columns, bar, sig_list=None):
    """``(frame, failures)``: each suite's rows (through its cache, if any), in the runs' order, concatenated.

    ``sig_list``: the runs' signatures, when there is one suite and they were taken already.
    """
    import numpy as np

    suite_frames, failures = [], []
    try:
        for suite_dir, suite_refs in by_suite.items():
            cdir = table_cache.cache_dir_for(suite_dir, cache_root) if cache_root else None
            frame, in_order = None, False
            if cdir is not None:
                try:
                    frame, suite_failures, in_order = _load_cached(table, suite_refs, cdir, ops, n_jobs, columns,
                                                                   progress=bar, sig_list=sig_list)
                except table_cache.CacheMiss:  # a part went missing under us: read the JSON, cache nothing
                    cdir = None
            if cdir is None:
                new_frames, suite_failures = _parse(table, suite_refs, n_jobs, progress=bar)
                frame, in_order = ops.concat(new_frames), True  # contiguous chunks, in the runs' order
            failures += suite_failures
            if frame is not None and not in_order:
                # Rows in run order (as listed), and in file order within a run.
                position = {r.name: i for i, r in enumerate(suite_refs)}
                key = ops.order_key(frame, position)
                if len(key) and (np.diff(key) < 0).any():
                    frame = ops.take(frame, np.argsort(key, kind="stable"))
            if frame is not None:
                suite_frames.append(frame)
    finally:
        bar.close()
    return ops.concat(suite_frames), failures


def _rebuilt_runs(frame, refs: list[RunRef]) -> list[tuple[str, str, str]]:
    """``(run name, scenario_state.json path, source)`` of the runs whose request states were rebuilt."""
    import numpy as np

    if frame is None or SOURCE_COLUMN not in frame.columns:
        return []
    sources = frame[SOURCE_COLUMN].to_numpy()
    rows = np.flatnonzero(sources != SOURCES[0])  # no sub-frame: selecting rows of ~50 columns costs ~1 ms
    if not len(rows):
        return []
    paths = {(r.suite, r.name): r.path for r in refs}
    names, suites, dirs = (a[rows] for a in (frame["run_spec.name"].to_numpy(), frame["suite"].to_numpy(),
                                              frame.index.to_numpy()))
    runs = {}  # one entry per run, in row order (the run directories are the frame's index)
    for run, suite, d, source in zip(names, suites, dirs, sources[rows]):
        runs.setdefault((suite, d), (run, source))
    return [(run, os.path.join(paths.get((suite, d), d), TABLE_FILES["scenario_states"]), source)
            for (suite, d), (run, source) in runs.items()]


def _apply_policy(table, failures, errors, order, rebuilt=()):
    failures = sorted(failures, key=lambda f: order[f[0]])
    skipped, missing = [], [Skipped(path, f"file is missing; request states rebuilt from {source}")
                            for _, path, source in rebuilt]
    for ref, path, problem in failures:
        optional = os.path.basename(path) in OPTIONAL_FILES and problem == "file is missing"
        if optional:
            missing.append(Skipped(path, problem))
            continue
        if errors == "raise":
            raise HelmOutputError(path, problem)
        skipped.append(Skipped(path, problem))
    if errors != "skip":
        level = user_stacklevel()  # the warnings name the user's line, whichever magnet call led here
        if skipped:
            warnings.warn(f"skipped {len(skipped)} damaged run(s) reading the {table} table; first: {skipped[0]}",
                          HelmOutputWarning, stacklevel=level)
        if rebuilt:
            sources = sorted({source for _, _, source in rebuilt})
            warnings.warn(f"{len(rebuilt)} run(s) have no {TABLE_FILES[table]} (HELM does not always publish it); "
                          f"their request states were rebuilt from {' or '.join(sources)} (column {SOURCE_COLUMN}, "
                          f"df.attrs['rebuilt']); first: {rebuilt[0][1]}", HelmOutputWarning, stacklevel=level)
        if len(missing) > len(rebuilt):
            first = missing[len(rebuilt)]
            warnings.warn(f"{len(missing) - len(rebuilt)} run(s) have no {TABLE_FILES[table]} (HELM does not always "
                          f"publish it); they add no rows to {table}; first: {first.path}", HelmOutputWarning,
                          stacklevel=level)
    return skipped, missing
