"""Run a MAGNET card's ``pipeline:`` section: an executable once per combination of its ``algo_params``.

aiq-magnet's pipeline cards (``llama_pipeline.yaml``) compute the claim's
symbols with a program instead of card code::

    pipeline:
      llama_predict:                                       # the step's name
        executable: 'python -m magnet.examples.llama_consistency.llama_predict'
        algo_params:                                       # a list is swept; a scalar is passed as is
          helm_runs_path: ./data/crfm-helm-public/lite/benchmark_output
          base_model: [meta/llama-2-13b, meta/llama-2-70b]
          comp_model: [meta/llama-2-7b, meta/llama-3-70b]
        out_paths:                                         # files the program writes, in its run folder
          results_fpath: results.json

Each combination (the product over list-valued ``algo_params``, in card order)
is one *run*: ``executable --key=value ... --results_fpath=<run dir>/results.json``
in its own subprocess (its own session, killed with its children after
``timeout`` seconds), stdout and stderr kept in ``<run dir>/log.txt``. A run
that fails, crashes or times out is recorded with its reason and the other runs
go on. A finished run writes ``done.json`` last (atomically); a run folder is
named by its step and a hash of its parameters, so a run whose ``done.json``
exists is not run again (results are cached by parameters, across evaluations
that share an output folder). An executable starting with ``python`` runs with
the current interpreter (``sys.executable``), in the current directory.

Each ``out_paths`` file that is JSON gives the run's symbols: its ``result``
mapping (aiq-magnet's convention, ``{"result": {name: value}}``), else the
whole mapping. The card's claim is then evaluated once per run with those
values (:mod:`magnet.evaluation.pipeline_cards`).

Only one-step pipelines run here (as in aiq-magnet); a pipeline of connected
steps is a ``kwdagger:`` section (:mod:`magnet.evaluation.kwdagger_runner`).

Example:
    >>> import sys, tempfile
    >>> from pathlib import Path
    >>> root = Path(tempfile.mkdtemp())
    >>> code = ("import sys, json; a = dict(x.lstrip('-').split('=', 1) for x in sys.argv[1:]); "
    ...         "json.dump({'result': {'square': int(a['n']) ** 2}}, open(a['out'], 'w'))")
    >>> step = parse_pipeline({"square": {"executable": f"python -c \\"{code}\\"",
    ...                                   "algo_params": {"n": [2, 3]}, "out_paths": {"out": "out.json"}}})
    >>> runs = run_pipeline(step, root)
    >>> [(r.params, r.status, r.symbols) for r in runs]
    [({'n': 2}, 'ok', {'square': 4}), ({'n': 3}, 'ok', {'square': 9})]
    >>> [r.status for r in run_pipeline(step, root)]  # cached by parameters
    ['cached', 'cached']
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import itertools
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from magnet.files import write_atomic

DEFAULT_STEP_TIMEOUT = 600.0
NODE_KEYS = ("executable", "algo_params", "perf_params", "out_paths")


class PipelineError(ValueError):
    """A ``pipeline:`` section that cannot run (the message names the step and the problem)."""


@dataclass
class Step:
    """One step of a ``pipeline:`` section."""

    name: str
    executable: str
    algo_params: dict = field(default_factory=dict)
    perf_params: dict = field(default_factory=dict)
    out_paths: dict = field(default_factory=dict)

    def grid(self) -> list[dict]:
        """The runs' parameters: the product over list-valued ``algo_params`` (scalars in every run)."""
        keys = list(self.algo_params)
        axes = [v if isinstance(v, list) else [v] for v in self.algo_params.values()]
        return [dict(zip(keys, combo)) for combo in itertools.product(*axes)]


@dataclass
class PipelineRun:
    """One run of a step: its parameters, folder, outcome (ok, cached, error, timeout) and symbols."""

    step: str
    params: dict
    out_dir: Path
    status: str
    symbols: dict | None = None
    reason: str = ""
    seconds: float = 0.0

    @property
    def run_id(self) -> str:
        return self.out_dir.name

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "cached")


def parse_pipeline(section, file: str = "<card>") -> Step:
    """The single :class:`Step` of a ``pipeline:`` mapping; :class:`PipelineError` names what is wrong."""
    if not isinstance(section, dict) or not section:
        raise PipelineError(f"{file}: pipeline: expected a mapping of step name -> step, got {section!r}")
    if len(section) > 1:
        raise PipelineError(f"{file}: pipeline: {len(section)} steps ({', '.join(map(str, section))}); magnet's "
                            "runner runs one-step pipelines; write connected steps as a `kwdagger:` section")
    (name, spec), = section.items()
    where = f"{file}: pipeline.{name}"
    if not isinstance(spec, dict):
        raise PipelineError(f"{where}: expected a mapping with executable, algo_params, out_paths")
    unknown = sorted(set(spec) - set(NODE_KEYS))
    if unknown:
        raise PipelineError(f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(NODE_KEYS)}")
    if not isinstance(spec.get("executable"), str) or not spec["executable"].strip():
        raise PipelineError(f"{where}.executable: a command line is required")
    for key in ("algo_params", "perf_params", "out_paths"):
        if not isinstance(spec.get(key) or {}, dict):
            raise PipelineError(f"{where}.{key}: expected a mapping of name -> value, got {spec[key]!r}")
    for k, v in (spec.get("out_paths") or {}).items():
        if not isinstance(v, str) or Path(v).is_absolute() or ".." in Path(v).parts:
            raise PipelineError(f"{where}.out_paths.{k}: expected a file name inside the run folder, got {v!r}")
    for k, v in (spec.get("algo_params") or {}).items():
        if isinstance(v, list) and not v:
            raise PipelineError(f"{where}.algo_params.{k}: an empty list sweeps over nothing")
    return Step(str(name), spec["executable"], dict(spec.get("algo_params") or {}),
                dict(spec.get("perf_params") or {}), dict(spec.get("out_paths") or {}))


