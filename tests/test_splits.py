"""Fold strategies and the information boundary (``fold_inputs``): what a predictor may and may not see."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from magnet.protocol.corpus import RUN, STATE, Corpus
from magnet.protocol.splits import (NUM_EVAL_INSTANCES, NUM_REVEALED, STRATEGIES, TARGET_NAMES, TARGET_SPLIT, PredictorInputs,
                           fold_inputs, make_folds, reveal, scenario_of, sibling_key)
from magnet.testing import frame_difference

TABLES = ("run_specs", "scenario_states", "stats", "per_instance_stats", "targets", "instance_values")
FRAMES = [f.name for f in dataclasses.fields(PredictorInputs)]


@pytest.fixture(scope="module")
def pristine(small_demo_corpus) -> dict[str, pd.DataFrame]:
    """Deep copies of the shared corpus tables, taken before this module's first test ran."""
    return {name: pickle.loads(pickle.dumps(getattr(small_demo_corpus, name))) for name in TABLES}


def assert_corpus_intact(corpus, pristine) -> None:
    for name in TABLES:
        diff = frame_difference(pristine[name], getattr(corpus, name))
        assert diff is None, f"corpus.{name} changed: {diff}"


def true_eval_ids(corpus: Corpus) -> dict[str, set[str]]:
    """Per run, its instances in its target split, computed straight from the request states."""
    split_of = corpus.targets.drop_duplicates(RUN).set_index(RUN)["target.split"]
    states = corpus.scenario_states
    original = states[STATE + "instance.perturbation.name"].isna()
    out = {}
    for run in corpus.run_specs[RUN]:
        rows = states[original & (states[RUN] == run) & (states[STATE + "instance.split"] == split_of.get(run, "test"))]
        out[run] = set(rows[STATE + "instance.id"])
    return out


def expected_revealed_count(n: int, num_eval_samples) -> int:
    if isinstance(num_eval_samples, float) and 0 < num_eval_samples < 1:
        return int(round(num_eval_samples * n))
    return min(int(num_eval_samples), n)


# ---------------------------------------------------------------------------------------------------------------------
# Fold strategies


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_run_is_eval_exactly_once_and_train_eval_disjoint(small_demo_corpus, strategy):
    runs = list(small_demo_corpus.run_specs[RUN])
    folds = make_folds(small_demo_corpus.run_specs, strategy, n_folds=5, seed=3)
    evals = [r for f in folds for r in f.eval_runs]
    assert sorted(evals) == sorted(runs)  # each run once
    for f in folds:
        assert f.strategy == strategy
        assert not set(f.train_runs) & set(f.eval_runs)
        assert set(f.train_runs) | set(f.eval_runs) == set(runs)
        assert f.eval_runs and f.train_runs
    assert [f.index for f in folds] == list(range(len(folds)))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_folds_are_reproducible(small_demo_corpus, strategy):
    specs = small_demo_corpus.run_specs
    assert make_folds(specs, strategy, seed=7) == make_folds(specs, strategy, seed=7)
    shuffled = specs.sample(frac=1, random_state=0)
    assert make_folds(shuffled, strategy, seed=7) == make_folds(shuffled, strategy, seed=7)


def test_kfold_depends_on_the_seed(small_demo_corpus):
    folds = {seed: [f.eval_runs for f in make_folds(small_demo_corpus.run_specs, "kfold", n_folds=4, seed=seed)]
             for seed in (0, 1)}
    assert folds[0] != folds[1]
    sizes = [len(f) for f in folds[0]]  # sibling pairs move together: balanced up to a pair
    assert sum(sizes) == 16 and max(sizes) - min(sizes) <= 2


def test_kfold_rejects_bad_n_folds(small_demo_corpus):
    n = len(small_demo_corpus.run_specs)
    with pytest.raises(ValueError, match=rf"^kfold needs 2 <= n_folds <= number of runs \({n}\), got 1$"):
        make_folds(small_demo_corpus.run_specs, "kfold", n_folds=1, keep_siblings=False)
    assert len(make_folds(small_demo_corpus.run_specs, "kfold", n_folds=2)) == 2
    one_run_each = make_folds(small_demo_corpus.run_specs, "kfold", n_folds=n, keep_siblings=False)
    assert len(one_run_each) == n  # one run per fold
    with pytest.raises(ValueError, match=rf"^kfold needs 2 <= n_folds <= number of runs \({n}\), got {n + 1}$"):
        make_folds(small_demo_corpus.run_specs, "kfold", n_folds=n + 1, keep_siblings=False)
    groups = sibling_key(small_demo_corpus.run_specs).nunique()
    assert groups < n  # the corpus has data-augmented siblings
    assert len(make_folds(small_demo_corpus.run_specs, "kfold", n_folds=groups)) == groups  # one sibling group per fold
    with pytest.raises(ValueError, match=rf"^kfold needs 2 <= n_folds <= number of sibling groups "
                                         rf"\(model \+ scenario configuration\) \({groups}\), got {groups + 1}$"):
        make_folds(small_demo_corpus.run_specs, "kfold", n_folds=groups + 1)
    with pytest.raises(ValueError, match=r"^unknown split strategy 'leave-one-out'; expected one of kfold, "
                                         r"leave-one-model-out, leave-one-scenario-out, leave-one-run-out, "
                                         r"interpolation, extrapolation$"):
        make_folds(small_demo_corpus.run_specs, "leave-one-out")


