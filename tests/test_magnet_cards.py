"""Evaluation cards in MAGNET's format (aiq-magnet) run unchanged: EvaluationCard, assert claims, Python types, sweeps.

End-to-end checks go through ``EvaluationCard`` (each setting in its own
``magnet.evaluation.worker`` subprocess, as ``magnet evaluate`` runs cards);
the finer checks evaluate one setting in-process with ``evaluate_card``.
``cards/llama.yaml`` runs on the real HELM Safety v3 suite in
``tests/data/helm-safety-v3`` and is checked against scores read straight
from the runs' ``stats.json`` files.
"""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import pytest

from magnet.evaluation import CardError, EvaluationCard, aggregate_verdicts, evaluate_card, load_card
from magnet.evaluation.card import Card

ROOT = Path(__file__).resolve().parents[1]
SAFETY_RUNS = ROOT / "tests" / "data" / "helm-safety-v3" / "benchmark_output" / "runs" / "v3"

# MAGNET's own example card (aiq-magnet magnet/cards/simple.yaml), as published: metadata, assert claim, List[int]
MAGNET_SIMPLE = """\
# Simple Arithmetic Example

title: "Arithmetic - Addition Commutative Property"
description: "Addition is commutative on pairs of even and odd integers"
category: "Mathematical Properties"

version: 1.0

organizations:
  - Kitware

submitter:
  name: Kitware TA2 Team
  email: aiq-ta2@kitware.com

tags:
  - example

links:
  - title: "MAGNET"
    url: "https://github.com/AIQ-Kitware/aiq-magnet"
    type: "software"

claim:
  python: |
    for even, odd in zip(int_range_even, int_range_odd):
      assert even + odd == odd + even, f"{even} + {odd} is not commutative"

symbols:
  int_range_even:
    type: List[int]
    python: |
      def create_even_range(start=-10, end=10):
        return [n for n in range(start, end+1) if n % 2 == 0]
      int_range_even = create_even_range()

  int_range_odd:
    type: List[int]
    depends_on:
      - int_range_even
    python: |
      int_range_odd = [n + 1 for n in int_range_even]
"""

EVEN = list(range(-10, 11, 2))
ODD = [n + 1 for n in EVEN]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def card(text: str, path: str = "card.yaml") -> Card:
    return Card.from_text(textwrap.dedent(text), path=path)


def one(text: str, **values):
    """Evaluate the setting of ``text`` whose swept values are ``values`` (or the only one), in this process."""
    c = card(text)
    cells = c.cells()
    cell = next(x for x in cells if x is None or x.values == values)
    return evaluate_card(c, cell)


# ---------------------------------------------------------------- EvaluationCard end to end


def test_magnet_simple_card_summarize_evaluate_summarize(tmp_path, capsys):
    path = write(tmp_path, "simple.yaml", MAGNET_SIMPLE)
    c = EvaluationCard(path, tmp_path / "out")
    assert c.title == "Arithmetic - Addition Commutative Property" and c.category == "Mathematical Properties"
    assert c.symbols() == {"int_range_even": None, "int_range_odd": None}
    assert c.symbols["int_range_odd"]["depends_on"] == ["int_range_even"]  # the spec, as in the card
    c.summarize()
    claim = ('for even, odd in zip(int_range_even, int_range_odd):\n'
             '  assert even + odd == odd + even, f"{even} + {odd} is not commutative"\n')
    header = ("Title:       Arithmetic - Addition Commutative Property\n"
              "Description: Addition is commutative on pairs of even and odd integers\n"
              "Category:    Mathematical Properties\n"
              "Version:     1.0\n"
              "Organizations: Kitware\n"
              "Submitter:   Kitware TA2 Team <aiq-ta2@kitware.com>\n"
              "Tags:        example\n"
              "Links:       MAGNET (software): https://github.com/AIQ-Kitware/aiq-magnet\n"
              "================================\n")
    assert capsys.readouterr().out == (
        header + "SYMBOLS:     {'int_range_even': None, 'int_range_odd': None}\n"
        "CLAIM:       \n" + claim + "\n================================\nSTATUS:      UNVERIFIED\n")

    status = c.evaluate()
    assert status == "VERIFIED" and repr(status) == "VERIFIED" and c.claim.status == "VERIFIED"
    assert capsys.readouterr().out == "Assertion holds\n"
    assert c.symbols() == {"int_range_even": EVEN, "int_range_odd": ODD}
    c.summarize()
    assert capsys.readouterr().out == (
        header + f"SYMBOLS:     {{'int_range_even': {EVEN}, 'int_range_odd': {ODD}}}\n"
        "CLAIM:       \n" + claim + "\n================================\nSTATUS:      VERIFIED\n")
    doc = json.loads((tmp_path / "out" / "simple" / "verdict.json").read_text())
    assert doc["verdict"] == "VERIFIED" and doc["symbols"]["int_range_odd"]["value"] == ODD
    assert doc["claim"] == claim.rstrip()


