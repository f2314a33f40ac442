"""``predictor(root_dir, suite)`` and MAGNET's other call forms: run the protocol, print the seed's table, return results.

:func:`evaluate_predictor` is what :meth:`magnet.predictor.Predictor.__call__`
runs. It loads the runs named by one of MAGNET's call forms
(``root_dir`` + ``suite``, ``helm_suites=``, ``helm_runs=``), runs
:func:`~magnet.protocol.runner.run_protocol` (every run an eval run once, the
same boundary as ``magnet benchmark``), joins the truth, and prints, per
scored target, a *predicted* and an *actual* row with the columns of MAGNET's
table (run_spec, source, name, mean, min, max, count, stddev, sum,
sum_squared, variance). A prediction that names a stat of its run other than
the declared targets (MAGNET's examples predict ``split="valid"`` and
perturbed variants such as ``misspellings/perturbed``) is scored against
that stat too (:func:`~magnet.protocol.truth.join_named`; its ``name`` in
the table carries the split, e.g. ``exact_match [valid]``), and the result
says how many were (``Evaluation.n_named``); ``magnet benchmark`` keeps to
the declared targets and lists these as not scored. Predictions matching no
stat of their run are listed with the nearest target; failed folds with their
reason. For an
:class:`~magnet.predictor.InstancePredictor` the per-instance predictions are
also scored (Brier, log-loss, AUROC where the stat is 0/1).

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> from predictors.example_random_predictor import ExampleRandomPredictor
    >>> outputs = HelmOutputs.demo(preset="small")
    >>> result = evaluate_predictor(ExampleRandomPredictor(), root_dir=outputs.root_dir, suite="demo",
    ...                             split="leave-one-model-out", quiet=True)
    >>> list(result.table.columns)
    ['run_spec', 'source', 'name', 'mean', 'min', 'max', 'count', 'stddev', 'sum', 'sum_squared', 'variance']
    >>> result.n_scored > 0, result.unmatched, result.all_failed
    (True, [], False)
    >>> result
    <Evaluation ExampleRandomPredictor, leave-one-model-out: 16 scored predictions, MAE ..., 0 unmatched, 0 of 4 folds not ok>
    >>> evaluate_predictor(ExampleRandomPredictor(), root_dir=outputs.root_dir, suite="nope")
    Traceback (most recent call last):
    magnet.backends.helm.errors.HelmOutputError: ...no suite 'nope'; suites: ['demo']
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from magnet.backends.helm.errors import HelmOutputError
from magnet.backends.helm.helm_outputs import HelmRuns, HelmSuites
from magnet.backends.helm.outputs import HelmOutputs
from magnet.sources import only_suite, open_outputs
from magnet.protocol.corpus import RUN, Corpus
from magnet.data_splits import SequesteredTestSplit, TestSplit, TrainSplit
from magnet.protocol.predict_call import as_splits, call_predict, predict_style
from magnet.protocol.fold_run import keeping_instances
from magnet.protocol.runner import ProtocolResult, run_protocol
from magnet.protocol.splits import fold_inputs, make_folds, reveal
from magnet.protocol.truth import join_named, join_truth
from magnet.protocol.unmatched import unmatched_predictions
from magnet.stats.instance_scores import binary_scores, is_binary

TABLE_COLUMNS = ["run_spec", "source", "name", "mean", "min", "max", "count", "stddev", "sum", "sum_squared",
                 "variance"]
PIS = "per_instance_stats."


@dataclass(repr=False)
class Evaluation:
    """What a predictor call returns: the seed's table and everything behind it."""

    table: pd.DataFrame
    joined: pd.DataFrame
    protocol: ProtocolResult
    unmatched: list[str]
    instance_scores: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        failed = len(self.protocol.failed_folds)
        mae = f"MAE {self.mae:.3f}" if self.n_scored else "nothing scored"
        named = f" ({self.n_named} on stats outside the targets)" if self.n_named else ""
        return (f"<Evaluation {self.protocol.predictor}, {self.protocol.split}: {self.n_scored} scored predictions"
                f"{named}, {mae}, {len(self.unmatched)} unmatched, {failed} of {len(self.protocol.folds)} folds not ok>")

    @property
    def n_scored(self) -> int:
        """Predictions matched to an actual stat (scored): a declared target or another stat the run has."""
        return len(self.joined)

    @property
    def n_named(self) -> int:
        """Scored predictions whose stat is not a declared target (e.g. ``split="valid"``): ``magnet benchmark`` ignores these."""
        return int((self.joined["scored_on"] == "named").sum()) if "scored_on" in self.joined else 0

    @property
    def all_failed(self) -> bool:
        """True when no fold produced a valid prediction."""
        return all(f.status == "failed" for f in self.protocol.folds)

    @property
    def mae(self) -> float:
        """Mean absolute error over the scored predictions (NaN if none)."""
        return float((self.joined["predicted"] - self.joined["actual"]).abs().mean()) if len(self.joined) else np.nan


