"""The table cache on the real HELM Safety v3 suite: round trips, snapshots, invalidation, nested values."""

from __future__ import annotations

import gc
import json
import os
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

from magnet.backends.helm import loading
from magnet.backends.helm.outputs import HelmOutputs

SUITE = Path(__file__).parent / "data" / "helm-safety-v3" / "benchmark_output"
TABLES = ("run_specs", "stats", "scenario_states", "per_instance_stats")
COMPLETIONS = "scenario_state.request_states.result.completions"
REFERENCES = "scenario_state.request_states.instance.references"


@pytest.fixture(params=["as-shipped", "without-scenario-state"])
def real_copy(request, tmp_path) -> Path:
    """A copy of the real suite, as shipped or with every scenario_state.json deleted (most published suites)."""
    root = tmp_path / "benchmark_output"
    shutil.copytree(SUITE, root)
    if request.param == "without-scenario-state":
        for state in root.glob("runs/*/*/scenario_state.json"):
            state.unlink()
    return root


def _touch(path: Path) -> None:
    """A new mtime, one second ahead (a rewrite within the filesystem's timestamp resolution would not show)."""
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))


def _snapshot(cache: Path, table: str) -> Path:
    return next(cache.glob(f"*/{table}/snapshot.json"))


def _finished(cache: Path, table: str, backend: str = "numpy") -> Path:
    """The one finished-table file of a table (there is never more than one per dtype backend)."""
    files = list(cache.glob(f"*/{table}/{backend}-*.frame"))
    assert len(files) == 1, files
    return files[0]


@pytest.mark.filterwarnings("ignore::magnet.backends.helm.errors.HelmOutputWarning")
def test_every_table_round_trips_through_the_cache_with_its_nested_values(real_copy, tmp_path, monkeypatch):
    """Cold, filling, snapshot and manifest loads give the same frames: dtypes, columns, lists of dicts."""
    from magnet.backends.helm import cache as table_cache

    cache = tmp_path / "cache"
    for table in TABLES:
        cold = HelmOutputs.coerce(real_copy, cache_dir=False).table(table, cache=False)
        filling = HelmOutputs.coerce(real_copy, cache_dir=cache).table(table)
        assert not list(cache.glob(f"*/{table}/*.frame"))  # a listing seen once: no finished table yet
        HelmOutputs.coerce(real_copy, cache_dir=cache).table(table)  # seen twice: the snapshot's load keeps it
        with monkeypatch.context() as m:  # nothing changed: the finished table is unpickled, nothing else read
            for name in ("load_manifest", "load_snapshot", "read_part_files"):
                m.setattr(table_cache, name, lambda *a, **k: pytest.fail("the finished table was not used"))
            finished = HelmOutputs.coerce(real_copy, cache_dir=cache).table(table)
        _finished(cache, table).unlink()
        with monkeypatch.context() as m:  # without it: the snapshot's parts are read, the manifest is not
            m.setattr(table_cache, "load_manifest", lambda *a: pytest.fail("the snapshot was not used"))
            snapshot = HelmOutputs.coerce(real_copy, cache_dir=cache).table(table)
        _finished(cache, table).unlink()
        _snapshot(cache, table).unlink()
        manifest = HelmOutputs.coerce(real_copy, cache_dir=cache).table(table)  # the manifest's per-run check
        for df in (filling, finished, snapshot, manifest):
            pd.testing.assert_frame_equal(df, cold, check_exact=True)
            assert df.attrs == cold.attrs
        assert _snapshot(cache, table).is_file() and _finished(cache, table).is_file()  # written again
    states = HelmOutputs.coerce(real_copy, cache_dir=cache).scenario_states()
    completions = states[COMPLETIONS].dropna()
    assert len(completions) and all(isinstance(c, list) and isinstance(c[0], dict) for c in completions)
    assert all(isinstance(r, list) for r in states[REFERENCES])
    if COMPLETIONS in states and "tokens" in completions.iloc[0][0]:
        assert isinstance(completions.iloc[0][0]["tokens"], list)  # nested two levels down, as parsed


