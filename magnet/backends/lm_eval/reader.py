"""Read lm-evaluation-harness output into magnet's four tables.

lm-eval (``lm_eval run --output_path OUT --log_samples``) writes, per model,
``OUT/<model>/results_<date>.json`` (the aggregate numbers of every task) and
``OUT/<model>/samples_<task>_<date>.jsonl`` (one line per document *and
filter*: a task with two filters repeats each document). With a file path
(``--output_path OUT/run.json``) it writes ``OUT/run_<date>.json`` and the
samples files in ``OUT``; without ``--log_samples``, the results file only.
All these layouts are read (PATH: ``OUT``, a model folder, or one results
file). Here:

* a **run** is one (model, task) of a results file; ``run_spec.name`` is
  ``<task>:model=<model with / as _>`` (HELM's style), ``suite`` the name of the
  folder read. A (model, task) evaluated in several results files (the same
  output path used again) keeps the newest file (by the date in its name): a
  rerun replaces a run, as it would on lm-eval's own Hub leaderboards
  ("latest"); the older files are listed in ``attrs["superseded"]`` of every
  table, and tasks evaluated only in an older file are kept from it;
* a **stat** is one ``metric,filter`` key of ``results[task]`` (lm-eval's own
  key is the stat name, e.g. ``acc,none`` or ``exact_match,strict-match``),
  ``stats.mean`` its value, ``stats.stderr`` its ``_stderr`` twin,
  ``stats.count`` the task's effective number of documents;
* a **per-instance stat** is one document x metric x filter of the samples
  file (``per_instance_stats.instance_id`` is lm-eval's ``doc_id`` as text);
* a **request state** is one document: the prompt, the references (the
  choices with the gold one tagged ``correct``, or the target text), and one
  completion: for multiple choice the most likely choice with its
  log-likelihood, for generation the response after the main filter (the raw
  responses are kept in ``lm_eval.resps``). lm-eval records per-choice
  log-likelihoods, not the token log-probabilities of a generated completion.

Groups (``results`` entries without a task config, e.g. ``mmlu`` over its
subtasks) are aggregates of runs, not runs: they are left out and listed in
``attrs["groups"]``. Everything else in the files is kept in columns prefixed
``lm_eval.`` (see ``docs/howto/other-frameworks.md``).

Example:
    >>> from pathlib import Path
    >>> root = Path(__file__).resolve().parents[3] / "tests" / "data" / "lm-eval-demo"
    >>> detect(root), detect(root.parent)
    (True, True)
    >>> t = read_tables(root)
    >>> sorted(t)
    ['per_instance_stats', 'run_specs', 'scenario_states', 'schemas', 'stats']
    >>> t["run_specs"]["run_spec.name"].iloc[0]
    'magnet_sim_arithmetic:model=magnet-sim_atlas-1b'
    >>> t["schemas"]["lm-eval-demo"]["run_groups"][0]["environment"]
    {'main_name': 'exact_match,strict-match', 'main_split': 'test'}
"""

from __future__ import annotations

import json
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
P = "lm_eval."

#: The date lm-eval puts in its file names (``datetime.now().isoformat()`` with ``:`` -> ``-``).
DATE = r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d+)?"
#: A results file: ``results_<date>.json`` (``--output_path`` a folder) or ``<stem>_<date>.json``
#: (``--output_path <stem>.json``); also any ``results_<x>.json``. The date (else ``<x>``) is the group.
RESULTS_RE = re.compile(rf"^(?:.+_({DATE})|results_(.+))\.json$")
#: keys of ``results[task]`` that are not metrics
NON_METRIC_KEYS = {"name", "alias", "sample_len", "samples"}
#: top-level keys of a results file read into specific columns (the rest go to ``lm_eval.run.<key>``)
_USED_TOP = {"results", "configs", "versions", "n-shot", "higher_is_better", "n-samples", "task_hashes",
             "group_subtasks", "groups", "model_name", "config", "date"}


#: lm-eval's results files: ``RESULTS.files(path)`` lists them; :func:`detect` finds one.
RESULTS = NamedFiles(RESULTS_RE)
#: The results files at or under ``path`` (a folder, or one results file), sorted.
results_files = RESULTS.files
#: Whether ``path`` holds lm-eval output (a results file, or a folder with one below it).
detect = RESULTS.detect


def _is_number(value) -> bool:
    if isinstance(value, (int, float)):
        return True
    return not math.isnan(number(value))


def _read_json(path: Path) -> dict:
    data = read_json_object(path, "lm-eval results file")
    for key in ("results", "configs"):
        if not isinstance(data.get(key), dict):
            raise HelmOutputError(path, f"not an lm-eval results file (no {key!r} object)")
    return data


def _read_samples(path: Path) -> list[dict]:
    return read_jsonl(path, lambda row: None if "doc_id" in row else "not an lm-eval sample (no 'doc_id')")


