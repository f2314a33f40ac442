"""Score predictors: errors with cluster-bootstrap CIs, the noise floor, and the mandatory MBE check.

:func:`score_joined` turns the predictions of one predictor x split (joined
with the truth and the baselines, pooled over repeats) into leaderboard rows; :func:`benchmark` runs several predictors under several
split strategies on the same folds and returns a :class:`Leaderboard`.

Every row carries its MBE result; there is no way to turn it off. Rows:

* ``stat = "main"``: each eval run's main target (unperturbed), pooled;
* ``stat = <target key>`` (e.g. ``exact_match``, ``exact_match@typos/perturbed``):
  one row per target variant with at least 5 runs (in ``leaderboard.json``),
  except a variant whose row would be an exact duplicate of another variant's
  (same runs, predictions, actual values, baselines and floors; e.g.
  ``X@robustness/worst`` of runs without perturbations is ``X``): it is not
  produced, named in the kept row's ``duplicates``, and not counted by Holm.

Definitions (n = eval runs scored):

* ``mae``, ``rmse``, ``bias``, ``r2``, ``spearman``, ``kendall`` with 95%
  percentile bootstrap CIs, resampling **models** (runs of one model are not
  independent: cluster bootstrap);
* ``noise_floor``: the expected MAE of an oracle that knows each run's true
  success rate but not its unrevealed outcomes (:mod:`magnet.stats.noise_floor`);
* ``revealed_mean_mae``: MAE of the revealed-sample mean on the same runs;
* ``gain_share = (revealed_mean_mae - mae) / (revealed_mean_mae - noise_floor)``:
  the share of the attainable gain a predictor captures (1 = at the floor),
  with all three on the same ``gain_share_n`` runs and a cluster-bootstrap
  ``gain_share_ci`` (:mod:`magnet.stats.gain`; the floor is a plug-in);
* ``mbe``: :func:`magnet.stats.mbe.mbe_check` of predicted vs actual controlling for
  the baselines (``revealed_mean``, plus ``revealed_loss`` where logprobs exist),
  cluster-robust over models and, when the row pools several scenarios or target metrics, within scenarios
  (:func:`mbe_strata`; the check without them in ``pooled_*``): ``verdict`` (genuine / loss-proxy / inconclusive /
  insufficient-data), ``estimate`` with the ``interval`` the verdict used and its
  one-sided ``p_one_sided``; ``p_holm`` adjusts that p over the rows of the
  leaderboard (Holm; the pooled ``main`` rows are the primary family, the
  per-variant rows a secondary one) and ``genuine_after_holm`` says whether the
  row stays genuine after it.

Which runs a row uses: those with a finite prediction, an actual value and a
``revealed_mean`` baseline (the mandatory MBE control; for a main metric
without per-instance values, e.g. ``bbq_accuracy``, through the per-instance
proxy chosen from each fold's train runs, :mod:`magnet.protocol.proxies`,
named in ``baseline_proxy``). Every statistic of the row is computed on those
``n`` runs, except the noise floor and the gain share, which need the
target's per-instance values (a run-level-only target such as
``bbq_accuracy`` has no floor): ``column_n`` gives the runs of each column
(``mae``, ``noise_floor``, ``gain_share``, ``mbe``) and ``column_notes`` says
why a column used fewer than ``n``; ``gain_share_terms`` are the three means
of the gain share on its runs. ``n_dropped`` and ``dropped`` (reason -> runs)
say which runs were left out of the row and why. With fewer than :data:`MIN_MBE_RUNS` usable runs the row's MBE
verdict is ``insufficient-data`` (no partial correlation is reported).

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> from magnet.protocol.corpus import Corpus
    >>> from predictors.example_random_predictor import ExampleRandomPredictor
    >>> corpus = Corpus.load(HelmOutputs.demo(preset="small"))
    >>> board = benchmark([ExampleRandomPredictor()], corpus, splits=["leave-one-model-out"], progress=False, n_boot=200)
    >>> row = board.main_rows()[0]
    >>> row.predictor, row.n, row.n_models, row.mbe["verdict"], row.mbe["controls"]
    ('ExampleRandomPredictor', 16, 4, 'inconclusive', ['revealed_mean', 'revealed_loss'])
    >>> main = board.joined[board.joined["target.key"] == board.joined["target.name"]]
    >>> bool(abs(row.mae - (main["predicted"] - main["actual"]).abs().mean()) < 1e-12)
    True
    >>> bool(row.gain_share < 0)  # random guesses do worse than the revealed-sample mean
    True
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from magnet.protocol.baselines import DEFAULT_BASELINES, compute_baselines
from magnet.predictions import NOTE
from magnet.protocol.corpus import RUN, Corpus, scenario_label
from magnet.stats.mbe import mbe_check
from magnet.stats.multiplicity import holm
from magnet.stats.gain import gain_share
from magnet.stats.noise_floor import run_noise_floor
from magnet.protocol.runner import ProtocolResult, run_protocol
from magnet.stats.scoring import score_predictions
from magnet.protocol.truth import join_truth
from magnet.protocol.proxies import with_proxy_baselines
from magnet.protocol.reveal_modes import main_scores
from magnet.protocol.splits import REVEAL_ORDER_COLUMN, make_folds, reveal, reveal_order_column
from magnet.report.html import write_report

MIN_ROWS = 5

#: Fewest usable runs (finite prediction, actual and baseline) for an MBE verdict other than insufficient-data.
MIN_MBE_RUNS = 10
#: the MBE control added under ``--reveal adaptive``: the revealed mean of the instances the predictor asked for
ADAPTIVE_CONTROL = "adaptive_mean"


@dataclass
class LeaderboardRow:
    """One predictor x split x stat: errors, floor, gain share and the MBE result."""

    predictor: str
    split: str
    stat: str
    n: int
    n_models: int
    coverage: float
    failed_folds: int
    bootstrap: str
    mae: float
    mae_ci: tuple
    rmse: float
    rmse_ci: tuple
    bias: float
    bias_ci: tuple
    r2: float
    spearman: float
    spearman_ci: tuple
    kendall: float
    noise_floor: float
    revealed_mean_mae: float
    gain_share: float
    mbe: dict = field(default_factory=dict)
    n_dropped: int = 0
    dropped: dict = field(default_factory=dict)
    baseline_proxy: str | None = None
    gain_share_ci: tuple = (float("nan"), float("nan"))
    gain_share_n: int = 0
    #: metric -> the interval method used instead of the usual one (or why it is NaN), e.g. on almost-revealed runs
    interval_notes: dict = field(default_factory=dict)
    #: runs with a noise floor (a target without per-instance values, e.g. ``bbq_accuracy``, has none)
    noise_floor_n: int = 0
    #: column -> the runs it was computed on (``mae``, ``noise_floor``, ``gain_share``, ``mbe``); see ``column_notes``
    column_n: dict = field(default_factory=dict)
    #: column -> why it used fewer runs than ``n`` (only the columns that did)
    column_notes: dict = field(default_factory=dict)
    #: target variants whose rows were not produced because they are exact duplicates of this row
    duplicates: list = field(default_factory=list)
    #: the three means the gain share is made of, on its ``gain_share_n`` runs
    gain_share_terms: dict = field(default_factory=dict)
    #: what the predictor said about its predictions (a fallback, an abstention), with the runs it concerns
    notes: list = field(default_factory=list)
    #: other predictors whose predictions (so every row) are identical to this one's, under this split
    same_predictions: list = field(default_factory=list)
    #: the predictor whose identical row is shown instead of this one (None: this row is shown)
    shown_as: str | None = None

    @property
    def flagged(self) -> bool:
        """True when the MBE check did not find information beyond the baselines."""
        return self.mbe.get("verdict") != "genuine"


def _finite(x) -> float | None:
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else float(x)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return _finite(float(obj))
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


@dataclass
class Leaderboard:
    """All rows of a benchmark, the predictions behind them, and the context to read them."""

    rows: list[LeaderboardRow]
    joined: pd.DataFrame
    controls: list[str]
    num_eval_samples: float
    corpus_source: str
    results: list[ProtocolResult] = field(default_factory=list, repr=False)
    proxies: pd.DataFrame | None = field(default=None, repr=False)
    load_warnings: list[str] = field(default_factory=list)

    def main_rows(self) -> list[LeaderboardRow]:
        """The pooled main-target rows, ranked by MAE within each split."""
        rows = [r for r in self.rows if r.stat == "main"]
        return sorted(rows, key=lambda r: (r.split, r.mae if math.isfinite(r.mae) else math.inf))

    def to_frame(self) -> pd.DataFrame:
        """One row per leaderboard row; the MBE fields as ``mbe.*`` columns."""
        records = []
        for r in self.rows:
            d = asdict(r)
            mbe = d.pop("mbe")
            d.update({f"mbe.{k}": v for k, v in mbe.items()})
            records.append(d)
        return pd.DataFrame(records)

    def to_json(self) -> dict:
        """The ``leaderboard.json`` document (schema in the README)."""
        return _jsonable({
            "schema_version": 1,
            "corpus": self.corpus_source,
            "num_eval_samples": self.num_eval_samples,
            "mbe_controls": self.controls,
            "bootstrap": "cluster bootstrap over models, 95% intervals: studentized (bootstrap-t) for mae, rmse and "
                         "bias, percentile otherwise",
            "mbe_decision": ("partial Spearman r given splines of the controls and, when a row pools several "
                             "scenarios, within-scenario ranks and scenario indicators (pooled_*: the same test "
                             "without them), CR2 cluster-robust over models "
                             "(Bell-McCaffrey df); genuine: one-sided p <= alpha; loss-proxy: the 1 - 2 alpha "
                             "interval lies below effect_size; inconclusive: neither; p_holm: Holm over the pooled "
                             "main rows (primary family) and over the variant rows (secondary family)"),
            "rows": [asdict(r) for r in self.rows],
            "load_warnings": self.load_warnings,
            "baseline_proxies": [] if self.proxies is None or not len(self.proxies) else
            self.proxies.astype(object).where(self.proxies.notna(), None).to_dict(orient="records"),
        })

    def write(self, out_dir: str | os.PathLike, plots: bool = True) -> Path:
        """Write leaderboard.json, predictions.csv and (optionally) plots and report.html."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "leaderboard.json").write_text(json.dumps(self.to_json(), indent=2))
        self.joined.to_csv(out / "predictions.csv", index=False)
        if plots:

            write_report(self, out)
        return out


