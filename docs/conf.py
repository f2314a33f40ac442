"""Sphinx configuration of magnet's documentation site.

Build it with ``python -m sphinx -W -b html docs docs/_build/html`` (``tests/test_docs.py`` does, with warnings
napoleon for their NumPy/Google sections), the command-line reference from the argparse parser, and the table
columns and card schema from the code (``docs/_ext/magnet_docs.py``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the checkout, not an installed copy: the docs describe this tree
sys.path.insert(0, str(Path(__file__).parent / "_ext"))
os.environ.setdefault("COLUMNS", "100")  # argparse wraps --help at this width: the CLI reference is stable

import magnet  # noqa: E402

project = "magnet"
author = "magnet contributors"
release = version = magnet.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "magnet_docs",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3  # [text](page.md#a-heading) links resolve, and a wrong anchor is a warning

autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_class_signature = "separated"
napoleon_google_docstring = True  # the docstrings mix "Example:" (Google) and "Parameters" (NumPy) sections
napoleon_numpy_docstring = True
napoleon_use_ivar = True  # dataclass fields documented under "Attributes" are not described twice

html_theme = "furo"
html_title = f"magnet {release}"
html_static_path: list[str] = []
html_show_sourcelink = False

nitpicky = False
suppress_warnings = ["config.cache"]  # the conf's sys.path tweak makes Sphinx re-read; harmless
