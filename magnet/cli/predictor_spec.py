"""``--predictor`` values: ``module:Class`` (the current directory is on the import path, as with
``python -m``), ``path/to/file.py:Class``, or ``path/to/file.py`` when the file defines one predictor.

Example:
    >>> load_predictor_spec("predictors.example_random_predictor:ExampleRandomPredictor").name
    'ExampleRandomPredictor'
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from magnet.errors import UserError
from magnet.predictor import load_predictor


def _on_path(directory: str) -> None:
    directory = os.path.abspath(directory)
    if directory not in (os.path.abspath(p or ".") for p in sys.path):
        sys.path.insert(0, directory)


def _predictor_classes(mod) -> list[str]:
    return sorted(n for n, v in vars(mod).items()
                  if isinstance(v, type) and callable(getattr(v, "predict", None)) and v.__module__ == mod.__name__)


def load_predictor_spec(spec: str):
    """Instantiate the predictor a ``--predictor`` value names; every failure is a :class:`UserError`."""
    module, sep, cls = spec.rpartition(":") if spec.count(":") else (spec, "", "")
    if not sep:
        module, cls = spec, ""
    if module.endswith(".py") or os.sep in module:
        path = Path(module)
        if not path.is_file():
            raise UserError(f"--predictor {spec}", f"no such file: {path}")
        _on_path(str(path.parent))
        name = path.stem
        if not cls:
            try:
                mod = importlib.import_module(name)
            except Exception as e:  # noqa: BLE001 - the user's module failed while importing
                raise UserError(f"--predictor {spec}", f"importing {path} raised {type(e).__name__}: {e}") from None
            found = _predictor_classes(mod)
            if len(found) != 1:
                raise UserError(f"--predictor {spec}", f"{path} defines {len(found)} predictors"
                                + (f" ({', '.join(found)})" if found else ""),
                                hint=f"name one: --predictor {path}:CLASS")
            cls = found[0]
        return load_predictor(f"{name}:{cls}")
    _on_path(os.getcwd())
    return load_predictor(spec)
