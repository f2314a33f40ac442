"""The issue's command end to end: ``magnet import-scores`` of a score matrix, then ``magnet benchmark
--reveal adaptive --budget K``; the revealed sequence reaches predictions.csv and revealed.json; bad option
combinations and a predictor that cannot ask get one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from magnet.cli.main import main as magnet_main

ADAPTIVE = "predictors.adaptive_testing:PrototypeTesting"


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """A 2PL world of 14 models x 50 items, imported through the command line."""
    d = tmp_path_factory.mktemp("adaptive_cli")
    rng = np.random.default_rng(3)
    ability, difficulty = np.linspace(-2, 2, 14), rng.normal(size=50)
    m = (rng.random((14, 50)) < 1 / (1 + np.exp(-(ability[:, None] - difficulty)))).astype(np.int8)
    np.save(d / "m.npy", m)
    assert magnet_main(["import-scores", str(d / "m.npy"), "--scenario", "toy", "--metric", "exact_match",
                        "-o", str(d / "out")]) == 0
    return d


@pytest.mark.parametrize("split", ["interpolation", "extrapolation"])
def test_benchmark_reveal_adaptive_budget_records_the_order_asked(imported, split, tmp_path):
    out = tmp_path / "res"
    assert magnet_main(["benchmark", "--root-dir", str(imported / "out"), "--split", split, "--reveal", "adaptive",
                        "--budget", "5", "--no-builtin", "--predictor", ADAPTIVE, "--out", str(out),
                        "--quiet"]) == 0
    record = json.loads((out / "runs" / f"PrototypeTesting-{split}" / "revealed.json").read_text())
    assert record["reveal_mode"] == "adaptive" and record["budget"] == 5
    runs = record["runs"]
    assert runs and all(len(ids) == 5 == len(set(ids)) for ids in runs.values())
    table = pd.read_csv(out / "predictions.csv")
    assert set(table["run_spec.name"]) == set(runs)
    for run, order in zip(table["run_spec.name"], table["reveal_order"]):
        assert json.loads(order) == runs[run]  # the same sequence, in the order asked
    # the MBE control is the random sample of the same budget, not the mean of the instances asked for
    assert table["revealed_mean"].notna().all()


def test_budget_and_num_eval_samples_must_agree(imported, capsys):
    code = magnet_main(["benchmark", "--root-dir", str(imported / "out"), "--split", "interpolation",
                        "--reveal", "adaptive", "--budget", "5", "--num-eval-samples", "6", "--no-builtin",
                        "--predictor", ADAPTIVE, "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: --budget 5: disagrees with --num-eval-samples 6")
    assert "Traceback" not in err


def test_budget_needs_reveal_adaptive(imported, capsys):
    code = magnet_main(["benchmark", "--root-dir", str(imported / "out"), "--split", "interpolation",
                        "--budget", "5", "--no-builtin", "--predictor", ADAPTIVE, "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: --budget 5: is the instance budget of --reveal adaptive")


@pytest.mark.parametrize("command", ["benchmark", "predict"])
def test_a_predictor_without_next_instances_is_refused_in_one_line(imported, capsys, command):
    args = ["--root-dir", str(imported / "out"), "--split", "interpolation", "--reveal", "adaptive",
            "--budget", "5", "--predictor", "predictors.example_random_predictor:ExampleRandomPredictor", "--quiet"]
    code = magnet_main([command, *args] + (["--no-builtin"] if command == "benchmark" else []))
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.splitlines()[0] == ("error: --reveal adaptive: ExampleRandomPredictor has no next_instances(state, "
                                   "candidates, remaining) method to ask for instances with")
