"""A corpus prepared for prediction: the four tables, the target stats, and per-instance truth.

:class:`Corpus` loads the tables once. Besides the tables it derives:

* ``targets``: the stats table rows that are targets (each run's main metric
  and split, all perturbation variants; see :mod:`magnet.protocol.targets`), with a
  ``target.key`` column naming the variant (``exact_match``,
  ``exact_match@robustness/worst``, ``exact_match@typos/perturbed``, ...);
* ``instance_values``: for every target row, the per-instance values it is
  the mean of (from ``per_instance_stats``), so that a baseline can average
  exactly the revealed instances and the noise floor can be estimated.
  HELM's aggregation is mirrored: ``perturbed`` averages the perturbed
  instances, ``original`` their unperturbed versions, ``worst`` the
  per-instance minimum over the original and its perturbations (the
  ``robustness``/``fairness`` families: all perturbations of that kind).
* ``eval_instances``: per run, the instance ids of its target split, which
  is what a revealed sample is drawn from.

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> corpus = Corpus.load(HelmOutputs.demo(preset="small"))
    >>> sorted(corpus.targets["target.name"].unique())
    ['exact_match', 'exact_match_indicator', 'quasi_exact_match']
    >>> int(corpus.num_eval_instances().max())
    20
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from magnet.protocol.targets import resolve_targets, target_stats
from magnet.backends.helm.errors import HelmOutputError
from magnet.backends.helm.outputs import HelmOutputs

RUN = "run_spec.name"
PIS = "per_instance_stats."
STATE = "scenario_state.request_states."


def target_key(name, pert_name, computed_on) -> str:
    """The label of one target variant.

    Example:
        >>> target_key("exact_match", None, None), target_key("exact_match", "typos", "perturbed")
        ('exact_match', 'exact_match@typos/perturbed')
    """
    if pert_name is None or (isinstance(pert_name, float) and pert_name != pert_name):
        return str(name)
    return f"{name}@{pert_name}/{computed_on}"


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df else pd.Series([None] * len(df), index=df.index, dtype=object)


@dataclass
class Corpus:
    """Tables of a set of HELM runs plus what magnet derives for prediction (see module docstring)."""

    run_specs: pd.DataFrame
    scenario_states: pd.DataFrame
    stats: pd.DataFrame
    per_instance_stats: pd.DataFrame
    targets: pd.DataFrame
    instance_values: pd.DataFrame
    eval_instances: dict[str, list[str]]
    source: str = ""
    #: The loader's warnings (skipped, missing or rebuilt files), kept for the reports.
    load_warnings: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, outputs, stat_names: list[str] | None = None, errors: str = "raise") -> "Corpus":
        """Load from a :class:`~magnet.backends.helm.outputs.HelmOutputs` (or a path)."""

        outputs = HelmOutputs.coerce(outputs)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tables = outputs.tables(("run_specs", "scenario_states", "stats", "per_instance_stats"), errors=errors)
        load_warnings = list(dict.fromkeys(str(w.message) for w in caught))
        for w in caught:  # shown as before; the messages also go to the reports
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        run_specs = tables.pop("run_specs")
        if not len(run_specs):
            raise HelmOutputError(str(outputs.root), "no HELM run found there (a run is a folder with run_spec.json, "
                                                     "under benchmark_output/runs/<suite>/); "
                                                     "HelmOutputs.coerce(path) finds the suites from any level")
        dup = run_specs[RUN][run_specs[RUN].duplicated()]
        if len(dup):
            raise HelmOutputError(outputs.root, f"run name {dup.iloc[0]!r} appears in several suites; select one suite")
        good = set(run_specs[RUN])
        tables = {t: df[df[RUN].isin(good)].reset_index(drop=True) for t, df in tables.items()}
        targets = target_stats(tables["stats"], resolve_targets(run_specs, outputs.schemas(), stat_names))
        targets["target.key"] = [target_key(*k) for k in zip(
            targets["stats.name.name"], _col(targets, "stats.name.perturbation.name"),
            _col(targets, "stats.name.perturbation.computed_on"))]
        eval_instances = _eval_instances(tables["scenario_states"], targets, tables["per_instance_stats"])
        values = instance_values(tables["per_instance_stats"], targets)
        _add_stateless_runs(eval_instances, values, targets)
        return cls(run_specs, tables["scenario_states"], tables["stats"], tables["per_instance_stats"],
                   targets, values, eval_instances, source=str(outputs.root), load_warnings=load_warnings)

    def num_eval_instances(self) -> pd.Series:
        """Eval instances per run (in its target split), indexed by run name."""
        return pd.Series({run: len(ids) for run, ids in self.eval_instances.items()}, dtype=int)

    def models(self) -> pd.Series:
        """Each run's model (``run_spec.adapter_spec.model``), indexed by run name."""
        return self.run_specs.set_index(RUN)["run_spec.adapter_spec.model"]


def _eval_instances(states: pd.DataFrame, targets: pd.DataFrame,
                    per_instance_stats: pd.DataFrame | None = None) -> dict[str, list[str]]:
    """Per run, the unperturbed instance ids of its target split (request states, else per-instance stats)."""
    split_of = targets.drop_duplicates(RUN).set_index(RUN)["target.split"]
    out: dict[str, list[str]] = {}
    if len(states) and STATE + "instance.id" in states:
        unperturbed = _col(states, STATE + "instance.perturbation.name").isna()
        s = states[unperturbed]
        for run, group in s.groupby(RUN, sort=False):
            split = split_of.get(run, "test")
            ids = group.loc[_col(group, STATE + "instance.split") == split, STATE + "instance.id"]
            out[run] = list(dict.fromkeys(ids))
    pis = per_instance_stats
    if pis is not None and len(pis) and PIS + "instance_id" in pis:  # runs without any request-state rows
        rest = pis[~pis[RUN].isin(set(out)) & _col(pis, PIS + "perturbation.name").isna()]
        for run, group in rest.groupby(RUN, sort=False):
            split = split_of.get(run, "test")
            ids = group.loc[_col(group, PIS + "stats.name.split") == split, PIS + "instance_id"]
            out[run] = list(dict.fromkeys(ids))
    return out