def _models(corpus: Corpus) -> pd.Series:
    return corpus.models()


def _pair_floors(corpus: Corpus, revealed: dict, data: pd.DataFrame) -> dict[tuple[str, str], float]:
    """The noise floor (:func:`run_noise_floor`) of each distinct (run, target.key) of ``data``."""
    values = corpus.instance_values.merge(data[[RUN, "target.key"]].drop_duplicates(), on=[RUN, "target.key"])
    floors = {}
    for (run, key), g in values.groupby([RUN, "target.key"], sort=False):
        ids = set(revealed.get(run, []))
        floors[(run, key)] = run_noise_floor(g["value"].to_numpy(dtype=float), int(g["instance_id"].isin(ids).sum()))
    return floors


def score_rows(joined: pd.DataFrame, corpus: Corpus, revealed: dict, baselines: pd.DataFrame,
               predictor: str, split: str, stat: str, failed_folds: int, n_targets: int,
               n_boot: int = 1000, seed: int = 0, proxies: pd.DataFrame | None = None) -> LeaderboardRow | None:
    """Score one group of joined predictions (one predictor, split and stat)."""
    # baselines=None: ``joined`` carries its baselines already (repeats: each with its own revealed sample)
    data = joined if baselines is None else joined.merge(baselines, on=[RUN, "target.key"], how="left")
    if not len(data):
        return None
    said = prediction_notes(data)
    finite = np.isfinite(pd.to_numeric(data["predicted"], errors="coerce")) & np.isfinite(data["actual"].astype(float))
    data = data[finite]
    if len(data) < 1:  # nothing predicted: no row, unless the predictor said why (e.g. it abstained everywhere)
        return _empty_row(predictor, split, stat, failed_folds, {}, None, said) if said else None
    data, dropped = usable_rows(data, corpus, revealed, proxies)
    proxy = proxy_label(data)
    if not len(data):
        return _empty_row(predictor, split, stat, failed_folds, dropped, proxy, said)
    groups = data[RUN].map(_models(corpus)).astype(str).to_numpy()
    s = score_predictions(data["predicted"].to_numpy(), data["actual"].to_numpy(), groups=groups,
                          n_boot=n_boot, seed=seed)
    # revealed_mean always (every usable row has it); other baselines only where every row has them.
    controls = [c for c in (*DEFAULT_BASELINES, ADAPTIVE_CONTROL) if c in data and data[c].notna().all()
                and (c == "revealed_mean" or data[c].nunique() > 1)]
    mbe = mbe_check(data["predicted"].to_numpy(), data["actual"].to_numpy(), data[controls], groups=groups,
                    n_boot=n_boot, seed=seed, strata=mbe_strata(data, corpus)) if len(data) >= MIN_MBE_RUNS else None
    pair_floors = _pair_floors(corpus, revealed, data)  # once: the row's floor and each run's, for the gain share
    finite = [f for f in pair_floors.values() if np.isfinite(f)]
    floor = float(np.mean(finite)) if finite else float("nan")  # noise_floor_mae over the row's runs
    rm = data["revealed_mean"] if "revealed_mean" in data else pd.Series(np.nan, index=data.index)
    ok = rm.notna()
    rm_mae = float((rm[ok] - data.loc[ok, "actual"]).abs().mean()) if ok.any() else float("nan")
    run_floors = np.array([pair_floors.get(k, np.nan) for k in zip(data[RUN], data["target.key"])])
    gain = gain_share(data["predicted"], data["actual"], rm, run_floors, groups=groups, n_boot=n_boot, seed=seed)
    mbe_dict = _gate_perfect(_mbe_dict(mbe, controls, len(data)))
    column_n, column_notes = column_counts(data, run_floors, s.n, gain.n, mbe_dict.get("n", len(data)))
    return LeaderboardRow(
        predictor=predictor, split=split, stat=stat, n=s.n, n_models=int(len(set(groups))),
        coverage=len(data) / n_targets if n_targets else float("nan"), failed_folds=failed_folds,
        bootstrap=s.bootstrap, mae=s.mae, mae_ci=tuple(s.mae_ci), rmse=s.rmse, rmse_ci=tuple(s.rmse_ci),
        bias=s.bias, bias_ci=tuple(s.bias_ci), r2=s.r2, spearman=s.spearman, spearman_ci=tuple(s.spearman_ci),
        kendall=s.kendall, noise_floor=floor, revealed_mean_mae=rm_mae, gain_share=gain.estimate, mbe=mbe_dict,
        gain_share_ci=tuple(gain.ci), gain_share_n=gain.n, interval_notes=dict(s.interval_notes),
        n_dropped=sum(dropped.values()), dropped=dropped, baseline_proxy=proxy,
        noise_floor_n=column_n["noise_floor"], column_n=column_n, column_notes=column_notes,
        gain_share_terms={"mae": gain.mae, "revealed_mean_mae": gain.baseline_mae, "noise_floor": gain.floor},
        notes=said,
    )


