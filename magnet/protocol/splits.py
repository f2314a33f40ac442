"""Fold strategies over runs, and the information boundary: what a predictor may see.

Strategies (all seeded and reproducible):

* ``kfold``: groups of sibling runs (same model and scenario configuration: a
  plain run and its data-augmented variants answer the same instances) shuffled
  and dealt into ``n_folds`` folds, so siblings are never split between train
  and eval (``keep_siblings=False`` deals single runs instead);
* ``leave-one-model-out``: one fold per model (``run_spec.adapter_spec.model``);
* ``leave-one-scenario-out``: one fold per scenario configuration (the run
  name without model and data augmentation, so a scenario and its perturbed
  variants are held out together);
* ``leave-one-run-out``: one fold per run;
* ``interpolation`` (the peers' protocol): one fold; a random ``eval_fraction``
  (default 25%, rounded down as benchpred does) of the **models** are eval models, the others train;
* ``extrapolation``: one fold; models ranked by their mean main score over
  their runs (``scores``), train = the bottom ``train_fraction`` (50%), eval =
  the top ``eval_fraction`` (30%), the models in between unused.

Repeats of a random split are separate protocol runs with seeds ``seed + r``
(see :func:`magnet.protocol.benchmark.benchmark`).

:func:`fold_inputs` is **the only place** that decides what a predictor sees.
For the train runs: everything (run_specs, all request states, all stats,
and per-instance stats for predictors that ask). For each eval run: its
run_spec, with ``magnet.num_eval_instances``,
``magnet.num_revealed_instances``, ``magnet.target_names`` (the stats to
predict) and ``magnet.target_split`` added (all known before the run), and the request states of its
*revealed* instances only (original and perturbed versions of each revealed
instance) and, for predictors that ask (keyword ``eval_per_instance_stats_df``), the
per-instance stats of those revealed instances (every stat of them: what running the
model on them yields). No eval stats, no per-instance stats of unrevealed instances,
no other request states.
The revealed sample of a run is drawn from the instances of its target split
with a seed derived from (seed, run name), so it is the same whatever the
fold strategy. Every frame is a private copy that shares no mutable object with the corpus
(:mod:`magnet.protocol.private_copy`); the train frames are copied when first read (:class:`Deferred`), so
a frame a predictor never reads costs no copy.

Example:
    >>> import pandas as pd
    >>> specs = pd.DataFrame({"run_spec.name": ["a:model=m1", "b:model=m1", "a:model=m2"],
    ...                       "run_spec.adapter_spec.model": ["m1", "m1", "m2"]})
    >>> [f.eval_runs for f in make_folds(specs, "leave-one-model-out")]
    [('a:model=m1', 'b:model=m1'), ('a:model=m2',)]
    >>> revealed_ids(["i1", "i2", "i3", "i4"], 2, seed=0, run="a") == revealed_ids(["i1", "i2", "i3", "i4"], 2, seed=0, run="a")
    True
"""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass

import numpy as np
import pandas as pd

from magnet.protocol.corpus import PIS, RUN, STATE, Corpus, scenario_label
from magnet.protocol.private_copy import Deferred, private_copy, resolving_getattribute

STRATEGIES = ("kfold", "leave-one-model-out", "leave-one-scenario-out", "leave-one-run-out")
#: The peers' splits: one fold each, some runs unused (extrapolation) or train only.
PEER_SPLITS = ("interpolation", "extrapolation")
ALL_STRATEGIES = STRATEGIES + PEER_SPLITS
#: Default fractions of models: (eval share for interpolation, (train, eval) shares for extrapolation).
INTERPOLATION_EVAL, EXTRAPOLATION_TRAIN, EXTRAPOLATION_EVAL = 0.25, 0.5, 0.3
NUM_EVAL_INSTANCES = "magnet.num_eval_instances"
NUM_REVEALED = "magnet.num_revealed_instances"
TARGET_NAMES = "magnet.target_names"
TARGET_SPLIT = "magnet.target_split"
#: Eval run_specs column under ``--reveal adaptive``: the run's revealed instance ids in the order asked.
REVEAL_ORDER = "magnet.reveal_order"


@dataclass(frozen=True)
class Fold:
    """One fold: which runs are train and which are eval."""

    strategy: str
    index: int
    label: str
    train_runs: tuple[str, ...]
    eval_runs: tuple[str, ...]


