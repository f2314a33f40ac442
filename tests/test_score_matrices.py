"""Score matrices (issue 19): import-scores round trip, the peers' splits, shared and predictor-chosen reveals,
repeats, and the matrix predictors in the protocol. Real data: the HELM Lite outcomes in shared/data."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from magnet.backends.helm.errors import HelmOutputError
from magnet.backends.matrix.import_scores import import_scores, read_matrix, scores_matrix
from magnet.backends.helm.outputs import HelmOutputs
from magnet.cli.main import main as magnet_main
from magnet.protocol.baselines import compute_baselines
from magnet.protocol.benchmark import benchmark
from magnet.protocol.corpus import RUN, Corpus
from magnet.protocol.reveal_modes import main_scores, reveal_for
from magnet.protocol.runner import run_protocol
from magnet.protocol.splits import make_folds, selection_inputs
from predictors.matrix import CoresetEnsemble, CoresetMean, IrtCoreset

DATA = Path(__file__).resolve().parent / "data" / "benchpred-helm-lite"  # a copy of shared/data's, with its README


def real_matrix(name="gsm", n_models=20, n_items=80) -> tuple[np.ndarray, list[str]]:
    """A slice of a real HELM Lite matrix: the first models, a spread of items."""
    full = np.load(DATA / f"{name}.npy").astype(float)
    models = (DATA / "models.txt").read_text().split()
    rows = np.linspace(0, len(full) - 1, n_models).astype(int)
    return full[rows][:, :n_items], [models[i] for i in rows]


def load(path) -> Corpus:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no scenario_state.json": expected for imported matrices
        return Corpus.load(path)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    m, models = real_matrix()
    out = tmp_path_factory.mktemp("gsm")
    import_scores(m, out, scenario="gsm", metric="exact_match", models=models)
    return load(out), m, models


# ------------------------------------------------------------------ import-scores


def test_round_trip_npy_with_missing_cells_through_the_cli(tmp_path):
    m, models = real_matrix("math", 12, 50)
    m[0, 3] = m[5, 0] = m[11, 49] = np.nan
    m[2, 7] = 0.25  # a fractional score
    np.save(tmp_path / "m.npy", m)
    (tmp_path / "models.txt").write_text("\n".join(models) + "\n")
    (tmp_path / "ids.txt").write_text("\n".join(f"q{j}" for j in range(50)))
    assert magnet_main(["import-scores", str(tmp_path / "m.npy"), "--scenario", "math", "--metric", "equiv",
                        "--models", str(tmp_path / "models.txt"), "--instances", str(tmp_path / "ids.txt"),
                        "-o", str(tmp_path / "bo")]) == 0
    outputs = HelmOutputs.coerce(tmp_path / "bo")
    back = scores_matrix(outputs.per_instance_stats(), "equiv")
    runs = [f"math:model={x.replace('/', '_')}" for x in models]
    assert sorted(back.index) == sorted(runs)
    assert sorted(back.columns) == sorted(f"q{j}" for j in range(50))
    back = back.loc[runs, [f"q{j}" for j in range(50)]]  # the loader lists runs in directory order
    np.testing.assert_array_equal(back.to_numpy(), m)  # NaN where missing, every value exact
    specs = outputs.run_specs().set_index(RUN)
    assert specs.loc[back.index, "run_spec.adapter_spec.model"].tolist() == models
    # the run's stat is the mean of its observed cells; the corpus finds it as the main target
    c = load(tmp_path / "bo")
    t = c.targets.set_index(RUN)
    np.testing.assert_allclose(t.loc[back.index, "stats.mean"].to_numpy(), np.nanmean(m, axis=1), rtol=0, atol=1e-12)
    assert set(t["stats.name.name"]) == {"equiv"}
    assert c.num_eval_instances().loc[back.index].tolist() == (~np.isnan(m)).sum(1).tolist()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_round_trip_csv_and_parquet_with_names_in_the_file(tmp_path, suffix):
    m, models = real_matrix("mmlu", 6, 10)
    m[1, 1] = np.nan
    df = pd.DataFrame(m, columns=[f"item{j}" for j in range(10)])
    df.insert(0, "model", models)
    path = tmp_path / f"m{suffix}"
    df.to_csv(path, index=False) if suffix == ".csv" else df.to_parquet(path, index=False)
    values, names, ids = read_matrix(path)
    assert names == models and ids == [f"item{j}" for j in range(10)]
    import_scores(values, tmp_path / "bo", scenario="mmlu", metric="exact_match", models=names, instance_ids=ids)
    back = scores_matrix(HelmOutputs.coerce(tmp_path / "bo").per_instance_stats(), "exact_match")
    back = back.loc[[f"mmlu:model={x.replace('/', '_')}" for x in models], ids]
    np.testing.assert_array_equal(back.to_numpy(), m)


@pytest.mark.parametrize("bad, message", [
    (np.array([[0.0, 1.5]]), "scores must be in [0, 1]"),
    (np.array([[np.nan, np.nan], [1, 0]]), "has no score at all"),
    (np.zeros(3), "must be 2-D"),
])
def test_bad_matrices_get_one_line_errors(tmp_path, bad, message):
    np.save(tmp_path / "m.npy", bad)
    with pytest.raises(HelmOutputError, match=message.replace("[", r"\[").replace("]", r"\]")) as e:
        import_scores(read_matrix(tmp_path / "m.npy")[0], tmp_path / "bo", scenario="s", metric="em",
                      source=str(tmp_path / "m.npy"))
    assert "\n" not in str(e.value) and "m.npy" in str(e.value)


def test_cli_names_the_file_on_a_wrong_model_count(tmp_path, capsys):
    np.save(tmp_path / "m.npy", np.ones((3, 4)))
    (tmp_path / "models.txt").write_text("a\nb\n")
    assert magnet_main(["import-scores", str(tmp_path / "m.npy"), "--scenario", "s", "--metric", "em",
                        "--models", str(tmp_path / "models.txt"), "-o", str(tmp_path / "bo")]) == 2
    err = capsys.readouterr().err
    assert "models.txt" in err or "model names" in err


# ------------------------------------------------------------------ the peers' splits


def test_interpolation_holds_out_a_random_quarter_of_whole_models(corpus):
    c, m, models = corpus
    folds = [make_folds(c.run_specs, "interpolation", seed=s)[0] for s in range(5)]
    model_of = c.models()
    for f in folds:
        assert len(f.eval_runs) == int(0.25 * len(models)) and len(f.train_runs) == len(models) - len(f.eval_runs)
        assert not {model_of[r] for r in f.eval_runs} & {model_of[r] for r in f.train_runs}
    assert len({f.eval_runs for f in folds}) > 1  # the seed draws new eval models
    f = make_folds(c.run_specs, "interpolation", seed=0, eval_fraction=0.5)[0]
    assert len(f.eval_runs) == len(models) // 2


def test_extrapolation_trains_on_the_bottom_half_and_predicts_the_top_30_percent(corpus):
    c, m, models = corpus
    fold = make_folds(c.run_specs, "extrapolation", scores=main_scores(c))[0]
    order = np.argsort(m.mean(1), kind="stable")  # independent ranking from the matrix itself
    run_of = {mod: f"gsm:model={mod.replace('/', '_')}" for mod in models}
    n = len(models)
    assert set(fold.train_runs) == {run_of[models[i]] for i in order[: n // 2]}
    assert set(fold.eval_runs) == {run_of[models[i]] for i in order[n - int(0.3 * n):]}
    fold = make_folds(c.run_specs, "extrapolation", scores=main_scores(c), train_fraction=0.25, eval_fraction=0.25)[0]
    assert len(fold.train_runs) == n // 4 and len(fold.eval_runs) == n // 4
    with pytest.raises(ValueError, match="fraction"):
        make_folds(c.run_specs, "extrapolation", scores=main_scores(c), train_fraction=0.8, eval_fraction=0.3)
    with pytest.raises(ValueError, match="main score"):
        make_folds(c.run_specs, "extrapolation")


# ------------------------------------------------------------------ reveal modes


def test_shared_reveal_is_one_coreset_for_every_run(corpus):
    c, m, models = corpus
    folds = make_folds(c.run_specs, "interpolation", seed=1)
    revealed = reveal_for(c, folds, "shared", 15, seed=4)
    sets = {tuple(ids) for ids in revealed.values()}
    assert len(sets) == 1 and len(next(iter(sets))) == 15
    assert reveal_for(c, folds, "shared", 15, seed=5) != revealed  # the seed draws another coreset


class Spy(CoresetMean):
    """Chooses the items the train runs find hardest, recording what select_instances received."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def select_instances(self, train_run_specs_df, train_stats_df, train_per_instance_stats_df, eval_run_specs_df,
                         candidates, k, seed=0):
        self.seen.append(dict(train_runs=set(train_run_specs_df[RUN]), stat_runs=set(train_stats_df[RUN]),
                              pis_runs=set(train_per_instance_stats_df[RUN]), eval_runs=set(eval_run_specs_df[RUN]),
                              eval_columns=set(eval_run_specs_df.columns)))
        pis = train_per_instance_stats_df
        hardness = pis.groupby("per_instance_stats.instance_id")["per_instance_stats.stats.mean"].mean()
        return {s: list(hardness.loc[ids].sort_values(kind="stable").index[:k]) for s, ids in candidates.items()}


