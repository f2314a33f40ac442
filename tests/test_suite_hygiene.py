"""The suite itself: no wall-clock assertion in tests/, and a per-test timeout configured for the whole suite.

Speed belongs in ``benchmarks/`` (ratios against a reference measured in the same run); a test that
needs a time limit relies on pytest-timeout (``timeout`` in pyproject.toml, or ``@pytest.mark.timeout``).
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: A clock reading or a duration.
CLOCK = re.compile(r"\b(perf_counter|perf_counter_ns|monotonic|monotonic_ns|process_time|time|time_ns)\(\)"
                   r"|elapsed\b|seconds\b|duration\b|-\s*start\b")
#: A message stating how long something took, checked by its digits (e.g. "took 0.").
TOOK = re.compile(r"took \d")


def _upper_time_bound(node: ast.Compare) -> bool:
    """``<clock or duration> < number`` (or ``number > <clock or duration>``) anywhere in a comparison chain."""
    sides = [node.left, *node.comparators]
    for left, op, right in zip(sides, node.ops, sides[1:]):
        if isinstance(op, (ast.Lt, ast.LtE)) and CLOCK.search(ast.unparse(left)) and not CLOCK.search(ast.unparse(right)):
            return True
        if isinstance(op, (ast.Gt, ast.GtE)) and CLOCK.search(ast.unparse(right)) and not CLOCK.search(ast.unparse(left)):
            return True
    return False


def wall_clock_asserts(source: str) -> list[str]:
    """The assert statements of a module's source that bound a duration from above: ``'line: statement'``.

    Lower bounds and consistency checks between recorded durations (``wall >= cpu``) are fine;
    an upper bound fails on a busy machine.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assert):
            text = ast.unparse(node.test)
            bounded = any(_upper_time_bound(c) for c in ast.walk(node.test) if isinstance(c, ast.Compare))
            if bounded or TOOK.search(text):
                found.append(f"{node.lineno}: assert {text}")
    return found


def test_the_detector_finds_the_forms_that_were_in_the_suite():
    planted = """
import time
def test_a():
    start = time.perf_counter()
    assert time.perf_counter() - start < 0.5
def test_b(result):
    assert result.seconds < 3
    assert elapsed < 20, "slow"
    assert not r.passed and r.got.startswith("constructing SlowInit took 0.")
    assert 20 > result.seconds
def test_fine(x, doc):
    assert x.n_predictions == 0 and x.reason == "timed out after 1 s"
    assert doc["seconds"] > 0 and doc["wall_seconds"] >= doc["seconds"]
"""
    assert [line.split(":")[0] for line in wall_clock_asserts(planted)] == ["5", "7", "8", "9", "10"]


def test_no_wall_clock_assertion_in_tests():
    offenders = {}
    for path in sorted((ROOT / "tests").glob("*.py")):
        if path.name == Path(__file__).name:
            continue
        found = wall_clock_asserts(path.read_text())
        if found:
            offenders[path.name] = found
    assert not offenders, f"wall-clock assertions (speed belongs in benchmarks/): {offenders}"


def test_per_test_timeout_is_configured_suite_wide():
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert 60 <= int(options["timeout"]) <= 1800
    # "thread": pytest-timeout must not take SIGALRM, which magnet's fold time limit uses.
    assert options["timeout_method"] == "thread"


def _ci_skips():
    import importlib.util

    spec = importlib.util.spec_from_file_location("ci_skips", ROOT / "tools" / "ci_skips.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ci_fails_when_a_test_module_is_skipped(tmp_path):
    """tools/ci_skips.py (run by .ci/run on pytest's junit XML) names skipped and silent modules."""
    ci_skips = _ci_skips()
    for name in ("test_ray_backend", "test_scoring", "test_mbe", "test_quiet"):
        (tmp_path / "tests").mkdir(exist_ok=True)
        (tmp_path / "tests" / f"{name}.py").write_text("")
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="" name="tests.test_ray_backend"><skipped message="collection skipped"/></testcase>'
        '<testcase classname="tests.test_scoring" name="test_a"/>'
        '<testcase classname="tests.test_mbe.TestX" name="test_b"/>'
        '<testcase classname="tests.test_mbe" name="test_c"><skipped message="no"/></testcase>'
        '<testcase classname="magnet.stats.mbe" name="mbe_check:0"><skipped message="doctest"/></testcase>'
        '</testsuite></testsuites>')
    assert ci_skips.problems(junit, tmp_path) == [
        "tests/test_mbe.py: 1 test(s) skipped (must run on CI)",
        "tests/test_quiet.py: no test ran",
        "tests/test_ray_backend.py: 1 test(s) skipped (must run on CI)",
    ]
    assert ci_skips.main([str(junit)]) in (0, 1)  # runs against this checkout's tests/ without error
    assert ci_skips.main([str(tmp_path / "missing.xml")]) == 2


def test_ci_run_adds_junit_and_coverage_and_checks_skips():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "--junitxml=.ci-junit.xml" in ci and "--cov=magnet --cov=predictors" in ci
    assert "tools/ci_skips.py .ci-junit.xml" in ci
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    assert any(d.startswith("pytest-cov") for d in dev)
