"""The lm-evaluation-harness reader on real lm-eval output (tests/data/lm-eval-demo, made by the real lm_eval).

The data was written by ``lm_eval`` 0.4.13 itself (``simple_evaluate`` + its
``EvaluationTracker``) for simulated models registered with ``@register_model``
on local YAML tasks (see tests/data/lm-eval-demo/README.md for the command).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from magnet.backends import lm_eval as backend
from magnet.backends.helm.errors import HelmOutputError, HelmOutputWarning
from magnet.tables.columns import TABLES, missing_columns
from source_tables import TablesOutputs

DATA = Path(__file__).parent / "data" / "lm-eval-demo"
RUN = "run_spec.name"


@pytest.fixture(scope="module")
def tables():
    return backend.read_tables(DATA)


def _results_files():
    return sorted(DATA.rglob("results_*.json"))


def test_detect():
    assert backend.detect(DATA)
    assert backend.detect(_results_files()[0])
    assert not backend.detect(DATA / "_tasks")
    assert not backend.detect(Path(__file__).parent / "data" / "nonexistent")


def test_table_contract(tables):
    for name in TABLES:
        assert len(tables[name]) > 0, name
        assert missing_columns(name, tables[name]) == [], name


def test_one_run_per_model_and_task(tables):
    rs = tables["run_specs"]
    models = {json.loads(f.read_text())["model_name"] for f in _results_files()}
    assert len(models) == 6 and len(rs) == 6 * 3
    assert rs[RUN].is_unique
    assert set(rs["run_spec.adapter_spec.model"]) == models
    row = rs[rs[RUN] == "magnet_sim_primes:model=magnet-sim_atlas-7b"].iloc[0]
    assert row["run_spec.adapter_spec.model"] == "magnet-sim/atlas-7b"
    assert row["run_spec.groups"] == ["magnet_sim_primes"] and row["lm_eval.output_type"] == "multiple_choice"


def test_headline_stats_equal_lm_eval_results_json(tables):
    """Every metric and stderr of every results_*.json, read independently, equals the stats table to 1e-9."""
    stats = tables["stats"].set_index([RUN, "stats.name.name"])
    checked = 0
    for f in _results_files():
        data = json.loads(f.read_text())
        for task, res in data["results"].items():
            run = f"{task}:model={data['model_name'].replace('/', '_')}"
            for key, value in res.items():
                if "," not in key or "_stderr," in key:
                    continue
                row = stats.loc[(run, key)]
                assert abs(row["stats.mean"] - float(value)) <= 1e-9, (run, key)
                metric, flt = key.split(",", 1)
                assert abs(row["stats.stderr"] - float(res[f"{metric}_stderr,{flt}"])) <= 1e-9, (run, key)
                assert row["stats.count"] == data["n-samples"][task]["effective"]
                checked += 1
    assert checked == len(tables["stats"]) == 6 * 6


def test_per_instance_stats_keyed_by_filter(tables):
    """lm-eval writes one sample line per (doc, filter); each filter's per-instance mean is its headline number."""
    pis = tables["per_instance_stats"]
    assert not pis.duplicated([RUN, "per_instance_stats.instance_id", "per_instance_stats.stats.name.name"]).any()
    means = pis.groupby([RUN, "per_instance_stats.stats.name.name"])["per_instance_stats.stats.mean"].mean()
    stats = tables["stats"].set_index([RUN, "stats.name.name"])["stats.mean"]
    assert np.allclose(means.sort_index().to_numpy(), stats.loc[means.sort_index().index].to_numpy(), atol=1e-12)
    # the two filters of the generation task really differ somewhere (a reader mixing them would fail above)
    gen = stats[stats.index.get_level_values(0).str.startswith("magnet_sim_arithmetic")].unstack()
    assert (gen["exact_match,strict-match"] != gen["exact_match,flexible-extract"]).any()


def test_scenario_states_one_row_per_doc(tables):
    s = tables["scenario_states"]
    assert s.groupby(RUN).size().eq(16).all()
    assert not s.duplicated([RUN, "scenario_state.request_states.instance.id"]).any()
    mc = s[s[RUN].str.startswith("magnet_sim_primes")]
    for comps, lls, refs in zip(mc["scenario_state.request_states.result.completions"],
                                mc["lm_eval.choice_loglikelihoods"], mc["scenario_state.request_states.instance.references"]):
        assert comps[0]["logprob"] == max(lls) and len(refs) == 4
        assert sum("correct" in r["tags"] for r in refs) == 1
    # the completion of a multiple-choice doc is the model's most likely choice: correct exactly when acc == 1
    pis = tables["per_instance_stats"]
    acc = pis[pis["per_instance_stats.stats.name.name"] == "acc,none"].set_index(
        [RUN, "per_instance_stats.instance_id"])["per_instance_stats.stats.mean"]
    for run, iid, comps, refs in zip(mc[RUN], mc["scenario_state.request_states.instance.id"],
                                     mc["scenario_state.request_states.result.completions"],
                                     mc["scenario_state.request_states.instance.references"]):
        gold = next(r["output"]["text"] for r in refs if "correct" in r["tags"])
        assert float(comps[0]["text"] == gold) == acc[(run, iid)]


def test_schemas_name_the_main_metric(tables):
    groups = {g["name"]: g["environment"] for g in tables["schemas"]["lm-eval-demo"]["run_groups"]}
    assert groups == {"magnet_sim_arithmetic": {"main_name": "exact_match,strict-match", "main_split": "test"},
                      "magnet_sim_compare": {"main_name": "acc,none", "main_split": "test"},
                      "magnet_sim_primes": {"main_name": "acc,none", "main_split": "test"}}


def _copy(tmp_path) -> Path:
    dst = tmp_path / "out"
    shutil.copytree(DATA, dst)
    return dst


