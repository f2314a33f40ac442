"""Check that a predictor follows the :class:`~magnet.predictor.Predictor` contract (like scikit-learn's ``check_estimator``).

:func:`check_predictor` runs a series of small named checks (the ``check_*``
functions of this module, yielded by :func:`_yield_checks`) on a predictor
class or instance. They run it under leave-one-model-out on the small demo
corpus (``Corpus.load(HelmOutputs.demo(preset="small"))``, 16 runs) with 3
revealed instances per eval run, calling ``predict`` directly on the frames
of :func:`magnet.protocol.splits.fold_inputs`. Each check reports its name, what it
expected and what it got; failures raise :class:`PredictorCheckError`.

:func:`parametrize_with_checks` turns each (predictor, check) pair into its
own pytest case.

Example:
    >>> from predictors.example_random_predictor import ExampleRandomPredictor
    >>> results = check_predictor(ExampleRandomPredictor)
    >>> [r.check for r in results][:3]
    ['check_no_work_in_init', 'check_returns_supported_type', 'check_answers_all_eval_runs']
    >>> all(r.passed for r in results)
    True
    >>> from magnet.helm_objects import make_stat
    >>> class Unprefixed(ExampleRandomPredictor):
    ...     def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df,
    ...                 eval_run_specs_df, eval_scenario_states_df):
    ...         return {run: [make_stat("exact_match", 0.5)] for run in eval_run_specs_df["run_spec.name"]}
    >>> try:
    ...     check_predictor(Unprefixed)
    ... except PredictorCheckError as e:
    ...     print(e.failed)
    ['check_names_prefixed', 'check_split_and_perturbation_match_targets']
"""

from __future__ import annotations

import copy
import functools
import inspect
import math
import pickle
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd

from magnet.predictor import PREDICTION_COLUMNS, PREFIX, InstancePrediction, Predictor, RunPrediction
from magnet.predictions import abstentions
from magnet.protocol.predict_call import SPLIT_PARAMS, coerce_output, predict_args
from magnet.backends.helm.outputs import HelmOutputs
from magnet.protocol.corpus import Corpus
from magnet.protocol.splits import fold_inputs
from magnet.protocol.splits import make_folds
from magnet.protocol.splits import reveal
from magnet.protocol.truth import join_truth

#: How checks run a predictor: fold strategy, revealed instances per eval run, seed.
CHECK_SPLIT = "leave-one-model-out"
CHECK_NUM_EVAL_SAMPLES = 3
CHECK_SEED = 0
#: ``check_no_work_in_init``: constructing with default parameters must take less than this (seconds).
INIT_TIME_LIMIT = 0.5


@dataclass
class CheckResult:
    """The outcome of one check: its name, whether it passed, what it expected and what it got."""

    check: str
    passed: bool
    expected: str
    got: str
    seconds: float = 0.0

    @property
    def reason(self) -> str:
        return f"expected {self.expected}; got {self.got}"

    def __str__(self) -> str:
        return f"{self.check}: {'passed' if self.passed else 'FAILED'} ({self.reason})"


class PredictorCheckError(AssertionError):
    """A predictor failed checks; the message lists each failed check with its reason."""

    def __init__(self, predictor: str, results: list[CheckResult]):
        self.predictor = predictor
        self.results = list(results)
        self.failures = [r for r in self.results if not r.passed]
        lines = [f"{predictor} failed {len(self.failures)} of {len(self.results)} predictor check(s):"]
        lines += [f"  - {r.check}: {r.reason}" for r in self.failures]
        super().__init__("\n".join(lines))

    @property
    def failed(self) -> list[str]:
        """Names of the failed checks."""
        return [r.check for r in self.failures]


# ---------------------------------------------------------------------------------------------------------------------
# Shared state of the checks on one predictor


@functools.lru_cache(maxsize=1)
def default_corpus():
    """The small demo corpus (16 runs), loaded once per process."""

    return Corpus.load(HelmOutputs.demo(preset="small"))


def _coerce_corpus(corpus):
    if corpus is None:
        return default_corpus()
    return corpus if isinstance(corpus, Corpus) else Corpus.load(corpus)


