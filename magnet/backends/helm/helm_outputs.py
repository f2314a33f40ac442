"""MAGNET's HELM views (``magnet.backends.helm.helm_outputs``), thin over magnet's loader.

The names and call forms of MAGNET's module: :class:`HelmOutputs` (with
``root_dir``, ``suites(pattern)``), :class:`HelmSuite` (``runs(pattern)``),
:class:`HelmSuites`, :class:`HelmRuns` (alias :data:`HelmSuiteRuns`) with
``.paths``, ``.coerce(paths or globs)``, and per run or set of runs the tables
``run_spec()``, ``stats()``, ``scenario_state()``, ``per_instance_stats()``.
Every table is read by :mod:`magnet.backends.helm.loading` through the same
cache as ``HelmOutputs.stats()``: the same rows and columns.

Example:
    >>> outputs = HelmOutputs.demo(preset="small")
    >>> suite = outputs.suites()[0]
    >>> runs = suite.runs("simple_mcqa*")
    >>> len(runs.paths) == 8 and all(p.name.startswith("simple_mcqa") for p in runs.paths)
    True
    >>> same = HelmSuiteRuns.coerce([str(p) for p in runs.paths])
    >>> sorted(same.stats()["run_spec.name"].unique()) == sorted(runs.run_spec()["run_spec.name"])
    True
    >>> HelmRuns.coerce(str(outputs.root_dir / "runs" / "demo" / "no_such_run*"))
    Traceback (most recent call last):
    ValueError: no HELM run matches '.../no_such_run*'
"""

from __future__ import annotations

import fnmatch
import glob
import os
from pathlib import Path

import pandas as pd

from magnet.backends.helm import outputs as _outputs
from magnet.backends.helm import run_views as _views

PERTURBATION_COLUMNS = [f"stats.name.perturbation.{k}" for k in ("name", "computed_on", "robustness", "fairness")]
TABLE_OF = {"run_spec": "run_specs", "stats": "stats", "scenario_state": "scenario_states",
            "per_instance_stats": "per_instance_stats"}


def _expand(input, kind: str, accept) -> list[Path]:
    """Paths or glob patterns (one or a list) -> the matching directories accepted by ``accept``."""
    items = [input] if isinstance(input, (str, os.PathLike)) else list(input)
    found: list[Path] = []
    for item in items:
        text = os.fspath(item)
        matches = sorted(glob.glob(text)) if glob.has_magic(text) else [text]
        good = [Path(m) for m in matches if accept(Path(m))]
        if not good:
            shown = text if len(text) < 60 else "..." + text[-40:]
            raise ValueError(f"no HELM {kind} matches {shown!r}")
        found += good
    return list(dict.fromkeys(found))


def _is_run(path: Path) -> bool:
    return (path / "run_spec.json").is_file()


def _is_suite(path: Path) -> bool:
    return path.is_dir() and any(_is_run(c) for c in path.iterdir() if c.is_dir())


class HelmRuns:
    """A set of run directories, possibly from several suites (MAGNET's ``HelmRuns`` / ``HelmSuiteRuns``)."""

    def __init__(self, paths):
        self.paths = [Path(p) for p in paths]

    def __repr__(self) -> str:
        return f"<HelmRuns({len(self.paths)})>"

    def __len__(self) -> int:
        return len(self.paths)

    def __iter__(self):
        return (HelmRun(p) for p in self.paths)

    def __getitem__(self, index):
        return HelmRuns(self.paths[index]) if isinstance(index, slice) else HelmRun(self.paths[index])

    @classmethod
    def coerce(cls, input) -> "HelmRuns":
        """From a HelmRuns, a HelmSuite, or run paths / glob patterns (one or a list); ``ValueError`` if none match."""
        if isinstance(input, cls):
            return input
        if isinstance(input, _outputs.HelmSuite):
            return HelmSuite.coerce(input).runs()
        if isinstance(input, (str, os.PathLike, list, tuple)):
            return cls(_expand(input, "run", _is_run))
        raise TypeError(f"cannot make HelmRuns of a {type(input).__name__}")

    def to_outputs(self) -> _outputs.HelmOutputs:
        """magnet's :class:`~magnet.backends.helm.outputs.HelmOutputs` over exactly these runs."""
        by_suite: dict[Path, list[str]] = {}
        for p in self.paths:
            by_suite.setdefault(p.parent, []).append(p.name)
        suites = [_outputs.HelmSuite(s, run_filter=tuple(names)) for s, names in by_suite.items()]
        root = Path(os.path.commonpath([str(s) for s in by_suite])) if by_suite else Path(".")
        return _outputs.HelmOutputs(root, suites)

    def _table(self, name: str) -> pd.DataFrame:
        return self.to_outputs().table(TABLE_OF[name])

    def run_spec(self) -> pd.DataFrame:
        """The ``run_specs`` table of these runs (one row per run)."""
        return self._table("run_spec")

    def stats(self) -> pd.DataFrame:
        """The ``stats`` table of these runs.

        The perturbation columns are always there (missing values when no stat is perturbed), as in MAGNET,
        so that code filtering on ``stats.name.perturbation.computed_on`` works on any runs.
        """
        table = self._table("stats")
        for col in PERTURBATION_COLUMNS:
            if col not in table:
                table[col] = None
        return table

    def scenario_state(self) -> pd.DataFrame:
        """The ``scenario_states`` table of these runs (one row per request state)."""
        return self._table("scenario_state")

    def per_instance_stats(self) -> pd.DataFrame:
        """The ``per_instance_stats`` table of these runs."""
        return self._table("per_instance_stats")


