"""One pipeline step of the llama consistency cards: two models' mean MMLU exact_match, as symbols.

``python -m magnet.examples.llama_consistency.llama_predict --base_model=M1 --comp_model=M2
--helm_runs_path=DIR --results_fpath=results.json`` (``--key value`` works too) reads the HELM runs
``mmlu*model=meta_*llama*`` of every suite under ``DIR`` (any form :class:`HelmOutputs` accepts), keeps
``exact_match`` on the ``test`` split without perturbation, averages each model's runs (subjects) and writes::

    {"result": {"helm_runs_path": ..., "base_model": ..., "base_score": ..., "comp_model": ...,
                "comp_score": ..., "threshold": ...}}

A model without such runs is a one-line error (exit status 2) naming the models found; the pipeline runner
then records that setting as INCONCLUSIVE with this message.

Example:
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> from magnet.backends.helm.helm_outputs import HelmOutputs
    >>> bo = HelmOutputs.demo().root  # the demo corpus (built on first use)
    >>> scores = exact_match_scores(bo, run_glob="simple_classification*")
    >>> sorted(scores)[0], all(0 <= s <= 1 for s in scores.values())
    ('magnet-sim/atlas-1b', True)
    >>> base, comp = sorted(scores)[:2]
    >>> out = Path(tempfile.mkdtemp()) / "results.json"
    >>> rc = main([f"--base_model={base}", f"--comp_model={comp}", f"--helm_runs_path={bo}",
    ...       "--run_glob=simple_classification*", f"--results_fpath={out}"])
    >>> rc
    0
    >>> sorted(json.loads(out.read_text())["result"])
    ['base_model', 'base_score', 'comp_model', 'comp_score', 'helm_runs_path', 'threshold']
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from magnet.backends.helm.helm_outputs import HelmOutputs, HelmSuiteRuns

RUN_GLOB = "mmlu*model=meta_*llama*"


def exact_match_scores(helm_runs_path, run_glob: str = RUN_GLOB) -> dict[str, float]:
    """Model -> mean ``exact_match`` (test split, no perturbation) over the runs matching ``run_glob``."""
    paths = []
    for suite in HelmOutputs(Path(helm_runs_path)).suites():
        paths.extend(suite.runs(run_glob).paths)
    if not paths:
        raise ValueError(f"{helm_runs_path}: no HELM run matches {run_glob!r}")
    runs = HelmSuiteRuns.coerce(paths)
    stats = runs.stats()
    stats = stats[(stats["stats.name.name"] == "exact_match")
                  & stats["stats.name.perturbation.computed_on"].isna()
                  & (stats["stats.name.split"] == "test")]
    models = runs.run_spec().set_index("run_spec.name")["run_spec.adapter_spec.model"]
    scores = stats.assign(model=stats["run_spec.name"].map(models)).groupby("model")["stats.mean"].mean()
    return {str(k): float(v) for k, v in scores.items()}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m magnet.examples.llama_consistency.llama_predict",
                                description="Two HELM models' mean MMLU exact_match, written as card symbols.")
    p.add_argument("--base_model", required=True, help="HELM model name (run_spec.adapter_spec.model)")
    p.add_argument("--comp_model", required=True, help="HELM model name (run_spec.adapter_spec.model)")
    p.add_argument("--threshold", type=float, default=0.1, help="consistency bound, passed on to the claim")
    p.add_argument("--helm_runs_path", default="./data/crfm-helm-public/lite/benchmark_output",
                   help="HELM outputs (benchmark_output, its runs/, or the folder holding it)")
    p.add_argument("--run_glob", default=RUN_GLOB, help=f"run folders to read (default {RUN_GLOB!r})")
    p.add_argument("--results_fpath", default="results.json", help="output JSON file")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        scores = exact_match_scores(args.helm_runs_path, args.run_glob)
        missing = [m for m in (args.base_model, args.comp_model) if m not in scores]
        if missing:
            raise ValueError(f"{args.helm_runs_path}: no test-split exact_match for {', '.join(missing)}; "
                             f"models found: {', '.join(sorted(scores))}")
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    result = {"helm_runs_path": str(args.helm_runs_path), "base_model": args.base_model,
              "base_score": scores[args.base_model], "comp_model": args.comp_model,
              "comp_score": scores[args.comp_model], "threshold": args.threshold}
    out = Path(args.results_fpath)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"result": result}, indent=2) + "\n")
    print(f"Wrote results to: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