def test_leave_one_model_out_has_one_model_per_fold(small_demo_corpus):
    models = small_demo_corpus.models()
    folds = make_folds(small_demo_corpus.run_specs, "leave-one-model-out")
    assert len(folds) == models.nunique() == 4
    for f in folds:
        assert {models[r] for r in f.eval_runs} == {f.label}
        assert f.label not in {models[r] for r in f.train_runs}


def test_leave_one_scenario_out_keeps_perturbed_variants_together(small_demo_corpus):
    folds = make_folds(small_demo_corpus.run_specs, "leave-one-scenario-out")
    scenario = dict(zip(small_demo_corpus.run_specs[RUN], scenario_of(small_demo_corpus.run_specs)))
    assert len(folds) == len(set(scenario.values())) == 3
    for f in folds:
        assert {scenario[r] for r in f.eval_runs} == {f.label}
        assert f.label not in {scenario[r] for r in f.train_runs}
    mcqa = next(f for f in folds if f.label == "simple_mcqa")
    assert len(mcqa.eval_runs) == 8
    assert sum("data_augmentation=typo0.1" in r for r in mcqa.eval_runs) == 4
    base = "simple_mcqa:model=magnet-sim_atlas-1b"
    assert base in mcqa.eval_runs and base + ",data_augmentation=typo0.1" in mcqa.eval_runs


def test_leave_one_run_out_has_one_run_per_fold(small_demo_corpus):
    folds = make_folds(small_demo_corpus.run_specs, "leave-one-run-out")
    assert [f.eval_runs for f in folds] == [(r,) for r in small_demo_corpus.run_specs[RUN]]


def test_revealed_sample_does_not_depend_on_the_strategy(small_demo_corpus):
    revealed = reveal(small_demo_corpus, 5, seed=2)
    assert revealed == reveal(small_demo_corpus, 5, seed=2)
    assert revealed != reveal(small_demo_corpus, 5, seed=3)
    for strategy in STRATEGIES:
        for fold in make_folds(small_demo_corpus.run_specs, strategy, seed=2):
            inputs = fold_inputs(small_demo_corpus, fold, revealed)
            states = inputs.eval_scenario_states_df
            for run in fold.eval_runs:
                assert set(states.loc[states[RUN] == run, STATE + "instance.id"]) == set(revealed[run])


def test_true_eval_instance_counts_agree_with_per_instance_stats(small_demo_corpus):
    """The independent count used below agrees with the instances that have per-instance stats."""
    ids = true_eval_ids(small_demo_corpus)
    pis = small_demo_corpus.per_instance_stats
    for run, expected in ids.items():
        assert len(expected) in (8, 12, 20)
        split = small_demo_corpus.targets.loc[small_demo_corpus.targets[RUN] == run, "target.split"].iloc[0]
        own = pis[(pis[RUN] == run) & (pis["per_instance_stats.stats.name.split"] == split)]
        assert set(own["per_instance_stats.instance_id"]) == expected


# ---------------------------------------------------------------------------------------------------------------------
# The information boundary, as a property over strategies, seeds and revealed sample sizes


def _mutate_value(v):
    """Mutate the containers inside an object cell in place."""
    if isinstance(v, list):
        for x in v:
            _mutate_value(x)
        v.append("MUTATED")
    elif isinstance(v, dict):
        for x in list(v.values()):
            _mutate_value(x)
        v["MUTATED"] = True
    elif isinstance(v, np.ndarray) and v.dtype == object:
        for x in v:
            _mutate_value(x)


