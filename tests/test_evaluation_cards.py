"""Evaluation cards: validation (with lines), verdicts, isolation of hanging/crashing cards, verdict.json, CLI."""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from magnet.evaluation import Card, CardError, evaluate_card, load_card, run_cards
from magnet.evaluation.card import card_schema
from magnet.evaluation.evaluate import check_type
from magnet.evaluation.namespace import DEFAULT_INPUTS
from magnet.evaluation.cli import register
from magnet.protocol.splits import STRATEGIES

ROOT = Path(__file__).resolve().parents[1]
CARDS = ROOT / "cards"

#: The verdict each card in cards/ is documented (README, `expected`) to give on the demo corpus.
DOCUMENTED = {
    "simple": "VERIFIED",
    "predictor_comparison": "VERIFIED",
    "scenario_consistency": "INCONCLUSIVE",  # demo generator 3: rho 0.70 [-0.003, 0.94], 8 models
    "scenario_consistency_strong": "INCONCLUSIVE",
    "random_beats_baseline": "FALSIFIED",
    "revealed_mean_sweep": "VERIFIED",
    "llama": "FALSIFIED",  # MAGNET's format: the verdict over its 4 settings (claim_aggregation_strategy all)
}
#: Cards in MAGNET's format whose settings have verdicts of their own: {stem: {setting verdicts}}.
SETTINGS = {"llama": {"VERIFIED", "FALSIFIED"}}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def card(text: str, path: str = "card.yaml") -> Card:
    return Card.from_text(textwrap.dedent(text).lstrip("\n"), path=path)


