"""MAGNET's example run-level predictor, at MAGNET's import path: ``from magnet.example_random_predictor import *``.

:class:`ExampleRandomPredictor` guesses each eval run's ``exact_match`` on
the ``valid`` split (as MAGNET's example does) uniformly at random, in steps
of 0.01: a floor every real predictor should beat. Unlike MAGNET's it is
seeded (by ``seed`` and the run's name), so a call repeats exactly.
Called MAGNET's way, ``predictor(helm_suites=...)`` scores each prediction
against the run's actual ``valid``-split stat and prints the table; from the
shell, as MAGNET's README runs it: ``python -m magnet.example_random_predictor
SUITE_PATH [SUITE_PATH ...]`` (paths or globs of suites).
(magnet's own floor over the declared targets is
:mod:`predictors.example_random_predictor`.)

Example:
    >>> from magnet.example_random_predictor import *  # NOQA
    >>> import magnet
    >>> suite_path = magnet.HelmOutputs.demo(preset="small").suites()[0].path
    >>> result = ExampleRandomPredictor(num_eval_samples=5)(helm_suites=suite_path, quiet=True)
    >>> result.n_scored > 0, set(result.joined["target.key"])
    (True, {'exact_match [valid]'})
"""

from __future__ import annotations

import argparse
import hashlib
import sys

import numpy as np

from magnet.data_splits import SequesteredTestSplit, TrainSplit
from magnet.predictor import RunPrediction, RunPredictor

__all__ = ["ExampleRandomPredictor", "RunPrediction", "RunPredictor"]


def seeded_rng(seed, *parts) -> np.random.Generator:
    """A generator seeded by ``seed`` and some names (stable across processes, unlike ``hash``).

    Example:
        >>> float(seeded_rng(0, "r").uniform()) == float(seeded_rng(0, "r").uniform())
        True
    """
    digest = hashlib.sha256("\x1f".join(map(str, (seed, *parts))).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


class ExampleRandomPredictor(RunPredictor):
    """A uniform random ``stat_name`` (default ``exact_match``) on ``split`` (default ``valid``) for each eval run.

    The other parameters are :class:`~magnet.predictor.Predictor`'s
    (``num_eval_samples``, ``num_example_runs``, ``random_seed`` / ``seed``).

    Example:
        >>> import pandas as pd
        >>> seq = SequesteredTestSplit(run_specs=pd.DataFrame({"run_spec.name": ["r1", "r2"]}))
        >>> out = ExampleRandomPredictor(random_seed=1).predict(None, seq)
        >>> [(p.run_spec_name, p.split, p.stat_name, 0 <= p.mean <= 1) for p in out]
        [('r1', 'valid', 'exact_match', True), ('r2', 'valid', 'exact_match', True)]
    """

    def __init__(self, num_eval_samples: float = 10, num_example_runs: int | None = None,
                 random_seed: int | None = None, seed: int = 0, split: str = "valid",
                 stat_name: str = "exact_match"):
        super().__init__(num_eval_samples=num_eval_samples, num_example_runs=num_example_runs,
                         random_seed=random_seed, seed=seed)
        self.split = split
        self.stat_name = stat_name

    def predict(self, train_split: TrainSplit, sequestered_test_split: SequesteredTestSplit) -> list[RunPrediction]:
        runs = sequestered_test_split.run_specs["run_spec.name"].drop_duplicates()
        return [RunPrediction(run_spec_name=run, split=self.split, stat_name=self.stat_name,
                              mean=int(seeded_rng(self.seed, run).integers(0, 101)) / 100)
                for run in runs]


def example_main(predictor_cls, argv: list[str] | None = None) -> int:
    """MAGNET's command line of its examples: ``python -m magnet.example_X HELM_SUITE_PATH [...]``; prints the table.

    Example:
        >>> import magnet
        >>> suite_path = magnet.HelmOutputs.demo(preset="small").suites()[0].path
        >>> example_main(ExampleRandomPredictor, [str(suite_path)])  # xdoctest: +IGNORE_WANT
        0
        >>> example_main(ExampleRandomPredictor, ["/nonexistent/suite"])  # a one-line error on stderr
        2
    """
    parser = argparse.ArgumentParser(prog=f"python -m {predictor_cls.__module__}",
                                     description=f"Run {predictor_cls.__name__} (MAGNET's example) on HELM suites")
    parser.add_argument("helm_suite_path", nargs="+",
                        help="path(s) or glob(s) of HELM suites (usually .../benchmark_output/runs/SUITE)")
    args = parser.parse_args(argv)
    try:
        predictor_cls()(helm_suites=args.helm_suite_path)
    except (OSError, ValueError) as e:  # no such suite, unreadable outputs, every fold failed: the user's to fix
        print(f"error: {predictor_cls.__name__}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(example_main(ExampleRandomPredictor))
