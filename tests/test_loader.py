"""Loading HELM outputs into flat tables: faithfulness, caching, real-data quirks."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from magnet.backends.helm.errors import HelmOutputError, HelmOutputWarning
from magnet.backends.helm.rebuild import SOURCE_COLUMN
from magnet.backends.helm.outputs import HelmOutputs


def _key(name: dict) -> tuple:
    p = name.get("perturbation") or {}
    return (name["name"], name.get("split"), name.get("sub_split"), p.get("name"), p.get("computed_on"))


def _row_key(row) -> tuple:
    def v(col):
        x = row.get(col)
        return None if x is None or (isinstance(x, float) and x != x) else x
    return (v("stats.name.name"), v("stats.name.split"), v("stats.name.sub_split"),
            v("stats.name.perturbation.name"), v("stats.name.perturbation.computed_on"))


def test_stats_table_is_faithful_to_every_stats_json(demo_outputs):
    table = demo_outputs.stats(cache=False)
    by_run = {name: g for name, g in table.groupby("run_spec.name")}
    for run in demo_outputs.runs():
        name = json.loads((run.path / "run_spec.json").read_text())["name"]
        expected = json.loads((run.path / "stats.json").read_text())
        got = by_run[name]
        assert len(got) == len(expected), name
        got_means = {}
        for row in got.to_dict("records"):
            got_means.setdefault(_row_key(row), []).append(row.get("stats.mean"))
        for stat in expected:
            means = got_means[_key(stat["name"])]
            if "mean" in stat:
                assert any(m == stat["mean"] for m in means), (name, stat["name"])
            else:
                assert all(pd.isna(m) for m in means)


def test_row_counts_match_file_contents_for_all_tables(demo_outputs):
    runs = demo_outputs.runs()
    n_states = sum(len(json.loads((r.path / "scenario_state.json").read_text())["request_states"]) for r in runs)
    n_stats = sum(len(json.loads((r.path / "stats.json").read_text())) for r in runs)
    n_pis = sum(len(e["stats"]) for r in runs for e in json.loads((r.path / "per_instance_stats.json").read_text()))
    assert len(demo_outputs.run_specs()) == len(runs)
    assert len(demo_outputs.scenario_states()) == n_states
    assert len(demo_outputs.stats()) == n_stats
    assert len(demo_outputs.per_instance_stats()) == n_pis


def test_documented_columns_exist(demo_outputs):
    expected = {
        "run_specs": ["run_spec.name", "run_spec.adapter_spec.model", "run_spec.scenario_spec.class_name"],
        "stats": ["stats.name.name", "stats.name.split", "stats.name.perturbation.name", "stats.mean", "stats.count"],
        "scenario_states": ["scenario_state.request_states.instance.id",
                            "scenario_state.request_states.instance.references",
                            "scenario_state.request_states.result.completions"],
        "per_instance_stats": ["per_instance_stats.instance_id", "per_instance_stats.stats.name.name"],
    }
    for table, cols in expected.items():
        df = demo_outputs.table(table)
        assert {"suite", "run_spec.name"} <= set(df.columns)
        assert set(cols) <= set(df.columns), (table, set(cols) - set(df.columns))
    refs = demo_outputs.scenario_states()["scenario_state.request_states.instance.references"]
    assert isinstance(refs.iloc[0], list) and "output" in refs.iloc[0][0]


def test_coerce_accepts_every_level(demo_root):
    suite = demo_root / "runs" / "demo"
    run = next(p for p in sorted(suite.iterdir()) if (p / "run_spec.json").exists())
    counts = [len(HelmOutputs.coerce(p).runs()) for p in (demo_root, demo_root / "runs", suite, run)]
    assert counts == [72, 72, 72, 1]
    assert len(HelmOutputs.coerce(run).stats()["run_spec.name"].unique()) == 1


@pytest.mark.parametrize("table", ["run_specs", "scenario_states", "stats", "per_instance_stats"])
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_the_load_that_fills_the_cache_equals_cold_and_cached_loads(small_copy, tmp_path, table, n_jobs, monkeypatch):
    """The filling load returns the frames it flattened; a re-open reads them back from the parts: same table."""
    from magnet.backends.helm import loading

    monkeypatch.setattr(loading, "PARALLEL_MIN_BYTES", 0)  # n_jobs=2: Python tables in worker processes too
    monkeypatch.setattr(loading, "PYTHON_CHUNK_BYTES", 100_000)  # several parts
    monkeypatch.setattr(loading, "ARROW_CHUNK_BYTES", 100_000)
    outputs = HelmOutputs.coerce(small_copy, cache_dir=tmp_path / "cache")
    cold = outputs.table(table, cache=False, n_jobs=n_jobs)
    filling = outputs.table(table, n_jobs=n_jobs)
    pd.testing.assert_frame_equal(filling, cold)
    pd.testing.assert_frame_equal(outputs.table(table, n_jobs=n_jobs), cold)
    columns = [c for c in cold.columns if c not in ("suite", "run_spec.name")][-2:]
    projected = HelmOutputs.coerce(small_copy, cache_dir=tmp_path / "cache2").table(table, columns=columns)
    pd.testing.assert_frame_equal(projected, cold[["suite", "run_spec.name", *columns]])


def test_cached_load_equals_cold_load_and_rereads_changed_files(small_copy, tmp_path):
    outputs = HelmOutputs.coerce(small_copy, cache_dir=tmp_path / "cache")
    cold = outputs.stats(cache=False)
    first = outputs.stats()
    second = outputs.stats()
    pd.testing.assert_frame_equal(cold, first)
    pd.testing.assert_frame_equal(first, second)
    # Change one run's stats.json: the next load must see the change.
    run = sorted(p for p in small_copy.iterdir() if (p / "stats.json").exists())[0]
    stats = json.loads((run / "stats.json").read_text())
    stats[0]["mean"] = 123.0
    (run / "stats.json").write_text(json.dumps(stats))
    os.utime(run / "stats.json", ns=(time.time_ns(), time.time_ns() + 10**9))
    again = outputs.stats()
    assert 123.0 in again["stats.mean"].values
    assert len(again) == len(first)
    # Rows come back in run order whether they were re-read, cached, or cached in the saved order.
    pd.testing.assert_frame_equal(again, outputs.stats(cache=False))
    pd.testing.assert_frame_equal(outputs.stats(), again)


def test_cache_of_a_subset_then_the_whole_suite_keeps_run_order(small_copy, tmp_path):
    runs = sorted(p.name for p in small_copy.iterdir() if (p / "stats.json").exists())
    cache = tmp_path / "cache"
    some = HelmOutputs.coerce(small_copy, cache_dir=cache)
    some._suites = [type(s)(s.path, tuple(runs[-3:])) for s in some.suites()]  # a later-sorting subset first
    assert some.stats()["run_spec.name"].nunique() == 3
    whole = HelmOutputs.coerce(small_copy, cache_dir=cache)
    cold = whole.stats(cache=False)
    pd.testing.assert_frame_equal(whole.stats(), cold)
    pd.testing.assert_frame_equal(whole.stats(), cold)
    pd.testing.assert_frame_equal(some.stats(), some.stats(cache=False))  # the subset's own columns, as cold


def test_helm_object_view(demo_outputs):
    from helm.benchmark.metrics.statistic import Stat

    run = demo_outputs.runs()[0]
    stats = run.stats()
    assert all(isinstance(s, Stat) for s in stats)
    table = demo_outputs.stats()
    own = table[table["run_spec.name"] == run.run_spec_json()["name"]]
    assert sorted(s.mean for s in stats if s.mean is not None) == sorted(own["stats.mean"].dropna())
    assert run.run_spec().adapter_spec.model.startswith("magnet-sim/")


# Real-data quirks, on hand-made fixtures --------------------------------------------------------

def _runs(suite: Path) -> list[Path]:
    return sorted(p for p in suite.iterdir() if (p / "run_spec.json").exists())


def test_count_zero_stats_without_mean_are_kept(small_copy):
    run = _runs(small_copy)[0]
    stats = json.loads((run / "stats.json").read_text())
    stats.append({"name": {"name": "num_references", "split": "valid"}, "count": 0, "sum": 0, "sum_squared": 0})
    (run / "stats.json").write_text(json.dumps(stats))
    table = HelmOutputs.coerce(small_copy, cache_dir=False).stats()
    row = table[(table["stats.name.name"] == "num_references") & (table["stats.name.split"] == "valid")
                & (table["run_spec.name"] == json.loads((run / "run_spec.json").read_text())["name"])]
    assert len(row) == 1 and row["stats.count"].iloc[0] == 0 and pd.isna(row["stats.mean"].iloc[0])


def test_perturbation_fields_become_columns_even_on_unperturbed_runs(demo_outputs):
    table = demo_outputs.stats()
    plain = table[~table["run_spec.name"].str.contains("data_augmentation")]
    assert {"robustness", "fairness"} <= set(plain["stats.name.perturbation.name"].dropna())
    assert "worst" in set(plain["stats.name.perturbation.computed_on"].dropna())


def test_repeated_instance_entries_in_per_instance_stats_are_all_kept(small_copy):
    run = _runs(small_copy)[0]
    entries = json.loads((run / "per_instance_stats.json").read_text())
    extra = {"instance_id": entries[0]["instance_id"], "train_trial_index": entries[0]["train_trial_index"],
             "stats": [{"name": {"name": "extra_metric", "split": "test"}, "count": 1, "sum": 1.0,
                        "sum_squared": 1.0, "min": 1.0, "max": 1.0, "mean": 1.0, "variance": 0.0, "stddev": 0.0}]}
    (run / "per_instance_stats.json").write_text(json.dumps(entries + [extra]))
    table = HelmOutputs.coerce(run, cache_dir=False).per_instance_stats()
    same = table[table["per_instance_stats.instance_id"] == entries[0]["instance_id"]]
    assert "extra_metric" in set(same["per_instance_stats.stats.name.name"])
    assert len(table) == sum(len(e["stats"]) for e in entries) + 1


def test_missing_optional_file_is_reported_not_failed(small_copy):
    run = _runs(small_copy)[0]
    (run / "scenario_state.json").unlink()
    with pytest.warns(HelmOutputWarning, match="scenario_state.json"):
        table = HelmOutputs.coerce(small_copy, cache_dir=False).scenario_states()
    assert [m.path for m in table.attrs["missing"]] == [str(run / "scenario_state.json")]
    # Its request states are rebuilt from the files HELM wrote from them, and said so.
    name = json.loads((run / "run_spec.json").read_text())["name"]
    suite = run.parent.name
    assert table.attrs["rebuilt"] == {(suite, name): "instances.json+display_predictions.json+display_requests.json"}
    assert table["run_spec.name"].nunique() == len(_runs(small_copy))
    for f in ("instances.json", "display_predictions.json", "per_instance_stats.json"):
        (run / f).unlink()
    with pytest.warns(HelmOutputWarning, match="they add no rows"):
        table = HelmOutputs.coerce(small_copy, cache_dir=False).scenario_states()
    assert table["run_spec.name"].nunique() == len(_runs(small_copy)) - 1 and table.attrs["rebuilt"] == {}


def test_rebuilt_source_names_only_the_files_used(small_copy):
    run = _runs(small_copy)[0]
    (run / "scenario_state.json").unlink()
    (run / "display_requests.json").unlink()  # many published runs have none
    with pytest.warns(HelmOutputWarning, match=r"rebuilt from instances.json\+display_predictions.json \("):
        table = HelmOutputs.coerce(small_copy, cache_dir=False).scenario_states()
    assert set(table.attrs["rebuilt"].values()) == {"instances.json+display_predictions.json"}
    rows = table[table["run_spec.name"] == json.loads((run / "run_spec.json").read_text())["name"]]
    assert set(rows[SOURCE_COLUMN]) == {"instances.json+display_predictions.json"}


def test_older_run_spec_schema_loads(small_copy):
    run = _runs(small_copy)[0]
    spec = json.loads((run / "run_spec.json").read_text())
    for key in ("model_deployment", "num_trials"):
        spec["adapter_spec"].pop(key, None)
    spec["metric_specs"] = [{"class_name": "helm.benchmark.basic_metrics.BasicMetric", "args": {"names": ["exact_match"]}}]
    (run / "run_spec.json").write_text(json.dumps(spec))
    table = HelmOutputs.coerce(small_copy, cache_dir=False).run_specs()
    assert len(table) == len(_runs(small_copy))
    assert table["run_spec.adapter_spec.model_deployment"].isna().sum() == 1


def test_parallel_loading_equals_serial_loading(small_root, monkeypatch):
    from magnet.backends.helm import loading

    outputs = HelmOutputs.coerce(small_root, cache_dir=False)
    serial = {t: outputs.table(t, n_jobs=1) for t in ("stats", "run_specs")}
    monkeypatch.setattr(loading, "PARALLEL_MIN_BYTES", 0)
    for table, expected in serial.items():
        pd.testing.assert_frame_equal(outputs.table(table, n_jobs=2), expected)


def test_column_projection_reads_only_the_asked_columns(small_copy, tmp_path):
    outputs = HelmOutputs.coerce(small_copy, cache_dir=tmp_path / "cache")
    full = outputs.stats()
    cols = ["stats.name.name", "stats.mean"]
    projected = outputs.stats(columns=cols)  # from the cache
    assert list(projected.columns) == ["suite", "run_spec.name"] + cols
    pd.testing.assert_frame_equal(projected, full[["suite", "run_spec.name"] + cols])
    pd.testing.assert_frame_equal(outputs.stats(columns=cols, cache=False), projected)  # projected before pandas
    for table in ("run_specs", "per_instance_stats"):
        whole = outputs.table(table, cache=False)
        some = list(whole.columns[[3, 2]])
        pd.testing.assert_frame_equal(outputs.table(table, columns=some, cache=False),
                                      whole[["suite", "run_spec.name"] + some])
    with pytest.raises(ValueError, match="unknown columns"):
        outputs.stats(columns=["stats.nope"], cache=False)
    run = sorted(p for p in small_copy.iterdir() if (p / "stats.json").exists())[0]
    os.utime(run / "stats.json", ns=(time.time_ns(), time.time_ns() + 10**9))  # one run changed
    pd.testing.assert_frame_equal(outputs.stats(columns=cols), projected)
    pd.testing.assert_frame_equal(outputs.stats(), full)  # the cache still has every column
    with pytest.raises(ValueError, match="unknown columns"):
        outputs.stats(columns=["stats.nope"])


def _per_file_table(outputs, table, monkeypatch):
    """The table read file by file through the validating path (the batch parser switched off)."""
    from magnet.backends.helm import loading

    with monkeypatch.context() as m:
        m.setattr(loading, "read_json_files", lambda paths, sizes=None: None)
        return outputs.table(table, cache=False)


@pytest.mark.parametrize("table", ["stats", "per_instance_stats"])
def test_batch_arrow_parsing_is_taken_and_equals_the_per_file_path(demo_outputs, table, monkeypatch):
    from magnet.backends.helm import loading

    calls = []
    real = loading._read_batch_arrow
    monkeypatch.setattr(loading, "_read_batch_arrow", lambda *a: calls.append(r := real(*a)) or r)
    monkeypatch.setattr(loading, "ARROW_CHUNK_BYTES", 200_000)  # many chunks, parsed in threads
    batched = demo_outputs.table(table, cache=False, n_jobs=2)
    assert len(calls) > 3 and all(c is not None for c in calls)  # the fast path, not the fallback
    pd.testing.assert_frame_equal(batched, _per_file_table(demo_outputs, table, monkeypatch))


@pytest.mark.parametrize("unit", ["ARROW_CHUNK_BYTES", "ARROW_BATCH_BYTES"])
def test_one_damaged_file_sends_only_its_chunk_file_by_file(small_copy, monkeypatch, unit):
    from magnet.backends.helm import loading

    runs = _runs(small_copy)
    good = HelmOutputs.coerce(small_copy, cache_dir=False).stats()
    stats = json.loads((runs[1] / "stats.json").read_text())
    stats[0]["sum"] = 3  # an integer where the other files have floats: types are unified, not a failure
    stats[1]["mean"] = "high"  # a wrong type: the chunk falls back and this file is named
    (runs[1] / "stats.json").write_text(json.dumps(stats))
    monkeypatch.setattr(loading, unit, 1)  # one run per chunk (threads, parts) or per Arrow call
    table = HelmOutputs.coerce(small_copy, cache_dir=False).stats(errors="skip")
    assert [s.path for s in table.attrs["skipped"]] == [str(runs[1] / "stats.json")]
    assert "stats.mean" in table.attrs["skipped"][0].problem or "mean" in table.attrs["skipped"][0].problem
    bad_name = json.loads((runs[1] / "run_spec.json").read_text())["name"]
    expected = good[good["run_spec.name"] != bad_name].reset_index(drop=True)
    pd.testing.assert_frame_equal(table, expected)


def test_integer_and_float_values_of_one_field_unify_in_a_batch(small_copy):
    runs = _runs(small_copy)
    stats = json.loads((runs[0] / "stats.json").read_text())
    stats[0]["sum"], stats[0]["min"] = 2, 0  # HELM writes integral sums of counts as integers
    (runs[0] / "stats.json").write_text(json.dumps(stats))
    table = HelmOutputs.coerce(small_copy, cache_dir=False).stats()
    name = json.loads((runs[0] / "run_spec.json").read_text())["name"]
    row = table[table["run_spec.name"] == name].iloc[0]
    assert row["stats.sum"] == 2.0 and row["stats.min"] == 0.0 and table["stats.sum"].dtype == float


@pytest.mark.parametrize("table", ["run_specs", "scenario_states"])
def test_python_tables_read_chunk_by_chunk_equal_one_chunk(small_root, table, monkeypatch):
    from magnet.backends.helm import loading

    outputs = HelmOutputs.coerce(small_root, cache_dir=False)
    whole = outputs.table(table, n_jobs=1)
    monkeypatch.setattr(loading, "PYTHON_CHUNK_BYTES", 1)  # one run per chunk
    pd.testing.assert_frame_equal(outputs.table(table, n_jobs=1), whole)


def _plain_values(series) -> list:
    """A column's values as Python objects, every missing marker (None, NaN, pd.NA) as None."""
    return [None if (v is None or (not isinstance(v, (list, dict)) and pd.isna(v))) else v
            for v in series.astype(object)]


