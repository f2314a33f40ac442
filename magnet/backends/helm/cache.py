"""On-disk cache of flattened tables, keyed by each source file's size and mtime.

One cache folder per (suite directory, table): *parts*, each holding
the rows of one chunk of runs as it was flattened, plus ``manifest.json``
mapping each run directory to the ``(size, mtime_ns)`` signatures of the
files its rows came from and to the part holding them. A load reuses the
rows of runs whose signatures are unchanged and re-reads only the others,
each new chunk written as a new part as soon as it is flattened (so a cold
load never holds more than the chunks in flight plus what it returns), then
reads the other asked runs' rows back from their parts. Parts no run refers
to any more are deleted when the manifest is written.

Two shortcuts skip that bookkeeping when nothing changed, both keyed by a
digest of the runs' names and files' signatures (:func:`listing_key`): a
*snapshot* names the parts to read whole (:func:`save_snapshot`), and a
*finished table* is the very DataFrame a load of one suite returned
(:func:`save_frame`), kept by the second load of the same listing
(:func:`listing_seen_before`).

Parts come in two kinds:

* ``.arrow``: the tables flattened in Arrow (``stats``, ``per_instance_stats``),
  as uncompressed Arrow IPC (lz4 cost ~1 ms more per part to read back), read column-projected;
* ``.pickle``: the DataFrame-based tables (``run_specs``, ``scenario_states``)
  as the DataFrame itself (pickle protocol 5), run directories in its index.
  Their nested values (lists of references and completions, mappings) are
  stored as the Python objects they are: reading them back decodes no JSON
  text (the earlier Arrow-IPC-plus-JSON-text layout cost 4.3 ms for 36 real
  runs' scenario_states, unpickling costs 2.1 ms). A pickle is read back only
  by the pandas and numpy versions that wrote it (the manifest records them;
  other versions rebuild the cache), and, like any pickle, only from a cache
  folder you trust: the default is your own user cache.

Example:
    >>> import pandas as pd, tempfile
    >>> d = tempfile.mkdtemp()
    >>> df = pd.DataFrame({"x.refs": [[1, 2], []], "x.v": [1.0, None]}, index=pd.Index(["r1", "r1"]))
    >>> part = write_part(d, "scenario_states", df)
    >>> part[1]["file"].endswith(".pickle"), part[1]["runs"]
    (True, ['r1'])
    >>> manifest = Manifest(runs={"r1": {"sig": [[10, 5]], "part": part[0]}}, parts=dict([part]))
    >>> save_manifest(d, "scenario_states", manifest)
    >>> [(frame["x.refs"].tolist(), keep)
    ...  for frame, keep in read_parts(d, "scenario_states", load_manifest(d, "scenario_states"), {"r1"})]
    [([[1, 2], []], None)]
"""

from __future__ import annotations

import hashlib
import os
import pickle
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

from magnet.files import write_atomic, write_bytes_atomic

RUN_DIR_COLUMN = "__run_dir__"
CACHE_FORMAT = 9  # bump whenever flattening or the layout changes: old caches are then rebuilt

#: The library versions pickled parts depend on: another version rebuilds the cache.
PICKLE_VERSIONS = f"pandas {pd.__version__}, numpy {np.__version__}"

#: File suffixes of parts: Arrow IPC (Arrow tables) and pickles (DataFrames); the older layouts' to clean up.
PART_SUFFIXES = (".arrow", ".pickle", ".feather", ".parquet")


def cache_dir_for(suite_dir: str | os.PathLike, root: str | os.PathLike) -> Path:
    """The cache folder for one suite directory, under ``root``.

    Keyed by the directory's real path and the name it is reached by: the cached
    tables carry the suite's name in their ``suite`` column, and HELM's
    ``runs/latest`` is a symlink to a suite under another name.

    Example:
        >>> import tempfile
        >>> tmp = Path(tempfile.mkdtemp())
        >>> (tmp / "v1").mkdir(); (tmp / "latest").symlink_to("v1")
        >>> cache_dir_for(tmp / "latest", tmp) == cache_dir_for(tmp / "v1", tmp)
        False
    """
    real = os.path.realpath(suite_dir)  # as Path.resolve, cheaper
    key = real + "\0" + os.path.basename(os.path.normpath(suite_dir))
    return Path(root) / hashlib.sha256(key.encode()).hexdigest()[:20]


