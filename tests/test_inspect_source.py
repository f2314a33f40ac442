"""Inspect AI logs made by the real ``inspect_ai`` (simulated models, local tasks) read as magnet's tables.

The numbers are checked against Inspect's own: each log read again with ``inspect_ai.log.read_eval_log``,
independently of magnet's reader.
"""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest

inspect_ai = pytest.importorskip("inspect_ai")

from inspect_ai.log import read_eval_log  # noqa: E402

from magnet.backends.inspect.demo import build_inspect_demo  # noqa: E402
from magnet.backends.inspect import reader  # noqa: E402
from magnet.backends.inspect.reader import log_files, read_tables  # noqa: E402
from magnet.cli.main import main  # noqa: E402
from magnet.errors import UserError  # noqa: E402
from magnet.protocol.corpus import Corpus  # noqa: E402
from magnet.sources import detect_format, open_outputs  # noqa: E402
from magnet.tables.columns import TABLES, missing_columns  # noqa: E402
from magnet.tables.errors import SourceError  # noqa: E402

RUN = "run_spec.name"
PIS = "per_instance_stats."


@pytest.fixture(scope="module")
def logs_dir():
    return build_inspect_demo(preset="small")


@pytest.fixture(scope="module")
def tables(logs_dir):
    return read_tables(logs_dir)


def _logs(logs_dir):
    return {f: read_eval_log(str(f)) for f in log_files(logs_dir)}


def test_both_log_formats_are_there_and_each_log_is_one_run(logs_dir, tables):
    files = log_files(logs_dir)
    assert {f.suffix for f in files} == {".eval", ".json"}
    specs = tables["run_specs"]
    assert len(specs) == len(files) == specs[RUN].nunique() == 24
    assert sorted(specs["inspect.log_file"]) == sorted(map(str, files))
    for table in TABLES:
        assert missing_columns(table, tables[table]) == [], table


def test_headline_stats_equal_inspects_own_results(logs_dir, tables):
    stats = tables["stats"]
    checked = 0
    for f, log in _logs(logs_dir).items():
        run = tables["run_specs"].loc[tables["run_specs"]["inspect.log_file"] == str(f), RUN].item()
        assert tables["run_specs"].loc[tables["run_specs"][RUN] == run, "run_spec.adapter_spec.model"].item() \
            == log.eval.model
        mine = stats[stats[RUN] == run]
        for score in log.results.scores:
            for metric, value in score.metrics.items():
                row = mine[(mine["inspect.scorer"] == score.scorer) & (mine["inspect.metric"] == metric)]
                assert len(row) == 1, (run, score.name, metric)
                assert abs(row["stats.mean"].item() - value.value) <= 1e-9
                checked += 1
    assert checked == 24 * 2 + 6 * 2  # two metrics per scorer; the capitals task has two scorers


def test_per_instance_values_are_inspects_scores_converted_and_average_to_the_headline(logs_dir, tables):
    pis = tables["per_instance_stats"]
    letters = set()
    for f, log in _logs(logs_dir).items():
        run = tables["run_specs"].loc[tables["run_specs"]["inspect.log_file"] == str(f), RUN].item()
        mine = pis[pis[RUN] == run]
        assert len(mine) == sum(len(s.scores) for s in log.samples)  # sample x epoch x scorer
        for sample in log.samples:
            for scorer, score in sample.scores.items():
                letters.add(score.value)
                row = mine[(mine[PIS + "instance_id"] == str(sample.id)) & (mine[PIS + "stats.name.name"] == scorer)
                           & (mine[PIS + "train_trial_index"] == sample.epoch - 1)]
                expected = {"C": 1.0, "I": 0.0}[score.value]
                assert row[PIS + "stats.mean"].item() == expected
        head = log.results.scores[0]
        metric = "accuracy" if "accuracy" in head.metrics else "mean"
        per_sample = mine[mine[PIS + "stats.name.name"] == head.name].groupby(PIS + "instance_id")[PIS + "stats.mean"]
        assert abs(per_sample.mean().mean() - head.metrics[metric].value) <= 1e-9
    assert letters == {"C", "I"}


def test_several_epochs_are_one_row_per_sample_and_epoch_with_logprobs(tables):
    states = tables["scenario_states"]
    antonyms = states[states[RUN].str.startswith("magnet/antonyms")]
    per_sample = antonyms.groupby([RUN, "scenario_state.request_states.instance.id"]).size()
    assert set(per_sample) == {2}
    completions = antonyms["scenario_state.request_states.result.completions"]
    assert all(c[0]["logprob"] < 0 and c[0]["text"] for c in completions)


