"""What the built-in predictors share: one tidy view of a fold's inputs, and the way answers are written.

:func:`prepare` turns the five (six) frames a predictor receives into a
:class:`FoldData`:

* ``targets``: one row per eval run and *target variant* to predict: the
  unperturbed stat of every name in ``magnet.target_names`` (on
  ``magnet.target_split``) and, as a bonus, its perturbation variants
  (``robustness``/``fairness`` worst case, and ``perturbed`` /
  ``original`` / ``worst`` of each perturbation). Variants are taken from
  the train stats of runs with the same scenario configuration (data
  augmentation included); without such a train run, the robustness and
  fairness variants seen in any train run and the perturbations present in
  the run's revealed request states;
* ``train``: the train runs' values of every variant key of interest, with
  each run's model, scenario (run name without model and data augmentation,
  :func:`magnet.protocol.splits.scenario_of`) and *cell* (the scenario for the
  unperturbed stat, the scenario plus augmentation for a perturbation
  variant: an augmented run's unperturbed stat is over the same original
  instances as its plain sibling run's);
* ``train_main``: one main value per train run. Train run specs do not say
  which stat is a run's main metric; it is taken from eval runs of the same
  HELM groups (``run_spec.groups``) or scenario, else the *most specific*
  eval target name the run reports (the one fewest train runs have);
* ``revealed``: per-instance values of every eval target variant over the
  revealed instances, recomputed from the revealed request states
  (:mod:`predictors._revealed`), and the revealed completions' mean logprob;
* train per-instance values on demand (:meth:`FoldData.train_instances`),
  from ``train_per_instance_stats_df`` when given, else from the train
  request states.

:func:`write_predictions` turns a table of predicted values into the
``{run: [Stat]}`` answer and guarantees the contract: every eval run and
every target gets a finite value (missing ones fall back to the train mean
of the same key, then of the same stat name; with neither the predictor
abstains for that target rather than give a number on another scale),
clipped to the range the stat can take. :func:`trust_revealed` is the last
step of every predictor that combines the revealed sample with train-run
information: it weighs the two by their estimated error variances.

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> from magnet.protocol.corpus import Corpus
    >>> from magnet.protocol.splits import fold_inputs, make_folds, reveal
    >>> corpus = Corpus.load(HelmOutputs.demo(preset="small"))
    >>> fold = make_folds(corpus.run_specs, "leave-one-model-out")[0]
    >>> inputs = fold_inputs(corpus, fold, reveal(corpus, 5))
    >>> data = prepare(**inputs.as_kwargs(False))
    >>> sorted(data.targets["key"].unique())[:2]
    ['exact_match', 'exact_match@fairness/worst']
    >>> int(data.revealed_main()["k"].max())
    5
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from magnet.protocol.corpus import scenario_label, target_key
from magnet.helm_objects import make_stat
from magnet.predictions import ABSTAINED, noted
from magnet.protocol.splits import NUM_EVAL_INSTANCES, NUM_REVEALED, TARGET_NAMES, TARGET_SPLIT, scenario_of

from magnet.protocol.proxies import Proxy, choose_proxy

from predictors._revealed import METRIC_FUNCTIONS, STATE, _is_missing, instance_table, variant_values

RUN = "run_spec.name"
MODEL = "run_spec.adapter_spec.model"
SN = "stats.name."


def stable_seed(*parts) -> int:
    """A 64-bit seed from any parts (stable across processes, unlike ``hash``).

    Example:
        >>> stable_seed(0, "run") == stable_seed(0, "run")
        True
    """
    return int.from_bytes(hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()[:8], "big")


def _label(specs: pd.DataFrame) -> pd.Series:
    return scenario_label(specs)


def _groups_key(x) -> str:
    if isinstance(x, (list, tuple, np.ndarray)):
        return "|".join(map(str, x))
    return "" if _is_missing(x) else str(x)


def _none(x):
    return None if _is_missing(x) else x


@dataclass
class FoldData:
    """A predictor's inputs in the shape the built-in predictors use (see the module docstring)."""

    eval: pd.DataFrame
    targets: pd.DataFrame
    train: pd.DataFrame
    train_main: pd.DataFrame
    revealed: pd.DataFrame
    revealed_logprob: pd.Series
    train_specs: pd.DataFrame
    train_states: pd.DataFrame | None
    train_pis: pd.DataFrame | None
    eval_states: pd.DataFrame | None
    proxies: dict = field(default_factory=dict)
    abstained: dict = field(default_factory=dict)
    revealed_source: str = "request states"
    raw: dict = field(default_factory=dict, repr=False)
    _cache: dict = field(default_factory=dict, repr=False)

    # ---------------------------------------------------------------- eval side

    def main_targets(self) -> pd.DataFrame:
        """The unperturbed targets: one row per (eval run, target name)."""
        return self.targets[self.targets["main"]]

    def revealed_main(self) -> pd.DataFrame:
        """Per (eval run, key): revealed mean ``rm``, count ``k``, and ``n``, for every target row."""
        if "revealed_main" not in self._cache:
            agg = (self.revealed.groupby([RUN, "key"])["value"].agg(["mean", "count"])
                   .rename(columns={"mean": "rm", "count": "k"}).reset_index())
            t = self.targets[[RUN, "key", "metric", "main", "n"]].merge(agg, on=[RUN, "key"], how="left")
            t["k"] = t["k"].fillna(0).astype(int)
            self._cache["revealed_main"] = t
        return self._cache["revealed_main"]

    # ---------------------------------------------------------------- train side

    def train_instances(self, keys: str = "main") -> pd.DataFrame:
        """Per-instance values of the train runs: ``run, key, instance_id, value`` (+ model, scenario, cell).

        ``keys="main"``: each train run's unperturbed stat for every eval
        target name it reports; ``"all"``: also the perturbation variants of
        the eval targets.
        """
        if ("ti", keys) in self._cache:
            return self._cache[("ti", keys)]
        tv = self.train
        if keys == "main":
            tv = tv[tv["main"]]
        variants = tv[[RUN, "metric", "key", "pert_name", "computed_on", "split"]].drop_duplicates([RUN, "key"])
        if self.train_pis is not None and len(self.train_pis):
            values = per_instance_values(self.train_pis, variants, self.proxy_of)
        else:  # no per-instance stats: only the metrics HELM's reference scoring defines are rebuilt
            values = instance_table(self.train_states, variants[variants["metric"].isin(METRIC_FUNCTIONS)])
        info = self.train_specs[[RUN, "model", "scenario", "label"]]
        values = values.merge(info, on=RUN, how="left")
        values["cell"] = [cell_of(s, lab, k) for s, lab, k in zip(values["scenario"], values["label"], values["key"])]
        values["value"] = values["value"].astype(float)
        self._cache[("ti", keys)] = values
        return values

    def proxy_of(self, name: str, split: str) -> Proxy:
        """The per-instance proxy of a run-level-only target, chosen from the train runs only (``choose_proxy``)."""
        if (name, split) not in self.proxies:
            self.proxies[(name, split)] = choose_proxy(self.raw.get("train_stats_df"), self.train_pis, name, split)
        return self.proxies[(name, split)]

    # ---------------------------------------------------------------- fallbacks

    def fallback(self, key: str, metric: str) -> float:
        """Train mean of the key, else of the stat name; NaN when no train run has the stat (then no prediction)."""
        return self.fallback_source(key, metric)[0]

    def fallback_source(self, key: str, metric: str) -> tuple[float, str]:
        """:meth:`fallback` and the note that says which one served (empty when none did)."""
        for sub, what in ((self.train[self.train["key"] == key], "the target's mean over all train runs"),
                          (self.train[self.train["metric"] == metric], "the stat's mean over all train runs and "
                                                                       "variants")):
            v = sub["value"].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            if v.size:
                return float(v.mean()), f"fallback: {what} (no estimate of its own for the run)"
        return float("nan"), ""

    def value_range(self, key: str, metric: str) -> tuple[float, float]:
        """The range predictions are clipped to: [0, 1] widened to the train values of the stat."""
        v = self.train.loc[self.train["metric"] == metric, "value"].to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        lo, hi = 0.0, 1.0
        if v.size:
            lo, hi = min(lo, float(v.min())), max(hi, float(v.max()))
        return lo, hi


