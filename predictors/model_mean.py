"""ModelMean: the eval run's model's average main score over its train runs (a trivial prior, ignores the revealed sample).

The oldest baseline of benchmark prediction: a model's aggregate score
(the "average score" column of leaderboards such as HELM's), i.e. the
row-mean baseline of the models x scenarios matrix. Each train run contributes its
main stat (see :mod:`predictors._common` for how a train run's main metric
is identified); a model without train runs gets the train mean of the
target stat. Perturbation variants: the prediction plus the mean
``variant - unperturbed`` offset of train runs of the same scenario
configuration.

Run it::

    python -m predictors.model_mean --split kfold

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> from magnet.protocol.corpus import Corpus
    >>> from magnet.protocol.runner import run_protocol
    >>> corpus = Corpus.load(HelmOutputs.demo(preset="small"))
    >>> result = run_protocol(ModelMean(), corpus, split="kfold", num_eval_samples=5, progress=False)
    >>> p = result.predictions
    >>> p["run_spec.name"].nunique() == len(corpus.run_specs) and bool(p["stats.mean"].between(0, 1).all())
    True
"""

from __future__ import annotations

import pandas as pd

from magnet.predictor import Predictor

from predictors._common import RUN, prepare, with_variants, write_predictions


class ModelMean(Predictor):
    """Mean main score of the eval run's model over its train runs."""

    def __init__(self, seed: int = 0):
        self.seed = seed

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df,
                eval_run_specs_df, eval_scenario_states_df, train_per_instance_stats_df=None,
                eval_per_instance_stats_df=None):
        data = prepare(train_run_specs_df, train_scenario_states_df, train_stats_df, eval_run_specs_df,
                       eval_scenario_states_df, train_per_instance_stats_df, eval_per_instance_stats_df)
        by_model = data.train_main.groupby("model")["value"].mean()
        t = data.main_targets()
        main = pd.DataFrame({RUN: t[RUN], "key": t["key"], "value": t["model"].map(by_model).to_numpy()})
        alone = {run: "the model has no train run" for run, m in zip(t[RUN], t["model"]) if m not in by_model.index}
        return write_predictions(data, with_variants(data, main, use_revealed=False), run_notes=alone)


if __name__ == "__main__":
    from magnet.cli.predict import predictor_main

    raise SystemExit(predictor_main(ModelMean))
