"""One HELM run read three ways, as MAGNET's ``HelmRun.json`` / ``.dataclass`` / ``.dataframe`` views.

- :class:`RunJsonView`: each file parsed as plain JSON (``dict`` / ``list``);
- :class:`RunDataclassView`: HELM's own dataclasses (``RunSpec``, ``ScenarioState``, ``Stat``,
  ``PerInstanceStats``) built from the JSON with ``dacite``, which crfm-helm itself uses to read them back;
- :class:`RunDataFrameView`: the flat tables of magnet's loader for this run (the ``HelmRun`` methods).

A damaged or missing file raises a one-line :class:`~magnet.backends.helm.errors.HelmOutputError` naming it.

Example:
    >>> from magnet.backends.helm.helm_outputs import HelmRun
    >>> run = HelmRun.demo()
    >>> spec = run.json.run_spec()
    >>> spec["name"] == run.dataclass.run_spec().name == run.dataframe.run_spec()["run_spec.name"].iloc[0]
    True
    >>> stats = list(run.dataclass.stats())
    >>> len(stats) == len(run.json.stats()) == len(run.dataframe.stats())
    True
    >>> type(stats[0]).__name__, type(next(iter(run.dataclass.per_instance_stats()))).__name__
    ('Stat', 'PerInstanceStats')
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import orjson

from magnet.backends.helm.errors import HelmOutputError


def _load(path: Path):
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise HelmOutputError(path, "file is missing") from None
    except orjson.JSONDecodeError as e:
        raise HelmOutputError(path, f"invalid JSON (truncated or corrupt): {e}") from None


class RunJsonView:
    """The run's files as parsed JSON."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir)

    def run_spec(self) -> dict:
        """``run_spec.json``."""
        return _load(self.path / "run_spec.json")

    def scenario(self) -> dict:
        """``scenario.json``."""
        return _load(self.path / "scenario.json")

    def scenario_state(self) -> dict:
        """``scenario_state.json``."""
        return _load(self.path / "scenario_state.json")

    def stats(self) -> list[dict]:
        """``stats.json``."""
        return _load(self.path / "stats.json")

    def per_instance_stats(self) -> list[dict]:
        """``per_instance_stats.json``."""
        return _load(self.path / "per_instance_stats.json")


class RunDataclassView:
    """The run's files as HELM's dataclasses (``dacite.from_dict``, as HELM reads them back)."""

    def __init__(self, run_dir: Path):
        self.json = RunJsonView(run_dir)

    @staticmethod
    def _build(cls, data, path: Path):
        import dacite

        try:
            return dacite.from_dict(cls, data, config=dacite.Config(check_types=False))
        except (dacite.DaciteError, TypeError, ValueError) as e:
            raise HelmOutputError(path, f"does not match HELM's {cls.__name__}: {e}") from None

    def run_spec(self):
        """``RunSpec``."""
        from helm.benchmark.run_spec import RunSpec

        return self._build(RunSpec, self.json.run_spec(), self.json.path / "run_spec.json")

    def scenario(self) -> dict:
        """``scenario.json`` as JSON: HELM writes a summary of the scenario there, not a dataclass."""
        return self.json.scenario()

    def scenario_state(self):
        """``ScenarioState``."""
        from helm.benchmark.adaptation.scenario_state import ScenarioState

        return self._build(ScenarioState, self.json.scenario_state(), self.json.path / "scenario_state.json")

    def stats(self) -> Iterator:
        """``Stat`` objects, one per entry of ``stats.json``."""
        from helm.benchmark.metrics.statistic import Stat

        path = self.json.path / "stats.json"
        return (self._build(Stat, s, path) for s in self.json.stats())

    def per_instance_stats(self) -> Iterator:
        """``PerInstanceStats`` objects, one per entry of ``per_instance_stats.json``."""
        from helm.benchmark.metrics.metric import PerInstanceStats

        path = self.json.path / "per_instance_stats.json"
        return (self._build(PerInstanceStats, s, path) for s in self.json.per_instance_stats())


class RunDataFrameView:
    """The run's flat tables (magnet's loader, its cache): what ``HelmRun.stats()`` etc. return."""

    def __init__(self, run):
        self.run = run

    def run_spec(self):
        """The ``run_specs`` table of the run (one row)."""
        return self.run.run_spec()

    def scenario_state(self):
        """The ``scenario_states`` table of the run."""
        return self.run.scenario_state()

    def stats(self):
        """The ``stats`` table of the run."""
        return self.run.stats()

    def per_instance_stats(self):
        """The ``per_instance_stats`` table of the run."""
        return self.run.per_instance_stats()