def cell_of(scenario: str, label: str, key: str) -> str:
    """The matrix column of a (run, key): the scenario for an unperturbed key, scenario+augmentation otherwise.

    Example:
        >>> cell_of("boolq", "boolq+typo0.1", "exact_match")
        'boolq|exact_match'
        >>> cell_of("boolq", "boolq+typo0.1", "exact_match@typos/worst")
        'boolq+typo0.1|exact_match@typos/worst'
    """
    return f"{scenario if '@' not in key else label}|{key}"


def _counted_means(frame: pd.DataFrame, prefix: str) -> np.ndarray:
    """``mean`` of every stat row as floats; a stat with ``count`` 0 is a missing value (NaN), never a zero.

    Example:
        >>> f = pd.DataFrame({"stats.mean": [0.0, 0.5, None], "stats.count": [0, 2, 1]})
        >>> _counted_means(f, "stats.").tolist()
        [nan, 0.5, nan]
    """
    mean = frame[prefix + "mean"] if prefix + "mean" in frame else pd.Series(np.nan, index=frame.index)
    values = pd.to_numeric(mean, errors="coerce").to_numpy(dtype=float)
    if prefix + "count" in frame:
        count = pd.to_numeric(frame[prefix + "count"], errors="coerce").to_numpy(dtype=float)
        values = np.where(count == 0, np.nan, values)
    return values