@dataclass
class PredictorInputs:
    """The five frames a predictor receives (plus train per-instance stats if it asks).

    A train frame may be stored as a :class:`Deferred`; reading the attribute gives its private copy.
    """

    train_run_specs_df: pd.DataFrame
    train_scenario_states_df: pd.DataFrame
    train_stats_df: pd.DataFrame
    eval_run_specs_df: pd.DataFrame
    eval_scenario_states_df: pd.DataFrame
    train_per_instance_stats_df: pd.DataFrame | None = None
    eval_per_instance_stats_df: pd.DataFrame | None = None

    def as_kwargs(self, with_per_instance: bool, with_eval_per_instance: bool = False) -> dict:
        kwargs = {k: getattr(self, k) for k in (
            "train_run_specs_df", "train_scenario_states_df", "train_stats_df",
            "eval_run_specs_df", "eval_scenario_states_df")}
        if with_per_instance:
            kwargs["train_per_instance_stats_df"] = self.train_per_instance_stats_df
        if with_eval_per_instance:
            kwargs["eval_per_instance_stats_df"] = self.eval_per_instance_stats_df
        return kwargs

    __getattribute__ = resolving_getattribute


def scenario_of(run_specs: pd.DataFrame) -> pd.Series:
    """The scenario configuration of each run (run name minus model and data augmentation)."""
    return scenario_label(run_specs).str.replace(r"\+.*$", "", regex=True)


def _stable_seed(*parts) -> int:
    return int(hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:16], 16)


def sibling_key(run_specs: pd.DataFrame) -> pd.Series:
    """Model + scenario configuration of each run: runs sharing it are data-augmented siblings.

    Siblings answer the same instances (a plain run and its perturbed variants), so a predictor that
    sees one of them in train has seen the eval run's answers in another form.

    Example:
        >>> specs = pd.DataFrame({"run_spec.name": ["boolq:model=a", "boolq:model=a,data_augmentation=typo"],
        ...                       "run_spec.adapter_spec.model": ["a", "a"]})
        >>> sibling_key(specs).nunique()
        1
    """
    return run_specs["run_spec.adapter_spec.model"].astype(str) + "\x1f" + scenario_of(run_specs)


def _sibling_kfold(run_specs: pd.DataFrame, n_folds: int, seed: int, keep_siblings: bool) -> dict[str, list[str]]:
    """kfold over sibling groups (or single runs): shuffled, each placed in the fold with the fewest runs so far."""
    runs = list(run_specs[RUN])
    keys = sibling_key(run_specs).tolist() if keep_siblings else runs
    members: dict[str, list[int]] = {}
    for j, key in enumerate(keys):
        members.setdefault(key, []).append(j)
    units = list(members.values())
    what = "sibling groups (model + scenario configuration)" if keep_siblings else "runs"
    if not 2 <= n_folds <= len(units):
        raise ValueError(f"kfold needs 2 <= n_folds <= number of {what} ({len(units)}), got {n_folds}")
    order = np.random.default_rng(_stable_seed("kfold", seed)).permutation(len(units))
    folds: list[list[int]] = [[] for _ in range(n_folds)]
    for u in order:
        smallest = min(range(n_folds), key=lambda i: len(folds[i]))
        folds[smallest].extend(units[u])
    return {f"fold {i + 1}/{n_folds}": [runs[j] for j in sorted(fold)] for i, fold in enumerate(folds)}