def test_falsified_with_the_assertion_message(tmp_path, capsys):
    path = write(tmp_path, "bound.yaml", """
        title: a bound that does not hold
        description: x is 5
        claim:
          python: |
            assert x < limit, f"x = {x} is not below {limit}"
        symbols:
          x: {type: int, python: "x = 2 + 3"}
          limit: {type: float, value: 3}
    """)
    c = EvaluationCard(path, tmp_path / "out")
    assert c.symbols() == {"x": None, "limit": 3}
    assert c.evaluate() == "FALSIFIED"
    assert capsys.readouterr().out == "Assertion does not hold: x = 5 is not below 3\n"
    c.summarize()
    out = capsys.readouterr().out
    assert "SYMBOLS:     {'x': 5, 'limit': 3}\n" in out
    assert out.endswith("STATUS:      FALSIFIED\nREASON:      Assertion does not hold: x = 5 is not below 3\n")


def test_assert_without_message_and_other_errors():
    v = one("""
        title: t
        description: d
        claim:
          python: |
            total = x + 1
            assert total == 7
        symbols:
          x: {type: int, value: 5}
    """)
    assert (v.verdict, v.reason) == ("FALSIFIED", "Assertion does not hold: assert total == 7 (card.yaml:7)")
    v = one("""
        title: t
        description: d
        claim:
          python: |
            assert 1 / x > 0
        symbols:
          x: {type: int, value: 0}
    """)
    assert v.verdict == "INCONCLUSIVE" and v.cause == "error"
    assert v.reason == "ERROR evaluating claim: ZeroDivisionError: division by zero (card.yaml:6)"
    v = one("""
        title: t
        description: d
        claim:
          python: |
            assert x > 0
        symbols:
          x: {type: int, python: "x = int('a')"}
    """)
    assert v.verdict == "INCONCLUSIVE" and "symbol 'x' failed: ValueError" in v.reason


# ---------------------------------------------------------------- sweeps and claim_aggregation_strategy


SWEEP = """
    title: small numbers
    description: x is at most 2
    {strategy}
    claim:
      python: |
        assert x <= 2, f"x = {{x}}"
    symbols:
      x:
        type: int
        sweep: [1, 2, 3, 4]
      doubled:
        type: int
        python: doubled = 2 * x
"""


