"""A HELM-Lite-shaped suite of real per-instance outcomes, written at benchmark time (issue 28's target suite).

Source: ``tests/data/benchpred-helm-lite/`` (real 0/1 outcomes of 83 models on HELM Lite's ``mmlu``, ``gsm``
and ``math``; MIT, see its README). Only those three matrices are read: the BenchPred matrices ``med_qa``
and ``legalbench`` are the project's held-out check and are never used here.

Layout as ``helm-run`` writes it, one folder per run under
``<root>/benchmark_output/runs/lite/``: ``run_spec.json`` (HELM Lite's run name, ``groups``),
``stats.json`` (the main metric's ``test`` stat: count, sum, mean, ...) and ``per_instance_stats.json``
(one 0/1 stat per instance, ``instance_id`` ``id<column>``), plus a suite ``schema.json`` naming each
group's main metric as HELM Lite's schema does (mmlu ``exact_match``, gsm ``final_number_exact_match``,
math ``math_equiv_chain_of_thought``). No request states: the outcomes are all the matrices hold.

Assumptions (the matrices do not label them): ``mmlu``'s 567 columns are HELM Lite's five subjects in
alphabetical order (111, 108, 111, 126, 111, as ``tests/compat/lite_fixture.py``) and ``math``'s 437
columns its seven subjects in alphabetical order, in equal contiguous blocks (the last gets the rest);
``gsm`` is one run per model. So the scores are real model outcomes but not HELM Lite's published numbers.
Each run keeps ``n_instances`` of its columns (a fixed random choice per scenario, the same for every
model, as in HELM where every model sees the same instances); the models are an even spread over the 83
(every ``83 // n_models``-th line of ``models.txt``).

Example:
    >>> import tempfile
    >>> from magnet.protocol.corpus import Corpus
    >>> root = build_lite_suite(Path(tempfile.mkdtemp()), n_models=3, n_instances=4)
    >>> corpus = Corpus.load(root / "runs" / "lite")
    >>> len(corpus.run_specs), int(corpus.num_eval_instances().min())
    (39, 4)
    >>> sorted(corpus.targets["target.name"].unique())
    ['exact_match', 'final_number_exact_match', 'math_equiv_chain_of_thought']
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "benchpred-helm-lite"
MMLU = [("abstract_algebra", 111), ("college_chemistry", 108), ("computer_security", 111),
        ("econometrics", 126), ("us_foreign_policy", 111)]
MATH = ["algebra", "counting_and_probability", "geometry", "intermediate_algebra", "number_theory",
        "prealgebra", "precalculus"]
MAIN = {"mmlu": "exact_match", "gsm": "final_number_exact_match", "math": "math_equiv_chain_of_thought"}


def scenarios() -> list[tuple[str, str, str, slice]]:
    """``(group, run name prefix, scenario class, columns)`` of every scenario of the suite."""
    out, start = [], 0
    for subject, n in MMLU:
        out.append(("mmlu", f"mmlu:subject={subject},method=multiple_choice_joint",
                    "helm.benchmark.scenarios.mmlu_scenario.MMLUScenario", slice(start, start + n)))
        start += n
    out.append(("gsm", "gsm", "helm.benchmark.scenarios.gsm_scenario.GSM8KScenario", slice(0, 1000)))
    block = 437 // len(MATH)
    for i, subject in enumerate(MATH):
        stop = 437 if i == len(MATH) - 1 else (i + 1) * block
        out.append(("math", f"math:subject={subject},level=1,use_official_examples=False,use_chain_of_thought=True",
                    "helm.benchmark.scenarios.math_scenario.MATHScenario", slice(i * block, stop)))
    return out


def _stat(name: str, values: np.ndarray) -> dict:
    v = values.astype(float)
    return {"name": {"name": name, "split": "test"}, "count": int(v.size), "sum": float(v.sum()),
            "sum_squared": float((v * v).sum()), "min": float(v.min()), "max": float(v.max()),
            "mean": float(v.mean()), "variance": float(v.var()), "stddev": float(v.std())}


def build_lite_suite(root: Path, n_models: int = 12, n_instances: int = 40, seed: int = 0) -> Path:
    """Write the suite under ``root`` and return ``root / "benchmark_output"``.

    ``n_models`` models (an even spread over the 83), ``n_instances`` instances per run (every column when
    the scenario has fewer), 13 scenarios (5 MMLU subjects, gsm, 7 MATH subjects).
    """
    models = (DATA / "models.txt").read_text().split()
    if not 1 <= n_models <= len(models):
        raise ValueError(f"n_models must be in 1..{len(models)}, got {n_models}")
    rows = list(range(0, len(models), len(models) // n_models))[:n_models]
    matrices = {g: np.load(DATA / f"{g}.npy") for g in MAIN}
    out = Path(root) / "benchmark_output"
    suite = out / "runs" / "lite"
    suite.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    groups = [{"name": g, "display_name": g, "metric_groups": ["accuracy"], "environment": {"main_name": m,
                                                                                              "main_split": "test"}}
              for g, m in MAIN.items()]
    (suite / "schema.json").write_text(json.dumps({"run_groups": groups, "metric_groups": [
        {"name": "accuracy", "metrics": [{"name": "${main_name}", "split": "${main_split}"}]}]}))
    for group, prefix, cls, cols in scenarios():
        columns = np.arange(cols.start, cols.stop)
        if columns.size > n_instances:
            columns = np.sort(rng.choice(columns, n_instances, replace=False))
        metric = MAIN[group]
        for row in rows:
            model = models[row]
            helm_model = model.replace("_", "/", 1)
            values = matrices[group][row, columns]
            name = f"{prefix},model={helm_model}"
            run = suite / f"{prefix},model={model}"
            run.mkdir(exist_ok=True)
            spec = {"name": name, "scenario_spec": {"class_name": cls, "args": {}},
                    "adapter_spec": {"method": "generation", "model": helm_model, "model_deployment": helm_model},
                    "metric_specs": [], "data_augmenter_spec": {"perturbation_specs": []}, "groups": [group]}
            (run / "run_spec.json").write_text(json.dumps(spec))
            (run / "stats.json").write_text(json.dumps([_stat(metric, values)]))
            pis = [{"instance_id": f"id{c}", "train_trial_index": 0, "stats": [_stat(metric, values[i:i + 1])]}
                   for i, c in enumerate(columns)]
            (run / "per_instance_stats.json").write_text(json.dumps(pis))
    return out