def _pis_scores(pis: pd.DataFrame, metrics: set) -> pd.DataFrame:
    """Per-instance stats in the shape of :func:`predictors._revealed.request_scores` rows.

    The perturbation of a per-instance stat is read from
    ``per_instance_stats.perturbation.*`` or, when absent, from
    ``per_instance_stats.stats.name.perturbation.*`` (both layouts occur).
    """
    P = "per_instance_stats."
    sub = pis[pis[P + "stats.name.name"].isin(metrics)]
    if P + "stats.name.sub_split" in sub:
        sub = sub[sub[P + "stats.name.sub_split"].map(_is_missing).astype(bool)]

    def col(*names):
        for nm in names:
            if P + nm in sub:
                return sub[P + nm].to_numpy()
        return np.array([None] * len(sub), dtype=object)

    return pd.DataFrame({
        RUN: sub[RUN].to_numpy(), "instance_id": col("instance_id"), "split": col("stats.name.split"),
        "perturbation": [_none(x) for x in col("perturbation.name", "stats.name.perturbation.name")],
        "robustness": col("perturbation.robustness", "stats.name.perturbation.robustness"),
        "fairness": col("perturbation.fairness", "stats.name.perturbation.fairness"),
        "metric": col("stats.name.name"), "value": _counted_means(sub, P + "stats."),
    })


def per_instance_values(pis: pd.DataFrame, variants: pd.DataFrame, proxy_of=None) -> pd.DataFrame:
    """Per-instance values of target variants from per-instance stats: ``run_spec.name, key, instance_id, value``.

    ``variants`` has ``run_spec.name, metric, key, pert_name, computed_on, split``.
    Each variant is read from the per-instance stats of its own metric; a run
    that has per-instance stats but none of the metric (a run-level-only
    metric such as ``bbq_accuracy``) gets the values of ``proxy_of(metric,
    split)``'s stat when it has one (chosen from train runs only). Stats with
    count 0 are missing values.

    Example:
        >>> P = "per_instance_stats."
        >>> pis = pd.DataFrame({RUN: ["r", "r"], P + "instance_id": ["a", "b"], P + "stats.name.name": ["em", "em"],
        ...                     P + "stats.name.split": ["test"] * 2, P + "stats.mean": [1.0, 0.0],
        ...                     P + "stats.count": [1, 0]})
        >>> v = pd.DataFrame({RUN: ["r"], "metric": ["em"], "key": ["em"], "pert_name": [None],
        ...                   "computed_on": [None], "split": ["test"]})
        >>> per_instance_values(pis, v)["value"].tolist()
        [1.0]
    """
    cols = [RUN, "key", "instance_id", "value"]
    P = "per_instance_stats."
    if pis is None or not len(pis) or not len(variants) or P + "stats.name.name" not in pis \
            or P + "instance_id" not in pis:
        return pd.DataFrame(columns=cols)
    sub = pis[pis[RUN].isin(set(variants[RUN]))]
    values = variant_values(_pis_scores(sub, set(variants["metric"])), variants)
    values = values.dropna(subset=["value"]) if len(values) else values
    if proxy_of is None:
        return values
    have = set(zip(values[RUN], values["key"])) if len(values) else set()
    with_pis = set(sub[RUN])
    lacking = variants[[(r, k) not in have and r in with_pis for r, k in zip(variants[RUN], variants["key"])]]
    pieces = [values]
    for (metric, split), g in lacking.groupby(["metric", "split"], dropna=False):
        proxy = proxy_of(metric, "test" if _is_missing(split) else split)
        if proxy.stat is None:
            continue
        pv = variant_values(_pis_scores(sub[sub[RUN].isin(set(g[RUN]))], {proxy.stat}), g.assign(metric=proxy.stat))
        pieces.append(pv.dropna(subset=["value"]) if len(pv) else pv)
    pieces = [p for p in pieces if len(p)]
    return pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(columns=cols)


def _logprobs(states: pd.DataFrame | None) -> pd.DataFrame:
    cols = [RUN, "instance_id", "logprob"]
    if states is None or not len(states) or STATE + "result.completions" not in states:
        return pd.DataFrame(columns=cols)  # no completions (e.g. request states rebuilt from per-instance stats)
    pert = states.get(STATE + "instance.perturbation.name")
    s = states if pert is None else states[pert.map(_is_missing).astype(bool)]
    rows = []
    for run, iid, comps in zip(s[RUN], s[STATE + "instance.id"], s[STATE + "result.completions"]):
        lp = np.nan
        if isinstance(comps, (list, tuple)) and comps:
            vals = [c.get("logprob") for c in comps if c.get("logprob") is not None]
            lp = max(vals) if vals else np.nan
        rows.append((run, iid, lp))
    out = pd.DataFrame(rows, columns=cols)
    return out.groupby([RUN, "instance_id"], sort=False)["logprob"].mean().reset_index()


