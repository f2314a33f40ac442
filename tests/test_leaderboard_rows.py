"""Leaderboard rows on real HELM output (tests/data/helm-safety-v3): one honest n per column, no duplicate rows.

Issue 27: the table showed n = 36 while the noise floor and the gain share used 27 runs (``bbq_accuracy`` has no
per-instance values, so no floor), and 60 of 110 rows (``X@robustness/worst``, ``X@fairness/worst`` of runs
without perturbations) repeated ``X`` exactly and counted in Holm.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from magnet.backends.helm.errors import HelmOutputWarning
from magnet.backends.helm.outputs import HelmOutputs
from magnet.protocol.benchmark import benchmark, score_rows
from magnet.protocol.corpus import RUN, Corpus
from magnet.report.terminal import leaderboard_table, shown_rows
from predictors.model_mean import ModelMean
from predictors.revealed_sample_mean import RevealedSampleMean
from predictors.scenario_mean import ScenarioMean

SUITE = Path(__file__).parent / "data" / "helm-safety-v3" / "benchmark_output"


@pytest.fixture(scope="module")
def safety():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HelmOutputWarning)
        corpus = Corpus.load(HelmOutputs.coerce(SUITE, cache_dir=False))
    board = benchmark([RevealedSampleMean(), ModelMean(), ScenarioMean()], corpus, splits=["leave-one-model-out"],
                      num_eval_samples=1, progress=False, n_boot=50)
    return corpus, board


def _printed(board) -> str:
    console = Console(width=250, record=True, file=open("/dev/null", "w"))
    console.print(leaderboard_table(board))
    return console.export_text()


def test_each_column_states_the_runs_it_used(safety, tmp_path):
    corpus, board = safety
    main = board.joined[board.joined["target.key"] == board.joined["target.name"]]
    per_model = main[main["predictor"] == "ModelMean"]
    with_floor = int((per_model["target.name"] != "bbq_accuracy").sum())
    assert (len(per_model), with_floor) == (36, 27)
    for row in board.main_rows():
        assert row.n == 36
        assert row.column_n == {"mae": 36, "noise_floor": 27, "gain_share": 27, "mbe": 36}
        assert row.noise_floor_n == row.gain_share_n == 27
        assert "9 runs of bbq_accuracy" in row.column_notes["noise_floor"]
        assert set(row.column_notes) == {"noise_floor", "gain_share"}
        terms = row.gain_share_terms  # the gain is made of three means on its own 27 runs, not the row's 36
        used = board.joined[(board.joined["predictor"] == row.predictor) & (board.joined.index.isin(main.index))
                            & (board.joined["target.name"] != "bbq_accuracy")]
        assert terms["mae"] == pytest.approx((used["predicted"] - used["actual"]).abs().mean(), abs=1e-12)
        assert terms["revealed_mean_mae"] == pytest.approx((used["revealed_mean"] - used["actual"]).abs().mean(),
                                                           abs=1e-12)
        assert terms["noise_floor"] == pytest.approx(row.noise_floor, abs=1e-12)
    text = _printed(board)
    assert text.count("(n=27)") == 2 * len(shown_rows(board)) == 4  # floor and gain of every row shown
    assert "floor on 27 of 36 runs: 9 runs of bbq_accuracy have no per-instance values" in " ".join(text.split())
    board.write(tmp_path, plots=True)
    page = (tmp_path / "report.html").read_text()
    assert page.count("(n=27)") >= 4 and "9 runs of bbq_accuracy" in page
    row = json.loads((tmp_path / "leaderboard.json").read_text())["rows"][0]
    assert row["column_n"]["noise_floor"] == 27 and row["column_notes"]["gain_share"].startswith("on 27 of 36")


def test_rows_that_duplicate_another_row_are_not_produced(safety):
    corpus, board = safety
    stats = {r.stat for r in board.rows}
    assert not [s for s in stats if s.endswith(("@robustness/worst", "@fairness/worst"))], sorted(stats)
    assert stats == {"main", "art_score", "bbq_accuracy", "harm_bench_score", "sst_score"}
    kept = next(r for r in board.rows if r.predictor == "ModelMean" and r.stat == "art_score")
    assert kept.duplicates == ["art_score@fairness/worst", "art_score@robustness/worst"]
    # The row that is not produced is the same row indeed: scored on its own, only its name differs.
    j = board.joined[(board.joined["predictor"] == "ModelMean") & (board.joined["target.key"] == kept.duplicates[1])]
    assert len(j) == 9 and np.isfinite(j["predicted"]).all()
    twin = score_rows(j, corpus, board.results[1].revealed, None, "ModelMean", kept.split, kept.duplicates[1],
                      kept.failed_folds, 9, n_boot=50, seed=0, proxies=board.proxies)
    holm = ("p_holm", "family", "genuine_after_holm")  # added over the leaderboard afterwards
    kept_mbe = {k: v for k, v in kept.mbe.items() if k not in holm}
    later = {"stat": None, "duplicates": None, "same_predictions": None, "shown_as": None}  # set over the board
    assert json.dumps({**asdict(twin), **later}, default=str) == \
        json.dumps({**asdict(kept), **later, "mbe": kept_mbe}, default=str)
    # Holm counts the rows produced (ScenarioMean's, identical to ModelMean's, once): 2 x 4, not 3 x 10.
    assert len(board.rows) == 3 * 5
    assert {r.mbe["family"] for r in board.rows if r.stat != "main"} == {
        "secondary (per target variant), Holm over 8 rows"}


def test_variant_rows_that_differ_are_kept(small_demo_corpus):
    board = benchmark([RevealedSampleMean()], small_demo_corpus, splits=["leave-one-model-out"], num_eval_samples=5,
                      progress=False, n_boot=0)
    stats = [r.stat for r in board.rows]
    assert any("@" in s for s in stats), stats  # the demo's perturbation variants are rows of their own
    joined = board.joined
    for row in board.rows:
        for dup in row.duplicates:  # every dropped row had the kept row's predictions and actual values
            a = joined[joined["target.key"] == row.stat].sort_values(RUN)
            b = joined[joined["target.key"] == dup].sort_values(RUN)
            assert a["predicted"].tolist() == b["predicted"].tolist() and a["actual"].tolist() == b["actual"].tolist()


def test_fallbacks_and_identical_predictors_are_stated(safety, tmp_path):
    """ModelMean under leave-one-model-out: the held-out model has no train run, so every prediction is the
    fallback, which equals ScenarioMean's (each scenario has its own metric here): one table row, said so."""
    _, board = safety
    main = {r.predictor: r for r in board.main_rows()}
    said = "fallback: the target's mean over all train runs (no estimate of its own for the run); the model has no " \
           "train run"
    assert main["ModelMean"].notes == [f"{said} (36 of 36 runs)"]
    assert main["ScenarioMean"].notes == [] and main["RevealedSampleMean"].notes == []
    assert main["ModelMean"].same_predictions == ["ScenarioMean"] and main["ModelMean"].shown_as is None
    assert main["ScenarioMean"].same_predictions == ["ModelMean"] and main["ScenarioMean"].shown_as == "ModelMean"
    assert main["ModelMean"].mae == main["ScenarioMean"].mae
    text = " ".join(_printed(board).split())
    assert "ModelMean = ScenarioMean" in text and "│ ScenarioMean" not in text
    assert "ModelMean / leave-one-model-out: fallback: the target's mean over all train runs" in text
    # Holm counts the rows shown: identical predictors once (2 main rows), duplicate variant rows not at all.
    assert {r.mbe["family"] for r in board.rows} == {"primary (pooled main rows), Holm over 2 rows",
                                                     "secondary (per target variant), Holm over 8 rows"}
    assert main["ScenarioMean"].mbe["p_holm"] == main["ModelMean"].mbe["p_holm"]
    board.write(tmp_path, plots=False)
    csv = __import__("pandas").read_csv(tmp_path / "predictions.csv")
    notes = csv.groupby("predictor")["magnet.note"].apply(lambda s: set(s.dropna()))
    assert notes["ModelMean"] == {said}
    assert notes["ScenarioMean"] == notes["RevealedSampleMean"] == set()


