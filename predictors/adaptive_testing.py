"""Adaptive-reveal predictors (``--reveal adaptive --budget K``): each eval run's next instance is chosen
from the outcomes it revealed so far (array functions in ``predictors/_adaptive.py``).

* :class:`ActiveTesting`: draws the next instance with probability proportional to the 2PL surrogate's
  expected residual spread ``sqrt(f (1 - f))`` (plus a uniform share), the surrogate refitted to the run's
  ability after every answer; predicts with the sequential difference estimator, unbiased whatever
  the surrogate's errors (the sampling probabilities are replayed from the recorded order).
* :class:`PrototypeTesting` (the declared one): the train runs as prototypes, reweighted after every
  answer; the next instance is the one that most reduces the expected variance of the score; a model-based
  estimate chosen per regime by simulating the protocol inside the train runs.
* :class:`AdaptiveIrt`: computerized adaptive testing: the instance of largest Fisher information at
  the run's current MAP ability; predicts the revealed outcomes plus the curve on the rest, corrected by
  the mean revealed residual.

The 2PL item parameters are fitted on the train runs of the eval run's scenario only (remembered per
train matrix, so the runs of a fold share one fit).

Example:
    >>> import tempfile, numpy as np
    >>> from magnet.backends.matrix.import_scores import import_scores
    >>> from magnet.protocol.corpus import Corpus
    >>> from magnet.protocol.runner import run_protocol
    >>> rng = np.random.default_rng(0)
    >>> ability = np.linspace(-2, 2, 16)
    >>> m = (rng.random((16, 120)) < 1 / (1 + np.exp(-(ability[:, None] - rng.normal(size=120))))).astype(float)
    >>> out = tempfile.mkdtemp()
    >>> _ = import_scores(m, out, scenario="toy", metric="exact_match")
    >>> corpus = Corpus.load(out, errors="skip")
    >>> res = run_protocol(PrototypeTesting(), corpus, split="interpolation", num_eval_samples=10,
    ...                    reveal_mode="adaptive", progress=False)
    >>> [f.status for f in res.folds], len(res.predictions), sorted(len(v) for v in res.revealed.values())[-1]
    (['ok'], 4, 10)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from magnet.helm_objects import make_stat
from magnet.predictor import Predictor
from magnet.protocol.splits import REVEAL_ORDER, TARGET_NAMES, TARGET_SPLIT, scenario_of
from predictors import _adaptive
from predictors._matrix import _remember
from predictors._score_matrix_inputs import P, _main_rows, source_matrix

RUN = "run_spec.name"
_FITS: dict = {}


_CHOICES: dict = {}


def _key(values: np.ndarray) -> tuple:
    return values.shape, hash(values.tobytes())


def _fit(source: pd.DataFrame, policy: str = "active"):
    values = source.to_numpy(dtype=float)
    if policy == "proto":
        return _remember(_FITS, ("proto",) + _key(values), lambda: _adaptive.fit_prototypes(values))
    return _remember(_FITS, _key(values), lambda: _adaptive.fit_source(values))


def _choice(source: pd.DataFrame, budget: int, seed: int) -> dict:
    values = source.to_numpy(dtype=float)
    return _remember(_CHOICES, _key(values) + (budget, seed),
                     lambda: _adaptive.choose_estimates(values, budget, seed))


def _stat_split(spec) -> tuple[str, str]:
    names = spec[TARGET_NAMES]
    return (names[0] if len(names) else "exact_match"), (spec[TARGET_SPLIT] or "test")


def _values(pis: pd.DataFrame, stat: str, split: str) -> pd.Series:
    rows = _main_rows(pis, stat, split)
    return rows.groupby(P + "instance_id")[P + "stats.mean"].mean()


class AdaptivePredictor(Predictor):
    """Base: ``policy`` picks the next instance, ``estimate`` predicts from the revealed sequence."""

    policy = "active"
    estimate = "active"

    def __init__(self, seed: int = 0):
        self.seed = seed

    def _source(self, train: dict, spec) -> pd.DataFrame:
        stat, split = _stat_split(spec)
        specs = train["train_run_specs_df"]
        scen = scenario_of(specs).to_numpy()
        runs = specs[RUN].to_numpy()[scen == scenario_of(pd.DataFrame([spec])).iloc[0]]
        return source_matrix(train["train_per_instance_stats_df"], stat, split, runs)

    def next_instances(self, state, candidates, remaining):
        """The next instance to reveal for ``state.run`` (one per call)."""
        source = self._source(state.train, state.run_spec)
        col = {c: j for j, c in enumerate(source.columns)}
        usable = [c for c in candidates if c in col]
        if len(source) < 2 or not usable:
            return [candidates[np.random.default_rng(state.seed + len(state.revealed)).integers(len(candidates))]]
        stat, split = _stat_split(state.run_spec)
        vals = _values(state.per_instance_stats, stat, split)
        known = [i for i in state.revealed if i in col and i in vals.index]
        fit = _fit(source, self.policy)
        order = [col[i] for i in known]
        rng = np.random.default_rng([state.seed, len(state.revealed)])
        j = _adaptive.next_item(fit, order, vals.loc[known].to_numpy(dtype=float), self.policy, rng)
        chosen = source.columns[j]
        return [chosen if chosen in set(usable) else usable[0]]

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df, eval_run_specs_df,
                eval_scenario_states_df, train_per_instance_stats_df=None, eval_per_instance_stats_df=None):
        train = {"train_run_specs_df": train_run_specs_df, "train_per_instance_stats_df": train_per_instance_stats_df}
        out = {}
        for _, spec in eval_run_specs_df.iterrows():
            stat, split = _stat_split(spec)
            source = self._source(train, spec)
            col = {c: j for j, c in enumerate(source.columns)}
            vals = _values(eval_per_instance_stats_df[eval_per_instance_stats_df[RUN] == spec[RUN]], stat, split)
            asked = spec[REVEAL_ORDER] if REVEAL_ORDER in spec.index else list(vals.index)
            known = [i for i in asked if i in col and i in vals.index]
            if len(source) < 2:
                value = float(vals.mean()) if len(vals) else np.nan
            elif not known:
                value = float(source.to_numpy(dtype=float).mean())
            else:
                fit = _fit(source, self.policy)
                order, y = [col[i] for i in known], vals.loc[known].to_numpy(dtype=float)
                if self.estimate == "proto":
                    value = _adaptive.proto_estimate(fit, order, y, _choice(source, len(order), self.seed))
                else:
                    fn = _adaptive.ESTIMATES[self.estimate]
                    value = fn(fit, order, y, self.policy) if self.estimate.startswith("active") else fn(fit, order, y)
            out[spec[RUN]] = [make_stat(f"predicted_{stat}", float(np.clip(value, 0, 1)), split=split)]
        return out


class ActiveTesting(AdaptivePredictor):
    """Active testing: surrogate-proportional draws, unbiased sequential difference estimate."""

    policy, estimate = "active", "active"


class PrototypeTesting(AdaptivePredictor):
    """Prototype testing: the train runs' complete rows as prototypes of the eval run. After every answer the
    prototypes are reweighted by the likelihood of the run's revealed outcomes; the next instance is the one
    whose answer most reduces the expected variance of the prototypes' mean score. The estimate is, per
    regime (over half the posterior on the strongest fifth of the train runs, i.e. the run looks beyond
    them, or not), the candidate of ``_adaptive.proto_candidates`` (prototype plug-in, 2PL with or without
    the residual correction, their average) that did best when the protocol was simulated inside the train
    runs only (``_adaptive.choose_estimates``). Not unbiased: a model-based estimate, chosen on train data.

    Example:
        >>> import numpy as np
        >>> from predictors import _adaptive
        >>> rng = np.random.default_rng(0)
        >>> th = np.linspace(-2, 2, 40)
        >>> S = (rng.random((40, 200)) < 1 / (1 + np.exp(-(th[:, None] - rng.normal(size=200))))).astype(float)
        >>> pf = _adaptive.fit_prototypes(S[::2])
        >>> order, y = _adaptive.simulate_proto(pf, S[21], 30)
        >>> est = _adaptive.proto_estimate(pf, order, y, _adaptive.choose_estimates(S[::2], 30))
        >>> bool(abs(est - S[21].mean()) < 0.1)
        True
    """

    policy, estimate = "proto", "proto"


class AdaptiveIrt(AdaptivePredictor):
    """IRT adaptive testing: most informative instance next, 2PL estimate with residual correction."""

    policy, estimate = "cat", "cat"
