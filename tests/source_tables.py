"""Test helper: serve tables a source backend has read through the HelmOutputs API that Corpus.load takes.

Until magnet.sources wires non-HELM outputs into ``Corpus.load`` (the lead merges it), the backend tests
build the corpus from ``read_tables`` with this.
"""

from __future__ import annotations

from magnet.backends.helm.outputs import HelmOutputs
from magnet.tables.columns import TABLES


class TablesOutputs(HelmOutputs):
    """The tables (and schemas) of ``read_tables``, served as ``.tables()`` / ``.schemas()``."""

    def __init__(self, tables: dict, root):
        self._t, self.root = tables, root

    def tables(self, names=TABLES, *, errors="raise", **kwargs):
        return {n: self._t[n].copy() for n in names}

    def schemas(self):
        return self._t["schemas"]