def test_a_changed_file_is_seen_through_the_snapshot(tmp_path):
    """Editing one run's scenario_state.json changes the listing's digest: that run is re-read, nothing else."""
    root = tmp_path / "benchmark_output"
    shutil.copytree(SUITE, root)
    cache = tmp_path / "cache"
    outputs = HelmOutputs.coerce(root, cache_dir=cache)
    before = outputs.scenario_states()
    run = sorted(root.glob("runs/*/*/scenario_state.json"))[5]
    state = json.loads(run.read_text())
    state["request_states"][0]["result"]["completions"][0]["text"] = "an edited completion"
    run.write_text(json.dumps(state))
    _touch(run)
    after = outputs.scenario_states()
    texts = [c[0]["text"] for c in after[COMPLETIONS] if c]
    old_texts = [c[0]["text"] for c in before[COMPLETIONS] if c]
    assert "an edited completion" in texts and "an edited completion" not in old_texts
    pd.testing.assert_frame_equal(after, outputs.scenario_states(cache=False))
    pd.testing.assert_frame_equal(outputs.scenario_states(), after)  # the new snapshot


def test_a_renamed_run_is_seen_by_every_table(tmp_path):
    """run_spec.json is part of every table's key, and the remembered run names follow its size and mtime."""
    root = tmp_path / "benchmark_output"
    shutil.copytree(SUITE, root)
    outputs = HelmOutputs.coerce(root, cache_dir=tmp_path / "cache")
    for table in TABLES:
        outputs.table(table)
    spec_path = sorted(root.glob("runs/*/*/run_spec.json"))[0]
    spec = json.loads(spec_path.read_text())
    spec["name"] = spec["name"] + ",renamed=yes"
    spec_path.write_text(json.dumps(spec))
    _touch(spec_path)
    for table in TABLES:
        names = set(outputs.table(table)["run_spec.name"])
        assert spec["name"] in names, table
        assert set(HelmOutputs.coerce(root, cache_dir=False).table(table, cache=False)["run_spec.name"]) == names


@pytest.mark.parametrize("table", ["run_specs", "scenario_states"])
def test_parts_with_different_columns_concatenate_as_one_chunk(tmp_path, monkeypatch, table):
    """Runs of different scenarios have different columns: chunked and cached, gaps are None, as in one chunk."""
    one_chunk = HelmOutputs.coerce(SUITE, cache_dir=False).table(table, cache=False)
    monkeypatch.setattr(loading, "PYTHON_CHUNK_BYTES", 1)  # one run per chunk (and per part)
    outputs = HelmOutputs.coerce(SUITE, cache_dir=tmp_path / "cache")
    for df in (outputs.table(table, cache=False), outputs.table(table), outputs.table(table)):
        pd.testing.assert_frame_equal(df, one_chunk, check_exact=True)
    objects = one_chunk.select_dtypes(object)
    assert objects.isna().to_numpy().any() and not any(
        isinstance(v, float) for col in objects for v in objects[col])  # gaps are None, never NaN


@pytest.mark.parametrize("enabled", [True, False])
def test_a_load_leaves_the_garbage_collector_as_it_found_it(tmp_path, enabled):
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        HelmOutputs.coerce(SUITE, cache_dir=tmp_path / "cache").scenario_states()
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


def test_a_cache_written_by_other_library_versions_is_rebuilt(tmp_path, monkeypatch):
    """Pickled parts are trusted only by the pandas and numpy versions that wrote them."""
    from magnet.backends.helm import cache as table_cache

    cache = tmp_path / "cache"
    expected = HelmOutputs.coerce(SUITE, cache_dir=cache).scenario_states()
    before = {p.name for p in cache.rglob("*.pickle")}
    monkeypatch.setattr(table_cache, "PICKLE_VERSIONS", "pandas 0.0, numpy 0.0")
    pd.testing.assert_frame_equal(HelmOutputs.coerce(SUITE, cache_dir=cache).scenario_states(), expected)
    after = {p.name for p in cache.rglob("*.pickle")}
    assert after - before  # re-read from the JSON into a new part (the old one goes once it is old: another
    # process of the other versions may still be using it)


