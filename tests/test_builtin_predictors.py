"""The built-in predictors (predictors/): contract, exact revealed means, and the MBE verdicts they earn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from magnet.protocol.corpus import Corpus
from magnet.stats.mbe import mbe_check
from magnet.testing import _yield_checks, check_predictor
from magnet.protocol.runner import run_protocol
from magnet.protocol.truth import join_truth
from predictors._revealed import instance_table
from predictors.builtin import BUILTIN_PREDICTORS
from predictors.irt import IRT
from predictors.revealed_sample_mean import RevealedSampleMean

RUN = "run_spec.name"


def _main(joined: pd.DataFrame) -> pd.DataFrame:
    return joined[joined["target.key"] == joined["target.name"]]


def _revealed_mean(corpus: Corpus, revealed: dict) -> pd.DataFrame:
    pairs = pd.DataFrame([(r, i) for r, ids in revealed.items() for i in ids], columns=[RUN, "instance_id"])
    values = corpus.instance_values.merge(pairs, on=[RUN, "instance_id"])
    return values.groupby([RUN, "target.key"])["value"].mean().rename("revealed_mean").reset_index()


@pytest.mark.parametrize("cls", BUILTIN_PREDICTORS, ids=lambda c: c.__name__)
def test_follows_the_predictor_contract(cls, small_demo_corpus):
    results = check_predictor(cls, corpus=small_demo_corpus, raise_on_failure=False)
    assert [r.check for r in results] == [c.__name__ for c in _yield_checks()]
    assert all(r.passed for r in results), [str(r) for r in results if not r.passed]


def test_scoring_reproduces_helm_per_instance_stats(small_demo_corpus):
    """Per-instance values recomputed from request states equal HELM's, for every target variant."""
    t = small_demo_corpus.targets
    variants = pd.DataFrame({RUN: t[RUN], "metric": t["stats.name.name"], "split": t["stats.name.split"],
                             "key": t["target.key"], "pert_name": t["stats.name.perturbation.name"],
                             "computed_on": t["stats.name.perturbation.computed_on"]})
    mine = instance_table(small_demo_corpus.scenario_states, variants).rename(columns={"key": "target.key"})
    both = small_demo_corpus.instance_values.merge(mine, on=[RUN, "target.key", "instance_id"], how="outer",
                                                   suffixes=("_helm", "_mine"))
    assert len(both) == len(small_demo_corpus.instance_values)
    np.testing.assert_allclose(both["value_mine"], both["value_helm"])


@pytest.fixture(scope="module")
def rsm_kfold(demo_corpus):
    return run_protocol(RevealedSampleMean(), demo_corpus, split="kfold", num_eval_samples=10, progress=False)


@pytest.fixture(scope="module")
def irt_kfold(demo_corpus):
    return run_protocol(IRT(), demo_corpus, split="kfold", num_eval_samples=10, progress=False)


def test_revealed_sample_mean_is_the_mean_of_the_revealed_instances(demo_corpus, rsm_kfold):
    joined = join_truth(rsm_kfold.predictions, demo_corpus.targets)
    joined = joined.merge(_revealed_mean(demo_corpus, rsm_kfold.revealed), on=[RUN, "target.key"])
    exact = _main(joined)[_main(joined)["target.name"] == "exact_match"]
    assert len(exact) == 40
    np.testing.assert_allclose(exact["predicted"], exact["revealed_mean"], atol=1e-12)
    # the other metrics (quasi-exact, last-token, set F1) and the perturbation variants are exact too
    assert len(joined) == len(demo_corpus.targets)
    np.testing.assert_allclose(joined["predicted"], joined["revealed_mean"], atol=1e-12)


def _mbe(result, corpus):
    main = _main(join_truth(result.predictions, corpus.targets))
    main = main.merge(_revealed_mean(corpus, result.revealed), on=[RUN, "target.key"])
    groups = main[RUN].map(corpus.models()).to_numpy()
    return mbe_check(main["predicted"].to_numpy(), main["actual"].to_numpy(), main[["revealed_mean"]],
                     groups=groups, n_boot=200, seed=0), main


def test_mbe_flags_revealed_sample_mean_and_finds_irt_genuine(demo_corpus, rsm_kfold, irt_kfold):
    rsm, _ = _mbe(rsm_kfold, demo_corpus)
    assert rsm.verdict == "loss-proxy", rsm.reason
    irt, main = _mbe(irt_kfold, demo_corpus)
    assert irt.verdict == "genuine", irt.reason
    assert irt.n == 72
    rm_mae = np.mean(np.abs(main["revealed_mean"] - main["actual"]))
    # the demo world is not an IRT model (issue 17) and kfold keeps siblings together: IRT beats the revealed
    # mean (0.055 vs 0.071 with demo generator 2, 0.060 vs 0.074 with generator 3) without the margin an
    # IRT-generated world and sibling leaks gave it
    assert np.mean(np.abs(main["predicted"] - main["actual"])) < 0.9 * rm_mae


def test_kfold_never_gives_irt_a_train_sibling_run(demo_corpus, irt_kfold):
    """A data-augmented run's unperturbed stat is over its plain sibling's instances: kfold keeps them together."""
    main = _main(join_truth(irt_kfold.predictions, demo_corpus.targets)).set_index(RUN)
    fold_of = main["fold"]
    pairs = 0
    for run in main.index:
        if "data_augmentation=" not in run:
            continue
        sibling = run.split(",data_augmentation=")[0]
        assert fold_of[sibling] == fold_of[run], run
        pairs += 1
    assert pairs > 0


def test_same_seed_same_predictions_and_variants_predicted(small_demo_corpus):
    a = run_protocol(IRT(seed=3), small_demo_corpus, split="kfold", num_eval_samples=5, progress=False).predictions
    b = run_protocol(IRT(seed=3), small_demo_corpus, split="kfold", num_eval_samples=5, progress=False).predictions
    pd.testing.assert_frame_equal(a, b)
    joined = join_truth(a, small_demo_corpus.targets)
    assert set(joined["target.key"]) == set(small_demo_corpus.targets["target.key"])  # every variant is predicted
