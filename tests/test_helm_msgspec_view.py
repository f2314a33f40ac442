"""MAGNET's ``HelmRun.msgspec`` view (magnet/backends/helm/structs.py, run_views.RunMsgspecView) on real HELM output.

Every run in tests/data (HELM Safety v3, and the three helm-zoo layouts: AIR-Bench with annotations, the
Every Eval Ever fixtures with five files per run, MMLU on five deployments) decodes into structs, and the values
agree with magnet's own loader tables of the same run (stats, per-instance stats, request states, run spec) and
with HELM's dataclasses as dacite builds them. A damaged file is a one-line error naming it.
"""

from __future__ import annotations

import dataclasses
import glob
import shutil
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from magnet.backends.helm import structs
from magnet.backends.helm.errors import HelmOutputError
from magnet.backends.helm.helm_outputs import HelmRun, HelmRuns

DATA = Path(__file__).resolve().parent / "data"
SUITES = sorted({Path(p).parent.parent for p in glob.glob(str(DATA / "*/benchmark_output/runs/*/*/run_spec.json"))
                 if "latest" not in Path(p).parts})


def _num(x):
    return None if _opt(x) is None else round(float(x), 9)


def _opt(x):
    return None if x is None or (not isinstance(x, str) and pd.isna(x)) else x


def test_every_layout_of_tests_data_is_covered():
    assert {s.parent.parent.parent.name for s in SUITES} >= {
        "helm-safety-v3", "helm-zoo-air-bench-2024", "helm-zoo-evaleval-fixtures", "helm-zoo-villageflower-mmlu"}


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.parent.parent.parent.name)
def test_msgspec_view_agrees_with_the_loader_tables(suite):
    runs = HelmRuns.coerce(str(suite / "*"))
    stats, pis, state, spec = runs.stats(), runs.per_instance_stats(), runs.scenario_state(), runs.run_spec()
    assert len(runs.paths) == len(list(suite.glob("*/run_spec.json"))) >= 1
    for path in runs.paths:
        view = HelmRun(path).msgspec
        run_spec = view.run_spec()
        row = spec[spec["run_spec.name"] == run_spec.name]
        assert len(row) == 1, f"{path.name}: run_spec.name {run_spec.name!r} not in the loader's table"
        assert run_spec.adapter_spec.model == row["run_spec.adapter_spec.model"].iloc[0]
        assert run_spec.adapter_spec.max_eval_instances == _opt(row["run_spec.adapter_spec.max_eval_instances"].iloc[0])

        # stats.json: the same multiset of (metric, split, perturbation, count, mean) as the loader's rows.
        ours = Counter((s.name.name, s.name.split, s.name.perturbation and s.name.perturbation.name,
                        s.name.perturbation and s.name.perturbation.computed_on, s.count, _num(s.mean))
                       for s in view.stats())
        table = stats[stats["run_spec.name"] == run_spec.name]
        theirs = Counter(zip(table["stats.name.name"], map(_opt, table["stats.name.split"]),
                             map(_opt, table["stats.name.perturbation.name"]),
                             map(_opt, table["stats.name.perturbation.computed_on"]),
                             table["stats.count"].astype(int), map(_num, table["stats.mean"])))
        assert ours == theirs and sum(ours.values()) > 0, path.name

        # per_instance_stats.json: every (instance, trial, metric, split) -> mean the loader has.
        ours = Counter((p.instance_id, p.train_trial_index, s.name.name, s.name.split, _num(s.mean))
                       for p in view.per_instance_stats() for s in p.stats if s.name.perturbation is None)
        table = pis[pis["run_spec.name"] == run_spec.name]
        theirs = Counter(zip(table["per_instance_stats.instance_id"], table["per_instance_stats.train_trial_index"],
                             table["per_instance_stats.stats.name.name"],
                             map(_opt, table["per_instance_stats.stats.name.split"]),
                             map(_num, table["per_instance_stats.stats.mean"])))
        assert ours == theirs and sum(ours.values()) > 0, path.name

        # scenario_state.json: the same request states, in order, as the loader's rows read from that file.
        rows = state[(state["run_spec.name"] == run_spec.name) & (state["magnet.state_source"] == "scenario_state.json")]
        if not (path / "scenario_state.json").is_file():
            continue
        request_states = view.scenario_state().request_states
        assert len(request_states) == len(rows) > 0, path.name
        assert [rs.instance.id for rs in request_states] == list(rows["scenario_state.request_states.instance.id"])
        assert [rs.request.prompt for rs in request_states] == list(rows["scenario_state.request_states.request.prompt"])