def _json_columns(df: pd.DataFrame) -> list[str]:
    """Object columns that Parquet cannot store as plain strings/bools (lists, mappings, mixed types).

    Example:
        >>> _json_columns(pd.DataFrame({"s": ["a", None], "b": [True, None], "l": [[1], None], "m": ["a", 1]}))
        ['l', 'm']
    """
    plain = {"string", "boolean", "empty"}  # pandas' C type inference, missing values skipped
    return [col for col in df.columns
            if df[col].dtype == object and pd.api.types.infer_dtype(df[col], skipna=True) not in plain]


class CacheMiss(Exception):
    """A part the manifest lists cannot be read (deleted or damaged): its runs must be re-read."""

    def __init__(self, message: str, part: str):
        super().__init__(message)
        self.part = part


@dataclass
class Manifest:
    """Which runs are cached, with their source signatures and the part holding their rows."""

    runs: dict[str, dict] = field(default_factory=dict)  # run dir -> {"sig": [[size, mtime_ns], ...], "part": id | None}
    parts: dict[str, dict] = field(default_factory=dict)  # part id -> {"file", "json_columns", "runs": [run dirs]}

    #: Parts this process knows (listed when loaded, or written by it): unreferenced, they can go at once.
    known: set[str] = field(default_factory=set, repr=False)

    def fresh(self, name: str, sig) -> bool:
        """True when the run is cached with exactly this signature."""
        return sig is not None and self.runs.get(name, {}).get("sig") == sig


def _table_dir(cache_dir: str | os.PathLike, table: str) -> Path:
    return Path(cache_dir) / table


def _part_path(folder: Path, part: str, manifest: Manifest) -> Path:
    return folder / manifest.parts.get(part, {}).get("file", f"{part}.parquet")


def load_manifest(cache_dir: str | os.PathLike, table: str) -> Manifest:
    """The table's manifest; empty when absent, unreadable or of another cache format."""
    data = _read_json_file(_table_dir(cache_dir, table) / "manifest.json")
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT or data.get("versions") != PICKLE_VERSIONS:
        return Manifest()  # pickled parts are read back only by the pandas and numpy versions that wrote them
    return Manifest(data["runs"], data["parts"], known=set(data["parts"]))


def write_part(cache_dir: str | os.PathLike, table: str, frame) -> tuple[str, dict]:
    """Write one chunk's rows (DataFrame or Arrow table) as a new part: ``(part id, manifest entry)``.

    Safe to call from worker threads and processes: each part has a fresh name
    and appears under it only once complete (temp file, then rename).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.feather as feather

    folder = _table_dir(cache_dir, table)
    folder.mkdir(parents=True, exist_ok=True)
    part = uuid.uuid4().hex[:16]
    if isinstance(frame, pa.Table):
        suffix = ".arrow"
        runs = pc.unique(frame.column(RUN_DIR_COLUMN)).to_pylist()
        # lz4 costs ~1 ms more to read back
        write_atomic(folder / f"{part}{suffix}",
                     lambda tmp: feather.write_feather(frame, tmp, compression="uncompressed"))
    else:
        suffix = ".pickle"
        runs = frame.index.unique().tolist()  # the DataFrame-based tables keep run directories in the index
        write_atomic(folder / f"{part}{suffix}", lambda tmp: _pickle_to(tmp, frame))
    return part, {"file": f"{part}{suffix}", "runs": runs}  # in row order


#: What reading a damaged, truncated or foreign cache file can raise (pickles included): a cache miss.
_UNREADABLE = (OSError, ValueError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError,
               KeyError)


def _pickle_to(path: Path, obj) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)


def _read_json_file(path: Path):
    """A cache bookkeeping file's JSON, or None when absent or unreadable."""
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None


#: Seconds before a part no manifest refers to, and that this process does not know, is deleted:
#: another process loading the same suite at the same time may be about to list it.
ORPHAN_GRACE_SECONDS = 600


def save_manifest(cache_dir: str | os.PathLike, table: str, manifest: Manifest) -> None:
    """Write the manifest atomically, then delete the parts it no longer refers to.

    Parts the loaded manifest listed are deleted at once; parts nobody listed
    (another process's, being written) only after :data:`ORPHAN_GRACE_SECONDS`.
    """
    folder = _table_dir(cache_dir, table)
    folder.mkdir(parents=True, exist_ok=True)
    used = {entry["part"] for entry in manifest.runs.values() if entry.get("part")}
    manifest.parts = {p: info for p, info in manifest.parts.items() if p in used}
    write_bytes_atomic(folder / "manifest.json", orjson.dumps(
        {"format": CACHE_FORMAT, "versions": PICKLE_VERSIONS, "runs": manifest.runs, "parts": manifest.parts}))
    now = time.time()
    for path in (p for suffix in PART_SUFFIXES for p in folder.glob(f"*{suffix}")):
        if path.stem in manifest.parts:
            continue
        try:
            if path.stem in manifest.known or now - path.stat().st_mtime > ORPHAN_GRACE_SECONDS:
                path.unlink()
        except OSError:
            pass
    for old in (f"{table}.parquet", f"{table}.manifest.json"):  # the one-file layout of cache format 4
        (Path(cache_dir) / old).unlink(missing_ok=True)