def _name(predictor) -> str:
    return predictor.__name__ if isinstance(predictor, type) else type(predictor).__name__


def _one_line(e: BaseException) -> str:
    return f"{type(e).__name__}: {' '.join(str(e).split())}"[:300]


class _PredictFailed(Exception):
    """``predict`` raised or returned something unusable, so a check cannot look at predictions."""


@dataclass
class FoldRun:
    """One ``predict`` call of a check: the fold, the raw return value, the tidy frame or the error."""

    fold: Any
    raw: Any = None
    frame: pd.DataFrame | None = None
    error: str | None = None


class CheckContext:
    """What the checks on one predictor share: the corpus, the folds, and a cached run of a fresh instance.

    ``predictor`` is a :class:`~magnet.predictor.Predictor` subclass (instantiated
    with its default parameters) or an instance (deep-copied: checks never touch it).

    Example:
        >>> from predictors.example_random_predictor import ExampleRandomPredictor
        >>> ctx = CheckContext(ExampleRandomPredictor)
        >>> [len(f.eval_runs) for f in ctx.folds]
        [4, 4, 4, 4]
        >>> len(ctx.predictions()) == len(ctx.corpus.run_specs)
        True
    """

    def __init__(self, predictor, corpus=None, split: str = CHECK_SPLIT,
                 num_eval_samples: float = CHECK_NUM_EVAL_SAMPLES, seed: int = CHECK_SEED):
        if not (isinstance(predictor, Predictor) or (isinstance(predictor, type) and issubclass(predictor, Predictor))):
            raise TypeError(f"expected a Predictor subclass or instance, got {predictor!r}")
        self.predictor = predictor
        self.name = _name(predictor)
        self._corpus = corpus
        self.split, self.num_eval_samples, self.seed = split, num_eval_samples, seed
        self._cache: dict[str, Any] = {}

    @property
    def cls(self) -> type:
        return self.predictor if isinstance(self.predictor, type) else type(self.predictor)

    @property
    def corpus(self):
        if "corpus" not in self._cache:
            self._cache["corpus"] = _coerce_corpus(self._corpus)
        return self._cache["corpus"]

    @property
    def folds(self) -> list:
        if "folds" not in self._cache:
            self._cache["folds"] = make_folds(self.corpus.run_specs, self.split, seed=self.seed)
        return self._cache["folds"]

    @property
    def revealed(self) -> dict[str, list[str]]:
        if "revealed" not in self._cache:
            self._cache["revealed"] = reveal(self.corpus, self.num_eval_samples, self.seed)
        return self._cache["revealed"]

    def fresh(self) -> Predictor:
        """A new instance: the class with default parameters, or a deep copy of the given instance."""
        if isinstance(self.predictor, type):
            return self.predictor()
        return copy.deepcopy(self.predictor)

    def inputs(self, fold):
        """Fresh private inputs of one fold (:func:`magnet.protocol.splits.fold_inputs`)."""

        wants = self.fresh_wants()
        return fold_inputs(self.corpus, fold, self.revealed, with_per_instance=wants)

    def fresh_wants(self) -> bool:
        if "wants" not in self._cache:
            self._cache["wants"] = self.fresh().wants_per_instance_stats()
        return self._cache["wants"]

    def run(self, predictor: Predictor | None = None, reverse: bool = False) -> list[FoldRun]:
        """Call ``predict`` of ``predictor`` (default: a fresh instance) on every fold, recording errors."""
        predictor = self.fresh() if predictor is None else predictor
        runs = []
        for fold in (self.folds[::-1] if reverse else self.folds):
            out = FoldRun(fold)
            inputs = self.inputs(fold)
            args, kwargs = predict_args(predictor, inputs)
            try:
                out.raw = predictor.predict(*args, **kwargs)
            except Exception as e:
                out.error = f"predict raised {_one_line(e)} in fold {fold.index} ({fold.label})"
            else:
                try:
                    out.frame = coerce_output(out.raw, inputs, args).runs
                except Exception as e:
                    out.error = f"predict returned an unsupported value in fold {fold.index}: {_one_line(e)}"
            runs.append(out)
        return sorted(runs, key=lambda r: r.fold.index)

    @property
    def outcome(self) -> list[FoldRun]:
        """The (cached) run of one fresh instance over all folds."""
        if "outcome" not in self._cache:
            self._cache["outcome"] = self.run()
        return self._cache["outcome"]

    def predictions(self, runs: list[FoldRun] | None = None) -> pd.DataFrame:
        """All predictions of ``runs`` (default: :attr:`outcome`) with a ``fold`` column; raises if a call failed."""
        runs = self.outcome if runs is None else runs
        errors = [r.error for r in runs if r.error]
        if errors:
            raise _PredictFailed(errors[0] + (f" (and {len(errors) - 1} more fold(s))" if len(errors) > 1 else ""))
        # abstentions (NaN with a stated reason, magnet.predictions.noted) are not predictions, as in the runner
        frames = [r.frame.drop(abstentions(r.frame).index).assign(fold=r.fold.index) for r in runs]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=PREDICTION_COLUMNS + ["fold"])


