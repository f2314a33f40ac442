"""magnet: benchmark predictors of HELM evaluation results.

The names most users need are importable from here.
"""

__version__ = "0.1.0"
