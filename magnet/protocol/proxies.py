"""Per-instance proxies for main metrics that HELM computes only at run level (e.g. ``bbq_accuracy``).

The revealed-sample estimate of a target averages its per-instance values
over the revealed instances. Some main metrics have none: HELM computes them
from the whole run (``bbq_accuracy``'s per-instance stats carry
``exact_match`` instead). For such a target the revealed estimate, and the
``revealed_mean`` baseline, use a *proxy*: the per-instance stat (same split,
unperturbed) whose run means track the target best across the **train runs
of the fold** (never the eval runs), that is:

* among stats with per-instance values in at least :data:`MIN_PROXY_RUNS`
  train runs that also report the target, whose run means correlate
  positively with the target across those runs (Pearson r > 0),
* the one with the smallest mean absolute difference between its run means
  and the target (ties: larger r, then name).

Without such a stat (too few train runs, the target constant across them, no
positively correlated stat) there is no proxy and :attr:`Proxy.reason` says why.

The rule reads only frames a predictor receives (train stats, train
per-instance stats), so a predictor that applies it to its own inputs
(:class:`predictors.revealed_sample_mean.RevealedSampleMean`) finds the same
proxy as the baseline.

Example:
    >>> import pandas as pd
    >>> stats = pd.DataFrame({"run_spec.name": ["a", "b", "c"], "stats.name.name": ["acc"] * 3,
    ...                       "stats.name.split": ["test"] * 3, "stats.mean": [0.2, 0.5, 0.9]})
    >>> P = "per_instance_stats."
    >>> pis = pd.DataFrame({"run_spec.name": ["a", "b", "c"] * 2, P + "instance_id": ["i"] * 6,
    ...                     P + "stats.name.name": ["em"] * 3 + ["tokens"] * 3, P + "stats.name.split": ["test"] * 6,
    ...                     P + "stats.mean": [0.25, 0.5, 1.0, 10, 12, 30]})
    >>> p = choose_proxy(stats, pis, "acc", "test")
    >>> p.stat, p.n_runs
    ('em', 3)
    >>> choose_proxy(stats.iloc[:2], pis, "acc", "test").reason
    'only 2 train run(s) report acc with per-instance stats (need >= 3)'
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from magnet.protocol.corpus import instance_values

RUN = "run_spec.name"
PIS = "per_instance_stats."

#: Train runs a proxy must be checked on.
MIN_PROXY_RUNS = 3


@dataclass(frozen=True)
class Proxy:
    """The proxy of one target (``stat`` None when there is none, with the ``reason``)."""

    target: str
    split: str
    stat: str | None
    reason: str
    n_runs: int = 0
    mae: float = float("nan")
    r: float = float("nan")

    def label(self) -> str:
        """``"target <- proxy"`` or ``"target: no proxy (reason)"``.

        Example:
            >>> Proxy("bbq_accuracy", "test", "exact_match", "", 8, 0.1, 0.9).label()
            'bbq_accuracy <- exact_match (8 train runs, MAE 0.1, r 0.9)'
        """
        if self.stat is None:
            return f"{self.target}: no proxy ({self.reason})"
        return f"{self.target} <- {self.stat} ({self.n_runs} train runs, MAE {self.mae:.3g}, r {self.r:.3g})"


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df else pd.Series([None] * len(df), index=df.index, dtype=object)


def _missing(s: pd.Series) -> np.ndarray:
    return s.isna().to_numpy()


def run_means(per_instance_stats: pd.DataFrame, split: str) -> pd.DataFrame:
    """Unperturbed per-instance stats of one split averaged per run: index run, one column per stat name."""
    pis = per_instance_stats
    if pis is None or not len(pis) or PIS + "stats.name.name" not in pis:
        return pd.DataFrame()
    keep = (_col(pis, PIS + "stats.name.split") == split).to_numpy()
    for c in (PIS + "perturbation.name", PIS + "stats.name.perturbation.name", PIS + "stats.name.sub_split"):
        keep &= _missing(_col(pis, c))
    sub = pis[keep]
    values = pd.to_numeric(sub[PIS + "stats.mean"], errors="coerce")
    frame = pd.DataFrame({RUN: sub[RUN].to_numpy(), "name": sub[PIS + "stats.name.name"].to_numpy(),
                          "value": values.to_numpy(dtype=float)}).dropna(subset=["value"])
    return frame.groupby([RUN, "name"])["value"].mean().unstack("name")


def target_run_values(stats: pd.DataFrame, target: str, split: str) -> pd.Series:
    """The target's unperturbed run-level value per run."""
    if stats is None or not len(stats):
        return pd.Series(dtype=float)
    keep = ((_col(stats, "stats.name.name") == target) & (_col(stats, "stats.name.split") == split)).to_numpy()
    for c in ("stats.name.perturbation.name", "stats.name.sub_split"):
        keep &= _missing(_col(stats, c))
    sub = stats[keep]
    values = pd.to_numeric(sub["stats.mean"], errors="coerce")
    return pd.Series(values.to_numpy(dtype=float), index=sub[RUN].to_numpy()).dropna().groupby(level=0).first()