def _as_context(predictor_or_context, corpus=None) -> CheckContext:
    if isinstance(predictor_or_context, CheckContext):
        return predictor_or_context
    return CheckContext(predictor_or_context, corpus=corpus)


def _check(expected: str):
    """Make ``fn(ctx) -> (passed, got)`` a check: callable on a predictor or a :class:`CheckContext`."""

    def decorate(fn: Callable[[CheckContext], tuple[bool, str]]):
        @functools.wraps(fn)
        def check(predictor_or_context, corpus=None) -> CheckResult:
            start = time.perf_counter()
            try:
                ctx = _as_context(predictor_or_context, corpus)
                passed, got = fn(ctx)
            except _PredictFailed as e:
                passed, got = False, str(e)
            except Exception as e:  # a fault of the predictor met by the check itself
                passed, got = False, f"the check raised {_one_line(e)}"
            return CheckResult(fn.__name__, bool(passed), expected, got, time.perf_counter() - start)

        check.expected = expected
        return check

    return decorate


def _few(items, n: int = 5) -> str:
    items = list(items)
    return ", ".join(map(str, items[:n])) + (f", ... (+{len(items) - n})" if len(items) > n else "")


# ---------------------------------------------------------------------------------------------------------------------
# Comparing frames deeply (pandas' testing functions cannot compare lists of dicts in object columns)


def _deep_equal(a, b) -> bool:
    if a is b:
        return True
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_deep_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_deep_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and all(_deep_equal(x, y) for x, y in zip(a.tolist(), b.tolist()))
    try:
        return bool(a == b)
    except Exception:
        return False


def frame_difference(before: pd.DataFrame, after: pd.DataFrame) -> str | None:
    """``None`` when two frames are equal, including the Python objects inside object columns; else the first difference.

    Non-object columns are compared with :func:`pandas.testing.assert_series_equal`
    (exact), object columns element by element, recursively (NaN equals NaN).

    Example:
        >>> a = pd.DataFrame({"x": [1.0, float("nan")], "refs": [[{"tags": ["correct"]}], []]})
        >>> b = pickle.loads(pickle.dumps(a))
        >>> frame_difference(a, b) is None
        True
        >>> b["refs"].iloc[0][0]["tags"].append("new")
        >>> frame_difference(a, b)
        "column 'refs' differs at row 0: [{'tags': ['correct']}] became [{'tags': ['correct', 'new']}]"
    """
    if not isinstance(after, pd.DataFrame):
        return f"a DataFrame became {type(after).__name__}"
    if list(before.columns) != list(after.columns):
        added, removed = set(after.columns) - set(before.columns), set(before.columns) - set(after.columns)
        return f"columns changed (added: {_few(sorted(map(str, added))) or '-'}; removed: " \
               f"{_few(sorted(map(str, removed))) or '-'}; or reordered)"
    if not before.index.equals(after.index):
        return f"index changed ({len(before)} rows became {len(after)})"
    for i, col in enumerate(before.columns):
        left, right = before.iloc[:, i], after.iloc[:, i]
        if left.dtype != right.dtype:
            return f"column {col!r} changed dtype from {left.dtype} to {right.dtype}"
        if left.dtype == object:
            for row, (x, y) in enumerate(zip(left.tolist(), right.tolist())):
                if not _deep_equal(x, y):
                    return f"column {col!r} differs at row {row}: {repr(x)[:120]} became {repr(y)[:120]}"
        else:
            try:
                pd.testing.assert_series_equal(left, right, check_exact=True, check_names=False)
            except AssertionError as e:
                return f"column {col!r} differs: {' '.join(str(e).split())[:200]}"
    if before.attrs != after.attrs:
        return "attrs changed"
    return None