def test_abstentions_reach_predictions_csv_and_the_rows(tmp_path):
    """ScenarioMean under leave-one-scenario-out: no train run reports the held-out scenario's metric, so it
    abstains (no number on another scale); the reason reaches predictions.csv, the rows and the table."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HelmOutputWarning)
        corpus = Corpus.load(HelmOutputs.coerce(SUITE, cache_dir=False))
    board = benchmark([ScenarioMean()], corpus, splits=["leave-one-scenario-out"], num_eval_samples=1,
                      progress=False, n_boot=0)
    folds = {f.label: f for f in board.results[0].folds}
    declined = {label: len(f.abstained) for label, f in folds.items() if f.abstained}
    assert declined == {"anthropic_red_team": 9, "bbq:subject=all,method=multiple_choice_joint": 9, "harm_bench": 9,
                        "simple_safety_tests": 9}
    # a stated abstention is not a failure (the bbq fold raised KeyError 'pert_name' before: no train value at all)
    assert [f.status for f in folds.values()] == ["ok"] * 4, [f.reason for f in folds.values()]
    main = board.main_rows()[0]
    assert main.n == 0 and main.mbe["verdict"] == "insufficient-data"
    assert "abstained: no train run reports art_score and no revealed value of it (9 of 36 runs)" in main.notes
    assert "abstained: no train run reports bbq_accuracy and no revealed value of it (9 of 36 runs)" in main.notes
    art = next(r for r in board.rows if r.stat == "art_score")
    assert art.notes == ["abstained: no train run reports art_score and no revealed value of it (9 of 9 runs)"]
    assert "abstained: no train run reports sst_score" in " ".join(_printed(board).split())
    board.write(tmp_path, plots=False)
    csv = __import__("pandas").read_csv(tmp_path / "predictions.csv")
    abstained = csv[csv["magnet.note"].fillna("").str.startswith("abstained: ")]
    assert len(abstained) == 4 * 9 and abstained["predicted"].isna().all()  # the main target of each run
    assert set(abstained["target.name"]) == {"art_score", "bbq_accuracy", "harm_bench_score", "sst_score"}


def test_interval_fallbacks_are_in_the_terminal_and_html_notes(small_root, tmp_path):
    """19 of 20 revealed, exact_match only: Additive's MAE interval is not the usual one (round 1 put the reason in
    the JSON only)."""
    corpus = Corpus.load(HelmOutputs.coerce(small_root), stat_names=["exact_match"])
    from predictors.additive import Additive

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        board = benchmark([Additive()], corpus, splits=["kfold"], num_eval_samples=19, progress=False, n_boot=200)
    row = board.main_rows()[0]
    note = row.interval_notes["mae"]  # the studentized interval is undefined or degenerate here, and says why
    assert note.startswith(("none: ", "percentile cluster bootstrap: ", "cluster-robust t(")), note
    text = " ".join(_printed(board).split())
    assert f"Additive / kfold: MAE interval by {note}" in text
    board.write(tmp_path, plots=True)
    assert f"MAE interval by {note}" in (tmp_path / "report.html").read_text()
