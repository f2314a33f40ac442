"""Flatten HELM's per-run JSON files into table rows: magnet's column conventions.

Four tables, one row per:

============================  =====================================  ===============================
table                          one row per                            source file
============================  =====================================  ===============================
``run_specs``                  run                                    ``run_spec.json``
``scenario_states``            request state                          ``scenario_state.json``
``stats``                      stat                                   ``stats.json``
``per_instance_stats``         (instance, trial, perturbation, stat)  ``per_instance_stats.json``
============================  =====================================  ===============================

**Column names are HELM's JSON paths joined by dots, prefixed by the file's
object name**: ``run_spec.adapter_spec.model``, ``stats.name.name``,
``stats.name.perturbation.name``, ``stats.mean``,
``scenario_state.request_states.instance.id``,
``per_instance_stats.stats.name.name``. Anyone who knows HELM's dataclasses
can read them. Rules:

* nested objects are flattened (``stats.name.perturbation.computed_on``);
  fields HELM omits (e.g. ``mean`` of a stat with ``count == 0``, or
  ``perturbation`` of an unperturbed stat) are missing values (NaN/None), and
  the row is kept;
* lists stay whole, as Python objects in one column
  (``scenario_state.request_states.instance.references``,
  ``scenario_state.request_states.result.completions``), and so do mappings
  with data-dependent keys (``...request_states.output_mapping``);
* every table carries ``suite`` and ``run_spec.name`` (read from the run's
  ``run_spec.json``, which has HELM's ``/`` where the directory name has
  ``_``) to join on; ``(suite, run_spec.name)`` identifies a run;
* ``scenario_state.adapter_spec`` is not repeated per request state: it is
  the run's ``run_spec.adapter_spec``;
* ``per_instance_stats`` keeps every entry: HELM may list the same
  ``(instance_id, train_trial_index)`` more than once with different metric
  sets, and those rows belong together.

Example:
    >>> stats = [{"name": {"name": "exact_match", "split": "test",
    ...                    "perturbation": {"name": "typos", "computed_on": "perturbed", "prob": 0.1}},
    ...           "count": 1, "sum": 0.5, "sum_squared": 0.25, "mean": 0.5},
    ...          {"name": {"name": "num_instances", "split": "valid"}, "count": 0, "sum": 0, "sum_squared": 0}]
    >>> rows = stats_rows(stats, "f/stats.json")
    >>> rows[0]["stats.name.perturbation.name"], rows[0]["stats.mean"]
    ('typos', 0.5)
    >>> "stats.mean" in rows[1]   # count == 0: HELM writes no mean; the row is kept
    False
"""

from __future__ import annotations

import math
from typing import Any

from magnet.backends.helm.errors import HelmOutputError
from magnet.tables.columns import TABLES  # the contract lives outside helm/; re-exported here

#: The file each table is read from.
TABLE_FILES = {
    "run_specs": "run_spec.json",
    "scenario_states": "scenario_state.json",
    "stats": "stats.json",
    "per_instance_stats": "per_instance_stats.json",
}

#: Files HELM does not always publish: a run without one contributes no rows
#: to that table and is reported (a warning and ``df.attrs["missing"]``), not failed.
OPTIONAL_FILES = {"scenario_state.json", "per_instance_stats.json"}

STAT_NUMBERS = ("count", "sum", "sum_squared", "min", "max", "mean", "variance", "stddev")


def flatten(obj: Any, prefix: str, out: dict[str, Any]) -> dict[str, Any]:
    """Flatten nested dicts into ``out`` with dotted keys; lists stay whole.

    Example:
        >>> flatten({"a": {"b": 1, "c": [1, 2]}, "d": None}, "x", {})
        {'x.a.b': 1, 'x.a.c': [1, 2], 'x.d': None}
    """
    if not isinstance(obj, dict):
        out[prefix] = obj
        return out
    dotted = _DOTTED.get(prefix)
    if dotted is None:
        if len(_DOTTED) >= DOTTED_MAX:
            _DOTTED.clear()
        dotted = _DOTTED[prefix] = {}
    for key, value in obj.items():  # recurse only into mappings: most values are leaves
        name = dotted.get(key)
        if name is None:
            name = f"{prefix}.{key}"
            if len(dotted) < DOTTED_MAX:  # keys that are data (ids, say) are not kept for ever
                dotted[key] = name
        if isinstance(value, dict):
            flatten(value, name, out)
        else:
            out[name] = value
    return out


