"""Inspect AI logs (``.eval`` and ``.json``) -> magnet's four tables, read through ``inspect_ai``'s own log API.

One log is one run: ``run_spec.name`` is ``<task>:<task args>,model=<model>`` (HELM's form), the task is the
run's group, and the run's main metric is its first scorer's (see :func:`read_tables`'s ``schemas``).
Score values are turned into numbers by Inspect's own ``value_to_float`` (``C`` -> 1, ``I`` -> 0,
``P`` -> 0.5, ``N`` -> 0, numbers as they are), the conversion its metrics use. Fields without a
HELM counterpart are kept under ``inspect.*`` columns; ``docs/howto/other-frameworks.md`` maps them.

Example:
    >>> from magnet.backends.inspect.demo import build_inspect_demo
    >>> tables = read_tables(build_inspect_demo(preset="small"))
    >>> sorted(tables["stats"]["stats.name.name"].unique())[:3]
    ['exact', 'exact/stderr', 'includes']
    >>> len(tables["run_specs"]) == tables["run_specs"]["run_spec.name"].nunique()
    True
"""

from __future__ import annotations

import hashlib
import math
import os
import pickle
import warnings
from pathlib import Path

import pandas as pd

from magnet.backends.helm.demo.corpus import cache_root
from magnet.backends.helm.load_progress import LoadProgress
from magnet.tables.errors import SourceError

STATE = "scenario_state.request_states."
PIS = "per_instance_stats."
SPLIT = "test"
#: Metric names whose value is the mean of the per-sample values (after the epoch reducer).
MEAN_METRICS = ("accuracy", "mean")
#: Sample fields not copied into the tables (large; they stay in the log, found by ``inspect.sample.uuid``).
EXCLUDED_SAMPLE_FIELDS = {"events", "messages", "store", "attachments"}
_JSON_HEAD = 2048
#: Logs to read (not in the cache) from which ``read_tables`` uses several processes.
PARALLEL_MIN_LOGS = 16
#: Bump when the rows made from a log change, so cached rows are made again.
READER_VERSION = 4


def log_files(path: str | os.PathLike) -> list[Path]:
    """The Inspect logs under ``path`` (a log file or a folder, searched recursively), sorted."""
    p = Path(path)
    if p.is_file():
        return [p] if is_log_file(p) else []
    return sorted(f for f in p.rglob("*") if f.is_file() and is_log_file(f))


#: JSON files Inspect writes beside its logs that are not logs: ``eval_set``'s index of log headers and its
#: task list (``logs.json`` starts like a log: its values are log headers).
INSPECT_INDEX_FILES = frozenset({"logs.json", "eval-set.json"})


def is_log_file(path: Path) -> bool:
    """True for an ``.eval`` file, or a ``.json`` file that starts like an Inspect log (``version``, ``eval``).

    Example:
        >>> is_log_file(Path("x.eval")), is_log_file(Path("logs.json")), is_log_file(Path("notes.txt"))
        (True, False, False)
    """
    if path.suffix == ".eval":
        return True
    if path.suffix != ".json" or path.name in INSPECT_INDEX_FILES:
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(_JSON_HEAD)
    except OSError:
        return False
    return head.lstrip().startswith(b"{") and b'"version"' in head and b'"eval"' in head and b'"status"' in head


#: JSON files of HELM runs and suites: never Inspect logs, not opened when detecting.
_HELM_JSON = {"run_spec.json", "scenario.json", "scenario_state.json", "stats.json", "per_instance_stats.json",
              "instances.json", "display_predictions.json", "display_requests.json", "schema.json", "runs.json",
              "run_specs.json", "summary.json", "groups.json", "costs.json", "runs_to_run_suites.json"}


def _walk_files(path: Path):
    """The files at any depth below the folder ``path``, lazily (a caller stops at the first it wants)."""
    try:
        with os.scandir(path) as entries:
            found = list(entries)
    except OSError:
        return
    dirs = []
    for e in found:
        if e.is_file():
            yield Path(e.path)
        elif e.is_dir():
            dirs.append(e.path)
    for d in dirs:
        yield from _walk_files(Path(d))