def cli(*args, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "magnet.evaluation", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


# ---------------------------------------------------------------- verdicts (in process)


def test_verified_and_falsified():
    text = """
        title: t
        description: d
        symbols:
          x: {type: number, python: "2 + 2"}
          limit: {type: number, value: %s}
        claim: x < limit
    """
    v = evaluate_card(card(text % 5))
    assert (v.verdict, v.cause) == ("VERIFIED", "claim")
    assert v.reason == "claim holds: x = 4; limit = 5"
    v = evaluate_card(card(text % 3))
    assert (v.verdict, v.cause) == ("FALSIFIED", "claim")
    assert "x = 4" in v.reason and "limit = 3" in v.reason


def test_inconclusive_by_exception_names_symbol_and_line():
    v = evaluate_card(card("""
        title: t
        description: d
        symbols:
          a: {type: number, value: 1}
          b:
            type: number
            python: |
              y = a + 1
              y / 0
          c: {type: number, python: "b + 1"}
        claim: c > 0
    """, path="exc.yaml"))
    assert (v.verdict, v.cause) == ("INCONCLUSIVE", "error")
    assert "symbol 'b' failed: ZeroDivisionError" in v.reason and "exc.yaml:9" in v.reason
    assert v.symbols["b"].status == "error" and "ZeroDivisionError" in v.symbols["b"].traceback
    assert v.symbols["c"].status == "skipped" and v.symbols["a"].status == "ok"


@pytest.mark.parametrize("code, fragment", [
    ("pd.DataFrame({'x': []})", "table 'data' is empty"),
    ("require(False, 'no runs of scenario foo'); pd.DataFrame({'x': [1]})", "no runs of scenario foo"),
])
def test_inconclusive_by_missing_data(code, fragment):
    v = evaluate_card(card(f"""
        title: t
        description: d
        symbols:
          data: {{type: table, python: "{code}"}}
        claim: len(data) > 0
    """))
    assert (v.verdict, v.cause) == ("INCONCLUSIVE", "missing-data")
    assert fragment in v.reason and "missing data in symbol 'data'" in v.reason


def test_unreadable_inputs_and_nan_intervals_are_missing_data(tmp_path):
    v = evaluate_card(card(f"""
        title: t
        description: d
        inputs: {{benchmark_output: {tmp_path / 'nowhere'}}}
        symbols:
          scores: {{type: table, python: main_scores()}}
        claim: len(scores) > 0
    """))
    assert (v.verdict, v.cause) == ("INCONCLUSIVE", "missing-data")
    assert "cannot read benchmark_output" in v.reason and "nowhere" in v.reason
    v = evaluate_card(card("""
        title: t
        description: d
        symbols:
          x: {type: any, value: 1}
        claim: ci_above((float('nan'), 1.0), 0.0)
    """))
    assert (v.verdict, v.cause) == ("INCONCLUSIVE", "missing-data") and "missing data in the claim" in v.reason


def test_nan_number_is_missing_data():
    v = evaluate_card(card("""
        title: t
        description: d
        symbols:
          x: {type: number, python: "float('nan')"}
        claim: x > 0
    """))
    assert (v.verdict, v.cause) == ("INCONCLUSIVE", "missing-data") and "NaN" in v.reason


def test_inconclusive_when_ci_straddles_threshold():
    text = """
        title: t
        description: d
        symbols:
          mae: {type: interval, python: "(0.10, 0.20)"}
          threshold: {type: number, value: %s}
        claim: ci_below(mae, threshold, label="MAE")
    """
    v = evaluate_card(card(text % 0.15))
    assert (v.verdict, v.cause) == ("INCONCLUSIVE", "undecided")
    assert v.reason == "claim undecided: MAE: interval [0.1, 0.2] contains the threshold 0.15"
    assert evaluate_card(card(text % 0.25)).verdict == "VERIFIED"
    assert evaluate_card(card(text % 0.05)).verdict == "FALSIFIED"


@pytest.mark.parametrize("claim, verdict", [
    ("ci_above(rho, 0.5) and x > 5", "FALSIFIED"),    # Undecided and False = False
    ("x > 5 and ci_above(rho, 0.5)", "FALSIFIED"),
    ("ci_above(rho, 0.5) or x < 5", "VERIFIED"),      # Undecided or True = True
    ("ci_above(rho, 0.5) and x < 5", "INCONCLUSIVE"),
    ("not ci_above(rho, 0.5)", "INCONCLUSIVE"),
    ("all(v > 0 for v in [x, 2]) and ci_above(rho, 0.0)", "VERIFIED"),
])
def test_claim_uses_three_valued_logic(claim, verdict):
    v = evaluate_card(card(f"""
        title: t
        description: d
        symbols:
          rho: {{type: estimate, python: "Estimate(0.76, (0.11, 0.95))"}}
          x: {{type: integer, value: 3}}
        claim: {claim}
    """))
    assert v.verdict == verdict, v.reason


def test_python_value_rule_and_ref_arguments():
    v = evaluate_card(card("""
        title: t
        description: d
        inputs: {seed: 7}
        symbols:
          last_expr: {type: number, python: "a = 1\\na + 1"}
          named:
            type: number
            python: |
              named = last_expr * 10
              other = 0
          via_value:
            type: number
            python: |
              value = named + 1
          from_ref:
            type: number
            ref: builtins:max
            args: [$via_value, $inputs.seed, 3]
          literal:
            type: string
            ref: builtins:str
            args: [$$not_a_symbol]
        claim: from_ref == 21 and literal == "$not_a_symbol"
    """))
    assert v.verdict == "VERIFIED", v.reason
    assert [v.symbols[n].value for n in ("last_expr", "named", "via_value", "from_ref")] == [2, 20, 21, 21]


def test_symbol_without_value_or_of_wrong_type_is_an_error():
    v = evaluate_card(card("""
        title: t
        description: d
        symbols:
          nothing: {type: number, python: "y = 3"}
        claim: nothing > 0
    """))
    assert v.cause == "error" and "gives no value" in v.reason
    v = evaluate_card(card("""
        title: t
        description: d
        symbols:
          s: {type: number, python: "'abc'"}
        claim: s > 0
    """))
    assert v.cause == "error" and "declared number" in v.reason
    v = evaluate_card(card("""
        title: t
        description: d
        symbols:
          s: {type: number, value: 1}
        claim: s
    """))
    assert v.cause == "error" and "not True or False" in v.reason


# ---------------------------------------------------------------- validation


def issues_of(tmp_path, text) -> list:
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(CardError) as e:
        load_card(path)
    return [(i.line, i.field, i.message) for i in e.value.issues]


def test_schema_errors_have_line_and_field(tmp_path):
    issues = issues_of(tmp_path, """
        title: t
        description: d
        tolerance: lots
        inputs:
          split: leave-one-out
        symbols:
          x:
            type: numbr
            python: "1"
          y:
            type: number
          z: {type: number, python: "1", value: 2}
        claims: x > 0
    """)
    fields = {f: (line, msg) for line, f, msg in issues}
    assert fields["tolerance"][0] == 3 and "not of type 'number'" in fields["tolerance"][1]
    assert fields["inputs.split"][0] == 5 and "is not one of" in fields["inputs.split"][1]
    assert fields["symbols.x.type"][0] == 8 and "'numbr' is not one of" in fields["symbols.x.type"][1]
    assert fields["symbols.y"] == (10, "a symbol needs exactly one of `python`, `ref` or `value`")
    assert fields["symbols.z"][0] == 12 and "(has python, value)" in fields["symbols.z"][1]
    assert fields["claims"][0] == 13 and "did you mean 'claim'" in fields["claims"][1]
    assert fields["claim"] == (1, "missing required field")


def test_missing_field_and_unknown_symbols(tmp_path):
    issues = issues_of(tmp_path, """
        title: t
        symbols:
          a:
            type: number
            depends_on: [b, aa]
            python: "1"
          aa: {type: number, ref: "builtins:abs", args: [$nope]}
        claim: a > treshold and aa > 0
    """)
    assert (1, "description", "missing required field") in issues
    assert (5, "symbols.a.depends_on[0]", "unknown symbol 'b'") in issues
    assert any(line == 7 and f == "symbols.aa.args" and "unknown `$` argument 'nope'" in m for line, f, m in issues)
    assert any(line == 8 and f == "claim" and "unknown name 'treshold'" in m for line, f, m in issues)
    assert len(issues) == 4


def test_dependency_cycle_is_reported_with_the_cycle(tmp_path):
    issues = issues_of(tmp_path, """
        title: t
        description: d
        symbols:
          ok: {type: number, value: 1}
          a: {type: number, python: "b + ok"}
          b:
            type: number
            depends_on: [c]
            python: "2"
          c: {type: number, python: "a * 2"}
        claim: a > 0
    """)
    [(line, f, msg)] = issues
    assert f.startswith("symbols.") and msg.startswith("dependency cycle: ")
    cycle = msg.removeprefix("dependency cycle: ").split(" -> ")
    assert cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}
    assert line == {"a": 5, "b": 6, "c": 10}[cycle[0]]