def _spec_info(specs: pd.DataFrame) -> pd.DataFrame:
    out = specs[[RUN]].copy()
    out["model"] = specs[MODEL].astype(str) if MODEL in specs else specs[RUN].str.extract(r"model=([^,]*)")[0]
    out["scenario"] = scenario_of(specs).to_numpy()
    out["label"] = _label(specs).to_numpy()
    out["groups"] = [_groups_key(g) for g in specs["run_spec.groups"]] if "run_spec.groups" in specs else ""
    return out


def _stat_rows(stats: pd.DataFrame) -> pd.DataFrame:
    """Train stats as ``run, metric, split, pert_name, computed_on, robustness, fairness, key, value``."""
    get = lambda c: stats[c] if c in stats else pd.Series([None] * len(stats), index=stats.index)  # noqa: E731
    out = pd.DataFrame({
        RUN: stats[RUN].to_numpy(), "metric": get(SN + "name").to_numpy(), "split": get(SN + "split").to_numpy(),
        "sub_split": get(SN + "sub_split").to_numpy(),
        "pert_name": [_none(x) for x in get(SN + "perturbation.name")],
        "computed_on": [_none(x) for x in get(SN + "perturbation.computed_on")],
        "robustness": [_none(x) for x in get(SN + "perturbation.robustness")],
        "fairness": [_none(x) for x in get(SN + "perturbation.fairness")],
        "value": _counted_means(stats, "stats."),
    })
    out = out[out["sub_split"].map(_is_missing).astype(bool)].drop(columns="sub_split")
    out["key"] = [target_key(n, p, c) for n, p, c in zip(out["metric"], out["pert_name"], out["computed_on"])]
    return out.drop_duplicates([RUN, "key", "split"]).reset_index(drop=True)