def detect(path: str | os.PathLike) -> bool:
    """True when ``path`` is an Inspect log or a folder with one at any depth below it (as Inspect's own
    ``list_eval_logs`` searches a log dir recursively).

    Stops at the first log; HELM's own JSON files are not opened, and a folder's files are looked at
    before its sub-folders, so a folder of logs is recognised at once.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> (d / "a" / "b" / "c").mkdir(parents=True)
        >>> detect(d)
        False
        >>> _ = (d / "a" / "b" / "c" / "x.eval").write_bytes(b"")
        >>> detect(d), detect(d / "a" / "b" / "c" / "x.eval")
        (True, True)
    """
    p = Path(path)
    if p.is_file():
        return is_log_file(p)
    return any(f.name not in _HELM_JSON and is_log_file(f) for f in _walk_files(p))


def _flatten(prefix: str, value, out: dict) -> None:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _flatten(f"{prefix}.{k}", v, out)
    else:
        out[prefix] = value


def _text(value) -> str:
    """A sample's input (a string or a list of chat messages) as text."""
    if isinstance(value, str):
        return value
    return "\n\n".join(getattr(m, "text", str(m)) for m in value or [])


def _suite_of(log_path: Path, root: Path) -> str:
    rel = log_path.parent.relative_to(root) if root.is_dir() else Path(".")
    return root.name if str(rel) == "." else str(rel).replace(os.sep, "/")


def _run_name(task: str, args: dict, model: str) -> str:
    parts = [f"{k}={v}" for k, v in sorted(args.items())] + [f"model={model}"]
    return f"{task}:{','.join(parts)}"


def _headline(score) -> tuple[str, str]:
    """(stat name, Inspect metric) of an EvalScore's headline value: its first mean-like metric, else its first."""
    metrics = list(score.metrics)
    for m in metrics:
        if m in MEAN_METRICS:
            return score.name, m
    return (f"{score.name}/{metrics[0]}", metrics[0]) if metrics else (score.name, "")


def status_problem(log) -> str | None:
    """Why a log's numbers cannot be used (it did not finish, or has no scores), in one line; None if they can.

    A log that is not ``success`` is never read, even when it has results: an interrupted
    (``cancelled``) evaluation's results cover only the samples done before it stopped.

    Example:
        >>> from types import SimpleNamespace as NS
        >>> status_problem(NS(status="cancelled", error=None, samples=None,
        ...                   results=NS(completed_samples=6, total_samples=200, scores=[1])))
        "Inspect log with status 'cancelled' (an interrupted evaluation; its results cover 6 of 200 samples): not read"
        >>> status_problem(NS(status="error", error=NS(message="RuntimeError('outage')\\nmore"), results=None))
        "Inspect log with status 'error' (the evaluation failed: RuntimeError('outage')): not read"
        >>> status_problem(NS(status="success", error=None, results=NS(scores=[1]))) is None
        True
    """
    results = log.results
    if log.status == "cancelled":
        done = f"; its results cover {results.completed_samples} of {results.total_samples} samples" if results else ""
        return f"Inspect log with status 'cancelled' (an interrupted evaluation{done}): not read"
    if log.status == "error":
        why = (log.error.message.splitlines() or [""])[0][:120] if log.error else "no error message"
        return f"Inspect log with status 'error' (the evaluation failed: {why}): not read"
    if log.status != "success":
        return (f"Inspect log with status {log.status!r} (an evaluation still running, or stopped without "
                "finishing its log): not read")
    if results is None or not results.scores:
        return "an Inspect log without scores: nothing to benchmark"
    return None


