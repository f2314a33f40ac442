"""Every Eval Ever records (``{uuid}.json`` + ``{uuid}_samples.jsonl``) as magnet's four tables.

The backend contract shared by every source backend: :func:`detect` and
:func:`read_tables` (the four tables plus HELM-shaped ``schemas``). See
:mod:`magnet.backends.eee.reader`.

Example:
    >>> from magnet.backends import eee
    >>> eee.detect("/nonexistent")
    False
"""

from magnet.backends.eee.reader import detect, read_tables

__all__ = ["detect", "read_tables"]
