"""What the readers of non-HELM logs share: finding files, reading JSON/JSONL, the ``errors=`` policy, empty tables.

Every problem with an input file is a one-line
:class:`~magnet.backends.helm.errors.HelmOutputError` (``path: problem``), as
for HELM, so the CLI and ``Corpus.load`` report them the same way.

Example:
    >>> import re, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> _ = open(os.path.join(d, "results_1.json"), "w").write("[1]")
    >>> pattern = re.compile(r"^results_.*\\.json$")
    >>> has_file(d, pattern), [p.name for p in find_files(d, pattern)]
    (True, ['results_1.json'])
    >>> read_json_object(os.path.join(d, "results_1.json"), "lm-eval results file")
    Traceback (most recent call last):
    ...
    magnet.backends.helm.errors.HelmOutputError: ...results_1.json: not an lm-eval results file (expected a JSON object)
"""

from __future__ import annotations

import json
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import orjson
import pandas as pd

from magnet.backends.helm.errors import HelmOutputError, HelmOutputWarning, Skipped, check_policy
from magnet.tables.columns import REQUIRED_COLUMNS


@dataclass(frozen=True)
class NamedFiles:
    """A format known by its file names: ``files(path)`` lists its files, ``detect(path)`` says if there is one.

    Both take a file (does its name match?) or a folder (searched at any depth). A backend's
    ``detect`` and file listing are this class's two methods over the backend's pattern.

    Example:
        >>> import tempfile, os
        >>> records = NamedFiles(re.compile(r"^[0-9a-f]{8}\\.json$"))
        >>> d = tempfile.mkdtemp()
        >>> records.detect(d), records.files("/nonexistent")
        (False, [])
        >>> _ = open(os.path.join(d, "2b1c6a5e.json"), "w").write("{}")
        >>> records.detect(d), [p.name for p in records.files(d)]
        (True, ['2b1c6a5e.json'])
    """

    pattern: re.Pattern

    def files(self, path) -> list[Path]:
        """The matching files at or under ``path`` (a file or a folder), sorted."""
        return find_files(path, self.pattern)

    def detect(self, path) -> bool:
        """Whether ``path`` is a matching file or a folder with one at any depth below it (stops at the first)."""
        return has_file(path, self.pattern)


def find_files(path, pattern: re.Pattern) -> list[Path]:
    """The files whose name matches ``pattern``: ``path`` itself, or those at any depth below it, sorted."""
    p = Path(path)
    if p.is_file():
        return [p] if pattern.match(p.name) else []
    if not p.is_dir():
        return []
    return sorted(f for f in p.rglob("*") if pattern.match(f.name) and f.is_file())


def has_file(path, pattern: re.Pattern) -> bool:
    """Whether :func:`find_files` would find one (stops at the first)."""
    p = Path(path)
    if p.is_file():
        return bool(pattern.match(p.name))
    return p.is_dir() and next((True for f in p.rglob("*") if pattern.match(f.name)), False)


def number(value) -> float:
    """A number as logs write it (a number, a bool, a numeric string, ``"N/A"``) as float; NaN if it is none.

    Example:
        >>> number("0.25"), number(1), number(True), math.isnan(number("N/A")), math.isnan(number([1, 2]))
        (0.25, 1.0, 1.0, True, True)
    """
    if isinstance(value, (bool, int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return math.nan
    return math.nan


def loads(text):
    """Parse JSON fast (orjson), falling back to the standard library for what orjson rejects (``NaN``, ``Infinity``).

    Example:
        >>> loads('{"a": 1}'), loads('[NaN]')[0] != loads('[NaN]')[0]
        ({'a': 1}, True)
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # raises json.JSONDecodeError with the standard message when really invalid


def read_json_object(path, kind: str) -> dict:
    """A JSON file that must hold an object; ``kind`` names what it should be in the error."""
    try:
        with open(path, "rb") as f:
            data = loads(f.read())
    except FileNotFoundError:
        raise HelmOutputError(path, "file is missing") from None
    except json.JSONDecodeError as e:
        raise HelmOutputError(path, f"invalid JSON: {e.msg} (line {e.lineno})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise HelmOutputError(path, f"cannot read: {e}") from None
    if not isinstance(data, dict):
        raise HelmOutputError(path, f"not an {kind} (expected a JSON object)")
    return data


def read_jsonl(path, check) -> list[dict]:
    """The objects of a JSON-lines file; ``check(row)`` returns a problem (str) for a bad line, else None."""
    rows = []
    try:
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = loads(line)
                except json.JSONDecodeError as e:
                    raise HelmOutputError(path, f"line {lineno}: invalid JSON: {e.msg}") from None
                problem = check(row) if isinstance(row, dict) else "not a JSON object"
                if problem:
                    raise HelmOutputError(path, f"line {lineno}: {problem}")
                rows.append(row)
    except (OSError, UnicodeDecodeError) as e:
        raise HelmOutputError(path, f"cannot read: {e}") from None
    return rows


class Damage:
    """The ``errors=`` policy of one read: raise, or remember what was skipped (and what is missing).

    Example:
        >>> d = Damage("skip")
        >>> d.fail(HelmOutputError("/x/results_1.json", "invalid JSON"))
        >>> [str(s) for s in d.skipped]
        ['/x/results_1.json: invalid JSON']
    """

    def __init__(self, errors: str):
        self.errors = check_policy(errors)
        self.skipped: list[Skipped] = []
        self.missing: list[Skipped] = []

    def fail(self, err: HelmOutputError) -> None:
        """Raise ``err`` under ``errors="raise"``; otherwise note it."""
        if self.errors == "raise":
            raise err
        self.skipped.append(Skipped(err.path, err.problem))

    def finish(self, tables: dict, what: str, **attrs) -> None:
        """Put ``skipped``/``missing`` (and ``attrs``) on every table's ``attrs``; warn under ``errors="warn"``."""
        for df in tables.values():
            df.attrs.update(skipped=list(self.skipped), missing=list(self.missing), **attrs)
        if self.skipped and self.errors == "warn":
            warnings.warn(f"skipped {len(self.skipped)} damaged {what} file(s); first: {self.skipped[0]}",
                          HelmOutputWarning, stacklevel=4)  # finish < _read_tables < read_tables < caller


def frame(table: str, rows: list[dict]) -> pd.DataFrame:
    """``rows`` as a table; without rows, an empty table with the contract's columns.

    Example:
        >>> list(frame("stats", []).columns)[:3]
        ['suite', 'run_spec.name', 'stats.name.name']
    """
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=list(REQUIRED_COLUMNS[table]))


def main_metric_schemas(suite: str, mains: dict[str, tuple[str, str]]) -> dict:
    """HELM-shaped schemas naming each task's main metric and split, so targets resolve unchanged.

    Example:
        >>> main_metric_schemas("s", {"task": ("acc", "test")})
        {'s': {'run_groups': [{'name': 'task', 'environment': {'main_name': 'acc', 'main_split': 'test'}}]}}
    """
    return {suite: {"run_groups": [{"name": task, "environment": {"main_name": metric, "main_split": split}}
                                   for task, (metric, split) in mains.items()]}}