def run_id(step: Step, params: dict) -> str:
    """``<step>_<12 hex digits>``: the run folder's name, a hash of the executable and the parameters."""
    key = json.dumps({"executable": step.executable, "params": params}, sort_keys=True, default=str)
    return f"{step.name}_{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def command(step: Step, params: dict, out_dir: Path) -> list[str]:
    """The run's argument list: the executable, ``--key=value`` per parameter and per output path."""
    argv = shlex.split(step.executable)
    if argv and argv[0] in ("python", "python3"):
        argv[0] = sys.executable
    values = {**params, **step.perf_params, **{k: str(out_dir / v) for k, v in step.out_paths.items()}}
    return argv + [f"--{k}={_arg(v)}" for k, v in values.items()]


def _arg(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def read_symbols(paths) -> dict:
    """Symbols from the run's JSON outputs: each file's ``result`` mapping, else the file's mapping."""
    symbols: dict = {}
    for path in paths:
        if Path(path).suffix.lower() != ".json":
            continue
        doc = json.loads(Path(path).read_text())
        if isinstance(doc, dict) and isinstance(doc.get("result"), dict):
            symbols.update(doc["result"])
        elif isinstance(doc, dict):
            symbols.update(doc)
        else:
            raise ValueError(f"{path}: expected a JSON mapping (or {{'result': {{...}}}}), got {type(doc).__name__}")
    return symbols


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def log_tail(path: Path, n: int = 3) -> str:
    """The last ``n`` non-empty lines of a log, joined by " | " (at most 300 characters; "" if unreadable)."""
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return " | ".join(lines[-n:])[:300]


def run_step(step: Step, params: dict, root: Path, timeout: float | None = None) -> PipelineRun:
    """Run ``step`` with ``params`` in ``root/<step>/<run id>`` (or reuse its finished result)."""
    out_dir = Path(root) / step.name / run_id(step, params)
    outputs = [out_dir / v for v in step.out_paths.values()]
    done = out_dir / "done.json"
    if done.is_file() and all(p.is_file() for p in outputs):
        try:
            return PipelineRun(step.name, params, out_dir, "cached", read_symbols(outputs))
        except (OSError, ValueError):
            pass  # unreadable cached output: run again
    out_dir.mkdir(parents=True, exist_ok=True)
    done.unlink(missing_ok=True)
    for p in outputs:
        p.unlink(missing_ok=True)
    argv = command(step, params, out_dir)
    (out_dir / "params.json").write_text(json.dumps({"params": params, "argv": argv}, indent=2, default=str) + "\n")
    limit = timeout if timeout is not None else DEFAULT_STEP_TIMEOUT
    t0 = time.perf_counter()
    log_path = out_dir / "log.txt"
    try:
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
            try:
                rc = proc.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                _kill(proc)
                proc.wait()
                rc = None
            except BaseException:
                _kill(proc)
                raise
    except OSError as e:  # the executable does not exist or cannot run
        return PipelineRun(step.name, params, out_dir, "error", reason=f"cannot run {argv[0]!r}: {e}")
    seconds = time.perf_counter() - t0
    tail = log_tail(log_path)
    if rc is None:
        return PipelineRun(step.name, params, out_dir, "timeout", seconds=seconds,
                           reason=f"timed out after {limit:g} s (process killed); log: {tail}")
    missing = [p.name for p in outputs if not p.is_file()]
    if rc != 0 or missing:
        what = f"exited with code {rc}" if rc != 0 else f"wrote no {', '.join(missing)}"
        return PipelineRun(step.name, params, out_dir, "error", seconds=seconds,
                           reason=f"{what}" + (f"; log: {tail}" if tail else ""))
    try:
        symbols = read_symbols(outputs)
    except (OSError, ValueError) as e:
        return PipelineRun(step.name, params, out_dir, "error", seconds=seconds, reason=f"unreadable output: {e}")
    write_atomic(done, lambda tmp: tmp.write_text(json.dumps({"params": params, "seconds": round(seconds, 3)},
                                                              default=str) + "\n"))
    return PipelineRun(step.name, params, out_dir, "ok", symbols, seconds=seconds)


def run_pipeline(step: Step, root, timeout: float | None = None, jobs: int = 1) -> list[PipelineRun]:
    """Every run of ``step`` (in grid order), ``jobs`` subprocesses at a time; failures are recorded, not raised."""
    grid = step.grid()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, int(jobs))) as pool:
        return list(pool.map(lambda p: run_step(step, p, Path(root), timeout), grid))