def mbe_strata(data: pd.DataFrame, corpus: Corpus) -> np.ndarray:
    """The scenario of each row for the MBE check: the run's scenario label and target key.

    A row pooling several scenarios (or target metrics) is checked within them
    (:func:`magnet.stats.mbe.mbe_check` ``strata``); a single-scenario row has one level, so nothing changes.

    Example:
        >>> from magnet.backends.helm.outputs import HelmOutputs
        >>> corpus = Corpus.load(HelmOutputs.demo(preset="small"))
        >>> data = corpus.targets[corpus.targets["target.key"] == corpus.targets["target.name"]]
        >>> sorted(set(mbe_strata(data, corpus)))[:2]
        ['dyck_language_np=2 | exact_match_indicator', 'simple_mcqa | exact_match']
    """
    labels = pd.Series(scenario_label(corpus.run_specs).to_numpy(), index=corpus.run_specs[RUN])
    labels = labels[~labels.index.duplicated()]
    return (data[RUN].map(labels).astype(str) + " | " + data["target.key"].astype(str)).to_numpy()
def prediction_notes(data: pd.DataFrame) -> list[str]:
    """The predictor's notes on a row's predictions (``magnet.note``: fallbacks, abstentions), each with its runs.

    Example:
        >>> data = pd.DataFrame({RUN: ["a", "b", "c"], NOTE: ["fallback: train mean", None, "fallback: train mean"]})
        >>> prediction_notes(data)
        ['fallback: train mean (2 of 3 runs)']
    """
    if NOTE not in data:
        return []
    counts = data[NOTE].dropna().astype(str).value_counts(sort=False)
    return [f"{note} ({count} of {len(data)} runs)" for note, count in counts.items()]