def test_sweep_settings_and_fraction_aggregation(tmp_path, capsys):
    strategy = "claim_aggregation_strategy: {type: fraction, parameters: {threshold: 0.5}}"
    path = write(tmp_path, "sweep.yaml", SWEEP.format(strategy=strategy))
    c = EvaluationCard(path, tmp_path / "out")
    c.summarize()
    assert "SETTINGS:    4 to evaluate (x), claim_aggregation_strategy: fraction (threshold 0.5)\n" \
        in capsys.readouterr().out
    assert c.evaluate(jobs=2) == "VERIFIED"
    out = capsys.readouterr().out
    assert out == ("Assertion does not hold: x = 3\nAssertion does not hold: x = 4\n"
                   "================================\nSettings Evaluated: 4\n  Verified:     0.50\n"
                   "  Falsified:    0.50\n  Inconclusive: 0.00\n================================\n"
                   "fraction: 2 of 4 settings VERIFIED (0.5 >= 0.5)\n")
    assert [r.verdict for r in c.results] == ["VERIFIED", "VERIFIED", "FALSIFIED", "FALSIFIED"]
    doc = json.loads((tmp_path / "out" / "sweep" / "card_verdict.json").read_text())
    assert (doc["verdict"], doc["counts"], doc["settings"]) == (
        "VERIFIED", {"VERIFIED": 2, "FALSIFIED": 2, "INCONCLUSIVE": 0}, 4)
    assert [json.loads(Path(cell["verdict_json"]).read_text())["symbols"]["doubled"]["value"]
            for cell in doc["cells"]] == [2, 4, 6, 8]
    c.summarize()
    out = capsys.readouterr().out
    assert "'x': <per setting>, 'doubled': <per setting>" in out
    assert "  x=3: FALSIFIED  Assertion does not hold: x = 3\n" in out and "  x=1: VERIFIED\n" in out
    assert out.endswith("STATUS:      VERIFIED\n")


@pytest.mark.parametrize("strategy, verdict", [
    ("", "FALSIFIED"),
    ("claim_aggregation_strategy: {type: all}", "FALSIFIED"),
    ("claim_aggregation_strategy: {type: any}", "VERIFIED"),
    ("claim_aggregation_strategy: {type: fraction, parameters: {threshold: 0.75}}", "FALSIFIED"),
])
def test_aggregation_strategies_on_real_setting_verdicts(strategy, verdict):
    c = card(SWEEP.format(strategy=strategy))
    verdicts = [evaluate_card(c, cell).verdict for cell in c.cells()]
    assert verdicts == ["VERIFIED", "VERIFIED", "FALSIFIED", "FALSIFIED"]
    assert aggregate_verdicts(verdicts, c.aggregation)[0] == verdict


def test_aggregation_with_inconclusive_settings():
    three = ["VERIFIED", "INCONCLUSIVE", "FALSIFIED"]
    assert aggregate_verdicts(three)[0] == "FALSIFIED"
    assert aggregate_verdicts(three[:2]) == ("INCONCLUSIVE", "all: 1 of 2 settings INCONCLUSIVE, none FALSIFIED")
    assert aggregate_verdicts(three[1:], {"type": "any"})[0] == "INCONCLUSIVE"
    frac = {"type": "fraction", "parameters": {"threshold": 0.6}}
    # 1 of 3 verified < 0.6, but the inconclusive one could make it 2 of 3 >= 0.6: undecided, not FALSIFIED
    assert aggregate_verdicts(three, frac) == (
        "INCONCLUSIVE", "fraction: 1 of 3 settings VERIFIED (0.333 < 0.6), but 1 INCONCLUSIVE could reach it")
    assert aggregate_verdicts(["FALSIFIED", "INCONCLUSIVE", "FALSIFIED"], frac)[0] == "FALSIFIED"
    assert aggregate_verdicts([], frac)[0] == "INCONCLUSIVE"


def test_sweep_is_the_product_of_swept_symbols_in_card_order():
    c = card("""
        title: t
        description: d
        claim: {python: "assert len(name) == n or True"}
        symbols:
          name: {type: str, sweep: [a, bb, ccc]}
          n: {type: int, sweep: [1, 2]}
          unit: {type: str, value: cm}
    """)
    assert [cell.values for cell in c.cells()] == [{"name": a, "n": b} for a in ("a", "bb", "ccc") for b in (1, 2)]
    assert one(c.text, name="bb", n=2).symbols["name"].value == "bb"


# ---------------------------------------------------------------- types


