"""Score matrices (models x instances, e.g. BenchPred's ``data/scores/``) as HELM-layout runs.

:func:`~magnet.backends.matrix.import_scores.import_scores` writes a matrix as a ``benchmark_output`` that every
reader, predictor and check of magnet takes (``magnet import-scores`` on the command line).
"""