def make_folds(run_specs: pd.DataFrame, strategy: str, n_folds: int = 5, seed: int = 0,
               scores: pd.Series | None = None, eval_fraction: float | None = None,
               train_fraction: float | None = None, keep_siblings: bool = True) -> list[Fold]:
    """Split runs into folds; every run is an eval run in exactly one fold (at most one for ``PEER_SPLITS``).

    ``kfold`` keeps each run with its data-augmented siblings (same model and scenario configuration,
    :func:`sibling_key`) unless ``keep_siblings=False``. ``scores`` (main score per run name) is needed by ``extrapolation``; the
    fractions apply to ``interpolation`` / ``extrapolation`` (defaults above).

    Example:
        >>> specs = pd.DataFrame({"run_spec.name": [f"s:model=m{i}" for i in range(10)],
        ...                       "run_spec.adapter_spec.model": [f"m{i}" for i in range(10)]})
        >>> scores = pd.Series([i / 10 for i in range(10)], index=specs["run_spec.name"])
        >>> fold = make_folds(specs, "extrapolation", scores=scores)[0]
        >>> fold.train_runs[-1], fold.eval_runs
        ('s:model=m4', ('s:model=m7', 's:model=m8', 's:model=m9'))
        >>> len(make_folds(specs, "interpolation", seed=3)[0].eval_runs)
        2
    """
    if strategy not in ALL_STRATEGIES:
        raise ValueError(f"unknown split strategy {strategy!r}; expected one of {', '.join(ALL_STRATEGIES)}")
    runs = list(run_specs[RUN])
    if strategy in PEER_SPLITS:
        return [peer_split(run_specs, strategy, seed, scores, eval_fraction, train_fraction)]
    if strategy == "kfold":
        groups = _sibling_kfold(run_specs, n_folds, seed, keep_siblings)
    else:
        if strategy == "leave-one-model-out":
            keys = run_specs["run_spec.adapter_spec.model"].astype(str)
        elif strategy == "leave-one-scenario-out":
            keys = scenario_of(run_specs)
        else:
            keys = run_specs[RUN]
        groups = {}
        for run, key in zip(runs, keys):
            groups.setdefault(str(key), []).append(run)
    folds = []
    for i, (label, eval_runs) in enumerate(groups.items()):
        eval_set = set(eval_runs)
        folds.append(Fold(strategy, i, label, tuple(r for r in runs if r not in eval_set), tuple(eval_runs)))
    return folds


def _fraction(name: str, value: float) -> float:
    if not 0 < value < 1:
        raise ValueError(f"{name} must be between 0 and 1 (exclusive), got {value}")
    return float(value)


def peer_split(run_specs: pd.DataFrame, strategy: str, seed: int = 0, scores: pd.Series | None = None,
               eval_fraction: float | None = None, train_fraction: float | None = None) -> Fold:
    """The one fold of ``interpolation`` or ``extrapolation`` (see the module docstring); models stay whole."""
    models = run_specs["run_spec.adapter_spec.model"].astype(str).to_numpy()
    unique = list(dict.fromkeys(models))
    if len(unique) < 2:
        raise ValueError(f"{strategy} needs at least 2 models, got {len(unique)}")
    if strategy == "interpolation":
        share = _fraction("eval fraction", INTERPOLATION_EVAL if eval_fraction is None else eval_fraction)
        n_eval = min(max(1, int(share * len(unique))), len(unique) - 1)  # int(): benchpred's rounding
        order = np.random.default_rng(_stable_seed("interpolation", seed)).permutation(len(unique))
        eval_models, train_models = {unique[i] for i in order[:n_eval]}, {unique[i] for i in order[n_eval:]}
        label = f"interpolation {n_eval}/{len(unique)} models"
    else:
        if scores is None:
            raise ValueError("extrapolation needs each run's main score to rank the models")
        train_share = _fraction("train fraction", EXTRAPOLATION_TRAIN if train_fraction is None else train_fraction)
        eval_share = _fraction("eval fraction", EXTRAPOLATION_EVAL if eval_fraction is None else eval_fraction)
        if train_share + eval_share > 1:
            raise ValueError(f"train fraction + eval fraction must be <= 1, got {train_share} + {eval_share}")
        per_model = pd.Series(run_specs[RUN].map(scores).to_numpy(dtype=float), index=models).groupby(level=0).mean()
        per_model = per_model.reindex(unique)
        if per_model.isna().any():
            raise ValueError(f"extrapolation: model {per_model.index[per_model.isna()][0]!r} has no main score")
        ranked = list(per_model.sort_values(kind="stable").index)  # worst first
        n_train = max(1, int(train_share * len(ranked)))
        n_eval = max(1, int(eval_share * len(ranked)))
        if n_train + n_eval > len(ranked):
            raise ValueError(f"extrapolation needs more models than {len(ranked)} for these fractions")
        train_models, eval_models = set(ranked[:n_train]), set(ranked[len(ranked) - n_eval:])
        label = f"extrapolation bottom {n_train} -> top {n_eval} of {len(ranked)} models"
    runs = list(run_specs[RUN])
    return Fold(strategy, 0, label, tuple(r for r, m in zip(runs, models) if m in train_models),
                tuple(r for r, m in zip(runs, models) if m in eval_models))


