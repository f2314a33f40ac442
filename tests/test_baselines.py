"""magnet.protocol.baselines against the raw HELM files: revealed_mean and revealed_loss for every run.

The expected values come from ``per_instance_stats.json`` and ``scenario_state.json`` read with plain
``json`` (tests/helm_raw.py), not from magnet's tables.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from magnet.protocol.baselines import BASELINES, compute_baselines, register_baseline, revealed_loss, revealed_mean
from magnet.protocol.splits import reveal

RUN = "run_spec.name"
COMPLETIONS = "scenario_state.request_states.result.completions"


@pytest.mark.parametrize("k", [3, 0.5])
def test_revealed_loss_is_the_mean_negative_logprob_of_the_revealed_request_states(
        small_demo_corpus, small_demo_raw, k):
    revealed = reveal(small_demo_corpus, k, seed=1)
    got = revealed_loss(small_demo_corpus, revealed)
    # one row per (run, target variant), all variants of a run sharing the run's loss
    targets = small_demo_corpus.targets
    assert sorted(zip(got[RUN], got["target.key"])) == sorted(zip(targets[RUN], targets["target.key"]))
    for run, value in got.groupby(RUN)["value"]:
        expected = small_demo_raw.revealed_loss(run, revealed[run])
        assert expected > 0
        np.testing.assert_allclose(value.to_numpy(), expected, rtol=0, atol=1e-12)


def test_revealed_loss_counts_perturbed_copies_of_a_revealed_instance(small_demo_corpus, small_demo_raw):
    """A data-augmented run holds an original and a perturbed request state per revealed instance: both count."""
    revealed = reveal(small_demo_corpus, 3, seed=1)
    run = next(r for r in revealed if "data_augmentation=" in r)
    states = small_demo_corpus.scenario_states[small_demo_corpus.scenario_states[RUN] == run]
    mine = states[states["scenario_state.request_states.instance.id"].isin(revealed[run])]
    assert len(mine) > len(revealed[run])  # perturbed copies present
    losses = [-c[0]["logprob"] for c in mine[COMPLETIONS]]
    got = revealed_loss(small_demo_corpus, revealed)
    assert got[got[RUN] == run]["value"].iloc[0] == pytest.approx(np.mean(losses), abs=1e-12)


def test_revealed_mean_is_the_mean_of_exactly_the_revealed_instances(small_demo_corpus, small_demo_raw):
    revealed = reveal(small_demo_corpus, 4, seed=2)
    got = revealed_mean(small_demo_corpus, revealed)
    targets = small_demo_corpus.targets
    checked = 0
    for run, key, value in zip(got[RUN], got["target.key"], got["value"]):
        split = targets[(targets[RUN] == run) & (targets["target.key"] == key)]["target.split"]
        values = small_demo_raw.instance_values(run, key, split.iloc[0])
        shown = [values[i] for i in revealed[run] if i in values]
        assert value == pytest.approx(np.mean(shown), abs=1e-12), (run, key)
        checked += 1
    # every variant with at least one revealed instance has a row; the others have none
    expected = sum(any(i in small_demo_raw.instance_values(r, k, s) for i in revealed[r])
                   for r, k, s in zip(targets[RUN], targets["target.key"], targets["target.split"]))
    assert checked == expected >= 40


def test_compute_baselines_puts_them_side_by_side_with_nan_where_a_run_revealed_nothing(
        small_demo_corpus, small_demo_raw):
    revealed = reveal(small_demo_corpus, 3, seed=0)
    run = small_demo_corpus.run_specs[RUN].iloc[0]
    revealed[run] = []
    both = compute_baselines(small_demo_corpus, revealed)
    assert list(both.columns) == [RUN, "target.key", "revealed_mean", "revealed_loss"]
    assert len(both) == len(small_demo_corpus.targets.drop_duplicates([RUN, "target.key"]))
    mine = both[both[RUN] == run]
    assert mine["revealed_mean"].isna().all() and mine["revealed_loss"].isna().all()
    other = both[both[RUN] != run]
    assert other["revealed_loss"].notna().all()
    first = other.iloc[0]
    expected = small_demo_raw.revealed_loss(first[RUN], revealed[first[RUN]])
    assert first["revealed_loss"] == pytest.approx(expected, abs=1e-12)


def test_no_logprobs_no_revealed_loss(small_demo_corpus):
    """Runs that recorded no logprobs give no revealed_loss column (not a column of zeros)."""
    states = small_demo_corpus.scenario_states.copy()
    states[COMPLETIONS] = [[dict(c, logprob=0.0) for c in completions] for completions in states[COMPLETIONS]]
    flat = dataclasses.replace(small_demo_corpus, scenario_states=states)
    revealed = reveal(flat, 3)
    assert len(revealed_loss(flat, revealed)) == 0
    assert list(compute_baselines(flat, revealed).columns) == [RUN, "target.key", "revealed_mean", ]
    # the copy did not touch the corpus
    assert small_demo_corpus.scenario_states[COMPLETIONS].iloc[0][0]["logprob"] != 0.0


def test_unknown_baseline_is_a_clear_error_and_new_ones_register(small_demo_corpus):
    with pytest.raises(ValueError, match=r"unknown baseline 'early_f1'; registered: \['revealed_loss', 'revealed_mean'"):
        compute_baselines(small_demo_corpus, reveal(small_demo_corpus, 3), ["early_f1"])

    @register_baseline("constant_half")
    def constant_half(corpus, revealed):
        keys = corpus.targets[[RUN, "target.key"]].drop_duplicates()
        return keys.assign(value=0.5)

    try:
        assert BASELINES["constant_half"] is constant_half
        out = compute_baselines(small_demo_corpus, reveal(small_demo_corpus, 3), ["constant_half"])
        assert (out["constant_half"] == 0.5).all() and len(out) == len(small_demo_corpus.targets)
    finally:
        del BASELINES["constant_half"]
    assert (isinstance(revealed_mean(small_demo_corpus, {}), pd.DataFrame)
            and len(revealed_mean(small_demo_corpus, {})) == 0)
