"""ScenarioMean: the mean of the target over the train runs of the same scenario configuration (ignores the model).

The "task difficulty" baseline of benchmark prediction, the column-mean
baseline of the models x scenarios matrix (the item-mean baseline of
collaborative filtering): how hard the scenario is for the models seen so
far. The scenario of a run is its name without model and data
augmentation (:func:`magnet.protocol.splits.scenario_of`); perturbation variants use
the train runs of the same augmentation. A scenario without train runs gets
the train mean of the stat.

Run it::

    python -m predictors.scenario_mean --split kfold

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> from magnet.protocol.corpus import Corpus
    >>> from magnet.protocol.runner import run_protocol
    >>> corpus = Corpus.load(HelmOutputs.demo(preset="small"))
    >>> result = run_protocol(ScenarioMean(), corpus, split="leave-one-model-out", progress=False)
    >>> p = result.predictions
    >>> p["run_spec.name"].nunique() == len(corpus.run_specs) and bool(p["stats.mean"].between(0, 1).all())
    True
"""

from __future__ import annotations

import pandas as pd

from magnet.predictor import Predictor

from predictors._common import RUN, prepare, write_predictions


class ScenarioMean(Predictor):
    """Mean of the target over train runs of the same scenario configuration (and variant)."""

    def __init__(self, seed: int = 0):
        self.seed = seed

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df,
                eval_run_specs_df, eval_scenario_states_df, train_per_instance_stats_df=None,
                eval_per_instance_stats_df=None):
        data = prepare(train_run_specs_df, train_scenario_states_df, train_stats_df, eval_run_specs_df,
                       eval_scenario_states_df, train_per_instance_stats_df, eval_per_instance_stats_df)
        by_cell = data.train.groupby("cell")["value"].mean()
        t = data.targets
        values = pd.DataFrame({RUN: t[RUN], "key": t["key"], "value": t["cell"].map(by_cell).to_numpy()})
        return write_predictions(data, values)


if __name__ == "__main__":
    from magnet.cli.predict import predictor_main

    raise SystemExit(predictor_main(ScenarioMean))