def column_counts(data: pd.DataFrame, run_floors: np.ndarray, n: int, gain_n: int,
                  mbe_n: int) -> tuple[dict[str, int], dict[str, str]]:
    """The runs each column of a row used, and why a column used fewer than the row's ``n``.

    The noise floor (and so the gain share) needs the per-instance values of the target: a run-level-only
    target (``bbq_accuracy``) has no floor, and its runs count in ``mae`` but not in ``noise_floor``.

    Example:
        >>> data = pd.DataFrame({"target.name": ["em", "em", "bbq_accuracy"]})
        >>> counts, notes = column_counts(data, np.array([0.1, 0.2, np.nan]), 3, 2, 3)
        >>> counts
        {'mae': 3, 'noise_floor': 2, 'gain_share': 2, 'mbe': 3}
        >>> notes["noise_floor"]
        'on 2 of 3 runs: 1 runs of bbq_accuracy have no per-instance values of the target, so no noise floor'
    """
    no_floor = ~np.isfinite(np.asarray(run_floors, dtype=float))
    counts = {"mae": int(n), "noise_floor": int((~no_floor).sum()), "gain_share": int(gain_n), "mbe": int(mbe_n)}
    notes = {}
    if no_floor.any():
        names = data.loc[no_floor, "target.name"].astype(str).value_counts().sort_index()
        why = ", ".join(f"{c} runs of {t}" for t, c in names.items())
        floor_note = f"{why} have no per-instance values of the target, so no noise floor"
        notes["noise_floor"] = f"on {counts['noise_floor']} of {n} runs: {floor_note}"
    if counts["gain_share"] != n:
        notes["gain_share"] = (f"on {counts['gain_share']} of {n} runs: the runs with a noise floor (the gain's "
                               f"MAE and revealed-mean MAE are over those runs too)")
    if counts["mbe"] != n:
        notes["mbe"] = f"on {counts['mbe']} of {n} runs"
    return counts, notes