def test_damaged_results_file_one_line_error(tmp_path):
    root = _copy(tmp_path)
    bad = sorted(root.rglob("results_*.json"))[0]
    bad.write_text(bad.read_text()[:200])
    with pytest.raises(HelmOutputError) as e:
        backend.read_tables(root)
    assert str(e.value).startswith(str(bad) + ": invalid JSON") and "\n" not in str(e.value)
    t = backend.read_tables(root, errors="skip")
    assert len(t["run_specs"]) == 5 * 3 and [s.path for s in t["stats"].attrs["skipped"]] == [str(bad)]
    with pytest.warns(HelmOutputWarning, match="skipped 1 damaged"):
        backend.read_tables(root, errors="warn")


def test_damaged_samples_file_skips_that_run(tmp_path):
    root = _copy(tmp_path)
    bad = sorted(root.rglob("samples_magnet_sim_primes_*.jsonl"))[0]
    lines = bad.read_text().splitlines()
    bad.write_text("\n".join(lines[:3] + [lines[3][:50]] + lines[4:]) + "\n")
    with pytest.raises(HelmOutputError, match=r"samples_magnet_sim_primes_.*: line 4: invalid JSON"):
        backend.read_tables(root)
    t = backend.read_tables(root, errors="skip")
    assert len(t["run_specs"]) == 6 * 3 - 1
    assert not t["per_instance_stats"][RUN].isin(set(t["run_specs"][RUN]) ^ set(t["stats"][RUN])).any()


def test_missing_samples_file_gives_stats_only(tmp_path):
    root = _copy(tmp_path)
    gone = sorted(root.rglob("samples_magnet_sim_compare_*.jsonl"))[0]
    gone.unlink()
    t = backend.read_tables(root)
    run = f"magnet_sim_compare:model={gone.parent.name.replace('__', '_')}"
    assert run in set(t["stats"][RUN]) and run not in set(t["per_instance_stats"][RUN])
    assert [m.path for m in t["stats"].attrs["missing"]] == [str(gone)]


def test_not_lm_eval(tmp_path):
    (tmp_path / "results_x.json").write_text('{"a": 1}')
    with pytest.raises(HelmOutputError, match=r"results_x.json: not an lm-eval results file \(no 'results' object\)"):
        backend.read_tables(tmp_path)
    with pytest.raises(HelmOutputError, match="missing: no such file or directory"):
        backend.read_tables(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(HelmOutputError, match=r"empty: no lm-eval results file found \(results_<date>.json, or "):
        backend.read_tables(tmp_path / "empty")


def test_leave_one_model_out_benchmark(tables):
    from magnet.protocol.benchmark import benchmark
    from magnet.protocol.corpus import Corpus
    from predictors.revealed_sample_mean import RevealedSampleMean

    corpus = Corpus.load(TablesOutputs(tables, DATA))
    assert set(corpus.targets["target.name"]) == {"acc,none", "exact_match,strict-match"}
    assert corpus.num_eval_instances().eq(16).all()
    board = benchmark([RevealedSampleMean()], corpus, splits=["leave-one-model-out"], progress=False,
                      n_boot=200, num_eval_samples=5)
    row = board.main_rows()[0]
    assert row.n == 18 and row.n_models == 6
    assert row.mbe["verdict"] in ("genuine", "loss-proxy", "inconclusive", "insufficient-data")
    # multiple-choice log-likelihoods feed the revealed-loss baseline; generation runs have no logprobs
    from magnet.protocol.baselines import compute_baselines
    from magnet.protocol.splits import reveal

    base = compute_baselines(corpus, reveal(corpus, 5, seed=0)).set_index(RUN)["revealed_loss"]
    is_mc = base.index.str.startswith(("magnet_sim_primes", "magnet_sim_compare"))
    assert base[is_mc].gt(0).all() and base[~is_mc].isna().all()


def test_fresh_logs_from_installed_lm_eval(tmp_path, monkeypatch):
    """Logs made now by the installed lm_eval (not only the committed ones) read back to its own numbers."""
    pytest.importorskip("lm_eval")
    from magnet.backends.lm_eval.demo import build_demo

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")  # build() sets these with setdefault; keep them test-local
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = build_demo("tiny", cache_dir=tmp_path / "cache")
    stamp = (out / "magnet_demo.json").stat().st_mtime_ns
    assert build_demo("tiny", cache_dir=tmp_path / "cache") == out  # cached: not built again
    assert (out / "magnet_demo.json").stat().st_mtime_ns == stamp
    t = backend.read_tables(out)
    assert len(t["run_specs"]) == 2 * 3 and all(missing_columns(n, t[n]) == [] for n in TABLES)
    # the tiny preset runs the multiple-choice tasks as an lm-eval group: an aggregate, not a run
    assert t["stats"].attrs["groups"] == ["magnet_sim_mc"] and not t["run_specs"][RUN].str.startswith("magnet_sim_mc").any()
    groups = dict(zip(t["run_specs"]["lm_eval.task"], t["run_specs"]["run_spec.groups"]))
    assert groups["magnet_sim_primes"] == ["magnet_sim_mc", "magnet_sim_primes"]
    assert groups["magnet_sim_arithmetic"] == ["magnet_sim_arithmetic"]
    stats = t["stats"].set_index([RUN, "stats.name.name"])["stats.mean"]
    for f in sorted(out.rglob("results_*.json")):
        data = json.loads(f.read_text())
        for task in data["configs"]:
            run = f"{task}:model={data['model_name'].replace('/', '_')}"
            for key, value in data["results"][task].items():
                if "," in key and "_stderr," not in key:
                    assert abs(stats[(run, key)] - float(value)) <= 1e-9
