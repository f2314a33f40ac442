"""Every layout the real lm_eval writes is found and read back to lm-eval's own numbers (to 1e-9).

lm-eval's ``EvaluationTracker`` (0.4.13) names its files after ``--output_path``:

* a folder ``OUT``: ``OUT/<model>/results_<date>.json`` and ``OUT/<model>/samples_<task>_<date>.jsonl``;
* a file path ``OUT/run.json``: ``OUT/run_<date>.json`` and ``OUT/samples_<task>_<date>.jsonl``;
* without ``--log_samples``: the results file only;
* the same output path used twice: several results files (several dates) in one folder.

The logs are made here by the installed ``lm_eval`` (``magnet.backends.lm_eval.demo.run_lm_eval``: the
simulated models of the demo on its local tasks, exactly what ``lm_eval run`` writes), not hand-written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from magnet.tables.columns import TABLES, missing_columns

pytest.importorskip("lm_eval")

from magnet.backends import lm_eval as backend  # noqa: E402
from magnet.backends.lm_eval.demo import PRESETS, TASKS, run_lm_eval  # noqa: E402
from magnet.sources import detect_format, open_outputs  # noqa: E402

RUN = "run_spec.name"
MODELS = PRESETS["tiny"].models  # two simulated models
ALL_TASKS = {t.name for t in TASKS}


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    """One root holding each layout in its own folder, made by the real lm_eval."""
    root = tmp_path_factory.mktemp("lm-eval-layouts")
    mp = pytest.MonkeyPatch()
    mp.chdir(root)
    mp.setenv("HF_DATASETS_OFFLINE", "1")
    mp.setenv("HF_HUB_OFFLINE", "1")
    try:
        run_lm_eval(root / "folder", MODELS, 4, task_dir=root / "tasks4")
        run_lm_eval(root / "file" / "run.json", MODELS, 4, task_dir=root / "tasks4")
        run_lm_eval(root / "nosamples" / "run.json", MODELS[:1], 4, log_samples=False, task_dir=root / "tasks4")
        run_lm_eval(root / "twice", MODELS[:1], 4, task_dir=root / "tasks4")
        first = sorted((root / "twice").rglob("results_*.json"))
        run_lm_eval(root / "twice", MODELS[:1], 6, tasks=["magnet_sim_primes"], task_dir=root / "tasks6")
        second = sorted(set((root / "twice").rglob("results_*.json")) - set(first))
    finally:
        mp.undo()
    return {"root": root, "twice_first": first, "twice_second": second}


def _results_files(folder: Path) -> list[Path]:
    return sorted(f for f in folder.rglob("*.json") if f.parent.name != "tasks4")


def _check_against_results_json(tables: dict, files: list[Path], tasks=None) -> int:
    """Every metric, stderr and count of ``files`` (read here with json) equals the stats table to 1e-9."""
    stats = tables["stats"].set_index([RUN, "stats.name.name"])
    checked = 0
    for f in files:
        data = json.loads(f.read_text())
        for task in tasks or data["configs"]:
            res = data["results"][task]
            run = f"{task}:model={data['model_name'].replace('/', '_')}"
            for key, value in res.items():
                if "," not in key or "_stderr," in key:
                    continue
                row = stats.loc[(run, key)]
                assert abs(row["stats.mean"] - float(value)) <= 1e-9, (f, run, key)
                metric, flt = key.split(",", 1)
                assert abs(row["stats.stderr"] - float(res[f"{metric}_stderr,{flt}"])) <= 1e-9, (f, run, key)
                assert row["stats.count"] == data["n-samples"][task]["effective"]
                checked += 1
    return checked


def _per_instance_means_are_the_headline(tables: dict) -> None:
    pis = tables["per_instance_stats"]
    means = pis.groupby([RUN, "per_instance_stats.stats.name.name"])["per_instance_stats.stats.mean"].mean()
    stats = tables["stats"].set_index([RUN, "stats.name.name"])["stats.mean"]
    assert len(means) and all(abs(means[k] - stats[k]) <= 1e-9 for k in means.index)


def test_output_path_a_folder_and_its_model_subfolder(logs):
    folder = logs["root"] / "folder"
    models = sorted(p.name for p in folder.iterdir())
    assert models == sorted(m.name.replace("/", "__") for m in MODELS)  # lm-eval's sanitized model names
    assert detect_format(folder) == "lm-eval"
    t = backend.read_tables(folder)
    assert len(t["run_specs"]) == 2 * 3 and all(missing_columns(n, t[n]) == [] for n in TABLES)
    assert _check_against_results_json(t, _results_files(folder)) == len(t["stats"]) == 2 * 6
    _per_instance_means_are_the_headline(t)
    one = folder / models[0]  # one model's folder, and one results file, are lm-eval output too
    for path in (one, _results_files(one)[0]):
        assert detect_format(path) == "lm-eval"
        sub = backend.read_tables(path)
        assert set(sub["run_specs"]["run_spec.adapter_spec.model"]) == {models[0].replace("__", "/")}
        assert _check_against_results_json(sub, _results_files(one)) == len(sub["stats"]) == 6
        assert len(sub["per_instance_stats"]) > 0


def test_output_path_a_json_file(logs):
    """``--output_path OUT/run.json``: lm-eval writes OUT/run_<date>.json and the samples beside it."""
    folder = logs["root"] / "file"
    names = sorted(p.name for p in folder.iterdir())
    results = [n for n in names if n.endswith(".json")]
    assert len(results) == 2 and all(n.startswith("run_") for n in results), names
    assert sum(n.startswith("samples_") for n in names) == 2 * 3
    assert detect_format(folder) == "lm-eval" and backend.detect(folder / results[0])
    t = backend.read_tables(folder)
    assert len(t["run_specs"]) == 2 * 3 and t["stats"].attrs["missing"] == []
    assert set(t["run_specs"]["run_spec.adapter_spec.model"]) == {m.name for m in MODELS}
    assert _check_against_results_json(t, _results_files(folder)) == len(t["stats"]) == 2 * 6
    _per_instance_means_are_the_headline(t)
    assert t["scenario_states"].groupby(RUN).size().eq(4).all()
    # through the public entry point too
    assert len(open_outputs(folder).per_instance_stats()) == len(t["per_instance_stats"])


def test_without_log_samples_stats_only(logs):
    folder = logs["root"] / "nosamples"
    assert [p.name.startswith("run_") for p in folder.iterdir()] == [True]
    t = backend.read_tables(folder)
    assert len(t["run_specs"]) == 3 and len(t["per_instance_stats"]) == 0 and len(t["scenario_states"]) == 0
    assert len(t["stats"].attrs["missing"]) == 3
    assert _check_against_results_json(t, _results_files(folder)) == len(t["stats"]) == 6


def test_several_results_files_in_one_folder_keep_each_tasks_newest(logs):
    """The same model evaluated twice into one folder: per task, the newest results file's run is kept."""
    folder = logs["root"] / "twice"
    first, second = logs["twice_first"], logs["twice_second"]
    assert len(first) == 1 and len(second) == 1 and len(_results_files(folder)) == 2
    t = backend.read_tables(folder)
    assert sorted(t["run_specs"]["lm_eval.task"]) == sorted(ALL_TASKS)  # one run per (model, task)
    assert t["stats"].attrs["superseded"] == [str(first[0])]
    assert _check_against_results_json(t, second) == 2  # primes (6 docs) from the second run
    assert _check_against_results_json(t, first, tasks=["magnet_sim_compare", "magnet_sim_arithmetic"]) == 2 + 2
    counts = t["stats"].groupby(RUN)["stats.count"].first()
    assert counts[counts.index.str.startswith("magnet_sim_primes")].eq(6).all()
    assert t["scenario_states"].groupby(RUN).size().to_dict() == {
        r: (6 if r.startswith("magnet_sim_primes") else 4) for r in t["run_specs"][RUN]}
    _per_instance_means_are_the_headline(t)
