"""The table API every outputs object shares: one ``table(name)`` method, and the named shortcuts over it.

:class:`TableAccessors` gives ``run_specs()``, ``scenario_states()``, ``stats()``,
``per_instance_stats()`` and ``tables(names)`` to any class with a
``table(name, **kwargs)`` method: :class:`~magnet.backends.helm.outputs.HelmOutputs`
(which reads several tables at once its own way, so it keeps its own ``tables``)
and :class:`~magnet.tables.outputs.TableOutputs`.

Example:
    >>> import pandas as pd
    >>> class Frames(TableAccessors):
    ...     def table(self, name, **kwargs):
    ...         return pd.DataFrame({"table": [name], **{k: [v] for k, v in kwargs.items()}})
    >>> Frames().stats(errors="skip").to_dict("records")
    [{'table': 'stats', 'errors': 'skip'}]
    >>> list(Frames().tables(["run_specs", "stats"]))
    ['run_specs', 'stats']
"""

from __future__ import annotations

import pandas as pd

from magnet.tables.columns import TABLES


class TableAccessors:
    """``run_specs()``, ``scenario_states()``, ``stats()``, ``per_instance_stats()`` and ``tables()`` over
    the subclass's ``table(name, **kwargs)``; every keyword goes through to it (see module docstring)."""

    def table(self, name: str, **kwargs) -> pd.DataFrame:  # pragma: no cover - every subclass defines it
        """One table by name (defined by each outputs class)."""
        raise NotImplementedError

    def tables(self, names=TABLES, **kwargs) -> dict[str, pd.DataFrame]:
        """Several tables, ``{name: DataFrame}`` (all four by default), as :meth:`table` gives each."""
        return {n: self.table(n, **kwargs) for n in names}

    def run_specs(self, **kwargs) -> pd.DataFrame:
        """The ``run_specs`` table (one row per run)."""
        return self.table("run_specs", **kwargs)

    def scenario_states(self, **kwargs) -> pd.DataFrame:
        """The ``scenario_states`` table (one row per request state: per instance, or per sample x epoch)."""
        return self.table("scenario_states", **kwargs)

    def stats(self, **kwargs) -> pd.DataFrame:
        """The ``stats`` table (one row per run x stat)."""
        return self.table("stats", **kwargs)

    def per_instance_stats(self, **kwargs) -> pd.DataFrame:
        """The ``per_instance_stats`` table (one row per instance (x epoch) x stat)."""
        return self.table("per_instance_stats", **kwargs)
