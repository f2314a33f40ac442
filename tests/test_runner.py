"""run_protocol: per-fold fault isolation (exceptions, time-outs, invalid predictions), parallel folds, resume.

The small demo corpus under leave-one-model-out has 4 folds, one per model,
in the order atlas-1b, atlas-70b, brook-13b, cirrus-8b. The faulty predictors
below misbehave only in the atlas-1b fold. They live at module level so that
joblib's worker processes can unpickle them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from magnet.helm_objects import make_stat
from magnet.predictor import PREDICTION_COLUMNS, Predictor
from magnet.protocol.runner import run_protocol

SPLIT = "leave-one-model-out"
FAULTY_MODEL = "magnet-sim/atlas-1b"


class Steady(Predictor):
    """A deterministic, valid predictor (a value per run from a hash); subclasses add one fault."""

    def __init__(self, seed: int = 0):
        self.seed = seed

    @staticmethod
    def value(run: str, seed: int) -> float:
        return (sum(map(ord, run)) * 7919 + seed) % 1000 / 999

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df,
                eval_run_specs_df, eval_scenario_states_df):
        if (eval_run_specs_df["run_spec.adapter_spec.model"] == FAULTY_MODEL).any():
            self.on_faulty_fold()
        out = {run: [make_stat(f"predicted_{name}", self.value(run, self.seed), split=split) for name in names]
               for run, names, split in zip(eval_run_specs_df["run_spec.name"], eval_run_specs_df["magnet.target_names"],
                                            eval_run_specs_df["magnet.target_split"])}
        if (eval_run_specs_df["run_spec.adapter_spec.model"] == FAULTY_MODEL).any():
            out = self.alter(out)
        return out

    def on_faulty_fold(self) -> None:
        pass

    def alter(self, out):
        return out


class RaisesInOneFold(Steady):
    def on_faulty_fold(self):
        raise ValueError("no data  for\nthis model")


class NanForOneRun(Steady):
    def alter(self, out):
        run = sorted(out)[0]
        out[run] = [make_stat(s.name.name, float("nan"), split=s.name.split) for s in out[run]]
        return out


class MissesOneRun(Steady):
    def alter(self, out):
        del out[sorted(out)[0]]
        return out


class AddsUnknownRun(Steady):
    def alter(self, out):
        out["no-such-run:model=nobody"] = [make_stat("predicted_exact_match", 0.5)]
        return out


class SleepsInOneFold(Steady):
    def on_faulty_fold(self):
        time.sleep(3600)  # only the fold time limit ends this; the test's own timeout catches a limit that fails


class ReturnsList(Steady):
    def alter(self, out):
        return list(out.items())


class ReturnsBadFrame(Steady):
    def alter(self, out):
        return pd.DataFrame({"run_spec.name": list(out), "value": 0.5})


class Counting(Steady):
    """Appends each fold's model to a file (works across worker processes); can simulate a Ctrl-C."""

    def __init__(self, counter: str = "", interrupt_flag: str = "", seed: int = 0):
        self.counter, self.interrupt_flag, self.seed = counter, interrupt_flag, seed

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df,
                eval_run_specs_df, eval_scenario_states_df):
        model = eval_run_specs_df["run_spec.adapter_spec.model"].iloc[0]
        with open(self.counter, "a") as f:
            f.write(model + "\n")
        if self.interrupt_flag and Path(self.interrupt_flag).exists() and model == "magnet-sim/brook-13b":
            raise KeyboardInterrupt
        return super().predict(train_run_specs_df, train_scenario_states_df, train_stats_df,
                               eval_run_specs_df, eval_scenario_states_df)


class BrokenUntilFixed(Counting):
    """Raises in the faulty fold while ``broken_flag`` exists: the user's bug, then their fix (same settings)."""

    def __init__(self, counter: str = "", broken_flag: str = "", seed: int = 0):
        super().__init__(counter=counter, seed=seed)
        self.broken_flag = broken_flag

    def on_faulty_fold(self):
        if Path(self.broken_flag).exists():
            raise KeyError("no_such_column")