def test_a_cache_where_the_snapshot_cannot_be_written_is_still_read(tmp_path):
    """Writing the snapshot is best effort (a read-only or full cache folder): the load still succeeds."""
    cache = tmp_path / "cache"
    expected = HelmOutputs.coerce(SUITE, cache_dir=cache).stats()
    snapshot = _snapshot(cache, "stats")
    snapshot.unlink()
    snapshot.mkdir()  # neither readable as a snapshot nor replaceable by one, even for root
    for _ in range(2):
        pd.testing.assert_frame_equal(HelmOutputs.coerce(SUITE, cache_dir=cache).stats(), expected)
    assert snapshot.is_dir() and not list(snapshot.parent.glob(".snapshot.*"))  # no temp file left behind


def test_the_finished_table_follows_the_files_and_keeps_the_load_s_notes(tmp_path):
    """A changed file misses the finished table (a new one replaces it); each dtype backend has its own; column
    projection, the rebuilt-runs warning and ``attrs`` are those of a load that reads the parts."""
    from magnet.backends.helm import cache as table_cache
    from magnet.backends.helm.errors import HelmOutputWarning

    root = tmp_path / "benchmark_output"
    shutil.copytree(SUITE, root)
    for state in sorted(root.glob("runs/*/*/scenario_state.json"))[:5]:
        state.unlink()  # five runs' request states are rebuilt
    cache = tmp_path / "cache"
    outputs = HelmOutputs.coerce(root, cache_dir=cache)
    for _ in range(3):  # fills; reads the parts and keeps the finished table; reads it: all warn alike
        with pytest.warns(HelmOutputWarning, match="5 run"):
            states = outputs.scenario_states()
        assert len(states.attrs["rebuilt"]) == 5
        assert all(path.startswith(str(root)) for path in (m.path for m in states.attrs["missing"]))
    first = _finished(cache, "scenario_states")
    outputs.stats()
    outputs.stats()
    with pytest.MonkeyPatch.context() as m:  # a projection is taken from the finished table of a full load
        m.setattr(table_cache, "read_part_files", lambda *a, **k: pytest.fail("the finished table was not used"))
        lean = outputs.stats(columns=["stats.mean"])
    pd.testing.assert_frame_equal(lean, outputs.stats(cache=False, columns=["stats.mean"]))
    arrow = outputs.stats(dtype_backend="pyarrow")
    pd.testing.assert_frame_equal(outputs.stats(dtype_backend="pyarrow"), arrow)
    assert _finished(cache, "stats", "pyarrow") != _finished(cache, "stats")
    pd.testing.assert_frame_equal(outputs.stats(dtype_backend="pyarrow"), arrow)

    run = sorted(root.glob("runs/*/*/scenario_state.json"))[0]
    state = json.loads(run.read_text())
    state["request_states"][0]["result"]["completions"][0]["text"] = "edited after the finished table"
    run.write_text(json.dumps(state))
    _touch(run)
    with pytest.warns(HelmOutputWarning):
        after = outputs.scenario_states()
    assert "edited after the finished table" in {c[0]["text"] for c in after[COMPLETIONS] if c}
    assert _finished(cache, "scenario_states") == first  # a listing seen once: the old one is not used, not replaced
    with pytest.warns(HelmOutputWarning):
        pd.testing.assert_frame_equal(outputs.scenario_states(), after)
    assert not first.exists() and _finished(cache, "scenario_states") != first  # seen twice: replaced, not added
    with pytest.warns(HelmOutputWarning):
        pd.testing.assert_frame_equal(outputs.scenario_states(cache=False), after)