def _model_name(data: dict, results_path: Path) -> str:
    if data.get("model_name"):
        return str(data["model_name"])
    args = (data.get("config") or {}).get("model_args")
    for key in ("peft", "delta", "pretrained", "model", "path", "engine"):
        if isinstance(args, dict) and key in args:
            return str(args[key])
        if isinstance(args, str) and f"{key}=" in args:
            return args.split(f"{key}=")[1].split(",")[0]
    return str((data.get("config") or {}).get("model") or results_path.parent.name)


def _split(config: dict) -> tuple[str, str | None]:
    """(magnet split, lm-eval's split name) of the documents a task was evaluated on."""
    if config.get("test_split"):
        return "test", config["test_split"]
    if config.get("validation_split"):
        return "valid", config["validation_split"]
    return "test", None


def _filters(config: dict) -> list[str]:
    return [f.get("name", "none") for f in (config.get("filter_list") or []) if isinstance(f, dict)] or ["none"]


def main_metric(task_results: dict, config: dict) -> str | None:
    """The ``metric,filter`` key taken as a task's main metric: its first metric under its first filter.

    Example:
        >>> main_metric({"acc,none": 0.5, "acc_stderr,none": 0.1}, {"metric_list": [{"metric": "acc"}]})
        'acc,none'
        >>> main_metric({"exact_match,strict-match": 0.4, "exact_match,flexible-extract": 0.5},
        ...             {"metric_list": [{"metric": "exact_match"}],
        ...              "filter_list": [{"name": "strict-match"}, {"name": "flexible-extract"}]})
        'exact_match,strict-match'
    """
    keys = [k for k in task_results if "," in k and "_stderr," not in k]
    metrics = [m.get("metric") for m in (config.get("metric_list") or []) if isinstance(m, dict)]
    for metric in metrics:
        for flt in _filters(config):
            if f"{metric},{flt}" in task_results:
                return f"{metric},{flt}"
    return keys[0] if keys else None


def _parents(data: dict) -> dict[str, list[str]]:
    """task -> its groups, outermost first (from ``group_subtasks``)."""
    children = data.get("group_subtasks") or {}
    parent = {c: g for g, cs in children.items() for c in (cs or [])}
    out = {}
    for task in data["configs"]:
        chain, node = [], task
        while node in parent and parent[node] not in chain:
            node = parent[node]
            chain.append(node)
        out[task] = chain[::-1]
    return out


def _run_name(task: str, model: str) -> str:
    return f"{task}:model={model.replace('/', '_')}"


def _choices(sample: dict) -> list[str]:
    """The continuation (``arg_1``) of each request, in order (``gen_args_0``, ``gen_args_1``, ...)."""
    args = sample.get("arguments") or {}
    out = []
    for a in (args.values() if isinstance(args, dict) else args):
        if isinstance(a, dict):
            out.append(str(a.get("arg_1", "")))
        else:
            out.append(str(a[1]) if len(a) > 1 else "")
    return out


def _prompt(sample: dict) -> str | None:
    args = sample.get("arguments") or {}
    first = args.get("gen_args_0") if isinstance(args, dict) else (args[0] if args else None)
    if isinstance(first, dict):
        first = list(first.values())
    return str(first[0]) if first else None


def _gold(target: str, choices: list[str]) -> list[int]:
    """Indices of the correct choices from lm-eval's stringified target (an index, a list of them, or the text)."""
    t = str(target).strip()
    if t.isdigit():
        value = int(t)
    elif t.startswith("["):
        try:
            value = json.loads(t)
        except ValueError:
            value = t
    else:
        value = t
    if isinstance(value, int) and 0 <= value < len(choices):
        return [value]
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return [v for v in value if 0 <= v < len(choices)]
    return [i for i, c in enumerate(choices) if c.strip() == t]


def _state(sample: dict, output_type: str, main_filter: str, filtered: dict) -> dict:
    """HELM-shaped request-state fields of one document (its line under the main filter)."""
    prompt = _prompt(sample)
    target = sample.get("target")
    resps = sample.get("resps") or []
    completion: dict = {}
    references = [{"output": {"text": str(target)}, "tags": ["correct"]}]
    extra: dict = {}
    if output_type == "multiple_choice":
        choices = _choices(sample)
        lls = [number(r[0][0]) if r and r[0] else math.nan for r in resps]
        greedy = [str(r[0][1]) == "True" if r and r[0] and len(r[0]) > 1 else None for r in resps]
        gold = _gold(target, [c.strip() for c in choices])
        references = [{"output": {"text": c.strip()}, "tags": ["correct"] if i in gold else []}
                      for i, c in enumerate(choices)]
        if lls and not all(math.isnan(x) for x in lls):
            best = max(range(len(lls)), key=lambda i: -math.inf if math.isnan(lls[i]) else lls[i])
            completion = {"text": choices[best].strip(), "logprob": lls[best]}
        extra = {P + "choice_loglikelihoods": lls, P + "choice_is_greedy": greedy}
    elif output_type in ("loglikelihood", "loglikelihood_rolling"):
        first = resps[0][0] if resps and resps[0] else None
        ll = number(first[0] if isinstance(first, (list, tuple)) else first)
        conts = _choices(sample)
        completion = {"text": conts[0] if conts else "", "logprob": ll}
    else:
        value = filtered.get(main_filter)
        if isinstance(value, list):
            value = value[0] if value else ""
        completion = {"text": "" if value is None else str(value)}
    return {
        STATE + "instance.input.text": prompt,
        STATE + "request.prompt": prompt,
        STATE + "instance.references": references,
        STATE + "output_mapping": None,
        STATE + "result.completions": [completion] if completion else [],
        STATE + "train_trial_index": 0,
        **extra,
    }


