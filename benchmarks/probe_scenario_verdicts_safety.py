"""Scenario-aware vs pooled MBE verdicts of two predictors that never read the revealed sample, on the real suite.

HELM Safety v3 (``tests/data/helm-safety-v3``: 9 models x 4 scenarios, 2 instances per run), 1 revealed
instance per run, kfold and leave-one-model-out: for each main row, the scenario-aware verdict and estimate,
the verdict of each scenario adjustment, and the pooled verdict and estimate (issue 27).

Usage::

    nice .venv/bin/python benchmarks/probe_scenario_verdicts_safety.py     # about 30 s
"""

from __future__ import annotations

import warnings
from pathlib import Path

from magnet.backends.helm.outputs import HelmOutputs
from magnet.protocol.benchmark import benchmark
from magnet.protocol.corpus import Corpus
from predictors.additive import Additive
from predictors.scenario_mean import ScenarioMean

SUITE = Path(__file__).resolve().parents[1] / "tests" / "data" / "helm-safety-v3" / "benchmark_output"


def main() -> None:
    warnings.simplefilter("ignore")
    corpus = Corpus.load(HelmOutputs.coerce(SUITE, cache_dir=False))
    board = benchmark([ScenarioMean(), Additive()], corpus, splits=["leave-one-model-out", "kfold"],
                      num_eval_samples=1, progress=False, n_boot=50)
    print("split | predictor | n | verdict (estimate) | each adjustment | pooled verdict (estimate)")
    for r in board.main_rows():
        m = r.mbe
        print(f"{r.split} | {r.predictor} | {r.n} | {m['verdict']} ({m['estimate']:.3f}) | {m['scenario_checks']} | "
              f"{m['pooled_verdict']} ({m['pooled_estimate']:.3f})"
              + (" | between scenarios only" if m["between_scenarios_only"] else ""))


if __name__ == "__main__":
    main()
