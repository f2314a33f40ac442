"""Pipeline cards: magnet's isolated runner (pipeline:), kwdagger (kwdagger:), and EvaluationCard's MAGNET API.

Real subprocesses throughout: small Python programs written here, magnet's llama example
(``magnet.examples.llama_consistency``) on the offline Lite fixture, and the real kwdagger package.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from importlib.resources import files
from pathlib import Path

import pytest
import yaml

from magnet.evaluation import CardError, EvaluationCard, load_card
from magnet.evaluation.pipeline import parse_pipeline, run_pipeline

sys.path.insert(0, str(Path(__file__).parent / "compat"))
from lite_fixture import build_lite_fixture  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODELS = ["meta/llama-2-13b", "meta/llama-3-70b"]  # 0.51 vs 0.69 on the fixture: outside the 0.1 bound

STEP = """\
import json, os, sys, time
a = dict(x[2:].split("=", 1) for x in sys.argv[1:])
with open(os.path.join(os.path.dirname(a["out"]), "..", "..", "calls.txt"), "a") as f:
    f.write(a["n"] + "\\n")
n = int(a["n"])
if n == 2:
    os._exit(3)           # a crash: no output
if n == 3:
    time.sleep(60)        # a hang: killed at the time limit
json.dump({"result": {"x": n * 10}}, open(a["out"], "w"))
"""


@pytest.fixture(scope="module")
def lite_bo(tmp_path_factory):
    return build_lite_fixture(tmp_path_factory.mktemp("lite") / "crfm-helm-public") / "lite" / "benchmark_output"


def _step(tmp_path, ns):
    script = tmp_path / "step.py"
    script.write_text(STEP)
    return parse_pipeline({"tens": {"executable": f"python {script}", "algo_params": {"n": ns},
                                    "out_paths": {"out": "out.json"}}})


def test_runner_keeps_the_other_runs_when_one_crashes_or_hangs(tmp_path):
    runs = run_pipeline(_step(tmp_path, [1, 2, 3, 4]), tmp_path / "runs", timeout=3, jobs=2)
    assert [(r.params["n"], r.status) for r in runs] == [(1, "ok"), (2, "error"), (3, "timeout"), (4, "ok")]
    assert [r.symbols for r in runs if r.ok] == [{"x": 10}, {"x": 40}]
    assert runs[1].reason.startswith("exited with code 3") and "timed out after 3 s" in runs[2].reason
    assert (runs[0].out_dir / "log.txt").is_file() and (runs[0].out_dir / "done.json").is_file()


def test_runner_caches_finished_runs_by_parameters(tmp_path):
    step = _step(tmp_path, [1, 4])
    run_pipeline(step, tmp_path / "runs")
    again = run_pipeline(_step(tmp_path, [4, 1, 5]), tmp_path / "runs")
    assert [(r.params["n"], r.status) for r in again] == [(4, "cached"), (1, "cached"), (5, "ok")]
    assert (tmp_path / "runs" / "calls.txt").read_text().split() == ["1", "4", "5"]


def test_pipeline_card_failed_run_is_an_inconclusive_setting(tmp_path):
    script = tmp_path / "step.py"
    script.write_text(STEP)
    card_path = tmp_path / "tens.yaml"
    card_path.write_text(yaml.safe_dump({
        "title": "ten times n stays below 35", "description": "a pipeline card with a crashing run",
        "submitter": {"name": "t", "email": "t@example.invalid"},
        "claim": {"python": 'assert x < bound, f"x = {x} is not below {bound}"'},
        "pipeline": {"tens": {"executable": f"python {script}", "algo_params": {"n": [1, 2, 4]},
                              "out_paths": {"out": "out.json"}}},
        "symbols": {"bound": {"type": "int", "value": 35}}}, sort_keys=False))
    card = EvaluationCard(card_path, tmp_path / "results")
    assert card.has_pipeline and not card.has_kwdagger
    assert card.evaluate() == "FALSIFIED"
    by_x = {e.symbols["pipeline_run"]: e for e in card.evaluations}
    assert len(by_x) == 3
    statuses = sorted(e.result for e in card.evaluations)
    assert statuses == ["FALSIFIED", "INCONCLUSIVE", "VERIFIED"]
    bad = next(e for e in card.evaluations if e.result == "INCONCLUSIVE")
    assert "pipeline step 'tens' failed (error) with n=2: exited with code 3" in bad.output_msg
    assert next(e for e in card.evaluations if e.result == "FALSIFIED").output_msg == \
        "Assertion does not hold: x = 40 is not below 35"


def _llama_card(name, bo, tmp_path):
    card = EvaluationCard(files("magnet") / "cards" / name, tmp_path / "results")
    if card.has_pipeline:
        step = card.pipeline["llama_predict"]
        step["algo_params"].update(helm_runs_path=str(bo), base_model=MODELS, comp_model=MODELS)
        step["executable"] = "python -m magnet.examples.llama_consistency.llama_predict"
    elif card.has_kwdagger:
        card.kwdagger["matrix"].update({"llama_predict.helm_runs_path": str(bo),
                                        "llama_predict.base_model": MODELS, "llama_predict.comp_model": MODELS})
    else:
        card.replace({"helm_runs_path": str(bo), "base_model": MODELS, "comp_model": MODELS})
    return card


@pytest.mark.parametrize("name", ["llama.yaml", "llama_pipeline.yaml", "llama_kwdagger.yaml"])
def test_llama_cards_falsified_with_the_assertion_message(name, lite_bo, tmp_path, capsys):
    card = _llama_card(name, lite_bo, tmp_path)
    assert card.evaluate() == "FALSIFIED"
    assert len(card.evaluations) == 4
    falsified = sorted(e.output_msg for e in card.evaluations if e.result == "FALSIFIED")
    assert falsified == [
        "Assertion does not hold: meta/llama-2-13b score (0.51) exceeds consistency bound on meta/llama-3-70b (0.69)",
        "Assertion does not hold: meta/llama-3-70b score (0.69) exceeds consistency bound on meta/llama-2-13b (0.51)",
    ]
    assert "Settings Evaluated: 4" in capsys.readouterr().out
    assert card.original_card == yaml.safe_load((files("magnet") / "cards" / name).read_text())
    if card.has_kwdagger:  # kwdagger ran both nodes; the symbols are those its claim node recorded
        root = tmp_path / "results" / "llama_kwdagger" / "kwdagger"
        assert len(list((root / "claim_eval").glob("*/verdict.json"))) == 4
        values = sorted((e.log["symbols"]["base_model"]["value"], round(e.log["symbols"]["comp_score"]["value"], 4))
                        for e in card.evaluations)
        assert values == [("meta/llama-2-13b", 0.5054), ("meta/llama-2-13b", 0.6946),
                          ("meta/llama-3-70b", 0.5054), ("meta/llama-3-70b", 0.6946)]


def test_kwdagger_pipeline_that_does_not_exist_is_inconclusive(tmp_path):
    card = EvaluationCard(files("magnet") / "cards" / "llama_kwdagger.yaml", tmp_path / "results")
    card.kwdagger["pipeline"] = "magnet.examples.no_such_module.make()"
    assert card.evaluate() == "INCONCLUSIVE"
    assert "did not run" in card.reason or "did not run" in card.evaluations[0].output_msg


def _no_email_card(tmp_path) -> Path:
    data = yaml.safe_load((files("magnet") / "cards" / "simple.yaml").read_text())
    data["submitter"] = {"name": "No Email"}
    path = tmp_path / "no_email.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_validate_choices(tmp_path, capsys):
    path = _no_email_card(tmp_path)
    for choice in ("error", "only"):
        with pytest.raises(CardError, match="email"):
            EvaluationCard(path, tmp_path / choice, validate=choice)
    card = EvaluationCard(path, tmp_path / "warning", validate="warning")
    assert "WARNING! Card validation failed" in capsys.readouterr().err
    assert card.evaluate() == "VERIFIED"
    EvaluationCard(path, tmp_path / "off", validate="off")
    assert capsys.readouterr().err == ""
    with pytest.raises(ValueError, match="expected one of 'only', 'error', 'warning', 'off'"):
        EvaluationCard(path, validate="strict")


def test_dispatch_and_execute_one_setting(tmp_path):
    path = tmp_path / "bound.yaml"
    path.write_text(textwrap.dedent("""
        title: x stays below a bound
        description: each x separately
        claim: {python: 'assert x < bound, f"{x} >= {bound}"'}
        symbols:
          x: {sweep: [1, 5]}
          bound: {type: int, value: 3}
    """))
    card = EvaluationCard(path, tmp_path / "out")
    tasks = card.dispatch()
    assert [t.symbols for t in tasks] == [{"x": 1}, {"x": 5}]
    assert tasks[1].execute() == ("FALSIFIED", "Assertion does not hold: 5 >= 3")
    assert card.dispatch([{"x": 2, "bound": 1}])[0].execute()[0] == "FALSIFIED"
    assert card.status() == "UNVERIFIED" and card.evaluations == []


def test_schema_rejects_a_bad_pipeline_step(tmp_path):
    data = yaml.safe_load((files("magnet") / "cards" / "llama_pipeline.yaml").read_text())
    data["pipeline"]["llama_predict"]["algo_parms"] = data["pipeline"]["llama_predict"].pop("algo_params")
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(CardError, match=r"pipeline\.llama_predict\.algo_parms: unknown field \(did you mean 'algo_params'\?\)"):
        load_card(path)


def test_cli_results_path(lite_bo, tmp_path):
    data = yaml.safe_load((files("magnet") / "cards" / "llama_pipeline.yaml").read_text())
    step = data["pipeline"]["llama_predict"]
    step["algo_params"].update(helm_runs_path=str(lite_bo), base_model=MODELS[:1], comp_model=MODELS)
    step["executable"] = "python -m magnet.examples.llama_consistency.llama_predict"
    card = tmp_path / "llama_pipeline.yaml"
    card.write_text(yaml.safe_dump(data, sort_keys=False))
    out = tmp_path / "res"
    proc = subprocess.run([sys.executable, "-m", "magnet", "evaluate", str(card), "--results_path", str(out), "-q"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "llama_pipeline: FALSIFIED over 2 settings" in " ".join(proc.stdout.split())
    verdict = json.loads((out / "llama_pipeline" / "card_verdict.json").read_text())
    assert verdict["verdict"] == "FALSIFIED" and verdict["counts"] == {"VERIFIED": 1, "FALSIFIED": 1,
                                                                       "INCONCLUSIVE": 0}


# ---------------------------------------------------------------- one worker per card (run_cells) vs one per cell

SWEEP_CARD = """\
title: one worker, settings in turn
description: setting 2 kills the interpreter, setting 3 hangs; the others must still get their verdicts
timeout: 10
sweep:
  n: [1, 2, 3, 4, 5]