def prepare(train_run_specs_df, train_scenario_states_df, train_stats_df, eval_run_specs_df,
            eval_scenario_states_df, train_per_instance_stats_df=None, eval_per_instance_stats_df=None) -> FoldData:
    """Assemble a :class:`FoldData` from a predictor's inputs (never modifies them).

    With ``eval_per_instance_stats_df`` (the revealed instances' per-instance
    stats) the revealed values of every target are read from it: the
    target metric's own values (LLM-judge scores included), or the proxy of
    a run-level-only metric. Without it they are rebuilt from the revealed
    request states, for the metrics HELM's reference scoring defines only
    (:data:`predictors._revealed.METRIC_FUNCTIONS`): another metric gets no
    revealed values rather than an exact match on another scale.
    """
    ev = eval_run_specs_df
    einfo = _spec_info(ev)
    einfo["n"] = ev[NUM_EVAL_INSTANCES].astype(int).to_numpy() if NUM_EVAL_INSTANCES in ev else 0
    einfo["k"] = ev[NUM_REVEALED].astype(int).to_numpy() if NUM_REVEALED in ev else 0
    einfo["names"] = [list(x) if isinstance(x, (list, tuple, np.ndarray)) else ["exact_match"]
                      for x in (ev[TARGET_NAMES] if TARGET_NAMES in ev else [None] * len(ev))]
    einfo["split"] = [("test" if _is_missing(x) else x)
                      for x in (ev[TARGET_SPLIT] if TARGET_SPLIT in ev else [None] * len(ev))]

    tinfo = _spec_info(train_run_specs_df) if train_run_specs_df is not None and len(train_run_specs_df) else \
        pd.DataFrame(columns=[RUN, "model", "scenario", "label", "groups"])
    stats = _stat_rows(train_stats_df) if train_stats_df is not None and len(train_stats_df) else \
        pd.DataFrame(columns=[RUN, "metric", "split", "pert_name", "computed_on", "robustness", "fairness", "key",
                              "value"])
    stats = stats[stats[RUN].isin(set(tinfo[RUN]))]

    # Which stat is each train run's main metric (train run specs do not say).
    eval_names = sorted({n for names in einfo["names"] for n in names})
    by_groups = {g: (names[0], split) for g, names, split in zip(einfo["groups"], einfo["names"], einfo["split"]) if g}
    by_scen = {s: (names[0], split) for s, names, split in zip(einfo["scenario"], einfo["names"], einfo["split"])}
    unpert = stats[stats["pert_name"].isna()]
    have = unpert.groupby(RUN).apply(lambda g: set(zip(g["metric"], g["split"])), include_groups=False).to_dict() \
        if len(unpert) else {}
    prevalence = unpert[unpert["metric"].isin(eval_names)].groupby("metric")[RUN].nunique().to_dict()
    main_name, main_split = {}, {}
    for run, g, s in zip(tinfo[RUN], tinfo["groups"], tinfo["scenario"]):
        avail = have.get(run, set())
        choice = by_groups.get(g) or by_scen.get(s)
        if choice and choice in avail:
            main_name[run], main_split[run] = choice
            continue
        splits = [sp for (_, sp) in avail]
        split = "test" if "test" in splits else (splits[0] if splits else "test")
        cands = sorted((prevalence.get(nm, 0), nm) for nm in eval_names if (nm, split) in avail)
        if cands:
            main_name[run], main_split[run] = cands[0][1], split
        elif ("exact_match", split) in avail:
            main_name[run], main_split[run] = "exact_match", split
    tinfo["main_name"] = tinfo[RUN].map(main_name)
    tinfo["main_split"] = tinfo[RUN].map(main_split)

    # Train values of every stat name of interest (eval target names and each run's main name).
    wanted = set(eval_names) | set(main_name.values())
    tv = stats[stats["metric"].isin(wanted)].merge(tinfo[[RUN, "model", "scenario", "label", "main_name",
                                                          "main_split"]], on=RUN)
    split_ok = [(sp == ms) if not _is_missing(ms) else sp == "test" for sp, ms in zip(tv["split"], tv["main_split"])]
    tv = tv[np.array(split_ok, dtype=bool)].copy()  # a boolean mask even when empty ([] would select no column)
    tv["main"] = tv["pert_name"].isna()
    tv["cell"] = [cell_of(s, lab, k) for s, lab, k in zip(tv["scenario"], tv["label"], tv["key"])]
    tv["is_main_name"] = tv["metric"] == tv["main_name"]
    tm = tv[tv["main"] & tv["is_main_name"]][[RUN, "model", "scenario", "label", "metric", "key", "cell", "value"]]

    # Target variants of each eval run.
    if eval_scenario_states_df is not None and len(eval_scenario_states_df):
        pert_col = eval_scenario_states_df.get(STATE + "instance.perturbation.name")
        present = {} if pert_col is None else (
            eval_scenario_states_df.assign(_p=pert_col).dropna(subset=["_p"]).groupby(RUN)["_p"]
            .agg(lambda s: set(s)).to_dict())
    else:
        present = {}
    variants_by = {}
    pv = tv[~tv["main"]]
    for (label, metric), g in pv.groupby(["label", "metric"]):
        variants_by[(label, metric)] = g.drop_duplicates("key")
    generic = {m: g.drop_duplicates("key") for m, g in pv.groupby("metric")}
    rows = []
    for run, label, names, split, n, k in zip(einfo[RUN], einfo["label"], einfo["names"], einfo["split"],
                                              einfo["n"], einfo["k"]):
        for name in names:
            rows.append((run, name, split, target_key(name, None, None), None, None, None, None, True, n))
            same = variants_by.get((label, name))
            if same is None:
                g = generic.get(name)
                if g is None:
                    continue
                mine = present.get(run, set())
                same = g[g["pert_name"].isin(["robustness", "fairness"]) | g["pert_name"].isin(mine)]
            for key, pn, co, rb, fa in zip(same["key"], same["pert_name"], same["computed_on"], same["robustness"],
                                           same["fairness"]):
                rows.append((run, name, split, key, pn, co, rb, fa, False, n))
    targets = pd.DataFrame(rows, columns=[RUN, "metric", "split", "key", "pert_name", "computed_on", "robustness",
                                          "fairness", "main", "n"])
    targets = targets.drop_duplicates([RUN, "key"]).reset_index(drop=True)
    targets = targets.merge(einfo[[RUN, "model", "scenario", "label"]], on=RUN, how="left")
    targets["cell"] = [cell_of(s, lab, k) for s, lab, k in zip(targets["scenario"], targets["label"], targets["key"])]

    lp = _logprobs(eval_scenario_states_df)
    revealed_logprob = lp.groupby(RUN)["logprob"].mean() if len(lp) else pd.Series(dtype=float)
    data = FoldData(eval=einfo, targets=targets, train=tv.reset_index(drop=True), train_main=tm.reset_index(drop=True),
                    revealed=pd.DataFrame(columns=[RUN, "key", "instance_id", "value"]),
                    revealed_logprob=revealed_logprob, train_specs=tinfo,
                    train_states=train_scenario_states_df, train_pis=train_per_instance_stats_df,
                    eval_states=eval_scenario_states_df,
                    raw={"train_run_specs_df": train_run_specs_df, "train_scenario_states_df": train_scenario_states_df,
                         "train_stats_df": train_stats_df, "eval_run_specs_df": eval_run_specs_df,
                         "eval_scenario_states_df": eval_scenario_states_df,
                         "train_per_instance_stats_df": train_per_instance_stats_df,
                         "eval_per_instance_stats_df": eval_per_instance_stats_df})
    if eval_per_instance_stats_df is not None:
        data.revealed = per_instance_values(eval_per_instance_stats_df, targets, data.proxy_of)
        data.revealed_source = "per-instance stats"
    else:
        data.revealed = instance_table(eval_scenario_states_df, targets[targets["metric"].isin(METRIC_FUNCTIONS)])
    return data