#: sample-line fields read into specific columns (the rest go to ``lm_eval.sample.<field>``)
_SAMPLE_FIELDS = frozenset({"doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "filter", "metrics",
                            "doc_hash", "prompt_hash", "target_hash"})
_PIS_COLS = ("suite", RUN, PIS + "instance_id", PIS + "train_trial_index", PIS + "stats.name.name",
             PIS + "stats.name.split", PIS + "stats.count", PIS + "stats.mean", P + "metric", P + "filter")


def _task_tables(suite, name, split, metric_keys, main_filter, output_type, samples):
    """(scenario_states rows, per_instance_stats rows) of one run's sample lines."""
    by_doc: dict = {}
    for s in samples:
        by_doc.setdefault(s["doc_id"], {})[str(s.get("filter", "none"))] = s
    states, pis = [], []
    for doc_id, lines in by_doc.items():
        iid = str(doc_id)
        filtered = {f: s.get("filtered_resps") for f, s in lines.items()}
        main = lines.get(main_filter) or next(iter(lines.values()))
        values = {}
        for flt, s in lines.items():
            for metric in s.get("metrics") or metric_keys.get(flt, ()):
                if metric not in s:
                    continue
                key = f"{metric},{flt}"
                value = values[key] = s[metric]
                if _is_number(value):
                    pis.append(dict(zip(_PIS_COLS, (suite, name, iid, 0, key, split, 1, number(value), metric, flt))))
        row = {"suite": suite, RUN: name, STATE + "instance.id": iid, STATE + "instance.split": split,
               P + "doc_id": doc_id}
        row.update(_state(main, output_type, main_filter, filtered))
        row.update({P + "doc": main.get("doc"), P + "target": main.get("target"), P + "arguments": main.get("arguments"),
                    P + "resps": main.get("resps"), P + "filtered_resps": filtered, P + "metric_values": values,
                    P + "doc_hash": main.get("doc_hash"), P + "prompt_hash": main.get("prompt_hash"),
                    P + "target_hash": main.get("target_hash")})
        metrics = main.get("metrics") or ()
        for k, v in main.items():  # anything else a sample line holds
            if k not in _SAMPLE_FIELDS and k not in metrics:
                row[P + "sample." + k] = v
        states.append(row)
    return states, pis


def _date_key(path: Path) -> str:
    """The date of a results file's name, which its samples files repeat (``samples_<task>_<date>.jsonl``).

    Example:
        >>> _date_key(Path("results_2026-01-02T03-04-05.678901.json")), _date_key(Path("run_2026-01-02T03-04-05.json"))
        ('2026-01-02T03-04-05.678901', '2026-01-02T03-04-05')
        >>> _date_key(Path("results_run1_2026-01-02T03-04-05.json")), _date_key(Path("results_x.json"))
        ('2026-01-02T03-04-05', 'x')
    """
    m = RESULTS_RE.match(path.name)
    return (m.group(1) or m.group(2)) if m else ""


def read_tables(path, errors: str = "raise") -> dict:
    """The four tables (and HELM-shaped ``schemas``) of the lm-eval output at ``path``.

    ``errors``: ``"raise"`` (default) raises a one-line :class:`HelmOutputError`
    naming the file; ``"warn"``/``"skip"`` leave the damaged runs out (a
    broken results file: all its runs) and list them in ``attrs["skipped"]``
    of every table. Runs whose samples file is absent (no ``--log_samples``)
    have stats only; they are listed in ``attrs["missing"]``.

    Example:
        >>> from pathlib import Path
        >>> root = Path(__file__).resolve().parents[3] / "tests" / "data" / "lm-eval-demo"
        >>> stats = read_tables(root)["stats"]
        >>> row = stats[stats["stats.name.name"] == "acc,none"].iloc[0]
        >>> row["stats.name.split"], int(row["stats.count"]), bool(0 <= row["stats.mean"] <= 1)
        ('test', 16, True)
    """
    with gc_paused():
        return _read_tables(path, errors)


