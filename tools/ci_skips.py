"""Fail CI when a test module that must run was skipped (in whole or in part), from pytest's junit XML.

    python tools/ci_skips.py .ci-junit.xml

Every module under ``tests/`` must run: at least one test passed, none skipped. A module whose
tests may legitimately skip on some machine is listed in :data:`MAY_SKIP` with the reason. This
catches e.g. Ray installed by the README's install command but ``tests/test_ray_backend.py``
skipped because ``import ray`` failed.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

#: test module -> why it may skip. Empty: on CI's machine every module runs.
MAY_SKIP: dict[str, str] = {}


def module_of(classname: str, name: str) -> str:
    """``tests.test_x.TestY`` -> ``tests/test_x.py``; a skipped collection has the module in ``name``."""
    parts = (classname or name).split(".")
    for i, part in enumerate(parts):
        if part.startswith("test_"):
            return "/".join(parts[: i + 1]) + ".py"
    return "/".join(parts)


def outcomes(junit: Path) -> dict[str, dict[str, int]]:
    """Per module under tests/: counts of passed, skipped and failed test cases."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"passed": 0, "skipped": 0, "failed": 0})
    for case in ET.parse(junit).getroot().iter("testcase"):
        module = module_of(case.get("classname", ""), case.get("name", ""))
        if not module.startswith("tests/"):
            continue  # doctests of magnet/ and predictors/
        if case.find("skipped") is not None:
            counts[module]["skipped"] += 1
        elif case.find("failure") is not None or case.find("error") is not None:
            counts[module]["failed"] += 1
        else:
            counts[module]["passed"] += 1
    return counts


def problems(junit: Path, root: Path) -> list[str]:
    counts = outcomes(junit)
    out = []
    for path in sorted(root.glob("tests/test_*.py")):
        module = path.relative_to(root).as_posix()
        c = counts.get(module, {"passed": 0, "skipped": 0, "failed": 0})
        if module in MAY_SKIP:
            continue
        if c["skipped"]:
            out.append(f"{module}: {c['skipped']} test(s) skipped (must run on CI)")
        elif not c["passed"] and not c["failed"]:
            out.append(f"{module}: no test ran")
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python tools/ci_skips.py JUNIT_XML", file=sys.stderr)
        return 2
    junit = Path(argv[0])
    if not junit.is_file():
        print(f"tools/ci_skips.py: {junit}: no such file (did pytest run with --junitxml?)", file=sys.stderr)
        return 2
    found = problems(junit, Path(__file__).resolve().parents[1])
    for line in found:
        print(f"skipped module: {line}")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
