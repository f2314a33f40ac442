"""ExamplePerturbationPredictor: a perturbed run's stats from the same model's unperturbed run, plus the typical perturbation effect.

For an eval run, and each of its target stats:

1. the **base** value: the target stat (unperturbed variant) of the same
   model's unperturbed train run of the same scenario (:func:`magnet.protocol.splits.scenario_of`);
   failing that, of the model's perturbed train runs of that scenario (their
   unperturbed variant); then the model's mean over its train runs (of each
   run's unperturbed main stat, resolved like the targets by
   :func:`magnet.protocol.targets.resolve_targets` from the packaged HELM schemas),
   then the scenario's mean over the other models, then the global mean over
   the train runs' main stats;
2. the **variants**: the (perturbation name, ``computed_on``) variants of the
   stat seen in the train stats of runs with the same scenario *and* data
   augmentation (e.g. ``typos``/``perturbed`` for ``simple_mcqa+typo0.1``),
   else of runs with the same data augmentation in any scenario;
3. each variant is predicted as base + the average effect (variant minus
   unperturbed value of the same run) over those train runs, clipped to
   [0, 1] when every train value of the stat lies there;
4. **misspelling strength** (MAGNET's example model): for an eval run whose
   data augmentation is HELM's ``MisspellingPerturbation`` with probability
   ``q`` (e.g. one run of ``data_augmentation=misspelling_sweep``), the
   ``misspellings``/``perturbed`` variant is a least-squares line of that
   stat against ``q`` over the train runs' misspelled stats (at least two
   distinct ``q``), evaluated at the eval run's ``q`` (clipped as above).

A run counts as perturbed when ``run_spec.data_augmenter_spec.perturbation_specs``
is non-empty or its name has ``data_augmentation=``. The predictor is
deterministic; ``seed`` is accepted for the common interface.

Run it on a benchmark_output::

    python -m predictors.example_perturbation_predictor --root-dir BENCHMARK_OUTPUT --suite SUITE

MAGNET's example call, on a demo misspelling sweep (HELM's
``misspelling_sweep``: misspelling probabilities 0, 0.05, 0.2 and 0.5) of a
scenario with words to misspell:

    >>> import magnet
    >>> outputs = magnet.HelmOutputs.demo(run_entries=[
    ...     "synthetic_reasoning_natural:difficulty=easy,model=magnet-sim/atlas-7b,data_augmentation=misspelling_sweep",
    ...     "synthetic_reasoning_natural:difficulty=easy,model=magnet-sim/brook-13b,data_augmentation=misspelling_sweep"],
    ...     max_eval_instances=40)
    >>> suite_path = outputs.suites()[0].path
    >>> predictor_instance = ExamplePerturbationPredictor(num_eval_samples=5)
    >>> result = predictor_instance(helm_suites=suite_path)  # xdoctest: +IGNORE_WANT
    >>> swept = result.joined[result.joined["target.key"].str.endswith("@misspellings/perturbed")]
    >>> len(swept) == 6   # the runs with misspellings (q > 0), each predicted from the other runs' line
    True

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> from magnet.protocol.corpus import Corpus
    >>> from magnet.protocol.splits import fold_inputs, make_folds, reveal
    >>> corpus = Corpus.load(HelmOutputs.demo(preset="small"))
    >>> runs = corpus.run_specs["run_spec.name"]
    >>> held_out = "simple_mcqa:model=magnet-sim_atlas-1b,data_augmentation=typo0.1"
    >>> fold = next(f for f in make_folds(corpus.run_specs, "leave-one-run-out") if f.eval_runs == (held_out,))
    >>> inputs = fold_inputs(corpus, fold, reveal(corpus, 3))
    >>> out = ExamplePerturbationPredictor().predict(**inputs.as_kwargs(False))
    >>> sorted(f"{s.name.name}@{s.name.perturbation.name}/{s.name.perturbation.computed_on}" if s.name.perturbation
    ...        else s.name.name for s in out[held_out])
    ['predicted_exact_match', 'predicted_exact_match@fairness/worst', 'predicted_exact_match@robustness/worst', 'predicted_exact_match@typos/original', 'predicted_exact_match@typos/perturbed', 'predicted_exact_match@typos/worst']
    >>> typos = next(s for s in out[held_out] if getattr(s.name.perturbation, "computed_on", None) == "perturbed")
    >>> typos.name.perturbation.name, 0 <= typos.mean <= 1
    ('typos', True)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from magnet.helm_objects import make_stat
from magnet.predictor import PREFIX, Predictor
from magnet.protocol.corpus import scenario_label
from magnet.protocol.splits import scenario_of
from magnet.protocol.targets import resolve_targets

RUN = "run_spec.name"
MODEL = "run_spec.adapter_spec.model"
PERTURBATIONS = "run_spec.data_augmenter_spec.perturbation_specs"


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and np.isnan(x))


def _describe_runs(run_specs: pd.DataFrame | None) -> pd.DataFrame:
    """Per run: model, scenario (no model, no augmentation), augmentation label and whether it is perturbed."""

    columns = [RUN, "model", "scenario", "augmentation", "perturbed"]
    if run_specs is None or not len(run_specs) or RUN not in run_specs:
        return pd.DataFrame(columns=columns)
    names = run_specs[RUN].astype(str)
    specs = run_specs[PERTURBATIONS] if PERTURBATIONS in run_specs else pd.Series([None] * len(names), index=names.index)
    has_specs = specs.map(lambda v: isinstance(v, (list, tuple, np.ndarray)) and len(v) > 0)
    in_name = names.str.contains("data_augmentation=", regex=False)
    label = scenario_label(run_specs)
    scenario = scenario_of(run_specs)
    augmentation = []
    for lab, scen, spec, named, listed in zip(label, scenario, specs, in_name, has_specs):
        if named:
            augmentation.append(lab[len(scen) + 1:] if lab.startswith(scen + "+") else lab)
        elif listed:  # perturbed, but the name does not say how: describe it by the perturbation classes
            augmentation.append(",".join(sorted(str(s.get("class_name", s)) if isinstance(s, dict) else str(s)
                                                for s in spec)))
        else:
            augmentation.append("")
    model = run_specs[MODEL].astype(str) if MODEL in run_specs else names.str.extract(r"model=([^,]*)")[0]
    return pd.DataFrame({RUN: names.to_numpy(), "model": model.to_numpy(), "scenario": scenario.to_numpy(),
                         "augmentation": augmentation, "perturbed": (in_name | has_specs).to_numpy()})


def _train_values(train_stats_df: pd.DataFrame | None, runs: pd.DataFrame) -> pd.DataFrame:
    """Train stat values (no sub-split, finite) with the description of their run."""
    columns = [RUN, "name", "split", "pert", "computed_on", "robustness", "fairness", "value"]
    if train_stats_df is None or not len(train_stats_df) or "stats.mean" not in train_stats_df:
        return pd.DataFrame(columns=columns + list(runs.columns[1:]))
    s = train_stats_df
    if "stats.name.sub_split" in s:
        s = s[s["stats.name.sub_split"].isna()]
    s = s[np.isfinite(pd.to_numeric(s["stats.mean"], errors="coerce").to_numpy(dtype=float))]

    def col(name):
        return s[name].to_numpy() if name in s else np.array([None] * len(s), dtype=object)

    values = pd.DataFrame({
        RUN: col(RUN), "name": col("stats.name.name"), "split": col("stats.name.split"),
        "pert": [None if _missing(p) else p for p in col("stats.name.perturbation.name")],
        "computed_on": [None if _missing(c) else c for c in col("stats.name.perturbation.computed_on")],
        "robustness": col("stats.name.perturbation.robustness"), "fairness": col("stats.name.perturbation.fairness"),
        "value": s["stats.mean"].to_numpy(dtype=float),
    })
    return values.merge(runs, on=RUN, how="inner")


def _main_values(values: pd.DataFrame, train_run_specs_df: pd.DataFrame | None) -> pd.DataFrame:
    """Each train run's unperturbed main stat (resolved from its groups by HELM's packaged schemas, as for targets)."""

    if not len(values):
        return values
    specs = train_run_specs_df.copy()
    specs["suite"] = specs["suite"] if "suite" in specs else ""
    specs["run_spec.groups"] = specs["run_spec.groups"] if "run_spec.groups" in specs else None
    mains = resolve_targets(specs, schemas={})[[RUN, "target.name", "target.split"]]
    main = values.merge(mains, left_on=[RUN, "name", "split"], right_on=[RUN, "target.name", "target.split"])
    return main[main["pert"].isna()].drop(columns=["target.name", "target.split"])


def _mean(values: pd.Series) -> float | None:
    return float(values.mean()) if len(values) else None


def misspelling_prob(perturbation_specs) -> float | None:
    """The probability of a run's ``MisspellingPerturbation`` (HELM's ``args.prob``), or None.

    Example:
        >>> misspelling_prob([{"class_name": "helm.benchmark.augmentations.misspelling_perturbation.MisspellingPerturbation",
        ...                    "args": {"prob": 0.2}}])
        0.2
        >>> misspelling_prob(None) is None
        True
    """
    if not isinstance(perturbation_specs, (list, tuple, np.ndarray)):
        return None
    for spec in perturbation_specs:
        if isinstance(spec, dict) and str(spec.get("class_name", "")).endswith("MisspellingPerturbation"):
            prob = (spec.get("args") or {}).get("prob")
            return None if prob is None else float(prob)
    return None


def _misspelling_line(train_run_specs_df, train_stats_df, name: str, split: str) -> tuple[float, float] | None:
    """``(intercept, slope)`` of the stat's ``misspellings``/``perturbed`` value against the misspelling probability."""
    if train_stats_df is None or not len(train_stats_df) or PERTURBATIONS not in train_run_specs_df:
        return None
    prob_of = dict(zip(train_run_specs_df[RUN], train_run_specs_df[PERTURBATIONS].map(misspelling_prob)))
    s = train_stats_df
    rows = s[(s["stats.name.name"] == name) & (s["stats.name.split"] == split)
             & (s.get("stats.name.perturbation.name") == "misspellings")
             & (s.get("stats.name.perturbation.computed_on") == "perturbed")]
    q = rows[RUN].map(prob_of).to_numpy(dtype=float)
    y = pd.to_numeric(rows["stats.mean"], errors="coerce").to_numpy(dtype=float)
    keep = np.isfinite(q) & np.isfinite(y)
    if len(np.unique(q[keep])) < 2:
        return None
    slope, intercept = np.polyfit(q[keep], y[keep], 1)
    return float(intercept), float(slope)