def outputs_for(root_dir=None, suite=None, helm_suites=None, helm_runs=None) -> HelmOutputs:
    """The runs named by one of MAGNET's call forms; ``ValueError`` for none or several."""
    given = [name for name, v in (("root_dir", root_dir), ("helm_suites", helm_suites), ("helm_runs", helm_runs))
             if v is not None]
    if len(given) != 1:
        raise ValueError("call a predictor with one of: (root_dir, suite), helm_suites=PATH_OR_GLOB, "
                         f"helm_runs=GLOB; got {', '.join(given) or 'none'}")
    if helm_runs is not None:
        return HelmRuns.coerce(helm_runs).to_outputs()
    if helm_suites is not None:
        return HelmSuites.coerce(helm_suites).runs().to_outputs()
    outputs = open_outputs(root_dir)  # HELM output, or Inspect / lm-eval / EEE results (detected)
    return only_suite(outputs, suite) if suite is not None else outputs


def filtered(predictor, outputs: HelmOutputs) -> HelmOutputs:
    """The runs kept by the predictor's MAGNET hooks ``run_spec_filter`` / ``run_spec_dataframe_filter``, if overridden."""
    by_spec = getattr(predictor, "run_spec_filter", None)
    by_row = getattr(predictor, "run_spec_dataframe_filter", None)
    by_spec = None if getattr(by_spec, "magnet_default", False) else by_spec
    by_row = None if getattr(by_row, "magnet_default", False) else by_row
    if by_spec is None and by_row is None:
        return outputs
    specs = outputs.run_specs()
    rows = {(s, n.replace("/", "_")): row for (_, row), s, n in zip(specs.iterrows(), specs["suite"], specs[RUN])}
    kept = []
    for run in outputs.runs():
        row = rows.get((run.suite, run.name))
        if row is None or (by_row is not None and not by_row(row)) or (by_spec is not None and not by_spec(run.run_spec())):
            continue
        kept.append(run.path)
    if not kept:
        raise ValueError(f"{type(predictor).__name__}.run_spec_filter / run_spec_dataframe_filter kept no run "
                         f"of {outputs.root}")
    return HelmRuns(kept).to_outputs()


