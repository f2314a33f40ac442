"""lm-evaluation-harness output (``results_*.json`` + ``samples_<task>_*.jsonl``) as magnet's four tables.

The backend contract shared by every source backend: :func:`detect` (does a
path hold this format?) and :func:`read_tables` (the four tables plus
HELM-shaped ``schemas``). See :mod:`magnet.backends.lm_eval.reader`.

Example:
    >>> from magnet.backends import lm_eval
    >>> lm_eval.detect("/nonexistent")
    False
"""

from magnet.backends.lm_eval.reader import detect, read_tables

__all__ = ["detect", "read_tables"]