def mutate_everything(df: pd.DataFrame) -> None:
    """Vandalize a frame in place: nested lists/dicts, every value, extra column, rows dropped."""
    for col in list(df.columns):
        values = df[col].to_numpy(copy=False)
        if values.dtype == object:
            for v in values:
                _mutate_value(v)
            df[col] = "MUTATED"
        elif values.flags.writeable and values.dtype.kind in "biuf":
            values[...] = 1
    df["MUTATED"] = 1
    df.drop(df.index[: len(df) // 2], inplace=True)


num_eval_samples_strategy = st.one_of(
    st.integers(min_value=0, max_value=25),
    st.floats(min_value=0.01, max_value=0.99, allow_nan=False),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(strategy=st.sampled_from(STRATEGIES), seed=st.integers(min_value=0, max_value=2**32),
       n_folds=st.integers(min_value=2, max_value=12), num_eval_samples=num_eval_samples_strategy,  # 12 sibling groups
       with_per_instance=st.booleans(), mutated_fold=st.integers(min_value=0, max_value=100))
def test_fold_inputs_sequester_eval_data(small_demo_corpus, pristine, strategy, seed, n_folds, num_eval_samples,
                                         with_per_instance, mutated_fold):
    folds = make_folds(small_demo_corpus.run_specs, strategy, n_folds=n_folds, seed=seed)
    revealed = reveal(small_demo_corpus, num_eval_samples, seed)
    true_ids = true_eval_ids(small_demo_corpus)
    states = small_demo_corpus.scenario_states
    assert set(FRAMES) == {"train_run_specs_df", "train_scenario_states_df", "train_stats_df", "eval_run_specs_df",
                           "eval_scenario_states_df", "train_per_instance_stats_df",
                           "eval_per_instance_stats_df"}  # there is no eval stats frame
    pis = small_demo_corpus.per_instance_stats
    for fold in folds:
        train, evals = set(fold.train_runs), set(fold.eval_runs)
        inputs = fold_inputs(small_demo_corpus, fold, revealed, with_per_instance=with_per_instance,
                             with_eval_per_instance=with_per_instance)

        # train frames: all of the train runs, nothing of the eval runs
        assert set(inputs.train_run_specs_df[RUN]) == train
        assert set(inputs.train_scenario_states_df[RUN]) == train
        assert len(inputs.train_scenario_states_df) == states[RUN].isin(train).sum()
        assert set(inputs.train_stats_df[RUN]) == train
        assert len(inputs.train_stats_df) == small_demo_corpus.stats[RUN].isin(train).sum()
        if with_per_instance:
            assert set(inputs.train_per_instance_stats_df[RUN]) == train
        else:
            assert inputs.train_per_instance_stats_df is None

        # eval run specs: the eval runs, their spec and what is known before running them; no result columns
        specs = inputs.eval_run_specs_df
        assert sorted(specs[RUN]) == sorted(evals)
        assert all(c in ("suite", RUN) or c.startswith(("run_spec.", "magnet.")) for c in specs.columns)
        assert set(specs.columns) - set(small_demo_corpus.run_specs.columns) == {
            NUM_EVAL_INSTANCES, NUM_REVEALED, TARGET_NAMES, TARGET_SPLIT}

        # eval request states: exactly the revealed instances of each eval run (all their versions), nothing else
        eval_states = inputs.eval_scenario_states_df
        assert set(eval_states[RUN]) <= evals
        for run, n_eval, n_revealed in zip(specs[RUN], specs[NUM_EVAL_INSTANCES], specs[NUM_REVEALED]):
            assert n_eval == len(true_ids[run])
            shown = set(eval_states.loc[eval_states[RUN] == run, STATE + "instance.id"])
            k = expected_revealed_count(len(true_ids[run]), num_eval_samples)
            assert len(shown) == n_revealed == k == len(revealed[run])
            assert shown == set(revealed[run]) and shown <= true_ids[run]
            all_versions = (states[RUN] == run) & states[STATE + "instance.id"].isin(shown)
            assert (eval_states[RUN] == run).sum() == all_versions.sum()
            if with_per_instance:  # the revealed instances' per-instance stats: all rows of them, nothing else
                epis = inputs.eval_per_instance_stats_df
                pis = small_demo_corpus.per_instance_stats
                mine = epis[epis[RUN] == run]
                assert set(mine["per_instance_stats.instance_id"]) == set(revealed[run])
                assert len(mine) == ((pis[RUN] == run) & pis["per_instance_stats.instance_id"].isin(shown)).sum()
        if with_per_instance:
            assert set(inputs.eval_per_instance_stats_df[RUN]) <= evals
        else:
            assert inputs.eval_per_instance_stats_df is None

    # every frame is private: vandalizing one fold's inputs changes neither the corpus nor a later call
    fold = folds[mutated_fold % len(folds)]
    inputs = fold_inputs(small_demo_corpus, fold, revealed, with_per_instance=True, with_eval_per_instance=True)
    before = {name: pickle.loads(pickle.dumps(getattr(inputs, name))) for name in FRAMES}
    for name in FRAMES:
        mutate_everything(getattr(inputs, name))
    assert_corpus_intact(small_demo_corpus, pristine)
    again = fold_inputs(small_demo_corpus, fold, revealed, with_per_instance=True, with_eval_per_instance=True)
    for name in FRAMES:
        diff = frame_difference(before[name], getattr(again, name))
        assert diff is None, f"{name} of a second call changed after mutating the first: {diff}"


def test_mutation_helper_reaches_nested_objects(small_demo_corpus):
    """The vandal of the property test does reach lists inside object columns (e.g. references)."""
    fold = make_folds(small_demo_corpus.run_specs, "leave-one-run-out")[0]
    inputs = fold_inputs(small_demo_corpus, fold, reveal(small_demo_corpus, 3))
    df = inputs.train_scenario_states_df
    refs = df[STATE + "instance.references"].iloc[0]
    mutate_everything(df)
    assert refs[-1] == "MUTATED" and refs[0]["MUTATED"] is True


def test_kfold_never_separates_data_augmented_siblings(small_demo_corpus):
    from magnet.protocol.splits import sibling_key

    specs = small_demo_corpus.run_specs
    keys = dict(zip(specs["run_spec.name"], sibling_key(specs)))
    assert len(set(keys.values())) < len(keys), "the corpus must hold sibling runs for this test to mean anything"
    for seed in (0, 1, 2):
        for n_folds in (2, 3, 5):
            for fold in make_folds(specs, "kfold", n_folds=n_folds, seed=seed):
                eval_keys = {keys[r] for r in fold.eval_runs}
                assert not eval_keys & {keys[r] for r in fold.train_runs}, (seed, n_folds, fold.label)
    split = make_folds(specs, "kfold", n_folds=2, seed=0, keep_siblings=False)
    assert any({keys[r] for r in f.eval_runs} & {keys[r] for r in f.train_runs} for f in split)


# ---------------------------------------------------------------------------------------------------------------------
# The revealed sample, by itself (written against surviving mutants, tools/mutation.py)

IDS = [f"id{i}" for i in range(40)]


def test_revealed_ids_size_order_and_bounds():
    from magnet.protocol.splits import revealed_ids

    assert revealed_ids(IDS, 0, seed=0, run="r") == []
    assert revealed_ids(IDS, 1.0, seed=0, run="r") != [] and len(revealed_ids(IDS, 1.0, seed=0, run="r")) == 1
    assert len(revealed_ids(IDS, 0.25, seed=0, run="r")) == 10
    assert len(revealed_ids(IDS, 0.3, seed=0, run="r")) == 12  # round(0.3 * 40)
    assert len(revealed_ids(IDS[:7], 0.5, seed=0, run="r")) == 4  # round(3.5) = 4 (half to even)
    assert revealed_ids(IDS, 1000, seed=0, run="r") == IDS  # more than there are: all, in their order
    assert revealed_ids(IDS, 40, seed=0, run="r") == IDS
    sample = revealed_ids(IDS, 10, seed=0, run="r")
    assert len(set(sample)) == 10 and sample == [i for i in IDS if i in set(sample)]  # distinct, in input order
    assert revealed_ids([], 5, seed=0, run="r") == []
    with pytest.raises(ValueError, match=r"^num_eval_samples must be >= 0, got -1$"):
        revealed_ids(IDS, -1, seed=0, run="r")


def test_revealed_ids_depend_on_seed_and_run_and_are_uniform():
    from magnet.protocol.splits import revealed_ids

    assert revealed_ids(IDS, 10, seed=0, run="a") == revealed_ids(IDS, 10, seed=0, run="a")
    assert revealed_ids(IDS, 10, seed=0, run="a") != revealed_ids(IDS, 10, seed=1, run="a")
    assert revealed_ids(IDS, 10, seed=0, run="a") != revealed_ids(IDS, 10, seed=0, run="b")
    # over 2000 runs every instance is revealed with probability k / n = 1/4 (binomial 99.9% band)
    counts = pd.Series([i for r in range(2000) for i in revealed_ids(IDS, 10, seed=0, run=f"run{r}")]).value_counts()
    assert set(counts.index) == set(IDS)
    sd = np.sqrt(2000 * 0.25 * 0.75)
    assert counts.between(500 - 3.3 * sd, 500 + 3.3 * sd).all(), counts.describe()


def test_fold_metadata_columns_equal_an_independent_count(small_demo_corpus):
    revealed = reveal(small_demo_corpus, 0.5, seed=3)
    truth = true_eval_ids(small_demo_corpus)
    targets = small_demo_corpus.targets
    for fold in make_folds(small_demo_corpus.run_specs, "leave-one-scenario-out"):
        specs = fold_inputs(small_demo_corpus, fold, revealed).eval_run_specs_df.set_index(RUN)
        assert list(specs.index) == [r for r in small_demo_corpus.run_specs[RUN] if r in set(fold.eval_runs)]
        for run, row in specs.iterrows():
            assert row[NUM_EVAL_INSTANCES] == len(truth[run])
            assert row[NUM_REVEALED] == len(revealed[run]) == round(0.5 * len(truth[run]))
            mine = targets[targets[RUN] == run]
            assert row[TARGET_NAMES] == list(dict.fromkeys(mine["target.name"]))
            assert row[TARGET_SPLIT] == mine["target.split"].iloc[0]


def test_scenario_of_drops_model_and_augmentation():
    specs = pd.DataFrame({RUN: ["mmlu:subject=a,model=m1", "mmlu:subject=a,model=m2,data_augmentation=typo",
                                "gsm:model=m1"],
                          "run_spec.adapter_spec.model": ["m1", "m2", "m1"]})
    labels = scenario_of(specs).tolist()
    assert labels[0] == labels[1] != labels[2]


def test_as_kwargs_hands_over_the_five_frames_and_per_instance_stats_only_when_asked(small_demo_corpus):
    fold = make_folds(small_demo_corpus.run_specs, "leave-one-model-out")[0]
    inputs = fold_inputs(small_demo_corpus, fold, reveal(small_demo_corpus, 3), with_per_instance=True)
    five = ["train_run_specs_df", "train_scenario_states_df", "train_stats_df", "eval_run_specs_df",
            "eval_scenario_states_df"]
    plain = inputs.as_kwargs(False)
    assert list(plain) == five and all(plain[k] is getattr(inputs, k) for k in five)
    full = inputs.as_kwargs(True)
    assert list(full) == five + ["train_per_instance_stats_df"]
    assert full["train_per_instance_stats_df"] is inputs.train_per_instance_stats_df
    assert set(inputs.train_per_instance_stats_df[RUN]) == set(fold.train_runs)
    assert fold_inputs(small_demo_corpus, fold, reveal(small_demo_corpus, 3)).train_per_instance_stats_df is None
    asked = fold_inputs(small_demo_corpus, fold, reveal(small_demo_corpus, 3), with_per_instance=True,
                        with_eval_per_instance=True)
    both = asked.as_kwargs(True, with_eval_per_instance=True)
    assert list(both) == five + ["train_per_instance_stats_df", "eval_per_instance_stats_df"]
    assert both["eval_per_instance_stats_df"] is asked.eval_per_instance_stats_df
    assert set(asked.eval_per_instance_stats_df[RUN]) == set(fold.eval_runs)
    assert list(asked.as_kwargs(False, with_eval_per_instance=True)) == five + ["eval_per_instance_stats_df"]


def test_fold_inputs_edges_runs_without_counts_targets_or_revealed_sample(small_demo_corpus):
    """An eval run missing from the revealed dict, the eval-instance counts or the targets gets zeros and empties,
    never an error; the metadata columns are integers; overlapping train and eval runs are refused."""
    fold = make_folds(small_demo_corpus.run_specs, "leave-one-model-out")[0]
    run = fold.eval_runs[0]
    revealed = reveal(small_demo_corpus, 3)
    inputs = fold_inputs(small_demo_corpus, fold, revealed)
    specs = inputs.eval_run_specs_df
    assert specs[NUM_EVAL_INSTANCES].dtype.kind == "i" and specs[NUM_REVEALED].dtype.kind == "i"
    lacking = dataclasses.replace(
        small_demo_corpus,
        eval_instances={r: ids for r, ids in small_demo_corpus.eval_instances.items() if r != run},
        targets=small_demo_corpus.targets[small_demo_corpus.targets[RUN] != run],
    )
    partial = {r: ids for r, ids in revealed.items() if r != run}
    got = fold_inputs(lacking, fold, partial).eval_run_specs_df.set_index(RUN)
    assert got.loc[run, NUM_EVAL_INSTANCES] == 0 and got.loc[run, NUM_REVEALED] == 0
    assert got.loc[run, TARGET_NAMES] == [] and pd.isna(got.loc[run, TARGET_SPLIT])
    states = fold_inputs(lacking, fold, partial).eval_scenario_states_df
    assert run not in set(states[RUN]) and set(states[RUN]) == set(fold.eval_runs) - {run}
    overlap = dataclasses.replace(fold, train_runs=fold.train_runs + (run,))
    with pytest.raises(AssertionError, match="^a run is both train and eval$"):
        fold_inputs(small_demo_corpus, overlap, revealed)


def test_kfold_defaults_labels_and_folds_are_stable_across_versions():
    """Published results name their folds, so seed 0's kfold assignment is part of the contract: it must not
    change between versions (these are the folds magnet has produced since kfold was introduced)."""
    specs = pd.DataFrame({RUN: [f"r{i}" for i in range(7)], "run_spec.adapter_spec.model": ["m"] * 7})
    default = make_folds(specs, "kfold")
    assert [(f.label, f.eval_runs) for f in default] == [
        ("fold 1/5", ("r0", "r5")), ("fold 2/5", ("r1", "r6")), ("fold 3/5", ("r4",)), ("fold 4/5", ("r3",)),
        ("fold 5/5", ("r2",))]
    assert default == make_folds(specs, "kfold", n_folds=5, seed=0)
    assert [(f.label, f.eval_runs) for f in make_folds(specs, "kfold", n_folds=3, seed=0)] == [
        ("fold 1/3", ("r3", "r5", "r6")), ("fold 2/3", ("r1", "r2")), ("fold 3/3", ("r0", "r4"))]
    for f in default:
        assert f.strategy == "kfold" and f.train_runs == tuple(r for r in specs[RUN] if r not in f.eval_runs)


def test_revealed_sample_is_stable_across_versions(small_demo_corpus):
    """Like the folds, the revealed sample of seed 0 is part of published results and must not change."""
    from magnet.protocol.splits import revealed_ids

    assert revealed_ids(IDS, 5, seed=0, run="a") == ["id19", "id20", "id25", "id36", "id39"]
    assert revealed_ids(IDS, 5, seed=1, run="a") == ["id7", "id9", "id25", "id28", "id36"]
    default = reveal(small_demo_corpus)
    assert default == reveal(small_demo_corpus, 10, seed=0)
    assert default == {run: revealed_ids(ids, 10, 0, run) for run, ids in small_demo_corpus.eval_instances.items()}
    assert len({tuple(ids) for ids in default.values()}) > 1  # each run its own sample


# ------------------------------------------------------------------ the peers' splits and selection inputs


def model_specs(n_models: int, runs_per_model: int = 3) -> pd.DataFrame:
    """Run specs of ``n_models`` models x ``runs_per_model`` scenarios, runs listed scenario by scenario."""
    rows = [(f"s{j}:model=m{i}", f"m{i}") for j in range(runs_per_model) for i in range(n_models)]
    return pd.DataFrame(rows, columns=[RUN, "run_spec.adapter_spec.model"])


def models_of(specs: pd.DataFrame, runs) -> set[str]:
    return set(specs.set_index(RUN).loc[list(runs), "run_spec.adapter_spec.model"])


@pytest.mark.parametrize("n_models", [2, 3, 4, 7, 12])
@pytest.mark.parametrize("share", [None, 0.5, 0.9])
def test_interpolation_holds_out_whole_models_rounded_down(n_models, share):
    specs = model_specs(n_models)
    (fold,) = make_folds(specs, "interpolation", seed=3, eval_fraction=share)
    n_eval = min(max(1, int((0.25 if share is None else share) * n_models)), n_models - 1)
    eval_models, train_models = models_of(specs, fold.eval_runs), models_of(specs, fold.train_runs)
    assert len(eval_models) == n_eval and eval_models | train_models == {f"m{i}" for i in range(n_models)}
    assert not eval_models & train_models
    assert set(fold.eval_runs) == set(specs[specs["run_spec.adapter_spec.model"].isin(eval_models)][RUN])
    assert list(fold.train_runs) + list(fold.eval_runs) == sorted(specs[RUN], key=lambda r: (
        r in fold.eval_runs, list(specs[RUN]).index(r)))  # each side in run_specs order
    assert (fold.strategy, fold.index, fold.label) == ("interpolation", 0, f"interpolation {n_eval}/{n_models} models")


def test_interpolation_draws_each_model_equally_often_over_seeds():
    specs = model_specs(8, runs_per_model=1)
    counts = pd.Series(0, index=[f"m{i}" for i in range(8)])
    for seed in range(400):
        (fold,) = make_folds(specs, "interpolation", seed=seed)
        counts[sorted(models_of(specs, fold.eval_runs))] += 1
    # 2 of 8 models each time: each model 100 times in expectation (sd 8.7)
    assert counts.sum() == 800 and counts.between(65, 135).all(), counts.to_dict()
    assert make_folds(specs, "interpolation", seed=1) == make_folds(specs, "interpolation", seed=1)


@pytest.mark.parametrize("n_models, fractions", [(10, (None, None)), (7, (0.4, 0.4)), (2, (0.5, 0.5)), (5, (0.1, 0.1))])
def test_extrapolation_trains_on_the_worst_models_and_evaluates_the_best(n_models, fractions):
    rng = np.random.default_rng(n_models)
    specs = model_specs(n_models)
    scores = pd.Series(rng.uniform(size=len(specs)), index=specs[RUN])
    train_fraction, eval_fraction = fractions
    (fold,) = make_folds(specs, "extrapolation", scores=scores, train_fraction=train_fraction, eval_fraction=eval_fraction)
    means = scores.groupby(specs.set_index(RUN)["run_spec.adapter_spec.model"]).mean().sort_values()
    n_train = max(1, int((0.5 if train_fraction is None else train_fraction) * n_models))
    n_eval = max(1, int((0.3 if eval_fraction is None else eval_fraction) * n_models))
    assert models_of(specs, fold.train_runs) == set(means.index[:n_train])
    assert models_of(specs, fold.eval_runs) == set(means.index[n_models - n_eval:])
    assert len(fold.train_runs) == 3 * n_train and len(fold.eval_runs) == 3 * n_eval
    assert fold.label == f"extrapolation bottom {n_train} -> top {n_eval} of {n_models} models"


@pytest.mark.parametrize("kwargs, message", [
    (dict(strategy="interpolation", n_models=1), r"^interpolation needs at least 2 models, got 1$"),
    (dict(strategy="extrapolation", n_models=1), r"^extrapolation needs at least 2 models, got 1$"),
    (dict(strategy="extrapolation", no_scores=True), r"^extrapolation needs each run's main score to rank the models$"),
    (dict(strategy="interpolation", eval_fraction=1.0), r"^eval fraction must be between 0 and 1 \(exclusive\), got 1.0$"),
    (dict(strategy="interpolation", eval_fraction=0.0), r"^eval fraction must be between 0 and 1 \(exclusive\), got 0.0$"),
    (dict(strategy="extrapolation", train_fraction=1.5), r"^train fraction must be between 0 and 1 \(exclusive\), got 1.5$"),
    (dict(strategy="extrapolation", eval_fraction=-0.1), r"^eval fraction must be between 0 and 1 \(exclusive\), got -0.1$"),
    (dict(strategy="extrapolation", train_fraction=0.7, eval_fraction=0.4),
     r"^train fraction \+ eval fraction must be <= 1, got 0.7 \+ 0.4$"),
    (dict(strategy="extrapolation", drop_model="m2"), r"^extrapolation: model 'm2' has no main score$"),
])
def test_peer_splits_refuse_bad_input(kwargs, message):
    kwargs = dict(kwargs)
    specs = model_specs(kwargs.pop("n_models", 5))
    scores = pd.Series(np.linspace(0, 1, len(specs)), index=specs[RUN])
    if kwargs.pop("no_scores", False):
        scores = None
    drop = kwargs.pop("drop_model", None)
    if drop:  # a model none of whose runs has a score
        scores = scores.drop([r for r in specs[RUN] if r.endswith(f"model={drop}")])
    with pytest.raises(ValueError, match=message):
        make_folds(specs, scores=scores, **kwargs)


def test_selection_inputs_show_train_data_and_eval_run_specs_only(small_demo_corpus, pristine):
    from magnet.protocol.splits import selection_inputs

    fold = make_folds(small_demo_corpus.run_specs, "kfold", n_folds=3, seed=1)[0]
    train, evals = set(fold.train_runs), set(fold.eval_runs)
    inputs = selection_inputs(small_demo_corpus, fold)
    assert set(inputs) == {"train_run_specs_df", "train_stats_df", "train_per_instance_stats_df", "eval_run_specs_df",
                           "candidates"}
    for key, table in (("train_run_specs_df", "run_specs"), ("train_stats_df", "stats"),
                       ("train_per_instance_stats_df", "per_instance_stats")):
        full = getattr(small_demo_corpus, table)
        assert frame_difference(inputs[key].reset_index(drop=True), full[full[RUN].isin(train)].reset_index(drop=True)) is None
    specs = inputs["eval_run_specs_df"].set_index(RUN)
    assert set(specs.index) == evals
    targets = small_demo_corpus.targets
    for run in evals:
        assert specs.loc[run, NUM_EVAL_INSTANCES] == len(small_demo_corpus.eval_instances.get(run, []))
        mine = targets[targets[RUN] == run]
        assert specs.loc[run, TARGET_NAMES] == list(dict.fromkeys(mine["target.name"]))
        assert specs.loc[run, TARGET_SPLIT] == mine["target.split"].iloc[0]
    expected: dict[str, list[str]] = {}
    for run, scenario in zip(small_demo_corpus.run_specs[RUN], scenario_of(small_demo_corpus.run_specs)):
        if run in evals:
            expected.setdefault(scenario, []).extend(small_demo_corpus.eval_instances.get(run, []))
    assert inputs["candidates"] == {k: list(dict.fromkeys(v)) for k, v in expected.items()}
    mutate_everything(inputs["train_per_instance_stats_df"])
    mutate_everything(inputs["eval_run_specs_df"])
    assert_corpus_intact(small_demo_corpus, pristine)


def test_selection_inputs_edges_runs_without_eval_instances_or_targets(small_demo_corpus):
    """One scenario held out (several models' runs): candidates are the union; a run missing from the eval-instance
    lists or the targets gets 0 instances, no target names and no candidates, never an error."""
    from magnet.protocol.splits import selection_inputs

    fold = next(f for f in make_folds(small_demo_corpus.run_specs, "leave-one-scenario-out") if len(f.eval_runs) > 2)
    inputs = selection_inputs(small_demo_corpus, fold)
    (scenario,) = set(scenario_of(small_demo_corpus.run_specs[small_demo_corpus.run_specs[RUN].isin(fold.eval_runs)]))
    union = list(dict.fromkeys(i for r in fold.eval_runs for i in small_demo_corpus.eval_instances.get(r, [])))
    assert inputs["candidates"] == {scenario: union}
    assert inputs["eval_run_specs_df"][NUM_EVAL_INSTANCES].dtype.kind == "i"
    run = fold.eval_runs[0]
    lacking = dataclasses.replace(
        small_demo_corpus,
        eval_instances={r: ids for r, ids in small_demo_corpus.eval_instances.items() if r != run},
        targets=small_demo_corpus.targets[small_demo_corpus.targets[RUN] != run],
    )
    got = selection_inputs(lacking, fold)
    specs = got["eval_run_specs_df"].set_index(RUN)
    assert specs.loc[run, NUM_EVAL_INSTANCES] == 0 and specs.loc[run, TARGET_NAMES] == []
    assert got["candidates"] == {scenario: list(dict.fromkeys(
        i for r in fold.eval_runs if r != run for i in small_demo_corpus.eval_instances.get(r, [])))}
    plain = fold_inputs(small_demo_corpus, fold, reveal(small_demo_corpus, 3))
    assert plain.eval_per_instance_stats_df is None  # only when asked


# ---------------------------------------------------------------------------------------------------------------------
# The private copy itself (magnet/protocol/private_copy.py) and the train frames copied on first read


def _mutable_ids(value, found: set) -> set:
    """ids of every mutable container reachable from ``value`` (lists, dicts, sets, arrays, other objects)."""
    if isinstance(value, (str, bytes, int, float, complex, type(None), np.generic, type(pd.NA), type(pd.NaT))):
        return found
    found.add(id(value))
    if isinstance(value, dict):
        for v in value.values():
            _mutable_ids(v, found)
    elif isinstance(value, (list, tuple, set, frozenset)) or (isinstance(value, np.ndarray) and value.dtype == object):
        for v in value:
            _mutable_ids(v, found)
    return found


def assert_private(source: pd.DataFrame, copy: pd.DataFrame) -> None:
    """``copy`` equals ``source`` (index reset), cell types included, and shares no mutable object with it."""
    expected = source.reset_index(drop=True)
    assert frame_difference(pickle.loads(pickle.dumps(expected)), copy) is None
    assert list(copy.dtypes) == list(expected.dtypes) and copy.attrs == expected.attrs
    for i in range(copy.shape[1]):
        assert [type(v) for v in copy.iloc[:, i]] == [type(v) for v in expected.iloc[:, i]]
        ours, theirs = set(), set()
        for v in copy.iloc[:, i]:
            _mutable_ids(v, ours)
        for v in expected.iloc[:, i]:
            _mutable_ids(v, theirs)
        assert not ours & theirs, f"column {copy.columns[i]!r} shares a mutable object with the corpus"
        if copy.dtypes.iloc[i].kind in "biufcmM":
            assert not np.shares_memory(copy.iloc[:, i].to_numpy(), source.iloc[:, i].to_numpy())
    assert copy.attrs is not source.attrs


class Kind(str, __import__("enum").Enum):
    A = "a"


def awkward_frame() -> pd.DataFrame:
    """Every kind of cell a predictor could mutate or a JSON round trip would get wrong."""
    shared = ["shared", {"deep": [1]}]
    df = pd.DataFrame({
        "refs": [[{"output": {"text": "x"}, "tags": ["correct"]}], None, [], shared],
        "mapping": [{"A": "x"}, {"1": [2.5, None]}, float("nan"), {"k": shared}],
        "odd": [(1, [2]), {1, 2}, np.array([1.0, 2.0]), [Kind.A, np.float64(0.5), float("nan"), 2 ** 70, {1: "a"}]],
        "text": ["a", None, "c", "d"],
        "flag": [True, None, False, True],
        "x": [1.0, 2.0, np.nan, 4.0],
        "n": pd.array([1, None, 3, 4], dtype="Int64"),
        "cat": pd.Categorical(["u", "v", "u", "v"]),
    }, index=[10, 3, 7, 5])
    df.attrs["skipped"] = [{"run": "r"}]
    return df


def test_private_copy_shares_no_mutable_object_and_keeps_every_value_and_type():
    from magnet.protocol.private_copy import private_copy

    source = awkward_frame()
    pristine = pickle.loads(pickle.dumps(source))
    copy = private_copy(source)
    assert_private(source, copy)
    assert copy["refs"][3] is copy["mapping"][3]["k"]  # objects shared between cells stay shared in the copy
    mutate_everything(copy)
    assert frame_difference(pristine, source) is None and source.attrs == pristine.attrs


@pytest.mark.parametrize("table", ("run_specs", "scenario_states", "stats", "per_instance_stats"))
def test_private_copy_of_the_corpus_tables(small_demo_corpus, table):
    from magnet.protocol.private_copy import private_copy

    source = getattr(small_demo_corpus, table)
    assert_private(source, private_copy(source))


def test_train_frames_are_copied_when_first_read_and_hold_no_eval_row(small_demo_corpus, pristine):
    from magnet.protocol.predict_call import as_splits
    from magnet.protocol.private_copy import Deferred, raw_attribute

    folds = make_folds(small_demo_corpus.run_specs, "leave-one-run-out")
    revealed = reveal(small_demo_corpus, 3)
    for fold in folds[:3]:
        inputs = fold_inputs(small_demo_corpus, fold, revealed, with_per_instance=True)
        train, _ = as_splits(inputs)
        for name in ("scenario_state", "stats", "per_instance_stats"):
            deferred = raw_attribute(train, name)
            assert type(deferred) is Deferred  # not copied until read
            assert set(deferred.rows[RUN]) == set(fold.train_runs)  # all a predictor could dig out: train rows
            before = pickle.loads(pickle.dumps(deferred.rows))
            frame = getattr(train, name)
            assert getattr(train, name) is frame and type(raw_attribute(train, name)) is pd.DataFrame
            assert_private(deferred.rows, frame)
            mutate_everything(frame)  # a MAGNET-style predictor vandalizing train_split.<name>
            assert frame_difference(before, deferred.rows) is None
        assert type(raw_attribute(inputs, "train_per_instance_stats_df")) is Deferred  # the splits did not read it
        mutate_everything(inputs.train_per_instance_stats_df)
    assert_corpus_intact(small_demo_corpus, pristine)
    again = fold_inputs(small_demo_corpus, folds[0], revealed, with_per_instance=True)
    assert_private(small_demo_corpus.scenario_states[small_demo_corpus.scenario_states[RUN].isin(folds[0].train_runs)],
                   again.train_scenario_states_df)