def test_syntax_yaml_and_sweep_errors(tmp_path):
    issues = issues_of(tmp_path, """
        title: t
        description: d
        symbols:
          a:
            type: number
            python: |
              x = 1
              x +* 2
          inputs: {type: number, value: 1}
        claim: a >
        sweep:
          num_eval_samples: [5, -1]
          nmu_folds: [2]
    """)
    by_field = {f: (line, m) for line, f, m in issues}
    assert by_field["symbols.a.python"][0] == 8 and "syntax error" in by_field["symbols.a.python"][1]
    assert by_field["symbols.inputs"][0] == 9 and "shadows" in by_field["symbols.inputs"][1]
    assert by_field["claim"][0] == 10 and "syntax error" in by_field["claim"][1]
    assert by_field["sweep.num_eval_samples[1]"][0] == 12
    assert by_field["sweep.nmu_folds"][0] == 13 and "did you mean 'n_folds'" in by_field["sweep.nmu_folds"][1]
    path = write(tmp_path, "yaml.yaml", "title: t\nsymbols: [a\n")
    with pytest.raises(CardError) as e:
        load_card(path)
    [issue] = e.value.issues
    assert issue.field == "(yaml)" and str(issue).startswith(f"{path}:")


def test_published_schema_matches_the_code():
    schema = card_schema()
    assert schema["$defs"]["inputs"]["properties"]["split"]["enum"] == list(STRATEGIES)
    assert (ROOT / "magnet" / "evaluation" / "card_schema.json").is_file()
    assert set(schema["$defs"]["inputs"]["properties"]) == set(DEFAULT_INPUTS)
    import pandas as pd

    from magnet.evaluation import Estimate

    samples = {"number": 1.5, "integer": 2, "boolean": True, "string": "s", "interval": (0, 1),
               "estimate": Estimate(0.5, (0, 1)), "table": pd.DataFrame({"a": [1]}), "list": [1],
               "mapping": {}, "any": object(), "leaderboard": None}
    assert set(schema["$defs"]["symbol"]["properties"]["type"]["enum"]) == set(samples)
    for t, sample in samples.items():
        if t != "leaderboard":  # (exercised by the repository cards)
            check_type("x", t, sample)
    with pytest.raises(TypeError, match="unknown type"):
        check_type("x", "complex", 1)


# ---------------------------------------------------------------- subprocess isolation, verdict.json


HANG = """
    title: hangs
    description: never returns
    timeout: 4
    symbols:
      fine: {type: number, value: 1}
      slow:
        type: number
        python: |
          import time
          time.sleep(120)
          1
    claim: slow > 0
"""
EXIT = """
    title: exits
    description: kills its own interpreter
    symbols:
      boom: {type: number, python: "import os; os._exit(3)"}
    claim: boom > 0
"""
SEGV = """
    title: segfaults
    description: dereferences NULL
    symbols:
      boom: {type: number, python: "import ctypes; ctypes.string_at(0)"}
    claim: boom > 0
"""
TABLE = """
    title: fine
    description: evaluates
    symbols:
      scores: {type: table, python: "pd.DataFrame({'model': ['a', 'b'], 'value': [0.25, float('nan')]})"}
      best: {type: number, python: "scores['value'].max()"}
    claim: best < 0.5
"""