def read_log(path: Path, suite: str) -> dict:
    """One log -> ``{"run_specs": [row], "stats": [...], "per_instance_stats": [...], "scenario_states": [...],
    "main": (task, main stat name)}`` as lists of row dicts; :class:`SourceError` if it cannot be used."""
    from inspect_ai.log import read_eval_log
    from inspect_ai.scorer import value_to_float

    try:
        log = read_eval_log(str(path), exclude_fields=EXCLUDED_SAMPLE_FIELDS)
    except Exception as e:  # noqa: BLE001  (a damaged file: zip, JSON or schema errors of many kinds)
        raise SourceError(path, f"not a readable Inspect log ({type(e).__name__}: {(str(e).splitlines() or [''])[0][:120]})") from e
    problem = status_problem(log)
    if problem:
        raise SourceError(path, problem)
    spec = log.eval
    task = spec.task
    name = _run_name(task, spec.task_args or {}, spec.model)
    run = {"suite": suite, "run_spec.name": name, "run_spec.adapter_spec.model": spec.model,
           "run_spec.groups": [task], "run_spec.scenario_spec.class_name": task,
           "inspect.epochs": spec.config.epochs or 1,
           "inspect.log_file": str(path), "inspect.status": log.status}
    for k, v in (spec.task_args or {}).items():
        run[f"run_spec.scenario_spec.args.{k}"] = v
    eval_dump = spec.model_dump(mode="json", exclude={"task_args", "model"})
    _flatten("inspect.eval", eval_dump, run)
    _flatten("inspect.plan", log.plan.model_dump(mode="json"), run)
    _flatten("inspect.results", log.results.model_dump(mode="json", exclude={"scores"}), run)
    _flatten("inspect.stats", log.stats.model_dump(mode="json"), run)

    epochs = spec.config.epochs or 1
    stats = []
    for score in log.results.scores:
        head, head_metric = _headline(score)
        count = score.scored_samples if score.scored_samples is not None else log.results.completed_samples // epochs
        for metric, value in score.metrics.items():
            row = {"suite": suite, "run_spec.name": name,
                   "stats.name.name": head if metric == head_metric else f"{score.name}/{metric}",
                   "stats.name.split": SPLIT, "stats.count": count,
                   "stats.mean": math.nan if value.value is None else float(value.value),
                   "inspect.scorer": score.scorer, "inspect.metric": metric, "inspect.reducer": score.reducer,
                   "inspect.scored_samples": score.scored_samples}
            if metric == head_metric:
                row["stats.sum"] = row["stats.mean"] * count
                if "stderr" in score.metrics:
                    row["stats.stderr"] = float(score.metrics["stderr"].value)
            stats.append(row)
    main = _headline(log.results.scores[0])[0]

    to_float = value_to_float()
    # A scorer whose epochs are reduced by other than the mean: its per-sample values are Inspect's reduced
    # ones (their mean is the headline), each epoch's value is kept as "<scorer>/epoch".
    reduced = {r.scorer: r for r in log.reductions or []
               if epochs > 1 and r.reducer not in (None, "mean")}
    pis, states = [], []

    def add(iid, trial, stat, value, score, reducer=None):
        v = to_float(value)
        pis.append({"suite": suite, "run_spec.name": name, PIS + "instance_id": iid,
                    PIS + "train_trial_index": trial, PIS + "stats.name.name": stat,
                    PIS + "stats.name.split": SPLIT, PIS + "stats.count": 1, PIS + "stats.sum": v,
                    PIS + "stats.mean": v, "inspect.score.value": str(value), "inspect.score.answer": score.answer,
                    "inspect.score.explanation": score.explanation,
                    "inspect.reducer": reducer})

    # A scorer returning a dict of values (one per key) has one EvalScore per key, named by the key (as
    # the stats rows are); its per-sample values get the same names, so a stat and its per-instance rows match.
    score_names = {(s.scorer, s.name) for s in log.results.scores}

    def values(scorer, value):
        """(stat name, value) of one score: one pair, or one per key of a dict value; unscored ones left out."""
        pairs = [((key if (scorer, key) in score_names else f"{scorer}/{key}"), v) for key, v in value.items()] \
            if isinstance(value, dict) else [(scorer, value)]
        # None: unscored; a list or dict: a container Inspect's metrics do not average either
        return [(stat, v) for stat, v in pairs if v is not None and not isinstance(v, (list, dict))]

    for sample in log.samples or []:
        iid, trial = str(sample.id), sample.epoch - 1
        for scorer, score in (sample.scores or {}).items():
            for stat, value in values(scorer, score.value):
                add(iid, trial, f"{stat}/epoch" if scorer in reduced else stat, value, score)
        states.append(_state_row(suite, name, spec.model, sample, iid, trial))
    for scorer, reduction in reduced.items():
        for score in reduction.samples:
            for stat, value in values(scorer, score.value):
                add(str(score.sample_id), 0, stat, value, score, reducer=reduction.reducer)
    return {"run_specs": [run], "stats": stats, "per_instance_stats": pis, "scenario_states": states,
            "main": (task, main)}