#: MAGNET's older name of :class:`HelmRuns`.
HelmSuiteRuns = HelmRuns


class HelmRun(HelmRuns):
    """One run directory, with the same table methods, and MAGNET's ``json`` / ``dataclass`` / ``msgspec`` / ``dataframe`` views.

    Example:
        >>> run = HelmRun.demo()
        >>> run.json.run_spec()["name"] == run.dataclass.run_spec().name
        True
    """

    @property
    def json(self) -> _views.RunJsonView:
        """The run's files as parsed JSON (:class:`~magnet.backends.helm.run_views.RunJsonView`)."""
        return _views.RunJsonView(self.path)

    @property
    def dataclass(self) -> _views.RunDataclassView:
        """The run's files as HELM's dataclasses (:class:`~magnet.backends.helm.run_views.RunDataclassView`)."""
        return _views.RunDataclassView(self.path)

    @property
    def msgspec(self) -> _views.RunMsgspecView:
        """The run's files as fast ``msgspec`` copies of HELM's dataclasses (:class:`~magnet.backends.helm.run_views.RunMsgspecView`)."""
        return _views.RunMsgspecView(self.path)

    @property
    def dataframe(self) -> _views.RunDataFrameView:
        """The run's flat tables (:class:`~magnet.backends.helm.run_views.RunDataFrameView`)."""
        return _views.RunDataFrameView(self)

    def __init__(self, path):
        super().__init__([path])
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"<HelmRun({self.path.name})>"

    @property
    def name(self) -> str:
        """The directory name."""
        return self.path.name

    def exists(self) -> bool:
        """True when the run has its ``run_spec.json`` and ``stats.json``."""
        return _is_run(self.path) and (self.path / "stats.json").is_file()


class HelmSuite(_outputs.HelmSuite):
    """One suite directory (magnet's suite, with MAGNET's ``runs(pattern)``)."""

    def __repr__(self) -> str:
        return f"<HelmSuite({self.path.name})>"

    @classmethod
    def coerce(cls, input) -> "HelmSuite":
        """From a HelmSuite (returned as is) or a suite directory."""
        if isinstance(input, cls):
            return input
        if isinstance(input, _outputs.HelmSuite):
            return cls(input.path, input.run_filter)
        return cls(_expand(input, "suite", _is_suite)[0])

    def runs(self, pattern: str = "*") -> HelmRuns:  # type: ignore[override]
        """The suite's runs whose directory name matches ``pattern``."""
        return HelmRuns([self.path / n for n in self.run_dir_names() if fnmatch.fnmatch(n, pattern)])


class HelmSuites:
    """Several suites (MAGNET's ``HelmSuites``)."""

    def __init__(self, paths):
        self.paths = [Path(p) for p in paths]

    def __repr__(self) -> str:
        return f"<HelmSuites({len(self.paths)})>"

    def __len__(self) -> int:
        return len(self.paths)

    def __iter__(self):
        return (HelmSuite(p) for p in self.paths)

    def __getitem__(self, index):
        return HelmSuites(self.paths[index]) if isinstance(index, slice) else HelmSuite(self.paths[index])

    @classmethod
    def coerce(cls, input) -> "HelmSuites":
        """From HelmSuites, a HelmSuite, or suite paths / glob patterns; ``ValueError`` if none match."""
        if isinstance(input, cls):
            return input
        if isinstance(input, _outputs.HelmSuite):
            return cls([input.path])
        return cls(_expand(input, "suite", _is_suite))

    def runs(self, pattern: str = "*") -> HelmRuns:
        """The runs of every suite whose directory name matches ``pattern``."""
        return HelmRuns([p for s in self for p in s.runs(pattern).paths])


