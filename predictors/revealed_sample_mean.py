"""RevealedSampleMean: the mean of the target over the revealed instances (the baseline every predictor must beat).

The prediction is the mean of each target over the eval run's revealed
instances, from their per-instance stats (``eval_per_instance_stats_df``: what
running the model on those instances yields, LLM-judge scores included); for a
main metric that HELM computes only at run level (e.g. ``bbq_accuracy``) the
per-instance proxy chosen from the train runs (:mod:`magnet.protocol.proxies`).
That is exactly the ``revealed_mean`` baseline. Without per-instance stats
(called with the five frames only) the revealed request states are scored
against their references as HELM scores them (:mod:`predictors._revealed`:
exact match, multiple-choice letters mapped through ``output_mapping``,
quasi-exact, last-token ``exact_match_indicator``, set F1, ...).
It is an unbiased estimate of the full-run stat with binomial
sampling error; it is *the* early signal of the MBE check (Marginal Baseline
Evaluation, PyPI ``mbe-eval``), so the check flags it as a ``loss-proxy``
by construction. It is the "random sampling" baseline of tinyBenchmarks
(Polo et al., 2024, "tinyBenchmarks: evaluating LLMs with fewer examples")
and the "random sample average" that Zhang, Dorner & Hardt (2025, "How
benchmark prediction from fewer data misses the mark") found hard to beat.

Perturbation variants are predicted the same way (the revealed instances'
per-instance values aggregated by HELM's rules). A run with nothing
revealed gets the train mean of the stat.

Run it::

    python -m predictors.revealed_sample_mean --split kfold

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> from magnet.protocol.corpus import Corpus
    >>> from magnet.protocol.runner import run_protocol
    >>> corpus = Corpus.load(HelmOutputs.demo(preset="small"))
    >>> result = run_protocol(RevealedSampleMean(), corpus, split="kfold", num_eval_samples=5, progress=False)
    >>> p = result.predictions
    >>> main = p[p["stats.name.perturbation.name"].isna()]
    >>> len(main) == len(corpus.run_specs) and bool(main["stats.mean"].isin([0, .2, .4, .6, .8, 1]).all())
    True
"""

from __future__ import annotations

import pandas as pd

from magnet.predictor import Predictor
from magnet.protocol.corpus import instance_values
from magnet.protocol.proxies import proxy_instance_values

from predictors._common import RUN, FoldData, prepare, write_predictions


class RevealedSampleMean(Predictor):
    """Mean of the target over the eval run's revealed instances (their per-instance stats, or a proxy)."""

    def __init__(self, seed: int = 0):
        self.seed = seed

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df,
                eval_run_specs_df, eval_scenario_states_df, train_per_instance_stats_df=None,
                eval_per_instance_stats_df=None):
        data = prepare(train_run_specs_df, train_scenario_states_df, train_stats_df, eval_run_specs_df,
                       eval_scenario_states_df, train_per_instance_stats_df)
        if eval_per_instance_stats_df is None:
            rm = data.revealed_main()
            return write_predictions(data, rm[[RUN, "key", "rm"]], value_col="rm")
        values = revealed_means(data, eval_per_instance_stats_df, train_stats_df, train_per_instance_stats_df)
        return write_predictions(data, values, value_col="value")


def revealed_means(data: FoldData, eval_pis: pd.DataFrame, train_stats: pd.DataFrame,
                   train_pis: pd.DataFrame | None) -> pd.DataFrame:
    """Per (eval run, target key): the mean over the revealed instances' per-instance values (or the proxy's)."""
    t = data.targets
    targets = pd.DataFrame({
        RUN: t[RUN], "stats.name.name": t["metric"], "stats.name.split": t["split"], "target.key": t["key"],
        "stats.name.perturbation.name": t["pert_name"], "stats.name.perturbation.computed_on": t["computed_on"]})
    direct = instance_values(eval_pis, targets)
    proxied, _ = proxy_instance_values(targets, eval_pis, train_stats, train_pis)
    values = pd.concat([direct, proxied.drop(columns="proxy")], ignore_index=True) if len(proxied) else direct
    if not len(values):
        return pd.DataFrame(columns=[RUN, "key", "value"])
    means = values.groupby([RUN, "target.key"], sort=False)["value"].mean().reset_index()
    return means.rename(columns={"target.key": "key"})


if __name__ == "__main__":
    from magnet.cli.predict import predictor_main

    raise SystemExit(predictor_main(RevealedSampleMean))