def _state_row(suite: str, name: str, model: str, sample, iid: str, trial: int) -> dict:
    targets = sample.target if isinstance(sample.target, list) else [sample.target]
    output = sample.output
    completion = {"text": output.completion if output else ""}
    choice = output.choices[0] if output and output.choices else None
    if choice is not None and choice.logprobs is not None:
        tokens = [{"text": t.token, "logprob": t.logprob} for t in choice.logprobs.content]
        completion["logprob"] = math.fsum(t["logprob"] for t in tokens)
        completion["tokens"] = tokens
    text = _text(sample.input)
    row = {"suite": suite, "run_spec.name": name, STATE + "instance.id": iid, STATE + "instance.split": SPLIT,
           STATE + "train_trial_index": trial, STATE + "instance.input.text": text,
           STATE + "instance.references": [{"output": {"text": t}, "tags": ["correct"]} for t in targets],
           STATE + "instance.perturbation.name": None, STATE + "request.model": model,
           STATE + "request.prompt": text, STATE + "result.completions": [completion],
           STATE + "output_mapping": None,
           "inspect.sample.uuid": sample.uuid, "inspect.sample.choices": sample.choices,
           "inspect.sample.metadata": sample.metadata or None, "inspect.sample.error": (
               sample.error.message if sample.error else None),
           "inspect.sample.total_time": sample.total_time, "inspect.sample.working_time": sample.working_time,
           "inspect.sample.stop_reason": choice.stop_reason if choice is not None else None}
    for usage_model, usage in (sample.model_usage or {}).items():
        _flatten(f"inspect.sample.model_usage.{usage_model}", usage.model_dump(mode="json", exclude_none=True), row)
    return row


def _cache_file(path: Path, suite: str, cache_dir: Path) -> Path:
    st = path.stat()
    key = hashlib.sha256(repr((READER_VERSION, str(path.resolve()), st.st_size, st.st_mtime_ns, suite)).encode())
    return cache_dir / f"{key.hexdigest()[:32]}.pkl"


def _cached_read(path: Path, suite: str, cache_dir: Path | None) -> dict:
    """:func:`read_log`, through a per-log cache keyed by the file's path, size and modification time."""
    if cache_dir is None:
        return read_log(path, suite)
    cached = _cache_file(path, suite, cache_dir)
    if cached.is_file():
        try:
            with open(cached, "rb") as f:
                return pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError):
            pass  # a damaged cache entry is made again
    got = read_log(path, suite)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        pickle.dump(got, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, cached)
    return got


def default_cache_dir() -> Path:
    """Where rows read from Inspect logs are cached: ``<magnet cache>/tables/inspect``."""
    return cache_root() / "tables" / "inspect"


