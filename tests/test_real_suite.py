"""A real HELM suite end to end: HELM Safety v3 (tests/data/helm-safety-v3, 36 real runs), as shipped and
with ``scenario_state.json`` deleted from half its runs, from all of them, and with only per-instance stats left.

What must hold on every layout: every run has eval instances and a revealed sample; the ``revealed_mean``
baseline exists for every run (through the train-chosen proxy for ``bbq_accuracy``, which has no per-instance
values); ``RevealedSampleMean`` equals it to 1e-12 and the MBE check flags it as a degenerate loss-proxy;
every leaderboard row's n is the number of runs its statistics used; rows with too few runs are
insufficient-data; nothing ends in a traceback.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from magnet.backends.helm.errors import HelmOutputWarning
from magnet.backends.helm.outputs import HelmOutputs
from magnet.backends.helm.rebuild import SOURCE_COLUMN, SOURCES
from magnet.cli.main import main as magnet_main
from magnet.protocol.benchmark import MIN_MBE_RUNS, benchmark
from magnet.protocol.corpus import RUN, STATE, Corpus
from magnet.protocol.splits import reveal
from predictors.model_mean import ModelMean
from predictors.revealed_sample_mean import RevealedSampleMean

SUITE = Path(__file__).parent / "data" / "helm-safety-v3" / "benchmark_output"
DISPLAY_FILES = ("instances.json", "display_predictions.json", "display_requests.json")
LAYOUTS = ("as-shipped", "half-without-state", "all-without-state", "per-instance-stats-only")


def _runs(root: Path) -> list[Path]:
    return sorted(p for p in (root / "runs" / "v3").iterdir() if (p / "run_spec.json").is_file())


def make_layout(tmp: Path, layout: str) -> Path:
    """A copy of the suite with files deleted as in published suites."""
    root = tmp / layout / "benchmark_output"
    shutil.copytree(SUITE, root)
    runs = _runs(root)
    strip = {"as-shipped": [], "half-without-state": runs[::2]}.get(layout, runs)
    for run in strip:
        (run / "scenario_state.json").unlink()
        if layout == "per-instance-stats-only":
            for name in DISPLAY_FILES:
                (run / name).unlink()
    return root


@pytest.fixture(scope="module", params=LAYOUTS)
def layout_board(request, tmp_path_factory):
    root = make_layout(tmp_path_factory.mktemp("real"), request.param)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HelmOutputWarning)
        corpus = Corpus.load(HelmOutputs.coerce(root, cache_dir=False))
    board = benchmark([RevealedSampleMean(), ModelMean()], corpus, splits=["leave-one-model-out"],
                      num_eval_samples=1, progress=False, n_boot=50)
    return request.param, corpus, board


def test_rebuilt_request_states_equal_the_real_ones(tmp_path):
    """Rows rebuilt from instances + display files equal scenario_state.json's rows in every column both carry."""
    real = HelmOutputs.coerce(SUITE, cache_dir=False).scenario_states()
    with pytest.warns(HelmOutputWarning, match="rebuilt from instances.json"):
        rebuilt = HelmOutputs.coerce(make_layout(tmp_path, "all-without-state"), cache_dir=False).scenario_states()
    assert set(real[SOURCE_COLUMN]) == {SOURCES[0]} and set(rebuilt[SOURCE_COLUMN]) == {SOURCES[1]}
    assert len(rebuilt.attrs["rebuilt"]) == 36 and len(rebuilt) == len(real) == 72
    key = [RUN, STATE + "instance.id", STATE + "train_trial_index"]
    both = real.merge(rebuilt, on=key, suffixes=("", ".rebuilt"))
    assert len(both) == len(real)
    common = [c for c in rebuilt.columns if c in real.columns and c not in key and c != SOURCE_COLUMN]
    assert {STATE + "instance.references", STATE + "request.prompt", STATE + "output_mapping",
            STATE + "result.completions"} <= set(common)
    assert any(c.startswith(STATE + "annotations.") for c in common)  # the LLM judges' scores
    for col in common:
        for a, b in zip(both[col], both[col + ".rebuilt"]):
            if col == STATE + "result.completions":  # the display files hold the text only
                a = [c["text"] for c in a]
                b = [c["text"] for c in b]
            missing_a = a is None or (isinstance(a, float) and np.isnan(a))
            missing_b = b is None or (isinstance(b, float) and np.isnan(b))
            assert (missing_a and missing_b) or a == b, f"{col}: {a!r} != {b!r}"


