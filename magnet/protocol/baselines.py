"""Early-signal baselines, computed by magnet from data it holds back from predictors.

A baseline is a function ``(corpus, revealed) -> DataFrame`` with one row per
(run, target variant): columns ``run_spec.name``, ``target.key``, ``value``.
They are registered by name:

* ``revealed_mean``: the mean of the target over the eval run's revealed
  instances, from the *true* per-instance stats of exactly those instances;
* ``revealed_loss``: the mean negative log-probability of the revealed
  completions (the literal "early loss"); only where runs recorded logprobs.

The MBE check controls for these (see :mod:`magnet.stats.mbe`).

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> from magnet.protocol.corpus import Corpus
    >>> from magnet.protocol.splits import reveal
    >>> corpus = Corpus.load(HelmOutputs.demo(preset="small"))
    >>> b = compute_baselines(corpus, reveal(corpus, 5), ["revealed_mean", "revealed_loss"])
    >>> sorted(b.columns)
    ['revealed_loss', 'revealed_mean', 'run_spec.name', 'target.key']
    >>> bool((b["revealed_loss"] > 0).all())
    True
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from magnet.protocol.corpus import RUN, STATE, Corpus

BASELINES: dict[str, Callable] = {}
DEFAULT_BASELINES = ("revealed_mean", "revealed_loss")


def register_baseline(name: str):
    """Decorator: make a baseline function available by ``name``."""
    def wrap(fn):
        BASELINES[name] = fn
        return fn
    return wrap


def _revealed_pairs(revealed: dict[str, list[str]]) -> pd.DataFrame:
    return pd.DataFrame([(run, i) for run, ids in revealed.items() for i in ids], columns=[RUN, "instance_id"])


@register_baseline("revealed_mean")
def revealed_mean(corpus: Corpus, revealed: dict[str, list[str]]) -> pd.DataFrame:
    """Mean true per-instance value over the revealed instances, per (run, target variant)."""
    values = corpus.instance_values.merge(_revealed_pairs(revealed), on=[RUN, "instance_id"])
    out = values.groupby([RUN, "target.key"], sort=False)["value"].mean().rename("value").reset_index()
    return out


@register_baseline("revealed_loss")
def revealed_loss(corpus: Corpus, revealed: dict[str, list[str]]) -> pd.DataFrame:
    """Mean negative logprob of the first completion of each revealed request state, per run."""
    states = corpus.scenario_states
    if STATE + "instance.id" not in states:  # no request states at all (e.g. an imported score matrix)
        return pd.DataFrame(columns=[RUN, "target.key", "value"])
    pairs = set(_revealed_pairs(revealed).itertuples(index=False, name=None))
    keep = [p in pairs for p in zip(states[RUN], states[STATE + "instance.id"])]
    s = states[keep]
    logprob = [c[0].get("logprob") if isinstance(c, list) and c else np.nan
               for c in s[STATE + "result.completions"]]
    per_run = pd.Series(-np.asarray(logprob, dtype=float), index=s[RUN].to_numpy()).groupby(level=0).mean()
    if not len(per_run) or np.allclose(per_run.fillna(0).to_numpy(), 0):
        return pd.DataFrame(columns=[RUN, "target.key", "value"])  # no logprobs recorded
    keys = corpus.targets[[RUN, "target.key"]].drop_duplicates()
    return keys.assign(value=keys[RUN].map(per_run)).dropna(subset=["value"])


def compute_baselines(corpus: Corpus, revealed: dict[str, list[str]], names=DEFAULT_BASELINES) -> pd.DataFrame:
    """All requested baselines side by side: columns run, target.key and one per baseline with data."""
    out = corpus.targets[[RUN, "target.key"]].drop_duplicates().reset_index(drop=True)
    for name in names:
        if name not in BASELINES:
            raise ValueError(f"unknown baseline {name!r}; registered: {sorted(BASELINES)}")
        b = BASELINES[name](corpus, revealed)
        if len(b):
            out = out.merge(b.rename(columns={"value": name}), on=[RUN, "target.key"], how="left")
    return out
