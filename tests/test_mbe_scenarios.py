"""Scenario-aware MBE check (issue 27): a correlation carried by differences between scenarios is not `genuine`.

A predictor that knows only which scenario a run belongs to (the train runs' scenario mean, alone or blended
with the revealed mean) correlates with the actual values when runs of several scenarios are pooled, beyond
the revealed mean, which measures the scenario's level only noisily.  Within a scenario it merely re-ranks the
revealed mean (or ranks runs *against* their actual value).  The pooled check called it `genuine`; with the
scenario passed as ``strata`` the check is made within scenarios and the pooled one is reported beside it.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from magnet.backends.helm.errors import HelmOutputWarning
from magnet.backends.helm.outputs import HelmOutputs
from magnet.protocol.benchmark import benchmark
from magnet.protocol.corpus import Corpus
from magnet.report.terminal import leaderboard_table
from predictors.additive import Additive
from predictors.scenario_mean import ScenarioMean

from magnet.stats.mbe import mbe_check, partial_correlation
from magnet.stats.mbe_calibration import predict, simulate_world, verdict_rates, wilson_interval

N_MODELS, N_SCENARIOS = 12, 4


def simpson_runs(seed: int, blend: str) -> tuple[pd.DataFrame, np.ndarray]:
    """12 models x 4 scenarios of very different difficulty; a noisy revealed mean (5 instances); a scenario-mean
    predictor: the train runs' scenario mean, alone or blended with the revealed mean."""
    rng = np.random.default_rng(seed)
    model = np.repeat(np.arange(N_MODELS), N_SCENARIOS)
    scenario = np.tile(np.arange(N_SCENARIOS), N_MODELS)
    level = np.array([0.15, 0.4, 0.6, 0.85])[scenario]
    actual = np.clip(level + rng.normal(0, 0.05, N_MODELS)[model] + rng.normal(0, 0.03, model.size), 0, 1)
    revealed = rng.binomial(5, actual) / 5  # 5 revealed instances
    runs = pd.DataFrame({"model": model, "scenario": scenario, "actual": actual, "revealed_mean": revealed})
    total = runs.groupby("scenario")["actual"].transform("sum")
    train_mean = (total - actual) / (N_MODELS - 1)  # leave-one-model-out: the other models' runs
    if blend == "train scenario mean":
        pred = train_mean.to_numpy()
    elif blend == "blended with the revealed mean":
        pred = (0.5 * revealed + 0.5 * train_mean).to_numpy()
    else:  # the revealed mean shrunk toward the scenario's mean: within a scenario a function of the revealed mean
        pred = 0.5 * revealed + 0.5 * runs.groupby("scenario")["actual"].transform("mean").to_numpy()
    return runs, pred


BLENDS = ("train scenario mean", "blended with the revealed mean", "shrunk toward the scenario mean")


@pytest.mark.parametrize("blend", BLENDS)
def test_a_predictor_carrying_only_scenario_means_is_not_genuine(blend):
    """Pooled partial r > 0 and pooled `genuine`; within every scenario r <= 0; the default verdict is not genuine."""
    runs, pred = simpson_runs(3, blend)
    base = runs[["revealed_mean"]]
    pooled = mbe_check(pred, runs["actual"], base, groups=runs["model"], n_boot=0)
    assert pooled.partial_r > 0.3 and pooled.verdict == "genuine"  # the check before issue 27
    for s in range(N_SCENARIOS):  # Simpson: no increment within any scenario
        rows = runs["scenario"] == s
        within = partial_correlation(pred[rows], runs.loc[rows, "actual"], base[rows]).r
        assert not within > 0.05, (s, within)
    res = mbe_check(pred, runs["actual"], base, groups=runs["model"], strata=runs["scenario"], n_boot=0)
    assert res.verdict != "genuine" and res.verdict in ("loss-proxy", "inconclusive")
    assert res.scenarios == N_SCENARIOS and res.scenario_adjustment == "within-ranks"
    assert res.pooled_verdict == "genuine" and res.pooled_estimate == pytest.approx(pooled.estimate)
    assert res.between_scenarios_only and "differences between scenarios" in res.reason
    assert not res.estimate > 0
    fixed = mbe_check(pred, runs["actual"], base, groups=runs["model"], strata=runs["scenario"], n_boot=0,
                      scenario_adjustment="fixed-effects")
    assert fixed.verdict != "genuine" and fixed.scenario_adjustment == "fixed-effects"


def test_a_single_scenario_keeps_its_own_check():
    """A per-scenario row (one level of strata) gets exactly the check without strata."""
    runs, pred = simpson_runs(5, "blended with the revealed mean")
    one = runs["scenario"] == 2
    args = (pred[one], runs.loc[one, "actual"], runs.loc[one, ["revealed_mean"]])
    plain = mbe_check(*args, groups=runs.loc[one, "model"], n_boot=0)
    strat = mbe_check(*args, groups=runs.loc[one, "model"], strata=runs.loc[one, "scenario"], n_boot=0)
    assert strat.scenarios == 0 and strat.scenario_adjustment == "none"
    assert (strat.verdict, strat.estimate, strat.interval, strat.p) == (plain.verdict, plain.estimate,
                                                                       plain.interval, plain.p)
    assert strat.pooled_estimate == plain.estimate and strat.pooled_verdict == plain.verdict


