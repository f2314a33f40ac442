"""aiq-magnet's three example files, run with xdoctest unchanged, and the MAGNET API they rely on.

The files are copied unchanged under ``aiq_magnet/`` (see aiq_magnet/PROVENANCE.md). Each starts its
doctest with ``from magnet.example_*_predictor import *`` (magnet's own implementations) and calls the
predictor MAGNET's way, which prints a predicted-vs-actual table. ``example_perturbation_predictor.py``
runs on ``boolq`` + ``openai/gpt2`` (the network); only its run entry is replaced, by the offline
``PERTURBATION_EXAMPLE_ENTRY``. The three run once per session, in this process, through
``xdoctest.doctest_module`` (what ``python -m xdoctest FILE`` calls).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xdoctest

import magnet
from magnet.backends.helm.demo.entries import PERTURBATION_EXAMPLE_ENTRY
from magnet.predictor import RunPrediction, RunPredictor
from magnet.protocol.corpus import Corpus

AIQ = Path(__file__).resolve().parent / "aiq_magnet"
AIQ_ENTRY = '"boolq:data_augmentation=misspelling_sweep,model=openai/gpt2"'
EXAMPLES = ["example_random_predictor", "example_random_instance_predictor", "example_perturbation_predictor"]


def _run_xdoctest(path: Path) -> tuple[dict, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        summary = xdoctest.doctest_module(str(path), command="all", argv=[])
    return summary, out.getvalue()


@pytest.fixture(scope="session")
def aiq_examples(tmp_path_factory):
    """Example name -> (xdoctest summary, printed output); the demo corpora come from the shared cache."""
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "250"  # the printed tables unfolded
    try:
        results = {}
        for name in EXAMPLES:
            path = AIQ / f"{name}.py"
            if name == "example_perturbation_predictor":
                text = path.read_text()
                assert text.count(AIQ_ENTRY) == 1, "aiq's perturbation example changed: review the substitution"
                path = tmp_path_factory.mktemp("aiq") / path.name
                path.write_text(text.replace(AIQ_ENTRY, repr(PERTURBATION_EXAMPLE_ENTRY).replace("'", '"')))
            results[name] = _run_xdoctest(path)
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    return results


def _scored(printed: str) -> int:
    found = re.findall(r"n = (\d+) scored predictions", printed)
    assert found, f"no predicted-vs-actual table printed:\n{printed[-2000:]}"
    return int(found[-1])


@pytest.mark.parametrize("name", EXAMPLES)
def test_aiq_example_passes_and_prints_matched_rows(aiq_examples, name):
    summary, printed = aiq_examples[name]
    assert summary["n_failed"] == 0 and summary["n_passed"] == 1, printed[-3000:]
    assert "predicted vs actual" in printed
    assert _scored(printed) > 0
    rows = [line for line in printed.splitlines() if "│ actual" in line]
    assert len(rows) == _scored(printed)  # one actual row per scored prediction, next to its predicted row


def test_random_example_is_scored_on_the_valid_split(aiq_examples):
    printed = aiq_examples["example_random_predictor"][1]
    assert "exact_match [valid]" in printed
    # Runs without a valid-split exact_match are listed, never dropped silently.
    assert "unmatched prediction" in printed


def test_perturbation_example_is_scored_on_misspelled_valid_instances(aiq_examples):
    printed = aiq_examples["example_perturbation_predictor"][1]
    assert _scored(printed) == 3  # misspelling probability 0.05, 0.2, 0.5 (0 perturbs nothing)
    assert "exact_match@misspellings/perturbed [valid]" in printed


@pytest.fixture(scope="session")
def sweep_outputs():
    return magnet.HelmOutputs.demo(run_entries=[PERTURBATION_EXAMPLE_ENTRY], max_eval_instances=20)


@pytest.fixture(scope="session")
def sweep_suite(sweep_outputs):
    return sweep_outputs.suites()[0].path


def test_perturbation_entry_has_exact_match_and_misspelling_stats_on_valid(sweep_outputs):
    stats = Corpus.load(sweep_outputs).stats
    mis = stats[(stats["stats.name.name"] == "exact_match") & (stats["stats.name.split"] == "valid")
                & (stats["stats.name.perturbation.name"] == "misspellings")
                & (stats["stats.name.perturbation.computed_on"] == "perturbed")]
    assert sorted(mis["stats.name.perturbation.prob"]) == [0.05, 0.2, 0.5]


class ValidHalf(RunPredictor):
    """Predicts 0.5 for each eval run's valid-split exact_match, misspelled and not (MAGNET's run-level API)."""

    def predict(self, train_split, sequestered_test_split):
        out = []
        for run, specs in zip(sequestered_test_split.run_specs["run_spec.name"],
                              sequestered_test_split.run_specs["run_spec.data_augmenter_spec.perturbation_specs"]):
            out.append(RunPrediction(run, "valid", "exact_match", 0.5))
            prob = specs[0]["args"]["prob"]
            out.append(RunPrediction(run, "valid", "exact_match", 0.25, perturbation_parameters={
                "name": "misspellings", "robustness": True, "fairness": False, "computed_on": "perturbed",
                "prob": prob}))
        return out


def test_magnet_evaluate_flow_by_hand(sweep_suite, capsys):
    """aiq's RunPredictor._evaluate, step by step: prepare_all_dataframes, to_df, compare_predicted_to_actual."""
    predictor = ValidHalf(num_eval_samples=3)
    train_split, test_split = predictor.prepare_all_dataframes(str(sweep_suite / "*misspelling0.2*"))
    assert test_split.stats["run_spec.name"].nunique() == 1 and train_split.stats is not None
    predicted = RunPrediction.to_df(predictor.predict(train_split, test_split.sequester()))
    assert predicted["stats.name.perturbation.prob"].tolist()[1] == 0.2  # the perturbation fields are kept
    table = predictor.compare_predicted_to_actual(predicted, test_split.stats)
    stats = test_split.stats
    valid = stats[(stats["stats.name.name"] == "exact_match") & (stats["stats.name.split"] == "valid")]
    plain = valid[valid["stats.name.perturbation.name"].isna()]["stats.mean"].item()
    misspelled = valid[(valid["stats.name.perturbation.name"] == "misspellings")
                       & (valid["stats.name.perturbation.computed_on"] == "perturbed")]["stats.mean"].item()
    assert table["split"].tolist() == ["valid", "valid"]
    assert np.allclose(table["actual_mean"], [plain, misspelled])
    assert table["perturbation_prob"].tolist()[1] == 0.2
    assert "predicted_mean" in capsys.readouterr().out
    # A prediction naming the wrong misspelling probability matches nothing, and the count says so.
    wrong = predicted.assign(**{"stats.name.perturbation.prob": [np.nan, 0.5]})
    assert len(predictor.compare_predicted_to_actual(wrong, test_split.stats)) == 1
    assert "1 of 2 prediction(s) matched no stat" in capsys.readouterr().out