def calls(counter: Path) -> list[str]:
    return counter.read_text().split() if counter.exists() else []


def by_label(result):
    return {f.label: f for f in result.folds}


def assert_one_faulty_fold(result, status: str, reason_part: str):
    folds = by_label(result)
    assert folds[FAULTY_MODEL].status == status, folds[FAULTY_MODEL]
    assert reason_part in folds[FAULTY_MODEL].reason, folds[FAULTY_MODEL].reason
    others = [f for label, f in folds.items() if label != FAULTY_MODEL]
    assert len(others) == 3 and all(f.status == "ok" and f.reason == "" for f in others), others
    assert result.failed_folds == [folds[FAULTY_MODEL]]


def sorted_predictions(df: pd.DataFrame) -> pd.DataFrame:
    cols = PREDICTION_COLUMNS + ["fold", "fold_label"]
    key = ["run_spec.name", "stats.name.name", "stats.name.perturbation.name", "stats.name.perturbation.computed_on"]
    df = df[cols].copy()
    return df.sort_values(key, key=lambda s: s.astype(str)).reset_index(drop=True)


def test_steady_predictor_all_folds_ok(small_demo_corpus):
    result = run_protocol(Steady(), small_demo_corpus, split=SPLIT, progress=False)
    assert [f.status for f in result.folds] == ["ok"] * 4
    models = small_demo_corpus.run_specs["run_spec.adapter_spec.model"]
    assert [f.label for f in result.folds] == sorted(models.unique())
    assert set(result.predictions["run_spec.name"]) == set(small_demo_corpus.run_specs["run_spec.name"])
    assert sum(f.n_predictions for f in result.folds) == len(result.predictions) == len(small_demo_corpus.run_specs)


def test_exception_in_one_fold_fails_only_that_fold(small_demo_corpus):
    result = run_protocol(RaisesInOneFold(), small_demo_corpus, split=SPLIT, progress=False)
    assert_one_faulty_fold(result, "failed", "raised ValueError: no data for this model")
    assert by_label(result)[FAULTY_MODEL].n_predictions == 0
    models = small_demo_corpus.models()
    predicted_models = set(result.predictions["run_spec.name"].map(models))
    assert predicted_models == set(models) - {FAULTY_MODEL}


def test_nan_for_one_run_is_partial(small_demo_corpus):
    result = run_protocol(NanForOneRun(), small_demo_corpus, split=SPLIT, progress=False)
    assert_one_faulty_fold(result, "partial", "non-finite")
    fold = by_label(result)[FAULTY_MODEL]
    assert fold.n_predictions == fold.n_eval_runs - 1
    assert np.isfinite(result.predictions["stats.mean"]).all()


def test_missing_run_is_partial(small_demo_corpus):
    result = run_protocol(MissesOneRun(), small_demo_corpus, split=SPLIT, progress=False)
    assert_one_faulty_fold(result, "partial", "missing eval runs (1 of 4)")
    assert result.predictions["run_spec.name"].nunique() == len(small_demo_corpus.run_specs) - 1


def test_unknown_run_is_reported_and_dropped(small_demo_corpus):
    result = run_protocol(AddsUnknownRun(), small_demo_corpus, split=SPLIT, progress=False)
    assert_one_faulty_fold(result, "partial", "unknown runs (not in this eval fold): no-such-run:model=nobody")
    assert "no-such-run:model=nobody" not in set(result.predictions["run_spec.name"])
    assert by_label(result)[FAULTY_MODEL].n_predictions == 4


@pytest.mark.timeout(300)
def test_timeout_fails_only_the_slow_fold(small_demo_corpus):
    result = run_protocol(SleepsInOneFold(), small_demo_corpus, split=SPLIT, timeout=1, progress=False)
    assert_one_faulty_fold(result, "failed", "timed out after 1 s")
    assert by_label(result)[FAULTY_MODEL].n_predictions == 0


