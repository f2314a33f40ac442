"""Built-in predictors on the real HELM Safety suite: each target predicted on its own metric's scale.

One leave-one-model-out fold of ``tests/data/helm-safety-v3`` (LLM-judge metrics
``art_score``, ``harm_bench_score``, ``sst_score`` and run-level ``bbq_accuracy``), one
revealed instance per run. Fails if a built-in predicts a metric outside the range the
train runs' values of that metric span (widened by their spread), or if a count-0 stat
is read as a value.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from magnet.backends.helm.outputs import HelmOutputs
from magnet.predictions import predictions_to_frame
from magnet.protocol.corpus import Corpus
from magnet.protocol.splits import fold_inputs, make_folds, reveal
from predictors._common import _counted_means, prepare
from predictors.builtin import BUILTIN_PREDICTORS

SAFETY = Path(__file__).parent / "data" / "helm-safety-v3" / "benchmark_output"
RUN = "run_spec.name"


@pytest.fixture(scope="module")
def fold():
    corpus = Corpus.load(HelmOutputs.coerce(SAFETY))
    f = make_folds(corpus.run_specs, "leave-one-model-out")[0]
    return corpus, f, fold_inputs(corpus, f, reveal(corpus, 1), True, True)


@pytest.mark.parametrize("with_pis", [True, False], ids=["per-instance stats", "five frames"])
@pytest.mark.parametrize("cls", [c for c in BUILTIN_PREDICTORS if c.__name__ != "GBM"], ids=lambda c: c.__name__)
def test_predictions_on_the_metrics_own_scale(fold, cls, with_pis):
    corpus, f, inputs = fold
    preds = predictions_to_frame(cls().predict(**inputs.as_kwargs(with_pis, with_pis)))
    stats = inputs.train_stats_df
    main = preds[preds["stats.name.perturbation.name"].isna()]
    assert len(main)
    for name, g in main.groupby("stats.name.name"):
        metric = name.removeprefix("predicted_")
        train = stats.loc[(stats["stats.name.name"] == metric) & stats["stats.name.perturbation.name"].isna(),
                          "stats.mean"].astype(float).dropna()
        spread = train.max() - train.min()
        lo, hi = train.min() - spread, train.max() + spread
        assert g["stats.mean"].between(lo, hi).all(), (cls.__name__, metric, g["stats.mean"].tolist(), lo, hi)


def test_judge_metric_revealed_values_are_the_judge_scores(fold):
    corpus, f, inputs = fold
    data = prepare(**inputs.as_kwargs(True, True))
    pis = inputs.eval_per_instance_stats_df
    P = "per_instance_stats."
    art = pis[pis[P + "stats.name.name"] == "art_score"]
    got = data.revealed[data.revealed["key"] == "art_score"]
    assert len(got) == len(art) > 0
    assert sorted(got["value"]) == sorted(art[P + "stats.mean"].astype(float))


def test_count_zero_is_missing():
    frame = pd.DataFrame({"stats.mean": [0.0, 0.0, 1.0], "stats.count": [0, 1, 0]})
    v = _counted_means(frame, "stats.")
    assert np.isnan(v[0]) and v[1] == 0.0 and np.isnan(v[2])


def test_count_zero_train_stat_not_read(fold):
    corpus, f, inputs = fold
    kw = inputs.as_kwargs(True, True)
    stats = kw["train_stats_df"].copy()
    hit = stats["stats.name.name"] == "art_score"
    stats.loc[hit, "stats.count"] = 0
    stats.loc[hit, "stats.mean"] = 0.0  # a count-0 stat written as 0 by some HELM versions
    data = prepare(**{**kw, "train_stats_df": stats})
    assert data.train.loc[data.train["metric"] == "art_score", "value"].isna().all()
