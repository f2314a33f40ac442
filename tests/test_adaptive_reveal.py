"""``--reveal adaptive``: the budget is enforced, sequences are deterministic, and active testing's estimator is unbiased in a simulated 2PL world (real numpy draws)."""

from __future__ import annotations

import numpy as np
import pytest

from magnet.backends.matrix.import_scores import import_scores
from magnet.protocol.corpus import Corpus
from magnet.protocol.reveal_modes import reveal_for
from magnet.protocol.splits import make_folds
from predictors import _adaptive as A
from predictors.adaptive_testing import ActiveTesting


def _corpus(tmp_path, m):
    import_scores(m, str(tmp_path), scenario="toy", metric="exact_match")
    return Corpus.load(str(tmp_path), errors="skip")


@pytest.fixture(scope="module")
def matrix():
    rng = np.random.default_rng(0)
    ability = np.linspace(-2, 2, 12)
    return (rng.random((12, 60)) < 1 / (1 + np.exp(-(ability[:, None] - rng.normal(size=60))))).astype(float)


def test_adaptive_reveal_is_deterministic_and_within_budget(tmp_path, matrix):
    corpus = _corpus(tmp_path, matrix)
    folds = make_folds(corpus.run_specs, "interpolation", seed=0)
    first = reveal_for(corpus, folds, "adaptive", 6, 0, ActiveTesting())
    assert first == reveal_for(corpus, folds, "adaptive", 6, 0, ActiveTesting())
    assert first and all(len(v) == 6 == len(set(v)) for v in first.values())


class Greedy(ActiveTesting):
    def next_instances(self, state, candidates, remaining):
        return list(candidates[: remaining + 1])


def test_asking_beyond_the_budget_is_refused(tmp_path, matrix):
    corpus = _corpus(tmp_path, matrix)
    folds = make_folds(corpus.run_specs, "interpolation", seed=0)
    with pytest.raises(ValueError, match="refused"):
        reveal_for(corpus, folds, "adaptive", 5, 0, Greedy())


def test_active_testing_is_unbiased_under_misfit():
    rng = np.random.default_rng(1)
    theta, b = rng.normal(size=40), rng.normal(size=200)
    src = (rng.random((40, 200)) < 1 / (1 + np.exp(-(theta[:, None] - b)))).astype(float)
    target = (rng.random(200) < 0.5).astype(float)  # misfit: unrelated to the items' difficulty
    fit = A.fit_source(src)
    draws = np.array([A.active_estimate(fit, *A.simulate(fit, target, 15, "active", seed=s)) for s in range(150)])
    se = draws.std(ddof=1) / np.sqrt(len(draws))
    assert abs(draws.mean() - target.mean()) < 4 * se


def test_the_mbe_control_of_an_adaptive_run_is_the_random_sample_of_the_same_budget(tmp_path, matrix):
    """The predictor chooses its adaptive sample; the cheap baseline it must beat is what a random sample of the
    same budget says (the per-run reveal), never the chosen sample's mean."""
    from magnet.protocol.baselines import compute_baselines
    from magnet.protocol.benchmark import benchmark
    from magnet.protocol.splits import reveal

    corpus = _corpus(tmp_path, matrix)
    board = benchmark([ActiveTesting()], corpus, splits=("interpolation",), num_eval_samples=6, seed=0,
                      reveal_mode="adaptive", n_boot=50, progress=False)
    chosen = board.results[0].revealed
    random_sample = reveal(corpus, 6, 0)
    assert chosen != {r: random_sample[r] for r in chosen}  # the adaptive sample is not the random one
    expected = compute_baselines(corpus, random_sample).set_index(["run_spec.name", "target.key"])["revealed_mean"]
    got = board.joined.set_index(["run_spec.name", "target.key"])["revealed_mean"]
    assert len(got) > 0
    np.testing.assert_allclose(got.to_numpy(), expected.reindex(got.index).to_numpy())


class RandomAsker(ActiveTesting):
    """A null: asks uniformly at random, predicts the mean of what it asked for (the cheap signal itself)."""

    def next_instances(self, state, candidates, remaining):
        rng = np.random.default_rng([state.seed, len(state.revealed)])
        return [candidates[int(rng.integers(len(candidates)))]]

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df, eval_run_specs_df,
                eval_scenario_states_df, train_per_instance_stats_df=None, eval_per_instance_stats_df=None):
        from magnet.helm_objects import make_stat

        pis = eval_per_instance_stats_df
        means = pis[pis["per_instance_stats.stats.name.name"] == "exact_match"].groupby("run_spec.name")[
            "per_instance_stats.stats.mean"].mean()
        return {run: [make_stat("predicted_exact_match", float(means[run]))] for run in eval_run_specs_df["run_spec.name"]}


def test_the_adaptive_sample_own_mean_is_a_second_mbe_control(tmp_path):
    """A predictor that asks at random and returns its own sample's mean has nothing beyond the cheap signal
    of what it revealed: the MBE check controls for that mean too (``adaptive_mean``) and does not call it
    genuine (against the independent random sample alone it would look informative:
    benchmarks/bench_adaptive_mbe.py)."""
    from magnet.protocol.benchmark import benchmark
    from magnet.protocol.baselines import compute_baselines

    rng = np.random.default_rng(4)
    ability, difficulty = rng.normal(size=48), rng.normal(size=60)
    m = (rng.random((48, 60)) < 1 / (1 + np.exp(-(ability[:, None] - difficulty)))).astype(float)
    corpus = _corpus(tmp_path, m)
    board = benchmark([RandomAsker()], corpus, splits=("interpolation",), num_eval_samples=12, seed=0,
                      reveal_mode="adaptive", n_boot=50, progress=False, eval_fraction=0.5)
    row = next(r for r in board.rows if r.stat == "main")
    assert "adaptive_mean" in board.controls and row.mbe["controls"] == ["revealed_mean", "adaptive_mean"]
    own = compute_baselines(corpus, dict(board.results[0].revealed)).set_index(["run_spec.name", "target.key"])
    got = board.joined.set_index(["run_spec.name", "target.key"])["adaptive_mean"]
    np.testing.assert_allclose(got.to_numpy(), own["revealed_mean"].reindex(got.index).to_numpy())
    assert row.mbe["verdict"] != "genuine"
