"""MAGNET's split objects: the frames a ``predict(train_split, sequestered_test_split)`` predictor receives.

They only package the frames :func:`magnet.protocol.splits.fold_inputs` decides
a predictor may see (:mod:`magnet.protocol.predict_call` builds them); they
decide nothing themselves. A :class:`SequesteredTestSplit` cannot hold stats.
A frame given as a :class:`~magnet.protocol.private_copy.Deferred` is copied when first read.

Example:
    >>> import pandas as pd
    >>> test = TestSplit(run_specs=pd.DataFrame({"run_spec.name": ["r"]}), stats=pd.DataFrame({"stats.mean": [1.0]}))
    >>> seq = test.sequester()
    >>> type(seq).__name__, seq.stats is None, list(seq.run_specs["run_spec.name"])
    ('SequesteredTestSplit', True, ['r'])
    >>> SequesteredTestSplit(stats=pd.DataFrame())
    Traceback (most recent call last):
    ValueError: a SequesteredTestSplit cannot hold stats or per_instance_stats
"""

from __future__ import annotations

import pandas as pd

from magnet.protocol.private_copy import resolving_getattribute


class DataSplit:
    """The four tables of some runs (any may be None): ``run_specs``, ``scenario_state``, ``stats``, ``per_instance_stats``."""

    def __init__(self, run_specs: pd.DataFrame | None = None, scenario_state: pd.DataFrame | None = None,
                 stats: pd.DataFrame | None = None, per_instance_stats: pd.DataFrame | None = None):
        self.run_specs = run_specs
        self.scenario_state = scenario_state
        self.stats = stats
        self.per_instance_stats = per_instance_stats

    __getattribute__ = resolving_getattribute

    @property
    def scenario_states(self) -> pd.DataFrame | None:
        """magnet's plural spelling of ``scenario_state``."""
        return self.scenario_state

    def __repr__(self) -> str:
        sizes = {k: None if getattr(self, k) is None else len(getattr(self, k)) for k in vars(self)}
        return f"{type(self).__name__}({', '.join(f'{k}={v} rows' for k, v in sizes.items() if v is not None)})"


class TrainSplit(DataSplit):
    """The train runs, in full."""


class TestSplit(DataSplit):
    """Eval runs with their results (held by magnet, never given to a predictor)."""

    __test__ = False  # not a pytest test class

    def sequester(self) -> "SequesteredTestSplit":
        """The same runs without stats or per-instance stats."""
        return SequesteredTestSplit(run_specs=self.run_specs, scenario_state=self.scenario_state)


class SequesteredTestSplit(TestSplit):
    """What a predictor sees of the eval runs: run_specs and the revealed request states."""

    def __init__(self, run_specs: pd.DataFrame | None = None, scenario_state: pd.DataFrame | None = None,
                 stats: pd.DataFrame | None = None, per_instance_stats: pd.DataFrame | None = None):
        if stats is not None or per_instance_stats is not None:
            raise ValueError("a SequesteredTestSplit cannot hold stats or per_instance_stats")
        super().__init__(run_specs=run_specs, scenario_state=scenario_state)