class HelmOutputs(_outputs.HelmOutputs):
    """magnet's :class:`~magnet.backends.helm.outputs.HelmOutputs` with MAGNET's ``suites(pattern)`` views.

    ``HelmOutputs(path)`` finds the suites itself, as MAGNET's does: ``path`` may be a
    ``benchmark_output`` folder, its ``runs/``, a suite, or the folder holding ``benchmark_output``.

    Example:
        >>> root = HelmOutputs.demo(preset="small").root_dir
        >>> [len(HelmOutputs(p).suites()) for p in (root, root / "runs", root.parent)]
        [1, 1, 1]
        >>> HelmOutputs(root).summarize()["num_suites"]
        1
    """

    def __init__(self, root, suites=None, cache_dir=None):
        if suites is None:
            found = _outputs.HelmOutputs.coerce(_benchmark_output_of(Path(root).expanduser()), cache_dir=cache_dir)
            root, suites = found.root, found.suites()
        super().__init__(root, suites, cache_dir=cache_dir)

    @classmethod
    def coerce(cls, path, cache_dir=None) -> "HelmOutputs":  # type: ignore[override]
        """MAGNET's coerce: itself, or the outputs found from a ``benchmark_output`` folder, its ``runs/``, the
        folder holding it, a suite or a run (``root_dir`` is the ``benchmark_output`` folder when there is one).

        Example:
            >>> self = HelmOutputs.demo(preset="small")
            >>> HelmOutputs.coerce(self) is self
            True
            >>> {HelmOutputs.coerce(p).root_dir == self.root_dir for p in (self.root_dir / "runs", self.root_dir.parent)}
            {True}
        """
        if isinstance(path, cls):
            return path
        if isinstance(path, _outputs.HelmOutputs):
            return cls(path.root, path.suites(), cache_dir=cache_dir)
        return cls(path, cache_dir=cache_dir)

    def summarize(self) -> dict:
        """Counts of suites and runs (MAGNET's ``summarize()``)."""
        suites = self.suites()
        num_runs = sum(len(s.run_dir_names()) for s in suites)
        return {"num_suites": len(suites), "num_runs": num_runs, "num_run_specs": num_runs,
                "suites": {s.name: len(s.run_dir_names()) for s in suites}}

    def suites(self, pattern: str = "*") -> list[HelmSuite]:  # type: ignore[override]
        """The suites whose name matches ``pattern`` (MAGNET's :class:`HelmSuite` views)."""
        return [HelmSuite(s.path, s.run_filter) for s in super().suites() if fnmatch.fnmatch(s.name, pattern)]

    def list_suites(self) -> list[str]:  # noqa: D102
        """Suite names."""
        return [s.name for s in self.suites()]

    def list_run_specs(self, suite: str = "*") -> list[str]:
        """Run directory names in the suites matching ``suite``."""
        return [p.name for s in self.suites(suite) for p in s.runs().paths]


def _benchmark_output_of(p: Path) -> Path:
    """The ``benchmark_output`` folder of ``p`` when ``p`` is one, its ``runs/`` or the folder holding it; else ``p``."""
    if p.name == "runs" and p.is_dir() and not _is_suite(p) and (p.parent / "runs") == p:
        return p.parent
    if not (p / "runs").is_dir() and (p / "benchmark_output" / "runs").is_dir():
        return p / "benchmark_output"
    return p


def _demo_outputs() -> HelmOutputs:
    return HelmOutputs.coerce(_outputs.HelmOutputs.demo(preset="small").root)


def _suite_demo(cls):
    return HelmSuite(_demo_outputs().suites()[0].path)


HelmSuite.demo = classmethod(_suite_demo)  # type: ignore[assignment]
HelmSuites.demo = classmethod(lambda cls: HelmSuites([s.path for s in _demo_outputs().suites()]))  # type: ignore
HelmRuns.demo = classmethod(lambda cls: HelmSuite.demo().runs())  # type: ignore[attr-defined]
HelmRun.demo = classmethod(lambda cls: HelmRun(HelmSuite.demo().runs().paths[0]))  # type: ignore[attr-defined]

#: MAGNET's module-level struct names -> (HELM module, dataclass, attrs) of :func:`~.structs.struct_of`.
_STRUCTS = {
    "ScenarioStateStruct": ("helm.benchmark.adaptation.scenario_state", "ScenarioState", True),
    "RunSpecStruct": ("helm.benchmark.run_spec", "RunSpec", False),
    "StatStruct": ("helm.benchmark.metrics.statistic", "Stat", False),
    "PerInstanceStatsStruct": ("helm.benchmark.metrics.metric", "PerInstanceStats", False),
}


def __getattr__(name: str):
    """MAGNET's ``StatStruct`` etc.: the struct types of ``HelmRun.msgspec``, built when first asked for."""
    if name in _STRUCTS:
        import importlib

        from magnet.backends.helm.structs import struct_of

        module, cls, attrs = _STRUCTS[name]
        return struct_of(getattr(importlib.import_module(module), cls), attrs=attrs)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
