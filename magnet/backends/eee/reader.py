"""Read Every Eval Ever (EEE) records into magnet's four tables.

An EEE record is an aggregate ``{uuid}.json`` (schema ``eval.schema.json``:
``model_info``, ``evaluation_results[]`` each with ``evaluation_name``,
``source_data.dataset_name``, ``metric_config`` and ``score_details``) and,
optionally, the instance-level ``{uuid}_samples.jsonl`` beside it (schema
``instance_level_eval.schema.json``: one line per sample and evaluation
result, ``evaluation.score``). Datastores lay them out as
``data/<benchmark>/<developer>/<model>/``; any folder depth is accepted. Here:

* a **run** is one (model, dataset) of a record: ``model_info.id`` and
  ``source_data.dataset_name`` (else ``evaluation_name``); ``run_spec.name``
  is ``<dataset>:model=<model id with / as _>``. Records repeating a run keep
  the newest (``retrieved_timestamp``); the others are listed in
  ``attrs["superseded"]``;
* a **stat** is one evaluation result: ``stats.name.name`` its
  ``evaluation_result_id`` (unique in a record), else its metric name;
  ``stats.mean`` = ``score_details.score``, ``stats.stderr`` =
  ``uncertainty.standard_error.value``, ``stats.count`` =
  ``uncertainty.num_samples`` (else the number of instance rows);
* a **per-instance stat** is one instance line: its ``sample_id`` and
  ``evaluation.score`` under the stat its ``evaluation_result_id`` names
  (else the first result of its ``evaluation_name``);
* a **request state** is one sample: ``input.raw``, the references (the
  choices, with the gold tagged ``correct``), and the terminal extracted answer
  as the completion. EEE stores no log-probabilities.

Everything else is kept in columns prefixed ``eee.``. The main metric of a
dataset (served as a HELM-style schema) is its first evaluation result.

Example:
    >>> from pathlib import Path
    >>> root = Path(__file__).resolve().parents[3] / "tests" / "data" / "eee-demo"
    >>> detect(root), detect(root.parent / "lm-eval-demo")
    (True, False)
    >>> t = read_tables(root)
    >>> sorted(t["stats"]["stats.name.name"].unique())
    ['acc', 'acc_norm', 'exact_match:flexible-extract', 'exact_match:strict-match']
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from magnet.backends.helm.errors import HelmOutputError, Skipped
from magnet.backends.source_files import (
    Damage, NamedFiles, frame, main_metric_schemas, number, read_json_object, read_jsonl,
)
from magnet.tables.building import gc_paused

RUN = "run_spec.name"
STATE = "scenario_state.request_states."
PIS = "per_instance_stats."
P = "eee."

UUID_JSON = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\.json$")


#: EEE's aggregate ``{uuid}.json`` records: ``RECORDS.files(path)`` lists them; :func:`detect` finds one.
RECORDS = NamedFiles(UUID_JSON)
record_files = RECORDS.files
#: Whether ``path`` holds EEE records (a ``{uuid}.json`` file, or a folder with one below it).
detect = RECORDS.detect


def _read_record(path: Path) -> dict:
    data = read_json_object(path, "Every Eval Ever record")
    for key, kind in (("evaluation_results", list), ("model_info", dict)):
        if not isinstance(data.get(key), kind):
            raise HelmOutputError(path, f"not an Every Eval Ever record (no {key!r} {kind.__name__})")
    for i, r in enumerate(data["evaluation_results"]):
        if not isinstance(r, dict) or not isinstance(r.get("score_details"), dict) or "score" not in r["score_details"]:
            raise HelmOutputError(path, f"evaluation_results[{i}] has no score_details.score")
    return data


def _sample_problem(row: dict) -> str | None:
    if "sample_id" not in row or not isinstance(row.get("evaluation"), dict):
        return "not an EEE instance row (no 'sample_id'/'evaluation')"
    return None


def _dataset(result: dict) -> str:
    source = result.get("source_data")
    name = source.get("dataset_name") if isinstance(source, dict) else None
    return str(name or result.get("evaluation_name") or "unknown")


def _stat_name(result: dict) -> str:
    if result.get("evaluation_result_id"):
        return str(result["evaluation_result_id"])
    mc = result.get("metric_config") or {}
    base = mc.get("metric_name") or mc.get("metric_id") or mc.get("evaluation_description") or "score"
    ev = result.get("evaluation_name")
    return f"{base}/{ev}" if ev and ev != _dataset(result) else str(base)


def _references(inp: dict) -> list[dict]:
    refs = [str(r) for r in (inp.get("reference") or [])]
    choices = inp.get("choices")
    if not choices:
        return [{"output": {"text": r}, "tags": ["correct"]} for r in refs]
    choices = [str(c) for c in choices]
    gold = {i for i, c in enumerate(choices) if c in refs}
    if not gold:  # converters that store the gold choice's index (lm-eval's) instead of its text
        gold = {int(r) for r in refs if r.strip().lstrip("-").isdigit() and 0 <= int(r) < len(choices)}
    return [{"output": {"text": c}, "tags": ["correct"] if i in gold else []} for i, c in enumerate(choices)]


def _answer(row: dict) -> str | None:
    attributions = [a for a in (row.get("answer_attribution") or []) if isinstance(a, dict)]
    terminal = [a for a in attributions if a.get("is_terminal")] or attributions
    if terminal:
        return str(terminal[-1].get("extracted_value"))
    raw = (row.get("output") or {}).get("raw") or []
    return str(raw[0]) if raw else None


def _date(data: dict) -> float:
    return number(data.get("retrieved_timestamp"))


def read_tables(path, errors: str = "raise") -> dict:
    """The four tables (and HELM-shaped ``schemas``) of the EEE records at ``path``.

    ``errors`` as for lm-eval and HELM: ``"raise"`` a one-line
    :class:`HelmOutputError` naming the file; ``"warn"``/``"skip"`` leave the
    damaged record's runs out, listed in ``attrs["skipped"]``. Records without
    an instance-level file have stats only (``attrs["missing"]``).

    Example:
        >>> from pathlib import Path
        >>> root = Path(__file__).resolve().parents[3] / "tests" / "data" / "eee-demo"
        >>> t = read_tables(root)
        >>> len(t["run_specs"]), t["run_specs"]["run_spec.name"].iloc[0]
        (18, 'magnet_sim_arithmetic:model=magnet-sim_atlas-1b')
    """
    with gc_paused():
        return _read_tables(path, errors)


def _read_tables(path, errors: str) -> dict:
    damage = Damage(errors)
    root = Path(path)
    if not root.exists():
        raise HelmOutputError(root, "no such file or directory")
    files = record_files(root)
    if not files:
        raise HelmOutputError(root, "no Every Eval Ever {uuid}.json records found")
    suite = root.stem if root.is_file() else root.name
    records = []
    for f in files:
        try:
            records.append((f, _read_record(f)))
        except HelmOutputError as e:
            damage.fail(e)
    records.sort(key=lambda fd: (_date(fd[1]) if not math.isnan(_date(fd[1])) else -math.inf, str(fd[0])))
    chosen: dict[tuple[str, str], tuple[Path, dict]] = {}
    superseded = []
    for f, data in records:
        model = str(data["model_info"].get("id") or data["model_info"].get("name"))
        for ds in dict.fromkeys(_dataset(r) for r in data["evaluation_results"]):
            if (model, ds) in chosen:
                superseded.append(str(chosen[(model, ds)][0]))
            chosen[(model, ds)] = (f, data)

    samples_cache: dict[Path, list[dict] | None] = {}
    run_rows, stat_rows, state_rows, pis_rows = [], [], [], []
    mains: dict[str, tuple[str, str]] = {}
    bad_files: set[Path] = set()
    for (model, ds), (f, data) in sorted(chosen.items(), key=lambda kv: f"{kv[0][1]}:model={kv[0][0]}"):
        name = f"{ds}:model={model.replace('/', '_')}"
        results = [r for r in data["evaluation_results"] if _dataset(r) == ds]
        if f not in samples_cache:
            samples_path = f.with_name(f.stem + "_samples.jsonl")
            detail = data.get("detailed_evaluation_results") or {}
            if not samples_path.is_file() and detail.get("file_path"):
                samples_path = f.with_name(Path(str(detail["file_path"])).name)
            samples_cache[f] = None
            if samples_path.is_file():
                try:
                    samples_cache[f] = read_jsonl(samples_path, _sample_problem)
                except HelmOutputError as e:
                    damage.fail(e)
                    bad_files.add(f)
            else:
                damage.missing.append(Skipped(str(samples_path), "file is missing (record without instance-level data)"))
        if f in bad_files:
            continue
        samples = samples_cache[f]
        by_id = {str(r.get("evaluation_result_id")): _stat_name(r) for r in results if r.get("evaluation_result_id")}
        first_of = {}
        for r in results:
            first_of.setdefault(r.get("evaluation_name"), _stat_name(r))
        mains.setdefault(ds, (_stat_name(results[0]), "test"))
        mine = [s for s in samples or [] if (by_id.get(str(s.get("evaluation_result_id")))
                                            or first_of.get(s.get("evaluation_name")))]
        for r in results:
            sd = r["score_details"]
            unc = sd.get("uncertainty") or {}
            stat = _stat_name(r)
            n_rows = sum(1 for s in mine if (by_id.get(str(s.get("evaluation_result_id")))
                                             or first_of.get(s.get("evaluation_name"))) == stat)
            stat_rows.append({
                "suite": suite, RUN: name, "stats.name.name": stat, "stats.name.split": "test",
                "stats.count": (unc.get("num_samples") if unc.get("num_samples") is not None
                                else n_rows if samples is not None else None),
                "stats.mean": number(sd.get("score")),
                "stats.stderr": number((unc.get("standard_error") or {}).get("value")),
                P + "evaluation_name": r.get("evaluation_name"), P + "evaluation_result_id": r.get("evaluation_result_id"),
                P + "metric_config": r.get("metric_config"), P + "score_details": sd,
                P + "source_data": r.get("source_data"), P + "generation_config": r.get("generation_config"),
                P + "evaluation_timestamp": r.get("evaluation_timestamp"),
            })
        seen_states: dict[str, dict] = {}
        for s in mine:
            stat = by_id.get(str(s.get("evaluation_result_id"))) or first_of.get(s.get("evaluation_name"))
            sid = str(s["sample_id"])
            ev = s["evaluation"]
            pis_rows.append({"suite": suite, RUN: name, PIS + "instance_id": sid, PIS + "train_trial_index": 0,
                             PIS + "stats.name.name": stat, PIS + "stats.name.split": "test",
                             PIS + "stats.count": 1, PIS + "stats.mean": number(ev.get("score")),
                             P + "is_correct": ev.get("is_correct"), P + "evaluation_name": s.get("evaluation_name")})
            if sid in seen_states:
                seen_states[sid][P + "evaluation"][stat] = ev
                continue
            inp = s.get("input") or {}
            answer = _answer(s)
            row = {"suite": suite, RUN: name, STATE + "instance.id": sid, STATE + "instance.split": "test",
                   STATE + "instance.input.text": inp.get("raw"),
                   STATE + "request.prompt": inp.get("formatted") or inp.get("raw"),
                   STATE + "instance.references": _references(inp), STATE + "output_mapping": None,
                   STATE + "result.completions": [] if answer is None else [{"text": answer}],
                   STATE + "train_trial_index": 0, P + "evaluation": {stat: ev}}
            for k, v in s.items():
                if k not in ("sample_id", "evaluation", "schema_version"):
                    row[P + k] = v
            seen_states[sid] = row
        state_rows += list(seen_states.values())
        info = data["model_info"]
        row = {"suite": suite, RUN: name, "run_spec.adapter_spec.model": model, "run_spec.groups": [ds],
               P + "dataset": ds, P + "record_file": str(f), P + "main_metric": _stat_name(results[0]),
               P + "model_info": info, P + "evaluation_names": list(dict.fromkeys(r.get("evaluation_name") for r in results))}
        for k, v in data.items():
            if k not in ("evaluation_results", "model_info"):
                row[P + k] = v
        run_rows.append(row)

    tables = {"run_specs": frame("run_specs", run_rows), "scenario_states": frame("scenario_states", state_rows),
              "stats": frame("stats", stat_rows), "per_instance_stats": frame("per_instance_stats", pis_rows)}
    damage.finish(tables, "EEE", superseded=sorted(set(superseded)))
    tables["schemas"] = main_metric_schemas(suite, mains)
    return tables