def _deep_copy(df):
    return None if df is None else pickle.loads(pickle.dumps(df, protocol=pickle.HIGHEST_PROTOCOL))


# ---------------------------------------------------------------------------------------------------------------------
# The checks


@_check("constructing with default parameters is fast (< 0.5 s) and stores only parameters (vars() keys are "
        "__init__ parameters or 'seed')")
def check_no_work_in_init(ctx: CheckContext) -> tuple[bool, str]:
    """``__init__`` only stores parameters (scikit-learn style); the work belongs in ``predict``.

    Example:
        >>> from predictors.example_random_predictor import ExampleRandomPredictor
        >>> check_no_work_in_init(ExampleRandomPredictor).passed
        True
    """
    cls = ctx.cls
    signature = inspect.signature(cls.__init__)
    params = [p for name, p in signature.parameters.items() if name != "self"]
    start = time.perf_counter()
    try:
        instance = cls()
    except TypeError as e:
        if isinstance(ctx.predictor, type):
            return False, f"{cls.__name__}() raised {_one_line(e)} (every parameter needs a default)"
        given = vars(ctx.predictor)
        try:  # lenient: a predictor with required parameters is rebuilt from the given instance's parameters
            start = time.perf_counter()
            instance = cls(**{p.name: given[p.name] for p in params if p.name in given})
        except Exception:
            return True, "skipped: cannot construct it from its parameters"
    seconds = time.perf_counter() - start
    if seconds >= INIT_TIME_LIMIT:  # lenient: a first construction may pay for imports; time a second one
        start = time.perf_counter()
        instance = type(instance)(**{k: v for k, v in vars(instance).items() if k in {p.name for p in params}})
        seconds = min(seconds, time.perf_counter() - start)
    if seconds >= INIT_TIME_LIMIT:
        return False, f"constructing {cls.__name__} took {seconds:.2f} s"
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return True, f"{seconds * 1000:.0f} ms; takes **kwargs, so any attribute may be a parameter"
    allowed = {p.name for p in params} | {"seed"}
    extra = sorted(k for k in vars(instance) if k not in allowed)
    if extra:
        return False, f"attributes that are not parameters of __init__: {_few(extra)}"
    return True, f"{seconds * 1000:.0f} ms; attributes {sorted(vars(instance))}"


@_check("predict returns a dict of run name -> list of Stat (or Stat JSON dicts), or a DataFrame with "
        "run_spec.name, stats.name.name and stats.mean")
def check_returns_supported_type(ctx: CheckContext) -> tuple[bool, str]:
    """The return value is one of the two supported forms (and :func:`~magnet.predictor.predictions_to_frame` accepts it)."""
    from helm.benchmark.metrics.statistic import Stat

    for run in ctx.outcome:
        if run.error and run.raw is None:
            return False, run.error
        raw = run.raw
        if isinstance(raw, dict):
            for key, stats in raw.items():
                if not isinstance(key, str):
                    return False, f"a dict key of type {type(key).__name__} ({key!r}) in fold {run.fold.index}"
                if not isinstance(stats, (list, tuple)):
                    return False, f"{type(stats).__name__} for run {key!r} in fold {run.fold.index}"
                bad = [type(s).__name__ for s in stats if not isinstance(s, (Stat, dict, RunPrediction))]
                if bad:
                    return False, f"list items of type {_few(sorted(set(bad)))} for run {key!r} in fold {run.fold.index}"
        elif isinstance(raw, (list, tuple)):
            bad = [type(p).__name__ for p in raw if not isinstance(p, (RunPrediction, InstancePrediction))]
            if bad:
                return False, f"list items of type {_few(sorted(set(bad)))} in fold {run.fold.index}"
        elif not isinstance(raw, pd.DataFrame):
            return False, f"{type(raw).__name__} in fold {run.fold.index}"
        if run.error:
            return False, run.error
    kinds = sorted({type(r.raw).__name__ for r in ctx.outcome})
    return True, f"{' and '.join(kinds)} in all {len(ctx.outcome)} folds"