def test_hanging_and_crashing_cards_do_not_stop_the_others(tmp_path):
    paths = [write(tmp_path, f"{n}.yaml", t) for n, t in
             (("hang", HANG), ("exit", EXIT), ("segv", SEGV), ("fine", TABLE))]
    # the hanging card's own `timeout: 3` applies; the others keep the default limit
    results = run_cards([load_card(p) for p in paths], out=tmp_path / "out", jobs=4)
    by = {r.card.stem: r for r in results}
    assert [r.card.stem for r in results] == ["hang", "exit", "segv", "fine"]
    assert (by["hang"].verdict, by["hang"].cause) == ("INCONCLUSIVE", "timeout")
    progress = tmp_path / "out" / "hang" / "progress.jsonl"
    started = progress.exists() and '"symbol": "slow", "event": "start"' in progress.read_text()
    if started:  # (on a very loaded machine the worker may not even reach the symbol in 4 s)
        assert by["hang"].reason == "timed out after 4 s while evaluating 'slow' (process killed)"
    else:
        assert by["hang"].reason == "timed out after 4 s (process killed)"
    assert (by["exit"].verdict, by["exit"].cause) == ("INCONCLUSIVE", "crash")
    assert "exited with code 3 while evaluating 'boom'" in by["exit"].reason
    assert (by["segv"].verdict, by["segv"].cause) == ("INCONCLUSIVE", "crash")
    assert "SIGSEGV" in by["segv"].reason
    assert by["fine"].verdict == "VERIFIED"
    hang = json.loads((tmp_path / "out" / "hang" / "verdict.json").read_text())
    assert hang["verdict"] == "INCONCLUSIVE" and hang["cause"] == "timeout"
    if started:
        assert hang["symbols"]["fine"]["status"] == "ok" and hang["symbols"]["slow"]["status"] == "timeout"
    assert hang["timing"]["limit_seconds"] == 4
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert [c["verdict"] for c in summary["cells"]] == ["INCONCLUSIVE"] * 3 + ["VERIFIED"]