def test_predictor_chosen_reveal_cannot_see_eval_outcomes(corpus, tmp_path):
    c, m, models = corpus
    fold = make_folds(c.run_specs, "extrapolation", scores=main_scores(c))[0]
    spy = Spy()
    revealed = reveal_for(c, [fold], "predictor", 10, seed=0, predictor=spy)
    seen = spy.seen[0]
    assert seen["train_runs"] == seen["stat_runs"] == seen["pis_runs"] == set(fold.train_runs)
    assert seen["eval_runs"] == set(fold.eval_runs)
    assert seen["eval_columns"] == set(c.run_specs.columns) | {  # specs and what is known before running them
        "magnet.num_eval_instances", "magnet.target_names", "magnet.target_split"}
    # its choice is the k hardest items of the train runs, computed independently from the matrix
    train_rows = [i for i, mod in enumerate(models) if f"gsm:model={mod.replace('/', '_')}" in set(fold.train_runs)]
    hardness = m[train_rows].mean(0)
    chosen = [int(i[2:]) for i in revealed[fold.eval_runs[0]]]
    assert len(chosen) == 10 and all(set(revealed[r]) == set(revealed[fold.eval_runs[0]]) for r in fold.eval_runs)
    others = np.setdiff1d(np.arange(m.shape[1]), chosen)
    assert hardness[chosen].max() <= hardness[others].min()  # a k-hardest set (ties broken either way)
    # scrambling every eval outcome in the corpus changes nothing the selector sees or chooses
    scrambled = load(c.source)
    pis = scrambled.per_instance_stats
    is_eval = pis[RUN].isin(set(fold.eval_runs))
    pis.loc[is_eval, "per_instance_stats.stats.mean"] = 1.0 - pis.loc[is_eval, "per_instance_stats.stats.mean"]
    scrambled.stats.loc[scrambled.stats[RUN].isin(set(fold.eval_runs)), "stats.mean"] = -1.0
    spy2 = Spy()
    assert reveal_for(scrambled, [fold], "predictor", 10, seed=0, predictor=spy2) == revealed
    inputs = selection_inputs(c, fold)
    assert not set(inputs["train_per_instance_stats_df"][RUN]) & set(fold.eval_runs)


