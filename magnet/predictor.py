"""The ``Predictor`` contract, and conversion of what a predictor returns into a tidy table.

Example:
    >>> import pandas as pd
    >>> from magnet.helm_objects import make_stat
    >>> class Half(Predictor):
    ...     '''Predicts 0.5 for the exact_match of every eval run.'''
    ...     def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df,
    ...                 eval_run_specs_df, eval_scenario_states_df):
    ...         return {name: [make_stat("predicted_exact_match", 0.5)]
    ...                 for name in eval_run_specs_df["run_spec.name"]}
    >>> eval_specs = pd.DataFrame({"run_spec.name": ["r1", "r2"]})
    >>> out = Half().predict(None, None, None, eval_specs, None)
    >>> predictions_to_frame(out)[["run_spec.name", "stats.name.name", "stats.mean"]].values.tolist()
    [['r1', 'predicted_exact_match', 0.5], ['r2', 'predicted_exact_match', 0.5]]
"""

from __future__ import annotations

import abc
import importlib

import pandas as pd
from rich.console import Console

from magnet.errors import UserError
from magnet.data_splits import SequesteredTestSplit, TrainSplit
from magnet.predictions import (  # noqa: F401  (the contract's public names live here too)
    PREDICTION_COLUMNS, PREFIX, InstancePrediction, RunPrediction, check_predictions, predictions_to_frame,
)
from magnet.protocol import predict_call
from magnet.protocol.quick_eval import all_dataframes, evaluate_predictor, predict_inputs
from magnet.protocol.truth import predicted_vs_actual