def test_rebuilt_rows_from_per_instance_stats_and_the_cache(tmp_path):
    root = make_layout(tmp_path, "per-instance-stats-only")
    outputs = HelmOutputs.coerce(root, cache_dir=tmp_path / "cache")
    with pytest.warns(HelmOutputWarning, match="rebuilt from per_instance_stats.json"):
        first = outputs.scenario_states()
    assert set(first[SOURCE_COLUMN]) == {SOURCES[2]}
    assert set(first[STATE + "instance.split"]) == {"test"} and first[RUN].nunique() == 36
    with pytest.warns(HelmOutputWarning):
        again = outputs.scenario_states()  # served from the cache
    pd.testing.assert_frame_equal(first, again)
    assert again.attrs["rebuilt"] == first.attrs["rebuilt"]
    # A changed source file is re-read: the cache is keyed on the files the rows were rebuilt from.
    run = _runs(root)[0]
    entries = json.loads((run / "per_instance_stats.json").read_text())
    (run / "per_instance_stats.json").write_text(json.dumps(entries[:1]))
    with pytest.warns(HelmOutputWarning):
        changed = outputs.scenario_states()
    name = json.loads((run / "run_spec.json").read_text())["name"]
    assert (changed[RUN] == name).sum() == 1 and (first[RUN] == name).sum() == 2


def test_every_run_has_eval_instances_a_revealed_sample_and_a_baseline(layout_board):
    layout, corpus, board = layout_board
    assert len(corpus.run_specs) == 36
    assert set(corpus.eval_instances) == set(corpus.run_specs[RUN]) and corpus.num_eval_instances().min() == 2
    revealed = reveal(corpus, 1)
    assert all(len(ids) == 1 for ids in revealed.values())
    joined = board.joined
    main = joined[(joined["target.key"] == joined["target.name"])]
    assert main[RUN].nunique() == 36
    assert main["revealed_mean"].notna().all(), f"{layout}: runs without a revealed_mean baseline"
    bbq = main[main["target.name"] == "bbq_accuracy"]
    assert len(bbq) == 2 * 9 and set(bbq["baseline_proxy"]) == {"exact_match"}
    assert main.loc[main["target.name"] != "bbq_accuracy", "baseline_proxy"].isna().all()
    choices = pd.DataFrame(board.to_json()["baseline_proxies"])
    assert set(choices["target.name"]) == {"bbq_accuracy"} and set(choices["proxy"]) == {"exact_match"}
    assert len(choices) == 9  # one choice per leave-one-model-out fold, from its train runs


def test_revealed_sample_mean_is_the_baseline_and_flagged_degenerate(layout_board):
    layout, _, board = layout_board
    j = board.joined[board.joined["predictor"] == "RevealedSampleMean"]
    assert len(j) and j["revealed_mean"].notna().all()
    assert np.abs(j["predicted"] - j["revealed_mean"]).max() <= 1e-12
    main = next(r for r in board.main_rows() if r.predictor == "RevealedSampleMean")
    assert main.mbe["verdict"] == "loss-proxy" and "function of the baseline" in main.mbe["reason"]
    assert main.baseline_proxy == "bbq_accuracy <- exact_match"


def test_n_is_the_runs_used_and_small_rows_are_insufficient(layout_board):
    _, _, board = layout_board
    joined = board.joined
    for row in board.rows:
        g = joined[(joined["predictor"] == row.predictor) & (joined["split"] == row.split)]
        g = g[g["target.key"] == g["target.name"]] if row.stat == "main" else g[g["target.key"] == row.stat]
        used = g[np.isfinite(g["predicted"]) & np.isfinite(g["actual"]) & g["revealed_mean"].notna()]
        assert row.n == len(used) == row.mbe["n"], (row.predictor, row.stat)
        assert row.n + row.n_dropped == len(g)
        if row.n < MIN_MBE_RUNS:
            assert row.mbe["verdict"] == "insufficient-data" and f"only {row.n} runs" in row.mbe["reason"]
        r = row.mbe.get("partial_r")
        assert r is None or not np.isfinite(r) or abs(r) < 1 - 1e-9 or row.mbe["verdict"] == "insufficient-data"
    per_target = [r for r in board.rows if r.stat != "main"]
    assert per_target and all(r.n == 9 and r.mbe["verdict"] == "insufficient-data" for r in per_target)


