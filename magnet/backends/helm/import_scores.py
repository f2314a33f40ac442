"""Former home of the score-matrix import, kept so that older imports work: see :mod:`magnet.backends.matrix.import_scores`.

Example:
    >>> from magnet.backends.helm.import_scores import import_scores as old
    >>> from magnet.backends.matrix.import_scores import import_scores as new
    >>> old is new
    True
"""

from magnet.backends.matrix.import_scores import *  # noqa: F401,F403
from magnet.backends.matrix.import_scores import import_scores, read_matrix, scores_matrix  # noqa: F401
