"""The error a source backend raises for an input it cannot read: one line, ``<file>: <problem>``.

Example:
    >>> e = SourceError("/logs/a.eval", "not a readable Inspect log (BadZipFile: File is not a zip file)")
    >>> str(e)
    '/logs/a.eval: not a readable Inspect log (BadZipFile: File is not a zip file)'
    >>> isinstance(e, ValueError)
    True
"""

from __future__ import annotations

from magnet.errors import UserError


class SourceError(UserError):
    """A file of a non-HELM source (Inspect log, lm-eval output, EEE record) is missing or malformed."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        super().__init__(self.path, problem)
