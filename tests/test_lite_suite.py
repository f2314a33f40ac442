"""benchmarks/lite_suite.py: the generated HELM-Lite suite holds the real outcomes it claims (issue 28, round 3)."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from lite_suite import DATA, MAIN, build_lite_suite, scenarios  # noqa: E402

from magnet.protocol.corpus import Corpus  # noqa: E402


def test_lite_suite_values_are_the_matrix_entries(tmp_path):
    out = build_lite_suite(tmp_path, n_models=3, n_instances=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no scenario_state.json: request states rebuilt, as on published suites
        corpus = Corpus.load(out / "runs" / "lite")
    assert len(corpus.run_specs) == 3 * len(scenarios()) == 39
    assert corpus.run_specs["run_spec.adapter_spec.model"].nunique() == 3
    assert set(corpus.num_eval_instances()) == {6}
    models = (DATA / "models.txt").read_text().split()
    matrices = {g: np.load(DATA / f"{g}.npy") for g in MAIN}
    pis = corpus.instance_values
    for group, prefix, _, cols in scenarios():
        for model in corpus.run_specs["run_spec.adapter_spec.model"].unique():
            run = f"{prefix},model={model}"
            got = pis[pis["run_spec.name"] == run]
            assert set(got["target.key"]) == {MAIN[group]}
            row = models.index(model.replace("/", "_", 1))
            columns = [int(i[2:]) for i in got["instance_id"]]
            assert all(cols.start <= c < cols.stop for c in columns)
            assert got["value"].tolist() == matrices[group][row, columns].astype(float).tolist()
            target = corpus.targets[corpus.targets["run_spec.name"] == run]
            assert np.isclose(float(target["stats.mean"].iloc[0]), float(np.mean(matrices[group][row, columns])))


def test_lite_suite_never_reads_the_held_out_matrices():
    source = (ROOT / "benchmarks" / "lite_suite.py").read_text()
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("#", '"', "and ``")))
    assert set(MAIN) == {"mmlu", "gsm", "math"}
    assert "med_qa" not in code.split('"""', 2)[-1] and "legalbench" not in code.split('"""', 2)[-1]
