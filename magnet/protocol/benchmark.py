"""Score predictors: errors with cluster-bootstrap CIs, the noise floor, and the mandatory MBE check.

:func:`score_protocol` turns one :class:`~magnet.runner.ProtocolResult` into
leaderboard rows; :func:`benchmark` runs several predictors under several
split strategies on the same folds and returns a :class:`Leaderboard`.

Every row carries its MBE result; there is no way to turn it off. Rows:

* ``stat = "main"``: each eval run's main target (unperturbed), pooled;
* ``stat = <target key>`` (e.g. ``exact_match``, ``exact_match@typos/perturbed``):
  one row per target variant with at least 5 runs (in ``leaderboard.json``).

Definitions (n = eval runs scored):

* ``mae``, ``rmse``, ``bias``, ``r2``, ``spearman``, ``kendall`` with 95%
  percentile bootstrap CIs, resampling **models** (runs of one model are not
  independent: cluster bootstrap);
* ``noise_floor``: the expected MAE of an oracle that knows each run's true
  success rate but not its unrevealed outcomes (:mod:`magnet.stats.noise_floor`);
* ``revealed_mean_mae``: MAE of the revealed-sample mean on the same runs;
* ``gain_share = (revealed_mean_mae - mae) / (revealed_mean_mae - noise_floor)``:
  the share of the attainable gain a predictor captures (1 = at the floor);
* ``mbe``: :func:`magnet.mbe.mbe_check` of predicted vs actual controlling for
  the baselines (``revealed_mean``, plus ``revealed_loss`` where logprobs exist).

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> from magnet.protocol.corpus import Corpus
    >>> from predictors.example_random_predictor import ExampleRandomPredictor
    >>> corpus = Corpus.load(HelmOutputs.demo(preset="small"))
    >>> board = benchmark([ExampleRandomPredictor()], corpus, splits=["leave-one-model-out"], progress=False, n_boot=200)
    >>> row = board.main_rows()[0]
    >>> row.predictor, row.n, row.n_models, row.mbe["verdict"], row.mbe["controls"]
    ('ExampleRandomPredictor', 16, 4, 'loss-proxy', ['revealed_mean', 'revealed_loss'])
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
from magnet.protocol.corpus import RUN, Corpus
from magnet.stats.mbe import mbe_check
from magnet.stats.noise_floor import noise_floor_mae
from magnet.protocol.runner import ProtocolResult, run_protocol
from magnet.stats.scoring import score_predictions
from magnet.protocol.truth import join_truth
from magnet.protocol.splits import reveal
from magnet.report.html import write_report

MIN_ROWS = 5


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
            "bootstrap": "cluster bootstrap over models, 95% percentile intervals",
            "rows": [asdict(r) for r in self.rows],
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


def _floor_and_baseline(corpus: Corpus, revealed: dict, runs_keys: pd.DataFrame) -> tuple[float, pd.Series]:
    """Noise floor over the given (run, target.key) pairs; the per-instance values they average."""
    values = corpus.instance_values.merge(runs_keys, on=[RUN, "target.key"])
    arrays, ks = [], []
    for (run, _key), g in values.groupby([RUN, "target.key"], sort=False):
        ids = set(revealed.get(run, []))
        arrays.append(g["value"].to_numpy(dtype=float))
        ks.append(int(g["instance_id"].isin(ids).sum()))
    floor = noise_floor_mae(arrays, ks) if arrays else float("nan")
    return floor, values


def score_rows(joined: pd.DataFrame, corpus: Corpus, revealed: dict, baselines: pd.DataFrame,
               predictor: str, split: str, stat: str, failed_folds: int, n_targets: int,
               n_boot: int = 1000, seed: int = 0) -> LeaderboardRow | None:
    """Score one group of joined predictions (one predictor, split and stat)."""
    data = joined.merge(baselines, on=[RUN, "target.key"], how="left")
    data = data[np.isfinite(data["predicted"]) & np.isfinite(data["actual"])]
    if len(data) < 1:
        return None
    groups = data[RUN].map(_models(corpus)).astype(str).to_numpy()
    s = score_predictions(data["predicted"].to_numpy(), data["actual"].to_numpy(), groups=groups,
                          n_boot=n_boot, seed=seed)
    controls = [c for c in DEFAULT_BASELINES if c in data and data[c].notna().sum() >= MIN_ROWS
                and data[c].nunique() > 1]
    mbe = mbe_check(data["predicted"].to_numpy(), data["actual"].to_numpy(),
                    data[controls] if controls else np.zeros((len(data), 0)), groups=groups,
                    n_boot=n_boot, seed=seed) if controls else None
    floor, _ = _floor_and_baseline(corpus, revealed, data[[RUN, "target.key"]].drop_duplicates())
    rm = data["revealed_mean"] if "revealed_mean" in data else pd.Series(np.nan, index=data.index)
    ok = rm.notna()
    rm_mae = float((rm[ok] - data.loc[ok, "actual"]).abs().mean()) if ok.any() else float("nan")
    denom = rm_mae - floor
    gain = (rm_mae - s.mae) / denom if np.isfinite(denom) and denom > 1e-12 else float("nan")
    mbe_dict = _mbe_dict(mbe, controls)
    return LeaderboardRow(
        predictor=predictor, split=split, stat=stat, n=s.n, n_models=int(len(set(groups))),
        coverage=len(data) / n_targets if n_targets else float("nan"), failed_folds=failed_folds,
        bootstrap=s.bootstrap, mae=s.mae, mae_ci=tuple(s.mae_ci), rmse=s.rmse, rmse_ci=tuple(s.rmse_ci),
        bias=s.bias, bias_ci=tuple(s.bias_ci), r2=s.r2, spearman=s.spearman, spearman_ci=tuple(s.spearman_ci),
        kendall=s.kendall, noise_floor=floor, revealed_mean_mae=rm_mae, gain_share=gain, mbe=mbe_dict,
    )


def _mbe_dict(mbe, controls) -> dict:
    if mbe is None:
        return {"verdict": "insufficient-data", "reason": "no baseline with enough varying values to control for",
                "controls": list(controls), "n": 0}
    return {
        "verdict": mbe.verdict, "reason": mbe.reason, "n": mbe.n, "controls": list(mbe.controls),
        "method": mbe.method, "raw_r": mbe.raw_r, "raw_p": mbe.raw_p, "partial_r": mbe.partial_r,
        "partial_p": mbe.partial_p, "ci95": tuple(mbe.ci95), "ci95_bootstrap": tuple(mbe.ci95_bootstrap),
        "min_detectable_r": mbe.min_detectable_r, "effect_class": mbe.effect_class,
    }


def score_protocol(result: ProtocolResult, corpus: Corpus, baselines: pd.DataFrame,
                   n_boot: int = 1000, seed: int = 0) -> tuple[list[LeaderboardRow], pd.DataFrame]:
    """Leaderboard rows for one protocol result (main + per target variant), and its joined predictions."""
    joined = join_truth(result.predictions, corpus.targets)
    joined = joined.assign(predictor=result.predictor, split=result.split)
    failed = len(result.failed_folds)
    targets = corpus.targets
    rows = []
    main_targets = targets[targets["target.key"] == targets["target.name"]]
    main = joined[joined["target.key"] == joined["target.name"]]
    row = score_rows(main, corpus, result.revealed, baselines, result.predictor, result.split, "main",
                     failed, len(main_targets), n_boot, seed)
    if row:
        rows.append(row)
    for key, g in joined.groupby("target.key", sort=True):
        if len(g) >= MIN_ROWS:
            row = score_rows(g, corpus, result.revealed, baselines, result.predictor, result.split, key,
                             failed, int((targets["target.key"] == key).sum()), n_boot, seed)
            if row:
                rows.append(row)
    return rows, joined


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
) -> Leaderboard:
    """Run every predictor under every split on the same folds and score them (MBE check always on).

    ``backend``/``ray_address`` choose where folds run (see :mod:`magnet.protocol.execution`).
    """

    revealed = reveal(corpus, num_eval_samples, seed)
    baselines = compute_baselines(corpus, revealed)
    controls = [c for c in DEFAULT_BASELINES if c in baselines]
    rows, joined, results = [], [], []
    for split in splits:
        for predictor in predictors:
            sub = Path(out_dir) / "runs" / f"{predictor.name}-{split}" if out_dir else None
            result = run_protocol(predictor, corpus, split=split, n_folds=n_folds, num_eval_samples=num_eval_samples,
                                  seed=seed, n_jobs=n_jobs, timeout=timeout, out_dir=sub, progress=progress,
                                  backend=backend, ray_address=ray_address)
            r, j = score_protocol(result, corpus, baselines, n_boot=n_boot, seed=seed)
            rows += r
            joined.append(j)
            results.append(result)
    all_joined = pd.concat(joined, ignore_index=True) if joined else pd.DataFrame()
    if len(all_joined):
        all_joined = all_joined.merge(baselines, on=[RUN, "target.key"], how="left")
        all_joined["model"] = all_joined[RUN].map(corpus.models())
    return Leaderboard(rows, all_joined, controls, num_eval_samples, corpus.source, results)