def revealed_ids(instance_ids: list[str], num_eval_samples: float, seed: int, run: str) -> list[str]:
    """The revealed sample of one run: ``num_eval_samples`` instances (an int) or a fraction (0 < x < 1).

    Example:
        >>> len(revealed_ids([f"id{i}" for i in range(40)], 0.25, seed=0, run="r"))
        10
    """
    n = len(instance_ids)
    if isinstance(num_eval_samples, float) and 0 < num_eval_samples < 1:
        k = int(round(num_eval_samples * n))
    else:
        k = int(num_eval_samples)
    if k < 0:
        raise ValueError(f"num_eval_samples must be >= 0, got {num_eval_samples}")
    k = min(k, n)
    rng = np.random.default_rng(_stable_seed("reveal", seed, run))
    chosen = sorted(rng.choice(n, size=k, replace=False)) if k else []
    return [instance_ids[i] for i in chosen]


def reveal(corpus: Corpus, num_eval_samples: float = 10, seed: int = 0) -> dict[str, list[str]]:
    """The revealed instance ids of every run (the same in every fold)."""
    return {run: revealed_ids(ids, num_eval_samples, seed, run) for run, ids in corpus.eval_instances.items()}


class RevealSequence(dict):
    """Revealed instance ids per run **in the order the predictor asked for them** (``--reveal adaptive``).

    A plain ``dict`` of run -> ids for everything that reads revealed samples; :func:`fold_inputs` also
    hands the order to the predictor (column :data:`REVEAL_ORDER` of the eval run_specs).

    Example:
        >>> seq = RevealSequence({"r": ["i3", "i1"]})
        >>> seq["r"], isinstance(seq, dict)
        (['i3', 'i1'], True)
    """


#: the ``predictions.csv`` column of an adaptive run: its revealed instance ids in the order asked (a JSON list)
REVEAL_ORDER_COLUMN = "reveal_order"


def reveal_order_column(revealed: dict, runs) -> list:
    """Each run's revealed ids in the order asked, as a JSON list (``None`` unless ``revealed`` is a
    :class:`RevealSequence`): the audit column ``reveal_order`` of ``predictions.csv``.

    Example:
        >>> reveal_order_column(RevealSequence({"r": ["i3", "i1"]}), ["r", "s"])
        ['["i3", "i1"]', '[]']
        >>> reveal_order_column({"r": ["i1"]}, ["r"])
        [None]
    """
    import json

    if not isinstance(revealed, RevealSequence):
        return [None] * len(list(runs))
    return [json.dumps(list(revealed.get(run, []))) for run in runs]


def write_reveal_sequence(revealed: dict, path, budget, seed: int) -> None:
    """Write an adaptive run's :class:`RevealSequence` to ``path`` (``revealed.json`` in the run folder):
    ``{"reveal_mode": "adaptive", "budget": .., "seed": .., "runs": {run: [ids in the order asked]}}``.
    Nothing is written for the other reveal modes (their samples follow from the seed).

    Example:
        >>> import json, pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "revealed.json"
        >>> write_reveal_sequence(RevealSequence({"r": ["i3", "i1"]}), path, 2, 0)
        >>> json.loads(path.read_text())["runs"]
        {'r': ['i3', 'i1']}
    """
    import json
    from pathlib import Path

    if isinstance(revealed, RevealSequence):
        head = json.dumps({"reveal_mode": "adaptive", "budget": budget, "seed": seed})[:-1]
        runs = ",\n".join(f"  {json.dumps(run)}: {json.dumps(list(ids))}" for run, ids in revealed.items())
        Path(path).write_text(f'{head}, "runs": {{\n{runs}\n}}}}\n')  # one line per run


@dataclass
class AdaptiveState:
    """What a predictor's ``next_instances`` may see for one eval run under ``--reveal adaptive``.

    ``train``: the fold's :func:`selection_inputs` (train runs' run_specs, stats and per-instance stats;
    the eval runs' run_specs; candidates per scenario; no eval outcome); ``run_spec``: this run's row of
    the eval run_specs; ``revealed``: its instance ids revealed so far, in the order asked;
    ``per_instance_stats`` / ``scenario_states``: every per-instance stat and request state of those
    instances of this run only; ``seed``: a seed derived from the protocol's seed and the run name.
    Nothing of any other eval run is here: runs are independent.
    """

    run: str
    run_spec: pd.Series
    train: dict
    revealed: list
    per_instance_stats: pd.DataFrame
    scenario_states: pd.DataFrame
    seed: int


