"""aiq-magnet's README snippets on magnet (its README is copied unchanged in aiq_magnet/README.md).

The snippets are read out of that file, so a snippet that changes upstream changes the test. Covered here: the
simple-card walkthrough (summarize, evaluate, summarize again), ``magnet evaluate magnet/cards/simple.yaml`` from
the repository root, and the card-writing workflow. The llama-card snippet needs HELM Lite from the network; aiq's
own test of that card runs on the offline Lite fixture in aiq_magnet/test_llama_cards.py.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (Path(__file__).parent / "aiq_magnet" / "README.md").read_text()


def _blocks() -> list[str]:
    """The fenced blocks of aiq's README, in order."""
    return re.findall(r"```[^\n]*\n(.*?)```", README, re.S)


def _block_with(text: str) -> str:
    return next(b for b in _blocks() if text in b)


def _want_lines(block: str, start: str) -> list[str]:
    """The expected output lines after the ``>>> start`` line of a snippet, up to the next prompt."""
    lines = [line.strip() for line in block.splitlines()]
    i = next(k for k, line in enumerate(lines) if line.startswith(f">>> {start}"))
    out = []
    for line in lines[i + 1:]:
        if line.startswith(">>>"):
            break
        if line:
            out.append(line)
    return out


def _printed(call) -> tuple[object, list[str]]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        value = call()
    return value, [line.strip() for line in buf.getvalue().splitlines() if line.strip()]


def test_simple_card_walkthrough_prints_what_the_readme_shows(monkeypatch):
    monkeypatch.chdir(ROOT)  # the README's card path is relative to the repository root: magnet/cards/simple.yaml
    from magnet.evaluation import EvaluationCard

    card = EvaluationCard("magnet/cards/simple.yaml")
    before = next(b for b in _blocks() if "STATUS:      UNVERIFIED" in b and "int_range_even': None" in b)
    _, got = _printed(card.summarize)
    for line in _want_lines(before, "card.summarize()"):  # every line aiq prints is printed (magnet adds metadata)
        assert line in got, (line, got)

    after = next(b for b in _blocks() if "STATUS:      VERIFIED" in b)
    verdict, printed = _printed(card.evaluate)
    assert str(verdict) == _want_lines(after, "card.evaluate()")[0] == "VERIFIED"
    _, got = _printed(card.summarize)
    for line in _want_lines(after, "card.summarize()"):
        assert line in got, (line, got)


def test_magnet_evaluate_simple_card_from_the_repository_root():
    command = _block_with("magnet evaluate magnet/cards/simple.yaml").strip()
    assert command == "magnet evaluate magnet/cards/simple.yaml"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "magnet", *command.split()[1:]], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "VERIFIED" in done.stdout and "Traceback" not in done.stderr


def test_card_writing_workflow_runs_on_a_card_of_the_readme_shape(tmp_path):
    """The README's 'Writing your own Evaluation Card' workflow, on a card written in the README's structure."""
    workflow = _block_with('card = EvaluationCard("path/to/mycard.yaml")')
    card_path = tmp_path / "mycard.yaml"
    card_path.write_text(
        'title: "Squares are not negative"\n'
        "description: |\n  x * x >= 0 on a few integers\n"
        "claim:\n  python: |\n    assert all(v * v >= 0 for v in values), 'a negative square'\n"
        "symbols:\n  values:\n    type: list\n    python: |\n      values = list(range(-3, 4))\n"
        "submitter:\n  name: a user\n  email: user@example.org\n")
    code = workflow.replace("path/to/mycard.yaml", str(card_path))
    _, printed = _printed(lambda: exec(compile(code, "README workflow", "exec"), {}))
    assert printed.count("STATUS:      UNVERIFIED") == 1 and "STATUS:      VERIFIED" in printed
