"""Code written for Kitware's MAGNET package runs unchanged on magnet (issue 18).

Every predictor below is written the way MAGNET's documentation writes it
(seed anatomy with ``Stat(**{...})``, ``RunPredictor`` / ``RunPrediction``,
``InstancePredictor`` / ``InstancePrediction``) and is called the way MAGNET
calls it; the results are checked against the truth in the real HELM runs of
the demo corpus, and the instance scores against scikit-learn.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helm.benchmark.metrics.metric_name import MetricName
from helm.benchmark.metrics.statistic import Stat
from scipy.stats import linregress
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

import magnet
from magnet.backends.helm.helm_outputs import HelmOutputs as MagnetHelmOutputs
from magnet.backends.helm.helm_outputs import HelmRuns, HelmSuiteRuns
from magnet.cli.predict import predictor_main
from magnet.data_splits import SequesteredTestSplit, TrainSplit
from magnet.instance_predictor import InstancePrediction
from magnet.predictor import InstancePredictor, Predictor, RunPrediction, RunPredictor, predictions_to_frame
from magnet.protocol.benchmark import benchmark
from magnet.protocol.corpus import Corpus
from magnet.stats.instance_scores import auroc, binary_scores
from magnet.testing import check_predictor
from predictors.example_perturbation_predictor import ExamplePerturbationPredictor

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ["synthetic_reasoning_natural:difficulty=easy,model=magnet-sim/atlas-7b,data_augmentation=misspelling_sweep",
         "synthetic_reasoning_natural:difficulty=easy,model=magnet-sim/brook-13b,data_augmentation=misspelling_sweep"]


def unit(*parts) -> float:
    """A deterministic number in [0, 1) from its parts (so expected values can be recomputed)."""
    return int(hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:12], 16) / 16**12


class SeedAnatomy(Predictor):
    """MAGNET's first example predictor, as its README wrote it: no __init__, Stat(**{...}) with a dict name."""

    split = "test"

    def predict(self, train_split: TrainSplit, sequestered_test_split: SequesteredTestSplit) -> dict:
        predicted_stats = {}
        eval_scenario_state_df = sequestered_test_split.scenario_state
        for key, _ in eval_scenario_state_df.groupby(['run_spec.name']):
            run_spec_name, = key
            prediction = round(unit(run_spec_name), 2)
            predicted_stats.setdefault(run_spec_name, []).append(
                Stat(**{'name': {'name': 'predicted_exact_match', 'split': self.split},
                        'count': 1, 'sum': prediction, 'sum_squared': prediction ** 2, 'min': prediction,
                        'max': prediction, 'mean': prediction, 'variance': 0.0, 'stddev': 0.0}))
        return predicted_stats


class SeedAnatomyValid(SeedAnatomy):
    """The same with MAGNET's example split 'valid' (the demo's target split is 'test')."""

    split = "valid"


class Runs(RunPredictor):
    """MAGNET's run-level API: a list of RunPrediction, the mean of the train runs' same stat plus a run offset."""

    def predict(self, train_split, sequestered_test_split):
        stats = train_split.stats
        out = []
        for _, row in sequestered_test_split.run_specs.iterrows():
            for name in row["magnet.target_names"]:
                base = stats.loc[(stats["stats.name.name"] == name)
                                 & stats["stats.name.perturbation.name"].isna(), "stats.mean"].mean()
                value = 0.5 if np.isnan(base) else float(base)
                out.append(RunPrediction(run_spec_name=row["run_spec.name"], split=row["magnet.target_split"],
                                         stat_name=name, mean=value))
        return out


class Instances(InstancePredictor):
    """MAGNET's per-instance API: a probability of exact_match for each revealed request state."""

    def predict(self, train_split, sequestered_test_split):
        specs = sequestered_test_split.run_specs
        target = dict(zip(specs["run_spec.name"], specs["magnet.target_names"].str[0]))
        return [InstancePrediction(run_spec_name=row["run_spec.name"],
                                   instance_predict_id=row["magnet.instance_predict_id"],
                                   stat_name=target[row["run_spec.name"]],
                                   mean=unit(row["run_spec.name"], row["scenario_state.request_states.instance.id"]))
                for _, row in sequestered_test_split.scenario_state.iterrows()]


