"""MAGNET's example per-instance predictor, at MAGNET's import path: ``from magnet.example_random_instance_predictor import *``.

:class:`ExampleRandomInstancePredictor` guesses 0 or 1 at random for the
``exact_match`` of every revealed request state of the eval runs (as
MAGNET's example does), seeded by ``seed``, run and instance. Called MAGNET's
way, magnet scores the guesses per instance (Brier, log-loss, AUROC) and as
run-level predictions (the mean of a run's unperturbed instance guesses on
its target split), and prints the table.

Example:
    >>> from magnet.example_random_instance_predictor import *  # NOQA
    >>> import magnet
    >>> suite_path = magnet.HelmOutputs.demo(preset="small").suites()[0].path
    >>> result = ExampleRandomInstancePredictor(num_eval_samples=5)(helm_suites=suite_path, quiet=True)
    >>> result.n_scored > 0, result.instance_scores["stat"].tolist()
    (True, ['exact_match'])
"""

from __future__ import annotations

from magnet.data_splits import SequesteredTestSplit, TrainSplit
from magnet.example_random_predictor import seeded_rng
from magnet.predictor import InstancePrediction, InstancePredictor

__all__ = ["ExampleRandomInstancePredictor", "InstancePrediction", "InstancePredictor"]


class ExampleRandomInstancePredictor(InstancePredictor):
    """0 or 1 (equally likely) for ``stat_name`` (default ``exact_match``) of each revealed request state.

    Example:
        >>> import pandas as pd
        >>> states = pd.DataFrame({"run_spec.name": ["r", "r"], "magnet.instance_predict_id": [0, 1],
        ...                        "scenario_state.request_states.instance.id": ["id1", "id2"]})
        >>> out = ExampleRandomInstancePredictor().predict(None, SequesteredTestSplit(scenario_state=states))
        >>> [(p.instance_predict_id, p.stat_name, p.mean in (0.0, 1.0)) for p in out]
        [(0, 'exact_match', True), (1, 'exact_match', True)]
    """

    def __init__(self, num_eval_samples: float = 10, num_example_runs: int | None = None,
                 random_seed: int | None = None, seed: int = 0, stat_name: str = "exact_match"):
        super().__init__(num_eval_samples=num_eval_samples, num_example_runs=num_example_runs,
                         random_seed=random_seed, seed=seed)
        self.stat_name = stat_name

    def predict(self, train_split: TrainSplit,
                sequestered_test_split: SequesteredTestSplit) -> list[InstancePrediction]:
        states = sequestered_test_split.scenario_state
        instance_ids = states.get("scenario_state.request_states.instance.id", states["magnet.instance_predict_id"])
        return [InstancePrediction(run_spec_name=run, instance_predict_id=int(pid), stat_name=self.stat_name,
                                   mean=float(seeded_rng(self.seed, run, instance, pid).integers(0, 2)))
                for run, pid, instance in zip(states["run_spec.name"], states["magnet.instance_predict_id"],
                                              instance_ids)]


if __name__ == "__main__":
    from magnet.example_random_predictor import example_main

    raise SystemExit(example_main(ExampleRandomInstancePredictor))
