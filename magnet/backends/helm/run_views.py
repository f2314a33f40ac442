"""One HELM run read four ways, as MAGNET's ``HelmRun.json`` / ``.dataclass`` / ``.msgspec`` / ``.dataframe`` views.

- :class:`RunJsonView`: each file parsed as plain JSON (``dict`` / ``list``);
- :class:`RunDataclassView`: HELM's own dataclasses (``RunSpec``, ``ScenarioState``, ``Stat``,
  ``PerInstanceStats``) built from the JSON with ``dacite``, which crfm-helm itself uses to read them back;
- :class:`RunMsgspecView`: the same objects as ``msgspec`` structs (:mod:`magnet.backends.helm.structs`), decoded
  from the file's bytes in one pass: same field names and values, several times faster;
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

from magnet.backends.helm import structs as _structs
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


class RunMsgspecView:
    """The run's files as ``msgspec`` copies of HELM's dataclasses (MAGNET's ``HelmRun.msgspec``).

    Each method returns what :class:`RunDataclassView` returns, as structs of :func:`~.structs.struct_of` (lists
    instead of generators): the same attribute paths (``scenario_state().request_states[0].result.completions``),
    and ``ScenarioState``'s derived ``instances`` / ``request_state_map``. ``structs.to_dataclass`` converts one
    to HELM's own class.

    Example:
        >>> from magnet.backends.helm.helm_outputs import HelmRun
        >>> run = HelmRun.demo()
        >>> state = run.msgspec.scenario_state()
        >>> state.adapter_spec.model == run.dataclass.scenario_state().adapter_spec.model
        True
        >>> len(state.instances) == len({rs.instance.id for rs in state.request_states})
        True
        >>> [s.mean for s in run.msgspec.stats()] == [s.mean for s in run.dataclass.stats()]
        True
    """

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir)

    def run_spec(self):
        """``RunSpec`` (struct)."""
        from helm.benchmark.run_spec import RunSpec

        return _structs.read(self.path / "run_spec.json", _structs.struct_of(RunSpec))

    def scenario(self) -> dict:
        """``scenario.json`` as JSON: HELM writes a summary of the scenario there, not a dataclass."""
        return RunJsonView(self.path).scenario()

    def scenario_state(self):
        """``ScenarioState`` (struct, with HELM's derived ``instances`` and ``request_state_map``)."""
        from helm.benchmark.adaptation.scenario_state import ScenarioState

        return _structs.read(self.path / "scenario_state.json", _structs.struct_of(ScenarioState, attrs=True))

    def stats(self) -> list:
        """``Stat`` structs, one per entry of ``stats.json``."""
        from helm.benchmark.metrics.statistic import Stat

        return _structs.read(self.path / "stats.json", list[_structs.struct_of(Stat)])

    def per_instance_stats(self) -> list:
        """``PerInstanceStats`` structs, one per entry of ``per_instance_stats.json``."""
        from helm.benchmark.metrics.metric import PerInstanceStats

        return _structs.read(self.path / "per_instance_stats.json", list[_structs.struct_of(PerInstanceStats)])


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