@pytest.mark.parametrize("table", ["run_specs", "scenario_states", "stats", "per_instance_stats"])
def test_pyarrow_dtype_backend_holds_the_same_values(small_copy, tmp_path, table):
    outputs = HelmOutputs.coerce(small_copy, cache_dir=tmp_path / "cache")
    plain = outputs.table(table, cache=False)
    for cache in (False, True, True):  # cold, filling the cache, from the cache
        lean = outputs.table(table, cache=cache, dtype_backend="pyarrow")
        assert list(lean.columns) == list(plain.columns)
        strings = [c for c in plain.columns if plain[c].map(lambda v: isinstance(v, str)).all()]
        assert strings and all(str(lean[c].dtype).startswith("string") for c in strings)
        for col in plain.columns:
            assert _plain_values(lean[col]) == _plain_values(plain[col]), col
    with pytest.raises(ValueError, match="dtype_backend"):
        outputs.table(table, dtype_backend="polars")


_numbers = st.one_of(st.integers(min_value=-10**6, max_value=10**6),
                     st.floats(allow_nan=False, allow_infinity=False, width=64))
_perturbations = st.one_of(st.none(), st.fixed_dictionaries(
    {"name": st.sampled_from(["typos", "lower", "robustness"])},
    optional={"robustness": st.booleans(), "fairness": st.booleans(),
              "computed_on": st.sampled_from(["perturbed", "worst"]), "prob": st.floats(0, 1), "seed": st.integers(0, 9)}))


