"""magnet: benchmark predictors of HELM evaluation results.

The names most users need are importable from here (loaded on first use)::

    from magnet import HelmOutputs, Predictor, check_predictor

Example:
    >>> import magnet
    >>> magnet.Predictor.__name__, magnet.HelmOutputs.__name__
    ('Predictor', 'HelmOutputs')
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "HelmOutputs": "magnet.backends.helm.outputs",
    "Predictor": "magnet.predictor",
    "RunPredictor": "magnet.predictor",
    "InstancePredictor": "magnet.predictor",
    "RunPrediction": "magnet.predictions",
    "InstancePrediction": "magnet.predictions",
    "Corpus": "magnet.protocol.corpus",
    "make_stat": "magnet.helm_objects",
    "make_folds": "magnet.protocol.splits",
    "run_protocol": "magnet.protocol.runner",
    "mbe_check": "magnet.stats.mbe",
    "check_predictor": "magnet.testing",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'magnet' has no attribute {name!r}")