def test_a_selection_outside_the_candidates_is_refused(corpus):
    c, _, _ = corpus

    class Cheat(CoresetMean):
        def select_instances(self, *args, candidates, k, **kw):
            return {s: ["not-an-instance"] for s in candidates}

    fold = make_folds(c.run_specs, "interpolation")[0]
    with pytest.raises(ValueError, match="not a candidate"):
        reveal_for(c, [fold], "predictor", 5, seed=0, predictor=Cheat())


# ------------------------------------------------------------------ protocol with matrix predictors


def test_coreset_mean_equals_the_revealed_mean_baseline_under_every_mode(corpus):
    c, _, _ = corpus
    for mode in ("per-run", "shared", "predictor"):
        res = run_protocol(CoresetMean(), c, split="interpolation", num_eval_samples=12, reveal_mode=mode,
                           progress=False)
        base = compute_baselines(c, res.revealed).set_index(RUN)["revealed_mean"]
        pred = res.predictions.set_index(RUN)["stats.mean"]
        assert len(pred) == int(0.25 * 20)
        np.testing.assert_allclose(pred.to_numpy(), base.loc[pred.index].to_numpy(), rtol=0, atol=1e-12)


def test_repeats_pool_every_repeat_and_cluster_by_model(corpus):
    c, _, _ = corpus
    board = benchmark([CoresetMean(), IrtCoreset()], c, splits=["interpolation"], num_eval_samples=20, repeats=3,
                      reveal_mode="shared", progress=False, n_boot=200)
    rows = {r.predictor: r for r in board.main_rows()}
    assert rows["CoresetMean"].n == 3 * int(0.25 * 20)
    assert rows["CoresetMean"].mbe["verdict"] != "genuine"  # it is the baseline itself
    j = board.joined[board.joined["predictor"] == "IrtCoreset"]
    assert sorted(j["repeat"].unique()) == [0, 1, 2]
    # each repeat's MAE is the mean |error| of its runs: the pooled MAE is their mean (equal sizes)
    per_repeat = j.assign(err=(j["predicted"] - j["actual"]).abs()).groupby("repeat")["err"].mean()
    assert rows["IrtCoreset"].mae == pytest.approx(per_repeat.mean(), abs=1e-12)
    assert rows["IrtCoreset"].n_models <= 20