@pytest.mark.parametrize("type_, value, ok", [
    ("float", "0.5", True), ("float", "1", True), ("float", "True", False), ("int", "2", True),
    ("int", "2.0", False), ("bool", "True", True), ("bool", "1", False), ("str", "'a'", True),
    ("object", "object()", True), ("List[int]", "[1, 2]", True), ("List[int]", "(1, 2)", False),
    ("List[Tuple[str, float]]", "[('a', 0.5), ('b', 1)]", True), ("Dict[str, List[int]]", "{'a': [1]}", True),
    ("Optional[int]", "None", True), ("Tuple[int, ...]", "(1, 2, 3)", True), ("Set[str]", "{'a'}", True),
    ("float", "np.float64(0.25)", True), ("int", "np.int64(3)", True),
])
def test_python_type_names(type_, value, ok):
    v = one(f"""
        title: t
        description: d
        claim: {{python: "assert True"}}
        symbols:
          x:
            type: {type_}
            python: |
              import numpy as np
              x = {value}
    """)
    assert (v.verdict == "VERIFIED") == ok, v.reason


@pytest.mark.parametrize("type_, value, reason", [
    ("List[int]", "[1, 2, 'a']", "symbol 'x' is declared List[int] but item [2] is a str 'a', not int"),
    ("List[Tuple[str, float]]", "[('a', 0.5), ('b', 'x')]",
     "symbol 'x' is declared List[Tuple[str, float]] but item [1][1] is a str 'x', not float"),
    ("List[Tuple[str, float]]", "[('a', 0.5, 1)]",
     "symbol 'x' is declared List[Tuple[str, float]] but item [0] is a tuple ('a', 0.5, 1), not a tuple of 2: "
     "tuple[str, float]"),
    ("Dict[str, float]", "{1: 0.5}", "symbol 'x' is declared Dict[str, float] but key 1 is a int 1, not str"),
    ("float", "'0.5'", "symbol 'x' is declared float but it is a str '0.5', not float"),
])
def test_type_check_failures_are_inconclusive_and_say_where(type_, value, reason):
    v = one(f"""
        title: t
        description: d
        claim: {{python: "assert True"}}
        symbols:
          x: {{type: "{type_}", python: "x = {value}"}}
    """)
    assert (v.verdict, v.cause) == ("INCONCLUSIVE", "error")
    assert v.reason == f"symbol 'x' failed: SymbolTypeError: {reason}"


def test_nan_float_is_missing_data_not_a_falsification():
    v = one("""
        title: t
        description: d
        claim: {python: "assert abs(score - 0.5) > 0.1"}
        symbols:
          score: {type: float, python: "score = float('nan')"}
    """)
    assert (v.verdict, v.cause) == ("INCONCLUSIVE", "missing-data")
    assert v.reason == "missing data in symbol 'score': the value is NaN (declared float)"


def test_swept_values_and_constants_are_type_checked_too():
    text = """
        title: t
        description: d
        claim: {python: "assert n > 0"}
        symbols:
          n: {type: int, sweep: [1, "two"]}
    """
    assert one(text, n=1).verdict == "VERIFIED"
    v = one(text, n="two")
    assert v.verdict == "INCONCLUSIVE" and "declared int but it is a str 'two'" in v.reason


# ---------------------------------------------------------------- depends_on and the code's namespace


def test_depends_on_shares_imports_and_definitions():
    text = """
        title: t
        description: d
        claim: {python: "assert root == 3.0 and helper(2) == 4"}
        symbols:
          base:
            type: int
            python: |
              import math as m
              def square(v):
                  return v * v
              base = 9
          root:
            type: float
            depends_on: [base]
            python: root = m.sqrt(base)
          helper:
            type: object
            depends_on: [base]
            python: helper = square
    """
    v = one(text)
    assert v.verdict == "VERIFIED", v.reason
    assert one(text.replace("depends_on:", "depends:")).verdict == "VERIFIED"  # MAGNET's other spelling
    # without depends_on only the value is shared (MAGNET's own resolution shares values only)
    v = one(text.replace("depends_on: [base]\n            python: root", "python: root"))
    assert v.verdict == "INCONCLUSIVE" and "NameError: name 'm' is not defined" in v.reason


