"""Damaged HELM outputs: every case gives a one-line error naming the file; errors= policies."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from magnet.backends.helm.errors import HelmOutputError, HelmOutputWarning
from magnet.backends.helm.outputs import HelmOutputs
from magnet.cli.main import main as magnet_main


def _first_run(suite: Path) -> Path:
    return sorted(p for p in suite.iterdir() if (p / "run_spec.json").exists())[0]


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _set(path: Path, mutate) -> None:
    obj = json.loads(path.read_text())
    path.write_text(json.dumps(mutate(obj)))


def _first_stat_mean_to_string(stats):
    stats[0]["mean"] = "high"
    return stats


# (case id, table to load, damage function(run_dir) -> damaged file or dir, expected words in the message)
CASES = [
    ("empty-run-dir", "stats", lambda run: (shutil.rmtree(run), run.mkdir(), run)[-1], "empty run directory"),
    ("truncated-stats", "stats", lambda run: (_truncate(run / "stats.json"), run / "stats.json")[-1], "invalid JSON"),
    ("truncated-run-spec", "run_specs", lambda run: (_truncate(run / "run_spec.json"), run / "run_spec.json")[-1], "invalid JSON"),
    ("truncated-scenario-state", "scenario_states",
     lambda run: (_truncate(run / "scenario_state.json"), run / "scenario_state.json")[-1], "invalid JSON"),
    ("truncated-per-instance", "per_instance_stats",
     lambda run: (_truncate(run / "per_instance_stats.json"), run / "per_instance_stats.json")[-1], "invalid JSON"),
    ("missing-stats", "stats", lambda run: ((run / "stats.json").unlink(), run / "stats.json")[-1], "file is missing"),
    ("empty-file", "stats", lambda run: ((run / "stats.json").write_text(""), run / "stats.json")[-1], "file is empty"),
    ("stats-not-a-list", "stats", lambda run: (_set(run / "stats.json", lambda s: {"stats": s}), run / "stats.json")[-1],
     "expected a JSON list"),
    ("mean-wrong-type", "stats", lambda run: (_set(run / "stats.json", _first_stat_mean_to_string), run / "stats.json")[-1],
     "'mean' should be a number, got str"),
    ("run-spec-name-wrong-type", "run_specs",
     lambda run: (_set(run / "run_spec.json", lambda s: {**s, "name": 3}), run / "run_spec.json")[-1], "'name' should be a string"),
    ("request-states-wrong-type", "scenario_states",
     lambda run: (_set(run / "scenario_state.json", lambda s: {**s, "request_states": {}}), run / "scenario_state.json")[-1],
     "'request_states' should be a list"),
]


@pytest.mark.parametrize("case,table,damage,words", CASES, ids=[c[0] for c in CASES])
def test_damage_gives_one_line_error_naming_the_file(small_copy, case, table, damage, words):
    run = _first_run(small_copy)
    damaged = damage(run)
    outputs = HelmOutputs.coerce(small_copy, cache_dir=False)
    with pytest.raises(HelmOutputError) as info:
        outputs.table(table)
    message = str(info.value)
    assert "\n" not in message
    assert str(damaged) in message and words in message, message


@pytest.mark.parametrize("case,table,damage,words", CASES, ids=[c[0] for c in CASES])
def test_skip_and_warn_load_the_good_runs_and_list_the_skipped(small_copy, case, table, damage, words):
    n_runs = len(list(p for p in small_copy.iterdir() if (p / "run_spec.json").exists()))
    damaged = damage(_first_run(small_copy))
    outputs = HelmOutputs.coerce(small_copy, cache_dir=False)
    df = outputs.table(table, errors="skip")
    assert [str(s.path) for s in df.attrs["skipped"]] == [str(damaged)]
    assert words in df.attrs["skipped"][0].problem
    if case != "empty-run-dir" and table != "run_specs":
        assert df["run_spec.name"].nunique() == n_runs - 1
    with pytest.warns(HelmOutputWarning, match="skipped 1 damaged run"):
        outputs.table(table, errors="warn")


def test_damage_is_not_hidden_by_the_cache(small_copy, tmp_path):
    outputs = HelmOutputs.coerce(small_copy, cache_dir=tmp_path / "cache")
    outputs.stats()
    _truncate(_first_run(small_copy) / "stats.json")
    with pytest.raises(HelmOutputError, match="invalid JSON"):
        outputs.stats()


def test_cli_exits_nonzero_with_the_one_line_message(small_copy, capsys):
    damaged = _first_run(small_copy) / "stats.json"
    _truncate(damaged)
    assert magnet_main(["ls", str(small_copy)]) == 2
    err = capsys.readouterr().err
    assert str(damaged) in err.replace("\n", "") and "Traceback" not in err
    assert magnet_main(["ls", str(small_copy), "--errors", "skip"]) == 0
    out = small_copy.parent / "stats.csv"
    assert magnet_main(["export", str(small_copy), "--table", "stats", "-o", str(out), "--errors", "skip"]) == 0
    assert out.is_file()


def test_cli_subprocess_reports_a_missing_path():
    proc = subprocess.run([sys.executable, "-m", "magnet.cli", "ls", "/no/such/benchmark_output"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "/no/such/benchmark_output: no such file or directory" in proc.stderr and "Traceback" not in proc.stderr