def seed_table(joined: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Per scored prediction: a ``predicted`` row (a one-value stat) and the ``actual`` stat, MAGNET's columns.

    The actual stat is the target's row, or for a prediction scored on a stat
    outside the targets (:func:`~magnet.protocol.truth.join_named`) the ``stats.*``
    columns of its joined row.
    """
    stat_cols = [f"stats.{c}" for c in TABLE_COLUMNS[3:]]
    named = joined[joined["scored_on"] == "named"] if "scored_on" in joined else joined.iloc[:0]
    actual = pd.concat([targets.reindex(columns=[RUN, "target.key", *stat_cols]),
                        named.reindex(columns=[RUN, "target.key", *stat_cols])], ignore_index=True)
    actual = actual.drop_duplicates([RUN, "target.key"]).set_index([RUN, "target.key"])
    rows = []
    for run, key, pred in zip(joined[RUN], joined["target.key"], joined["predicted"]):
        rows.append([run, "predicted", key, pred, pred, pred, 1, 0.0, pred, pred * pred, 0.0])
        a = actual.loc[(run, key)]
        rows.append([run, "actual", key] + [a.get(f"stats.{c}", np.nan) for c in TABLE_COLUMNS[3:]])
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def instance_truth(corpus: Corpus, located: pd.DataFrame) -> pd.DataFrame:
    """Instance predictions joined with the actual per-instance stat (same run, instance, perturbation, stat)."""
    pis = corpus.per_instance_stats
    truth = pd.DataFrame({
        RUN: pis[RUN].to_numpy(), "instance_id": pis[PIS + "instance_id"].to_numpy(),
        "perturbation": pis.get(PIS + "perturbation.name", pd.Series([None] * len(pis))).to_numpy(),
        "stat": pis[PIS + "stats.name.name"].to_numpy(), "actual": pis[PIS + "stats.mean"].to_numpy(dtype=float),
    })
    truth = truth.fillna({"perturbation": "∅"}).groupby([RUN, "instance_id", "perturbation", "stat"],
                                                          as_index=False)["actual"].mean()
    left = located.assign(stat=located[PIS + "stats.name.name"].astype(str).str.removeprefix("predicted_"),
                          perturbation=located["perturbation"].fillna("∅"),
                          predicted=located[PIS + "stats.mean"].astype(float))
    return left.merge(truth, on=[RUN, "instance_id", "perturbation", "stat"], how="inner")


def score_instances(predictor, corpus: Corpus, protocol: ProtocolResult, n_folds: int, seed: int,
                    kept: dict | None = None) -> pd.DataFrame:
    """Per stat: the instance predictions' scores against the actual per-instance values (0/1 stats).

    ``kept`` (:func:`~magnet.protocol.fold_run.keeping_instances`) holds the folds'
    instance predictions made by the protocol run; only the other folds are predicted here.
    """
    frames = []
    for fold in make_folds(corpus.run_specs, protocol.split, n_folds=n_folds, seed=seed):
        if kept is not None and fold.index in kept:
            instances = kept[fold.index]
        else:
            try:
                instances = call_predict(predictor, fold_inputs(corpus, fold, protocol.revealed,
                                                                with_per_instance=True)).instances
            except Exception:  # the fold's failure is already recorded by the protocol run
                continue
        if instances is None:  # a run-level predictor (e.g. a RunPredictor): nothing per instance to score
            break
        frames.append(instances)
    rows = []
    joined = instance_truth(corpus, pd.concat(frames, ignore_index=True)) if frames else None  # one join, not per fold
    for stat, group in (joined.groupby("stat") if joined is not None else []):
        y, p = group["actual"].to_numpy(), group["predicted"].to_numpy()
        scores = binary_scores(y, p) if is_binary(y) else {
            "n": len(y), "n_positive": None, "brier": None, "log_loss": None, "auroc": None,
            "mae": float(np.mean(np.abs(p - y)))}
        rows.append({"stat": stat, **scores})
    return pd.DataFrame(rows, columns=["stat", "n", "n_positive", "brier", "log_loss", "auroc", "mae"])


def predict_inputs(predictor, *, root_dir=None, suite=None, helm_suites=None, helm_runs=None,
                   split: str = "leave-one-run-out", fold: int = 0, n_folds: int = 5, num_eval_samples=None,
                   seed=None) -> tuple[TrainSplit, SequesteredTestSplit]:
    """One fold's inputs as MAGNET's ``(train_split, sequestered_test_split)`` (what ``predict`` would receive).

    Example:
        >>> from magnet.backends.helm.outputs import HelmOutputs
        >>> from predictors.example_random_predictor import ExampleRandomPredictor
        >>> suite_path = HelmOutputs.demo(preset="small").suites()[0].path
        >>> train, seq = predict_inputs(ExampleRandomPredictor(num_eval_samples=3), root_dir=suite_path)
        >>> seq.run_specs["run_spec.name"].nunique(), seq.stats, train.stats["run_spec.name"].nunique()
        (1, None, 15)
        >>> int(seq.scenario_state["scenario_state.request_states.instance.id"].nunique())
        3
    """
    corpus = Corpus.load(filtered(predictor, outputs_for(root_dir, suite, helm_suites, helm_runs)))
    num = num_eval_samples if num_eval_samples is not None else getattr(predictor, "num_eval_samples", 10)
    seed = seed if seed is not None else getattr(predictor, "seed", 0)
    folds = make_folds(corpus.run_specs, split, n_folds=n_folds, seed=seed)
    return as_splits(fold_inputs(corpus, folds[fold], reveal(corpus, num, seed), with_per_instance=True))


def all_dataframes(predictor, *, root_dir=None, suite=None, helm_suites=None, helm_runs=None,
                   split: str = "leave-one-run-out", fold: int = 0, n_folds: int = 5, num_eval_samples=None,
                   seed=None) -> tuple[TrainSplit, TestSplit]:
    """One fold as MAGNET's ``(train_split, test_split)``: the test split still holds the eval runs' results.

    ``test_split.stats`` has every stat of the eval runs (all splits and
    perturbations), ``test_split.per_instance_stats`` those of the revealed
    instances; ``test_split.sequester()`` is what ``predict`` receives.

    Example:
        >>> from magnet.backends.helm.outputs import HelmOutputs
        >>> from predictors.example_random_predictor import ExampleRandomPredictor
        >>> suite_path = HelmOutputs.demo(preset="small").suites()[0].path
        >>> train, test = all_dataframes(ExampleRandomPredictor(num_eval_samples=3), helm_suites=suite_path)
        >>> test.run_specs["run_spec.name"].tolist() == test.stats["run_spec.name"].unique().tolist()
        True
        >>> int(test.per_instance_stats["per_instance_stats.instance_id"].nunique()), test.sequester().stats
        (3, None)
    """
    corpus = Corpus.load(filtered(predictor, outputs_for(root_dir, suite, helm_suites, helm_runs)))
    num = num_eval_samples if num_eval_samples is not None else getattr(predictor, "num_eval_samples", 10)
    seed = seed if seed is not None else getattr(predictor, "seed", 0)
    folds = make_folds(corpus.run_specs, split, n_folds=n_folds, seed=seed)
    inputs = fold_inputs(corpus, folds[fold], reveal(corpus, num, seed), with_per_instance=True,
                         with_eval_per_instance=True)
    train, sequestered = as_splits(inputs)
    evals = set(folds[fold].eval_runs)
    stats = corpus.stats[corpus.stats[RUN].isin(evals)].reset_index(drop=True)
    return train, TestSplit(run_specs=sequestered.run_specs, scenario_state=sequestered.scenario_state, stats=stats,
                            per_instance_stats=inputs.eval_per_instance_stats_df)


def evaluate_predictor(predictor, *, root_dir=None, suite=None, helm_suites=None, helm_runs=None,
                       split: str = "leave-one-run-out", n_folds: int = 5, num_eval_samples=None, seed=None,
                       quiet: bool = False, n_jobs: int = 1, timeout: float | None = None) -> Evaluation:
    """Run ``predictor`` on the named runs and report predicted vs actual (see the module docstring)."""
    outputs = filtered(predictor, outputs_for(root_dir, suite, helm_suites, helm_runs))
    corpus = Corpus.load(outputs)
    num = num_eval_samples if num_eval_samples is not None else getattr(predictor, "num_eval_samples", 10)
    seed = seed if seed is not None else getattr(predictor, "seed", 0)
    with keeping_instances() as kept:  # instance predictors: scored on these predictions, not predicted twice
        protocol = run_protocol(predictor, corpus, split=split, n_folds=n_folds, num_eval_samples=num, seed=seed,
                                n_jobs=n_jobs, timeout=timeout, progress=not quiet)
    if all(f.status == "failed" for f in protocol.folds):
        first = protocol.folds[0]
        raise ValueError(f"every fold of {getattr(predictor, 'name', type(predictor).__name__)} failed "
                         f"({len(protocol.folds)} folds); fold {first.index} ({first.label}): {first.reason}")
    joined = join_both(protocol.predictions, corpus)
    unmatched = unmatched_predictions(protocol.predictions, corpus.targets, corpus.stats, scored_elsewhere=True) \
        if len(protocol.predictions) else []
    instance_scores = None
    if predict_style(predictor) == "splits":
        scored = score_instances(predictor, corpus, protocol, n_folds, seed, kept)
        instance_scores = scored if len(scored) else None
    result = Evaluation(seed_table(joined, corpus.targets), joined, protocol, unmatched, instance_scores)
    if not quiet:
        show(result, getattr(predictor, "name", type(predictor).__name__))
    return result


def join_both(predictions: pd.DataFrame, corpus: Corpus) -> pd.DataFrame:
    """Predictions joined with their actual stat: the declared targets first, then any other stat of the run they name.

    ``scored_on`` says which (``target`` / ``named``).
    """
    on_target = join_truth(predictions, corpus.targets).assign(scored_on="target")
    named = join_named(predictions, corpus.stats, corpus.targets).assign(scored_on="named")
    if not len(named):
        return on_target
    if not len(on_target):
        return named.reset_index(drop=True)
    return pd.concat([on_target, named], ignore_index=True)


def show(result: Evaluation, name: str) -> None:
    """Print the seed's table, the unmatched predictions, failed folds and instance scores."""
    console = Console()
    table = Table(title=f"{name}, {result.protocol.split}: predicted vs actual")
    for col in TABLE_COLUMNS:
        table.add_column(col, justify="left" if col in ("run_spec", "source", "name") else "right", overflow="fold")
    for row in result.table.itertuples(index=False):
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else escape(str(v)) for v in row])
    named = (f" ({result.n_named} on stats they name outside the declared targets, e.g. split 'valid'; "
             "magnet benchmark does not score these)") if result.n_named else ""
    table.caption = (f"n = {result.n_scored} scored predictions{named}; MAE = {result.mae:.3f}" if result.n_scored
                     else "no prediction matched a stat of its run")
    console.print(table)
    for line in result.unmatched[:10]:
        console.print(f"[yellow]unmatched prediction:[/] {escape(line)}", highlight=False)
    if len(result.unmatched) > 10:
        console.print(f"[yellow]... {len(result.unmatched) - 10} more unmatched predictions[/]")
    for f in result.protocol.failed_folds:
        console.print(f"[yellow]fold {f.index} ({f.label}) {f.status}:[/] {f.reason}", highlight=False)
    if result.instance_scores is not None:
        console.print(result.instance_scores.round(4).to_string(index=False))