def test_information_within_scenarios_is_still_found():
    """The oracle (each run's true rate) stays genuine in a world of 9 scenarios, and pooled says so too."""
    rng = np.random.default_rng(0)
    genuine = 0
    for _ in range(10):
        world = simulate_world(rng, 8, 9)
        res = mbe_check(predict("oracle", world, rng), world.actual, pd.DataFrame(world.controls),
                        groups=world.model, strata=world.scenario, n_boot=0)
        genuine += res.verdict == "genuine"
        assert res.scenarios == 9 and np.isfinite(res.pooled_estimate)
        assert "scenario indicators" in res.adjustment
        if res.verdict == "genuine":
            assert res.interval[0] > 0 and res.estimate > 0
    assert genuine >= 8


def test_scenario_null_families_are_never_genuine_by_default():
    """A small slice of the calibration (the full table: docs/explanations/mbe-check.md)."""
    for family in ("scenario-mean", "scenario-blend", "scenario-shrink"):
        aware = verdict_rates(family, n_models=12, n_scenarios=4, n_sims=15, seed=1)
        assert aware["genuine"] == 0.0, family
    pooled = verdict_rates("scenario-mean", n_models=12, n_scenarios=4, n_sims=15, seed=1, scenario_aware=False)
    assert pooled["genuine"] > 0.0  # what the pooled check did


def test_wilson_interval_matches_statsmodels():
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    for k, n in ((0, 800), (3, 300), (40, 800), (800, 800)):
        assert wilson_interval(k, n) == pytest.approx(proportion.proportion_confint(k, n, method="wilson"), abs=1e-9)


def test_bad_scenario_adjustment_and_strata_raise():
    runs, pred = simpson_runs(3, BLENDS[0])
    with pytest.raises(ValueError, match="scenario_adjustment"):
        mbe_check(pred, runs["actual"], runs["revealed_mean"], strata=runs["scenario"], scenario_adjustment="x")
    with pytest.raises(ValueError, match="one label per row"):
        mbe_check(pred, runs["actual"], runs["revealed_mean"], strata=runs["scenario"][:5])


SAFETY = Path(__file__).parent / "data" / "helm-safety-v3" / "benchmark_output"


@pytest.fixture(scope="module")
def safety_board(tmp_path_factory):
    """The real HELM Safety suite (9 models x 4 scenarios), kfold, two predictors that ignore the revealed sample."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HelmOutputWarning)
        corpus = Corpus.load(HelmOutputs.coerce(SAFETY, cache_dir=False))
        board = benchmark([ScenarioMean(), Additive()], corpus, splits=["kfold"], num_eval_samples=1,
                          progress=False, n_boot=50)
    out = tmp_path_factory.mktemp("safety")
    board.write(out)
    return board, out


def test_real_suite_reports_the_scenario_aware_and_the_pooled_verdict(safety_board):
    board, out = safety_board
    rows = json.loads((out / "leaderboard.json").read_text())["rows"]
    main = [r for r in rows if r["stat"] == "main"]
    assert len(main) == 2
    for r in main:
        mbe = r["mbe"]
        assert mbe["scenarios"] == 4 and mbe["scenario_adjustment"] in ("within-ranks", "fixed-effects")
        assert set(mbe["scenario_checks"]) == {"within-ranks", "fixed-effects"}
        assert (mbe["verdict"] == "genuine") == all(v == "genuine" for v in mbe["scenario_checks"].values())
        assert mbe["pooled_verdict"] in ("genuine", "loss-proxy", "inconclusive", "insufficient-data")
        assert mbe["pooled_estimate"] is None or -1 <= mbe["pooled_estimate"] <= 1
        assert "scenario indicators" in mbe["adjustment"] or mbe["verdict"] != "genuine"
        assert mbe["between_scenarios_only"] == (mbe["pooled_verdict"] == "genuine" and mbe["verdict"] != "genuine")
        if mbe["verdict"] == "genuine":
            assert mbe["estimate"] > 0 and mbe["interval"][0] > 0
    per_scenario = [r for r in rows if r["stat"] != "main" and r["mbe"].get("n_groups")]
    assert all(r["mbe"]["scenarios"] == 0 for r in per_scenario)  # one scenario each: their own check
    table = Console(width=400, record=True)
    table.print(leaderboard_table(board))
    text = table.export_text()
    assert text.count("pooled over 4 scenarios") == 2
    assert (out / "report.html").read_text().count("pooled over 4 scenarios") == 2