@pytest.mark.parametrize("cls, reason", [
    (ReturnsList, "raised TypeError: predict() should return a dict of run name -> list[Stat] or a DataFrame, got list"),
    (ReturnsBadFrame, "raised ValueError: returned DataFrame lacks columns"),
])
def test_wrong_return_type_fails_the_fold(small_demo_corpus, cls, reason):
    result = run_protocol(cls(), small_demo_corpus, split=SPLIT, progress=False)
    assert_one_faulty_fold(result, "failed", reason)


def test_parallel_folds_match_serial_and_record_faults(small_demo_corpus):
    serial = run_protocol(RaisesInOneFold(), small_demo_corpus, split=SPLIT, n_jobs=1, progress=False)
    parallel = run_protocol(RaisesInOneFold(), small_demo_corpus, split=SPLIT, n_jobs=2, progress=False)
    assert_one_faulty_fold(parallel, "failed", "raised ValueError: no data for this model")
    assert [(f.index, f.label, f.status, f.reason) for f in parallel.folds] == \
           [(f.index, f.label, f.status, f.reason) for f in serial.folds]
    pd.testing.assert_frame_equal(sorted_predictions(parallel.predictions), sorted_predictions(serial.predictions))


@pytest.mark.timeout(300)  # the sleeping fold never returns unless the time limit applies in the worker process
def test_parallel_folds_time_out(small_demo_corpus):
    result = run_protocol(SleepsInOneFold(), small_demo_corpus, split=SPLIT, n_jobs=2, timeout=1, progress=False)
    assert_one_faulty_fold(result, "failed", "timed out after 1 s")


def test_resume_after_interruption_skips_finished_folds(small_demo_corpus, tmp_path):
    counter, flag = tmp_path / "calls.txt", tmp_path / "interrupt"
    flag.touch()
    predictor = Counting(counter=str(counter), interrupt_flag=str(flag))
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C while the third fold (brook-13b) runs
        run_protocol(predictor, small_demo_corpus, split=SPLIT, out_dir=out, progress=False)
    assert calls(counter) == ["magnet-sim/atlas-1b", "magnet-sim/atlas-70b", "magnet-sim/brook-13b"]
    assert len((out / "folds.jsonl").read_text().splitlines()) == 2

    flag.unlink()
    counter.unlink()
    resumed = run_protocol(Counting(counter=str(counter), interrupt_flag=str(flag)), small_demo_corpus, split=SPLIT,
                           out_dir=out, progress=False)
    assert calls(counter) == ["magnet-sim/brook-13b", "magnet-sim/cirrus-8b"]  # finished folds not recomputed
    assert [f.status for f in resumed.folds] == ["ok"] * 4

    counter.unlink()
    plain = run_protocol(Counting(counter=str(counter)), small_demo_corpus, split=SPLIT, progress=False)
    assert [(f.index, f.label, f.status, f.n_predictions) for f in resumed.folds] == \
           [(f.index, f.label, f.status, f.n_predictions) for f in plain.folds]
    pd.testing.assert_frame_equal(sorted_predictions(resumed.predictions), sorted_predictions(plain.predictions),
                                  check_exact=False, rtol=1e-9)

    counter.unlink()
    again = run_protocol(Counting(counter=str(counter), interrupt_flag=str(flag)), small_demo_corpus, split=SPLIT,
                         out_dir=out, progress=False)
    assert calls(counter) == []  # everything done: nothing recomputed
    pd.testing.assert_frame_equal(sorted_predictions(again.predictions), sorted_predictions(resumed.predictions))


