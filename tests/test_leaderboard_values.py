"""The main job's outputs, value by value: every leaderboard.json row recomputed from predictions.csv and the raw HELM files.

A small benchmark (small demo corpus, four predictors, kfold and leave-one-model-out) is written with
``Leaderboard.write``; the tests then read only ``leaderboard.json``, ``predictions.csv`` and the HELM
run directories (plain ``json``), and recompute each number independently: errors with numpy / scikit-learn /
scipy, the noise floor by summing the binomial pmf written out with ``math.comb``, the MBE partial
correlation with pingouin, the baselines from ``per_instance_stats.json`` and ``scenario_state.json``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from scipy import stats
from sklearn.metrics import r2_score

from magnet.helm_objects import make_stat
from magnet.predictor import Predictor
from magnet.protocol.benchmark import benchmark
from magnet.protocol.splits import reveal
from predictors.example_random_predictor import ExampleRandomPredictor
from predictors.irt import IRT
from predictors.model_mean import ModelMean
from predictors.revealed_sample_mean import RevealedSampleMean

RUN = "run_spec.name"
K = 5  # revealed instances per run
SPLITS = ["kfold", "leave-one-model-out"]


def binomial_floor_by_hand(values: list[float], k: int) -> float:
    """E|S_u - m p| / n with S_u ~ Binomial(m, p), p the run's mean: the pmf summed term by term."""
    n, m = len(values), len(values) - k
    p = sum(values) / n
    return sum(math.comb(m, s) * p**s * (1 - p) ** (m - s) * abs(s - m * p) for s in range(m + 1)) / n