#: prefix -> {key: "prefix.key"}: the dotted names :func:`flatten` made before. Rows share
#: their keys, so each name is built once, and all rows' dicts hold the same string objects
#: (cheaper to hash and compare when the rows become columns).
_DOTTED: dict[str, dict[str, str]] = {}

#: Most prefixes kept in :data:`_DOTTED` (then it starts afresh), and most keys kept per prefix.
DOTTED_MAX = 10_000


def _expect(cond: bool, path: str, problem: str) -> None:
    if not cond:
        raise HelmOutputError(path, problem)


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _check_stat(stat: Any, path: str, where: str) -> None:
    _expect(isinstance(stat, dict), path, f"{where} should be an object, got {_type_name(stat)}")
    name = stat.get("name")
    _expect(isinstance(name, dict) and isinstance(name.get("name"), str), path,
            f"{where} has no metric name (expected name.name to be a string)")
    for field in STAT_NUMBERS:
        value = stat.get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise HelmOutputError(path, f"{where} field {field!r} should be a number, got {_type_name(value)} {value!r}"[:300])
        if field == "count" and value is None:
            raise HelmOutputError(path, f"{where} ({name['name']}) has no count")


def run_spec_row(run_spec: Any, path: str) -> dict[str, Any]:
    """The ``run_specs`` row of one ``run_spec.json`` (validated).

    Example:
        >>> row = run_spec_row({"name": "m:model=a_b", "adapter_spec": {"model": "a/b"}}, "r/run_spec.json")
        >>> row["run_spec.name"], row["run_spec.adapter_spec.model"]
        ('m:model=a_b', 'a/b')
    """
    _expect(isinstance(run_spec, dict), path, f"expected a JSON object, got {_type_name(run_spec)}")
    _expect(isinstance(run_spec.get("name"), str), path, "field 'name' should be a string")
    _expect(isinstance(run_spec.get("adapter_spec"), dict), path, "field 'adapter_spec' should be an object")
    return flatten(run_spec, "run_spec", {})


def stats_rows(stats: Any, path: str) -> list[dict[str, Any]]:
    """The ``stats`` rows of one ``stats.json`` (validated, one per Stat)."""
    _expect(isinstance(stats, list), path, f"expected a JSON list of stats, got {_type_name(stats)}")
    rows = []
    for i, stat in enumerate(stats):
        _check_stat(stat, path, f"entry {i}")
        rows.append(flatten(stat, "stats", {}))
    return rows


def scenario_state_rows(state: Any, path: str) -> list[dict[str, Any]]:
    """The ``scenario_states`` rows of one ``scenario_state.json`` (one per request state)."""
    _expect(isinstance(state, dict), path, f"expected a JSON object, got {_type_name(state)}")
    request_states = state.get("request_states")
    _expect(isinstance(request_states, list), path, "field 'request_states' should be a list")
    rows = []
    for i, rs in enumerate(request_states):
        _expect(isinstance(rs, dict) and isinstance(rs.get("instance"), dict), path,
                f"request state {i} should be an object with an 'instance' object")
        row: dict[str, Any] = {}
        for key, value in rs.items():
            if key == "output_mapping":  # keys are data (A, B, ...), not schema
                row["scenario_state.request_states.output_mapping"] = value
            else:
                flatten(value, f"scenario_state.request_states.{key}", row)
        rows.append(row)
    return rows


def per_instance_stats_rows(entries: Any, path: str) -> list[dict[str, Any]]:
    """The ``per_instance_stats`` rows of one ``per_instance_stats.json``: one per (entry, stat)."""
    _expect(isinstance(entries, list), path, f"expected a JSON list, got {_type_name(entries)}")
    rows = []
    for i, entry in enumerate(entries):
        _expect(isinstance(entry, dict) and isinstance(entry.get("stats"), list), path,
                f"entry {i} should be an object with a 'stats' list")
        head: dict[str, Any] = {}
        for key, value in entry.items():
            if key != "stats":
                flatten(value, f"per_instance_stats.{key}", head)
        for j, stat in enumerate(entry["stats"]):
            _check_stat(stat, path, f"entry {i} stat {j}")
            rows.append(flatten(stat, "per_instance_stats.stats", dict(head)))
    return rows


ROW_MAKERS = {
    "run_specs": lambda obj, path: [run_spec_row(obj, path)],
    "scenario_states": scenario_state_rows,
    "stats": stats_rows,
    "per_instance_stats": per_instance_stats_rows,
}


def is_missing(value: Any) -> bool:
    """True for None and float NaN.

    Example:
        >>> is_missing(float("nan")), is_missing(0.0)
        (True, False)
    """
    return value is None or (isinstance(value, float) and math.isnan(value))