def choose_proxy(train_stats: pd.DataFrame, train_per_instance_stats: pd.DataFrame, target: str,
                 split: str) -> Proxy:
    """The proxy of ``target`` on ``split``, chosen from the train runs only (rule in the module docstring)."""
    target_values = target_run_values(train_stats, target, split)
    means = run_means(train_per_instance_stats, split)
    runs = [r for r in target_values.index if r in means.index]
    if len(runs) < MIN_PROXY_RUNS:
        return Proxy(target, split, None, f"only {len(runs)} train run(s) report {target} with per-instance stats "
                                          f"(need >= {MIN_PROXY_RUNS})", len(runs))
    y = target_values.loc[runs].to_numpy(dtype=float)
    if np.ptp(y) == 0:
        return Proxy(target, split, None, f"{target} is constant across the {len(runs)} train runs", len(runs))
    best = None
    for name in sorted(c for c in means.columns if c != target):
        x = means.loc[runs, name].to_numpy(dtype=float)
        ok = np.isfinite(x)
        if ok.sum() < MIN_PROXY_RUNS or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
            continue
        r = float(np.corrcoef(x[ok], y[ok])[0, 1])
        if not r > 0:
            continue
        mae = float(np.abs(x[ok] - y[ok]).mean())
        cand = (mae, -r, name, int(ok.sum()))
        if best is None or cand < best:
            best = cand
    if best is None:
        return Proxy(target, split, None, f"no per-instance stat tracks {target} across the {len(runs)} train runs "
                                          "(none positively correlated)", len(runs))
    mae, neg_r, name, n = best
    return Proxy(target, split, name, "", n, mae, -neg_r)


def proxied_targets(targets: pd.DataFrame, name: str) -> pd.DataFrame:
    """``targets`` rows (columns of :attr:`Corpus.targets`) with the stat name replaced by the proxy's ``name``.

    Feeding them to :func:`magnet.protocol.corpus.instance_values` gives the
    proxy's per-instance values under the original ``target.key`` (perturbation
    variants aggregated by HELM's rules, as for any target).
    """
    out = targets.copy()
    out["stats.name.name"] = name
    return out


def runs_with_instance_stat(per_instance_stats: pd.DataFrame, name: str, split: str) -> set:
    """Runs that have per-instance values of stat ``name`` on ``split`` (any perturbation)."""
    pis = per_instance_stats
    if pis is None or not len(pis) or PIS + "stats.name.name" not in pis:
        return set()
    keep = ((pis[PIS + "stats.name.name"] == name) & (_col(pis, PIS + "stats.name.split") == split)).to_numpy()
    keep &= pd.to_numeric(pis[PIS + "stats.mean"], errors="coerce").notna().to_numpy()
    return set(pis.loc[keep, RUN])


