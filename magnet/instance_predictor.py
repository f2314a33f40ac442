"""MAGNET's import path for the per-instance API: ``from magnet.instance_predictor import InstancePredictor, InstancePrediction``.

Example:
    >>> from magnet.instance_predictor import InstancePrediction, InstancePredictor
    >>> InstancePredictor.__module__, InstancePrediction.__module__
    ('magnet.predictor', 'magnet.predictions')
"""

from magnet.predictions import InstancePrediction
from magnet.predictor import InstancePredictor

__all__ = ["InstancePrediction", "InstancePredictor"]
