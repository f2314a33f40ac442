"""``--reveal adaptive``: the budget is enforced, sequences are deterministic, and active testing's estimator is unbiased in a simulated 2PL world (real numpy draws)."""

from __future__ import annotations

import numpy as np
import pytest

from magnet.backends.helm.import_scores import import_scores
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
