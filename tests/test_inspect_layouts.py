"""Inspect log folders as users have them: nested sub-folders, and logs that did not finish.

All logs are written by the real ``inspect_ai`` (the demo's simulated models): the demo's ``.eval`` and
``.json`` logs sorted into nested folders; a failed evaluation (``status == "error"``), an interrupted one
(``status == "cancelled"``: a real ``inspect_ai.eval`` stopped by SIGINT, as Ctrl-C does, whose results
cover only the samples done) and one with ``fail_on_error=False`` (``success``, errored samples unscored).
Numbers are checked against Inspect's own (``read_eval_log(...).results``) to 1e-9.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

inspect_ai = pytest.importorskip("inspect_ai")

from inspect_ai.log import read_eval_log  # noqa: E402

from magnet.backends.inspect.demo import build_inspect_demo  # noqa: E402
from magnet.backends.inspect.reader import log_files, read_tables  # noqa: E402
from magnet.cli.main import main  # noqa: E402
from magnet.protocol.corpus import Corpus  # noqa: E402
from magnet.sources import detect_format, open_outputs  # noqa: E402
from magnet.tables.errors import SourceError  # noqa: E402

RUN = "run_spec.name"
PIS = "per_instance_stats."
MODELS = ("magnetsim/strong", "magnetsim/trivia")  # the demo writes the last model's (trivia's) logs as .json


def _headlines_equal_inspects(tables: dict, files) -> int:
    """Every scorer x metric of each log's own ``results`` equals the stats table to 1e-9; returns how many."""
    specs, stats = tables["run_specs"], tables["stats"]
    checked = 0
    for f in files:
        log = read_eval_log(str(f))
        run = specs.loc[specs["inspect.log_file"] == str(f), RUN].item()
        mine = stats[stats[RUN] == run]
        for score in log.results.scores:
            for metric, value in score.metrics.items():
                named = mine["stats.name.name"].isin([score.name, f"{score.name}/{metric}"])
                row = mine[named & (mine["inspect.scorer"] == score.scorer) & (mine["inspect.metric"] == metric)]
                assert abs(row["stats.mean"].item() - value.value) <= 1e-9, (f, score.name, metric)
                checked += 1
    return checked


@pytest.fixture(scope="module")
def nested(tmp_path_factory):
    """Two models' demo logs (4 .eval, 4 .json) sorted as <model>/<task>/<year>/LOG, three levels down."""
    root = tmp_path_factory.mktemp("nested") / "logs"
    for f in log_files(build_inspect_demo(preset="small")):
        head = read_eval_log(str(f), header_only=True)
        if head.eval.model not in MODELS:
            continue
        folder = root / head.eval.model.replace("/", "_") / head.eval.task.split("/")[-1] / "2026"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(f, folder)
    return root


def test_a_log_dir_with_nested_subfolders(nested, capsys):
    files = log_files(nested)
    assert len(files) == 8 and {f.suffix for f in files} == {".eval", ".json"}
    assert all(len(f.relative_to(nested).parts) == 4 for f in files)
    assert detect_format(nested) == "inspect"  # the logs are three folders down
    tables = read_tables(nested, cache=False, n_jobs=1)
    assert len(tables["run_specs"]) == 8
    assert _headlines_equal_inspects(tables, files) == 8 * 2 + 2 * 2  # capitals has two scorers
    # each sub-folder of logs is a suite, as HELM's suites are; the corpus has every run
    assert tables["run_specs"]["suite"].str.count("/").eq(2).all()
    corpus = Corpus.load(open_outputs(nested))
    assert corpus.targets[RUN].nunique() == 8
    assert main(["ls", str(nested)]) == 0 and "inspect results in" in capsys.readouterr().out


def test_an_eval_set_log_dir(tmp_path):
    """``inspect_ai.eval_set`` writes ``logs.json`` (an index of the log headers, which starts like a log) and
    ``eval-set.json`` beside its logs: they are not logs, and the folder reads as its logs."""
    from inspect_ai import eval_set

    from magnet.backends.inspect.simulated import TASKS

    ok, _ = eval_set([TASKS["arithmetic"](n=4), TASKS["capitals"](n=4)], model=list(MODELS),
                     log_dir=str(tmp_path), display="none")
    assert ok and (tmp_path / "logs.json").is_file() and (tmp_path / "eval-set.json").is_file()
    files = log_files(tmp_path)
    assert len(files) == 4 and {f.suffix for f in files} == {".eval"}
    assert detect_format(tmp_path) == "inspect"
    tables = read_tables(tmp_path, cache=False, n_jobs=1)
    assert tables["stats"].attrs["skipped"] == [] and len(tables["run_specs"]) == 4
    assert _headlines_equal_inspects(tables, files) == 2 * 2 + 2 * 4  # arithmetic: 1 scorer, capitals: 2