def check_adaptive(predictor) -> None:
    """Raise a one-line :class:`~magnet.errors.UserError` unless ``predictor`` can ask for instances
    (``--reveal adaptive`` needs its ``next_instances(state, candidates, remaining)`` method).

    Example:
        >>> from predictors.example_random_predictor import ExampleRandomPredictor
        >>> check_adaptive(ExampleRandomPredictor())
        Traceback (most recent call last):
        ...
        magnet.errors.UserError: --reveal adaptive: ExampleRandomPredictor has no next_instances(state, candidates, remaining) method to ask for instances with
    """
    from magnet.errors import UserError

    if not callable(getattr(predictor, "next_instances", None)):
        name = getattr(predictor, "name", None) or type(predictor).__name__
        raise UserError("--reveal adaptive", f"{name} has no next_instances(state, candidates, remaining) method "
                        "to ask for instances with",
                        hint="benchmark only adaptive predictors (--no-builtin --predictor "
                             "predictors.adaptive_testing:ActiveTesting), or use another --reveal mode")


def adaptive_reveal(corpus: Corpus, folds: list[Fold], budget: float, seed: int, predictor) -> RevealSequence:
    """Each eval run's revealed instances, asked for by ``predictor.next_instances(state, candidates,
    remaining)`` one call at a time (see :class:`AdaptiveState`), at most ``budget`` per run (an int, or a
    fraction of the run's instances).

    Every call sees only the train data and the outcomes of this run's instances revealed so far; it
    returns a non-empty list of at most ``remaining`` unrevealed candidate ids (anything else raises a
    ``ValueError`` naming the predictor: a request beyond the budget is refused). Runs are independent:
    each run starts from a fresh deep copy of ``predictor``, so nothing it learnt from one run's outcomes
    reaches another's choices. Runs of a fold share the fold's train inputs.
    """
    import copy

    name = type(predictor).__name__
    check_adaptive(predictor)
    pis, states = corpus.per_instance_stats, corpus.scenario_states
    out = RevealSequence()
    for fold in folds:
        train = selection_inputs(corpus, fold)
        specs = train["eval_run_specs_df"].set_index(RUN, drop=False)
        for run in fold.eval_runs:
            ids = list(corpus.eval_instances.get(run, []))
            k = len(revealed_ids(ids, budget, 0, run))
            run_pis = pis[pis[RUN] == run]
            run_states = states[states[RUN] == run]
            agent = copy.deepcopy(predictor)
            order: list[str] = []
            while len(order) < k:
                seen = set(order)
                state = AdaptiveState(
                    run=run, run_spec=specs.loc[run].copy(), train=train, revealed=list(order),
                    per_instance_stats=_private(run_pis[run_pis[PIS + "instance_id"].isin(seen)]),
                    scenario_states=_private(run_states[[i in seen for i in _column(run_states, STATE + "instance.id")]]),
                    seed=_stable_seed("adaptive", seed, run) % 2 ** 32)
                remaining = k - len(order)
                asked = agent.next_instances(state, [i for i in ids if i not in seen], remaining)
                asked = list(asked) if isinstance(asked, (list, tuple)) else None
                if not asked:
                    raise ValueError(f"{name}.next_instances must return a non-empty list of instance ids "
                                     f"(run {run}, {remaining} left of a budget of {k})")
                if len(asked) > remaining:
                    raise ValueError(f"{name}.next_instances asked for {len(asked)} instances of run {run} "
                                     f"with {remaining} left of a budget of {k}: refused")
                bad = [i for i in asked if i in seen or i not in set(ids) or asked.count(i) > 1]
                if bad:
                    raise ValueError(f"{name}.next_instances asked for {bad[0]!r} in run {run}: not an unrevealed "
                                     f"instance of the run (or asked twice)")
                order += asked
            out[run] = order
    return out


def _private(df: pd.DataFrame) -> pd.DataFrame:
    """A copy sharing no mutable object with ``df``, down to the lists inside object cells (:mod:`.private_copy`)."""
    return private_copy(df)


