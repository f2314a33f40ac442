"""The peers' methods (``magnet.peers``: BenchPred's and tinyBenchmarks') as magnet predictors.

:class:`PeerPredictor` runs one ``magnet.peers.PEER_METHODS`` entry on the fold's score matrices
(``predictors/_score_matrix_inputs.py``); a method that chooses its coreset from the source models
(anchor points, lasso, IRT, random search) does so in :meth:`PeerPredictor.select_instances` under
``--reveal predictor``. One class per method is generated below (``PeerAipw``, ``PeerRandomSampling``,
...) so ``--predictor predictors.peers:PeerAipw`` works; :data:`PEER_PREDICTORS` lists them.

Example:
    >>> PeerPredictor("aipw").name
    'peer:aipw'
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from magnet.peers import PEER_METHODS
from predictors.matrix import MatrixPredictor
from predictors._score_matrix_inputs import source_matrix
from magnet.protocol.splits import TARGET_NAMES, TARGET_SPLIT, scenario_of

RUN = "run_spec.name"


class PeerPredictor(MatrixPredictor):
    """One peer method (a key of ``PEER_METHODS``) as a magnet predictor."""

    method = "random_sampling"

    def __init__(self, method: str | None = None, seed: int = 0):
        if method is not None:
            self.method = method
        if self.method not in PEER_METHODS:
            raise ValueError(f"unknown peer method {self.method!r}; known: {', '.join(PEER_METHODS)}")
        self.seed = seed

    @property
    def name(self) -> str:
        return f"peer:{self.method}"

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df, eval_run_specs_df,
                eval_scenario_states_df, train_per_instance_stats_df=None, eval_per_instance_stats_df=None):
        from predictors._score_matrix_inputs import predict_tasks, scenario_tasks

        tasks = scenario_tasks(train_run_specs_df, eval_run_specs_df, train_per_instance_stats_df,
                               eval_per_instance_stats_df)
        return predict_tasks(tasks, PEER_METHODS[self.method].estimate, self.seed)

    def select_instances(self, train_run_specs_df, train_stats_df, train_per_instance_stats_df, eval_run_specs_df,
                         candidates, k, seed=0):
        """The method's own coreset of each scenario, chosen from the train runs' scores."""
        out = {}
        scen = pd.Series(scenario_of(train_run_specs_df).to_numpy(), index=train_run_specs_df[RUN].to_numpy())
        specs = eval_run_specs_df.assign(_s=scenario_of(eval_run_specs_df).to_numpy())
        for scenario, ids in candidates.items():
            rows = specs[specs["_s"] == scenario]
            names = rows[TARGET_NAMES].iloc[0]
            src = source_matrix(train_per_instance_stats_df, names[0] if len(names) else "exact_match",
                                rows[TARGET_SPLIT].iloc[0] or "test", scen.index[scen == scenario])
            src = src.loc[:, [c for c in src.columns if c in set(ids)]]
            kk = min(k, src.shape[1])
            chosen = PEER_METHODS[self.method].select(src.to_numpy(dtype=float), kk, seed) if kk else []
            out[scenario] = [src.columns[int(j)] for j in np.asarray(chosen, dtype=int)]
        return out


def _class_name(method: str) -> str:
    return "Peer" + "".join(part.capitalize() for part in method.split("_"))


PEER_PREDICTORS = []
for _method in PEER_METHODS:
    _cls = type(_class_name(_method), (PeerPredictor,), {"method": _method, "__doc__": f"Peer method {_method!r}: "
                                                       f"{PEER_METHODS[_method].summary}."})
    globals()[_cls.__name__] = _cls
    PEER_PREDICTORS.append(_cls)
