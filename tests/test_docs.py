"""The documentation works: the site builds with warnings as errors, every code block runs, every link resolves.

- The Sphinx build (``docs/``) runs with ``-W``: a broken cross-reference, a bad anchor, a docstring that does
  not parse or a page outside the navigation fails it.
- Every ```` ```python ```` block of a page (and of README.md) runs, in order, in one namespace; every
  ```` ```bash ```` block runs with bash. Both from a copy of the repository root (symlinks to its entries, so
  files a block writes land in a temporary folder), with the checkout first on ``PYTHONPATH`` and the venv's
  ``bin/`` first on ``PATH``. A block preceded by ``<!-- docs-test: skip: REASON -->`` is skipped.
- Every relative link of every page and of README.md points at a file that exists.
- Every page is reachable from the start page in at most two clicks.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts)
DOCUMENTS = [ROOT / "README.md", *PAGES]
SKIP = re.compile(r"^<!-- docs-test: skip: (.+) -->$")
FENCE = re.compile(r"^```(\w*)")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


def code_blocks(text: str) -> list[tuple[str, str, str | None, int]]:
    """``(language, code, skip reason, line)`` of every fenced block, in order.

    Example:
        >>> code_blocks("<!-- docs-test: skip: slow -->\\n```bash\\nsleep 9\\n```\\n```python\\nx = 1\\n```\\n")
        [('bash', 'sleep 9\\n', 'slow', 2), ('python', 'x = 1\\n', None, 5)]
    """
    blocks, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m:
            j, skip = i - 1, None  # the skip line may sit above other markers (README's <!-- setup:... -->)
            while j >= 0 and lines[j].startswith("<!--") and not skip:
                skip, j = SKIP.match(lines[j].strip()), j - 1
            start, body = i + 1, []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            blocks.append((m.group(1), "\n".join(body) + "\n", skip.group(1) if skip else None, start))
        i += 1
    return blocks


def links(path: Path) -> list[str]:
    """Relative link targets of a Markdown file (web links, mail and pure anchors left out)."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # links inside code are not links
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t) and not t.startswith("#")]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder that looks like the repository root (symlinks to its entries); blocks' new files land here."""
    d = tmp_path_factory.mktemp("docs-cwd")
    for entry in ROOT.iterdir():
        if entry.name not in {".git", ".venv"}:
            (d / entry.name).symlink_to(entry)
    return d


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


@pytest.mark.parametrize("doc", DOCUMENTS, ids=_rel)
def test_code_blocks_run(doc, workdir, monkeypatch):
    blocks = [b for b in code_blocks(doc.read_text(encoding="utf-8")) if b[0] in ("python", "bash") and not b[2]]
    if not blocks:
        return  # a page without runnable code has nothing to check
    monkeypatch.chdir(workdir)
    monkeypatch.syspath_prepend(str(ROOT))
    namespace: dict = {"__name__": "__docs__"}
    for lang, code, _, line in blocks:
        where = f"{_rel(doc)}:{line}"
        if lang == "python":
            exec(compile(code, where, "exec"), namespace)  # noqa: S102 - the docs' own examples
        else:
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", code], cwd=workdir, env=_env(),
                                  capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, f"{where}: exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"


@pytest.mark.parametrize("doc", DOCUMENTS, ids=_rel)
def test_relative_links_resolve(doc):
    broken = [t for t in links(doc) if not (doc.parent / t.split("#", 1)[0]).resolve().exists()]
    assert not broken, f"{_rel(doc)}: links to missing files: {broken}"


def test_every_page_is_two_clicks_from_the_start_page():
    def targets(page: Path) -> set[Path]:
        return {(page.parent / t.split("#", 1)[0]).resolve() for t in links(page) if t.split("#", 1)[0].endswith(".md")}

    start = DOCS / "index.md"
    one = targets(start)
    two = set().union(*(targets(p) for p in one if p.exists()))
    unreachable = [_rel(p) for p in PAGES if p.resolve() not in {start.resolve(), *one, *two}]
    assert not unreachable, f"pages more than two clicks from docs/index.md: {unreachable}"


def test_readme_is_a_screen_long_and_keeps_the_setup_markers():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.encode()) <= 12_500, f"README.md is {len(text.encode())} bytes; move sections into docs/"
    for marker in ("<!-- setup:install-and-run -->", "<!-- setup:test -->"):
        assert marker in text, f"README.md lost the marker {marker} that .ci/run reads"


def test_docs_build_with_warnings_as_errors(tmp_path):
    pytest.importorskip("sphinx", reason="the docs extra (in dev) is not installed")
    done = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-E", "-b", "html",
                           str(DOCS), str(tmp_path / "html")], cwd=ROOT, env=_env(), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"sphinx-build failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    assert (tmp_path / "html" / "reference" / "cli.html").read_text(encoding="utf-8").count("magnet benchmark")
    for page in ("tables", "card-schema"):  # generated reStructuredText is rendered, not shown as text in MyST pages
        text = (tmp_path / "html" / "reference" / f"{page}.html").read_text(encoding="utf-8")
        assert "<table" in text and "list-table::" not in text, page
    assert "the table contract" in (tmp_path / "html" / "reference" / "tables.html").read_text(encoding="utf-8")
