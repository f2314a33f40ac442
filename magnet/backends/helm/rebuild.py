"""Request-state rows for runs published without ``scenario_state.json``.

Published HELM suites often omit ``scenario_state.json``. What a run then
still has was written by HELM from the same request states:

* ``instances.json`` (the instances: input, references, split, id, perturbation),
  ``display_predictions.json`` (each request state's completion text, the
  mapped multiple-choice answer and per-instance stats) and
  ``display_requests.json`` (each request): from these the ``scenario_states``
  rows are rebuilt with the instance, ``train_trial_index``, the request and
  ``result.completions`` holding the completion text (no logprobs or tokens:
  HELM does not publish them there), the annotations (e.g. LLM-judge scores); ``output_mapping`` is restored for
  ``multiple_choice_joint`` runs (letters A, B, ... over the references in order,
  as HELM's joint adapter maps them);
* else ``per_instance_stats.json`` alone: one row per (instance, trial,
  perturbation) with the instance id, its split (the split of its stats) and
  perturbation, and no request or completion.

Every row of the ``scenario_states`` table says where it came from in the
column :data:`SOURCE_COLUMN` (one of :data:`SOURCES`, naming only the files that were used).

Example:
    >>> import json, tempfile, pathlib
    >>> run = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (run / "per_instance_stats.json").write_text(json.dumps([
    ...     {"instance_id": "id1", "train_trial_index": 0,
    ...      "stats": [{"name": {"name": "exact_match", "split": "test"}, "count": 1, "sum": 1, "mean": 1}]}]))
    >>> rows, source = rebuild_rows(str(run), {"adapter_spec": {"method": "generation"}})
    >>> row = rows[0]
    >>> source, row[STATE + "instance.id"], row[STATE + "instance.split"]
    ('per_instance_stats.json', 'id1', 'test')
"""

from __future__ import annotations

import os
from typing import Any

import orjson

from magnet.backends.helm.errors import HelmOutputError
from magnet.backends.helm.tables import flatten

STATE = "scenario_state.request_states."

#: The column naming each ``scenario_states`` row's source.
SOURCE_COLUMN = "magnet.state_source"

#: Where a request-state row can come from, most complete first.
SOURCES = ("scenario_state.json", "instances.json+display_predictions.json+display_requests.json",
           "per_instance_stats.json", "instances.json+display_predictions.json")

#: Files a rebuilt run's rows depend on (their sizes and times key the cache).
REBUILD_FILES = ("instances.json", "display_predictions.json", "display_requests.json", "per_instance_stats.json")


def _load(path: str):
    """Parsed JSON, or None when the file is absent; a damaged file raises a one-line error."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise HelmOutputError(path, f"cannot read: {e.strerror or e}") from None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise HelmOutputError(path, f"invalid JSON (truncated or corrupt): {e}") from None


def _key(instance_id, perturbation, trial=None):
    """Join key of an instance (and trial): id, the perturbation as canonical JSON, the trial."""
    pert = None if perturbation is None else orjson.dumps(perturbation, option=orjson.OPT_SORT_KEYS)
    return (instance_id, pert, trial)


def _list_of_objects(obj, path: str, what: str) -> list[dict]:
    if not isinstance(obj, list) or not all(isinstance(x, dict) for x in obj):
        raise HelmOutputError(path, f"expected a JSON list of {what} objects")
    return obj


def _joint_output_mapping(instance: dict) -> dict | None:
    """``{"A": text of reference 0, "B": ...}``, as HELM's multiple_choice_joint adapter maps letters."""
    refs = instance.get("references")
    if not isinstance(refs, list):
        return None
    texts = [((r.get("output") or {}).get("text") if isinstance(r, dict) else None) for r in refs]
    if any(not isinstance(t, str) for t in texts):
        return None
    return {chr(ord("A") + i): t for i, t in enumerate(texts)}