class Predictor(abc.ABC):
    """Base class of predictors of HELM stats. Subclass it and implement :meth:`predict`.

    The contract (checked by :func:`magnet.testing.check_predictor`):

    * ``predict`` receives five DataFrames (columns as in
      :mod:`magnet.backends.helm.tables`): the **train** runs in full (their
      run_specs, every request state, every stat) and, for the **eval** runs,
      only their run_specs and the request states of a small *revealed*
      sample of instances. ``eval_run_specs_df`` also has
      ``magnet.num_eval_instances`` (how many eval instances the run has in
      its target split: known before any model runs) and
      ``magnet.num_revealed_instances``, and which stats to predict:
      ``magnet.target_names`` (a list) on split ``magnet.target_split``.
      The actual stat is computed over all eval instances, the revealed ones
      included.
    * It returns, for every eval ``run_spec.name``, HELM ``Stat`` objects
      named ``predicted_<stat name>`` (e.g. ``predicted_exact_match``) with
      the same split and perturbation as the stat they predict (build them
      with :func:`magnet.helm_objects.make_stat`); or a tidy DataFrame with
      one row per prediction and the columns ``run_spec.name``,
      ``stats.name.name``, ``stats.mean`` (and optionally
      ``stats.name.split``, ``stats.name.perturbation.name``,
      ``stats.name.perturbation.computed_on``).
    * It must not modify its inputs, read anything else (files, global
      caches of eval data), or depend on anything but its inputs and
      ``self.seed``.
    * Parameters go in ``__init__`` (no work there); the same seed gives the
      same predictions.
    * A predictor that also wants the train runs' per-instance stats
      declares an extra keyword parameter ``train_per_instance_stats_df``;
      one that wants the per-instance stats of the eval runs' *revealed*
      instances (every stat of them) declares ``eval_per_instance_stats_df``.

    Example:
        >>> from magnet.helm_objects import make_stat
        >>> class Constant(Predictor):
        ...     def __init__(self, value=0.5, seed=0):
        ...         self.value, self.seed = value, seed
        ...     def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df,
        ...                 eval_run_specs_df, eval_scenario_states_df):
        ...         return {n: [make_stat("predicted_exact_match", self.value)]
        ...                 for n in eval_run_specs_df["run_spec.name"]}
        >>> Constant(0.7).name
        'Constant'
    """

    seed: int = 0

    def __init__(self, num_eval_samples: float = 10, num_example_runs: int | None = None,
                 random_seed: int | None = None, seed: int = 0):
        """MAGNET's parameters, so a subclass without its own ``__init__`` works.

        ``num_eval_samples``: revealed instances per eval run when the predictor
        is called (``predictor(root_dir, suite)``); ``random_seed`` is MAGNET's
        name for ``seed``. ``num_example_runs`` is accepted and recorded: magnet's
        protocol gives a predictor every run outside the eval fold as train runs.
        """
        self.num_eval_samples = num_eval_samples
        self.num_example_runs = num_example_runs
        self.seed = seed if random_seed is None else random_seed

    @property
    def random_seed(self) -> int:
        """MAGNET's spelling of :attr:`seed`."""
        return self.seed

    @random_seed.setter
    def random_seed(self, value: int) -> None:
        self.seed = value

    def __call__(self, root_dir=None, suite=None, *, helm_suites=None, helm_runs=None,
                 split: str = "leave-one-run-out", quiet: bool = False, **kwargs):
        """Run the protocol on some HELM runs, print predicted vs actual, return the results.

        Any of MAGNET's call forms: ``predictor(root_dir, suite)``,
        ``predictor(helm_suites=path_or_glob)``, ``predictor(helm_runs=glob)``.
        Every run is an eval run once (``split``, default leave-one-run-out),
        with ``self.num_eval_samples`` revealed instances and ``self.seed``. See
        :func:`magnet.protocol.quick_eval.evaluate_predictor` for the result.
        """
        return evaluate_predictor(self, root_dir=root_dir, suite=suite, helm_suites=helm_suites,
                                  helm_runs=helm_runs, split=split, quiet=quiet, **kwargs)

    def run_spec_filter(self, run_spec) -> bool:
        """MAGNET's hook: keep a run (its HELM ``RunSpec``) when called as ``predictor(...)``; default all."""
        return True

    def run_spec_dataframe_filter(self, row) -> bool:
        """MAGNET's hook: keep a run (its ``run_specs`` row) when called as ``predictor(...)``; default all."""
        return True

    run_spec_filter.magnet_default = True  # type: ignore[attr-defined]
    run_spec_dataframe_filter.magnet_default = True  # type: ignore[attr-defined]

    def prepare_predict_inputs(self, root_dir=None, suite=None, *, helm_suites=None, helm_runs=None, **kwargs):
        """MAGNET's look at the inputs: ``(train_split, sequestered_test_split)`` of one fold (default: the first).

        See :func:`magnet.protocol.quick_eval.predict_inputs`.
        """
        return predict_inputs(self, root_dir=root_dir, suite=suite, helm_suites=helm_suites, helm_runs=helm_runs,
                              **kwargs)

    def prepare_all_dataframes(self, helm_runs=None, *, root_dir=None, suite=None, helm_suites=None, **kwargs):
        """MAGNET's ``(train_split, test_split)`` of one fold (default: the first), the test split with its results.

        ``helm_runs`` is MAGNET's positional argument (a glob, path or
        :class:`~magnet.backends.helm.helm_outputs.HelmRuns`); the other call
        forms work too. ``test_split.stats`` holds every stat of the eval runs
        (compare a predictor's :meth:`RunPrediction.to_df
        <magnet.predictions.RunPrediction.to_df>` with it through
        :meth:`RunPredictor.compare_predicted_to_actual`);
        ``test_split.sequester()`` is what ``predict`` receives. See
        :func:`magnet.protocol.quick_eval.all_dataframes`.
        """
        return all_dataframes(self, root_dir=root_dir, suite=suite, helm_suites=helm_suites, helm_runs=helm_runs,
                              **kwargs)

    @abc.abstractmethod
    def predict(
        self,
        train_run_specs_df: pd.DataFrame,
        train_scenario_states_df: pd.DataFrame,
        train_stats_df: pd.DataFrame,
        eval_run_specs_df: pd.DataFrame,
        eval_scenario_states_df: pd.DataFrame,
    ) -> "dict[str, list] | pd.DataFrame":
        """Predict stats of the eval runs; see the class docstring for the contract."""

    @property
    def name(self) -> str:
        """A display name: the class name."""
        return type(self).__name__

    def wants_per_instance_stats(self) -> bool:
        """True when ``predict`` accepts ``train_per_instance_stats_df``."""
        return predict_call.wants_per_instance_stats(self)

    def wants_eval_per_instance_stats(self) -> bool:
        """True when ``predict`` accepts ``eval_per_instance_stats_df`` (per-instance stats of revealed instances)."""
        return predict_call.wants_eval_per_instance_stats(self)


