"""Corpus: targets and the per-instance values behind them reproduce HELM's aggregates exactly."""

from __future__ import annotations


def test_every_target_variant_is_the_mean_of_its_instance_values(demo_corpus):
    means = demo_corpus.instance_values.groupby(["run_spec.name", "target.key"])["value"].mean()
    targets = demo_corpus.targets.set_index(["run_spec.name", "target.key"])["stats.mean"]
    joined = targets.to_frame("actual").join(means.rename("instances"), how="left")
    missing = joined[joined["instances"].isna()]
    assert missing.empty, f"{len(missing)} target variants have no instance values, e.g. {missing.index[:3].tolist()}"
    assert (joined["actual"] - joined["instances"]).abs().max() < 1e-12
    keys = set(demo_corpus.targets["target.key"])
    assert any("typos/perturbed" in k for k in keys) and any("lowercase/worst" in k for k in keys)


def test_eval_instance_counts_come_from_the_target_split(demo_corpus):
    counts = demo_corpus.num_eval_instances()
    assert counts.min() > 0 and counts.max() == 40
    assert set(counts.index) == set(demo_corpus.run_specs["run_spec.name"])
