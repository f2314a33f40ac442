"""Mutation testing of the modules whose bugs would be silent: one command, one report.

    python tools/mutation.py                               # all modules, one after the other
    python tools/mutation.py magnet/stats/noise_floor.py   # some of them

What it does:

1. makes its own virtual environment ``.venv-mutation`` (the project's venv stays untouched): it sees
   the project venv's packages through a ``.pth`` file and installs only the ``mutation`` extra
   (mutmut) from ``pyproject.toml``;
2. runs ``mutmut run`` (configured under ``[tool.mutmut]`` in ``pyproject.toml``: which modules
   are mutated and which test files cover them) **one module at a time**, at low priority
   (``nice -n 10``) and with ``--max-children`` workers (default 1: the machine is shared);
3. counts every module's mutants from mutmut's result files and writes ``mutants/report.md``
   (score per module, the survivors with their diffs). Survivors judged *equivalent* (no test
   can tell them from the original) are listed with the reason in
   ``tools/mutation_equivalent.txt`` and counted apart.

Score = killed / (mutants - equivalent), where killed includes timeouts (a mutant that hangs the
tests is caught) and a mutant no test reaches counts as surviving.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-mutation"
PROJECT_VENV = ROOT / ".venv"
EQUIVALENT = ROOT / "tools" / "mutation_equivalent.txt"
REPORT = ROOT / "mutants" / "report.md"
KILLED = {1, 3, 36, -24, 24, 152, 255, 37}  # mutmut exit codes: test failure, pytest error, timeout, type check
SURVIVED = {0}
NO_TESTS = {5, 33}


def config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def modules_to_mutate() -> list[str]:
    return list(config()["tool"]["mutmut"]["only_mutate"])


def ensure_venv() -> Path:
    """``.venv-mutation`` with mutmut, seeing the project venv's packages (which it does not modify)."""
    mutmut = VENV / "bin" / "mutmut"
    if mutmut.exists():
        return mutmut
    project_python = PROJECT_VENV / "bin" / "python"
    if not project_python.exists():
        sys.exit(f"tools/mutation.py: {project_python} not found: install the project first (README set-up)")
    subprocess.run([str(project_python), "-m", "venv", str(VENV)], check=True)
    site = subprocess.run([str(project_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    own = subprocess.run([str(VENV / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         check=True, capture_output=True, text=True).stdout.strip()
    Path(own, "_magnet_project_venv.pth").write_text(f"import site; site.addsitedir({site!r})\n")
    spec = config()["project"]["optional-dependencies"]["mutation"]
    subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", *spec], check=True)
    return mutmut


def dotted(module: str) -> str:
    return module.removesuffix(".py").replace("/", ".")


def run_module(mutmut: Path, module: str, max_children: int, resume: bool) -> int:
    """``mutmut run`` on one module's mutants: all of them, or (``resume``) those not killed yet."""
    names = [f"{dotted(module)}.*"]
    if resume and results(module):
        names = [n for n, code in results(module).items() if code not in KILLED]
        if not names:
            print(f"== {module}: every mutant has a result (run without --resume to test them again)", flush=True)
            return 0
    print(f"== {module} ({'all mutants' if names[0].endswith('*') else f'{len(names)} mutants left'})", flush=True)
    cmd = ["nice", "-n", "10", str(mutmut), "run", "--max-children", str(max_children), *names]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


def equivalent() -> dict[str, str]:
    """Survivors judged equivalent: ``mutant name -> reason`` from tools/mutation_equivalent.txt."""
    out = {}
    if EQUIVALENT.exists():
        for line in EQUIVALENT.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                name, _, reason = line.partition(" ")
                out[name] = reason.strip()
    return out


def results(module: str) -> dict[str, int | None]:
    meta = ROOT / "mutants" / (module + ".meta")
    if not meta.exists():
        return {}
    return json.loads(meta.read_text()).get("exit_code_by_key", {})


def diff(mutmut: Path, name: str) -> str:
    proc = subprocess.run([str(mutmut), "show", name], cwd=ROOT, capture_output=True, text=True)
    return proc.stdout.strip()


def summarise(mutmut: Path, modules: list[str]) -> tuple[str, bool]:
    eq = equivalent()
    lines = ["| module | mutants | killed | survived | no test | equivalent | score | killed / all |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    survivors, all_ok = [], True
    for module in modules:
        codes = results(module)
        if not codes or all(c is None for c in codes.values()):
            lines.append(f"| {module} | not run | | | | | | |")
            all_ok = False
            continue
        unchecked = sum(c is None for c in codes.values())
        checked = {n: c for n, c in codes.items() if c is not None}
        killed = sum(c in KILLED for c in checked.values())
        equiv = [n for n, c in checked.items() if c not in KILLED and n in eq]
        alive = [n for n, c in checked.items() if c not in KILLED and n not in eq]
        untested = sum(checked[n] in NO_TESTS for n in alive)
        denominator = len(checked) - len(equiv)
        score = killed / denominator if denominator else float("nan")
        all_ok &= score >= 0.8 and not unchecked
        partial = f" ({unchecked} not yet tested)" if unchecked else ""
        lines.append(f"| {module} | {len(checked)}{partial} | {killed} | {len(alive) - untested} | {untested} "
                     f"| {len(equiv)} | {100 * score:.1f}% | {100 * killed / len(checked):.1f}% |")
        survivors += [(module, n, checked[n]) for n in sorted(alive)]
    text = "\n".join(lines)
    body = [f"# Mutation testing: mutmut, {len(modules)} module(s)", "", text, "",
            "Score = killed (incl. timeouts) / (mutants - equivalent). Equivalent mutants and why: "
            "tools/mutation_equivalent.txt.", ""]
    if survivors:
        body += ["## Survivors", ""]
        for module, name, code in survivors:
            body += [f"### {name} (exit {code})", "", "```diff", diff(mutmut, name), "```", ""]
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text("\n".join(body))
    return text, all_ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="modules to mutate (default: [tool.mutmut] only_mutate)")
    parser.add_argument("--max-children", type=int, default=1, help="parallel mutmut workers (default 1)")
    parser.add_argument("--report-only", action="store_true", help="summarise the last results, run nothing")
    parser.add_argument("--resume", action="store_true", help="test again only the mutants not killed yet (unchecked, survived, no test)")
    args = parser.parse_args(argv)
    known = modules_to_mutate()
    modules = args.modules or known
    unknown = [m for m in modules if m not in known]
    if unknown:
        parser.error(f"not in [tool.mutmut] only_mutate: {', '.join(unknown)} (known: {', '.join(known)})")
    mutmut = ensure_venv()
    if not args.report_only:
        for module in modules:
            run_module(mutmut, module, args.max_children, args.resume)
    text, ok = summarise(mutmut, known)
    print(text)
    print(f"report with survivors: {REPORT.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