def test_verdict_json_contents(tmp_path):
    path = write(tmp_path, "fine.yaml", TABLE)
    [result] = run_cards([load_card(path)], out=tmp_path / "out")
    doc = json.loads((tmp_path / "out" / "fine" / "verdict.json").read_text())
    assert doc["card"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert doc["card"]["path"] == str(path) and doc["card"]["title"] == "fine"
    assert doc["verdict"] == result.verdict == "VERIFIED" and doc["cause"] == "claim"
    assert doc["reason"] == "claim holds: best = 0.25" and doc["claim"] == "best < 0.5"
    assert set(doc["versions"]) >= {"magnet", "crfm-helm", "pandas", "numpy", "pingouin", "python"}
    assert all(doc["versions"][k] for k in ("magnet", "pandas", "numpy", "python"))
    assert doc["inputs"]["benchmark_output"] is None and doc["inputs"]["split"] == "leave-one-model-out"
    assert doc["symbols"]["best"] == {"type": "number", "status": "ok", "value": 0.25,
                                      "seconds": doc["symbols"]["best"]["seconds"], "error": None, "traceback": None}
    table = doc["symbols"]["scores"]["value"]
    assert table["kind"] == "table" and table["shape"] == [2, 2] and table["columns"] == ["model", "value"]
    assert table["head"][1] == {"model": "b", "value": "NaN"}
    assert doc["timing"]["seconds"] > 0 and doc["timing"]["wall_seconds"] >= doc["timing"]["seconds"]
    assert doc["cell"] is None and doc["schema_version"] == 1


def test_sweep_cells_are_evaluated_separately(tmp_path):
    path = write(tmp_path, "sweep.yaml", """
        title: sweep
        description: one cell per threshold and seed
        sweep:
          threshold: [1, 10]
          seed: [0, 1]
        symbols:
          x: {type: number, python: "5 + inputs['seed']"}
          threshold: {type: number, value: 0}
        claim: x < threshold
    """)
    c = load_card(path)
    assert [cell.name for cell in c.cells()] == ["threshold=1,seed=0", "threshold=1,seed=1",
                                                  "threshold=10,seed=0", "threshold=10,seed=1"]
    results = run_cards([c], out=tmp_path / "out", jobs=2)
    assert [r.verdict for r in results] == ["FALSIFIED", "FALSIFIED", "VERIFIED", "VERIFIED"]
    doc = json.loads((tmp_path / "out" / "sweep" / "threshold=10,seed=1" / "verdict.json").read_text())
    assert doc["cell"] == {"name": "threshold=10,seed=1", "values": {"threshold": 10, "seed": 1}}
    assert doc["inputs"]["seed"] == 1 and doc["symbols"]["threshold"]["status"] == "override"
    assert doc["symbols"]["x"]["value"] == 6


# ---------------------------------------------------------------- command line


def test_cli_exit_status_zero_with_a_falsified_card(tmp_path):
    path = write(tmp_path, "false.yaml", """
        title: a false claim
        description: d
        symbols:
          x: {type: number, value: 1}
        claim: x > 2
    """)
    p = cli(path, "--out", tmp_path / "out", "--timeout", "60")
    assert p.returncode == 0, p.stderr
    assert "FALSIFIED" in p.stdout and "claim is false: x = 1" in p.stdout
    assert json.loads((tmp_path / "out" / "false" / "verdict.json").read_text())["verdict"] == "FALSIFIED"


def test_cli_exit_status_two_with_an_invalid_card(tmp_path):
    bad = write(tmp_path, "bad.yaml", """
        title: bad
        description: d
        symbols:
          x: {type: number, depends_on: [y], value: 1}
        claim: x > 2
    """)
    good = write(tmp_path, "good.yaml", """
        title: good
        description: d
        symbols:
          x: {type: number, value: 3}
        claim: x > 2
    """)
    p = cli(bad, good, "--out", tmp_path / "out")
    assert p.returncode == 2
    assert f"error: {bad}:4: symbols.x.depends_on[0]: unknown symbol 'y'" in p.stderr.splitlines()
    assert "VERIFIED" in p.stdout  # the valid card is still evaluated
    p = cli(bad, "--check")
    assert p.returncode == 2 and "unknown symbol 'y'" in p.stderr
    p = cli(good, "--check")
    assert p.returncode == 0 and "1 card valid" in p.stdout


def test_register_adds_magnet_evaluate():
    parser = argparse.ArgumentParser(prog="magnet")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["evaluate", "a.yaml", "b.yaml", "--jobs", "2", "--timeout", "5", "--out", "o"])
    assert (args.command, args.cards, args.jobs, args.timeout, args.out) == ("evaluate", ["a.yaml", "b.yaml"], 2, 5.0, "o")
    assert callable(args.func)


# ---------------------------------------------------------------- the cards in cards/


def test_repository_cards_give_their_documented_verdicts(tmp_path):
    paths = sorted(CARDS.glob("*.yaml"))
    assert {p.stem for p in paths} == set(DOCUMENTED)
    for p in paths:
        assert load_card(p).expected == DOCUMENTED[p.stem], p
    p = cli(CARDS, "--out", tmp_path / "out", "--jobs", "2", "--strict", "--timeout", "300")
    assert p.returncode == 0, p.stdout + p.stderr
    cells = json.loads((tmp_path / "out" / "summary.json").read_text())["cells"]
    got = {}
    for c in cells:
        got.setdefault(Path(c["card"]).stem, set()).add(c["verdict"])
    assert got == {stem: SETTINGS.get(stem, {verdict}) for stem, verdict in DOCUMENTED.items()}, cells
    aggregated = json.loads((tmp_path / "out" / "summary.json").read_text())["cards"]
    assert {Path(c["card"]).stem: c["verdict"] for c in aggregated} == {s: DOCUMENTED[s] for s in SETTINGS}
    assert sum(Path(c["card"]).stem == "revealed_mean_sweep" for c in cells) == 2
    for stem in ("simple", "predictor_comparison"):
        doc = json.loads((tmp_path / "out" / stem / "verdict.json").read_text())
        assert doc["card"]["sha256"] == hashlib.sha256((CARDS / f"{stem}.yaml").read_bytes()).hexdigest()


def test_duplicate_keys_and_tolerance(tmp_path):
    issues = issues_of(tmp_path, """
        title: t
        description: d
        symbols:
          x: {type: number, value: 1}
          x: {type: number, value: 2}
        claim: x > 0
    """)
    assert issues == [(5, "symbols.x", "duplicate key")]
    v = evaluate_card(card("""
        title: t
        description: d
        tolerance: 0.1
        symbols:
          x: {type: number, value: 4.05}
        claim: approx(x, 4) and not approx(x, 4.2) and tolerance == 0.1
    """))
    assert v.verdict == "VERIFIED", v.reason
