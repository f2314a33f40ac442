"""magnet predictors for score-matrix benchmarks: item-level estimators on the train runs' per-instance outcomes.

Each predictor turns a fold into score matrices (``predictors/_score_matrix_inputs.py``: per scenario
the train runs' per-instance values of the main stat, and each eval run's revealed values) and runs an
array estimator of ``predictors/_matrix.py`` on them:

* :class:`IrtCoreset`: 2PL item model fitted on the train runs, the eval run's ability from its
  revealed instances, the curve on the other instances (observed values kept);
* :class:`IrtDifference`: the curve's mean corrected by the mean revealed residual;
* :class:`CoresetEnsemble`: the average of the candidates (sample mean, anchor-weighted mean, the
  two above, a per-run item ridge and a recalibrated curve with residual correction, a learned
  regression) that are best under cross-validation inside the train runs; for eval runs beyond the
  train runs' range (extrapolation), the equal-weight sample mean or difference estimators on a
  random coreset (the anchor-weighted ones on its own anchor coreset), chosen on extrapolation splits
  inside the train runs (the strongest held out).

They also choose coresets for ``--reveal predictor`` (:meth:`select_instances`): by default the
instances with the highest Fisher information at the train runs' 2PL abilities; ``CoresetEnsemble``
reveals a random or an anchor-points coreset, whichever predicted held-out train runs better.

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> from magnet.protocol.corpus import Corpus
    >>> from magnet.protocol.runner import run_protocol
    >>> import tempfile, numpy as np
    >>> from magnet.backends.matrix.import_scores import import_scores
    >>> rng = np.random.default_rng(0)
    >>> ability = np.linspace(-2, 2, 16)
    >>> m = (rng.random((16, 120)) < 1 / (1 + np.exp(-(ability[:, None] - rng.normal(size=120))))).astype(float)
    >>> out = tempfile.mkdtemp()
    >>> _ = import_scores(m, out, scenario="toy", metric="exact_match")
    >>> corpus = Corpus.load(out, errors="skip")
    >>> res = run_protocol(CoresetEnsemble(), corpus, split="interpolation", num_eval_samples=30,
    ...                    reveal_mode="shared", progress=False)
    >>> [f.status for f in res.folds], len(res.predictions)
    (['ok'], 4)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from magnet.predictor import Predictor
from predictors import _matrix
from predictors._score_matrix_inputs import predict_tasks, scenario_tasks, source_matrix
from magnet.protocol.splits import TARGET_NAMES, TARGET_SPLIT, scenario_of

RUN = "run_spec.name"


class MatrixPredictor(Predictor):
    """Base of the score-matrix predictors: subclasses set ``estimate`` (an array function of ``_matrix``)."""

    estimate = staticmethod(_matrix._sample_mean)

    def __init__(self, seed: int = 0):
        self.seed = seed

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df, eval_run_specs_df,
                eval_scenario_states_df, train_per_instance_stats_df=None, eval_per_instance_stats_df=None):
        tasks = scenario_tasks(train_run_specs_df, eval_run_specs_df, train_per_instance_stats_df,
                               eval_per_instance_stats_df)
        return predict_tasks(tasks, type(self).estimate, self.seed)

    def select_instances(self, train_run_specs_df, train_stats_df, train_per_instance_stats_df, eval_run_specs_df,
                         candidates, k, seed=0):
        """k candidate instances of each scenario, chosen by :meth:`choose` from the train runs' outcomes only."""
        out = {}
        scen = pd.Series(scenario_of(train_run_specs_df).to_numpy(), index=train_run_specs_df[RUN].to_numpy())
        specs = eval_run_specs_df.assign(_s=scenario_of(eval_run_specs_df).to_numpy())
        for scenario, ids in candidates.items():
            names = specs.loc[specs["_s"] == scenario, TARGET_NAMES].iloc[0]
            split = specs.loc[specs["_s"] == scenario, TARGET_SPLIT].iloc[0] or "test"
            src = source_matrix(train_per_instance_stats_df, names[0] if len(names) else "exact_match", split,
                                scen.index[scen == scenario])
            src = src.loc[:, [c for c in src.columns if c in set(ids)]]
            if src.shape[0] < 2 or src.shape[1] <= k:
                out[scenario] = list(src.columns)[:k] or list(ids)[:k]
                continue
            out[scenario] = [src.columns[j] for j in self.choose(src.to_numpy(dtype=float), k, seed)]
        return out

    def choose(self, source: np.ndarray, k: int, seed=0) -> np.ndarray:
        """Column indices of the k most informative items under the source's 2PL model (highest mean Fisher
        information at the source runs' abilities)."""
        a, b, theta = _matrix.fit_irt(source)
        p = _matrix._sigmoid(theta[:, None] * a + b)
        info = (a ** 2 * p * (1 - p)).mean(0)
        return np.argsort(-info, kind="stable")[:k]


class IrtCoreset(MatrixPredictor):
    """2PL item model on the train runs; revealed values kept, the curve on the other instances."""

    estimate = staticmethod(_matrix.irt_estimate)


class IrtDifference(MatrixPredictor):
    """2PL curve's mean over all instances plus the mean revealed residual."""

    estimate = staticmethod(_matrix.irt_dr_estimate)


class CoresetEnsemble(MatrixPredictor):
    """The estimators best under cross-validation inside the train runs (``_matrix.ensemble_estimate``); with
    ``--reveal predictor`` it reveals a random or an anchor-points coreset, whichever predicted held-out train
    runs better (``_matrix.select_coreset``), and estimates with that design's candidates: equal weights on a
    random coreset (also on a coreset magnet drew, ``--reveal shared``), the anchors' cluster weights on its own
    anchor coreset."""

    estimate = staticmethod(_matrix.ensemble_estimate)

    def choose(self, source: np.ndarray, k: int, seed=0) -> np.ndarray:
        core, self._last_design = _matrix.select_coreset(source, k, seed)
        return core

    def select_instances(self, train_run_specs_df, train_stats_df, train_per_instance_stats_df, eval_run_specs_df,
                         candidates, k, seed=0):
        """As :meth:`MatrixPredictor.select_instances`; remembers each chosen coreset's design for :meth:`predict`."""
        self._designs = getattr(self, "_designs", {})
        out = {}
        for scenario, ids in candidates.items():
            self._last_design = "random"
            out.update(super().select_instances(train_run_specs_df, train_stats_df, train_per_instance_stats_df,
                                                eval_run_specs_df, {scenario: ids}, k, seed))
            self._designs[(scenario, frozenset(out[scenario]))] = self._last_design
        return out

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df, eval_run_specs_df,
                eval_scenario_states_df, train_per_instance_stats_df=None, eval_per_instance_stats_df=None):
        tasks = scenario_tasks(train_run_specs_df, eval_run_specs_df, train_per_instance_stats_df,
                               eval_per_instance_stats_df)
        designs = getattr(self, "_designs", {})
        out = {}
        for task in tasks:
            def estimate(src, idx, tgt, rng, task=task):
                ids = frozenset(task.source.columns[np.asarray(idx, dtype=int)])
                return _matrix.ensemble_estimate(src, idx, tgt, rng, design=designs.get((task.scenario, ids), "random"))

            out.update(predict_tasks([task], estimate, self.seed))
        return out


class CoresetMean(MatrixPredictor):
    """The revealed-sample mean, on the matrix inputs (the peers' random sampling; a reference)."""

    estimate = staticmethod(_matrix._sample_mean)


MATRIX_PREDICTORS = [CoresetMean, IrtCoreset, IrtDifference, CoresetEnsemble]