def floor_by_hand(values: list[float], k: int) -> float:
    if k == len(values):
        return 0.0
    if all(v in (0.0, 1.0) for v in values):
        return binomial_floor_by_hand(values, k)
    m, n = len(values) - k, len(values)
    return math.sqrt(2 / math.pi) * math.sqrt(m * np.var(values, ddof=1)) / n


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def written(small_demo_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("board")
    board = benchmark([RevealedSampleMean(), ModelMean(), IRT(), ExampleRandomPredictor()], small_demo_corpus,
                      splits=SPLITS, num_eval_samples=K, progress=False, n_boot=200)
    board.write(out, plots=False)
    doc = json.loads((out / "leaderboard.json").read_text())
    predictions = pd.read_csv(out / "predictions.csv")
    return doc, predictions


@pytest.fixture(scope="module")
def revealed(small_demo_corpus):
    return reveal(small_demo_corpus, K, seed=0)


def rows_of(predictions: pd.DataFrame, row: dict) -> pd.DataFrame:
    p = predictions[(predictions["predictor"] == row["predictor"]) & (predictions["split"] == row["split"])]
    if row["stat"] == "main":
        return p[p["target.key"] == p["target.name"]]
    return p[p["target.key"] == row["stat"]]


# ---------------------------------------------------------------------------------------- tests


def test_predictions_csv_carries_the_true_values_and_baselines(written, small_demo_raw, revealed):
    _, predictions = written
    per_target = predictions.drop_duplicates([RUN, "target.key"])
    assert len(per_target) == 60  # every target variant of the small corpus
    columns = [RUN, "target.key", "target.name", "actual", "revealed_mean", "revealed_loss"]
    for run, key, name, actual, revealed_mean, revealed_loss in per_target[columns].itertuples(index=False):
        assert actual == pytest.approx(small_demo_raw.actual(run, key, "test"), abs=1e-12)
        values = small_demo_raw.instance_values(run, key, "test")
        shown = [values[i] for i in revealed[run] if i in values]
        if key == name:  # the sample is drawn from the main target's instances (variants may cover fewer)
            assert len(shown) == len(revealed[run]) == min(K, len(values))
        assert revealed_mean == pytest.approx(np.mean(shown), abs=1e-12)
        assert revealed_loss == pytest.approx(small_demo_raw.revealed_loss(run, revealed[run]), abs=1e-12)


def test_raw_instance_values_average_to_helms_aggregates(small_demo_corpus, small_demo_raw):
    """The independent per-instance reader agrees with HELM's own stats.json for every target variant."""
    t = small_demo_corpus.targets
    for run, key, split in zip(t[RUN], t["target.key"], t["target.split"]):
        values = small_demo_raw.instance_values(run, key, split)
        assert values, (run, key)
        expected = small_demo_raw.actual(run, key, split)
        assert np.mean(list(values.values())) == pytest.approx(expected, abs=1e-9), (run, key)


def test_every_row_recomputed_from_predictions_csv(written, small_demo_raw, revealed):
    doc, predictions = written
    assert doc["num_eval_samples"] == K and doc["mbe_controls"] == ["revealed_mean", "revealed_loss"]
    rows = doc["rows"]
    stats_seen = {r["stat"] for r in rows}
    variants = predictions.drop_duplicates([RUN, "target.key"])["target.key"].value_counts()
    # one row per variant with >= 5 runs, or named in the row it would duplicate exactly (issue 27)
    duplicated = {d for r in rows for d in r["duplicates"]}
    assert stats_seen | duplicated == {"main"} | set(variants[variants >= 5].index)
    assert len(stats_seen) >= 3 and len(stats_seen | duplicated) >= 4
    assert {(r["predictor"], r["split"]) for r in rows} == {
        (p, s) for p in ("RevealedSampleMean", "ModelMean", "IRT", "ExampleRandomPredictor") for s in SPLITS}
    checked = 0
    for row in rows:
        data = rows_of(predictions, row)
        # a per-variant row exists exactly when at least 5 runs have that variant
        assert row["stat"] == "main" or len(data) >= 5
        pred, act = data["predicted"].to_numpy(), data["actual"].to_numpy()
        err = pred - act
        assert row["n"] == len(data) == np.isfinite(err).sum()
        assert row["n_models"] == data["model"].nunique()
        assert row["mae"] == pytest.approx(np.mean(np.abs(err)), abs=1e-12)
        assert row["rmse"] == pytest.approx(math.sqrt(np.mean(err**2)), abs=1e-12)
        assert row["bias"] == pytest.approx(np.mean(err), abs=1e-12)
        if np.ptp(act) > 0:
            assert row["r2"] == pytest.approx(r2_score(act, pred), abs=1e-9)
        if np.ptp(act) > 0 and np.ptp(pred) > 0:
            assert row["spearman"] == pytest.approx(stats.spearmanr(pred, act).statistic, abs=1e-12)
            assert row["kendall"] == pytest.approx(stats.kendalltau(pred, act).statistic, abs=1e-12)
        lo, hi = row["mae_ci"]
        assert lo <= row["mae"] <= hi
        # baseline error and noise floor from the raw per-instance values
        floors, rm_errors = [], []
        for run, key, actual in zip(data[RUN], data["target.key"], act):
            values = small_demo_raw.instance_values(run, key, "test")
            k = sum(i in values for i in revealed[run])
            floors.append(floor_by_hand(list(values.values()), k))
            rm_errors.append(abs(np.mean([values[i] for i in revealed[run] if i in values]) - actual))
        floor, rm_mae = float(np.mean(floors)), float(np.mean(rm_errors))
        assert row["noise_floor"] == pytest.approx(floor, abs=1e-12)
        assert row["revealed_mean_mae"] == pytest.approx(rm_mae, abs=1e-12)
        if rm_mae - floor > 1e-12:
            assert row["gain_share"] == pytest.approx((rm_mae - row["mae"]) / (rm_mae - floor), rel=1e-9)
        else:
            assert row["gain_share"] is None
        checked += 1
    assert checked == len(rows) >= 16


def test_mbe_numbers_equal_pingouin_on_predictions_csv(written):
    doc, predictions = written
    compared = 0
    for row in doc["rows"]:
        mbe = row["mbe"]
        if mbe.get("partial_r") is None or mbe["verdict"] == "insufficient-data":
            continue
        data = rows_of(predictions, row)
        controls = list(mbe["controls"])
        assert controls and set(controls) <= {"revealed_mean", "revealed_loss"}
        assert mbe["n"] == len(data)
        raw_r = stats.spearmanr(data["predicted"], data["actual"]).statistic
        assert mbe["raw_r"] == pytest.approx(raw_r, abs=1e-12)
        if mbe["partial_r"] == 0.0 and mbe["partial_p"] == 1.0:  # predictions a function of the baseline
            continue
        if np.array_equal(data["predicted"], data["actual"]):
            # exact predictions: both residuals are the same vector, so r = 1 (pingouin's matrix inverse
            # is singular here and it answers -1)
            assert mbe["partial_r"] == pytest.approx(1.0, abs=1e-12)
            compared += 1
            continue
        out = pg.partial_corr(data=data, x="predicted", y="actual", covar=controls, method="spearman")
        assert mbe["partial_r"] == pytest.approx(out["r"].iloc[0], abs=1e-8), row["predictor"]
        assert mbe["partial_p"] == pytest.approx(out["p_val" if "p_val" in out else "p-val"].iloc[0], abs=1e-8)
        # The verdict is the cluster-robust spline-adjusted decision (checked against statsmodels in
        # tests/test_mbe_decision.py); here: it agrees with the one-sided p and the interval the row reports.
        assert (mbe["verdict"] == "genuine") == (mbe["p_one_sided"] <= mbe["alpha"])
        if mbe["verdict"] == "loss-proxy":
            assert mbe["interval"][1] < mbe["effect_size"] or mbe["partial_r"] == 0.0
        compared += 1
    assert compared >= 6  # every row with >= 10 usable runs (MIN_MBE_RUNS); smaller per-variant rows are insufficient-data


def test_revealed_sample_mean_gains_nothing_and_random_guessing_loses(written):
    doc, _ = written
    main = {(r["predictor"], r["split"]): r for r in doc["rows"] if r["stat"] == "main"}
    for split in SPLITS:
        rsm = main[("RevealedSampleMean", split)]
        assert rsm["mae"] == pytest.approx(rsm["revealed_mean_mae"], abs=1e-12)
        assert rsm["gain_share"] == pytest.approx(0.0, abs=1e-9)
        assert rsm["mbe"]["verdict"] != "genuine"
        assert main[("ExampleRandomPredictor", split)]["gain_share"] < 0


class Oracle(Predictor):
    """Test-only: returns the true value of every target (no real predictor could)."""

    def __init__(self, corpus=None, seed: int = 0):
        self.corpus, self.seed = corpus, seed

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df, eval_run_specs_df,
                eval_scenario_states_df):
        t = self.corpus.targets
        t = t[t[RUN].isin(set(eval_run_specs_df[RUN])) & (t["target.key"] == t["target.name"])]
        return {run: [make_stat(f"predicted_{name}", mean, split=split)]
                for run, name, split, mean in zip(t[RUN], t["target.name"], t["target.split"], t["stats.mean"])}


