"""``trust_revealed`` chooses its weights inside the train runs (issue 28: hyperparameters from train data only).

The weight of the revealed mean against a predictor's estimate comes from the train runs' between-model
variance of the cell (net of sampling noise) and within-run variance: changing one eval run's revealed values
moves that run's prediction and no other's (before, one variance fitted over all the fold's eval runs made every
eval run's prediction depend on every other's revealed sample).
"""

from __future__ import annotations

import numpy as np
import pytest

from magnet.protocol.splits import fold_inputs, make_folds, reveal
from predictors._common import RUN, _between_variance, _within_variance, prepare, trust_revealed


@pytest.fixture(scope="module")
def fold_data(small_demo_corpus):
    corpus = small_demo_corpus
    fold = make_folds(corpus.run_specs, "leave-one-model-out")[0]
    revealed = reveal(corpus, 5)

    def make():
        return prepare(**fold_inputs(corpus, fold, revealed).as_kwargs(True))
    return make


def _far_estimates(data):
    rm = data.revealed_main()
    return rm[rm["main"]][[RUN, "key"]].assign(value=1.0)


def test_one_eval_runs_revealed_sample_moves_only_its_own_prediction(fold_data):
    data, other = fold_data(), fold_data()
    est = _far_estimates(data)
    before = trust_revealed(data, est).set_index([RUN, "key"])["value"]
    rm = data.revealed_main()
    changed_run = rm[rm["main"] & (rm["k"] < rm["n"])][RUN].iloc[0]
    rows = other.revealed[RUN] == changed_run
    other.revealed.loc[rows, "value"] = 1.0 - other.revealed.loc[rows, "value"]
    other._cache.clear()
    after = trust_revealed(other, est).set_index([RUN, "key"])["value"]
    same = before.index.get_level_values(RUN) != changed_run
    assert same.sum() > 0
    np.testing.assert_allclose(after[same].to_numpy(), before[same].to_numpy(), rtol=0, atol=1e-12)
    assert not np.allclose(after[~same].to_numpy(), before[~same].to_numpy())


def test_weights_follow_the_train_runs_variances(fold_data):
    """Rate = u + w (rm - u), w = tau2 / (tau2 + s2 / k), tau2 and s2 per cell from the train runs."""
    data = fold_data()
    est = _far_estimates(data)
    out = trust_revealed(data, est).merge(data.revealed_main(), on=[RUN, "key"])
    out = out.merge(data.targets[[RUN, "key", "cell"]], on=[RUN, "key"])
    tau2, (s2, _) = _between_variance(data), _within_variance(data)
    part = out[(out["k"] > 0) & (out["k"] < out["n"]) & out["cell"].isin(list(tau2)) & out["cell"].isin(list(s2))]
    assert len(part) > 0
    for row in part.itertuples():
        w = tau2[row.cell] / (tau2[row.cell] + s2[row.cell] / row.k)
        rate = 1.0 + w * (row.rm - 1.0)
        assert row.value == pytest.approx((row.k * row.rm + (row.n - row.k) * rate) / row.n, abs=1e-12)