@st.composite
def _stat(draw):
    name = {"name": draw(st.sampled_from(["exact_match", "num_instances", "f1"]))}
    if draw(st.booleans()):
        name["split"] = draw(st.sampled_from(["test", "valid"]))
    perturbation = draw(_perturbations)
    if perturbation is not None:
        name["perturbation"] = perturbation
    stat = {"name": name, "count": draw(st.integers(0, 50))}
    for field in ("sum", "sum_squared", "min", "max", "mean", "variance", "stddev"):
        if draw(st.booleans()):
            stat[field] = draw(_numbers)
    return stat


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(st.lists(_stat(), max_size=6), min_size=1, max_size=5), compact=st.booleans())
def test_batch_parsing_equals_file_by_file_on_generated_stats(tmp_path_factory, monkeypatch, files, compact):
    """Whatever mix of fields, types and omissions the files hold, both paths give the same table."""
    suite = tmp_path_factory.mktemp("runs") / "suite"
    for i, stats in enumerate(files):
        run = suite / f"run{i}"
        run.mkdir(parents=True)
        (run / "run_spec.json").write_text(json.dumps({"name": f"run{i}", "adapter_spec": {"model": "m"}}))
        (run / "stats.json").write_text(json.dumps(stats, indent=None if compact else 2))
    outputs = HelmOutputs.coerce(suite, cache_dir=False)
    batched = outputs.stats(cache=False)
    by_file = _per_file_table(outputs, "stats", monkeypatch)
    assert len(batched) == sum(len(s) for s in files)
    pd.testing.assert_frame_equal(batched, by_file)