def test_corpus_targets_are_each_tasks_first_scorer(logs_dir):
    corpus = Corpus.load(open_outputs(logs_dir))
    main = corpus.targets.drop_duplicates(RUN)
    assert len(main) == 24
    by_task = dict(zip(main[RUN].str.split(":").str[0], main["target.name"]))
    assert by_task == {"magnet/arithmetic": "match", "magnet/capitals": "exact", "magnet/antonyms": "match",
                       "magnet/spelling": "exact"}
    assert corpus.num_eval_instances().eq(12).all()
    assert set(corpus.models()) == {f"magnetsim/{m}" for m in ("strong", "medium", "weak", "mathwhiz", "linguist",
                                                               "trivia")}


def test_detection_and_a_folder_mixing_formats(logs_dir, small_root, tmp_path):
    assert detect_format(logs_dir) == "inspect"
    assert detect_format(small_root) == "helm"
    mixed = tmp_path / "mixed"
    shutil.copytree(small_root / "runs" / "demo", mixed)
    shutil.copy(next(logs_dir.glob("*.eval")), mixed)
    with pytest.raises(UserError, match=r"several formats \(helm and inspect\)"):
        detect_format(mixed)
    assert type(open_outputs(mixed, source_format="inspect")).__name__ == "TableOutputs"


def test_a_damaged_log_is_one_line_naming_it_and_the_policy_skips_it(logs_dir, tmp_path):
    folder = tmp_path / "logs"
    shutil.copytree(logs_dir, folder)
    bad = sorted(folder.glob("*.eval"))[0]
    bad.write_bytes(bad.read_bytes()[:200])
    with pytest.raises(SourceError) as info:
        read_tables(folder, cache=False)  # 24 logs not in a cache: read by several processes
    assert str(info.value).startswith(str(bad)) and "\n" not in str(info.value)
    skipped = read_tables(folder, errors="skip", cache=False, n_jobs=1)
    assert len(skipped["run_specs"]) == 23 and len(skipped["stats"].attrs["skipped"]) == 1


def test_cli_ls_export_and_benchmark_on_inspect_logs(logs_dir, tmp_path, capsys):
    assert main(["ls", str(logs_dir)]) == 0
    assert "magnetsim/strong" in capsys.readouterr().out
    out = tmp_path / "pis.csv"
    assert main(["export", str(logs_dir), "--source-format", "inspect", "--table", "per_instance_stats",
                 "-o", str(out)]) == 0
    assert len(pd.read_csv(out)) == 12 * 4 * 6 + 12 * 6 + 12 * 6  # + the second scorer, + the second epoch
    capsys.readouterr()
    status = main(["benchmark", "--root-dir", str(logs_dir), "--split", "leave-one-model-out", "--quiet",
                   "--no-builtin", "--predictor", "predictors.revealed_sample_mean:RevealedSampleMean",
                   "--predictor", "predictors.model_mean:ModelMean", "--num-eval-samples", "4"])
    text = capsys.readouterr().out
    assert status == 0
    rows = [line for line in text.splitlines() if line.startswith("│ leave-one-model-out")]
    assert any("RevealedSampleMean" in r for r in rows) and any("ModelMean" in r for r in rows)
    assert all("│ 24 │" in r for r in rows)
    assert all(any(v in r for v in ("genuine", "loss-proxy", "inconclusive")) for r in rows)


def test_simulated_abilities_show_in_the_scores(tables):
    stats = tables["stats"]
    main = stats[stats["stats.name.name"].isin(["match", "exact"]) & ~stats[RUN].str.startswith("magnet/capitals")
                 | (stats["stats.name.name"] == "exact") & stats[RUN].str.startswith("magnet/capitals")]
    model = main[RUN].str.extract(r"model=(.*)$")[0]
    by_model = main.groupby(model)["stats.mean"].mean()
    assert by_model["magnetsim/strong"] > by_model["magnetsim/weak"]
    arithmetic = main[main[RUN].str.startswith("magnet/arithmetic")].set_index(model.loc[
        main[RUN].str.startswith("magnet/arithmetic")])["stats.mean"]
    assert arithmetic["magnetsim/mathwhiz"] > arithmetic["magnetsim/medium"]
    assert np.isfinite(by_model).all() and not math.isnan(by_model.sum())