_INTERRUPTED = """
import asyncio, sys
from inspect_ai import Task, eval as inspect_eval
from inspect_ai.dataset import MemoryDataset
from inspect_ai.scorer import match
from inspect_ai.solver import solver
from magnet.backends.inspect.simulated import task_samples

@solver
def slow():
    async def solve(state, generate):
        await asyncio.sleep(0.2)
        return await generate(state)
    return solve

inspect_eval(Task(dataset=MemoryDataset(task_samples("arithmetic", 300)), solver=slow(), scorer=match(numeric=True),
                  name="arith_interrupted"), model="magnetsim/medium", log_dir=sys.argv[1], display="none",
             max_samples=1)
"""


def _interrupted_log(folder: Path) -> Path:
    """A real Inspect evaluation stopped by SIGINT (as Ctrl-C stops ``inspect eval``) once some samples are done."""
    env = {**os.environ, "INSPECT_DISPLAY": "none", "INSPECT_LOG_LEVEL": "warning"}
    child = subprocess.Popen([sys.executable, "-c", _INTERRUPTED, str(folder)], env=env, cwd=folder,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(1200):  # the log is created when the evaluation starts
            if list(folder.glob("*.eval")) or child.poll() is not None:
                break
            time.sleep(0.1)
        if child.poll() is not None or not list(folder.glob("*.eval")):
            pytest.fail(f"the Inspect run did not start or ended early: {child.stderr.read()[-500:]}")
        time.sleep(3)  # some of the 300 samples done (each takes 0.2 s)
        child.send_signal(signal.SIGINT)
        child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    [log] = folder.glob("*.eval")
    return log


@pytest.fixture(scope="module")
def unfinished(tmp_path_factory):
    """A folder with one good log and the three kinds of trouble, all made by inspect_ai."""
    from inspect_ai import Task
    from inspect_ai import eval as inspect_eval
    from inspect_ai.dataset import MemoryDataset
    from inspect_ai.scorer import match
    from inspect_ai.solver import generate, solver

    from magnet.backends.inspect.simulated import task_samples

    @solver
    def fails_after(n_ok: int):
        done = {"n": 0}

        async def solve(state, generate_):
            done["n"] += 1
            if done["n"] > n_ok:
                raise RuntimeError("simulated provider outage")
            return await generate_(state)
        return solve

    root = tmp_path_factory.mktemp("unfinished")
    logs = {}

    def run(name, solver_, **kw):
        task = Task(dataset=MemoryDataset(task_samples("arithmetic", 6)), solver=solver_,
                    scorer=match(numeric=True), name=name)
        [log] = inspect_eval(task, model="magnetsim/weak", log_dir=str(root / name), display="none",
                             max_samples=1, **kw)
        logs[name] = Path(log.location)

    run("good", generate())
    run("failed", fails_after(3))
    run("partial", fails_after(3), fail_on_error=False)
    (root / "interrupted").mkdir()
    logs["interrupted"] = _interrupted_log(root / "interrupted")
    return root, logs


def test_the_logs_are_what_inspect_wrote(unfinished):
    _, logs = unfinished
    status = {name: read_eval_log(str(f), header_only=True).status for name, f in logs.items()}
    assert status == {"good": "success", "failed": "error", "partial": "success", "interrupted": "cancelled"}
    interrupted = read_eval_log(str(logs["interrupted"]), header_only=True).results
    # Inspect scores the samples done before the interrupt (when any were): partial numbers
    assert interrupted is None or interrupted.completed_samples < interrupted.total_samples == 300


@pytest.mark.parametrize("name, problem", [
    ("failed", "Inspect log with status 'error' (the evaluation failed: RuntimeError('simulated provider outage')"),
    ("interrupted", "Inspect log with status 'cancelled' (an interrupted evaluation"),
])
def test_an_unfinished_log_is_one_line_and_never_read(unfinished, name, problem):
    root, logs = unfinished
    with pytest.raises(SourceError) as info:
        read_tables(logs[name], cache=False)
    message = str(info.value)
    assert message.startswith(f"{logs[name]}: {problem}") and message.endswith("not read") and "\n" not in message
    with pytest.raises(SourceError, match="not read"):
        read_tables(root, cache=False, n_jobs=1)  # the folder, under the default errors="raise"
    with pytest.warns(UserWarning, match=r"skipped: .*status '(error|cancelled)'"):
        warned = read_tables(root, errors="warn", cache=False, n_jobs=1)
    skipped = read_tables(root, errors="skip", cache=False, n_jobs=1)
    for tables in (warned, skipped):
        assert sorted(tables["run_specs"]["inspect.log_file"]) == sorted([str(logs["good"]), str(logs["partial"])])
        assert len(tables["stats"].attrs["skipped"]) == 2


def test_fail_on_error_false_is_read_as_inspect_scored_it(unfinished):
    """``success`` with errored samples: Inspect scores the others; magnet's numbers are Inspect's."""
    _, logs = unfinished
    log = read_eval_log(str(logs["partial"]))
    errored = [s for s in log.samples if s.error is not None]
    assert len(errored) == 3 and log.results.scores[0].scored_samples == 3
    tables = read_tables(logs["partial"], cache=False)
    assert _headlines_equal_inspects(tables, [logs["partial"]]) == 2
    stats = tables["stats"]
    assert stats.loc[stats["stats.name.name"] == "match", "stats.count"].item() == 3
    pis = tables["per_instance_stats"]
    assert len(pis) == 3 and abs(pis[PIS + "stats.mean"].mean() - log.results.scores[0].metrics["accuracy"].value) <= 1e-9
    states = tables["scenario_states"]
    assert states["inspect.sample.error"].notna().sum() == 3  # the errored samples are kept, marked


@pytest.fixture(scope="module")
def dict_scorer_logs(tmp_path_factory):
    """A scorer returning a dict of values (one EvalScore per key) beside ``match``, over 2 epochs (mean) and
    3 epochs (max): real logs by inspect_ai."""
    from inspect_ai import Epochs, Task
    from inspect_ai import eval as inspect_eval
    from inspect_ai.dataset import MemoryDataset
    from inspect_ai.scorer import CORRECT, INCORRECT, Score, match, mean, scorer, stderr
    from inspect_ai.solver import generate

    from magnet.backends.inspect.simulated import task_samples

    @scorer(metrics={"correct": [mean(), stderr()], "short": [mean()]})
    def two_part():
        async def score(state, target):
            text = state.output.completion
            return Score(value={"correct": CORRECT if target.text in text else INCORRECT,
                                "short": float(len(text) < 12)}, answer=text)
        return score

    root = tmp_path_factory.mktemp("dict-scorer")
    for name, epochs in (("arith_two_mean", Epochs(2)), ("arith_three_max", Epochs(3, "max"))):
        task = Task(dataset=MemoryDataset(task_samples("arithmetic", 8)), solver=generate(),
                    scorer=[two_part(), match(numeric=True)], epochs=epochs, name=name)
        inspect_eval(task, model="magnetsim/medium", log_dir=str(root), display="none")
    return root


def test_a_dict_valued_scorer_names_its_per_instance_rows_as_its_stats(dict_scorer_logs):
    """Inspect names a dict score's EvalScores by their keys; the per-instance rows carry the same names, so
    each headline mean is the mean of its per-instance rows (after the epoch reducer) and targets find them."""
    files = log_files(dict_scorer_logs)
    tables = read_tables(dict_scorer_logs, cache=False, n_jobs=1)
    assert _headlines_equal_inspects(tables, files) == 2 * (2 + 1 + 2)  # correct: mean+stderr, short, match: 2
    stats, pis = tables["stats"], tables["per_instance_stats"]
    for f in files:
        log = read_eval_log(str(f))
        run = tables["run_specs"].loc[tables["run_specs"]["inspect.log_file"] == str(f), RUN].item()
        mine = pis[pis[RUN] == run]
        for score in log.results.scores:
            head = next(m for m in ("mean", "accuracy") if m in score.metrics)
            rows = mine[mine[PIS + "stats.name.name"] == score.name]
            assert len(rows) == 8 * (2 if log.eval.config.epochs == 2 else 1), (run, score.name)
            assert abs(rows[PIS + "stats.mean"].mean() - score.metrics[head].value) <= 1e-9, (run, score.name)
        assert set(mine[PIS + "stats.name.name"]) >= set(stats.loc[stats[RUN] == run, "stats.name.name"]) - {
            "correct/stderr", "match/stderr"}
    corpus = Corpus.load(open_outputs(dict_scorer_logs, source_format="inspect"))
    assert set(corpus.targets["target.name"]) == {"correct"}
    assert corpus.num_eval_instances().eq(8).all()


def test_a_rerun_into_the_same_log_dir_replaces_the_run(tmp_path):
    """``inspect eval`` run again into one log dir (its default ./logs) adds a second log of the same run:
    the newest is read (as for lm-eval output), the older one is listed as superseded."""
    from inspect_ai import eval as inspect_eval

    from magnet.backends.inspect.simulated import TASKS

    [first] = inspect_eval(TASKS["arithmetic"](n=4), model="magnetsim/weak", log_dir=str(tmp_path), display="none")
    [second] = inspect_eval(TASKS["arithmetic"](n=4), model="magnetsim/weak", log_dir=str(tmp_path),
                            display="none", epochs=2)
    assert first.eval.created < second.eval.created
    tables = read_tables(tmp_path, cache=False, n_jobs=1)
    assert tables["run_specs"]["inspect.log_file"].tolist() == [str(Path(second.location))]
    assert tables["stats"].attrs["superseded"] == [str(Path(first.location))]
    assert _headlines_equal_inspects(tables, [Path(second.location)]) == 2
    assert tables["per_instance_stats"][PIS + "train_trial_index"].max() == 1  # the rerun's two epochs