def read_tables(path: str | os.PathLike, errors: str = "raise", cache: bool = True,
                progress: bool | None = None, n_jobs: int | None = None) -> dict:
    """All Inspect logs under ``path`` -> the four tables and per-suite schemas (see module docstring).

    ``errors``: ``"raise"`` stops at the first unusable log with a :class:`SourceError`; ``"warn"`` and
    ``"skip"`` leave it out (listed in each table's ``attrs["skipped"]``), ``"warn"`` also warns.
    A run (task, arguments, model) logged more than once in one folder is read from its newest log
    (``eval.created``); the older logs are listed in ``attrs["superseded"]``.
    ``cache``: keep each log's rows in :func:`default_cache_dir`, read again only when the file changes.
    ``progress``: a bar of bytes of logs read, as for HELM tables (``None``: when 64 MB or more are to be read).
    ``n_jobs``: processes reading the logs that are not in the cache (default: one per CPU; used from
    :data:`PARALLEL_MIN_LOGS` such logs on).
    """
    cache_dir = default_cache_dir() if cache else None
    root = Path(path).expanduser()
    files = log_files(root)
    if not files:
        raise SourceError(root, "no Inspect logs (.eval, or .json Inspect logs) found")
    rows: dict[str, list] = {"run_specs": [], "stats": [], "per_instance_stats": [], "scenario_states": []}
    schemas: dict[str, dict] = {}
    skipped: list[str] = []
    bar = LoadProgress("Inspect logs", want=progress)
    suites = {f: _suite_of(f, root) for f in files}
    todo = [f for f in files if cache_dir is None or not _cache_file(f, suites[f], cache_dir).is_file()]
    bar.add(sum(f.stat().st_size for f in todo))
    n_jobs = n_jobs or os.cpu_count() or 1
    read: dict[Path, dict | str] = {}
    try:
        if n_jobs > 1 and len(todo) >= PARALLEL_MIN_LOGS:
            from joblib import Parallel, delayed

            stream = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")(
                delayed(_read_or_problem)(f, suites[f], cache_dir) for f in todo)
            for f, got in zip(todo, stream):  # exhausted before any error is raised (loky keeps its workers)
                read[f] = got
                bar.advance(f.stat().st_size)
        for f in files:
            if f in read:
                read[f] = _checked(f, read[f], errors)
            else:
                read[f] = _checked(f, _read_or_problem(f, suites[f], cache_dir), errors)
                if f in todo:
                    bar.advance(f.stat().st_size)
    finally:
        bar.close()
    kept, superseded = _newest_per_run(read, suites)
    for f in files:
        got = read[f]
        if isinstance(got, str):
            _skip(got, errors, skipped)
        elif f in kept:
            _add_log(suites[f], got, rows, schemas)
    out = {t: pd.DataFrame(r) for t, r in rows.items()}
    for df in out.values():
        df.attrs["skipped"] = list(skipped)
        df.attrs["superseded"] = list(superseded)
    out["schemas"] = schemas
    return out


def _checked(f: Path, got: dict | str, errors: str) -> dict | str:
    """``got``, or under ``errors="raise"`` the :class:`SourceError` of an unusable log (at once)."""
    if isinstance(got, str):
        problem = str(SourceError(f, got))
        if errors == "raise":
            raise SourceError(f, got)
        return problem
    return got


def _skip(problem: str, errors: str, skipped: list) -> None:
    skipped.append(problem)
    if errors == "warn":
        warnings.warn(f"skipped: {problem}", stacklevel=3)  # the caller of read_tables


def _newest_per_run(read: dict, suites: dict) -> tuple[set, list[str]]:
    """The logs kept (the newest, by ``eval.created``, of each run of a suite) and those superseded.

    Running the same task, arguments and model again into one log dir (Inspect's default ``./logs``) adds a
    log beside the first: the rerun replaces the run, as for lm-eval output and EEE records.
    """
    newest: dict[tuple[str, str], tuple[str, str, Path]] = {}
    for f, got in read.items():
        if isinstance(got, dict):
            run = got["run_specs"][0]
            key = (suites[f], run["run_spec.name"])
            order = (str(run.get("inspect.eval.created") or ""), str(f), f)
            if key not in newest or order[:2] > newest[key][:2]:
                newest[key] = order
    kept = {order[2] for order in newest.values()}
    superseded = sorted(str(f) for f, got in read.items() if isinstance(got, dict) and f not in kept)
    return kept, superseded


def _read_or_problem(f: Path, suite: str, cache_dir) -> dict | str:
    """:func:`_cached_read`, or the one-line problem (a string: it crosses process boundaries) if unusable."""
    try:
        return _cached_read(f, suite, cache_dir)
    except SourceError as e:
        return e.why


def _add_log(suite: str, got: dict, rows: dict, schemas: dict) -> None:
    """Add one log's rows to ``rows`` and its task's main metric to ``schemas``."""
    for table in rows:
        rows[table] += got[table]
    task, main = got["main"]
    groups = schemas.setdefault(suite, {"run_groups": []})["run_groups"]
    if not any(g["name"] == task for g in groups):
        groups.append({"name": task, "environment": {"main_name": main, "main_split": SPLIT}})