class ExamplePerturbationPredictor(Predictor):
    """Predicts each target stat variant from the same model's unperturbed run plus the average perturbation effect.

    Misspelled variants of runs with a known misspelling probability follow a
    linear model of the stat against that probability (step 4 of the module docstring).
    Parameters are :class:`~magnet.predictor.Predictor`'s; the predictor is deterministic.
    """

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df,
                eval_run_specs_df, eval_scenario_states_df):
        train_runs = _describe_runs(train_run_specs_df)
        values = _train_values(train_stats_df, train_runs)
        main_values = _main_values(values, train_run_specs_df)
        evals = _describe_runs(eval_run_specs_df)
        names_of = dict(zip(eval_run_specs_df[RUN], eval_run_specs_df["magnet.target_names"]))
        split_of = dict(zip(eval_run_specs_df[RUN], eval_run_specs_df["magnet.target_split"]))
        out = {}
        probs = (eval_run_specs_df[PERTURBATIONS].map(misspelling_prob).tolist() if PERTURBATIONS in eval_run_specs_df
                 else [None] * len(eval_run_specs_df))
        prob_of = dict(zip(eval_run_specs_df[RUN], probs))
        for run, model, scenario, augmentation in zip(evals[RUN], evals["model"], evals["scenario"],
                                                      evals["augmentation"]):
            split = split_of.get(run)
            split = "test" if _missing(split) else split
            names = names_of.get(run)
            names = list(names) if isinstance(names, (list, tuple, np.ndarray)) else []
            stats = []
            for name in names:
                stat_values = values[(values["name"] == name) & (values["split"] == split)]
                base = self._base(stat_values, main_values, model, scenario)
                pool = stat_values["value"] if len(stat_values) else main_values["value"]
                bounded = bool(pool.between(0, 1).all())
                variants = {}
                for pert, effect in self._effects(stat_values, scenario, augmentation):
                    key = (pert or {}).get("name"), (pert or {}).get("computed_on")
                    variants[key] = (pert, base + effect)
                line = (_misspelling_line(train_run_specs_df, train_stats_df, name, split)
                        if prob_of.get(run) else None)
                if line is not None:
                    description = {"name": "misspellings", "computed_on": "perturbed", "robustness": True,
                                   "fairness": False}
                    variants[("misspellings", "perturbed")] = (description, line[0] + line[1] * prob_of[run])
                for pert, value in variants.values():
                    if bounded:
                        value = min(max(value, 0.0), 1.0)
                    stats.append(make_stat(PREFIX + str(name), value, split=split, perturbation=pert))
            out[run] = stats
        return out

    @staticmethod
    def _base(stat_values: pd.DataFrame, main_values: pd.DataFrame, model: str, scenario: str) -> float:
        """The model's unperturbed value of the stat on this scenario, with the fallbacks of the module docstring."""
        unperturbed = stat_values[stat_values["pert"].isna()]
        same_model = unperturbed["model"] == model
        same_scenario = unperturbed["scenario"] == scenario
        candidates = [unperturbed.loc[same_model & same_scenario & ~unperturbed["perturbed"].astype(bool), "value"],
                      unperturbed.loc[same_model & same_scenario, "value"],
                      main_values.loc[main_values["model"] == model, "value"],
                      unperturbed.loc[same_scenario, "value"],
                      main_values["value"]]
        for pool in candidates:
            value = _mean(pool)
            if value is not None:
                return value
        return 0.5  # no train run at all

    @staticmethod
    def _effects(stat_values: pd.DataFrame, scenario: str, augmentation: str) -> list[tuple[dict | None, float]]:
        """``(perturbation, effect)`` for the unperturbed variant (effect 0) and each variant seen on similar runs."""
        effects: list[tuple[dict | None, float]] = [(None, 0.0)]
        for mask in ((stat_values["scenario"] == scenario) & (stat_values["augmentation"] == augmentation),
                     stat_values["augmentation"] == augmentation):
            similar = stat_values[mask]
            variants = similar[similar["pert"].notna()]
            if not len(variants):
                continue
            own = similar[similar["pert"].isna()].groupby(RUN)["value"].mean()
            variants = variants.assign(effect=variants["value"].to_numpy() - variants[RUN].map(own).to_numpy(dtype=float))
            variants = variants[np.isfinite(variants["effect"].to_numpy(dtype=float))]
            for (pert, computed_on), group in variants.groupby(["pert", "computed_on"], sort=True, dropna=False):
                description = {"name": pert, "computed_on": None if _missing(computed_on) else computed_on}
                for flag in ("robustness", "fairness"):
                    flags = {v for v in group[flag] if isinstance(v, (bool, np.bool_))}
                    if len(flags) == 1:
                        description[flag] = bool(flags.pop())
                effects.append((description, float(group["effect"].mean())))
            break
        return effects


if __name__ == "__main__":
    from magnet.cli.predict import predictor_main

    raise SystemExit(predictor_main(ExamplePerturbationPredictor))