def usable_rows(data: pd.DataFrame, corpus: Corpus, revealed: dict,
                proxies: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """The rows with a ``revealed_mean`` baseline, and ``{reason: rows dropped}`` for the others.

    Example:
        >>> from magnet.backends.helm.outputs import HelmOutputs
        >>> corpus = Corpus.load(HelmOutputs.demo(preset="small"))
        >>> data = pd.DataFrame({RUN: ["x", "y"], "target.key": ["m", "m"], "target.name": ["m", "m"],
        ...                      "revealed_mean": [0.5, float("nan")]})
        >>> kept, dropped = usable_rows(data, corpus, {"y": []})
        >>> len(kept), dropped
        (1, {'no revealed_mean baseline: no revealed instances': 1})
    """
    has = data["revealed_mean"].notna() if "revealed_mean" in data else pd.Series(False, index=data.index)
    dropped: dict[str, int] = {}
    no_proxy = {}
    if proxies is not None and len(proxies):
        for name, reason in zip(proxies["target.name"], proxies["reason"]):
            if reason:
                no_proxy.setdefault(name, reason)
    with_pis = set(corpus.per_instance_stats[RUN]) if len(corpus.per_instance_stats) else set()
    for run, name in zip(data.loc[~has, RUN], data.loc[~has, "target.name"]):
        if not revealed.get(run):
            why = "no revealed instances"
        elif run not in with_pis:
            why = "the run has no per-instance stats"
        elif name in no_proxy:
            why = f"{name} has no per-instance values and no proxy ({no_proxy[name]})"
        else:
            why = "no per-instance values of the target for the revealed instances"
        key = f"no revealed_mean baseline: {why}"
        dropped[key] = dropped.get(key, 0) + 1
    return data[has], dropped


def proxy_label(data: pd.DataFrame) -> str | None:
    """``"target <- proxy"`` for every proxied target among the rows (``"; "``-joined), or None."""
    if "baseline_proxy" not in data:
        return None
    pairs = sorted({(t, p) for t, p in zip(data["target.name"], data["baseline_proxy"]) if isinstance(p, str)})
    return "; ".join(f"{t} <- {p}" for t, p in pairs) or None


def _empty_row(predictor, split, stat, failed_folds, dropped, proxy, notes=None) -> LeaderboardRow:
    """A row without usable runs: every statistic undefined, the MBE verdict insufficient-data with the reasons."""
    nan, ci = float("nan"), (float("nan"), float("nan"))
    reason = "no usable runs: " + "; ".join([f"{k} ({v} runs)" for k, v in dropped.items()] + list(notes or []))
    return LeaderboardRow(
        predictor=predictor, split=split, stat=stat, n=0, n_models=0, coverage=0.0, failed_folds=failed_folds,
        bootstrap="none", mae=nan, mae_ci=ci, rmse=nan, rmse_ci=ci, bias=nan, bias_ci=ci, r2=nan, spearman=nan,
        spearman_ci=ci, kendall=nan, noise_floor=nan, revealed_mean_mae=nan, gain_share=nan,
        mbe={"verdict": "insufficient-data", "reason": reason, "controls": [], "n": 0},
        n_dropped=sum(dropped.values()), dropped=dropped, baseline_proxy=proxy, notes=list(notes or []))


def _gate_perfect(mbe: dict) -> dict:
    """A partial |r| of 1 on real runs means degenerate residuals (too few distinct values), not evidence."""
    r = mbe.get("partial_r")
    if mbe.get("verdict") != "insufficient-data" and r is not None and np.isfinite(r) and abs(r) > 1 - 1e-9:
        return {**mbe, "verdict": "insufficient-data",
                "reason": f"partial r = {r:+.3f} on {mbe.get('n')} runs: the residuals after the baseline take "
                          "too few distinct values for a correlation to mean anything"}
    return mbe


def _mbe_dict(mbe, controls, n: int) -> dict:
    if mbe is None:
        return {"verdict": "insufficient-data", "controls": list(controls), "n": n,
                "reason": f"only {n} runs with a prediction, an actual value and a baseline "
                          f"(need >= {MIN_MBE_RUNS} for an MBE verdict)"}
    return {
        "verdict": mbe.verdict, "reason": mbe.reason, "n": mbe.n, "controls": list(mbe.controls),
        "method": mbe.method, "raw_r": mbe.raw_r, "raw_p": mbe.raw_p, "partial_r": mbe.partial_r,
        "partial_p": mbe.partial_p, "ci95": tuple(mbe.ci95), "ci95_bootstrap": tuple(mbe.ci95_bootstrap),
        "min_detectable_r": mbe.min_detectable_r, "effect_class": mbe.effect_class,
        "estimate": mbe.estimate, "interval": tuple(mbe.interval), "p_one_sided": mbe.p, "df": mbe.df,
        "n_groups": mbe.n_groups, "design_effect": mbe.design_effect, "adjustment": mbe.adjustment,
        "inference": mbe.inference, "alpha": mbe.alpha, "effect_size": mbe.effect_size, "sided": mbe.sided,
        "scenarios": mbe.scenarios, "scenario_adjustment": mbe.scenario_adjustment,
        "scenario_checks": dict(mbe.scenario_checks),
        "pooled_estimate": mbe.pooled_estimate, "pooled_interval": tuple(mbe.pooled_interval),
        "pooled_p_one_sided": mbe.pooled_p, "pooled_verdict": mbe.pooled_verdict,
        "between_scenarios_only": mbe.between_scenarios_only,
    }


def adjust_for_many_rows(rows: list[LeaderboardRow]) -> None:
    """Holm-adjust the MBE p-values: the pooled ``main`` rows are the primary family, the variant rows another.

    Adds ``p_holm``, ``family`` and ``genuine_after_holm`` to each row's ``mbe``
    (:mod:`magnet.stats.multiplicity`).
    """
    for family, members in (("primary (pooled main rows)", [r for r in rows if r.stat == "main"]),
                            ("secondary (per target variant)", [r for r in rows if r.stat != "main"])):
        shown = [r for r in members if not getattr(r, "shown_as", None)]  # identical predictors count once
        adjusted = dict(zip(((r.split, r.predictor, r.stat) for r in shown),
                            holm([r.mbe.get("p_one_sided", float("nan")) for r in shown])))
        for r in members:
            p = adjusted[(r.split, getattr(r, "shown_as", None) or r.predictor, r.stat)]
            r.mbe["p_holm"] = float(p)
            r.mbe["family"] = f"{family}, Holm over {len(shown)} rows"
            r.mbe["genuine_after_holm"] = bool(r.mbe.get("verdict") == "genuine" and p <= r.mbe.get("alpha", 0.05))


def score_joined(joined: pd.DataFrame, corpus: Corpus, revealed: dict, predictor: str, split: str,
                  failed: int, n_boot: int, seed: int, proxies: pd.DataFrame | None = None) -> list[LeaderboardRow]:
    """Leaderboard rows (main + per target variant) of one predictor x split, from its predictions joined with
    the truth and the baselines (pooled over repeats: the ``repeat`` column), and the proxies chosen in its folds."""
    targets = corpus.targets
    rows = []
    if not len(joined) or "predicted" not in joined:
        return rows  # every fold failed: the failures are in the results
    main_targets = targets[targets["target.key"] == targets["target.name"]]
    main = joined[joined["target.key"] == joined["target.name"]]
    row = score_rows(main, corpus, revealed, None, predictor, split, "main", failed, len(main_targets), n_boot, seed,
                     proxies)
    if row:
        rows.append(row)
    kept: list[tuple[pd.DataFrame, LeaderboardRow]] = []
    for key, g in joined.groupby("target.key", sort=True):
        if len(g) >= MIN_ROWS:
            sig = row_signature(g, corpus, revealed)
            same = next((r for other, r in kept if other.equals(sig)), None)
            if same is not None:  # e.g. X@robustness/worst of runs without perturbations: X itself
                same.duplicates.append(key)
                continue
            row = score_rows(g, corpus, revealed, None, predictor, split, key, failed,
                             int((targets["target.key"] == key).sum()), n_boot, seed, proxies)
            if row:
                rows.append(row)
                kept.append((sig, row))
    return rows


def row_signature(group: pd.DataFrame, corpus: Corpus, revealed: dict) -> pd.DataFrame:
    """Everything a variant row is computed from, keyed by run: two groups with equal signatures give equal rows.

    The runs (and repeats), predictions, actual values, target names, baselines and each run's noise floor
    (from the target's per-instance values). The target key itself is left out: ``X@robustness/worst`` of runs
    without perturbations has the same values as ``X`` and would repeat its row (and count twice in Holm).

    Example:
        >>> from magnet.backends.helm.outputs import HelmOutputs
        >>> corpus = Corpus.load(HelmOutputs.demo(preset="small"))
        >>> g = pd.DataFrame({RUN: ["r1", "r2"], "target.key": ["m", "m"], "target.name": ["m", "m"],
        ...                   "predicted": [0.1, 0.2], "actual": [0.1, 0.3]})
        >>> row_signature(g, corpus, {}).equals(row_signature(g.assign(**{"target.key": "m@fairness/worst"}), corpus, {}))
        True
        >>> row_signature(g, corpus, {}).equals(row_signature(g.assign(predicted=[0.1, 0.25]), corpus, {}))
        False
    """
    cols = [c for c in (RUN, "repeat", "target.name", "predicted", "actual", *DEFAULT_BASELINES, "baseline_proxy")
            if c in group]
    sig = group[cols].copy()
    floors = _pair_floors(corpus, revealed, group)
    sig["noise_floor"] = [floors.get(k, np.nan) for k in zip(group[RUN], group["target.key"])]
    order = [c for c in (RUN, "repeat") if c in sig]
    return sig.astype(object).where(sig.notna(), None).sort_values(order).reset_index(drop=True)


def with_abstentions(result: ProtocolResult) -> pd.DataFrame:
    """A run's predictions and the targets its predictor abstained on (NaN, the reason in ``magnet.note``).

    Abstentions are not predictions (:func:`magnet.predictions.check_predictions` keeps them out); the folds
    record them, and the leaderboard shows them in ``predictions.csv`` and in its rows' ``notes``.
    """
    declined = [dict(r, fold=f.index, fold_label=f.label) for f in result.folds for r in (f.abstained or [])]
    if not declined:
        return result.predictions
    extra = pd.DataFrame(declined).assign(predictor=result.predictor, split=result.split)
    extra["stats.mean"] = np.nan
    return pd.concat([result.predictions, extra], ignore_index=True)


def mark_identical_predictors(rows: list[LeaderboardRow], joined: list[pd.DataFrame]) -> None:
    """Predictors whose predictions are identical under a split (e.g. ModelMean, ScenarioMean and a fallback):
    each row names the others in ``same_predictions``; all but the first have ``shown_as`` the first.

    The terminal and HTML tables show one row for them, and Holm counts it once.
    """
    if not joined:
        return
    everything = pd.concat(joined, ignore_index=True)
    keys = [c for c in (RUN, "repeat", "target.key") if c in everything]
    same: dict = {}
    for (split, predictor), g in everything.groupby(["split", "predictor"], sort=False):
        sig = g[keys + ["predicted"]].sort_values(keys).reset_index(drop=True)
        first = next((p for p, other in same.get(split, []) if other.equals(sig)), None)
        same.setdefault(split, []).append((first or predictor, sig))
    for split, entries in same.items():
        groups: dict[str, list[str]] = {}
        names = [p for p, _ in entries]
        order = [p for p in dict.fromkeys(everything.loc[everything["split"] == split, "predictor"])]
        for predictor, first in zip(order, names):
            groups.setdefault(first, []).append(predictor)
        for first, members in groups.items():
            if len(members) < 2:
                continue
            for r in rows:
                if r.split == split and r.predictor in members:
                    r.same_predictions = [m for m in members if m != r.predictor]
                    r.shown_as = None if r.predictor == first else first


def benchmark(
    predictors: list,
    corpus: Corpus,
    *,
    splits=("kfold", "leave-one-model-out"),
    n_folds: int = 5,
    num_eval_samples: float = 10,
    seed: int = 0,
    n_jobs: int = 1,
    timeout: float | None = None,
    out_dir: str | os.PathLike | None = None,
    n_boot: int = 1000,
    progress: bool = True,
    backend: str = "local",
    ray_address: str | None = None,
    repeats: int = 1,
    reveal_mode: str = "per-run",
    eval_fraction: float | None = None,
    train_fraction: float | None = None,
) -> Leaderboard:
    """Run every predictor under every split on the same folds and score them (MBE check always on).

    ``backend``/``ray_address`` choose where folds run (see :mod:`magnet.protocol.execution`).
    ``repeats``: the protocol runs ``repeats`` times with seeds ``seed, seed + 1, ...`` (new folds of a
    random split, new revealed samples); the rows pool every repeat's predictions (a run appears once per
    repeat, column ``repeat``) and their intervals resample models, so they account for the repeats.
    ``reveal_mode``, ``eval_fraction``, ``train_fraction``: see :func:`magnet.protocol.runner.run_protocol`.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    cached: dict = {}

    def baselines_of(revealed: dict) -> pd.DataFrame:
        key = hash(tuple((r, tuple(ids)) for r, ids in sorted(revealed.items())))
        if key not in cached:
            cached[key] = compute_baselines(corpus, revealed)
        return cached[key]

    proxied: dict = {}
    proxies = []

    def proxied_of(split: str, r: int, revealed: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Baselines of one repeat's revealed sample, completed by the proxies chosen in its folds' train runs."""
        key = (split, r, hash(tuple((run, tuple(ids)) for run, ids in sorted(revealed.items()))))
        if key not in proxied:
            folds = make_folds(corpus.run_specs, split, n_folds=n_folds, seed=seed + r,
                               scores=main_scores(corpus) if split == "extrapolation" else None,
                               eval_fraction=eval_fraction, train_fraction=train_fraction)
            proxied[key] = with_proxy_baselines(baselines_of(revealed), corpus, folds, revealed)
            choices = proxied[key][1].assign(split=split)
            proxies.append(choices.assign(repeat=r) if repeats > 1 else choices)
        return proxied[key]

    baselines = baselines_of(reveal(corpus, num_eval_samples, seed))
    controls = [c for c in DEFAULT_BASELINES if c in baselines]
    if reveal_mode == "adaptive":
        controls.append(ADAPTIVE_CONTROL)
    rows, joined, results = [], [], []
    for split in splits:
        for predictor in predictors:
            parts, first, choices_used = [], None, []
            for r in range(repeats):
                name = f"{predictor.name}-{split}" + (f"-repeat{r}" if repeats > 1 else "")
                sub = Path(out_dir) / "runs" / name if out_dir else None
                result = run_protocol(predictor, corpus, split=split, n_folds=n_folds,
                                      num_eval_samples=num_eval_samples, seed=seed + r, n_jobs=n_jobs,
                                      timeout=timeout, out_dir=sub, progress=progress, backend=backend,
                                      ray_address=ray_address, reveal_mode=reveal_mode,
                                      eval_fraction=eval_fraction, train_fraction=train_fraction)
                # An adaptive sample is chosen by the predictor: the cheap baseline (the MBE control) is the
                # random sample of the same budget the per-run mode would have revealed, not the chosen one.
                control_revealed = (reveal(corpus, num_eval_samples, seed + r) if reveal_mode == "adaptive"
                                    else result.revealed)
                rep_baselines, choices = proxied_of(split, r, control_revealed)
                j = join_truth(with_abstentions(result), corpus.targets).assign(predictor=result.predictor,
                                                                                split=split)
                j = j.merge(rep_baselines, on=[RUN, "target.key"], how="left")
                if reveal_mode == "adaptive":  # the audit trail: each run's instances in the order asked
                    j[REVEAL_ORDER_COLUMN] = reveal_order_column(result.revealed, j[RUN])
                    # ... and the second MBE control: the mean of the instances the predictor asked for
                    # (benchmarks/bench_adaptive_mbe.py: against the random sample alone, a predictor that
                    # asks at random and returns its own sample's mean is called genuine)
                    own = baselines_of(dict(result.revealed))[[RUN, "target.key", "revealed_mean"]]
                    j = j.merge(own.rename(columns={"revealed_mean": ADAPTIVE_CONTROL}), on=[RUN, "target.key"],
                                how="left")
                parts.append(j.assign(repeat=r) if repeats > 1 else j)
                choices_used.append(choices)
                results.append(result)
                first = first or result
            pooled = pd.concat(parts, ignore_index=True)
            failed = sum(len(res.failed_folds) for res in results[-repeats:])
            first_revealed = (reveal(corpus, num_eval_samples, seed) if reveal_mode == "adaptive"
                              else first.revealed)
            rows += score_joined(pooled, corpus, first_revealed, first.predictor, split, failed, n_boot, seed,
                                  pd.concat(choices_used, ignore_index=True))
            joined.append(pooled)
    mark_identical_predictors(rows, joined)
    adjust_for_many_rows(rows)
    all_joined = pd.concat(joined, ignore_index=True) if joined else pd.DataFrame()
    if len(all_joined):
        all_joined["model"] = all_joined[RUN].map(corpus.models())
        all_joined = all_joined[[c for c in all_joined.columns if c != "baseline_proxy"] + ["baseline_proxy"]]
    return Leaderboard(rows, all_joined, controls, num_eval_samples, corpus.source, results,
                       pd.concat(proxies, ignore_index=True) if proxies else None,
                       load_warnings=list(getattr(corpus, "load_warnings", [])))
