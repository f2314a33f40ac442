"""magnet.testing.check_predictor: passes the example predictors, names the checks a broken predictor fails.

Also runs the example predictors' command lines once.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from magnet.helm_objects import make_stat
from magnet.predictor import Predictor
from magnet.testing import (CheckResult, PredictorCheckError, _yield_checks, check_deterministic,
                            check_inputs_not_mutated, check_no_work_in_init, check_predictor, parametrize_with_checks)
from predictors.example_perturbation_predictor import ExamplePerturbationPredictor
from predictors.example_random_predictor import ExampleRandomPredictor

ROOT = Path(__file__).resolve().parents[1]
CHECK_NAMES = [c.__name__ for c in _yield_checks()]


def targets_of(eval_run_specs_df):
    return zip(eval_run_specs_df["run_spec.name"], eval_run_specs_df["magnet.target_names"],
               eval_run_specs_df["magnet.target_split"])


class Broken(Predictor):
    """Unprefixed names, mutates a list inside its inputs, and draws unseeded random numbers."""

    def __init__(self, seed: int = 0):
        self.seed = seed

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df,
                eval_run_specs_df, eval_scenario_states_df):
        refs = eval_scenario_states_df["scenario_state.request_states.instance.references"]
        if len(refs):
            refs.iloc[0].append({"output": {"text": "peeked"}, "tags": []})
        rng = np.random.default_rng()
        return {run: [make_stat(name, rng.uniform(), split=split) for name in names]
                for run, names, split in targets_of(eval_run_specs_df)}


class Good(Predictor):
    """A valid predictor returning a tidy DataFrame (the other supported return type)."""

    def __init__(self, value: float = 0.5, seed: int = 0):
        self.value, self.seed = value, seed

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df,
                eval_run_specs_df, eval_scenario_states_df):
        rows = [(run, f"predicted_{name}", split, self.value) for run, names, split in targets_of(eval_run_specs_df)
                for name in names]
        return pd.DataFrame(rows, columns=["run_spec.name", "stats.name.name", "stats.name.split", "stats.mean"])


def failed(results: list[CheckResult]) -> list[str]:
    return [r.check for r in results if not r.passed]


@pytest.mark.parametrize("predictor", [ExampleRandomPredictor, ExamplePerturbationPredictor, ExamplePerturbationPredictor(seed=3),
                                       Good, Good(value=0.25)])
def test_valid_predictors_pass(predictor):
    results = check_predictor(predictor)
    assert [r.check for r in results] == CHECK_NAMES
    assert all(r.passed for r in results), [str(r) for r in results if not r.passed]


def test_broken_predictor_fails_with_named_checks():
    with pytest.raises(PredictorCheckError) as info:
        check_predictor(Broken)
    error = info.value
    assert isinstance(error, AssertionError)
    assert set(error.failed) >= {"check_names_prefixed", "check_inputs_not_mutated", "check_deterministic"}
    assert "check_finite_values" not in error.failed and "check_no_work_in_init" not in error.failed
    message = str(error)
    assert message.startswith("Broken failed")
    for name in ("check_names_prefixed", "check_inputs_not_mutated", "check_deterministic"):
        assert f"  - {name}: expected " in message
    assert "eval_scenario_states_df modified in fold 0" in message
    assert "'peeked'" in message
    assert "unprefixed name(s): exact_match" in message
    assert "predictions differ" in message


def test_raise_on_failure_false_returns_every_result():
    results = check_predictor(Broken, raise_on_failure=False)
    assert [r.check for r in results] == CHECK_NAMES
    assert set(failed(results)) == BROKEN_FAILS
    for r in results:
        assert r.expected and r.got and r.reason == f"expected {r.expected}; got {r.got}"


class MutatesTrainStats(Good):
    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df, eval_run_specs_df,
                eval_scenario_states_df):
        train_stats_df.sort_values("stats.mean", inplace=True)
        return super().predict(train_run_specs_df, train_scenario_states_df, train_stats_df, eval_run_specs_df,
                               eval_scenario_states_df)


class Stateful(Good):
    """Deterministic per call sequence but remembers earlier folds: breaks the 'inputs and seed only' rule."""

    def predict(self, *args, **kwargs):
        self.value = getattr(self, "calls", 0) / 10
        self.calls = getattr(self, "calls", 0) + 1
        return super().predict(*args, **kwargs)


class SlowInit(Good):
    def __init__(self, value: float = 0.5, seed: int = 0):
        time.sleep(0.6)
        super().__init__(value, seed)


class StoresData(Good):
    def __init__(self, value: float = 0.5, seed: int = 0):
        super().__init__(value, seed)
        self.table = list(range(10))


class OutOfRange(Good):
    def __init__(self, value: float = 1.5, seed: int = 0):
        super().__init__(value, seed)


class MissesAndInvents(Good):
    def predict(self, *args, **kwargs):
        df = super().predict(*args, **kwargs)
        df.loc[0, "run_spec.name"] = "invented-run"
        return df


class WrongPerturbation(ExampleRandomPredictor):
    def predict(self, *args, **kwargs):
        out = super().predict(*args, **kwargs)
        return {run: [make_stat(s.name.name, s.mean, split="valid", perturbation={"name": "typos", "computed_on": "worst"})
                      for s in stats] for run, stats in out.items()}


class ReturnsSeries(Good):
    def predict(self, *args, **kwargs):
        return super().predict(*args, **kwargs)["stats.mean"]


class Raises(Good):
    def predict(self, *args, **kwargs):
        raise RuntimeError("model file not found")


@pytest.mark.parametrize("predictor, expected_failures", [
    (MutatesTrainStats, {"check_inputs_not_mutated"}),
    (Stateful, {"check_deterministic"}),
    (StoresData, {"check_no_work_in_init"}),
    (OutOfRange, {"check_values_in_range"}),
    (MissesAndInvents, {"check_answers_all_eval_runs", "check_split_and_perturbation_match_targets"}),
    (WrongPerturbation, {"check_split_and_perturbation_match_targets"}),
    (ReturnsSeries, set(CHECK_NAMES) - {"check_no_work_in_init", "check_inputs_not_mutated"}),
    (Raises, set(CHECK_NAMES) - {"check_no_work_in_init"}),
])
def test_each_fault_fails_its_check(predictor, expected_failures):
    results = check_predictor(predictor, raise_on_failure=False)
    assert set(failed(results)) == expected_failures, [str(r) for r in results if not r.passed]


def test_slow_init_fails():
    result = check_no_work_in_init(SlowInit)
    assert not result.passed and re.fullmatch(r"constructing SlowInit took \d+\.\d\d s", result.got), result.got


def test_failure_reasons_are_specific():
    by_name = {r.check: r for r in check_predictor(Raises, raise_on_failure=False)}
    assert "predict raised RuntimeError: model file not found in fold 0" in by_name["check_finite_values"].got
    by_name = {r.check: r for r in check_predictor(ReturnsSeries, raise_on_failure=False)}
    assert by_name["check_returns_supported_type"].got == "Series in fold 0"
    by_name = {r.check: r for r in check_predictor(StoresData, raise_on_failure=False)}
    assert by_name["check_no_work_in_init"].got == "attributes that are not parameters of __init__: table"
    by_name = {r.check: r for r in check_predictor(WrongPerturbation, raise_on_failure=False)}
    assert "split=valid typos/worst" in by_name["check_split_and_perturbation_match_targets"].got


def test_checks_accept_a_predictor_or_an_instance():
    assert check_deterministic(ExampleRandomPredictor(seed=5)).passed
    result = check_inputs_not_mutated(Broken)
    assert not result.passed and result.check == "check_inputs_not_mutated"


def test_checks_do_not_touch_the_given_instance():
    predictor = Stateful()
    check_predictor(predictor, raise_on_failure=False)
    assert not hasattr(predictor, "calls")


@parametrize_with_checks([ExampleRandomPredictor, ExamplePerturbationPredictor])
def test_example_predictors_follow_the_contract(predictor, check):
    result = check(predictor)
    assert result.passed


# Unprefixed names also match no target stat ("predicted_<name>" is how a prediction names its target).
BROKEN_FAILS = {"check_names_prefixed", "check_inputs_not_mutated", "check_deterministic",
                "check_split_and_perturbation_match_targets"}


@parametrize_with_checks([Broken])
def test_parametrized_checks_raise_on_failure(predictor, check):
    """Each case: the four checks Broken violates raise with their name; every other check passes."""
    if check.__name__ in BROKEN_FAILS:
        with pytest.raises(PredictorCheckError, match=check.__name__):
            check(predictor)
    else:
        result = check(predictor)
        assert isinstance(result, CheckResult)
        assert (result.check, result.passed) == (check.__name__, True), str(result)


def test_parametrized_checks_cover_every_check_once_per_predictor():
    mark = parametrize_with_checks([Broken, Good(value=0.25)])
    names = [check.__name__ for _, check in mark.args[1]]
    assert names == CHECK_NAMES * 2
    assert [type(p) if not isinstance(p, type) else p for p, _ in mark.args[1]] == [Broken] * 9 + [Good] * 9


@pytest.mark.parametrize("module", ["predictors.example_perturbation_predictor", "predictors.example_random_predictor"])
def test_example_predictor_cli(module, small_root):
    proc = subprocess.run([sys.executable, "-m", module, "--root-dir", str(small_root), "--quiet"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