def _parts(cache_root) -> set[str]:
    return {p.name for suffix in ("*.arrow", "*.parquet") for p in Path(cache_root).rglob(suffix)}


def test_cache_writes_a_part_per_chunk_and_rewrites_only_changed_runs(small_copy, tmp_path, monkeypatch):
    from magnet.backends.helm import loading

    monkeypatch.setattr(loading, "ARROW_CHUNK_BYTES", 1)  # one run per chunk, so one part per run
    runs = _runs(small_copy)
    outputs = HelmOutputs.coerce(small_copy, cache_dir=tmp_path / "cache")
    first = outputs.stats()
    parts = _parts(tmp_path / "cache")
    assert len(parts) == len(runs)
    stats = json.loads((runs[2] / "stats.json").read_text())
    stats[0]["mean"] = 0.123
    (runs[2] / "stats.json").write_text(json.dumps(stats))
    os.utime(runs[2] / "stats.json", ns=(time.time_ns(), time.time_ns() + 10**9))
    changed = outputs.stats()
    after = _parts(tmp_path / "cache")
    assert len(after - parts) == 1 and len(parts - after) == 1  # one new part; the superseded one is deleted
    pd.testing.assert_frame_equal(changed, outputs.stats(cache=False))
    a, b = changed["stats.mean"], first["stats.mean"]
    assert (~((a == b) | (a.isna() & b.isna()))).sum() == 1
    pd.testing.assert_frame_equal(outputs.stats(), changed)  # from the cache alone
    assert _parts(tmp_path / "cache") == after