def test_structs_hold_what_helms_dataclasses_hold():
    """The air-bench run: annotations, annotator specs, optional fields omitted from the JSON."""
    from helm.benchmark.adaptation.scenario_state import ScenarioState

    run = HelmRun(next(p.parent for p in sorted(DATA.glob("helm-zoo-air-bench-2024/benchmark_output/runs/run1/*/run_spec.json"))))
    ours, helm = run.msgspec.scenario_state(), run.dataclass.scenario_state()
    assert ours.__annotations__.keys() == helm.__annotations__.keys()
    # every field, nested, equal (Instance compares by identity in HELM, so compare as dicts)
    assert dataclasses.asdict(structs.to_dataclass(ours, ScenarioState)) == dataclasses.asdict(helm)
    assert ours.annotator_specs[0].class_name == helm.annotator_specs[0].class_name
    rs, hrs = ours.request_states[0], helm.request_states[0]
    assert rs.reference_index is None and rs.annotations == hrs.annotations  # omitted from the JSON
    assert rs.result.completions[0].text == hrs.result.completions[0].text
    # ScenarioState's derived indices, as HELM's metrics use them
    assert [i.id for i in ours.instances] == [i.id for i in helm.instances]
    assert sorted((k[0], k[1].id, k[2]) for k in ours.request_state_map) == \
        sorted((k[0], k[1].id, k[2]) for k in helm.request_state_map)
    assert list(run.msgspec.run_spec().__struct_fields__) == [f for f in run.dataclass.run_spec().__dataclass_fields__]
    assert [s.mean for s in run.msgspec.stats()] == [s.mean for s in run.dataclass.stats()]


def test_aiq_summarize_calls_on_the_msgspec_view():
    """The calls aiq-magnet's ``HelmOutputs.summarize`` makes on each run."""
    run = HelmRun(next(p.parent for p in sorted(DATA.glob("helm-safety-v3/benchmark_output/runs/v3/*/run_spec.json"))))
    adapter_spec = run.msgspec.scenario_state().adapter_spec
    assert len(run.msgspec.stats()) == len(run.json.stats())
    assert len(run.msgspec.per_instance_stats()) == len(run.json.per_instance_stats())
    assert len(run.msgspec.run_spec().metric_specs) == len(run.json.run_spec()["metric_specs"])
    assert (adapter_spec.num_outputs, adapter_spec.num_trials, adapter_spec.num_train_trials) == tuple(
        run.json.scenario_state()["adapter_spec"].get(k, d)
        for k, d in (("num_outputs", 5), ("num_trials", 1), ("num_train_trials", 1)))


@pytest.mark.parametrize("damage, problem", [
    (lambda p: (p / "stats.json").write_text('[{"name": {"name": "x"}, "count": "many"}]'),
     "stats.json: does not match HELM's Stat: Expected `int`, got `str` - at `$[0].count`"),
    (lambda p: (p / "stats.json").write_text('[{"name": {"name": "x"'), "stats.json: does not match HELM's Stat"),
    (lambda p: (p / "stats.json").unlink(), "stats.json: file is missing"),
    (lambda p: (p / "per_instance_stats.json").write_text('[{"instance_id": "i", "stats": []}]'),
     "per_instance_stats.json: does not match HELM's PerInstanceStats: Object missing required field "
     "`train_trial_index` - at `$[0]`"),
])
def test_a_damaged_file_is_one_line_naming_it(tmp_path, damage, problem):
    src = next(p.parent for p in sorted(DATA.glob("helm-safety-v3/benchmark_output/runs/v3/*/run_spec.json")))
    run_dir = Path(shutil.copytree(src, tmp_path / src.name))
    damage(run_dir)
    method = "per_instance_stats" if "per_instance" in problem else "stats"
    with pytest.raises(HelmOutputError) as e:
        getattr(HelmRun(run_dir).msgspec, method)()
    assert str(e.value).startswith(str(run_dir / problem.split(":")[0])) and problem in str(e.value)
    assert "\n" not in str(e.value)