def test_dropped_runs_are_counted_with_the_reason(tmp_path):
    """Runs whose baseline cannot exist (no per-instance stats at all) are dropped from the row, and said so."""
    root = make_layout(tmp_path, "as-shipped")
    for run in _runs(root)[:4]:
        (run / "per_instance_stats.json").unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HelmOutputWarning)
        corpus = Corpus.load(HelmOutputs.coerce(root, cache_dir=False))
    board = benchmark([ModelMean()], corpus, splits=["leave-one-model-out"], num_eval_samples=1,
                      progress=False, n_boot=50)
    main = board.main_rows()[0]
    assert main.n == 32 and main.n_dropped == 4 and main.mbe["n"] == 32
    assert main.dropped == {"no revealed_mean baseline: the run has no per-instance stats": 4}
    assert board.to_json()["rows"][0]["dropped"] == main.dropped


def test_suite_without_any_per_instance_data_is_one_line_error_not_a_traceback(tmp_path, capsys):
    """Nothing can be revealed without per_instance_stats.json: the CLI says so before any work (issue 30)."""
    root = make_layout(tmp_path, "per-instance-stats-only")
    for run in _runs(root):
        (run / "per_instance_stats.json").unlink()
    out = tmp_path / "out"
    code = magnet_main(["benchmark", "--root-dir", str(root), "--split", "leave-one-model-out", "--no-builtin",
                        "--predictor", "predictors.model_mean:ModelMean", "--num-eval-samples", "1",
                        "--out", str(out), "--quiet", "--errors", "skip"])
    captured = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in captured.out + captured.err
    first = captured.err.strip().splitlines()[0]
    assert first.startswith("error: --root-dir") and "no run has per_instance_stats.json" in first
    assert not (out / "leaderboard.json").exists()


def test_cli_benchmark_on_the_published_layout_writes_stable_outputs(tmp_path, capsys):
    """``magnet benchmark`` on a suite without scenario_state.json: old columns and row fields kept, new ones added."""
    root = make_layout(tmp_path, "all-without-state")
    out = tmp_path / "out"
    code = magnet_main(["benchmark", "--root-dir", str(root), "--split", "leave-one-model-out", "--no-builtin",
                        "--predictor", "predictors.revealed_sample_mean:RevealedSampleMean",
                        "--num-eval-samples", "1", "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "baseline proxy: bbq_accuracy <- exact_match" in captured.out.replace("\n", " ")
    columns = pd.read_csv(out / "predictions.csv").columns.tolist()
    # The columns predictions.csv had before (same order), then the new one.
    assert columns == ["run_spec.name", "predicted", "fold", "fold_label", "predictor", "split", "actual",
                       "target.key", "target.name", "revealed_mean", "model", "baseline_proxy"]
    row = json.loads((out / "leaderboard.json").read_text())["rows"][0]
    assert {"predictor", "split", "stat", "n", "n_models", "mae", "mae_ci", "noise_floor", "revealed_mean_mae",
            "gain_share", "mbe", "n_dropped", "dropped", "baseline_proxy"} <= set(row)


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_export_in_skip_mode_keeps_the_skipped_runs_as_metadata(tmp_path, fmt):
    root = make_layout(tmp_path, "half-without-state")
    damaged = _runs(root)[1] / "scenario_state.json"
    damaged.write_text('{"request_states": [')
    out = tmp_path / f"states.{fmt}"
    assert magnet_main(["export", str(root), "--table", "scenario_states", "-o", str(out), "--errors", "skip"]) == 0
    meta = json.loads(out.with_name(out.name + ".meta.json").read_text())
    assert [s["path"] for s in meta["skipped"]] == [str(damaged)]
    assert "invalid JSON" in meta["skipped"][0]["problem"]
    assert len(meta["rebuilt"]) == 18 and len(meta["missing"]) == 18
    if fmt == "parquet":
        assert pd.read_parquet(out).attrs["skipped"] == meta["skipped"]
        assert all("/" in key for key in meta["rebuilt"])  # keyed "suite/run"


def test_parquet_export_keeps_lists_as_arrow_lists_and_names_the_json_columns(tmp_path):
    root = make_layout(tmp_path, "half-without-state")
    out = tmp_path / "run_specs.parquet"
    assert magnet_main(["export", str(root), "--table", "run_specs", "-o", str(out)]) == 0
    meta = json.loads(out.with_name(out.name + ".meta.json").read_text())
    api, back = HelmOutputs.coerce(root, cache_dir=False).run_specs(), pd.read_parquet(out)
    assert [list(v) for v in back["run_spec.groups"]] == list(api["run_spec.groups"])  # as the API returns them
    assert "run_spec.metric_specs" in meta["json_columns"] and "run_spec.groups" not in meta["json_columns"]
    assert back.attrs["json_columns"] == meta["json_columns"]
    assert [json.loads(v) for v in back["run_spec.metric_specs"]] == list(api["run_spec.metric_specs"])