@pytest.mark.parametrize("damage", ["delete", "truncate"])
def test_a_part_lost_under_the_cache_is_re_read_and_the_cache_repaired(small_copy, tmp_path, monkeypatch, damage):
    from magnet.backends.helm import loading

    monkeypatch.setattr(loading, "ARROW_CHUNK_BYTES", 1)  # one part per run
    outputs = HelmOutputs.coerce(small_copy, cache_dir=tmp_path / "cache")
    expected = outputs.per_instance_stats()
    lost = sorted(Path(tmp_path / "cache").rglob("*.arrow"))[:2]
    for part in lost:
        part.unlink() if damage == "delete" else part.write_bytes(part.read_bytes()[:100])
    for finished in Path(tmp_path / "cache").rglob("*.frame"):
        finished.unlink()  # else the finished table answers unchanged listings without reading any part
    pd.testing.assert_frame_equal(outputs.per_instance_stats(), expected)
    parts = set(Path(tmp_path / "cache").rglob("*.arrow"))
    assert len(parts) == len(_runs(small_copy)) and not parts & set(lost)  # lost runs re-read into new parts
    pd.testing.assert_frame_equal(outputs.per_instance_stats(), expected)
    assert set(Path(tmp_path / "cache").rglob("*.arrow")) == parts  # served from the repaired cache