def forget_parts(cache_dir: str | os.PathLike, table: str, manifest: Manifest, bad: str) -> None:
    """Drop from the manifest the runs held by part ``bad`` or by any part whose file is gone, and save it."""
    folder = _table_dir(cache_dir, table)
    gone = {p for p in manifest.parts if p == bad or not _part_path(folder, p, manifest).exists()}
    manifest.runs = {n: e for n, e in manifest.runs.items() if e.get("part") not in gone}
    save_manifest(cache_dir, table, manifest)


def _wanted(present: list[str], columns) -> list[str] | None:
    """The columns to read from a part holding ``present``: None for all of them."""
    if not columns:
        return None
    present = set(present)
    return [c for c in dict.fromkeys(["suite", "run_spec.name", RUN_DIR_COLUMN, *columns]) if c in present]


def read_parts(cache_dir: str | os.PathLike, table: str, manifest: Manifest, runs, columns=None, arrow=False):
    """Yield ``(frame, keep)`` for each part holding rows of ``runs``, in the order the runs are listed.

    ``keep`` is None when every row of the part is wanted, else the set of run
    directories whose rows to keep (the others were re-read since, or not
    asked for). ``columns`` reads only those columns (plus ``suite``,
    ``run_spec.name`` and the run directory). Raises :class:`CacheMiss` when
    a part cannot be read.
    """
    by_part: dict[str, set[str]] = {}
    for name in runs:
        part = manifest.runs.get(name, {}).get("part")
        if part is not None:
            by_part.setdefault(part, set()).add(name)
    files = [(part, manifest.parts.get(part, {}).get("file", f"{part}.pickle")) for part in by_part]
    for (part, names), frame in zip(by_part.items(), read_part_files(cache_dir, table, files, columns, arrow)):
        # Every run with rows in the part still owned by it and asked for: no filtering.
        yield frame, (None if set(manifest.parts.get(part, {}).get("runs", ())) <= names else names)


def read_part_files(cache_dir: str | os.PathLike, table: str, files: list, columns=None, arrow=False):
    """Yield the frames of the parts ``[(part id, file name), ...]``, whole, in order (see :func:`read_parts`)."""
    folder = _table_dir(cache_dir, table)
    if len(files) <= 1 or not arrow:  # one part, or pickles (unpickling holds the GIL): no threads
        for part, name in files:
            yield _read_part(folder / name, part, columns, arrow)
        return
    # Parts are read in threads (Arrow's reads release the GIL), results in order.
    with ThreadPoolExecutor(max_workers=min(len(files), os.cpu_count() or 1) or 1) as pool:
        yield from pool.map(lambda f: _read_part(folder / f[1], f[0], columns, arrow), files)


def _read_part(path: Path, part: str, columns, arrow: bool):
    """One part: a pickled DataFrame, or an Arrow IPC file (an Arrow table with ``arrow``, else a DataFrame)."""
    import pyarrow as pa

    try:
        if path.suffix == ".pickle":
            with open(path, "rb") as f:
                frame = pickle.load(f)
            return frame if not columns else frame[_wanted(list(frame.columns), columns)]
        with open(path, "rb") as f:  # one read into memory, no Arrow file handle: cheapest on small parts
            data = pa.py_buffer(f.read())
        reader = pa.ipc.open_file(data)
        wanted = _wanted(reader.schema.names, columns)
        if wanted is not None:  # only the asked columns
            fields = [reader.schema.get_field_index(c) for c in wanted]
            reader = pa.ipc.open_file(data, options=pa.ipc.IpcReadOptions(included_fields=fields))
        frame = reader.read_all()
        return frame if arrow else frame.to_pandas()
    except (pa.ArrowException, *_UNREADABLE) as e:
        raise CacheMiss(f"{path}: {e}", part) from None


def listing_key(names: list[str], sigs: list) -> str | None:
    """A digest of a suite's run directories and their files' signatures, in order (None if a signature is missing).

    Example:
        >>> listing_key(["r1"], [[[10, 5]]]) == listing_key(["r1"], [[[10, 5]]]) != listing_key(["r1"], [[[10, 6]]])
        True
        >>> listing_key(["r1"], [None]) is None
        True
    """
    if any(sig is None for sig in sigs):
        return None
    return hashlib.sha256(orjson.dumps([CACHE_FORMAT, PICKLE_VERSIONS, names, sigs])).hexdigest()


