"""What card code sees: the inputs, data loaders, benchmark helpers and the three-valued decisions.

Every ``python`` symbol and the ``claim`` run with these names bound (the
*card namespace*), besides Python's builtins and the symbols they depend on:

===================== =====================================================================
``inputs``            the resolved inputs (dict; see the card schema): ``benchmark_output``
                      (absolute path or None = demo), ``demo_preset``, ``suite``, ``stats``,
                      ``split``, ``n_folds``, ``num_eval_samples``, ``seed``, ``n_boot``
``tolerance``         the card's ``tolerance`` (default 0)
``card_dir``          the directory of the card file (``pathlib.Path``)
``outputs()``         the :class:`~magnet.backends.helm.outputs.HelmOutputs` of the inputs
``corpus()``          the :class:`~magnet.protocol.corpus.Corpus` of the inputs (loaded once per process)
``main_scores()``     one row per run: its main (unperturbed) target value; see :func:`main_scores`
``run_benchmark(ps)`` :func:`magnet.protocol.benchmark.benchmark` of predictors ``ps`` (``"module:Class"``
                      strings or instances) on ``corpus()`` with the inputs' split,
                      num_eval_samples, seed, n_folds, n_boot (keywords override)
``leaderboard_row``   :func:`leaderboard_row` (one row of a Leaderboard)
``paired_mae_diff``   :func:`paired_mae_diff`: MAE(a) - MAE(b) on the same runs, cluster-bootstrap CI
``spearman_ci``       :func:`spearman_ci`: Spearman rho with a Fisher or bootstrap CI
``bootstrap_ci``      :func:`magnet.stats.bootstrap.bootstrap_ci`; ``fisher_ci``: :func:`magnet.stats.mbe.fisher_ci`
``decide``, ``ci_above``, ``ci_below``, ``Undecided``, ``all_of``, ``any_of``, ``not_``,
``Estimate``, ``require``, ``MissingData``: :mod:`magnet.evaluation.logic`
``approx(a, b)``      ``|a - b| <= tolerance``
``np``, ``pd``, ``math``  numpy, pandas, math
===================== =====================================================================

The module-level functions here take their data explicitly, so a ``ref``
symbol can call them (``ref: magnet.evaluation.namespace:main_scores`` with
``args: {corpus: $corpus}``).

Example:
    >>> import pandas as pd
    >>> e = spearman_ci([1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5])
    >>> round(e.value, 3), [round(x, 2) for x in e.ci]
    (0.829, [0.05, 0.98])
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from magnet.evaluation.logic import (
    Estimate, MissingData, Undecided, all_of, any_of, approx, ci_above, ci_below, decide, not_, require,
)
from magnet.backends.helm.errors import HelmOutputError
from magnet.backends.helm.outputs import HelmOutputs
from magnet.errors import UserError
from magnet.sources import only_suite, open_outputs
from magnet.predictor import load_predictor
from magnet.protocol.benchmark import benchmark
from magnet.protocol.corpus import Corpus
from magnet.protocol.splits import scenario_of
from magnet.stats.bootstrap import bootstrap_ci
from magnet.stats.mbe import fisher_ci

RUN = "run_spec.name"
MODEL = "run_spec.adapter_spec.model"

#: Names bound in every card namespace (a symbol may not use one of these names).
NAMESPACE_NAMES = (
    "inputs", "tolerance", "card_dir", "outputs", "corpus", "main_scores", "run_benchmark", "leaderboard_row",
    "paired_mae_diff", "spearman_ci", "bootstrap_ci", "fisher_ci", "decide", "ci_above", "ci_below",
    "Undecided", "all_of", "any_of", "not_", "Estimate", "require", "MissingData", "approx", "np", "pd", "math",
)

DEFAULT_INPUTS = {
    "benchmark_output": None, "demo_preset": "default", "suite": None, "stats": None,
    "split": "leave-one-model-out", "n_folds": 5, "num_eval_samples": 10, "seed": 0, "n_boot": 1000,
}

_CACHE: dict = {}


def load_outputs(benchmark_output=None, demo_preset: str = "default", suite: str | None = None):
    """HelmOutputs of a path (or the demo corpus when None), optionally one suite; MissingData if unreadable."""

    try:  # HELM output, or Inspect / lm-eval / EEE results (format detected)
        outputs = HelmOutputs.demo(preset=demo_preset) if benchmark_output is None \
            else open_outputs(benchmark_output)
    except (HelmOutputError, UserError, OSError) as e:
        raise MissingData(f"cannot read benchmark_output {benchmark_output}: {e}") from e
    if suite:
        try:
            outputs = only_suite(outputs, suite)
        except HelmOutputError:
            raise MissingData(f"no suite {suite!r} in {outputs.root}; suites: {[s.name for s in outputs.suites()]}") \
                from None
    return outputs


def load_corpus(benchmark_output=None, demo_preset: str = "default", suite: str | None = None,
                stats: list[str] | None = None):
    """The :class:`~magnet.protocol.corpus.Corpus` of :func:`load_outputs` (cached per process)."""

    key = ("corpus", str(benchmark_output), demo_preset, suite, tuple(stats or ()))
    if key not in _CACHE:
        outputs = load_outputs(benchmark_output, demo_preset, suite)
        try:
            _CACHE[key] = Corpus.load(outputs, stat_names=list(stats) if stats else None)
        except HelmOutputError as e:
            raise MissingData(f"cannot load the corpus: {e}") from e
    return _CACHE[key]


def main_scores(corpus, augmented: bool = False):
    """One row per run: its main, unperturbed target value.

    Columns: ``run_spec.name``, ``model``, ``scenario`` (run name without model
    and augmentation, :func:`magnet.protocol.splits.scenario_of`), ``augmentation``
    (``data_augmentation=`` of the run name, or None), ``target.name``,
    ``value`` (``stats.mean``). Runs with a data augmentation have the same
    main value as their plain twin, so they are left out unless ``augmented``.
    """
    import pandas as pd


    t = corpus.targets
    main = t[t["target.key"] == t["target.name"]].drop_duplicates(RUN)
    specs = corpus.run_specs.set_index(RUN)
    scenario = pd.Series(scenario_of(corpus.run_specs).to_numpy(), index=corpus.run_specs[RUN])
    names = main[RUN].astype(str)
    out = pd.DataFrame({
        RUN: names.to_numpy(),
        "model": names.map(specs[MODEL]).to_numpy(),
        "scenario": names.map(scenario).to_numpy(),
        "augmentation": names.str.extract(r"data_augmentation=([^,]*)")[0].to_numpy(),
        "target.name": main["target.name"].to_numpy(),
        "value": main["stats.mean"].astype(float).to_numpy(),
    })
    out["augmentation"] = out["augmentation"].astype(object).where(out["augmentation"].notna(), None)
    if not augmented:
        out = out[out["augmentation"].isna()]
    return out.sort_values(["scenario", "model"]).reset_index(drop=True)


def leaderboard_row(board, predictor: str, split: str | None = None, stat: str = "main"):
    """The :class:`~magnet.protocol.benchmark.LeaderboardRow` of ``predictor`` (its name) in ``board``.

    ``split`` may be omitted when the board has one split. MissingData when absent.
    """
    rows = [r for r in board.rows if r.predictor == predictor and r.stat == stat
            and (split is None or r.split == split)]
    if split is None and len({r.split for r in rows}) > 1:
        raise ValueError(f"{predictor} has rows for several splits {sorted({r.split for r in rows})}; give split=")
    if not rows:
        have = sorted({(r.predictor, r.split) for r in board.rows if r.stat == stat})
        raise MissingData(f"no {stat!r} leaderboard row for predictor {predictor!r}"
                          f"{' split ' + repr(split) if split else ''}; rows: {have}")
    return rows[0]


def _errors(j, name: str):
    """Absolute errors of predictor ``name`` (or of a baseline column such as ``revealed_mean``), by run and key."""
    predictors = set(j["predictor"]) if len(j) else set()
    if name in predictors:
        rows = j[j["predictor"] == name]
        err = (rows["predicted"] - rows["actual"]).abs()
    elif name in j.columns and name not in ("predicted", "actual", RUN, "target.key", "model"):
        rows = j.drop_duplicates([RUN, "target.key"])
        err = (rows[name].astype(float) - rows["actual"]).abs()
    else:
        raise MissingData(f"{name!r} is neither a predictor on the board {sorted(predictors)} "
                          f"nor a baseline column (e.g. revealed_mean)")
    rows = rows.assign(err=err.astype(float))
    rows = rows[np.isfinite(rows["err"])]
    return rows.set_index([RUN, "target.key"])[["err", "model"]]


def paired_mae_diff(board, a: str, b: str, split: str | None = None, stat: str = "main",
                    n_boot: int = 1000, seed: int = 0) -> Estimate:
    """MAE of ``a`` minus MAE of ``b`` on the runs both predicted, with a 95% CI. Negative = ``a`` is better.

    ``a`` and ``b`` are predictor names on ``board`` or baseline columns of
    ``board.joined`` (``revealed_mean``: the revealed-sample mean magnet
    computes from the true per-instance stats). The CI is a cluster bootstrap
    over models of the paired per-run error differences (runs of one model
    are not independent), much tighter than comparing the two MAE intervals.
    """

    j = board.joined
    if split is None:
        splits = sorted(j["split"].unique()) if len(j) else []
        if len(splits) > 1:
            raise ValueError(f"the board has several splits {splits}; give split=")
    else:
        j = j[j["split"] == split]
    j = j[j["target.key"] == j["target.name"]] if stat == "main" else j[j["target.key"] == stat]
    ea, eb = _errors(j, a), _errors(j, b)
    common = ea.index.intersection(eb.index)
    if len(common) < 2:
        raise MissingData(f"fewer than 2 runs predicted by both {a!r} and {b!r}")
    d = (ea.loc[common, "err"] - eb.loc[common, "err"]).to_numpy(dtype=float)
    groups = ea.loc[common, "model"].astype(str).to_numpy()
    ci = bootstrap_ci(lambda idx: float(d[idx].mean()), len(d), groups=groups, n_boot=n_boot, seed=seed)
    return Estimate(float(d.mean()), ci, f"MAE({a}) - MAE({b})")


def spearman_ci(x, y, method: str = "fisher", n_boot: int = 1000, seed: int = 0, groups=None,
                label: str | None = None) -> Estimate:
    """Spearman rho of paired values with a 95% CI: ``"fisher"`` (z interval) or ``"bootstrap"`` (percentile).

    Pairs with a NaN are dropped. With fewer than 4 pairs the interval is NaN
    (which :func:`decide` treats as missing data).
    """
    from scipy import stats


    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = len(x)
    nan = float("nan")
    if n < 4 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return Estimate(nan, (nan, nan), label)
    rho = float(stats.spearmanr(x, y)[0])
    if method == "fisher":
        ci = tuple(float(v) for v in fisher_ci(rho, n))
    elif method == "bootstrap":
        def stat(idx):
            a, b = x[idx], y[idx]
            return nan if np.ptp(a) == 0 or np.ptp(b) == 0 else float(stats.spearmanr(a, b)[0])
        g = None if groups is None else np.asarray(groups)[ok]
        ci = bootstrap_ci(stat, n, groups=g, n_boot=n_boot, seed=seed)
    else:
        raise ValueError(f"method must be 'fisher' or 'bootstrap', got {method!r}")
    return Estimate(rho, ci, label or "Spearman rho")


class Context:
    """The inputs of one card cell and the namespace built from them (loaders cached)."""

    def __init__(self, inputs: dict, tolerance: float = 0.0, card_dir: Path | None = None):
        self.inputs = dict(inputs)
        self.tolerance = float(tolerance)
        self.card_dir = Path(card_dir) if card_dir else Path.cwd()

    def outputs(self):
        i = self.inputs
        return load_outputs(i["benchmark_output"], i["demo_preset"], i["suite"])

    def corpus(self):
        i = self.inputs
        return load_corpus(i["benchmark_output"], i["demo_preset"], i["suite"], i["stats"])

    def main_scores(self, corpus=None, augmented: bool = False):
        return main_scores(self.corpus() if corpus is None else corpus, augmented=augmented)

    def run_benchmark(self, predictors, splits=None, corpus=None, **overrides):
        if isinstance(predictors, (str, bytes)) or not hasattr(predictors, "__iter__"):
            predictors = [predictors]
        loaded = [load_predictor(p) if isinstance(p, str) else p for p in predictors]
        i = self.inputs
        if isinstance(splits, str):
            splits = [splits]
        kwargs = dict(splits=list(splits or [i["split"]]), n_folds=i["n_folds"],
                      num_eval_samples=i["num_eval_samples"], seed=i["seed"], n_boot=i["n_boot"], progress=False)
        kwargs.update(overrides)
        return benchmark(loaded, self.corpus() if corpus is None else corpus, **kwargs)

    def paired_mae_diff(self, board, a, b, split=None, stat="main", n_boot=None, seed=None):
        i = self.inputs
        return paired_mae_diff(board, a, b, split=split, stat=stat,
                               n_boot=i["n_boot"] if n_boot is None else n_boot, seed=i["seed"] if seed is None else seed)

    def approx(self, a, b, tol=None):
        return approx(a, b, self.tolerance if tol is None else tol)

    def namespace(self) -> dict:
        """A fresh dict of the names in :data:`NAMESPACE_NAMES`."""
        import pandas as pd


        ns = {
            "inputs": dict(self.inputs), "tolerance": self.tolerance, "card_dir": self.card_dir,
            "outputs": self.outputs, "corpus": self.corpus, "main_scores": self.main_scores,
            "run_benchmark": self.run_benchmark, "leaderboard_row": leaderboard_row,
            "paired_mae_diff": self.paired_mae_diff, "spearman_ci": spearman_ci, "bootstrap_ci": bootstrap_ci,
            "fisher_ci": fisher_ci, "decide": decide, "ci_above": ci_above, "ci_below": ci_below,
            "Undecided": Undecided, "all_of": all_of, "any_of": any_of, "not_": not_, "Estimate": Estimate,
            "require": require, "MissingData": MissingData, "approx": self.approx, "np": np, "pd": pd,
            "math": math,
        }
        assert set(ns) == set(NAMESPACE_NAMES)
        return ns
