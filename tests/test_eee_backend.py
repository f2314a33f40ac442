"""The Every Eval Ever reader on records made by EEE's own converter (tests/data/eee-demo).

tests/data/eee-demo was produced by ``every_eval_ever convert lm_eval`` (every-eval-ever 0.3.0, Python 3.12)
from tests/data/lm-eval-demo (see its README.md), and passes ``every_eval_ever validate``. So the same
evaluations exist in both formats, and the two readers must agree.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from magnet.backends import eee
from magnet.backends import lm_eval
from magnet.backends.helm.errors import HelmOutputError, HelmOutputWarning
from magnet.tables.columns import TABLES, missing_columns
from source_tables import TablesOutputs

DATA = Path(__file__).parent / "data" / "eee-demo"
LM_EVAL = Path(__file__).parent / "data" / "lm-eval-demo"
RUN = "run_spec.name"
PIS = "per_instance_stats."


@pytest.fixture(scope="module")
def tables():
    return eee.read_tables(DATA)


def test_detect_tells_formats_apart():
    assert eee.detect(DATA) and not eee.detect(LM_EVAL)
    assert lm_eval.detect(LM_EVAL) and not lm_eval.detect(DATA)


def test_table_contract(tables):
    for name in TABLES:
        assert len(tables[name]) > 0 and missing_columns(name, tables[name]) == [], name


def test_stats_equal_the_records_scores(tables):
    stats = tables["stats"].set_index([RUN, "stats.name.name"])
    checked = 0
    for f in sorted(DATA.rglob("*.json")):
        rec = json.loads(f.read_text())
        for r in rec["evaluation_results"]:
            run = f"{r['source_data']['dataset_name']}:model={rec['model_info']['id'].replace('/', '_')}"
            row = stats.loc[(run, r["evaluation_result_id"])]
            assert abs(row["stats.mean"] - r["score_details"]["score"]) <= 1e-9
            assert abs(row["stats.stderr"] - r["score_details"]["uncertainty"]["standard_error"]["value"]) <= 1e-9
            assert row["stats.count"] == r["score_details"]["uncertainty"]["num_samples"]
            checked += 1
    assert checked == len(tables["stats"]) == 36


def test_same_numbers_as_the_lm_eval_reader(tables):
    """EEE records converted from lm-eval logs give the same headline and per-instance values as the logs."""
    lm = lm_eval.read_tables(LM_EVAL)
    rename = {"acc": "acc,none", "acc_norm": "acc_norm,none", "exact_match:strict-match": "exact_match,strict-match",
              "exact_match:flexible-extract": "exact_match,flexible-extract"}
    a = tables["stats"].assign(k=tables["stats"]["stats.name.name"].map(rename)).set_index([RUN, "k"])["stats.mean"]
    b = lm["stats"].set_index([RUN, "stats.name.name"])["stats.mean"]
    assert len(a) == len(b) and np.abs(a.sort_index().to_numpy() - b.loc[a.sort_index().index].to_numpy()).max() <= 1e-9
    pa = tables["per_instance_stats"]
    pa = pa.assign(k=pa[PIS + "stats.name.name"].map(rename)).set_index([RUN, PIS + "instance_id", "k"])[PIS + "stats.mean"]
    pb = lm["per_instance_stats"].set_index([RUN, PIS + "instance_id", PIS + "stats.name.name"])[PIS + "stats.mean"]
    assert len(pa) == len(pb) and (pa.sort_index() == pb.loc[pa.sort_index().index]).all()
    # and the scenario states agree on the model's answer
    sa = tables["scenario_states"].set_index([RUN, "scenario_state.request_states.instance.id"])
    sb = lm["scenario_states"].set_index([RUN, "scenario_state.request_states.instance.id"]).loc[sa.index]
    col = "scenario_state.request_states.result.completions"
    assert [c[0]["text"] for c in sa[col]] == [c[0]["text"] for c in sb[col]]
    refs = "scenario_state.request_states.instance.references"
    assert sa[refs].tolist() == sb[refs].tolist()


def test_schemas_name_the_first_result(tables):
    groups = {g["name"]: g["environment"]["main_name"] for g in tables["schemas"]["eee-demo"]["run_groups"]}
    assert groups == {"magnet_sim_primes": "acc", "magnet_sim_compare": "acc",
                      "magnet_sim_arithmetic": "exact_match:strict-match"}


def test_damaged_record(tmp_path):
    root = tmp_path / "data"
    shutil.copytree(DATA, root)
    bad = sorted(root.rglob("*.json"))[0]
    bad.write_text(bad.read_text()[:100])
    with pytest.raises(HelmOutputError) as e:
        eee.read_tables(root)
    assert str(e.value).startswith(str(bad) + ": invalid JSON") and "\n" not in str(e.value)
    assert len(eee.read_tables(root, errors="skip")["run_specs"]) == 17
    with pytest.warns(HelmOutputWarning, match="skipped 1 damaged EEE"):
        eee.read_tables(root, errors="warn")


def test_damaged_samples_line(tmp_path):
    root = tmp_path / "data"
    shutil.copytree(DATA, root)
    bad = sorted(root.rglob("*_samples.jsonl"))[0]
    lines = bad.read_text().splitlines()
    bad.write_text("\n".join(lines[:1] + ['{"sample_id": "0"}'] + lines[2:]) + "\n")
    with pytest.raises(HelmOutputError, match=r"_samples.jsonl: line 2: not an EEE instance row"):
        eee.read_tables(root)
    t = eee.read_tables(root, errors="skip")
    assert len(t["run_specs"]) == 17 and len(t["per_instance_stats"]) == 576 - 32


def test_not_eee(tmp_path):
    (tmp_path / "2b1c6a5e-0d7e-4a53-9f3e-1a2b3c4d5e6f.json").write_text('{"a": 1}')
    with pytest.raises(HelmOutputError, match=r"not an Every Eval Ever record \(no 'evaluation_results' list\)"):
        eee.read_tables(tmp_path)


def test_leave_one_model_out_benchmark(tables):
    from magnet.protocol.benchmark import benchmark
    from magnet.protocol.corpus import Corpus
    from predictors.revealed_sample_mean import RevealedSampleMean

    corpus = Corpus.load(TablesOutputs(tables, DATA))
    assert corpus.num_eval_instances().eq(16).all()
    board = benchmark([RevealedSampleMean()], corpus, splits=["leave-one-model-out"], progress=False,
                      n_boot=200, num_eval_samples=5)
    row = board.main_rows()[0]
    assert row.n == 18 and row.n_models == 6 and row.mbe["controls"] == ["revealed_mean"]  # EEE has no logprobs


def test_record_without_instance_file_has_stats_only(tmp_path):
    root = tmp_path / "data"
    shutil.copytree(DATA, root)
    gone = sorted(root.rglob("*_samples.jsonl"))[0]
    gone.unlink()
    rec = json.loads(gone.with_name(gone.name.replace("_samples.jsonl", ".json")).read_text())
    for r in rec["evaluation_results"]:
        del r["score_details"]["uncertainty"]  # as leaderboard records: a score, nothing else
    gone.with_name(gone.name.replace("_samples.jsonl", ".json")).write_text(json.dumps(rec))
    t = eee.read_tables(root)
    run = f"{rec['evaluation_results'][0]['source_data']['dataset_name']}:model={rec['model_info']['id'].replace('/', '_')}"
    rows = t["stats"][t["stats"][RUN] == run]
    assert len(rows) and rows["stats.count"].isna().all() and rows["stats.mean"].notna().all()
    assert run not in set(t["per_instance_stats"][RUN]) and [m.path for m in t["stats"].attrs["missing"]] == [str(gone)]