def test_ensemble_beats_the_coreset_mean_on_real_interpolation(tmp_path):
    m, models = real_matrix("gsm", 40, 300)
    import_scores(m, tmp_path, scenario="gsm", metric="exact_match", models=models)
    c = load(tmp_path)
    board = benchmark([CoresetMean(), CoresetEnsemble()], c, splits=["interpolation"], num_eval_samples=30,
                      repeats=3, reveal_mode="shared", progress=False, n_boot=200)
    rows = {r.predictor: r for r in board.main_rows()}
    assert rows["CoresetEnsemble"].mae < rows["CoresetMean"].mae


@pytest.mark.parametrize("method", ["aipw", "random_sampling_and_learn"])
def test_peer_predictor_gives_the_peer_methods_numbers_on_the_same_coreset(corpus, method):
    peers = pytest.importorskip("magnet.peers")  # the peers' methods (branch `peers`)
    from predictors.peers import PeerPredictor

    c, m, models = corpus
    res = run_protocol(PeerPredictor(method), c, split="extrapolation", num_eval_samples=15, reveal_mode="shared",
                       progress=False)
    fold = make_folds(c.run_specs, "extrapolation", scores=main_scores(c))[0]
    row = {f"gsm:model={x.replace('/', '_')}": i for i, x in enumerate(models)}
    src = m[[row[r] for r in fold.train_runs]]
    core = sorted(int(i[2:]) for i in res.revealed[fold.eval_runs[0]])
    tgt = m[[row[r] for r in fold.eval_runs]][:, core]
    expected = np.clip(peers.PEER_METHODS[method](src, core, tgt, 0), 0, 1)
    got = res.predictions.set_index(RUN).loc[list(fold.eval_runs), "stats.mean"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
