"""HELM output directories as objects: ``HelmOutputs`` > ``HelmSuite`` > ``HelmRun``.

``HelmOutputs.coerce(path)`` accepts a ``benchmark_output`` directory, its
``runs/`` directory, a suite directory or a single run directory. Listing
suites and runs only looks at directory entries; no JSON is parsed until a
table is asked for. Tables are flat DataFrames (column conventions in
:mod:`magnet.backends.helm.tables`).

Example:
    >>> outputs = HelmOutputs.demo(preset="small")   # built once, then cached
    >>> [s.name for s in outputs.suites()]
    ['demo']
    >>> stats = outputs.stats()
    >>> {"suite", "run_spec.name", "stats.name.name", "stats.name.split", "stats.mean"} <= set(stats.columns)
    True
    >>> run = outputs.runs()[0]
    >>> type(run.stats()[0]).__name__
    'Stat'
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from magnet.backends.helm.demo import DemoSpec, build_demo, cache_root
from magnet.backends.helm.demo.entries import spec_from_run_entries
from magnet.backends.helm.errors import HelmOutputError
from magnet.backends.helm.loading import RunRef, load_table, load_tables, read_json
from magnet.backends.helm.tables import TABLES
from magnet.tables.accessors import TableAccessors

#: Directories inside a suite that are not runs.
NON_RUN_DIRS = {"groups", "eval_cache"}


def _subdir_names(path: str | os.PathLike) -> list[str]:
    """Names of the sub-directories, sorted (plain strings: listing 10,000 runs must stay cheap)."""
    try:
        with os.scandir(path) as entries:
            return sorted(e.name for e in entries if e.is_dir())
    except OSError:
        return []


def _subdirs(path: Path) -> list[Path]:
    return [path / name for name in _subdir_names(path)]


def _suite_dirs(runs_dir: Path) -> list[Path]:
    """The suite directories in a ``runs/`` directory, each once.

    ``helm-run`` makes ``runs/latest`` a symlink to the suite it wrote last; a
    symlink to a sibling suite is left out (its runs would be listed twice, once
    under the suite ``latest``). A symlink to a directory elsewhere is a suite.
    """
    dirs = _subdirs(runs_dir)
    real = {os.path.realpath(d) for d in dirs if not d.is_symlink()}
    return [d for d in dirs if not (d.is_symlink() and os.path.realpath(d) in real)]


@dataclass(frozen=True)
class HelmRun:
    """One run directory ``runs/<suite>/<run>/``."""

    path: Path
    suite: str

    @property
    def name(self) -> str:
        """The directory name (HELM's run name with ``/`` replaced by ``_``)."""
        return self.path.name

    def files(self) -> list[str]:
        """Names of the JSON files present."""
        return sorted(p.name for p in self.path.glob("*.json"))

    def run_spec_json(self) -> dict:
        """``run_spec.json`` as parsed JSON."""
        return read_json(self.path / "run_spec.json")

    def stats(self) -> list:
        """``stats.json`` as HELM ``Stat`` objects (``helm.benchmark.metrics.statistic.Stat``).

        Built directly from the JSON (perturbation subclass fields such as
        ``prob`` are kept in a generic ``PerturbationDescription`` only as far
        as HELM's class allows). Use the DataFrame tables for bulk work.
        """
        from magnet.helm_objects import stat_from_json  # lazy: crfm-helm's classes load slowly, needed only here

        data = read_json(self.path / "stats.json")
        if not isinstance(data, list):
            raise HelmOutputError(self.path / "stats.json", "expected a JSON list of stats")
        return [stat_from_json(d) for d in data]

    def run_spec(self):
        """``run_spec.json`` as a HELM ``RunSpec`` (through HELM's own codec; slower)."""
        from helm.benchmark.run_spec import RunSpec
        from helm.common.codec import from_json

        return from_json((self.path / "run_spec.json").read_text(), RunSpec)


@dataclass(frozen=True)
class HelmSuite:
    """One suite directory ``runs/<suite>/`` (with any helm-summarize files)."""

    path: Path
    run_filter: tuple[str, ...] | None = None

    @property
    def name(self) -> str:
        return self.path.name

    def runs(self) -> list[HelmRun]:
        """The suite's runs, sorted by directory name: every sub-directory but HELM's suite-level ones.

        A directory without run files (e.g. an empty one left by a failed run)
        is listed too, so that loading reports it instead of hiding it.
        """
        return [HelmRun(self.path / name, self.name) for name in self.run_dir_names()]

    def run_dir_names(self) -> list[str]:
        """The directory names of :meth:`runs`, without building a ``HelmRun`` per run."""
        names = [n for n in _subdir_names(self.path) if n not in NON_RUN_DIRS]
        if self.run_filter is not None:
            names = [n for n in names if n in self.run_filter]
        return names

    def schema(self) -> dict | None:
        """The suite's ``schema.json`` (written by helm-summarize), or None if absent."""
        path = self.path / "schema.json"
        return read_json(path) if path.is_file() else None


class HelmOutputs(TableAccessors):
    """A set of HELM runs: a ``benchmark_output`` directory or any part of one."""

    def __init__(self, root: str | os.PathLike, suites: list[HelmSuite] | None = None,
                 cache_dir: str | os.PathLike | None | bool = None):
        self.root = Path(root)
        self._suites = suites
        if cache_dir is None or cache_dir is True:
            cache_dir = cache_root() / "tables"
        self.cache_dir = Path(cache_dir) if cache_dir else None

    def __repr__(self) -> str:
        return f"HelmOutputs({str(self.root)!r})"

    @classmethod
    def coerce(cls, path: "str | os.PathLike | HelmOutputs", cache_dir=None) -> "HelmOutputs":
        """Accept a benchmark_output dir, its runs/ dir, a suite dir, or a run dir.

        Example:
            >>> root = HelmOutputs.demo(preset="small").root
            >>> suite_dir = root / "runs" / "demo"
            >>> run_dir = next(p for p in suite_dir.iterdir() if (p / "run_spec.json").exists())
            >>> [len(HelmOutputs.coerce(p).runs()) > 0 for p in (root, root / "runs", suite_dir, run_dir)]
            [True, True, True, True]
            >>> len(HelmOutputs.coerce(run_dir).runs())
            1
        """
        if isinstance(path, HelmOutputs):
            return path
        p = Path(path).expanduser()
        if not p.exists():
            raise HelmOutputError(p, "no such directory")
        if not p.is_dir():
            raise HelmOutputError(p, "expected a directory (benchmark_output, runs/, a suite or a run)")
        if (p / "run_spec.json").is_file():
            return cls(p, [HelmSuite(p.parent, run_filter=(p.name,))], cache_dir=cache_dir)
        if (p / "runs").is_dir():
            return cls(p, [HelmSuite(s) for s in _suite_dirs(p / "runs")], cache_dir=cache_dir)
        children = _suite_dirs(p) if p.name == "runs" else _subdirs(p)
        if any((c / "run_spec.json").is_file() for c in children):
            return cls(p, [HelmSuite(p)], cache_dir=cache_dir)
        suites = [c for c in children if any((g / "run_spec.json").is_file() for g in _subdirs(c))]
        if suites or p.name == "runs":
            return cls(p, [HelmSuite(s) for s in suites], cache_dir=cache_dir)
        raise HelmOutputError(p, "no HELM runs found (expected benchmark_output/, runs/, a suite or a run directory)")

    @classmethod
    def demo(cls, preset: str = "default", cache_dir=None, run_entries=None, max_eval_instances=None,
             **overrides) -> "HelmOutputs":
        """The built-in demo corpus (built with the real HELM pipeline on first use, then cached).

        See :class:`magnet.backends.helm.demo.DemoSpec` for the presets. MAGNET's
        form, ``demo(run_entries=[...], max_eval_instances=N)``, runs exactly those
        HELM run entries (offline ones only: simulated models, scenarios and data
        augmentations that need no download; anything else is a one-line
        ``ValueError`` naming the entry; see :mod:`magnet.backends.helm.demo.entries`).

        Example:
            >>> HelmOutputs.demo(run_entries=["mmlu:subject=anatomy,model=openai/gpt2"])
            Traceback (most recent call last):
            ValueError: run entry 'mmlu:subject=anatomy,model=openai/gpt2': scenario 'mmlu' downloads its data; ...
        """
        if run_entries is not None:
            spec = spec_from_run_entries(run_entries, max_eval_instances=max_eval_instances or 7, **overrides)
        else:
            if max_eval_instances is not None:
                overrides["max_eval_instances"] = max_eval_instances
            spec = DemoSpec.preset(preset, **overrides)
        return cls.coerce(build_demo(spec, cache_dir=cache_dir, progress=False))

    @property
    def root_dir(self) -> Path:
        """MAGNET's spelling of :attr:`root`."""
        return self.root

    def suites(self) -> list[HelmSuite]:
        """The suites, sorted by name."""
        return list(self._suites or [])

    def runs(self) -> list[HelmRun]:
        """All runs of all suites."""
        return [r for s in self.suites() for r in s.runs()]

    def table(self, name: str, *, errors: str = "raise", n_jobs: int | None = None, cache: bool = True,
              columns: list[str] | None = None, dtype_backend: str = "numpy",
              progress: bool | None = None) -> pd.DataFrame:
        """One flat table: ``run_specs``, ``scenario_states``, ``stats`` or ``per_instance_stats``.

        Parameters
        ----------
        name: which table (see :mod:`magnet.backends.helm.tables`).
        errors: ``"raise"`` (default), ``"warn"`` or ``"skip"`` for damaged runs;
            skipped runs are listed in ``df.attrs["skipped"]``, runs lacking an
            optional file in ``df.attrs["missing"]``.
        n_jobs: parallel workers (default: one per CPU; threads for the Arrow-parsed
            ``stats`` and ``per_instance_stats``, processes for big Python-flattened tables).
        cache: use the on-disk cache (re-reads only changed files).
        columns: only these columns (besides ``suite`` and ``run_spec.name``); read
            from the cache by column projection when nothing changed.
        dtype_backend: ``"numpy"`` (default: object strings, float64 with NaN) or
            ``"pyarrow"`` (``pd.ArrowDtype`` columns kept in Arrow memory: less memory,
            faster from the cache), like pandas' own ``read_parquet(dtype_backend=...)``.
        progress: a progress bar (bytes of JSON parsed) on the terminal: ``None``
            (default) shows it when 64 MB or more are to be parsed, ``True`` always,
            ``False`` never. Loads served from the cache parse nothing.

        Example:
            >>> outputs = HelmOutputs.demo(preset="small")
            >>> lean = outputs.stats(dtype_backend="pyarrow", columns=["stats.name.name", "stats.mean"])
            >>> str(lean["stats.name.name"].dtype), str(lean["stats.mean"].dtype)
            ('string[pyarrow]', 'double[pyarrow]')
        """
        return load_table(name, self._run_refs(), errors=errors, n_jobs=n_jobs,
                          cache_root=self.cache_dir if cache else None, columns=columns,
                          dtype_backend=dtype_backend, progress=progress)

    def tables(self, names=TABLES, *, errors: str = "raise", n_jobs: int | None = None, cache: bool = True,
               dtype_backend: str = "numpy", progress: bool | None = None) -> dict[str, pd.DataFrame]:
        """Several tables at once, ``{name: DataFrame}`` (all four by default), as :meth:`table` gives each.

        One listing of the runs, and each run's files stat'ed once for the
        cache keys of all the tables (``run_spec.json`` is part of every key).

        Example:
            >>> outputs = HelmOutputs.demo(preset="small")
            >>> tables = outputs.tables(["run_specs", "stats"])
            >>> list(tables), tables["stats"].equals(outputs.stats())
            (['run_specs', 'stats'], True)
        """
        return load_tables(names, self._run_refs(), errors=errors, n_jobs=n_jobs,
                           cache_root=self.cache_dir if cache else None, dtype_backend=dtype_backend,
                           progress=progress)

    def _run_refs(self) -> list[RunRef]:
        refs = []
        for suite in self.suites():
            suite_dir = os.fspath(suite.path)
            refs += [RunRef(suite.name, suite_dir, n) for n in suite.run_dir_names()]
        return refs

    def schemas(self) -> dict[str, dict]:
        """``schema.json`` of each suite that has one, by suite name."""
        return {s.name: schema for s in self.suites() if (schema := s.schema()) is not None}

