"""MAGNET's example perturbation predictor, at MAGNET's import path: ``from magnet.example_perturbation_predictor import *``.

:class:`ExamplePerturbationPredictor` predicts how a misspelled run scores
from how strongly it is misspelled, as MAGNET's example does: over the train
runs, a least-squares line of their ``exact_match`` on misspelled instances
(the ``misspellings``/``perturbed`` variant) against the misspelling
probability ``prob`` of their HELM ``MisspellingPerturbation``; each eval run
gets the line's value at its own ``prob`` (read from its run_spec's
``data_augmenter_spec``), clipped to [0, 1]. Unlike MAGNET's it fits only
stats of the split it predicts (``split``, default ``valid``), falls back to
the train mean when fewer than two distinct ``prob`` values were seen, and
predicts the unperturbed stat for an eval run without a misspelling
perturbation instead of failing.

The runs come from HELM's ``data_augmentation=misspelling_sweep``
(probabilities 0, 0.05, 0.2, 0.5). MAGNET's docstring runs it on
``boolq`` with ``openai/gpt2``, which need the network; the offline demo
entry :data:`magnet.backends.helm.demo.entries.PERTURBATION_EXAMPLE_ENTRY`
(``synthetic_reasoning:mode=induction``, exact_match, valid and test splits,
words HELM's misspelling dictionary knows) stands in for it:

Example:
    >>> from magnet.example_perturbation_predictor import *  # NOQA
    >>> import magnet
    >>> from magnet.backends.helm.demo.entries import PERTURBATION_EXAMPLE_ENTRY
    >>> outputs = magnet.HelmOutputs.demo(run_entries=[PERTURBATION_EXAMPLE_ENTRY], max_eval_instances=20)
    >>> suite_path = outputs.suites()[0].path
    >>> result = ExamplePerturbationPredictor(num_eval_samples=5)(helm_suites=suite_path, quiet=True)
    >>> sorted(set(result.joined["target.key"]))
    ['exact_match@misspellings/perturbed [valid]']
    >>> result.n_scored   # the three runs with misspelled valid instances (prob 0.05, 0.2, 0.5)
    3
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from magnet.data_splits import SequesteredTestSplit, TrainSplit
from magnet.predictor import RunPrediction, RunPredictor

__all__ = ["ExamplePerturbationPredictor", "RunPrediction", "RunPredictor", "misspelling_prob"]

PERTURBATIONS = "run_spec.data_augmenter_spec.perturbation_specs"
P = "stats.name.perturbation."


def misspelling_prob(perturbation_specs) -> float | None:
    """The ``prob`` of a run's HELM ``MisspellingPerturbation``, or None when it has none.

    Example:
        >>> misspelling_prob([{"class_name": "helm.benchmark.augmentations.misspelling_perturbation."
        ...                    "MisspellingPerturbation", "args": {"prob": 0.2}}])
        0.2
        >>> misspelling_prob([]) is None, misspelling_prob(None) is None
        (True, True)
    """
    if not isinstance(perturbation_specs, (list, tuple)):
        return None
    for spec in perturbation_specs:
        if isinstance(spec, dict) and str(spec.get("class_name", "")).endswith("MisspellingPerturbation"):
            prob = (spec.get("args") or {}).get("prob")
            return None if prob is None else float(prob)
    return None


class ExamplePerturbationPredictor(RunPredictor):
    """``stat_name`` on misspelled instances as a line in the misspelling probability (see the module docstring).

    Example:
        >>> train = TrainSplit(stats=pd.DataFrame({
        ...     "run_spec.name": ["a", "b"], "stats.name.name": ["exact_match"] * 2,
        ...     "stats.name.split": ["valid"] * 2, "stats.name.perturbation.name": ["misspellings"] * 2,
        ...     "stats.name.perturbation.computed_on": ["perturbed"] * 2, "stats.name.perturbation.prob": [0.1, 0.3],
        ...     "stats.mean": [0.8, 0.6]}))
        >>> spec = [{"class_name": "MisspellingPerturbation", "args": {"prob": 0.2}}]
        >>> seq = SequesteredTestSplit(run_specs=pd.DataFrame({"run_spec.name": ["c"], PERTURBATIONS: [spec]}))
        >>> p, = ExamplePerturbationPredictor().predict(train, seq)
        >>> p.split, p.stat_name, round(p.mean, 3), p.perturbation_parameters["prob"]
        ('valid', 'exact_match', 0.7, 0.2)
    """

    def __init__(self, num_eval_samples: float = 10, num_example_runs: int | None = None,
                 random_seed: int | None = None, seed: int = 0, split: str = "valid",
                 stat_name: str = "exact_match"):
        super().__init__(num_eval_samples=num_eval_samples, num_example_runs=num_example_runs,
                         random_seed=random_seed, seed=seed)
        self.split = split
        self.stat_name = stat_name

    def _train_stats(self, stats: pd.DataFrame, perturbation: str | None) -> pd.DataFrame:
        name = stats.get(P + "name", pd.Series([None] * len(stats), index=stats.index))
        on = stats.get(P + "computed_on", pd.Series([None] * len(stats), index=stats.index))
        keep = (stats["stats.name.name"] == self.stat_name) & (stats["stats.name.split"] == self.split)
        keep &= (name == perturbation) & (on == "perturbed") if perturbation else name.isna()
        return stats[keep]

    def predict(self, train_split: TrainSplit, sequestered_test_split: SequesteredTestSplit) -> list[RunPrediction]:
        stats = train_split.stats
        misspelled = self._train_stats(stats, "misspellings")
        x = pd.to_numeric(misspelled.get(P + "prob", pd.Series(dtype=float)), errors="coerce").to_numpy(dtype=float)
        y = misspelled["stats.mean"].to_numpy(dtype=float)
        ok = np.isfinite(x) & np.isfinite(y)
        x, y = x[ok], y[ok]
        plain = self._train_stats(stats, None)["stats.mean"].astype(float)
        fallback = float(np.mean(y)) if len(y) else float(plain.mean()) if len(plain) else 0.5
        slope, intercept = np.polyfit(x, y, 1) if len(np.unique(x)) >= 2 else (0.0, fallback)
        specs = sequestered_test_split.run_specs
        out = []
        for run, perturbations in zip(specs["run_spec.name"], specs.get(PERTURBATIONS, [None] * len(specs))):
            prob = misspelling_prob(perturbations)
            if prob is None:
                mean = float(plain.mean()) if len(plain) else fallback
                out.append(RunPrediction(run_spec_name=run, split=self.split, stat_name=self.stat_name, mean=mean))
                continue
            mean = float(np.clip(intercept + slope * prob, 0.0, 1.0))
            out.append(RunPrediction(
                run_spec_name=run, split=self.split, stat_name=self.stat_name, mean=mean,
                perturbation_parameters={"name": "misspellings", "robustness": True, "fairness": False,
                                         "computed_on": "perturbed", "prob": prob}))
        return out


if __name__ == "__main__":
    from magnet.example_random_predictor import example_main

    raise SystemExit(example_main(ExamplePerturbationPredictor))
