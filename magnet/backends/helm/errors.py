"""Errors and the ``errors=`` policy for reading damaged HELM outputs.

Every problem with an input file becomes a :class:`HelmOutputError` whose
message is one line naming the file and the problem. The ``errors`` policy
says what happens to the run it belongs to:

* ``"raise"`` (default): raise the error;
* ``"warn"``: skip the run and emit a :class:`HelmOutputWarning`;
* ``"skip"``: skip the run quietly.

Skipped runs are never lost silently: they are listed, with the reason, in
``df.attrs["skipped"]`` of the returned table.

Example:
    >>> err = HelmOutputError("/b/runs/s/r/stats.json", "invalid JSON: unexpected end of data")
    >>> str(err)
    '/b/runs/s/r/stats.json: invalid JSON: unexpected end of data'
    >>> check_policy("skip")
    'skip'
"""

from __future__ import annotations

from dataclasses import dataclass

POLICIES = ("raise", "warn", "skip")


class HelmOutputError(ValueError):
    """A HELM output file is missing or malformed. ``str()`` is one line: ``path: problem``."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = " ".join(str(problem).split())
        super().__init__(f"{self.path}: {self.problem}")


class HelmOutputWarning(UserWarning):
    """A damaged run was skipped under ``errors="warn"``."""


@dataclass(frozen=True)
class Skipped:
    """A run left out of a table, and why."""

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


def check_policy(errors: str) -> str:
    """Validate an ``errors=`` argument.

    Example:
        >>> check_policy("ignore")
        Traceback (most recent call last):
        ...
        ValueError: errors must be one of 'raise', 'warn', 'skip'; got 'ignore'
    """
    if errors not in POLICIES:
        raise ValueError(f"errors must be one of 'raise', 'warn', 'skip'; got {errors!r}")
    return errors