def test_a_run_without_rows_does_not_hide_a_superseded_run_in_its_part(small_copy, tmp_path):
    runs = _runs(small_copy)
    (runs[0] / "stats.json").write_text("[]")  # a run with no stats shares the first part with the others
    outputs = HelmOutputs.coerce(small_copy, cache_dir=tmp_path / "cache")
    outputs.stats()
    stats = json.loads((runs[1] / "stats.json").read_text())
    stats[0]["mean"] = 0.5
    (runs[1] / "stats.json").write_text(json.dumps(stats))
    os.utime(runs[1] / "stats.json", ns=(time.time_ns(), time.time_ns() + 10**9))
    pd.testing.assert_frame_equal(outputs.stats(), outputs.stats(cache=False))  # the old rows of run 1 are gone
    pd.testing.assert_frame_equal(outputs.stats(), outputs.stats(cache=False))


def test_parts_of_a_concurrent_loader_are_kept_until_they_are_old(small_copy, tmp_path):
    outputs = HelmOutputs.coerce(small_copy, cache_dir=tmp_path / "cache")
    outputs.stats()
    folder = next(Path(tmp_path / "cache").rglob("manifest.json")).parent
    young, old = folder / "0000young0000000.arrow", folder / "0000old000000000.arrow"
    for orphan in (young, old):  # parts another process wrote and has not listed yet
        orphan.write_bytes(next(folder.glob("*.arrow")).read_bytes())
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    run = _runs(small_copy)[0]
    os.utime(run / "stats.json", ns=(time.time_ns(), time.time_ns() + 10**9))  # a change: the manifest is rewritten
    pd.testing.assert_frame_equal(outputs.stats(), outputs.stats(cache=False))
    assert young.exists() and not old.exists()


