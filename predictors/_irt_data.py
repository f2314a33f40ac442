"""Item-level data of a fold for the IRT-based predictors: responses, items, guessing floors, per-run item sets.

An *item* is one instance of one scenario cell (:func:`predictors._common.cell_of`
of the unperturbed stat): the same instance id answered by different models
in runs of the same scenario configuration is the same item (HELM draws the
same eval instances for every model), and a data-augmented run's original
instances are the items of its plain sibling run.

:func:`item_data` collects every observed (model, item) outcome: the train
runs' per-instance values and the eval runs' revealed ones. :func:`run_items`
lists, for each eval run, its revealed outcomes, the outcomes of its other
items that are already known for the same model (e.g. from a train sibling
run: the same prompt to the same model), and the items still unknown.

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> from magnet.protocol.corpus import Corpus
    >>> from magnet.protocol.splits import fold_inputs, make_folds, reveal
    >>> from predictors._common import prepare
    >>> corpus = Corpus.load(HelmOutputs.demo(preset="small"))
    >>> fold = make_folds(corpus.run_specs, "leave-one-model-out")[0]
    >>> data = prepare(**fold_inputs(corpus, fold, reveal(corpus, 5)).as_kwargs(False))
    >>> items = item_data(data)
    >>> len(items.responses) > 0 and set(items.responses["source"]) == {"train", "revealed"}
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from predictors._common import RUN, FoldData
from predictors._revealed import STATE


@dataclass
class ItemData:
    """Observed outcomes with integer codes, ready for :class:`predictors._models.JointIRT`."""

    responses: pd.DataFrame  # model, cell, instance_id, value, source, run + codes m, c, i
    models: list
    cells: list
    items: list  # (cell, instance_id)
    item_cell: np.ndarray
    guess: np.ndarray

    def codes(self):
        r = self.responses
        return r["m"].to_numpy(), r["c"].to_numpy(), r["i"].to_numpy(), r["value"].to_numpy(dtype=float)


def _guess_by_run(states: pd.DataFrame | None) -> dict:
    """``1 / number of options`` of multiple-choice runs (median over their requests); 0 otherwise."""
    if states is None or not len(states) or STATE + "output_mapping" not in states:
        return {}
    out = {}
    for run, maps in states.groupby(RUN)[STATE + "output_mapping"]:
        sizes = [len(x) for x in maps if isinstance(x, dict) and len(x) > 0]
        out[run] = float(np.median([1.0 / s for s in sizes])) if sizes else 0.0
    return out


def item_data(data: FoldData, exclude_revealed_runs: set | None = None, include_revealed: bool = True) -> ItemData:
    """All observed (model, item) outcomes of the fold (train per-instance values + revealed ones)."""
    eval_cells = set(data.main_targets()["cell"])
    ti = data.train_instances("main")
    ti = ti[(ti["key"] == ti[RUN].map(data.train_specs.set_index(RUN)["main_name"])) | ti["cell"].isin(eval_cells)]
    parts = [pd.DataFrame({RUN: ti[RUN], "model": ti["model"], "cell": ti["cell"], "instance_id": ti["instance_id"],
                           "value": ti["value"].astype(float), "source": "train"})]
    mt = data.main_targets()[[RUN, "key", "model", "cell"]]
    rv = data.revealed.merge(mt, on=[RUN, "key"])
    if include_revealed:
        if exclude_revealed_runs:
            rv_used = rv[~rv[RUN].isin(exclude_revealed_runs)]
        else:
            rv_used = rv
        parts.append(pd.DataFrame({RUN: rv_used[RUN], "model": rv_used["model"], "cell": rv_used["cell"],
                                   "instance_id": rv_used["instance_id"], "value": rv_used["value"].astype(float),
                                   "source": "revealed"}))
    resp = pd.concat(parts, ignore_index=True).dropna(subset=["value"])
    models = sorted(set(resp["model"]) | set(mt["model"]))
    cells = sorted(set(resp["cell"]) | set(mt["cell"]))
    all_items = pd.concat([resp[["cell", "instance_id"]], rv[["cell", "instance_id"]]]).drop_duplicates()
    items = sorted(zip(all_items["cell"], all_items["instance_id"]))
    mi = {m: j for j, m in enumerate(models)}
    ci = {c: j for j, c in enumerate(cells)}
    ii = {it: j for j, it in enumerate(items)}
    # one outcome per (model, item): siblings answer the same prompt
    resp = resp.groupby(["model", "cell", "instance_id"], as_index=False).agg(
        value=("value", "mean"), source=("source", "first"), run=(RUN, "first"))
    resp["m"] = resp["model"].map(mi)
    resp["c"] = resp["cell"].map(ci)
    resp["i"] = [ii[(c, i)] for c, i in zip(resp["cell"], resp["instance_id"])]
    guess_run = {**_guess_by_run(data.train_states), **_guess_by_run(data.eval_states)}
    info = pd.concat([data.train_specs[[RUN, "scenario"]], data.eval[[RUN, "scenario"]]])
    g_scen = pd.Series([guess_run.get(r, np.nan) for r in info[RUN]], index=info["scenario"].to_numpy())
    g_scen = g_scen.groupby(level=0).median()
    guess = np.array([float(np.nan_to_num(g_scen.get(c.split("|")[0], 0.0))) for c in cells])
    # a guessing floor applies to the match metrics of multiple-choice scenarios only
    guess = np.where([c.split("|")[-1].split("@")[0] in ("exact_match", "quasi_exact_match", "prefix_exact_match",
                                                           "quasi_prefix_exact_match") for c in cells], guess, 0.0)
    item_cell = np.array([ci[c] for c, _ in items], dtype=int)
    return ItemData(resp, models, cells, items, item_cell, guess)


def run_items(data: FoldData, items: ItemData) -> pd.DataFrame:
    """For each eval main target: its items with status ``revealed`` / ``known`` / ``unknown`` and outcome.

    Columns: ``run_spec.name, key, n, k, m, c, i, status, value`` (``value``
    NaN for unknown items), plus one row per eval target with ``i = -1``
    and ``count`` for items the fold has never seen (e.g. a scenario
    without train runs), which get the cell's new-item probability.
    """
    mi = {m: j for j, m in enumerate(items.models)}
    ci = {c: j for j, c in enumerate(items.cells)}
    ii = {it: j for j, it in enumerate(items.items)}
    known = {(m, i): v for m, i, v in zip(items.responses["m"], items.responses["i"], items.responses["value"])}
    cell_ids: dict[str, list] = {}
    for c, iid in items.items:
        cell_ids.setdefault(c, []).append(iid)
    rev = data.revealed
    rows = []
    rm = data.revealed_main()
    rm = rm[rm["main"]].merge(data.main_targets()[[RUN, "key", "model", "cell"]], on=[RUN, "key"])
    for run, key, model, cell, n in zip(rm[RUN], rm["key"], rm["model"], rm["cell"], rm["n"]):
        m, c = mi[model], ci[cell]
        r = rev[(rev[RUN] == run) & (rev["key"] == key)]
        rids = dict(zip(r["instance_id"], r["value"].astype(float)))
        for iid, v in rids.items():
            rows.append((run, key, n, m, c, ii[(cell, iid)], "revealed", v, 1))
        others = [iid for iid in cell_ids.get(cell, []) if iid not in rids]
        need = max(int(n) - len(rids), 0)
        scale = need / len(others) if len(others) > need and others else 1.0
        for iid in others:
            j = ii[(cell, iid)]
            v = known.get((m, j))
            rows.append((run, key, n, m, c, j, "known" if v is not None else "unknown",
                         v if v is not None else np.nan, scale))
        missing = need - min(len(others), need)
        if missing > 0:
            rows.append((run, key, n, m, c, -1, "new", np.nan, missing))
    out = pd.DataFrame(rows, columns=[RUN, "key", "n", "m", "c", "i", "status", "value", "count"])
    return out


def full_run_estimate(run_table: pd.DataFrame, p_item: np.ndarray, p_new: np.ndarray) -> pd.DataFrame:
    """``(sum of revealed and known outcomes + sum of predicted P over unknown items) / n`` per eval target.

    ``p_item``/``p_new``: per row of ``run_table``, the model's P(correct)
    for that item / for a new item of the cell.
    """
    t = run_table
    status = t["status"].to_numpy()
    value = t["value"].to_numpy(dtype=float)
    p = np.where(status == "new", p_new, p_item)
    contrib = np.where(np.isin(status, ["revealed", "known"]), value, p) * t["count"].to_numpy(dtype=float)
    s = pd.DataFrame({RUN: t[RUN], "key": t["key"], "n": t["n"], "x": contrib})
    g = s.groupby([RUN, "key"], sort=False).agg(n=("n", "first"), x=("x", "sum")).reset_index()
    g["value"] = g["x"] / np.maximum(g["n"].astype(float), 1.0)
    return g[[RUN, "key", "value"]]