def test_gain_share_above_one_for_a_predictor_below_the_floor(small_demo_corpus, tmp_path):
    board = benchmark([Oracle(small_demo_corpus)], small_demo_corpus, splits=["kfold"], num_eval_samples=K,
                      progress=False, n_boot=50)
    board.write(tmp_path, plots=False)
    [row] = [r for r in json.loads((tmp_path / "leaderboard.json").read_text())["rows"] if r["stat"] == "main"]
    assert row["mae"] == 0.0
    assert 0 < row["noise_floor"] < row["revealed_mean_mae"]
    expected = row["revealed_mean_mae"] / (row["revealed_mean_mae"] - row["noise_floor"])
    assert row["gain_share"] == pytest.approx(expected, rel=1e-12) and row["gain_share"] > 1


def test_gain_share_undefined_when_every_instance_is_revealed(small_demo_corpus, tmp_path):
    board = benchmark([RevealedSampleMean()], small_demo_corpus, splits=["kfold"], num_eval_samples=10_000,
                      progress=False, n_boot=50)
    board.write(tmp_path, plots=False)
    [row] = [r for r in json.loads((tmp_path / "leaderboard.json").read_text())["rows"] if r["stat"] == "main"]
    # nothing left to chance: the revealed mean is the actual value, the floor is 0, the share 0/0
    assert (row["mae"], row["noise_floor"], row["revealed_mean_mae"]) == (0.0, 0.0, 0.0)
    assert row["gain_share"] is None
    assert row["mbe"]["verdict"] == "loss-proxy"  # predictions equal the baseline (rule 2 comes first)


def test_irt_under_leave_one_model_out_stays_within_what_the_revealed_outcomes_allow(written, small_demo_raw, revealed):
    """A held-out model's IRT prediction is (revealed successes + P(correct) of the others) / n, so it lies in
    [S_k / n, (S_k + n - k) / n] for binary targets; every eval run of every model is predicted."""
    _, predictions = written
    irt = predictions[(predictions["predictor"] == "IRT") & (predictions["split"] == "leave-one-model-out")]
    main = irt[irt["target.key"] == irt["target.name"]]
    assert main["model"].nunique() == 4 and len(main) == 16
    inside = 0
    for run, key, predicted in zip(main[RUN], main["target.key"], main["predicted"]):
        values = small_demo_raw.instance_values(run, key, "test")
        if not all(v in (0.0, 1.0) for v in values.values()):
            continue
        shown = [values[i] for i in revealed[run] if i in values]
        n, s_k = len(values), sum(shown)
        assert s_k / n - 1e-9 <= predicted <= (s_k + n - len(shown)) / n + 1e-9, run
        inside += 1
    assert inside >= 8


def test_irt_under_leave_one_model_out_with_everything_revealed_is_exact(small_demo_corpus, small_demo_raw):
    result = benchmark([IRT()], small_demo_corpus, splits=["leave-one-model-out"], num_eval_samples=10_000,
                       progress=False, n_boot=0).joined
    main = result[result["target.key"] == result["target.name"]]
    assert len(main) == 16
    for run, key, predicted in zip(main[RUN], main["target.key"], main["predicted"]):
        assert predicted == pytest.approx(small_demo_raw.actual(run, key, "test"), abs=1e-9), run