@pytest.mark.filterwarnings("ignore::magnet.backends.helm.errors.HelmOutputWarning")
def test_a_damaged_finished_table_is_a_miss(tmp_path):
    """A truncated finished-table file is not trusted: the load reads the parts and gives the cold frame."""
    root = tmp_path / "benchmark_output"
    shutil.copytree(SUITE, root)
    cache = tmp_path / "cache"
    cold = HelmOutputs.coerce(root, cache_dir=False).run_specs(cache=False)
    for _ in range(2):  # the second load of an unchanged listing keeps the finished table
        HelmOutputs.coerce(root, cache_dir=cache).run_specs()
    finished = _finished(cache, "run_specs")
    finished.write_bytes(finished.read_bytes()[:100])
    pd.testing.assert_frame_equal(HelmOutputs.coerce(root, cache_dir=cache).run_specs(), cold)


@pytest.mark.filterwarnings("ignore::magnet.backends.helm.errors.HelmOutputWarning")
def test_a_suite_that_changes_before_every_load_keeps_no_finished_table(tmp_path):
    """Runs still being written: each load sees a new listing, so none pays for writing a finished table."""
    root = tmp_path / "benchmark_output"
    shutil.copytree(SUITE, root)
    cache = tmp_path / "cache"
    stats_files = sorted(root.glob("runs/*/*/stats.json"))
    for i in range(3):
        _touch(stats_files[i])
        loaded = HelmOutputs.coerce(root, cache_dir=cache).stats()
        pd.testing.assert_frame_equal(loaded, HelmOutputs.coerce(root, cache_dir=False).stats(cache=False))
        assert not list(cache.glob("*/stats/*.frame"))
    HelmOutputs.coerce(root, cache_dir=cache).stats()  # the same listing again: now it is kept
    assert _finished(cache, "stats").is_file()


@pytest.mark.filterwarnings("ignore::magnet.backends.helm.errors.HelmOutputWarning")
def test_tables_at_once_equal_tables_one_by_one_and_stat_each_file_once(real_copy, tmp_path, monkeypatch):
    """``outputs.tables()`` gives each table as ``outputs.table`` does (cold, filling and cached), and the cache
    keys of the four tables stat each run's run_spec.json once, not once per table."""
    cache = tmp_path / "cache"
    one_by_one = {t: HelmOutputs.coerce(real_copy, cache_dir=False).table(t, cache=False) for t in TABLES}
    stats_of = []
    real_stat = loading.os.stat

    def counting_stat(path, *args, **kwargs):
        stats_of.append(os.fspath(path))
        return real_stat(path, *args, **kwargs)

    for _ in range(3):  # fills, keeps the finished tables, reads them
        stats_of.clear()
        with monkeypatch.context() as m:
            m.setattr(loading.os, "stat", counting_stat)
            together = HelmOutputs.coerce(real_copy, cache_dir=cache).tables()
        assert sorted(together) == sorted(TABLES)
        for table in TABLES:
            pd.testing.assert_frame_equal(together[table], one_by_one[table], check_exact=True)
            assert together[table].attrs == one_by_one[table].attrs
    runs_dir = os.fspath(real_copy / "runs") + os.sep  # (coerce also asks whether the root itself is a run)
    specs = [p for p in stats_of if p.startswith(runs_dir) and p.endswith(os.sep + "run_spec.json")]
    assert len(specs) == len(set(specs)) == len(list(real_copy.glob("runs/*/*/run_spec.json")))
    with pytest.raises(ValueError, match="unknown table 'stat'"):
        HelmOutputs.coerce(real_copy).tables(["stats", "stat"])
    with pytest.raises(ValueError, match="unknown table 'stat'"):
        HelmOutputs.coerce(real_copy).table("stat")


def test_loader_warnings_name_the_caller_s_line(tmp_path):
    """A rebuilt-runs warning points at the user's line, through ``table()`` and through ``tables()`` alike."""
    import warnings

    root = tmp_path / "benchmark_output"
    shutil.copytree(SUITE, root)
    next(root.glob("runs/*/*/scenario_state.json")).unlink()
    outputs = HelmOutputs.coerce(root, cache_dir=False)
    for load in (lambda: outputs.scenario_states(cache=False), lambda: outputs.tables(cache=False)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            load()
        rebuilt = [w for w in caught if "rebuilt" in str(w.message)]
        assert len(rebuilt) == 1 and rebuilt[0].filename == __file__, [(w.filename, w.lineno) for w in caught]