def _read_tables(path, errors: str) -> dict:
    damage = Damage(errors)
    root = Path(path)
    if not root.exists():
        raise HelmOutputError(root, "no such file or directory")
    files = results_files(root)
    if not files:
        raise HelmOutputError(root, "no lm-eval results file found (results_<date>.json, or <name>_<date>.json "
                                    "from --output_path <name>.json)")
    suite = root.stem if root.is_file() else root.name
    # newest results file per (model, task)
    chosen: dict[tuple[str, str], tuple[Path, dict]] = {}
    superseded: list[str] = []
    groups: set[str] = set()
    for f in sorted(files, key=lambda f: (_date_key(f), str(f))):
        try:
            data = _read_json(f)
        except HelmOutputError as e:
            damage.fail(e)
            continue
        model = _model_name(data, f)
        groups |= set(data["results"]) - set(data["configs"])
        for task in data["configs"]:
            if (model, task) in chosen:
                superseded.append(str(chosen[(model, task)][0]))
            chosen[(model, task)] = (f, data)

    run_rows, stat_rows, state_rows, pis_rows = [], [], [], []
    mains: dict[str, tuple[str, str]] = {}
    for (model, task), (f, data) in chosen.items():
        config = data["configs"][task] or {}
        name = _run_name(task, model)
        split, source_split = _split(config)
        task_results = data["results"].get(task) or {}
        main = main_metric(task_results, config)
        if main:
            mains.setdefault(task, (main, split))
        main_filter = main.split(",", 1)[1] if main else _filters(config)[0]
        n = (data.get("n-samples") or {}).get(task) or {}
        samples_path = f.parent / f"samples_{task}_{_date_key(f)}.jsonl"
        samples = None
        if samples_path.is_file():
            try:
                samples = _read_samples(samples_path)
            except HelmOutputError as e:
                damage.fail(e)
                continue
        else:
            damage.missing.append(Skipped(str(samples_path), "file is missing (run without --log_samples?)"))
        count = n.get("effective", task_results.get("sample_len"))
        metric_keys: dict[str, list[str]] = {}
        for key, value in task_results.items():
            if key in NON_METRIC_KEYS or "," not in key or "_stderr," in key:
                continue
            metric, flt = key.split(",", 1)
            metric_keys.setdefault(flt, []).append(metric)
            cfg_metric = next((m for m in config.get("metric_list") or [] if m.get("metric") == metric), {})
            stat_rows.append({
                "suite": suite, RUN: name, "stats.name.name": key, "stats.name.split": split,
                "stats.count": count, "stats.mean": number(value),
                "stats.stderr": number(task_results.get(f"{metric}_stderr,{flt}")),
                P + "metric": metric, P + "filter": flt, P + "aggregation": cfg_metric.get("aggregation"),
                P + "higher_is_better": ((data.get("higher_is_better") or {}).get(task) or {}).get(metric),
                P + "value": value, P + "stderr": task_results.get(f"{metric}_stderr,{flt}"),
            })
        if samples is not None:
            states, pis = _task_tables(suite, name, split, metric_keys, main_filter,
                                       config.get("output_type"), samples)
            state_rows += states
            pis_rows += pis
        parents = _parents(data).get(task, [])
        row = {
            "suite": suite, RUN: name, "run_spec.adapter_spec.model": model,
            "run_spec.groups": parents + [task],
            "run_spec.adapter_spec.max_train_instances": (data.get("n-shot") or {}).get(task),
            P + "task": task, P + "alias": task_results.get("alias"), P + "output_type": config.get("output_type"),
            P + "split": source_split, P + "main_metric": main, P + "num_fewshot": (data.get("n-shot") or {}).get(task),
            P + "version": (data.get("versions") or {}).get(task), P + "n_samples.original": n.get("original"),
            P + "n_samples.effective": n.get("effective"), P + "task_hash": (data.get("task_hashes") or {}).get(task),
            P + "task_config": config, P + "results_file": str(f),
            P + "samples_file": str(samples_path) if samples is not None else None,
            P + "model_source": data.get("model_source"), P + "date": data.get("date"),
            P + "config": data.get("config"),
        }
        for k, v in data.items():
            if k not in _USED_TOP and not k.startswith("model_source"):
                row[P + "run." + k] = v
        run_rows.append(row)

    tables = {"run_specs": frame("run_specs", run_rows), "scenario_states": frame("scenario_states", state_rows),
              "stats": frame("stats", stat_rows), "per_instance_stats": frame("per_instance_stats", pis_rows)}
    damage.finish(tables, "lm-eval", superseded=sorted(set(superseded)), groups=sorted(groups))
    tables["schemas"] = main_metric_schemas(suite, mains)
    return tables