def test_rerun_after_fixing_the_predictor_reruns_its_failed_folds(small_demo_corpus, tmp_path):
    """Issue 30: a rerun into the same --out after a fix runs the failed folds again instead of replaying the error."""
    counter, flag, out = tmp_path / "calls.txt", tmp_path / "broken", tmp_path / "out"
    flag.touch()
    first = run_protocol(BrokenUntilFixed(counter=str(counter), broken_flag=str(flag)), small_demo_corpus,
                         split=SPLIT, out_dir=out, progress=False)
    assert_one_faulty_fold(first, "failed", "KeyError: 'no_such_column'")
    flag.unlink()
    counter.unlink()
    fixed = run_protocol(BrokenUntilFixed(counter=str(counter), broken_flag=str(flag)), small_demo_corpus,
                         split=SPLIT, out_dir=out, progress=False)
    assert calls(counter) == [FAULTY_MODEL]  # only the failed fold runs again
    assert [f.status for f in fixed.folds] == ["ok"] * 4
    plain = run_protocol(Steady(), small_demo_corpus, split=SPLIT, progress=False)
    pd.testing.assert_frame_equal(sorted_predictions(fixed.predictions), sorted_predictions(plain.predictions),
                                  check_exact=False, rtol=1e-9)


def test_resume_after_cut_short_records_with_parallel_workers(small_demo_corpus, tmp_path):
    counter = tmp_path / "calls.txt"
    out = tmp_path / "out"
    full = run_protocol(Counting(counter=str(counter)), small_demo_corpus, split=SPLIT, out_dir=out, n_jobs=2,
                        progress=False)
    assert sorted(calls(counter)) == sorted(full.folds[i].label for i in range(4))
    # Simulate a crash: the record of the last two finished folds is lost, the last line is cut mid-write.
    lines = (out / "folds.jsonl").read_text().splitlines(keepends=True)
    kept = [json.loads(line)["label"] for line in lines[:2]]
    (out / "folds.jsonl").write_text("".join(lines[:2]) + lines[2][: len(lines[2]) // 2])
    counter.unlink()
    resumed = run_protocol(Counting(counter=str(counter)), small_demo_corpus, split=SPLIT, out_dir=out, n_jobs=2,
                           progress=False)
    assert sorted(calls(counter)) == sorted(set(f.label for f in full.folds) - set(kept))
    assert [f.status for f in resumed.folds] == ["ok"] * 4
    pd.testing.assert_frame_equal(sorted_predictions(resumed.predictions), sorted_predictions(full.predictions),
                                  check_exact=False, rtol=1e-9)


def test_resumed_predictions_are_exact(small_demo_corpus, tmp_path):
    """Predictions read back from the store equal the computed ones to the last bit (no rounding in JSON)."""
    counter = tmp_path / "calls.txt"
    out = tmp_path / "out"
    first = run_protocol(Counting(counter=str(counter)), small_demo_corpus, split=SPLIT, out_dir=out, progress=False)
    reread = run_protocol(Counting(counter=str(counter)), small_demo_corpus, split=SPLIT, out_dir=out, progress=False)
    assert len(calls(counter)) == 4
    a = sorted_predictions(first.predictions)["stats.mean"].to_numpy()
    b = sorted_predictions(reread.predictions)["stats.mean"].to_numpy()
    assert a.tolist() == b.tolist(), f"largest difference {np.abs(a - b).max():.3g}"


def test_rerun_with_another_config_in_same_out_dir_errors(small_demo_corpus, tmp_path):
    out = tmp_path / "out"
    run_protocol(Steady(), small_demo_corpus, split=SPLIT, out_dir=out, progress=False)
    with pytest.raises(ValueError, match=r"another setting: --seed 1 now, 0 there"):
        run_protocol(Steady(), small_demo_corpus, split=SPLIT, seed=1, out_dir=out, progress=False)
    with pytest.raises(ValueError, match=r"another setting: predictor parameters"):
        run_protocol(Steady(seed=3), small_demo_corpus, split=SPLIT, out_dir=out, progress=False)
    with pytest.raises(ValueError, match=r"another setting: --n-folds 3 now, 5 there; --split 'kfold' now"):
        run_protocol(Steady(), small_demo_corpus, split="kfold", n_folds=3, out_dir=out, progress=False)
    # the same configuration still resumes from it
    again = run_protocol(Steady(), small_demo_corpus, split=SPLIT, out_dir=out, progress=False)
    assert [f.status for f in again.folds] == ["ok"] * 4