def test_symbols_may_use_names_of_magnets_namespace():
    # MAGNET cards know nothing of magnet's card namespace: their symbols may be called `inputs`, `corpus`, ...
    v = one("""
        title: t
        description: d
        claim: {python: "assert corpus == 'mine' and inputs == 2 and card_dir.is_dir()"}
        symbols:
          corpus: {type: str, value: mine}
          inputs: {type: int, python: "inputs = 1 + 1"}
    """)
    assert v.verdict == "VERIFIED", v.reason


# ---------------------------------------------------------------- validation (schema covers both forms)


def issues(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(CardError) as e:
        card(text)
    return [(i.line, i.field, i.message) for i in e.value.issues]


def test_validation_of_magnet_format_cards():
    assert issues("""
        title: t
        description: d
        claim_aggregation_strategy: {type: fraction}
        submitter: {email: a@b.c}
        claim:
          python: |
            assert x > limt
        symbols:
          x: {type: "Lst[int]", python: "y = 1"}
          z: {type: int}
    """) == [
        (4, "claim_aggregation_strategy.parameters", "missing required field"),
        (5, "submitter.name", "missing required field"),
        (8, "claim.python", "unknown name 'limt' (not a symbol, a card namespace name or a builtin)"),
        (10, "symbols.x.python", "the code must assign the variable 'x' (its value is the symbol's value)"),
        (10, "symbols.x.type", "'Lst[int]': unknown type name 'Lst' (known: Any, Dict, List, Mapping, None, "
                               "Optional, Sequence, Set, Tuple, Union, bool, dict, float, int, list, object, set, "
                               "str, tuple)"),
        (11, "symbols.z", "a symbol needs one of `python`, `value` or `sweep`"),
    ]
    assert issues("""
        title: t
        description: d
        claim: {python: "assert True"}
        sweep: {x: [1]}
        symbols:
          x: {type: int, value: 1, ref: "a:b"}
    """) == [
        (5, "sweep", "unknown field; allowed: category, claim, claim_aggregation_strategy, description, expected, "
                     "inputs, kwdagger, links, organizations, pipeline, references, submitter, symbols, tags, "
                     "timeout, title, tolerance, version"),
        (7, "symbols.x.ref", "unknown field; allowed: depends, depends_on, description, metadata, python, sweep, type, "
                             "value"),
    ]


def test_magnet_published_cards_validate():
    simple = card(MAGNET_SIMPLE)
    assert simple.form == "assert" and simple.metadata["organizations"] == ["Kitware"]
    llama = load_card(ROOT / "cards" / "llama.yaml")
    assert llama.form == "assert" and llama.aggregation == {"type": "all"}
    assert llama.sweep == {"base_model": ["meta/llama-3-8b", "meta/llama-3-70b"],
                           "comp_model": ["meta/llama-3-8b", "meta/llama-3-70b"]}
    # magnet's own form is untouched: a string claim is an expression
    native = card("""
        title: t
        description: d
        symbols: {x: {type: number, value: 1}}
        claim: x > 0
    """)
    assert native.form == "expression" and evaluate_card(native).verdict == "VERIFIED"


def test_evaluation_card_validate_modes(tmp_path):
    path = write(tmp_path, "simple.yaml", MAGNET_SIMPLE)
    with pytest.raises(ValueError, match="expected one of 'only', 'error', 'warning', 'off'"):
        EvaluationCard(path, tmp_path, validate="strict")
    bad_text = "title: t\ndescription: d\nclaim: {python: 'assert q'}\nsymbols: {}\n"
    for mode in ("warning", "off"):  # MAGNET's modes that go on despite problems (tests/test_pipeline_cards.py runs one)
        assert EvaluationCard(write(tmp_path, f"{mode}.yaml", bad_text), tmp_path, validate=mode).card.issues
    bad = write(tmp_path, "bad.yaml", "title: t\ndescription: d\nclaim: {python: 'assert q'}\nsymbols: {}\n")
    with pytest.raises(CardError, match=r"bad.yaml:3: claim.python: unknown name 'q'"):
        EvaluationCard(bad)


# ---------------------------------------------------------------- cards/llama.yaml on real HELM output


def bbq_exact_match(model: str) -> tuple[float, int]:
    """BBQ exact_match (test, unperturbed) of a model and its instance count, read straight from the run's files."""
    run = SAFETY_RUNS / f"bbq:subject=all,method=multiple_choice_joint,model={model}"
    [mean] = [s["mean"] for s in json.loads((run / "stats.json").read_text())
              if s["name"]["name"] == "exact_match" and s["name"].get("split") == "test"
              and "perturbation" not in s["name"]]
    instances = {p["instance_id"] for p in json.loads((run / "per_instance_stats.json").read_text())}
    return mean, len(instances)


def test_llama_card_on_helm_safety(tmp_path, capsys):
    assert (ROOT / "tests" / "data" / "helm-safety-v3" / "README.md").is_file()
    scores = {m: bbq_exact_match(f"meta_{m.split('/')[1]}") for m in ("meta/llama-3-8b", "meta/llama-3-70b")}
    c = EvaluationCard(ROOT / "cards" / "llama.yaml", tmp_path / "out")
    assert c.version == 1.0 and "llama" in c.tags
    verdict = c.evaluate(jobs=2)
    expected = {}
    for base in scores:
        for comp in scores:
            expected[(base, comp)] = "VERIFIED" if abs(scores[comp][0] - scores[base][0]) < 0.1 else "FALSIFIED"
    got = {(r.cell.values["base_model"], r.cell.values["comp_model"]): r.verdict for r in c.results}
    assert got == expected
    assert verdict == ("FALSIFIED" if "FALSIFIED" in expected.values() else "VERIFIED") == c.card.expected
    (s8, n8), (s70, n70) = scores["meta/llama-3-8b"], scores["meta/llama-3-70b"]
    message = (f"Assertion does not hold: meta/llama-3-70b score ({s70:.2f}, n={n70}) exceeds consistency bound "
               f"on meta/llama-3-8b ({s8:.2f}, n={n8})")
    assert message in capsys.readouterr().out
    for r in c.results:
        doc = json.loads((r.out_dir / "verdict.json").read_text())
        assert math.isclose(doc["symbols"]["comp_score"]["value"], scores[r.cell.values["comp_model"]][0])


# ---------------------------------------------------------------- the subprocess, its time limit, the command line


def test_a_hanging_setting_times_out_inconclusive(tmp_path, capsys):
    path = write(tmp_path, "hang.yaml", """
        title: t
        description: d
        claim: {python: "assert slow > 0"}
        symbols:
          slow:
            type: int
            python: |
              import time
              time.sleep(60)
              slow = 1
    """)
    c = EvaluationCard(path, tmp_path / "out", timeout=3)
    assert c.evaluate() == "INCONCLUSIVE"
    assert capsys.readouterr().out.startswith("timed out after 3 s")  # (while evaluating 'slow', if it got there)
    assert c.results[0].cause == "timeout" and c.claim.status == "INCONCLUSIVE"


def test_cli_strict_compares_expected_with_the_aggregated_verdict(tmp_path):
    import subprocess
    import sys

    text = """
        title: t
        description: d
        expected: {expected}
        claim: {{python: "assert x < 2"}}
        symbols:
          x: {{type: int, sweep: [1, 2]}}
    """
    # the settings' verdicts differ (VERIFIED, FALSIFIED): only the card's aggregated verdict is compared
    paths = [write(tmp_path, f"strict_{e}.yaml", text.format(expected=e)) for e in ("FALSIFIED", "VERIFIED")]
    p = subprocess.run([sys.executable, "-m", "magnet.evaluation", *map(str, paths), "--out", str(tmp_path / "out"),
                        "--strict", "--quiet", "--jobs", "2"], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "strict_FALSIFIED: FALSIFIED over 2 settings" in p.stdout
    assert "strict_VERIFIED: FALSIFIED (expected VERIFIED) over 2 settings" in p.stdout
    for e in ("FALSIFIED", "VERIFIED"):
        doc = json.loads((tmp_path / "out" / f"strict_{e}" / "card_verdict.json").read_text())
        assert (doc["verdict"], doc["expected"], doc["counts"]["VERIFIED"]) == ("FALSIFIED", e, 1)