symbols:
  n: {type: number, value: 0}
  pid: {type: number, python: "import os; os.getpid()"}
  y:
    type: number
    python: |
      import os, time
      if n == 2:
          os._exit(3)
      if n == 3:
          time.sleep(60)
      n * 10
claim: y < 25
"""


def _outcome(result):
    """What a cell's evaluation decided (its verdict.json without timings and the worker's pid)."""
    doc = json.loads((result.out_dir / "verdict.json").read_text())
    symbols = {name: {k: v for k, v in s.items() if k in ("status", "value", "error")}
               for name, s in doc["symbols"].items() if name != "pid"}
    return result.verdict, result.cause, result.reason, doc["claim_value"], symbols


def _per_cell_and_session(card, tmp_path):
    from magnet.evaluation.evaluate import run_cell, run_cells
    cells = card.cells()
    single = [run_cell(card, c, tmp_path / "single" / (c.dirname if c else "card")) for c in cells]
    session = run_cells(card, cells, [tmp_path / "session" / (c.dirname if c else "card") for c in cells])
    return single, session


def test_one_worker_per_card_gives_the_per_cell_verdicts_despite_a_crash_and_a_hang(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP_CARD)
    single, session = _per_cell_and_session(load_card(path), tmp_path)
    assert [_outcome(r) for r in session] == [_outcome(r) for r in single]
    assert [(r.verdict, r.cause) for r in session] == [("VERIFIED", "claim"), ("INCONCLUSIVE", "crash"),
                                                       ("INCONCLUSIVE", "timeout"), ("FALSIFIED", "claim"),
                                                       ("FALSIFIED", "claim")]
    assert "exited with code 3 while evaluating 'y'" in session[1].reason
    assert session[2].reason == "timed out after 10 s while evaluating 'y' (process killed)"
    pid = [json.loads((r.out_dir / "verdict.json").read_text())["symbols"]["pid"].get("value") for r in session]
    single_pid = [json.loads((r.out_dir / "verdict.json").read_text())["symbols"]["pid"].get("value") for r in single]
    assert pid[1] is None and pid[2] is None  # lost with their worker
    assert pid[3] == pid[4] and pid[0] != pid[3]  # settings share a worker; a fresh one after a crash/timeout
    assert len(set(single_pid) - {None}) == 3


@pytest.mark.parametrize("name", ["llama.yaml", "simple.yaml"])
def test_one_worker_per_card_matches_one_process_per_cell(name, lite_bo, tmp_path):
    card = EvaluationCard(files("magnet") / "cards" / name, tmp_path / "results")
    if name == "llama.yaml":
        card.replace({"helm_runs_path": str(lite_bo), "base_model": MODELS, "comp_model": MODELS})
    single, session = _per_cell_and_session(card.effective_card(), tmp_path)
    assert [_outcome(r) for r in session] == [_outcome(r) for r in single]
    assert [r.verdict for r in session] == (["VERIFIED", "FALSIFIED", "FALSIFIED", "VERIFIED"]
                                            if name == "llama.yaml" else ["VERIFIED"])