@_check("predictions for every eval run of every fold, and for no other run")
def check_answers_all_eval_runs(ctx: CheckContext) -> tuple[bool, str]:
    """Every eval run gets at least one prediction; no prediction names a run outside the fold's eval runs."""
    problems = []
    preds = ctx.predictions()
    for fold in ctx.folds:
        predicted = set(preds.loc[preds["fold"] == fold.index, "run_spec.name"])
        missing = sorted(set(fold.eval_runs) - predicted)
        unknown = sorted(map(str, predicted - set(fold.eval_runs)))
        if missing:
            problems.append(f"fold {fold.index} misses {len(missing)} of {len(fold.eval_runs)} run(s): {_few(missing, 3)}")
        if unknown:
            problems.append(f"fold {fold.index} predicts unknown run(s): {_few(unknown, 3)}")
    if problems:
        return False, "; ".join(problems)
    return True, f"{preds['run_spec.name'].nunique()} runs predicted in {len(ctx.folds)} folds"


@_check(f"every stat name starts with {PREFIX!r}")
def check_names_prefixed(ctx: CheckContext) -> tuple[bool, str]:
    """Predicted stats are named ``predicted_<stat name>``."""
    names = ctx.predictions()["stats.name.name"].astype(str)
    bad = sorted(set(names[~names.str.startswith(PREFIX)]))
    if bad:
        return False, f"{len(bad)} unprefixed name(s): {_few(bad)}"
    return True, f"names {_few(sorted(set(names)))}"


@_check("finite values (no NaN or inf)")
def check_finite_values(ctx: CheckContext) -> tuple[bool, str]:
    """Every ``stats.mean`` is a finite number."""
    preds = ctx.predictions()
    bad = ~np.isfinite(preds["stats.mean"].to_numpy(dtype=float))
    if bad.any():
        runs = sorted(set(preds.loc[bad, "run_spec.name"]))
        return False, f"{int(bad.sum())} non-finite value(s) for run(s) {_few(runs, 3)}"
    return True, f"{len(preds)} finite values"


@_check("predictions of stats whose actual values lie in [0, 1] (like exact_match) also within [0, 1]")
def check_values_in_range(ctx: CheckContext) -> tuple[bool, str]:
    """For stats that are fractions in the corpus (every target value in [0, 1]), predictions are in [0, 1] too."""
    targets = ctx.corpus.targets
    in_unit = targets.groupby("target.name")["stats.mean"].agg(lambda v: bool(((v >= 0) & (v <= 1)).all()))
    bounded = set(in_unit[in_unit].index)
    preds = ctx.predictions()
    names = preds["stats.name.name"].astype(str).str.removeprefix(PREFIX)
    values = preds["stats.mean"].to_numpy(dtype=float)
    checked = names.isin(bounded).to_numpy() & np.isfinite(values)
    bad = checked & ((values < 0) | (values > 1))
    if bad.any():
        rows = preds[bad]
        shown = [f"{r} {n}={v:g}" for r, n, v in zip(rows["run_spec.name"], rows["stats.name.name"], rows["stats.mean"])]
        return False, f"{int(bad.sum())} value(s) outside [0, 1]: {_few(shown, 3)}"
    return True, f"{int(checked.sum())} values of bounded stats ({_few(sorted(bounded))}) within [0, 1]"


@_check("every prediction matches an actual target stat (same run, name without 'predicted_', split and "
        "perturbation name/computed_on), and each eval run's unperturbed main target is predicted")