def fold_inputs(corpus: Corpus, fold: Fold, revealed: dict[str, list[str]], with_per_instance: bool = False,
                with_eval_per_instance: bool = False) -> PredictorInputs:
    """What a predictor may see for one fold (see the module docstring)."""
    train, evals = set(fold.train_runs), set(fold.eval_runs)
    if train & evals:
        raise AssertionError("a run is both train and eval")  # make_folds never does this
    rs = corpus.run_specs
    eval_specs = rs[rs[RUN].isin(evals)].copy()
    counts = corpus.num_eval_instances()
    eval_specs[NUM_EVAL_INSTANCES] = eval_specs[RUN].map(counts).fillna(0).astype(int)
    eval_specs[NUM_REVEALED] = eval_specs[RUN].map(lambda r: len(revealed.get(r, []))).astype(int)
    wanted = corpus.targets.drop_duplicates([RUN, "target.name"]).groupby(RUN)
    names, splits = wanted["target.name"].agg(list), wanted["target.split"].first()
    eval_specs[TARGET_NAMES] = eval_specs[RUN].map(lambda r: list(names.get(r, [])))
    eval_specs[TARGET_SPLIT] = eval_specs[RUN].map(splits)
    if isinstance(revealed, RevealSequence):
        eval_specs[REVEAL_ORDER] = eval_specs[RUN].map(lambda r: list(revealed.get(r, [])))
    states = corpus.scenario_states
    revealed_pairs = {(run, i) for run in evals for i in revealed.get(run, [])}
    in_eval = states[RUN].isin(evals)
    eval_states = states[in_eval]
    keep = [pair in revealed_pairs for pair in zip(eval_states[RUN], _column(eval_states, STATE + "instance.id"))]
    pis = corpus.per_instance_stats
    return PredictorInputs(
        train_run_specs_df=_private(rs[rs[RUN].isin(train)]),
        train_scenario_states_df=Deferred(states[states[RUN].isin(train)]),
        train_stats_df=Deferred(corpus.stats[corpus.stats[RUN].isin(train)]),
        eval_run_specs_df=_private(eval_specs),
        eval_scenario_states_df=_private(eval_states[keep]),
        train_per_instance_stats_df=Deferred(pis[pis[RUN].isin(train)]) if with_per_instance else None,
        eval_per_instance_stats_df=_revealed_rows(pis, evals, revealed_pairs) if with_eval_per_instance else None,
    )


def _column(df: pd.DataFrame, name: str):
    """A column's values, or Nones when the table lacks it (e.g. a suite without any request states)."""
    return df[name] if name in df else [None] * len(df)


def _revealed_rows(pis: pd.DataFrame, evals: set, revealed_pairs: set) -> pd.DataFrame:
    """The per-instance stats of the revealed instances of the eval runs (every stat of them)."""
    pis = pis[pis[RUN].isin(evals)]
    if PIS + "instance_id" not in pis:  # a suite without any per-instance stats: an empty table
        return _private(pis)
    return _private(pis[[pair in revealed_pairs for pair in zip(pis[RUN], pis[PIS + "instance_id"])]])


def selection_inputs(corpus: Corpus, fold: Fold) -> dict:
    """What a predictor's ``select_instances`` may see for one fold: the train runs' run_specs, stats and
    per-instance stats, the eval runs' run_specs (with ``magnet.num_eval_instances``, ``magnet.target_names``
    and ``magnet.target_split``) and, per scenario, the candidate
    instance ids (the eval instances of its eval runs). No eval outcome, no eval request state.
    """
    train, evals = set(fold.train_runs), set(fold.eval_runs)
    rs = corpus.run_specs
    eval_specs = rs[rs[RUN].isin(evals)].copy()
    eval_specs[NUM_EVAL_INSTANCES] = eval_specs[RUN].map(corpus.num_eval_instances()).fillna(0).astype(int)
    wanted = corpus.targets.drop_duplicates([RUN, "target.name"]).groupby(RUN)
    names, splits = wanted["target.name"].agg(list), wanted["target.split"].first()
    eval_specs[TARGET_NAMES] = eval_specs[RUN].map(lambda r: list(names.get(r, [])))
    eval_specs[TARGET_SPLIT] = eval_specs[RUN].map(splits)
    candidates: dict[str, list[str]] = {}
    for run, scenario in zip(eval_specs[RUN], scenario_of(eval_specs)):
        candidates.setdefault(scenario, [])
        candidates[scenario] += corpus.eval_instances.get(run, [])
    pis = corpus.per_instance_stats
    return {
        "train_run_specs_df": _private(rs[rs[RUN].isin(train)]),
        "train_stats_df": _private(corpus.stats[corpus.stats[RUN].isin(train)]),
        "train_per_instance_stats_df": _private(pis[pis[RUN].isin(train)]),
        "eval_run_specs_df": _private(eval_specs),
        "candidates": {k: list(dict.fromkeys(v)) for k, v in candidates.items()},
    }
