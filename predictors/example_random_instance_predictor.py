"""ExampleRandomInstancePredictor: a random 0/1 guess for each revealed request state (MAGNET's per-instance API).

It predicts, for every row of ``sequestered_test_split.scenario_state``, the
run's first target stat as 0 or 1 at random (seeded by seed, run and
instance). magnet scores the guesses per instance (Brier, log-loss, AUROC)
and, averaged over a run's unperturbed instances, as a run-level prediction
(with the MBE check, like any predictor).

MAGNET's own example call runs unchanged:

    >>> import magnet
    >>> outputs = magnet.HelmOutputs.demo(preset="small")
    >>> suite_path = outputs.suites()[0].path
    >>> predictor_instance = ExampleRandomInstancePredictor(num_eval_samples=5)
    >>> result = predictor_instance(helm_suites=suite_path)  # xdoctest: +IGNORE_WANT
    >>> sorted(result.instance_scores.columns)
    ['auroc', 'brier', 'log_loss', 'mae', 'n', 'n_positive', 'stat']
    >>> bool((result.instance_scores["brier"] > 0.2).all())  # a coin flip is no forecast
    True

Run it on a benchmark_output::

    python -m predictors.example_random_instance_predictor --root-dir BENCHMARK_OUTPUT --suite SUITE
"""

from __future__ import annotations

import hashlib

from magnet.data_splits import SequesteredTestSplit, TrainSplit
from magnet.predictor import InstancePrediction, InstancePredictor

RUN = "run_spec.name"


class ExampleRandomInstancePredictor(InstancePredictor):
    """Predicts 0 or 1 with equal probability for each revealed request state."""

    def predict(self, train_split: TrainSplit, sequestered_test_split: SequesteredTestSplit) -> list[InstancePrediction]:
        specs = sequestered_test_split.run_specs
        target = dict(zip(specs[RUN], specs["magnet.target_names"].map(lambda names: list(names)[0])))
        states = sequestered_test_split.scenario_state
        predictions = []
        for run, predict_id, instance in zip(states[RUN], states["magnet.instance_predict_id"],
                                             states["scenario_state.request_states.instance.id"]):
            digest = hashlib.sha256(f"{self.seed}\x1f{run}\x1f{instance}".encode()).digest()
            predictions.append(InstancePrediction(run_spec_name=run, instance_predict_id=predict_id,
                                                  stat_name=target[run], mean=float(digest[0] % 2)))
        return predictions


if __name__ == "__main__":
    from magnet.cli.predict import predictor_main

    raise SystemExit(predictor_main(ExampleRandomInstancePredictor))
