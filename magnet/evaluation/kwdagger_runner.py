"""Run a MAGNET card's ``kwdagger:`` section with the kwdagger package, and read back each setting's symbols.

aiq-magnet's ``llama_kwdagger.yaml`` names a function building a ``kwdagger.Pipeline`` and a ``matrix`` of
parameters (``node.param: value or [values]``)::

    kwdagger:
      pipeline: 'magnet.examples.llama_consistency.pipelines.llama_pipeline()'
      matrix:
        llama_predict.helm_runs_path: ./data/crfm-helm-public/lite/benchmark_output
        llama_predict.base_model: [meta/llama-2-13b, meta/llama-2-70b]

kwdagger (the ``cards`` extra) compiles the matrix into processes and runs them
with its serial backend, skipping those whose outputs exist (its own cache).
magnet starts this in a subprocess (``python -m magnet.evaluation.kwdagger_runner
SPEC.json ROOT``) with a time limit, its output kept in ``ROOT/kwdagger_log.txt``,
``python`` in node commands being the current interpreter.

Each process of a *last* node (one no other node reads) is a setting: its JSON
outputs give the symbols (the ``result.symbols`` mapping of a verdict file as
aiq-magnet's claim node writes it, else the ``result`` mapping, else the file's
mapping). A process of any node that wrote no output is a failed setting, with
its parameters (``job_config.json``) and the reason.

Example:
    >>> spec = check_section({"pipeline": "pkg.mod.make()", "matrix": {"a.x": [1, 2]}}, "card.yaml")
    >>> spec["matrix"]
    {'a.x': [1, 2]}
    >>> check_section({"matrix": {}}, "card.yaml")
    Traceback (most recent call last):
    magnet.evaluation.pipeline.PipelineError: card.yaml: kwdagger.pipeline: expected a pipeline function such as 'pkg.module.make_pipeline()', got None
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from magnet.evaluation.pipeline import PipelineError, PipelineRun, log_tail, read_symbols

DEFAULT_TIMEOUT = 3600.0
META = "_magnet_kwdagger.json"


def check_section(section, file: str = "<card>") -> dict:
    """The ``kwdagger:`` mapping, checked: ``pipeline`` a string, ``matrix`` a mapping."""
    if not isinstance(section, dict):
        raise PipelineError(f"{file}: kwdagger: expected a mapping with pipeline and matrix, got {section!r}")
    if not isinstance(section.get("pipeline"), str) or not section["pipeline"].strip():
        raise PipelineError(f"{file}: kwdagger.pipeline: expected a pipeline function such as "
                            f"'pkg.module.make_pipeline()', got {section.get('pipeline')!r}")
    if not isinstance(section.get("matrix"), dict):
        raise PipelineError(f"{file}: kwdagger.matrix: expected a mapping of 'node.param' -> value(s), "
                            f"got {section.get('matrix')!r}")
    return dict(section)


def run_kwdagger(section, root, file: str = "<card>", timeout: float | None = None) -> list[PipelineRun]:
    """Run the section's pipeline over its matrix under ``root``; one :class:`PipelineRun` per setting."""
    spec = check_section(section, file)
    try:
        import kwdagger  # noqa: F401 - only to fail early with a clear message
    except ImportError:
        raise PipelineError(f"{file}: kwdagger: this card runs a kwdagger pipeline; install the `cards` extra "
                            "(pip install 'magnet[cards]')") from None
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    spec_path = root / "kwdagger_spec.json"
    spec_path.write_text(json.dumps(spec, indent=2, default=str) + "\n")
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
               PYTHONUNBUFFERED="1")
    log_path = root / "kwdagger_log.txt"
    (root / META).unlink(missing_ok=True)
    limit = timeout if timeout is not None else DEFAULT_TIMEOUT
    t0 = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "magnet.evaluation.kwdagger_runner", str(spec_path), str(root)],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
            rc = None
        except BaseException:
            os.killpg(proc.pid, 9)
            raise
    seconds = time.perf_counter() - t0
    meta_path = root / META
    if not meta_path.is_file():
        what = f"timed out after {limit:g} s" if rc is None else f"exited with code {rc}"
        raise PipelineError(f"{file}: kwdagger: the pipeline {spec['pipeline']!r} {what} before compiling its "
                            f"jobs; log: {log_tail(log_path)} (all of it in {log_path})")
    meta = json.loads(meta_path.read_text())
    runs = collect(root, meta)
    if rc != 0:
        why = f"timed out after {limit:g} s (killed)" if rc is None else f"exited with code {rc}"
        for r in runs:
            if not r.ok:
                r.reason += f"; kwdagger {why}"
    for r in runs:
        r.seconds = seconds / max(1, len(runs))
    return runs


def collect(root: Path, meta: dict) -> list[PipelineRun]:
    """Settings from the job folders of the compiled pipeline (``meta``: node name -> outputs, leaf or not)."""
    runs = []
    for node, info in meta["nodes"].items():
        node_dir = root / node
        for job in sorted(p for p in node_dir.glob("*") if (p / "job_config.json").is_file()):
            params = {k: v for k, v in json.loads((job / "job_config.json").read_text()).items()
                      if not k.startswith("__")}
            outputs = [job / name for name in info["out_paths"].values()]
            missing = [p.name for p in outputs if not p.exists()]
            if missing:
                runs.append(PipelineRun(node, params, job, "error", reason=f"kwdagger job {job.name} wrote no "
                                        f"{', '.join(missing)} (see {root / 'kwdagger_log.txt'})"))
            elif info["leaf"]:
                try:
                    runs.append(PipelineRun(node, params, job, "ok", leaf_symbols(outputs)))
                except (OSError, ValueError) as e:
                    runs.append(PipelineRun(node, params, job, "error", reason=f"unreadable output: {e}"))
    return runs


def leaf_symbols(paths) -> dict:
    """A last node's symbols: ``result.symbols`` of a verdict file (aiq's claim node), else :func:`read_symbols`."""
    symbols: dict = {}
    for path in paths:
        if Path(path).suffix.lower() != ".json":
            continue
        doc = json.loads(Path(path).read_text())
        result = doc.get("result") if isinstance(doc, dict) else None
        if isinstance(result, dict) and isinstance(result.get("symbols"), dict):
            symbols.update(result["symbols"])
        else:
            symbols.update(read_symbols([path]))
    return symbols


def main(argv: list[str] | None = None) -> int:
    """The subprocess: build and run the kwdagger schedule; write the nodes' outputs and leaves to ``ROOT/META``."""
    spec_path, root = (argv if argv is not None else sys.argv[1:])
    from kwdagger.pipeline import coerce_pipeline
    from kwdagger.schedule import ScheduleEvaluationConfig, build_schedule

    spec = json.loads(Path(spec_path).read_text())
    dag = coerce_pipeline(spec["pipeline"])
    graph = dag.proc_graph
    meta = {"nodes": {name: {"out_paths": dict(node.out_paths or {}), "leaf": graph.out_degree(name) == 0}
                      for name, node in dag.node_dict.items()}}
    Path(root, META).write_text(json.dumps(meta, indent=2) + "\n")
    config = ScheduleEvaluationConfig(params=spec, root_dpath=root, backend="serial", skip_existing=True, run=True)
    build_schedule(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