def rows_from_display_files(run_dir: str, run_spec: dict) -> list[dict[str, Any]] | None:
    """Rows from ``instances.json`` + ``display_predictions.json`` (+ ``display_requests.json``); None without them."""
    ipath = os.path.join(run_dir, "instances.json")
    ppath = os.path.join(run_dir, "display_predictions.json")
    instances, predictions = _load(ipath), _load(ppath)
    if instances is None or predictions is None:
        return None
    instances = _list_of_objects(instances, ipath, "instance")
    predictions = _list_of_objects(predictions, ppath, "prediction")
    rpath = os.path.join(run_dir, "display_requests.json")
    requests = _load(rpath)
    requests = {} if requests is None else {
        _key(r.get("instance_id"), r.get("perturbation"), r.get("train_trial_index")): r.get("request")
        for r in _list_of_objects(requests, rpath, "request")}
    by_key = {_key(i.get("id"), i.get("perturbation")): i for i in instances}
    joint = (run_spec.get("adapter_spec") or {}).get("method") == "multiple_choice_joint"
    rows = []
    for j, p in enumerate(predictions):
        instance = by_key.get(_key(p.get("instance_id"), p.get("perturbation")))
        if instance is None:
            raise HelmOutputError(ppath, f"prediction {j} names instance {p.get('instance_id')!r}, "
                                         "which instances.json does not list")
        row: dict[str, Any] = {}
        flatten(instance, STATE + "instance", row)
        row[STATE + "train_trial_index"] = p.get("train_trial_index")
        if joint and (mapping := _joint_output_mapping(instance)) is not None:
            row[STATE + "output_mapping"] = mapping
        request = requests.get(_key(p.get("instance_id"), p.get("perturbation"), p.get("train_trial_index")))
        if isinstance(request, dict):
            flatten(request, STATE + "request", row)
        if isinstance(p.get("annotations"), dict):
            flatten(p["annotations"], STATE + "annotations", row)
        text = p.get("predicted_text")
        row[STATE + "result.completions"] = [{"text": text}] if isinstance(text, str) else []
        rows.append(row)
    return rows


def rows_from_per_instance_stats(run_dir: str) -> list[dict[str, Any]] | None:
    """One row per (instance, trial, perturbation) of ``per_instance_stats.json``; None without it."""
    path = os.path.join(run_dir, "per_instance_stats.json")
    entries = _load(path)
    if entries is None:
        return None
    entries = _list_of_objects(entries, path, "per-instance stats")
    rows, seen = [], set()
    for i, entry in enumerate(entries):
        iid, stats = entry.get("instance_id"), entry.get("stats")
        if not isinstance(iid, str) or not isinstance(stats, list):
            raise HelmOutputError(path, f"entry {i} should have a string 'instance_id' and a 'stats' list")
        key = _key(iid, entry.get("perturbation"), entry.get("train_trial_index"))
        if key in seen:  # HELM may list an instance twice with different metric sets
            continue
        seen.add(key)
        splits = [s["name"].get("split") for s in stats if isinstance(s, dict) and isinstance(s.get("name"), dict)]
        row: dict[str, Any] = {STATE + "instance.id": iid,
                               STATE + "instance.split": next((s for s in splits if s), None)}
        if isinstance(entry.get("perturbation"), dict):
            flatten(entry["perturbation"], STATE + "instance.perturbation", row)
        row[STATE + "train_trial_index"] = entry.get("train_trial_index")
        rows.append(row)
    return rows


def rebuild_rows(run_dir: str, run_spec: dict) -> tuple[list[dict[str, Any]], str]:
    """A run's request-state rows rebuilt from its other files, and their source (see the module docstring).

    Raises :class:`HelmOutputError` ("file is missing" for ``scenario_state.json``) when nothing can rebuild them.
    """
    rows = rows_from_display_files(run_dir, run_spec)
    # name only the files used: many published runs have no display_requests.json
    source = SOURCES[1] if os.path.isfile(os.path.join(run_dir, "display_requests.json")) else SOURCES[3]
    if rows is None:
        rows, source = rows_from_per_instance_stats(run_dir), SOURCES[2]
    if rows is None:
        raise HelmOutputError(os.path.join(run_dir, "scenario_state.json"), "file is missing")
    return rows, source


def present_rebuild_files(run_dir: str) -> list[str]:
    """The files of :data:`REBUILD_FILES` the run has (what its rebuilt rows depend on)."""
    return [name for name in REBUILD_FILES if os.path.isfile(os.path.join(run_dir, name))]