def check_split_and_perturbation_match_targets(ctx: CheckContext) -> tuple[bool, str]:
    """Predictions are scoreable: :func:`magnet.protocol.truth.join_truth` finds the actual stat of each."""

    preds = ctx.predictions()
    rows = preds.drop(columns=["fold"]).assign(fold=np.arange(len(preds)))  # join_truth keeps "fold": a row id here
    targets = ctx.corpus.targets
    joined = join_truth(rows, targets)
    matched = set(joined["fold"]) if len(joined) else set()
    unmatched = rows[~rows["fold"].isin(matched)]
    problems = []
    if len(unmatched):
        def describe(r):
            pert = r["stats.name.perturbation.name"]
            pert = f"{pert}/{r['stats.name.perturbation.computed_on']}" if pert is not None else "unperturbed"
            return f"{r['run_spec.name']} {r['stats.name.name']} split={r['stats.name.split']} {pert}"

        shown = [describe(r) for _, r in unmatched.head(3).iterrows()]
        problems.append(f"{len(unmatched)} of {len(rows)} prediction(s) match no target: {'; '.join(shown)}")
    main = targets[targets["target.key"] == targets["target.name"]]
    have = set(zip(joined["run_spec.name"], joined["target.key"])) if len(joined) else set()
    lacking = sorted(run for run, key in zip(main["run_spec.name"], main["target.key"]) if (run, key) not in have)
    if lacking:
        problems.append(f"no prediction of the unperturbed main target of {len(lacking)} run(s): {_few(lacking, 3)}")
    if problems:
        return False, "; ".join(problems)
    return True, f"all {len(rows)} predictions match a target ({joined['target.key'].nunique()} target variants)"


@_check("predict leaves its input DataFrames unchanged (deep comparison, including lists and dicts in object columns)")
def check_inputs_not_mutated(ctx: CheckContext) -> tuple[bool, str]:
    """``predict`` must not modify its inputs; compared against deep copies taken before the call."""
    predictor = ctx.fresh()
    for fold in ctx.folds:
        inputs = ctx.inputs(fold)
        args, kwargs = predict_args(predictor, inputs)
        if args:  # the split objects' frames, by their MAGNET names
            kwargs = {f"{name}.{table}": getattr(split, table) for name, split in zip(SPLIT_PARAMS, args)
                      for table in vars(split) if getattr(split, table) is not None}  # getattr: Deferred frames copied
        before = {k: _deep_copy(v) for k, v in kwargs.items()}
        try:
            predictor.predict(*args) if args else predictor.predict(**kwargs)
        except Exception as e:
            raise _PredictFailed(f"predict raised {_one_line(e)} in fold {fold.index} ({fold.label})") from None
        for key in kwargs:
            diff = frame_difference(before[key], kwargs[key]) if before[key] is not None else None
            if diff:
                return False, f"{key} modified in fold {fold.index}: {diff}"
    return True, f"all inputs unchanged in {len(ctx.folds)} folds"


@_check("two fresh instances with the same seed give identical predictions (the second one visiting the folds "
        "in reverse order)")
def check_deterministic(ctx: CheckContext) -> tuple[bool, str]:
    """Same parameters and seed, same inputs: the same predictions, whatever was predicted before."""
    first = ctx.predictions()
    second = ctx.predictions(ctx.run(ctx.fresh(), reverse=True))
    keys = ["fold"] + PREDICTION_COLUMNS[:-1]

    def canonical(df):
        df = df.assign(**{c: df[c].astype(str) for c in keys if c != "fold"})
        return df.sort_values(keys + ["stats.mean"], kind="mergesort").reset_index(drop=True)

    a, b = canonical(first), canonical(second)
    if len(a) != len(b):
        return False, f"{len(a)} predictions, then {len(b)}"
    differs = (a[keys] != b[keys]).any(axis=1).to_numpy()
    va, vb = a["stats.mean"].to_numpy(dtype=float), b["stats.mean"].to_numpy(dtype=float)
    differs |= ~((va == vb) | (np.isnan(va) & np.isnan(vb)))
    if differs.any():
        i = int(np.flatnonzero(differs)[0])
        return False, (f"{int(differs.sum())} of {len(a)} predictions differ, e.g. {a.loc[i, 'run_spec.name']} "
                       f"{a.loc[i, 'stats.name.name']}: {va[i]!r} then {vb[i]!r}")
    return True, f"{len(a)} identical predictions"


