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
from magnet.report.terminal import leaderboard_table
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
    assert text.count("(n=27)") == 2 * len(board.main_rows())  # floor and gain of every row
    assert "floor on 27 of 36 runs: 9 runs of bbq_accuracy have no per-instance values" in " ".join(text.split())
    board.write(tmp_path, plots=True)
    page = (tmp_path / "report.html").read_text()
    assert page.count("(n=27)") >= 2 * len(board.main_rows()) and "9 runs of bbq_accuracy" in page
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
    assert json.dumps({**asdict(twin), "stat": None, "duplicates": None}, default=str) == \
        json.dumps({**asdict(kept), "stat": None, "duplicates": None, "mbe": kept_mbe}, default=str)
    # Holm counts the rows shown: 3 main rows (primary), 3 x 4 target rows (secondary).
    families = {r.mbe["family"] for r in board.rows}
    assert families == {"primary (pooled main rows), Holm over 3 rows",
                        "secondary (per target variant), Holm over 12 rows"}


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