def write_predictions(data: FoldData, values: pd.DataFrame, value_col: str = "value",
                      run_notes: dict | None = None) -> dict[str, list]:
    """``{run: [Stat]}`` for every eval run and target; missing or non-finite values fall back (see module doc).

    A target with neither an estimate nor a train value of its metric gets no
    prediction (the predictor abstains for it; the reason in ``data.abstained``
    and, as an abstention, in the returned stats: :func:`magnet.predictions.noted`).
    A fallback is noted on its stat; ``run_notes`` (run -> text) adds the
    predictor's own remark on every target of a run (e.g. "the model has no
    train run"). The notes reach ``predictions.csv`` and the leaderboard's rows.

    ``values`` has columns ``run_spec.name``, ``key`` and ``value_col``.
    """
    got = {}
    if values is not None and len(values):
        got = {(r, k): v for r, k, v in zip(values[RUN], values["key"], values[value_col])}
    out: dict[str, list] = {run: [] for run in data.eval[RUN]}
    fallbacks: dict = {}
    for run, key, metric, split, pn, co, rb, fa in zip(
            data.targets[RUN], data.targets["key"], data.targets["metric"], data.targets["split"],
            data.targets["pert_name"], data.targets["computed_on"], data.targets["robustness"],
            data.targets["fairness"]):
        pert = None
        if pn is not None:
            pert = {"name": pn, "computed_on": co}
            if rb is not None:
                pert["robustness"] = bool(rb)
            if fa is not None:
                pert["fairness"] = bool(fa)
        v, note = got.get((run, key)), None
        if v is None or not np.isfinite(v):
            if key not in fallbacks:
                fallbacks[key] = data.fallback_source(key, metric)
            v, note = fallbacks[key]
        if run_notes and run_notes.get(run):
            note = f"{note}; {run_notes[run]}" if note else run_notes[run]
        if not np.isfinite(v):  # abstain: no estimate and no train value of this metric (no number on another scale)
            reason = f"no train run reports {metric} and no revealed value of it"
            data.abstained[(run, key)] = reason
            out[run].append(noted(make_stat(f"predicted_{metric}", float("nan"), split=split, perturbation=pert),
                                  ABSTAINED + reason))
            continue
        lo, hi = data.value_range(key, metric) if (key, "range") not in fallbacks else fallbacks[(key, "range")]
        fallbacks[(key, "range")] = (lo, hi)
        stat = make_stat(f"predicted_{metric}", float(np.clip(v, lo, hi)), split=split, perturbation=pert)
        out[run].append(noted(stat, note) if note else stat)
    return out


def exact_part(data: FoldData, p_unrevealed: pd.DataFrame, col: str = "p") -> pd.DataFrame:
    """Combine the known revealed part with an estimate of the unrevealed mean: ``(k*rm + (n-k)*p) / n``.

    ``p_unrevealed`` has ``run_spec.name, key`` and ``col``; only main
    (unperturbed) keys get the exact k/n part (a variant's instance count
    is not known), variants keep ``p``. Returns ``run_spec.name, key, value``.
    """
    rm = data.revealed_main()
    t = rm.merge(p_unrevealed[[RUN, "key", col]], on=[RUN, "key"], how="left")
    n = t["n"].to_numpy(dtype=float)
    k = np.minimum(t["k"].to_numpy(dtype=float), n)
    p = t[col].to_numpy(dtype=float)
    r = np.nan_to_num(t["rm"].to_numpy(dtype=float))
    with np.errstate(invalid="ignore", divide="ignore"):
        full = np.where((n > 0) & t["main"].to_numpy(), (k * r + (n - k) * p) / np.maximum(n, 1), p)
    return pd.DataFrame({RUN: t[RUN], "key": t["key"], "value": full})