class RunPredictor(Predictor):
    """MAGNET's run-level API: ``predict(train_split, sequestered_test_split) -> list[RunPrediction]``.

    ``train_split`` (:class:`~magnet.data_splits.TrainSplit`) has the train
    runs' ``run_specs``, ``scenario_state``, ``stats`` and ``per_instance_stats``;
    ``sequestered_test_split`` (:class:`~magnet.data_splits.SequesteredTestSplit`)
    the eval runs' ``run_specs`` and revealed ``scenario_state``. Any return
    form of :class:`Predictor` is accepted too.

    Example:
        >>> class Half(RunPredictor):
        ...     def predict(self, train_split, sequestered_test_split):
        ...         return [RunPrediction(run, "test", "exact_match", 0.5)
        ...                 for run in sequestered_test_split.run_specs["run_spec.name"]]
        >>> p = Half(num_eval_samples=5)
        >>> p.num_eval_samples, p.random_seed, p.wants_per_instance_stats()
        (5, 0, True)
    """

    @abc.abstractmethod
    def predict(self, train_split: TrainSplit, sequestered_test_split: SequesteredTestSplit) -> list[RunPrediction]:
        """Predict run-level stats of the eval runs."""

    def compare_predicted_to_actual(self, predicted_stats_df: pd.DataFrame, eval_stats_df: pd.DataFrame,
                                    quiet: bool = False) -> pd.DataFrame:
        """MAGNET's table of predicted vs actual means: print it and return it.

        ``predicted_stats_df`` is :meth:`RunPrediction.to_df
        <magnet.predictions.RunPrediction.to_df>` of the predictions,
        ``eval_stats_df`` the eval runs' stats (``test_split.stats`` of
        :meth:`prepare_all_dataframes`). A prediction is joined with the actual
        stat of its run, split, name and perturbation, whichever split it names
        (see :func:`magnet.protocol.truth.predicted_vs_actual`); how many
        predictions matched no stat is printed under the table.

        Example:
            >>> from magnet.backends.helm.outputs import HelmOutputs
            >>> class Half(RunPredictor):
            ...     def predict(self, train_split, sequestered_test_split):
            ...         return [RunPrediction(run, "valid", "exact_match", 0.5)
            ...                 for run in sequestered_test_split.run_specs["run_spec.name"]]
            >>> runs = HelmOutputs.demo(preset="small").suites()[0].path / "synthetic_reasoning:*"
            >>> p = Half(num_eval_samples=3)
            >>> train_split, test_split = p.prepare_all_dataframes(str(runs))
            >>> predicted = RunPrediction.to_df(p.predict(train_split, test_split.sequester()))
            >>> table = p.compare_predicted_to_actual(predicted, test_split.stats, quiet=True)
            >>> table[["split", "stat_name", "predicted_mean"]].values.tolist()
            [['valid', 'exact_match', 0.5]]
        """
        table, missed = predicted_vs_actual(predicted_stats_df, eval_stats_df)
        if not quiet:
            console = Console()
            console.print(table.round(3).to_string(index=False) if len(table) else "(no prediction matched a stat)",
                          highlight=False, markup=False)
            if missed:
                console.print(f"{missed} of {len(predicted_stats_df)} prediction(s) matched no stat of their run "
                              "(run, split, name and perturbation must all agree)", highlight=False, markup=False)
        return table


class InstancePredictor(Predictor):
    """MAGNET's per-instance API: ``predict(train_split, sequestered_test_split) -> list[InstancePrediction]``.

    One :class:`~magnet.predictions.InstancePrediction` per row of
    ``sequestered_test_split.scenario_state`` (identified by its
    ``magnet.instance_predict_id``); for a 0/1 stat its ``mean`` is the
    probability of 1. magnet scores them per instance (Brier, log-loss, AUROC)
    and as run-level predictions: the mean of a run's unperturbed instance
    predictions (:func:`magnet.protocol.predict_call.instances_to_runs`).
    """

    @abc.abstractmethod
    def predict(self, train_split: TrainSplit, sequestered_test_split: SequesteredTestSplit) -> list[InstancePrediction]:
        """Predict per-instance stats of the eval runs' revealed request states."""


def load_predictor(spec: str):
    """Instantiate ``module.path:ClassName`` (with default parameters).

    Every way this can fail is a :class:`magnet.errors.UserError` naming the spec and the problem.

    Example:
        >>> load_predictor("predictors.example_random_predictor:ExampleRandomPredictor").name
        'ExampleRandomPredictor'
        >>> load_predictor("predictors.example_random_predictor")
        Traceback (most recent call last):
        ...
        magnet.errors.UserError: --predictor predictors.example_random_predictor: expected MODULE:CLASS
    """
    what = f"--predictor {spec}"
    module, _, cls = spec.partition(":")
    if not module or not cls:
        raise UserError(what, "expected MODULE:CLASS",
                        hint="e.g. predictors.example_random_predictor:ExampleRandomPredictor")
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        raise UserError(what, f"cannot import module {module!r}: {e}",
                        hint="the module must be importable from the current directory or an installed package") from None
    except Exception as e:  # noqa: BLE001 - the user's module failed while importing
        raise UserError(what, f"importing {module!r} raised {type(e).__name__}: {e}") from None
    obj = getattr(mod, cls, None)
    if obj is None:
        names = sorted(n for n, v in vars(mod).items()
                       if isinstance(v, type) and hasattr(v, "predict") and v.__module__ == mod.__name__)
        raise UserError(what, f"module {module!r} has no {cls!r}",
                        hint=f"predictors it defines: {', '.join(names)}" if names else None)
    if isinstance(obj, type):
        try:
            obj = obj()
        except Exception as e:  # noqa: BLE001 - the user's constructor failed
            raise UserError(what, f"{cls}() raised {type(e).__name__}: {e}") from None
    if not callable(getattr(obj, "predict", None)):
        raise UserError(what, f"{cls} is not a predictor (no predict method)",
                        hint="subclass magnet.predictor.Predictor")
    return obj