def _yield_checks() -> Iterator[Callable[..., CheckResult]]:
    """The checks, in the order they run."""
    yield check_no_work_in_init
    yield check_returns_supported_type
    yield check_answers_all_eval_runs
    yield check_names_prefixed
    yield check_finite_values
    yield check_values_in_range
    yield check_split_and_perturbation_match_targets
    yield check_inputs_not_mutated
    yield check_deterministic


def check_predictor(predictor, *, corpus=None, raise_on_failure: bool = True) -> list[CheckResult]:
    """Run every check on a predictor class (built with default parameters) or instance.

    Parameters
    ----------
    predictor: a :class:`~magnet.predictor.Predictor` subclass or instance.
    corpus: a :class:`~magnet.protocol.corpus.Corpus` (or what ``Corpus.load`` accepts); default: the small demo corpus.
    raise_on_failure: raise :class:`PredictorCheckError` listing the failed checks (else just return the results).

    Example:
        >>> from predictors.example_random_predictor import ExampleRandomPredictor
        >>> class Nan(ExampleRandomPredictor):
        ...     def predict(self, *args, **kwargs):
        ...         out = super().predict(*args, **kwargs)
        ...         return {run: [s.add(float("nan")) for s in stats] for run, stats in out.items()}
        >>> results = check_predictor(Nan, raise_on_failure=False)
        >>> [r.check for r in results if not r.passed]
        ['check_finite_values']
        >>> print(next(r for r in results if not r.passed).reason)
        expected finite values (no NaN or inf); got 16 non-finite value(s) for run(s) dyck_language_np=2:model=magnet-sim_atlas-1b, dyck_language_np=2:model=magnet-sim_atlas-70b, dyck_language_np=2:model=magnet-sim_brook-13b, ... (+13)
    """
    ctx = CheckContext(predictor, corpus=corpus)
    results = [check(ctx) for check in _yield_checks()]
    if raise_on_failure and not all(r.passed for r in results):
        raise PredictorCheckError(ctx.name, results)
    return results


class _CheckCall:
    """A pytest parameter: ``check(predictor)`` runs one check and raises :class:`PredictorCheckError` if it fails."""

    def __init__(self, check, corpus=None):
        self.check, self.corpus = check, corpus
        functools.update_wrapper(self, check)

    def __call__(self, predictor) -> CheckResult:
        result = self.check(predictor, corpus=self.corpus)
        if not result.passed:
            raise PredictorCheckError(_name(predictor), [result])
        return result

    def __repr__(self) -> str:
        return self.check.__name__


def parametrize_with_checks(predictors, *, corpus=None):
    """A ``pytest.mark.parametrize`` decorator making each (predictor, check) pair its own test case.

    The test function takes the arguments ``predictor`` and ``check`` and calls
    ``check(predictor)``, which raises :class:`PredictorCheckError` when the check fails.

    Example:
        >>> from predictors.example_random_predictor import ExampleRandomPredictor
        >>> mark = parametrize_with_checks([ExampleRandomPredictor])
        >>> mark.args[0], len(mark.args[1])
        ('predictor, check', 9)
        >>> mark.kwargs["ids"][0]
        'ExampleRandomPredictor-check_no_work_in_init'

        In a test module::

            @parametrize_with_checks([ExampleRandomPredictor, MyPredictor(alpha=0.1)])
            def test_predictor_contract(predictor, check):
                check(predictor)
    """
    import pytest

    cases, ids = [], []
    for predictor in predictors:
        for check in _yield_checks():
            cases.append((predictor, _CheckCall(check, corpus)))
            ids.append(f"{_name(predictor)}-{check.__name__}")
    return pytest.mark.parametrize("predictor, check", cases, ids=ids)