def variant_offsets(data: FoldData, use_revealed: bool = True, k0: float = 10.0) -> pd.DataFrame:
    """Estimated ``variant - unperturbed`` offset of every perturbation-variant target: ``run, key, offset``.

    From train runs of the same cell (same scenario, augmentation and
    variant: the mean of ``variant value - unperturbed value`` of the
    same run) and, with ``use_revealed``, from the revealed instances
    (mean per-instance difference), blended as ``(k_v * revealed + k0 *
    train) / (k_v + k0)``.
    """
    t = data.targets[~data.targets["main"]]
    if not len(t):
        return pd.DataFrame(columns=[RUN, "key", "offset"])
    tv = data.train
    main = tv[tv["main"]].set_index([RUN, "metric"])["value"]
    var = tv[~tv["main"]]
    base = main.reindex(list(zip(var[RUN], var["metric"]))).to_numpy()
    diffs = pd.DataFrame({"cell": var["cell"].to_numpy(), "d": var["value"].to_numpy() - base}).dropna()
    train_off = diffs.groupby("cell")["d"].mean()
    rev_off = pd.Series(dtype=float)
    rev_n = pd.Series(dtype=float)
    if use_revealed and len(data.revealed):
        r = data.revealed
        main_keys = data.targets[data.targets["main"]][[RUN, "key", "metric"]].rename(columns={"key": "main_key"})
        vk = t[[RUN, "key", "metric"]].merge(main_keys, on=[RUN, "metric"])
        rv = r.merge(vk, on=[RUN, "key"])
        rm = r.rename(columns={"key": "main_key", "value": "base"})
        rv = rv.merge(rm, on=[RUN, "main_key", "instance_id"])
        rv["d"] = rv["value"] - rv["base"]
        g = rv.groupby([RUN, "key"])["d"]
        rev_off, rev_n = g.mean(), g.count()
    rows = []
    for run, key, cell in zip(t[RUN], t["key"], t["cell"]):
        tr = train_off.get(cell, np.nan)
        rv, kv = rev_off.get((run, key), np.nan), float(rev_n.get((run, key), 0.0))
        if np.isfinite(tr) and np.isfinite(rv):
            off = (kv * rv + k0 * tr) / (kv + k0)
        elif np.isfinite(tr):
            off = tr
        elif np.isfinite(rv):
            off = kv * rv / (kv + k0)
        else:
            off = 0.0
        rows.append((run, key, off))
    return pd.DataFrame(rows, columns=[RUN, "key", "offset"])


def with_variants(data: FoldData, main_values: pd.DataFrame, use_revealed: bool = True) -> pd.DataFrame:
    """Add predictions of the perturbation variants: the run's unperturbed prediction plus :func:`variant_offsets`.

    ``main_values`` has ``run_spec.name, key, value`` for unperturbed keys.
    """
    off = variant_offsets(data, use_revealed)
    if not len(off):
        return main_values[[RUN, "key", "value"]]
    t = data.targets[~data.targets["main"]][[RUN, "key", "metric"]]
    mk = data.targets[data.targets["main"]][[RUN, "key", "metric"]].rename(columns={"key": "main_key"})
    t = t.merge(mk, on=[RUN, "metric"]).merge(off, on=[RUN, "key"])
    base = main_values.rename(columns={"key": "main_key", "value": "base"})[[RUN, "main_key", "base"]]
    t = t.merge(base, on=[RUN, "main_key"], how="left")
    t["value"] = t["base"] + t["offset"]
    return pd.concat([main_values[[RUN, "key", "value"]], t[[RUN, "key", "value"]]], ignore_index=True)


def _within_variance(data: FoldData) -> tuple[dict, float]:
    """Per-instance variance within a run, from the train runs: per cell (mean over its runs), and pooled."""
    ti = data.train_instances("main")
    if not len(ti):
        return {}, float("nan")
    ti = ti.dropna(subset=["value"])
    per_run = ti.groupby([RUN, "cell"])["value"].var(ddof=1).dropna().reset_index()
    if not len(per_run):
        return {}, float("nan")
    return per_run.groupby("cell")["value"].mean().to_dict(), float(per_run["value"].mean())


def _between_variance(data: FoldData) -> dict:
    """Per cell, the variance of the train runs' rates around the cell's mean, net of their sampling noise.

    From the train runs' per-instance values only: the variance over the
    cell's train runs of their means, less the mean of ``s2 / n`` (the
    within-run variance over the run's instance count), at least 0. Cells with
    fewer than two train runs are left out.

    Example:
        >>> from magnet.backends.helm.outputs import HelmOutputs
        >>> from magnet.protocol.corpus import Corpus
        >>> from magnet.protocol.splits import fold_inputs, make_folds, reveal
        >>> corpus = Corpus.load(HelmOutputs.demo(preset="small"))
        >>> fold = make_folds(corpus.run_specs, "leave-one-model-out")[0]
        >>> data = prepare(**fold_inputs(corpus, fold, reveal(corpus, 5)).as_kwargs(True))
        >>> tb = _between_variance(data)
        >>> len(tb) > 0 and all(0.0 <= v <= 0.25 for v in tb.values())
        True
    """
    ti = data.train_instances("main")
    if not len(ti):
        return {}
    g = ti.dropna(subset=["value"]).groupby([RUN, "cell"])["value"]
    runs = pd.DataFrame({"mean": g.mean(), "noise": g.var(ddof=1) / g.size()}).reset_index()
    out = {}
    for cell, d in runs.groupby("cell"):
        if len(d) >= 2:
            out[cell] = max(float(d["mean"].var(ddof=1) - d["noise"].mean()), 0.0)
    return out


