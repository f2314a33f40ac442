"""Corpus: targets and the per-instance values behind them reproduce HELM's aggregates exactly."""

from __future__ import annotations

import pytest

from magnet.protocol.corpus import Corpus


@pytest.fixture(scope="module")
def corpus(demo_outputs):
    return Corpus.load(demo_outputs)


def test_every_target_variant_is_the_mean_of_its_instance_values(corpus):
    means = corpus.instance_values.groupby(["run_spec.name", "target.key"])["value"].mean()
    targets = corpus.targets.set_index(["run_spec.name", "target.key"])["stats.mean"]
    joined = targets.to_frame("actual").join(means.rename("instances"), how="left")
    missing = joined[joined["instances"].isna()]
    assert missing.empty, f"{len(missing)} target variants have no instance values, e.g. {missing.index[:3].tolist()}"
    assert (joined["actual"] - joined["instances"]).abs().max() < 1e-12
    keys = set(corpus.targets["target.key"])
    assert any("typos/perturbed" in k for k in keys) and any("lowercase/worst" in k for k in keys)


def test_eval_instance_counts_come_from_the_target_split(corpus):
    counts = corpus.num_eval_instances()
    assert counts.min() > 0 and counts.max() == 40
    assert set(counts.index) == set(corpus.run_specs["run_spec.name"])
