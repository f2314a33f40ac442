"""The main job: scoring, noise floor, baselines and the mandatory MBE check on the demo corpus."""

from __future__ import annotations

import json

import numpy as np
import pytest

from magnet.protocol.baselines import compute_baselines
from magnet.protocol.benchmark import benchmark
from magnet.cli.main import main as magnet_main
from magnet.helm_objects import make_stat
from magnet.predictor import Predictor
from magnet.protocol.splits import reveal

from helm_raw import Raw


def _main_truth(corpus):
    t = corpus.targets
    return t[t["target.key"] == t["target.name"]].set_index("run_spec.name")


class RevealedMeanCheat(Predictor):
    """Test-only: returns exactly the revealed-sample mean (magnet's own baseline)."""

    def __init__(self, corpus=None, num_eval_samples=10, seed=0):
        self.corpus, self.num_eval_samples, self.seed = corpus, num_eval_samples, seed

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df, eval_run_specs_df,
                eval_scenario_states_df):
        base = compute_baselines(self.corpus, reveal(self.corpus, self.num_eval_samples, self.seed), ["revealed_mean"])
        base = base[base["target.key"].isin(self.corpus.targets["target.name"])].set_index(["run_spec.name", "target.key"])
        out = {}
        for run, names, split in zip(eval_run_specs_df["run_spec.name"], eval_run_specs_df["magnet.target_names"],
                                     eval_run_specs_df["magnet.target_split"]):
            out[run] = [make_stat(f"predicted_{n}", base.loc[(run, n), "revealed_mean"], split=split) for n in names]
        return out


class NoisyOracle(Predictor):
    """Test-only: the truth plus Gaussian noise."""

    def __init__(self, corpus=None, noise=0.05, seed=0):
        self.corpus, self.noise, self.seed = corpus, noise, seed

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df, eval_run_specs_df,
                eval_scenario_states_df):
        truth = _main_truth(self.corpus)
        rng = np.random.default_rng(self.seed)
        return {run: [make_stat(f"predicted_{truth.loc[run, 'target.name']}",
                                truth.loc[run, "stats.mean"] + rng.normal(0, self.noise),
                                split=truth.loc[run, "target.split"])]
                for run in eval_run_specs_df["run_spec.name"]}


def test_revealed_mean_predictor_is_flagged_and_noisy_oracle_is_genuine(demo_corpus):
    board = benchmark([RevealedMeanCheat(demo_corpus), NoisyOracle(demo_corpus)], demo_corpus, splits=["kfold"],
                      progress=False, n_boot=300)
    rows = {r.predictor: r for r in board.main_rows()}
    cheat, oracle = rows["RevealedMeanCheat"], rows["NoisyOracle"]
    assert cheat.mbe["verdict"] == "loss-proxy", cheat.mbe
    assert "revealed_mean" in cheat.mbe["controls"]
    assert oracle.mbe["verdict"] == "genuine", oracle.mbe
    assert oracle.mbe["n"] == cheat.n == 72
    # The cheat's MAE is the revealed-mean MAE itself: gain share 0.
    assert cheat.mae == pytest.approx(cheat.revealed_mean_mae)
    assert cheat.gain_share == pytest.approx(0.0, abs=1e-9)
    assert 0 < cheat.noise_floor < cheat.revealed_mean_mae
    assert oracle.mae < cheat.mae and oracle.mae_ci[0] <= oracle.mae <= oracle.mae_ci[1]
    assert "cluster bootstrap" in oracle.bootstrap


def test_revealed_mean_baseline_uses_exactly_the_revealed_instances(demo_corpus, demo_root):
    """Every (run, target variant) of the default demo: the baseline is the mean of the raw HELM per-instance
    values (per_instance_stats.json read with json, tests/helm_raw.py) over exactly the revealed instances."""
    revealed = reveal(demo_corpus, 10, seed=0)
    base = compute_baselines(demo_corpus, revealed, ["revealed_mean"])
    raw = Raw(demo_root)
    split = demo_corpus.targets.drop_duplicates(["run_spec.name", "target.key"]).set_index(
        ["run_spec.name", "target.key"])["target.split"]
    checked = 0
    for run, key, value in zip(base["run_spec.name"], base["target.key"], base["revealed_mean"]):
        values = raw.instance_values(run, key, split[(run, key)])
        shown = [values[i] for i in revealed[run] if i in values]
        assert len(revealed[run]) == 10
        if shown:
            assert value == pytest.approx(np.mean(shown), abs=1e-12), (run, key)
            checked += 1
        else:
            assert np.isnan(value), (run, key)
    assert checked >= 72


def test_benchmark_cli_writes_leaderboard_plots_and_report(tmp_path, capsys):
    out = tmp_path / "out"
    code = magnet_main(["benchmark", "--no-builtin", "--predictor",
                        "predictors.example_random_predictor:ExampleRandomPredictor",
                        "--split", "leave-one-model-out", "--quiet", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "ExampleRandomPredictor" in printed and "MBE" in printed and "cluster bootstrap" in printed
    doc = json.loads((out / "leaderboard.json").read_text())
    main = [r for r in doc["rows"] if r["stat"] == "main"]
    assert len(main) == 1
    for field in ("mae", "mae_ci", "noise_floor", "gain_share", "spearman", "n", "mbe"):
        assert field in main[0]
    for field in ("verdict", "reason", "partial_r", "partial_p", "ci95", "n", "controls"):
        assert field in main[0]["mbe"]
    assert (out / "report.html").stat().st_size > 10_000
    assert len(list((out / "plots").glob("*.png"))) == 2