def trust_revealed(data: FoldData, estimates: pd.DataFrame) -> pd.DataFrame:
    """Blend each main estimate's unrevealed part with the revealed mean, weighted by their estimated error variances.

    A predictor that combines train runs with the revealed sample gives a
    full-run estimate ``f``; with ``k`` of ``n`` instances revealed (mean
    ``rm``) its implied estimate of the run's rate is ``u = (n f - k rm) / (n - k)``.
    The revealed mean estimates the rate with variance ``s2 / k`` (``s2``: the
    per-instance variance within a run, from the train runs' per-instance
    values of the same cell, else of all cells, else of the revealed values);
    ``u`` with an error variance ``tau2``: the between-model variance of the
    cell's rates in the train runs (:func:`_between_variance`; train runs only,
    no weight is fitted to the eval runs), else the mean over the other cells,
    else the method of moments over the fold's eval targets,
    ``mean((rm - u)^2 - s2 / k)``, at least 0. That is the error variance of
    the cell's mean as an estimate: an upper bound for a ``u`` that uses the
    train runs well, so the weight leans to the revealed sample (measured on
    the demo and real suites in docs/benchmarks/builtins-on-real-helm.md).
    The rate is then ``u + w (rm - u)`` with ``w = tau2 / (tau2 + s2 / k)``
    (the empirical-Bayes weight): few revealed instances or a homogeneous cell
    keep ``u``, many revealed instances approach ``rm``, and a run whose
    instances are all revealed gets ``rm`` exactly. The prediction keeps the
    revealed outcomes: ``(k rm + (n - k) rate) / n``. Perturbation variants
    are left to :func:`with_variants`.

    ``estimates`` has ``run_spec.name, key, value``; returns the same columns.

    Example:
        >>> from magnet.backends.helm.outputs import HelmOutputs
        >>> from magnet.protocol.corpus import Corpus
        >>> from magnet.protocol.splits import fold_inputs, make_folds, reveal
        >>> corpus = Corpus.load(HelmOutputs.demo(preset="small"))
        >>> fold = make_folds(corpus.run_specs, "leave-one-model-out")[0]
        >>> data = prepare(**fold_inputs(corpus, fold, reveal(corpus, 5)).as_kwargs(True))
        >>> rm = data.revealed_main()
        >>> far = rm[[RUN, "key"]].assign(value=1.0)  # an estimate far from every revealed mean
        >>> out = trust_revealed(data, far).merge(rm, on=[RUN, "key"])
        >>> pulled = out[out["main"] & (out["rm"] < 1.0)]
        >>> len(pulled) > 0 and bool((pulled["value"] < 1.0).all())  # pulled toward the revealed means
        True
    """
    rm = data.revealed_main()
    rm = rm[rm["main"]]
    est = estimates[[RUN, "key", "value"]]
    t = est.merge(rm[[RUN, "key", "rm", "k", "n"]], on=[RUN, "key"], how="left")
    t = t.merge(data.targets[[RUN, "key", "cell"]], on=[RUN, "key"], how="left")
    n = t["n"].to_numpy(dtype=float)
    k = np.minimum(np.nan_to_num(t["k"].to_numpy(dtype=float)), n)
    r = t["rm"].to_numpy(dtype=float)
    f = t["value"].to_numpy(dtype=float)
    ok = np.isfinite(r) & (k > 0) & np.isfinite(f) & (n > 0)
    out = f.copy()
    full = ok & (k >= n)
    out[full] = r[full]
    part = ok & (k < n)
    if not part.any():
        return t.assign(value=out)[[RUN, "key", "value"]]
    by_cell, pooled = _within_variance(data)
    rv = data.revealed.merge(rm[[RUN, "key"]], on=[RUN, "key"])
    rev_var = rv.groupby([RUN, "key"])["value"].var(ddof=1)
    s2 = np.array([by_cell.get(c, pooled) if np.isfinite(by_cell.get(c, pooled)) else rev_var.get((run, key), np.nan)
                   for c, run, key in zip(t["cell"], t[RUN], t["key"])], dtype=float)
    s2 = np.where(np.isfinite(s2), s2, 0.25)
    with np.errstate(invalid="ignore", divide="ignore"):
        u = (n * f - k * r) / np.maximum(n - k, 1)
        v_r = s2 / np.maximum(k, 1)
    lo, hi = (np.nanmin(np.r_[r[part], f[part]]), np.nanmax(np.r_[r[part], f[part]]))
    u = np.clip(u, min(lo, 0.0), max(hi, 1.0))
    between = _between_variance(data)
    tau2 = np.array([between.get(c, np.nan) for c in t["cell"]], dtype=float)
    if not np.isfinite(tau2).any():
        tau2[:] = max(float(np.mean(((r - u) ** 2 - v_r)[part])), 0.0)
    tau2 = np.where(np.isfinite(tau2), tau2, np.nanmean(tau2))
    w = np.where(tau2 + v_r > 0, tau2 / (tau2 + v_r), 1.0)
    rate = u + w * (r - u)
    out[part] = ((k * r + (n - k) * rate) / n)[part]
    return t.assign(value=out)[[RUN, "key", "value"]]
