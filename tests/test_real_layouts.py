"""Every real HELM layout in tests/data loads and benchmarks (issue 28: "more real layouts, in the tests").

Each ``tests/data/*/benchmark_output`` is real HELM output from a public repository (its README names the
source, commit and licence; docs/reference/real-layouts.md tabulates what each lacks). For every one, through
the ``magnet`` command as a user runs it: ``ls`` lists every suite with its runs, ``export`` of each of the four
tables has exactly as many rows as the raw JSON files hold (counted here straight from the files, without
magnet), and ``benchmark`` either writes a leaderboard or, where the layout has too few models or runs for
the split, stops with a one-line error saying so (never a traceback). A new layout copied into tests/data is
picked up by the glob; its benchmark is expected to succeed unless listed in ``BENCHMARK_ERRORS``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from magnet.backends.helm.outputs import HelmOutputs
from magnet.cli.main import main as magnet_main

DATA = Path(__file__).parent / "data"
LAYOUTS = sorted(p.parent.name for p in DATA.glob("*/benchmark_output"))
TABLES = ("run_specs", "scenario_states", "stats", "per_instance_stats")
PREDICTORS = ["predictors/revealed_sample_mean.py:RevealedSampleMean", "predictors/scenario_mean.py:ScenarioMean"]

#: Layouts whose benchmark must stop with a clear error, and the error's words: (split args, expected text).
BENCHMARK_ERRORS = {
    "helm-zoo-air-bench-2024": (["--split", "leave-one-model-out"], "needs runs of at least 2 models"),
}
#: Splits that must fail with a one-line error on a small layout (the default split is still benchmarked).
SPLIT_ERRORS = {
    "helm-zoo-evaleval-fixtures": (["--split", "kfold"], "kfold needs 2 <= n_folds"),
}


def raw_counts(root: Path) -> dict[str, dict[str, int]]:
    """Per suite, the rows each table must have, counted from the JSON files themselves.

    A suite reached through a symlink to a sibling (HELM's ``runs/latest``) is the same suite, counted once.
    """
    counts = {}
    for suite in sorted((root / "runs").iterdir()):
        if suite.is_symlink() and suite.resolve().parent == (root / "runs").resolve():
            continue
        runs = [r for r in sorted(suite.iterdir()) if (r / "run_spec.json").is_file()]
        if not runs:
            continue
        c = dict.fromkeys(TABLES, 0)
        c["run_specs"] = len(runs)
        for run in runs:
            state = run / "scenario_state.json"
            if state.is_file():
                c["scenario_states"] += len(json.loads(state.read_text())["request_states"])
            c["stats"] += len(json.loads((run / "stats.json").read_text()))
            c["per_instance_stats"] += sum(len(e["stats"]) for e in
                                           json.loads((run / "per_instance_stats.json").read_text()))
        counts[suite.name] = c
    return counts


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path, monkeypatch):
    """Every load parses the files (no table cache shared with other tests or runs)."""
    monkeypatch.setenv("MAGNET_CACHE_DIR", str(tmp_path / "cache"))


def test_every_layout_has_a_readme_naming_source_and_licence():
    assert {"helm-safety-v3", "helm-zoo-air-bench-2024", "helm-zoo-evaleval-fixtures",
            "helm-zoo-villageflower-mmlu"} <= set(LAYOUTS)
    for layout in LAYOUTS:
        text = (DATA / layout / "README.md").read_text()
        assert "github.com/" in text and "Licence" in text, layout


@pytest.mark.parametrize("layout", LAYOUTS)
def test_ls_lists_every_suite_and_export_has_the_raw_row_counts(layout, tmp_path, capsys):
    root = DATA / layout / "benchmark_output"
    expected = raw_counts(root)
    assert expected, f"{layout}: no runs"
    assert magnet_main(["ls", str(root)]) == 0
    out = capsys.readouterr().out
    for suite in expected:
        assert suite in out
    assert "latest" not in out  # runs/latest is the same suite, not a second one

    for table in TABLES:
        path = tmp_path / f"{table}.parquet"
        assert magnet_main(["export", "--table", table, "-o", str(path), str(root)]) == 0, table
        df = pd.read_parquet(path)
        got = df.groupby("suite").size().to_dict() if len(df) else {}
        want = {s: c[table] for s, c in expected.items() if c[table]}
        assert got == want, f"{layout} {table}: exported rows per suite {got}, raw files {want}"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_benchmark_runs_or_stops_with_a_one_line_error(layout, tmp_path, capsys):
    root = DATA / layout / "benchmark_output"
    split, error = BENCHMARK_ERRORS.get(layout, (["--split", "leave-one-model-out"], None))
    out_dir = tmp_path / "bench"
    args = ["benchmark", "--root-dir", str(root), *split, "--num-eval-samples", "5", "--no-builtin",
            "--out", str(out_dir), "--quiet", "--n-jobs", "1"]
    for p in PREDICTORS:
        args += ["--predictor", p]
    code = magnet_main(args)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    if error is None:
        assert code == 0, captured.err
        board = json.loads((out_dir / "leaderboard.json").read_text())
        assert board, layout
    else:
        assert code != 0
        first = [line for line in captured.err.splitlines() if line.startswith("error:")]
        assert len(first) == 1 and error in first[0], captured.err


@pytest.mark.parametrize("layout", sorted(SPLIT_ERRORS))
def test_a_split_the_layout_is_too_small_for_is_a_one_line_error(layout, tmp_path, capsys):
    split, error = SPLIT_ERRORS[layout]
    args = ["benchmark", "--root-dir", str(DATA / layout / "benchmark_output"), *split, "--no-builtin",
            "--predictor", PREDICTORS[0], "--out", str(tmp_path / "bench"), "--quiet"]
    assert magnet_main(args) != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and error in lines[0], err


def test_runs_latest_symlink_is_the_suite_it_points_to_and_keeps_its_own_cache(tmp_path):
    """HELM's ``runs/latest`` symlink: listed once under the real suite's name; reached directly, its
    tables carry the name ``latest`` and do not leak into the real suite's cached tables."""
    runs = DATA / "helm-zoo-air-bench-2024" / "benchmark_output" / "runs"
    assert (runs / "latest").is_symlink()
    cache = tmp_path / "tables"
    outputs = HelmOutputs.coerce(runs.parent, cache_dir=cache)
    assert [s.name for s in outputs.suites()] == ["run1"] and len(outputs.runs()) == 1
    assert [s.name for s in HelmOutputs.coerce(runs, cache_dir=cache).suites()] == ["run1"]
    via_link = HelmOutputs.coerce(runs / "latest", cache_dir=cache).table("run_specs")
    assert set(via_link["suite"]) == {"latest"}
    assert set(HelmOutputs.coerce(runs / "run1", cache_dir=cache).table("run_specs")["suite"]) == {"run1"}
    assert os.path.realpath(runs / "latest") == os.path.realpath(runs / "run1")


#: Small real layouts with at least 2 models: every built-in but GBM (slow; run by benchmarks/) on them.
SMALL_MULTI_MODEL = ("helm-zoo-evaleval-fixtures", "helm-zoo-villageflower-mmlu")


@pytest.mark.parametrize("layout", SMALL_MULTI_MODEL)
def test_builtins_predict_every_real_layout_on_the_metrics_scale(layout):
    """No fold fails, every predictor has a main row, and every prediction of these [0, 1] metrics
    (exact_match, f1_score) lies in [0, 1]."""
    import warnings

    from magnet.protocol.benchmark import benchmark
    from magnet.protocol.corpus import Corpus
    from predictors.builtin import BUILTIN_PREDICTORS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        corpus = Corpus.load(HelmOutputs.coerce(DATA / layout / "benchmark_output", cache_dir=False))
        preds = [cls() for cls in BUILTIN_PREDICTORS if cls.__name__ != "GBM"]
        board = benchmark(preds, corpus, splits=("leave-one-model-out",), num_eval_samples=5, n_boot=20,
                          progress=False)
    rows = {r.predictor: r for r in board.main_rows()}
    assert set(rows) == {p.__class__.__name__ for p in preds}
    for name, r in rows.items():
        assert r.failed_folds == 0 and r.n >= 1 and np.isfinite(r.mae), (name, r)
    j = board.joined
    main = j[j["target.key"] == j["target.name"]].dropna(subset=["predicted"])
    assert set(main["target.name"]) <= {"exact_match", "f1_score"}
    assert main["predicted"].between(0.0, 1.0).all(), main.loc[~main["predicted"].between(0.0, 1.0)]
