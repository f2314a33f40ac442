"""Write notebooks/*.ipynb from their sources in notebooks/src/*.py (outputs stripped).

Sources use the "percent" format: ``# %%`` starts a code cell, ``# %% [markdown]``
a markdown cell whose lines start with ``# ``. Run ``python tools/make_notebooks.py``
after editing a source; the tests execute the notebooks and check that each
committed notebook matches its source.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "notebooks" / "src"
MARKER = re.compile(r"^# %%( \[markdown\])?\s*$", re.MULTILINE)


def cells_of(text: str) -> list:
    """The cells of a percent-format source."""
    cells = []
    parts = MARKER.split(text)
    # parts: [preamble, md_flag, body, md_flag, body, ...]
    for flag, body in zip(parts[1::2], parts[2::2]):
        body = body.strip("\n")
        if flag:
            lines = [ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in body.splitlines()]
            cells.append(new_markdown_cell("\n".join(lines).strip()))
        else:
            cells.append(new_code_cell(body.strip()))
    return cells


def notebook_of(source: Path):
    cells = cells_of(source.read_text())
    for i, cell in enumerate(cells):
        cell["id"] = f"{source.stem[:20]}-{i:02d}"  # stable ids: regenerating changes nothing
    return new_notebook(cells=cells,
                        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def main() -> None:
    for source in sorted(SOURCES.glob("*.py")):
        nbformat.write(notebook_of(source), ROOT / "notebooks" / f"{source.stem}.ipynb")


if __name__ == "__main__":
    main()