def _add_stateless_runs(eval_instances: dict[str, list[str]], values: pd.DataFrame, targets: pd.DataFrame) -> None:
    """Runs without request states (no scenario_state.json, e.g. imported score matrices): their eval
    instances are the instances with a per-instance value of the main target."""
    main = values[values["target.key"].isin(set(targets["target.name"]))]
    for run, ids in main.groupby(RUN, sort=False)["instance_id"]:
        if run not in eval_instances:
            eval_instances[run] = list(dict.fromkeys(ids))


def instance_values(per_instance_stats: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Per-instance values behind each target row: columns run, target.key, instance_id, value."""
    columns = [RUN, "target.key", "instance_id", "value"]
    if not len(per_instance_stats) or not len(targets):
        return pd.DataFrame(columns=columns)
    pis = per_instance_stats
    wanted = set(zip(targets[RUN], targets["stats.name.name"], targets["stats.name.split"]))
    keep = [k in wanted for k in zip(pis[RUN], pis[PIS + "stats.name.name"], pis[PIS + "stats.name.split"])]
    pis = pis[keep]
    inst_pert = _col(pis, PIS + "perturbation.name")
    base = pd.DataFrame({
        RUN: pis[RUN], "name": pis[PIS + "stats.name.name"], "instance_id": pis[PIS + "instance_id"],
        "perturbation": inst_pert, "robustness": _col(pis, PIS + "perturbation.robustness"),
        "fairness": _col(pis, PIS + "perturbation.fairness"), "value": pis[PIS + "stats.mean"].astype(float),
    })
    rows = []
    for (run, name), g in base.groupby([RUN, "name"], sort=False):
        orig = g[g["perturbation"].isna()].groupby("instance_id")["value"].mean()
        perturbed = g[g["perturbation"].notna()]
        t = targets[(targets[RUN] == run) & (targets["stats.name.name"] == name)]
        for key, pname, computed_on in zip(t["target.key"], _col(t, "stats.name.perturbation.name"),
                                           _col(t, "stats.name.perturbation.computed_on")):
            values = variant_instance_values(orig, perturbed, pname, computed_on)
            if values is not None:
                rows.append(pd.DataFrame({RUN: run, "target.key": key, "instance_id": values.index,
                                          "value": values.to_numpy()}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns)


def variant_instance_values(orig: pd.Series, perturbed: pd.DataFrame, pname, computed_on) -> pd.Series | None:
    """Per-instance values whose mean is one perturbation variant of a stat, following HELM's aggregation.

    Parameters
    ----------
    orig: the unperturbed per-instance values, indexed by instance id.
    perturbed: perturbed per-instance values: columns ``instance_id``, ``perturbation``
        (name), ``robustness``, ``fairness`` (flags) and ``value``.
    pname, computed_on: the variant (``None`` for the unperturbed stat).

    Returns the values (indexed by instance id), or None where HELM's rule is unknown.

    Example:
        >>> orig = pd.Series([1.0, 1.0], index=["a", "b"])
        >>> pert = pd.DataFrame({"instance_id": ["a"], "perturbation": ["typos"], "robustness": [True],
        ...                      "fairness": [False], "value": [0.0]})
        >>> [float(variant_instance_values(orig, pert, p, c).mean()) for p, c in
        ...  [(None, None), ("typos", "perturbed"), ("typos", "worst"), ("robustness", "worst")]]
        [1.0, 0.0, 0.0, 0.5]
    """
    if pname is None or (isinstance(pname, float) and np.isnan(pname)):
        return orig
    if pname in ("robustness", "fairness"):
        if computed_on != "worst":
            return None
        family = perturbed[perturbed[pname] == True]  # noqa: E712  (object column of bools/None)
        worst = family.groupby("instance_id")["value"].min()
        return pd.concat([orig, worst], axis=1).min(axis=1).loc[orig.index]
    own = perturbed[perturbed["perturbation"] == pname].groupby("instance_id")["value"].mean()
    if computed_on == "perturbed":
        return own
    ids = [i for i in own.index if i in orig.index]
    if computed_on == "original":
        return orig.loc[ids]
    if computed_on == "worst":
        return pd.concat([orig.loc[ids], own.loc[ids]], axis=1).min(axis=1)
    return None


def scenario_label(run_specs: pd.DataFrame) -> pd.Series:
    """A short scenario-configuration label per run: the run name without model and augmentation.

    Example:
        >>> df = pd.DataFrame({"run_spec.name": ["mmlu:subject=a,model=x_y", "dyck_language_np=2:model=z",
        ...                                      "boolq:model=x_y,data_augmentation=typo0.1", "mmlu:model=x,subject=a"]})
        >>> scenario_label(df).tolist()
        ['mmlu:subject=a', 'dyck_language_np=2', 'boolq+typo0.1', 'mmlu:subject=a']
    """
    labels = []
    for name in run_specs["run_spec.name"].astype(str):
        base, _, args = name.partition(":")
        parts = [a for a in args.split(",") if a] if args else []
        aug = [a.split("=", 1)[1] for a in parts if a.startswith("data_augmentation=")]
        kept = [a for a in parts if not a.startswith(("model=", "data_augmentation="))]
        label = base + (":" + ",".join(kept) if kept else "")
        labels.append(label + ("+" + aug[0] if aug else ""))
    return pd.Series(labels, index=run_specs.index)
