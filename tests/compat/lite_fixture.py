"""A HELM-Lite-shaped ``benchmark_output`` of the llama family on MMLU, made from real per-instance outcomes.

Source: ``tests/data/benchpred-helm-lite/mmlu.npy`` (83 models x 567 instances, 0/1 exact_match of HELM Lite;
see its README) and ``models.txt``. The 567 columns are split into HELM Lite's five MMLU subjects in alphabetical
order (abstract_algebra 111, college_chemistry 108, computer_security 111, econometrics 126, us_foreign_policy 111),
each subject's first instances as its ``valid`` split (11, 8, 11, 12, 11) and the rest ``test``: an assumption (the
matrix does not label subjects or splits), so the scores are real llama outcomes but not HELM Lite's published
numbers. Layout as aiq-magnet's download: ``lite/benchmark_output/runs/{v1.0.0,v1.2.0}/<run>/`` (llama-3 models in
v1.2.0) with ``run_spec.json`` and ``stats.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1] / "data" / "benchpred-helm-lite"
SUBJECTS = [("abstract_algebra", 111, 11), ("college_chemistry", 108, 8), ("computer_security", 111, 11),
            ("econometrics", 126, 12), ("us_foreign_policy", 111, 11)]


def _stat(split: str, values: np.ndarray) -> dict:
    v = values.astype(float)
    return {"name": {"name": "exact_match", "split": split}, "count": int(len(v)), "sum": float(v.sum()),
            "sum_squared": float((v * v).sum()), "min": float(v.min()), "max": float(v.max()),
            "mean": float(v.mean()), "variance": float(v.var()), "stddev": float(v.std())}


def build_lite_fixture(root: Path) -> Path:
    """Write the fixture under ``root`` and return ``root`` (holding ``lite/benchmark_output``)."""
    matrix = np.load(DATA / "mmlu.npy")
    models = (DATA / "models.txt").read_text().split()
    assert sum(n for _, n, _ in SUBJECTS) == matrix.shape[1]
    for row, model in enumerate(models):
        if "llama" not in model:
            continue
        helm_model = model.replace("_", "/", 1)
        suite = "v1.2.0" if "llama-3" in model else "v1.0.0"
        start = 0
        for subject, n, n_valid in SUBJECTS:
            values = matrix[row, start:start + n]
            start += n
            name = f"mmlu:subject={subject},method=multiple_choice_joint,model={model}"
            run = root / "lite" / "benchmark_output" / "runs" / suite / name
            run.mkdir(parents=True, exist_ok=True)
            spec = {"name": name.replace(f"model={model}", f"model={helm_model}"),
                    "scenario_spec": {"class_name": "helm.benchmark.scenarios.mmlu_scenario.MMLUScenario",
                                      "args": {"subject": subject}},
                    "adapter_spec": {"method": "multiple_choice_joint", "model": helm_model,
                                     "model_deployment": helm_model},
                    "metric_specs": [], "data_augmenter_spec": {"perturbation_specs": []}, "groups": ["mmlu"]}
            (run / "run_spec.json").write_text(json.dumps(spec))
            (run / "stats.json").write_text(json.dumps([_stat("valid", values[:n_valid]),
                                                        _stat("test", values[n_valid:])]))
    return root