@pytest.mark.parametrize("table", ["stats", "scenario_states"])
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_the_progress_bar_counts_every_byte_parsed(small_copy, tmp_path, monkeypatch, table, n_jobs):
    import io

    from rich.console import Console

    from magnet.backends.helm import loading
    from magnet.backends.helm.load_progress import LoadProgress
    from magnet.backends.helm.tables import TABLE_FILES

    monkeypatch.setattr(loading, "PARALLEL_MIN_BYTES", 0)  # worker processes for scenario_states with 2 jobs
    monkeypatch.setattr(loading, "PYTHON_CHUNK_BYTES", 100_000)  # several chunks, each counted as it is done
    monkeypatch.setattr(loading, "ARROW_CHUNK_BYTES", 100_000)
    terminal = Console(file=io.StringIO(), force_terminal=True, width=120)
    bars = []

    class OnATerminal(LoadProgress):
        def __init__(self, label, want=None):
            super().__init__(label, want, console=terminal)
            bars.append(self)

    monkeypatch.setattr(loading, "LoadProgress", OnATerminal)
    outputs = HelmOutputs.coerce(small_copy, cache_dir=tmp_path / "cache")
    outputs.table(table, progress=True, n_jobs=n_jobs)
    expected = sum(os.path.getsize(run / TABLE_FILES[table]) for run in _runs(small_copy))
    assert (bars[-1].shown, bars[-1].completed, bars[-1].total) == (True, expected, expected)
    assert f"loading {table}" in terminal.file.getvalue()
    made = len(bars)
    outputs.table(table, progress=True)  # served from the cache: nothing parsed, no bar shown
    assert not any(bar.shown or bar.total for bar in bars[made:])
    outputs.table(table, cache=False)  # the default: a bar only for 64 MB or more of JSON
    assert not bars[-1].shown and bars[-1].completed == expected


def test_a_file_read_past_the_size_its_stat_gave_is_read_whole():
    """/proc files stat as 0 bytes and hold more: the reader goes on to the end (as a file that grew would)."""
    from magnet.backends.helm.loading import _read_bytes

    with open("/proc/self/status", "rb") as f:
        expected_start = f.read(5)
    data = _read_bytes("/proc/self/status")
    assert os.stat("/proc/self/status").st_size == 0 and data.startswith(expected_start) and b"\nPid:" in data


def test_flatten_names_are_the_same_with_the_memo_full(monkeypatch):
    """The memo of dotted names is bounded; past the bound names are still right, only built again."""
    from magnet.backends.helm import tables

    monkeypatch.setattr(tables, "DOTTED_MAX", 2)
    monkeypatch.setattr(tables, "_DOTTED", {})
    obj = {f"k{i}": {"a": i, "b": {"c": [i]}} for i in range(5)}
    expected = {f"x.k{i}.a": i for i in range(5)} | {f"x.k{i}.b.c": [i] for i in range(5)}
    for _ in range(2):
        out = tables.flatten(obj, "x", {})
        assert out == expected and list(out) == sorted(out, key=lambda k: (int(k[3]), k))
        assert len(tables._DOTTED) <= 2 and all(len(names) <= 2 for names in tables._DOTTED.values())


def test_corpus_of_a_folder_without_runs_is_a_one_line_error(small_root):
    """HelmOutputs(path) of a suite folder finds no suite below it: Corpus.load says so, not KeyError."""
    from magnet.protocol.corpus import Corpus

    outputs = HelmOutputs(small_root / "runs" / "demo")
    with pytest.raises(HelmOutputError, match="no HELM run found there"):
        Corpus.load(outputs)