class Raising(RunPredictor):
    def predict(self, train_split, sequestered_test_split):
        raise RuntimeError("broken on purpose")


@pytest.fixture(scope="module")
def small():
    return magnet.HelmOutputs.demo(preset="small")


def main_truth(corpus: Corpus) -> dict[str, float]:
    t = corpus.targets
    t = t[(t["target.key"] == "exact_match")]
    return dict(zip(t["run_spec.name"], t["stats.mean"]))


def test_seed_anatomy_called_as_in_magnet(small, small_demo_corpus, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # the table's headers unfolded
    outputs = small
    suite = outputs.suites()[0].name
    root_dir = outputs.root_dir
    result = SeedAnatomy(num_eval_samples=5)(root_dir, suite)
    printed = capsys.readouterr().out
    for header in ("run_spec", "source", "name", "mean", "sum_squared", "variance"):
        assert header in printed
    truth = main_truth(small_demo_corpus)
    scored = result.joined[result.joined["target.key"] == "exact_match"]
    assert set(scored["run_spec.name"]) == set(truth)  # every run with an exact_match target, once
    assert np.allclose(scored["predicted"], [round(unit(r), 2) for r in scored["run_spec.name"]])
    assert np.allclose(scored["actual"], [truth[r] for r in scored["run_spec.name"]])
    table = result.table
    assert list(table.columns) == ["run_spec", "source", "name", "mean", "min", "max", "count", "stddev", "sum",
                                   "sum_squared", "variance"]
    assert (table["source"] == "predicted").sum() == (table["source"] == "actual").sum() == len(result.joined)
    # Runs whose main stat is not exact_match are reported, not dropped silently.
    assert result.unmatched and all("no target stat 'exact_match'" in line for line in result.unmatched)
    assert result.protocol.config["num_eval_samples"] == 5


def test_predictions_on_another_split_are_scored_on_that_split(small, capsys, monkeypatch):
    """MAGNET's examples predict split 'valid': called MAGNET's way, each is joined with the run's valid stat."""
    monkeypatch.setenv("COLUMNS", "250")  # the table's cells unfolded
    corpus = Corpus.load(small)
    stats = corpus.stats
    valid = stats[(stats["stats.name.name"] == "exact_match") & (stats["stats.name.split"] == "valid")
                  & stats["stats.name.perturbation.name"].isna()]
    valid_truth = dict(zip(valid["run_spec.name"], valid["stats.mean"]))
    assert valid_truth  # the demo's synthetic_reasoning runs have a valid split
    result = SeedAnatomyValid(num_eval_samples=5)(small.root_dir, "demo")
    scored = result.joined
    assert set(scored["run_spec.name"]) == set(valid_truth) and result.n_named == len(valid_truth)
    assert set(scored["target.key"]) == {"exact_match [valid]"}
    assert np.allclose(scored["predicted"], [round(unit(r), 2) for r in scored["run_spec.name"]])
    assert np.allclose(scored["actual"], [valid_truth[r] for r in scored["run_spec.name"]])
    # The runs without a valid split are still reported, with the nearest target.
    missing = set(main_truth(corpus)) - set(valid_truth)
    assert len(result.unmatched) == corpus.run_specs["run_spec.name"].nunique() - len(valid_truth)
    other_split = [line for line in result.unmatched if "split 'valid', target split is 'test'" in line]
    assert missing and len(other_split) == len(missing)
    out = capsys.readouterr().out.replace("\n", " ")
    assert "split 'valid', target split is 'test'" in out and "exact_match [valid]" in out


def test_cli_reports_unmatched_and_fails_when_every_fold_fails(small, capsys):
    root = str(small.root_dir)
    assert predictor_main(SeedAnatomyValid, ["--root-dir", root, "--quiet"]) == 0
    out = capsys.readouterr().out.replace("\n", " ")
    assert "match no target stat" in out and "target split is 'test'" in out
    assert "the run has this stat" in out  # the benchmark keeps to its targets and says what it ignored
    assert predictor_main(Raising, ["--root-dir", root, "--quiet"]) == 1
    captured = capsys.readouterr()
    out = captured.out.replace("\n", " ")
    assert "broken on purpose" in out  # each fold's reason
    assert captured.err.strip().splitlines()[-1].startswith("error: Raising: every fold failed")
    with pytest.raises(ValueError, match="every fold of Raising failed .*broken on purpose"):
        Raising()(small.root_dir, "demo", quiet=True)


def test_run_predictor_with_helm_suites_and_helm_runs(small, small_demo_corpus):
    suite_path = small.suites()[0].path
    result = Runs(num_eval_samples=5)(helm_suites=suite_path, quiet=True)
    # Every target of every run is predicted and scored: the same number of rows as the main targets.
    targets = small_demo_corpus.targets
    main = targets[targets["target.key"] == targets["target.name"]]
    scored_main = result.joined[result.joined["target.key"] == result.joined["target.name"]]
    assert len(scored_main) == len(main) and not result.unmatched
    # The value is the mean of the train runs' stat: leave-one-run-out, so all runs but the eval run.
    stats = small_demo_corpus.stats
    run = scored_main["run_spec.name"].iloc[0]
    name = scored_main["target.name"].iloc[0]
    others = stats[(stats["run_spec.name"] != run) & (stats["stats.name.name"] == name)
                   & stats["stats.name.perturbation.name"].isna()]
    assert scored_main["predicted"].iloc[0] == pytest.approx(others["stats.mean"].mean())
    # helm_runs= with a glob: only the matching runs form the corpus.
    subset = Runs()(helm_runs=str(suite_path / "simple_mcqa*"), quiet=True)
    assert set(subset.joined["run_spec.name"]) == {r for r in main["run_spec.name"] if r.startswith("simple_mcqa")}
    with pytest.raises(ValueError, match="no HELM run matches"):
        Runs()(helm_runs=str(suite_path / "nothing*"), quiet=True)


def test_instance_predictor_scored_per_instance_and_per_run(small, small_demo_corpus):
    result = Instances(num_eval_samples=5)(helm_suites=small.suites()[0].path, split="leave-one-model-out",
                                           quiet=True)
    # Recompute from the corpus: every revealed request state, against its run's per-instance target stat.
    target = small_demo_corpus.targets.drop_duplicates("run_spec.name").set_index("run_spec.name")["target.name"]
    pis = small_demo_corpus.per_instance_stats
    truth = pis.groupby(["run_spec.name", "per_instance_stats.instance_id",
                         pis["per_instance_stats.perturbation.name"].fillna("-"),
                         "per_instance_stats.stats.name.name"])["per_instance_stats.stats.mean"].mean()
    states = small_demo_corpus.scenario_states
    by_stat: dict[str, tuple[list, list]] = {}
    for run, ids in result.protocol.revealed.items():
        s = states[(states["run_spec.name"] == run) & states["scenario_state.request_states.instance.id"].isin(ids)]
        for iid, pert in zip(s["scenario_state.request_states.instance.id"],
                             s["scenario_state.request_states.instance.perturbation.name"].fillna("-")):
            key = (run, iid, pert, target[run])
            if key in truth.index:
                y, p = by_stat.setdefault(target[run], ([], []))
                y.append(truth[key])
                p.append(unit(run, iid))
    scores = result.instance_scores.set_index("stat")
    assert sorted(scores.index) == sorted(by_stat)
    for stat, (y, p) in by_stat.items():
        assert scores.loc[stat, "n"] == len(y) >= 20
        assert scores.loc[stat, "brier"] == pytest.approx(brier_score_loss(y, p))
        assert scores.loc[stat, "log_loss"] == pytest.approx(log_loss(y, p))
        assert scores.loc[stat, "auroc"] == pytest.approx(roc_auc_score(y, p))
    # Run level: the mean of a run's unperturbed instance predictions on its target split.
    run = next(r for r in result.joined["run_spec.name"] if "data_augmentation" not in r)
    ids = result.protocol.revealed[run]
    expected = np.mean([unit(run, i) for i in ids])
    got = result.joined.loc[(result.joined["run_spec.name"] == run) & (result.joined["target.key"] == target[run]),
                            "predicted"]
    assert got.iloc[0] == pytest.approx(expected)


class CountedInstances(Instances):
    def predict(self, train_split, sequestered_test_split):
        self.calls = getattr(self, "calls", 0) + 1
        return super().predict(train_split, sequestered_test_split)


def test_instance_predictor_predicts_each_fold_once(small):
    """Its instance scores use the protocol's predictions: each fold is predicted once, not again for scoring."""
    predictor = CountedInstances(num_eval_samples=2)
    result = predictor(helm_suites=small.suites()[0].path, split="leave-one-model-out", quiet=True)
    assert predictor.calls == len(result.protocol.folds) > 1
    assert result.instance_scores is not None and len(result.instance_scores)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_scores_match_sklearn_with_ties(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 200)
    p = np.round(rng.uniform(size=200), 1)  # many ties
    s = binary_scores(y, p)
    assert s["brier"] == pytest.approx(brier_score_loss(y, p))
    assert s["log_loss"] == pytest.approx(log_loss(y, np.clip(p, 1e-15, 1 - 1e-15)))
    assert s["auroc"] == pytest.approx(roc_auc_score(y, p))
    assert auroc([1, 1], [0.2, 0.3]) is None


@pytest.mark.parametrize("cls", [SeedAnatomy, Runs, Instances])
def test_check_predictor_treats_both_apis_alike(cls, small_demo_corpus):
    results = check_predictor(cls, corpus=small_demo_corpus, raise_on_failure=False)
    failed = {r.check: r.got for r in results if not r.passed}
    # SeedAnatomy predicts exact_match for every run, also those whose target is another stat.
    allowed = {"check_split_and_perturbation_match_targets"} if cls is SeedAnatomy else set()
    assert set(failed) <= allowed, failed


def test_benchmark_runs_mbe_on_magnet_style_predictors(small_demo_corpus):
    board = benchmark([Runs(), Instances()], small_demo_corpus, splits=["leave-one-model-out"], n_boot=200,
                      progress=False)
    rows = {(r.predictor, r.stat): r for r in board.rows}
    for name in ("Runs", "Instances"):
        row = rows[(name, "main")]
        assert row.n > 0 and row.failed_folds == 0
        assert row.mbe["verdict"] and row.mbe["n"] == row.n


def test_stats_however_they_are_built():
    pert = {"name": "typos", "computed_on": "perturbed"}
    built = {
        "metric_name": [Stat(MetricName("predicted_em", split="test")).add(0.1)],
        "dict_name": [Stat(**{"name": {"name": "predicted_em", "split": "test", "perturbation": pert}, "mean": 0.2})],
        "plain_dict": [{"name": {"name": "predicted_em", "split": "test"}, "mean": 0.3}],
        "run_prediction": [RunPrediction("run_prediction", "test", "em", 0.4, perturbation_parameters=pert)],
    }
    df = predictions_to_frame(built)
    assert df["stats.name.name"].tolist() == ["predicted_em"] * 4
    assert df["stats.mean"].tolist() == [0.1, 0.2, 0.3, 0.4]
    assert df["stats.name.perturbation.name"].tolist() == [None, "typos", None, "typos"]
    assert predictions_to_frame([RunPrediction("r", "test", "em", 0.5)])["stats.name.name"].tolist() == ["predicted_em"]
    with pytest.raises(TypeError, match="predictions for run 'bad': expected a HELM Stat, a dict or a RunPrediction, got str"):
        predictions_to_frame({"bad": ["0.5"]})
    with pytest.raises(TypeError, match="got list of int"):
        predictions_to_frame([RunPrediction("r", "test", "em", 0.5), 3])


def test_magnet_helm_views_are_the_loader_tables(small):
    views = MagnetHelmOutputs.coerce(small.root_dir)
    suite = views.suites("dem*")[0]
    runs = suite.runs("simple_mcqa*")
    assert len(runs.paths) == 8 and HelmSuiteRuns is HelmRuns
    again = HelmSuiteRuns.coerce([str(p) for p in runs.paths])
    loader = small.stats()
    loader = loader[loader["run_spec.name"].str.startswith("simple_mcqa")].reset_index(drop=True)
    view = again.stats().sort_values(["run_spec.name"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(view, loader.sort_values(["run_spec.name"], kind="stable").reset_index(drop=True))
    assert len(again.run_spec()) == 8
    assert set(again.scenario_state()["run_spec.name"]) == set(again.per_instance_stats()["run_spec.name"])
    assert [r.name for r in again] == [p.name for p in runs.paths]
    assert small.root_dir == small.root


@pytest.mark.parametrize("entry, message", [
    ("boolq:model=openai/gpt2", "scenario 'boolq' downloads its data"),
    ("simple_mcqa:model=openai/gpt2", "model 'openai/gpt2' needs the network"),
    ("simple_mcqa:model=magnet-sim/atlas-7b,data_augmentation=synonym", "data_augmentation 'synonym' needs a download"),
])
def test_demo_entries_that_need_the_network_are_named(entry, message):
    with pytest.raises(ValueError, match=f"run entry '{entry}': {message}"):
        magnet.HelmOutputs.demo(run_entries=[entry], max_eval_instances=5)


def test_tests_extra_exists():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(req.startswith("pytest") for req in extras["tests"])


def test_perturbation_predictor_fits_a_line_in_misspelling_strength():
    outputs = magnet.HelmOutputs.demo(run_entries=SWEEP, max_eval_instances=40)
    corpus = Corpus.load(outputs)
    result = ExamplePerturbationPredictor(num_eval_samples=5)(helm_suites=outputs.suites()[0].path, quiet=True)
    swept = result.joined[result.joined["target.key"].str.endswith("@misspellings/perturbed")]
    assert len(swept) == 6  # two models x misspelling probabilities 0.05, 0.2, 0.5
    t = corpus.targets
    t = t[t["target.key"].str.endswith("@misspellings/perturbed")]
    prob = t["run_spec.name"].str.extract(r"misspelling([0-9.]+)$")[0].astype(float)
    for run, predicted in zip(swept["run_spec.name"], swept["predicted"]):
        others = t["run_spec.name"] != run
        fit = linregress(prob[others], t.loc[others, "stats.mean"])
        q = float(run.rsplit("misspelling", 1)[1])
        assert predicted == pytest.approx(min(max(fit.intercept + fit.slope * q, 0), 1))
    # The simulation makes misspelled instances harder the stronger the misspelling.
    assert linregress(prob, t["stats.mean"]).slope < 0


class OnlyMcqa(Runs):
    """MAGNET's run filters: one on the HELM RunSpec, one on the run_specs row."""

    def run_spec_filter(self, run_spec):
        return run_spec.scenario_spec.class_name.endswith("SimpleMCQAScenario")

    def run_spec_dataframe_filter(self, row):
        return "data_augmentation" not in row["run_spec.name"]


def test_run_spec_filters_choose_the_runs(small):
    result = OnlyMcqa()(small.root_dir, "demo", quiet=True)
    runs = set(result.protocol.predictions["run_spec.name"])
    assert runs and all(r.startswith("simple_mcqa:") and "data_augmentation" not in r for r in runs)
    assert len(runs) == 4  # one per model


def test_readme_call_forms_with_a_suite_path(small):
    """MAGNET's README calls ``predictor_instance(suite_path)`` and ``prepare_predict_inputs(suite_path)``."""

    class MyPredictor(Predictor):  # the README's anatomy: a plain Predictor returning RunPredictions
        def predict(self, train_split: TrainSplit, sequestered_test_split: SequesteredTestSplit) -> list:
            return [RunPrediction(run_spec_name=name, split="test", stat_name="exact_match", mean=0.5)
                    for name in sequestered_test_split.run_specs["run_spec.name"]]

    suite_path = small.suites()[0].path
    result = MyPredictor(num_eval_samples=5)(suite_path, quiet=True)
    # Scored on the declared target where the run's target is exact_match on 'test'; the synthetic_reasoning runs
    # (target quasi_exact_match) also have an exact_match test stat, which a MAGNET call scores as the stat it names.
    assert result.n_scored - result.n_named == len(main_truth(Corpus.load(small)))
    named = result.joined.loc[result.joined["scored_on"] == "named", "run_spec.name"]
    assert len(named) and set(named.str.partition(":")[0]) == {"synthetic_reasoning"}
    train_split, sequestered_test_split = MyPredictor(num_eval_samples=5).prepare_predict_inputs(suite_path)
    assert sequestered_test_split.stats is None and sequestered_test_split.per_instance_stats is None
    assert train_split.per_instance_stats is not None and len(train_split.run_specs) == 15
    assert sequestered_test_split.scenario_state["scenario_state.request_states.instance.id"].nunique() == 5
