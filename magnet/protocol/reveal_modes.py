"""Where the revealed instances of the eval runs come from: ``per-run``, ``shared`` or ``predictor``.

* ``per-run`` (default): each run its own random sample (:func:`magnet.protocol.splits.reveal`);
* ``shared``: one random set of k instances per scenario configuration, the
  same for every run of it (the peers' *coreset*); a run reveals those of
  them it has;
* ``predictor``: the predictor's optional ``select_instances`` method chooses
  the k instances of each scenario, per fold, from
  :func:`magnet.protocol.splits.selection_inputs` only (train runs' data, eval
  runs' run_specs, candidate ids): it is called before the predictor sees any
  eval outcome. A predictor without the method gets the ``shared`` coreset.
* ``adaptive``: for each eval run, the predictor's ``next_instances(state, candidates, remaining)`` asks
  for instances one call at a time, seeing the outcomes of the ones it asked for so far, up to the
  budget (``num_eval_samples``) per run (:func:`magnet.protocol.splits.adaptive_reveal`); the revealed
  ids keep the order asked (:class:`magnet.protocol.splits.RevealSequence`).

``select_instances(train_run_specs_df, train_stats_df, train_per_instance_stats_df, eval_run_specs_df,
candidates, k, seed)`` returns ``{scenario: [instance ids]}`` (at most k each, from ``candidates``).

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> from magnet.protocol.corpus import Corpus
    >>> from magnet.protocol.splits import make_folds
    >>> corpus = Corpus.load(HelmOutputs.demo(preset="small"))
    >>> folds = make_folds(corpus.run_specs, "leave-one-model-out")
    >>> revealed = reveal_for(corpus, folds, "shared", 5, seed=0)
    >>> runs = corpus.run_specs["run_spec.name"][:2].tolist()
    >>> [len(revealed[r]) for r in runs]
    [5, 5]
"""

from __future__ import annotations

import numpy as np

from magnet.protocol.corpus import RUN, Corpus
from magnet.protocol.splits import (Fold, _stable_seed, adaptive_reveal, reveal, revealed_ids, scenario_of,
                                    selection_inputs)

REVEAL_MODES = ("per-run", "shared", "predictor", "adaptive")


def _k(num_eval_samples, n: int) -> int:
    return len(revealed_ids([str(i) for i in range(n)], num_eval_samples, 0, ""))


def shared_reveal(corpus: Corpus, num_eval_samples: float, seed: int) -> dict[str, list[str]]:
    """One random coreset per scenario configuration; every run reveals the coreset instances it has."""
    by_scenario: dict[str, list[str]] = {}
    runs = list(corpus.run_specs[RUN])
    scenarios = dict(zip(runs, scenario_of(corpus.run_specs)))
    for run in runs:
        by_scenario.setdefault(scenarios[run], []).extend(corpus.eval_instances.get(run, []))
    coreset = {}
    for scenario, ids in by_scenario.items():
        ids = list(dict.fromkeys(ids))
        k = _k(num_eval_samples, len(ids))
        rng = np.random.default_rng(_stable_seed("shared", seed, scenario))
        coreset[scenario] = {ids[i] for i in rng.choice(len(ids), size=k, replace=False)} if k else set()
    return {run: [i for i in ids if i in coreset.get(scenarios[run], set())]
            for run, ids in corpus.eval_instances.items()}


def predictor_reveal(corpus: Corpus, folds: list[Fold], num_eval_samples: float, seed: int,
                     predictor) -> dict[str, list[str]]:
    """The predictor chooses each fold's coreset from the fold's selection inputs (module docstring)."""
    revealed: dict[str, list[str]] = {}
    for fold in folds:
        inputs = selection_inputs(corpus, fold)
        candidates = inputs["candidates"]
        k = max((_k(num_eval_samples, len(v)) for v in candidates.values()), default=0)
        chosen = predictor.select_instances(**inputs, k=k, seed=seed)
        if not isinstance(chosen, dict):
            raise ValueError(f"{type(predictor).__name__}.select_instances must return a dict scenario -> ids, "
                             f"got {type(chosen).__name__}")
        sets = {}
        for scenario, ids in chosen.items():
            allowed = set(candidates.get(scenario, []))
            ids = list(dict.fromkeys(ids))
            bad = [i for i in ids if i not in allowed]
            if bad or scenario not in candidates:
                raise ValueError(f"{type(predictor).__name__}.select_instances chose {bad[:1] or [scenario]!r} "
                                 f"which is not a candidate of scenario {scenario!r}")
            if len(ids) > _k(num_eval_samples, len(allowed)):
                raise ValueError(f"{type(predictor).__name__}.select_instances chose {len(ids)} instances of "
                                 f"{scenario!r}, more than k = {_k(num_eval_samples, len(allowed))}")
            sets[scenario] = set(ids)
        for run, scenario in zip(inputs["eval_run_specs_df"][RUN], scenario_of(inputs["eval_run_specs_df"])):
            revealed[run] = [i for i in corpus.eval_instances.get(run, []) if i in sets.get(scenario, set())]
    return revealed


def reveal_for(corpus: Corpus, folds: list[Fold], mode: str, num_eval_samples: float, seed: int,
               predictor=None) -> dict[str, list[str]]:
    """The revealed instance ids of every run under ``mode`` (see the module docstring)."""
    if mode not in REVEAL_MODES:
        raise ValueError(f"unknown reveal mode {mode!r}; expected one of {', '.join(REVEAL_MODES)}")
    if mode == "per-run":
        return reveal(corpus, num_eval_samples, seed)
    if mode == "adaptive":
        return adaptive_reveal(corpus, folds, num_eval_samples, seed, predictor)
    if mode == "predictor" and callable(getattr(predictor, "select_instances", None)):
        return predictor_reveal(corpus, folds, num_eval_samples, seed, predictor)
    return shared_reveal(corpus, num_eval_samples, seed)


def main_scores(corpus: Corpus):
    """Each run's main (unperturbed) target value, indexed by run name: what ``extrapolation`` ranks by."""
    t = corpus.targets
    main = t[t["target.key"] == t["target.name"]]
    return main.groupby(RUN, sort=False)["stats.mean"].mean()
