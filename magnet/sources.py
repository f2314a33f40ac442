"""One entry point for every source: detect a folder's format and return its outputs object.

:func:`open_outputs` gives a :class:`~magnet.backends.helm.outputs.HelmOutputs` for HELM output and a
:class:`~magnet.tables.outputs.TableOutputs` (the same table API) for Inspect AI logs, lm-evaluation-harness
output and Every Eval Ever records. Each non-HELM format is a backend package ``magnet.backends.<name>``
exposing ``detect(path)`` and ``read_tables(path, errors=)``; it is imported only when used, so a missing
backend or framework package is a one-line error, not an import failure of magnet.

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> root = HelmOutputs.demo(preset="small").root
    >>> detect_format(root)
    'helm'
    >>> type(open_outputs(root)).__name__
    'HelmOutputs'
    >>> open_outputs(root, source_format="latex")
    Traceback (most recent call last):
    magnet.errors.UserError: --source-format latex: unknown format; expected one of helm, inspect, lm-eval, eee
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from magnet.backends.helm.errors import HelmOutputError
from magnet.backends.helm.outputs import HelmOutputs
from magnet.errors import UserError
from magnet.tables.outputs import TableOutputs

#: format name -> the backend module (``None``: HELM, read by :class:`HelmOutputs`).
FORMATS: dict[str, str | None] = {
    "helm": None,
    "inspect": "magnet.backends.inspect",
    "lm-eval": "magnet.backends.lm_eval",
    "eee": "magnet.backends.eee",
}


def backend(source_format: str):
    """The backend module of a non-HELM format; :class:`UserError` when it or its framework is missing."""
    if source_format not in FORMATS:
        raise UserError(f"--source-format {source_format}", f"unknown format; expected one of {', '.join(FORMATS)}")
    module = FORMATS[source_format]
    if module is None:
        raise ValueError("HELM output is read by HelmOutputs, not by a table backend")
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise UserError(f"--source-format {source_format}", f"its reader cannot be imported ({e})",
                        hint="pip install -e '.[frameworks]' (see docs/howto/other-frameworks.md)") from None


def _is_helm(path: Path) -> bool:
    try:
        HelmOutputs.coerce(path)
    except HelmOutputError:
        return False
    return True


def detect_format(path: str | os.PathLike) -> str:
    """The format of the files under ``path``: ``helm``, ``inspect``, ``lm-eval`` or ``eee``.

    A folder holding files of two formats is an error naming both (choose with ``--source-format``).
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise UserError(str(p), "no such file or directory")
    found = ["helm"] if p.is_dir() and _is_helm(p) else []
    for name, module in FORMATS.items():
        if module is None:
            continue
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue  # a backend that is not there cannot claim the folder
        if mod.detect(p):
            found.append(name)
    if not found and not p.is_dir():
        raise UserError(str(p), "expected a directory (benchmark_output, runs/, a suite or a run; or a folder of "
                                "Inspect logs, lm-eval output or Every Eval Ever records) or an Inspect log file")
    if not found:
        raise UserError(str(p), "no HELM runs, Inspect logs, lm-eval results or Every Eval Ever records found")
    if len(found) > 1:
        raise UserError(str(p), f"holds files of several formats ({' and '.join(found)})",
                        hint=f"choose one with --source-format, e.g. --source-format {found[0]}")
    return found[0]


def open_outputs(path, source_format: str | None = None, cache_dir=None):
    """The outputs object of ``path``: :class:`HelmOutputs` or :class:`TableOutputs` (same table API).

    ``path`` may already be an outputs object (returned as is). ``source_format`` skips detection.
    """
    if isinstance(path, (HelmOutputs, TableOutputs)):
        return path
    if source_format is None:
        source_format = detect_format(path)
    if source_format not in FORMATS:
        raise UserError(f"--source-format {source_format}", f"unknown format; expected one of {', '.join(FORMATS)}")
    if FORMATS[source_format] is None:
        return HelmOutputs.coerce(path, cache_dir=cache_dir)
    mod = backend(source_format)
    p = Path(path).expanduser()
    if not p.exists():
        raise UserError(str(p), "no such file or directory")
    return TableOutputs(p, mod.read_tables, source_format)


def only_suite(outputs, suite: str):
    """``outputs`` restricted to one suite (HELM or table outputs); :class:`HelmOutputError` if there is none."""
    chosen = [s for s in outputs.suites() if s.name == suite]
    if not chosen:
        raise HelmOutputError(outputs.root, f"no suite {suite!r}; suites: {[s.name for s in outputs.suites()]}")
    if isinstance(outputs, TableOutputs):
        return outputs.only_suites([suite])
    return HelmOutputs(outputs.root, chosen)
