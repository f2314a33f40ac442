"""The outputs object of a non-HELM source: the four tables read by a backend, behind HelmOutputs' table API.

:class:`TableOutputs` is what :func:`magnet.sources.open_outputs` returns for Inspect logs, lm-eval
output or Every Eval Ever records. It answers the calls that :class:`~magnet.protocol.corpus.Corpus`,
the command line (``ls``, ``export``, ``benchmark``) and ``quick_eval`` make of a
:class:`~magnet.backends.helm.outputs.HelmOutputs`: ``root``, ``suites()``, ``runs()``, ``table(name)``,
``tables(names)``, ``run_specs()``, ``stats()``, ``scenario_states()``, ``per_instance_stats()``,
``schemas()``. The backend reads its files once per ``errors`` policy, on first use.

Example:
    >>> import pandas as pd
    >>> def read(path, errors="raise"):
    ...     run = {"suite": "s", "run_spec.name": "t:model=m", "run_spec.adapter_spec.model": "m",
    ...            "run_spec.groups": ["t"]}
    ...     stat = {"suite": "s", "run_spec.name": "t:model=m", "stats.name.name": "acc",
    ...             "stats.name.split": "test", "stats.mean": 0.5, "stats.count": 2}
    ...     return {"run_specs": pd.DataFrame([run]), "stats": pd.DataFrame([stat]),
    ...             "scenario_states": pd.DataFrame(), "per_instance_stats": pd.DataFrame(),
    ...             "schemas": {"s": {"run_groups": []}}}
    >>> out = TableOutputs("/logs", read, source_format="mine")
    >>> out
    TableOutputs('/logs', source_format='mine')
    >>> [s.name for s in out.suites()], len(out.runs()), float(out.stats()["stats.mean"].iloc[0])
    (['s'], 1, 0.5)
    >>> out.only_suites(["s"]).run_specs()["run_spec.name"].tolist()
    ['t:model=m']
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from magnet.tables.accessors import TableAccessors
from magnet.tables.columns import TABLES, missing_columns
from magnet.tables.errors import SourceError

POLICIES = ("raise", "warn", "skip")


@dataclass(frozen=True)
class TableSuite:
    """One suite of a :class:`TableOutputs` (a folder of logs or records)."""

    name: str
    path: Path


@dataclass(frozen=True)
class TableRun:
    """One run of a :class:`TableOutputs`."""

    suite: str
    name: str


class TableOutputs(TableAccessors):
    """The four tables of one non-HELM source folder (see module docstring).

    Parameters
    ----------
    root: the folder the tables were read from.
    reader: ``reader(root, errors=...)`` -> ``{"run_specs": df, "scenario_states": df, "stats": df,
        "per_instance_stats": df, "schemas": {suite: schema}}`` (a backend's ``read_tables``).
    source_format: the source's name (``inspect``, ``lm-eval``, ``eee``).
    suites: only these suite names (default: all).
    """

    def __init__(self, root: str | os.PathLike, reader: Callable, source_format: str,
                 suites: tuple[str, ...] | None = None, _cache: dict | None = None):
        self.root = Path(root)
        self.reader = reader
        self.source_format = source_format
        self.suite_filter = tuple(suites) if suites is not None else None
        self._cache: dict = {} if _cache is None else _cache

    def __repr__(self) -> str:
        return f"TableOutputs({str(self.root)!r}, source_format={self.source_format!r})"

    @property
    def root_dir(self) -> Path:
        """MAGNET's spelling of :attr:`root`."""
        return self.root

    def _read(self, errors: str) -> dict:
        if errors not in POLICIES:
            raise ValueError(f"errors must be one of 'raise', 'warn', 'skip'; got {errors!r}")
        if errors not in self._cache:
            got = self.reader(self.root, errors=errors)
            for table in TABLES:
                df = got[table]
                lacking = missing_columns(table, df) if len(df) else []
                if lacking and table in ("run_specs", "stats"):
                    raise SourceError(self.root, f"the {self.source_format} reader gave a {table} table without "
                                                 f"{', '.join(lacking)}")
            self._cache[errors] = got
        return self._cache[errors]

    def _any(self) -> dict:
        """What was read already (under any policy), else a read that raises on a damaged file."""
        return next(iter(self._cache.values())) if self._cache else self._read("raise")

    def only_suites(self, names) -> "TableOutputs":
        """The same source restricted to these suites (shares what was already read)."""
        return TableOutputs(self.root, self.reader, self.source_format, suites=tuple(names), _cache=self._cache)

    def suites(self) -> list[TableSuite]:
        """The suites (folders of logs), sorted by name."""
        specs = self._any()["run_specs"]
        names = sorted(specs["suite"].unique()) if len(specs) else []
        if self.suite_filter is not None:
            names = [n for n in names if n in self.suite_filter]
        return [TableSuite(n, self.root if n == self.root.name else self.root / n) for n in names]

    def runs(self) -> list[TableRun]:
        """All runs (one per log or per model x task result)."""
        specs = self.table("run_specs", errors=next(iter(self._cache), "raise"))
        return [TableRun(s, n) for s, n in zip(specs["suite"], specs["run_spec.name"])] if len(specs) else []

    def table(self, name: str, *, errors: str = "raise", columns: list[str] | None = None, **_ignored) -> pd.DataFrame:
        """One table, as :meth:`HelmOutputs.table` gives it (a copy; ``attrs["skipped"]`` lists left-out files)."""
        if name not in TABLES:
            raise ValueError(f"unknown table {name!r}; expected one of {', '.join(TABLES)}")
        got = self._read(errors)
        df = got[name]
        if self.suite_filter is not None and len(df):
            df = df[df["suite"].isin(self.suite_filter)]
        if columns is not None:
            df = df[[c for c in ["suite", "run_spec.name", *columns] if c in df]]
        out = df.reset_index(drop=True).copy()
        out.attrs = {"skipped": list(got[name].attrs.get("skipped", [])), "missing": []}
        return out

    def schemas(self) -> dict[str, dict]:
        """Per suite, a HELM-shaped schema naming each task's main metric (``run_groups[].environment``)."""
        schemas = self._any()["schemas"]
        return {s: v for s, v in schemas.items() if self.suite_filter is None or s in self.suite_filter}