def proxy_instance_values(targets: pd.DataFrame, per_instance_stats: pd.DataFrame, train_stats: pd.DataFrame,
                          train_per_instance_stats: pd.DataFrame) -> tuple[pd.DataFrame, list[Proxy]]:
    """Proxy per-instance values of the targets that have none, and the proxies chosen.

    ``targets``: rows as in :attr:`magnet.protocol.corpus.Corpus.targets` (eval runs);
    ``per_instance_stats``: the eval runs' per-instance stats (all or only revealed instances);
    the proxy of each (target name, split) is chosen from ``train_stats`` and
    ``train_per_instance_stats`` only. Returns ``(values, proxies)``: values with
    columns ``run_spec.name, target.key, instance_id, value, proxy``.
    """
    columns = [RUN, "target.key", "instance_id", "value", "proxy"]
    pieces, proxies = [], []
    for (name, split), t in targets.groupby(["stats.name.name", "stats.name.split"], sort=True):
        # Runs with per-instance stats, none of them this target's: the ones a proxy can stand in for.
        lacking = t[t[RUN].isin(set(per_instance_stats[RUN]))
                    & ~t[RUN].isin(runs_with_instance_stat(per_instance_stats, name, split))]
        if not len(lacking):
            continue
        proxy = choose_proxy(train_stats, train_per_instance_stats, name, split)
        proxies.append(proxy)
        if proxy.stat is None:
            continue
        values = instance_values(per_instance_stats[per_instance_stats[RUN].isin(set(lacking[RUN]))],
                                 proxied_targets(lacking, proxy.stat))
        if len(values):
            pieces.append(values.assign(proxy=proxy.stat))
    values = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(columns=columns)
    return values, proxies


def fold_proxy_baselines(corpus, folds, revealed: dict[str, list[str]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``revealed_mean`` of proxied targets under a split's folds, and the proxy chosen in each fold.

    Each fold's proxies are chosen from its train runs (:func:`choose_proxy`)
    and averaged over its eval runs' revealed instances. Returns
    ``(baselines, choices)``: baselines with ``run_spec.name, target.key,
    revealed_mean, baseline_proxy``; choices with ``fold, target.name,
    target.split, proxy, reason, label``.
    """
    have = set(zip(corpus.instance_values[RUN], corpus.instance_values["target.key"]))
    targets = corpus.targets
    pis, stats = corpus.per_instance_stats, corpus.stats
    need = [(r, k) not in have for r, k in zip(targets[RUN], targets["target.key"])]
    targets = targets[need]
    rows, choices = [], []
    pairs = pd.DataFrame([(run, i) for run, ids in revealed.items() for i in ids], columns=[RUN, "instance_id"])
    for fold in folds if len(targets) else []:
        t = targets[targets[RUN].isin(set(fold.eval_runs))]
        if not len(t):
            continue
        train = set(fold.train_runs)
        values, proxies = proxy_instance_values(t, pis[pis[RUN].isin(set(fold.eval_runs))],
                                                stats[stats[RUN].isin(train)], pis[pis[RUN].isin(train)])
        choices += [(fold.index, p.target, p.split, p.stat, p.reason, p.label()) for p in proxies]
        if len(values):
            got = values.merge(pairs, on=[RUN, "instance_id"])
            mean = got.groupby([RUN, "target.key", "proxy"], sort=False)["value"].mean().reset_index()
            rows.append(mean.rename(columns={"value": "revealed_mean", "proxy": "baseline_proxy"}))
    baselines = pd.concat(rows, ignore_index=True) if rows else \
        pd.DataFrame(columns=[RUN, "target.key", "revealed_mean", "baseline_proxy"])
    choices = pd.DataFrame(choices, columns=["fold", "target.name", "target.split", "proxy", "reason", "label"])
    return baselines, choices


def with_proxy_baselines(baselines: pd.DataFrame, corpus, folds, revealed: dict[str, list[str]]):
    """``baselines`` (from :func:`magnet.protocol.baselines.compute_baselines`) completed by the proxies of a split.

    Rows whose target has no per-instance values get their ``revealed_mean``
    from the proxy chosen in their fold; the column ``baseline_proxy`` names it
    (None elsewhere). Returns ``(baselines, choices)`` (see :func:`fold_proxy_baselines`).
    """
    proxied, choices = fold_proxy_baselines(corpus, folds, revealed)
    out = baselines.copy()
    if "revealed_mean" not in out:
        out["revealed_mean"] = np.nan
    out["baseline_proxy"] = pd.Series([None] * len(out), index=out.index, dtype=object)
    if len(proxied):
        merged = out[[RUN, "target.key"]].merge(proxied, on=[RUN, "target.key"], how="left")
        fill = out["revealed_mean"].isna().to_numpy() & merged["revealed_mean"].notna().to_numpy()
        out.loc[fill, "revealed_mean"] = merged.loc[fill, "revealed_mean"].to_numpy(dtype=float)
        out.loc[fill, "baseline_proxy"] = merged.loc[fill, "baseline_proxy"].to_numpy()
    return out, choices
