"""A models x instances score matrix written as a HELM-shaped ``benchmark_output``.

The peers (BenchPred, tinyBenchmarks) work on score matrices: one row per
model, one column per instance, the value the model's score on it (0/1 or in
[0, 1]; missing cells allowed). :func:`import_scores` writes such a matrix as
HELM would have: ``runs/<suite>/<scenario>:model=<model>/`` with
``run_spec.json``, ``scenario.json``, ``stats.json`` and
``per_instance_stats.json`` per model (no ``scenario_state.json``: there are
no requests), plus a suite ``schema.json`` that declares ``metric`` on the
``test`` split as the scenario's main metric, so every magnet command reads
it unchanged. A missing cell is an instance the model has no per-instance
stat for; the run's stat averages its observed cells. Several matrices
(scenarios) can go into the same suite, one call each.

:func:`read_matrix` reads ``.npy``, ``.csv`` and ``.parquet`` (for csv and
parquet a first non-numeric column holds the model names and non-numeric
column headers the instance ids).

Example:
    >>> import tempfile, numpy as np
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> out = tempfile.mkdtemp()
    >>> m = np.array([[1, 0, np.nan], [1, 1, 0]])
    >>> runs = import_scores(m, out, scenario="toy", metric="exact_match", models=["a/x", "b/y"])
    >>> [r.name for r in runs]
    ['toy:model=a_x', 'toy:model=b_y']
    >>> pis = HelmOutputs.coerce(out).per_instance_stats()
    >>> scores_matrix(pis, "exact_match").values.tolist()
    [[1.0, 0.0, nan], [1.0, 1.0, 0.0]]
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from magnet.backends.helm.errors import HelmOutputError

RUN = "run_spec.name"
PIS = "per_instance_stats."
SPLIT = "test"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def read_matrix(path: str | os.PathLike) -> tuple[np.ndarray, list[str] | None, list[str] | None]:
    """``(values, model names or None, instance ids or None)`` from a .npy, .csv or .parquet file.

    Raises :class:`~magnet.backends.helm.errors.HelmOutputError` naming the file for anything unreadable.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.csv"
        >>> _ = p.write_text("model,q1,q2\\nm1,1,0\\nm2,,1\\n")
        >>> values, models, ids = read_matrix(p)
        >>> values.tolist(), models, ids
        ([[1.0, 0.0], [nan, 1.0]], ['m1', 'm2'], ['q1', 'q2'])
    """
    path = Path(path)
    if not path.is_file():
        raise HelmOutputError(path, "score matrix file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
            return _as_float(arr, path), None, None
        if suffix == ".csv":
            df = pd.read_csv(path)
        elif suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        else:
            raise HelmOutputError(path, f"unknown score matrix format {suffix!r}; expected .npy, .csv or .parquet")
    except HelmOutputError:
        raise
    except Exception as e:  # numpy / pandas / pyarrow parse errors
        raise HelmOutputError(path, f"cannot read score matrix: {' '.join(str(e).split())[:200]}") from None
    models = None
    if df.shape[1] and not pd.api.types.is_numeric_dtype(df.iloc[:, 0]):
        models = [str(m) for m in df.iloc[:, 0]]
        df = df.iloc[:, 1:]
    elif df.index.dtype == object:
        models = [str(m) for m in df.index]
    cols = [str(c) for c in df.columns]
    ids = None if all(c == str(i) for i, c in enumerate(cols)) else cols
    bad = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        raise HelmOutputError(path, f"column {str(bad[0])!r} is not numeric")
    return _as_float(df.to_numpy(dtype=float), path), models, ids


def _as_float(arr: np.ndarray, path) -> np.ndarray:
    if arr.ndim != 2:
        raise HelmOutputError(path, f"score matrix must be 2-D (models x instances), got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise HelmOutputError(path, f"score matrix must be numeric, got dtype {arr.dtype}")
    return arr.astype(float)


def _names(path, what: str, n: int, default_prefix: str) -> list[str]:
    if path is None:
        return [f"{default_prefix}{i}" for i in range(n)]
    p = Path(path)
    if not p.is_file():
        raise HelmOutputError(p, f"{what} file not found")
    names = [line.strip() for line in p.read_text().splitlines() if line.strip()]
    if len(names) != n:
        raise HelmOutputError(p, f"has {len(names)} {what}, the matrix has {n}")
    return names


def _stat(name: str, values: np.ndarray) -> dict:
    """A HELM ``Stat`` as JSON over ``values``."""
    n = len(values)
    s, s2 = float(values.sum()), float((values ** 2).sum())
    mean = s / n
    var = max(s2 / n - mean * mean, 0.0)
    return {"name": {"name": name, "split": SPLIT}, "count": n, "sum": s, "sum_squared": s2,
            "min": float(values.min()), "max": float(values.max()), "mean": mean, "variance": var,
            "stddev": math.sqrt(var)}


def _check(values: np.ndarray, models: list[str], ids: list[str], source) -> None:
    finite = values[~np.isnan(values)]
    if np.isinf(values).any():
        raise HelmOutputError(source, "score matrix holds infinite values")
    if len(finite) and (finite.min() < 0 or finite.max() > 1):
        raise HelmOutputError(source, f"scores must be in [0, 1] (or missing), found {finite.min():g} .. {finite.max():g}")
    for what, names in (("model", models), ("instance id", ids)):
        dup = pd.Index(names)[pd.Index(names).duplicated()]
        if len(dup):
            raise HelmOutputError(source, f"{what} {dup[0]!r} appears twice")
    empty = [m for m, row in zip(models, values) if np.isnan(row).all()]
    if empty:
        raise HelmOutputError(source, f"model {empty[0]!r} has no score at all")


def import_scores(matrix, out_dir: str | os.PathLike, *, scenario: str, metric: str,
                  models: list[str] | None = None, instance_ids: list[str] | None = None,
                  suite: str = "imported", source: str | None = None) -> list[Path]:
    """Write ``matrix`` (models x instances; NaN = missing) as HELM runs under ``out_dir``; returns the run dirs.

    ``out_dir`` is the ``benchmark_output`` directory (runs go to ``out_dir/runs/<suite>/``).
    Model names may contain ``/`` (HELM's ``org/model``); the run name uses ``_``.
    """
    source = source or "score matrix"
    values = _as_float(np.asarray(matrix), source)
    n_models, n_items = values.shape
    models = list(models) if models is not None else [f"model{i}" for i in range(n_models)]
    ids = list(instance_ids) if instance_ids is not None else [f"id{j}" for j in range(n_items)]
    if len(models) != n_models:
        raise HelmOutputError(source, f"{len(models)} model names for {n_models} matrix rows")
    if len(ids) != n_items:
        raise HelmOutputError(source, f"{len(ids)} instance ids for {n_items} matrix columns")
    for label, name in (("--scenario", scenario), ("--metric", metric), ("--suite", suite)):
        if not _NAME.match(name):
            raise HelmOutputError(source, f"{label} {name!r} must be letters, digits, '.', '_' or '-'")
    _check(values, models, ids, source)
    suite_dir = Path(out_dir) / "runs" / suite
    suite_dir.mkdir(parents=True, exist_ok=True)
    _add_schema(suite_dir, scenario, metric)
    dirs = []
    for model, row in zip(models, values):
        run = f"{scenario}:model={model.replace('/', '_')}"
        run_dir = suite_dir / run
        run_dir.mkdir(exist_ok=True)
        observed = ~np.isnan(row)
        spec = {
            "name": run,
            "scenario_spec": {"class_name": f"magnet.imported.{scenario}", "args": {}},
            "adapter_spec": {"method": "generation", "model": model, "model_deployment": model,
                             "max_eval_instances": int(observed.sum())},
            "metric_specs": [],
            "data_augmenter_spec": {"perturbation_specs": [], "should_augment_train_instances": False,
                                    "should_include_original_train": False, "should_skip_unchanged_train": False,
                                    "should_augment_eval_instances": False, "should_include_original_eval": False,
                                    "should_skip_unchanged_eval": False, "seeds_per_instance": 1},
            "groups": [scenario],
        }
        pis = [{"instance_id": i, "train_trial_index": 0, "stats": [_stat(metric, np.array([v]))]}
               for i, v, ok in zip(ids, row, observed) if ok]
        stats = [_stat(metric, row[observed]), _stat("num_instances", np.array([float(observed.sum())]))]
        _write(run_dir / "run_spec.json", spec)
        _write(run_dir / "scenario.json", {"name": scenario, "description": f"imported from {source}",
                                           "tags": ["imported"], "definition_path": ""})
        _write(run_dir / "stats.json", stats)
        _write(run_dir / "per_instance_stats.json", pis)
        dirs.append(run_dir)
    return dirs


def _add_schema(suite_dir: Path, scenario: str, metric: str) -> None:
    """Declare ``metric`` on ``test`` as the scenario's main metric in the suite's schema.json."""
    path = suite_dir / "schema.json"
    schema = json.loads(path.read_text()) if path.exists() else {}
    groups = [g for g in schema.get("run_groups", []) if g.get("name") != scenario]
    groups.append({"name": scenario, "display_name": scenario,
                   "environment": {"main_name": metric, "main_split": SPLIT}})
    schema["run_groups"] = groups
    _write(path, schema)


def _write(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=None if isinstance(obj, list) and len(obj) > 2 else 2))


def scores_matrix(per_instance_stats: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The models x instances matrix of ``metric`` back from a per_instance_stats table (NaN = missing).

    Rows are runs in table order, columns instance ids in first-seen order.
    """
    pis = per_instance_stats[per_instance_stats[PIS + "stats.name.name"] == metric]
    if PIS + "perturbation.name" in pis:
        pis = pis[pis[PIS + "perturbation.name"].isna()]
    table = pis.pivot_table(index=RUN, columns=PIS + "instance_id", values=PIS + "stats.mean", aggfunc="mean",
                            sort=False)
    return table.reindex(index=list(dict.fromkeys(pis[RUN])), columns=list(dict.fromkeys(pis[PIS + "instance_id"])))
