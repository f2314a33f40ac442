"""RevealedSampleMean: the mean of the target over the revealed instances (the baseline every predictor must beat).

The eval run's revealed request states are scored against their references
exactly as HELM scores them (:mod:`predictors._revealed`: exact match,
multiple-choice letters mapped through ``output_mapping``, quasi-exact,
last-token ``exact_match_indicator``, set F1, ...), and their mean is the
prediction. It is an unbiased estimate of the full-run stat with binomial
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

from magnet.predictor import Predictor

from predictors._common import RUN, prepare, write_predictions


class RevealedSampleMean(Predictor):
    """Mean of the target over the eval run's revealed instances (scored from their completions)."""

    def __init__(self, seed: int = 0):
        self.seed = seed

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df,
                eval_run_specs_df, eval_scenario_states_df):
        data = prepare(train_run_specs_df, train_scenario_states_df, train_stats_df, eval_run_specs_df,
                       eval_scenario_states_df)
        rm = data.revealed_main()
        return write_predictions(data, rm[[RUN, "key", "rm"]], value_col="rm")


if __name__ == "__main__":
    from magnet.cli.predict import predictor_main

    raise SystemExit(predictor_main(RevealedSampleMean))
