"""The built-in predictors: the baselines every new predictor must beat, from trivial to strong.

=====================  ===================================================================
RevealedSampleMean     mean of the revealed instances (the MBE baseline itself)
ModelMean              the model's mean score over its train runs
ScenarioMean           the scenario's mean score over train runs (other models)
Additive               model effect + scenario effect (ridge)
KNNRuns                nearest train runs of the same scenario (collaborative filtering)
LowRank                soft-impute of the models x scenarios matrix, revealed means as noisy entries
Shrinkage              revealed mean shrunk toward a low-rank prior, k0 fitted on train runs
AIPW                   cross-fitted IRT predictions corrected by the revealed residuals
IRT                    joint multidimensional IRT over train and revealed outcomes
GBM                    gradient-boosted stacking of the above, fitted on train runs only
=====================  ===================================================================

Example:
    >>> [cls.__name__ for cls in BUILTIN_PREDICTORS][:3]
    ['RevealedSampleMean', 'ModelMean', 'ScenarioMean']
    >>> len(BUILTIN_PREDICTORS)
    10
"""

from __future__ import annotations

from predictors.additive import Additive
from predictors.aipw import AIPW
from predictors.gbm import GBM
from predictors.irt import IRT
from predictors.knn_runs import KNNRuns
from predictors.low_rank import LowRank
from predictors.model_mean import ModelMean
from predictors.revealed_sample_mean import RevealedSampleMean
from predictors.scenario_mean import ScenarioMean
from predictors.shrinkage import Shrinkage

#: Every built-in predictor class, trivial to strong.
BUILTIN_PREDICTORS = [
    RevealedSampleMean, ModelMean, ScenarioMean, Additive, KNNRuns, LowRank, Shrinkage, AIPW, IRT, GBM,
]

__all__ = ["BUILTIN_PREDICTORS"] + [cls.__name__ for cls in BUILTIN_PREDICTORS]
