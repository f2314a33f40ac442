"""ExampleRandomPredictor: a uniform random guess for every target stat (a floor to beat).

Run it on a benchmark_output::

    python -m predictors.example_random_predictor --root-dir BENCHMARK_OUTPUT --suite SUITE

MAGNET's own example calls run unchanged (every run is an eval run once;
the table of predicted vs actual stats is printed and the results returned):

    >>> import magnet
    >>> outputs = magnet.HelmOutputs.demo(preset="small")
    >>> suite = outputs.suites()[0].name
    >>> root_dir = outputs.root_dir
    >>> predictor_instance = ExampleRandomPredictor(num_eval_samples=5)
    >>> result = predictor_instance(root_dir, suite)  # xdoctest: +IGNORE_WANT
    >>> suite_path = outputs.suites()[0].path
    >>> result = predictor_instance(helm_suites=suite_path)  # xdoctest: +IGNORE_WANT
    >>> result.n_scored > 0 and set(result.table["source"]) == {"predicted", "actual"}
    True

Example:
    >>> import pandas as pd
    >>> specs = pd.DataFrame({"run_spec.name": ["r1"], "magnet.target_names": [["exact_match"]],
    ...                       "magnet.target_split": ["test"]})
    >>> out = ExampleRandomPredictor(seed=1).predict(None, None, None, specs, None)
    >>> s = out["r1"][0]
    >>> s.name.name, 0 <= s.mean <= 1
    ('predicted_exact_match', True)
"""

from __future__ import annotations

import hashlib

import numpy as np

from magnet.helm_objects import make_stat
from magnet.predictor import Predictor


class ExampleRandomPredictor(Predictor):
    """Predicts ``U(0, 1)`` for each target stat, seeded by (seed, run name).

    Parameters are :class:`~magnet.predictor.Predictor`'s (``seed`` or
    ``random_seed``, ``num_eval_samples``, ``num_example_runs``).
    """

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df,
                eval_run_specs_df, eval_scenario_states_df):
        out = {}
        for run, names, split in zip(eval_run_specs_df["run_spec.name"], eval_run_specs_df["magnet.target_names"],
                                     eval_run_specs_df["magnet.target_split"]):
            digest = hashlib.sha256(f"{self.seed}\x1f{run}".encode()).digest()
            rng = np.random.default_rng(int.from_bytes(digest[:8], "big"))
            out[run] = [make_stat(f"predicted_{name}", rng.uniform(), split=split) for name in names]
        return out


if __name__ == "__main__":
    from magnet.cli.predict import predictor_main

    raise SystemExit(predictor_main(ExampleRandomPredictor))