def test_called_magnet_way_scores_named_stats_and_benchmark_cli_says_what_it_ignores(sweep_outputs, sweep_suite):
    result = ValidHalf(num_eval_samples=3)(helm_suites=sweep_suite, quiet=True)
    keys = set(result.joined["target.key"])
    assert keys == {"exact_match [valid]", "exact_match@misspellings/perturbed [valid]"}
    assert result.n_named == result.n_scored == 4 + 3 and result.unmatched == [run for run in result.unmatched
                                                                                 if "misspelling0," in run]
    from magnet.cli.predict import report_unmatched
    from magnet.protocol.runner import run_protocol

    corpus = Corpus.load(sweep_outputs)
    protocol = run_protocol(ValidHalf(), corpus, split="leave-one-run-out", num_eval_samples=3, progress=False)
    from rich.console import Console

    console = Console(file=io.StringIO(), width=400)
    assert report_unmatched(console, protocol, corpus, "ValidHalf", limit=100) == 8
    printed = console.file.getvalue()
    assert printed.count("the run has this stat") == 7


def test_download_helm_results_at_magnets_path():
    from magnet.backends.helm import download_helm_results as ours
    from magnet.backends.helm.cli import download_helm_results

    assert download_helm_results.main is ours.main
    with pytest.raises(SystemExit) as info:
        download_helm_results.main(["--help"])
    assert info.value.code == 0


def test_run_prediction_to_df_keeps_perturbation_fields():
    df = RunPrediction.to_df([RunPrediction("r", "valid", "exact_match", 0.3, perturbation_parameters={
        "name": "misspellings", "robustness": True, "fairness": False, "computed_on": "perturbed", "prob": 0.2})])
    row = df.iloc[0]
    assert (row["stats.name.perturbation.prob"], row["stats.name.perturbation.robustness"],
            row["stats.name.perturbation.fairness"]) == (0.2, True, False)
    assert isinstance(df, pd.DataFrame) and row["stats.name.name"] == "exact_match"