def test_the_cache_gives_the_same_tables_and_sees_a_changed_log(logs_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("MAGNET_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "logs"
    shutil.copytree(logs_dir, folder)
    fresh = read_tables(folder, cache=False)
    first, again = read_tables(folder), read_tables(folder)
    assert len(list((tmp_path / "cache" / "tables" / "inspect").glob("*.pkl"))) == 24
    for table in TABLES:
        pd.testing.assert_frame_equal(first[table], fresh[table])
        pd.testing.assert_frame_equal(again[table], fresh[table])
    bad = sorted(folder.glob("*.eval"))[0]
    bad.write_bytes(bad.read_bytes()[:200])
    with pytest.raises(SourceError, match="not a readable Inspect log"):
        read_tables(folder)


def _inspects_samples(path):
    """A log's samples as Inspect's own reader gives them (the reference for the faster ``eval_samples``)."""
    return read_eval_log(str(path), exclude_fields=reader.EXCLUDED_SAMPLE_FIELDS).samples


def test_the_fast_sample_read_gives_inspects_samples_and_the_same_tables(logs_dir, monkeypatch):
    """``eval_samples`` (zip members validated by Inspect's ``EvalSample``) equals ``read_eval_log``'s samples,
    field by field and in order; the four tables read either way are identical."""
    evals = [f for f in log_files(logs_dir) if f.suffix == ".eval"]
    assert len(evals) == 20
    for f in evals:
        mine, inspects = reader.eval_samples(f), _inspects_samples(f)
        assert [s.model_dump() for s in mine] == [s.model_dump() for s in inspects], f
    fast = read_tables(logs_dir, cache=False, n_jobs=1)
    monkeypatch.setattr(reader, "eval_samples", _inspects_samples)
    slow = read_tables(logs_dir, cache=False, n_jobs=1)
    for table in TABLES:
        pd.testing.assert_frame_equal(fast[table], slow[table], check_exact=True)
    assert fast["schemas"] == slow["schemas"]


def test_a_sample_count_unlike_the_headers_falls_back_to_inspects_reader(logs_dir, monkeypatch):
    """Should a later ``.eval`` layout hide samples from ``eval_samples``, the log is read by ``read_eval_log``
    (its count differs from ``results.total_samples``), never silently short."""
    expected = read_tables(logs_dir, cache=False, n_jobs=1)
    fast = reader.eval_samples
    monkeypatch.setattr(reader, "eval_samples", lambda path: fast(path)[:-1])
    got = read_tables(logs_dir, cache=False, n_jobs=1)
    for table in TABLES:
        pd.testing.assert_frame_equal(got[table], expected[table], check_exact=True)


def test_quick_eval_takes_a_folder_of_inspect_logs(logs_dir):
    from magnet.protocol.quick_eval import outputs_for

    outputs = outputs_for(root_dir=logs_dir)
    assert outputs.source_format == "inspect" and len(outputs.runs()) == 24
    suite = outputs.suites()[0].name
    assert len(outputs_for(root_dir=logs_dir, suite=suite).runs()) == 24
    with pytest.raises(ValueError, match="no suite 'nope'"):
        outputs_for(root_dir=logs_dir, suite="nope")


def test_a_max_epoch_reducer_gives_per_sample_values_whose_mean_is_the_headline(tmp_path):
    from inspect_ai import Epochs, Task
    from inspect_ai import eval as inspect_eval
    from inspect_ai.dataset import MemoryDataset
    from inspect_ai.scorer import match
    from inspect_ai.solver import generate

    from magnet.backends.inspect.simulated import task_samples

    task = Task(dataset=MemoryDataset(task_samples("arithmetic", 8)), solver=generate(), scorer=match(numeric=True),
                epochs=Epochs(3, "max"), name="arith_max")
    [log] = inspect_eval(task, model="magnetsim/weak", log_dir=str(tmp_path), display="none")
    tables = read_tables(tmp_path, cache=False)
    pis = tables["per_instance_stats"]
    main = pis[pis[PIS + "stats.name.name"] == "match"]
    assert len(main) == 8 and set(main["inspect.reducer"]) == {"max"}
    assert len(pis[pis[PIS + "stats.name.name"] == "match/epoch"]) == 24
    accuracy = log.results.scores[0].metrics["accuracy"].value
    assert abs(main[PIS + "stats.mean"].mean() - accuracy) <= 1e-9
    per_epoch = pis[pis[PIS + "stats.name.name"] == "match/epoch"][PIS + "stats.mean"].mean()
    assert per_epoch < accuracy  # max over 3 epochs of a weak model: the epochs' mean is lower


def test_evaluation_cards_read_inspect_logs(logs_dir):
    from magnet.evaluation.namespace import MissingData, load_corpus, load_outputs

    assert load_outputs(str(logs_dir)).source_format == "inspect"
    assert load_corpus(str(logs_dir)).targets[RUN].nunique() == 24
    with pytest.raises(MissingData, match="no suite 'nope'"):
        load_outputs(str(logs_dir), suite="nope")