def load_snapshot(cache_dir: str | os.PathLike, table: str) -> dict | None:
    """The table's snapshot (see :func:`save_snapshot`), or None when absent or unreadable."""
    data = _read_json_file(_table_dir(cache_dir, table) / "snapshot.json")
    return data if isinstance(data, dict) and isinstance(data.get("key"), str) else None


#: Suffix of finished-table files (:func:`save_frame`); not a part suffix, so part clean-up leaves them alone.
FRAME_SUFFIX = ".frame"


def _frame_path(cache_dir: str | os.PathLike, table: str, key: str, dtype_backend: str) -> Path:
    return _table_dir(cache_dir, table) / f"{dtype_backend}-{key[:40]}{FRAME_SUFFIX}"


def load_frame(cache_dir: str | os.PathLike, table: str, key: str, dtype_backend: str):
    """``(DataFrame, extra)`` saved by :func:`save_frame` for the listing digest ``key``, or None.

    The file's name carries the digest: a listing that changed finds no file,
    with no manifest or snapshot to parse first. A file that cannot be read is
    a miss (the parts are still there).
    """
    try:
        with open(_frame_path(cache_dir, table, key, dtype_backend), "rb") as f:
            frame, extra = pickle.load(f)
    except _UNREADABLE:
        return None
    return (frame, extra) if isinstance(frame, pd.DataFrame) else None


def listing_seen_before(cache_dir: str | os.PathLike, table: str, key: str) -> bool:
    """True when the previous call for this table had the same listing digest; remembers ``key`` for the next.

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> [listing_seen_before(d, "stats", k) for k in ("k1", "k1", "k2", "k1")]
        [False, True, False, False]
    """
    path = _table_dir(cache_dir, table) / "last_listing"
    try:
        if path.read_text() == key:
            return True
    except OSError:
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, key.encode())
    except OSError:  # a read-only cache: never kept
        pass
    return False


def save_frame(cache_dir: str | os.PathLike, table: str, key: str, dtype_backend: str, frame: pd.DataFrame,
               extra=None) -> None:
    """Keep a finished table (what a load returns) for the listing digest ``key``, with ``extra`` beside it.

    The next load of the same listing unpickles it and does nothing else. It is
    stored consolidated (one block per dtype): a frame built column by column
    has one block per column, and unpickling those costs 2-3x more (measured on
    the real Safety v3 suite: 4.4 ms against 1.8 ms for its four tables). The
    finished table of the previous listing is deleted: one per dtype backend.
    Best effort, like :func:`save_snapshot`.

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> df = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
        >>> df["c"] = 3.0
        >>> save_frame(d, "stats", "k1", "numpy", df, extra=["note"])
        >>> back, extra = load_frame(d, "stats", "k1", "numpy")
        >>> back.equals(df), extra, back._mgr.nblocks, load_frame(d, "stats", "k2", "numpy")
        (True, ['note'], 2, None)
    """
    folder = _table_dir(cache_dir, table)
    path = _frame_path(cache_dir, table, key, dtype_backend)
    finished = frame.copy(deep=True)  # a deep copy is consolidated
    finished.attrs = {}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda tmp: _pickle_to(tmp, (finished, extra)))
        for old in folder.glob(f"{dtype_backend}-*{FRAME_SUFFIX}"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        pass


def save_snapshot(cache_dir: str | os.PathLike, table: str, key: str, files: list) -> None:
    """Record that the listing with digest ``key`` (:func:`listing_key`) is exactly these parts read whole, in order.

    A later load whose listing has the same digest (same runs, in the same
    order, with the same file sizes and mtimes) reads those parts and nothing
    else: no manifest to parse, no per-run check. Parts are never rewritten, so
    the snapshot stays right while its parts exist; one that was deleted since
    makes the load fall back to the manifest.

    Example:
        >>> import os, tempfile
        >>> d = tempfile.mkdtemp()
        >>> os.makedirs(os.path.join(d, "stats"))
        >>> save_snapshot(d, "stats", "k1", [["p1", "p1.arrow"]])
        >>> load_snapshot(d, "stats")["parts"]
        [['p1', 'p1.arrow']]
    """
    try:
        write_bytes_atomic(_table_dir(cache_dir, table) / "snapshot.json",
                           orjson.dumps({"key": key, "parts": [list(f) for f in files]}))
    except OSError:  # a read-only cache (shared, or on a full disk) is still read; it only stays slower
        pass
