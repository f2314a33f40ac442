"""Which stats are a run's targets: the main metric and split of its group.

A HELM run belongs to groups (``run_spec.groups``, most specific last, e.g.
``["synthetic_reasoning", "synthetic_reasoning_natural"]``); the most specific
group with a declared main metric wins. A schema declares for each
group its main metric (``environment.main_name``) and split
(``environment.main_split``). Resolution order, per run:

1. the suite's own ``schema.json`` (written by ``helm-summarize``);
2. the schemas packaged with crfm-helm (``helm/benchmark/static/schema_*.yaml``);
3. ``exact_match`` on the ``test`` split.

Users can instead name the stats (``--stat NAME``, repeatable); the split then
still comes from the schema (else ``test``). A target covers *all* perturbation
variants of the stat (unperturbed, ``robustness``/``fairness`` worst-case,
and each perturbation's ``perturbed``/``original``/``worst`` rows).

Example:
    >>> import pandas as pd
    >>> run_specs = pd.DataFrame({"suite": ["s", "s"], "run_spec.name": ["a", "b"],
    ...                           "run_spec.groups": [["dyck_language"], ["my_own_group"]]})
    >>> t = resolve_targets(run_specs, schemas={})
    >>> t[["run_spec.name", "target.name", "target.split", "target.source"]].values.tolist()
    [['a', 'exact_match_indicator', 'test', 'helm packaged schemas'], ['b', 'exact_match', 'test', 'default']]
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

DEFAULT_STAT = "exact_match"
DEFAULT_SPLIT = "test"


def _main_of_groups(schema: dict) -> dict[str, tuple[str, str]]:
    out = {}
    for group in schema.get("run_groups", []) or []:
        env = group.get("environment") or {}
        if env.get("main_name"):
            out[group["name"]] = (env["main_name"], env.get("main_split") or DEFAULT_SPLIT)
    return out


@lru_cache(maxsize=1)
def packaged_main_metrics() -> dict[str, tuple[str, str]]:
    """group -> (main_name, main_split) from every schema crfm-helm ships (classic and lite first)."""
    import yaml

    static = resources.files("helm.benchmark") / "static"
    files = sorted((p for p in static.iterdir() if p.name.startswith("schema_") and p.name.endswith(".yaml")),
                   key=lambda p: (p.name not in ("schema_classic.yaml", "schema_lite.yaml"), p.name))
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser: ~10x faster on these 37 files
    out: dict[str, tuple[str, str]] = {}
    for path in files:
        try:
            schema = yaml.load(path.read_text(), Loader=loader)
        except (yaml.YAMLError, OSError):
            continue
        for group, main in _main_of_groups(schema or {}).items():
            out.setdefault(group, main)
    return out


def resolve_targets(run_specs: pd.DataFrame, schemas: dict[str, dict], stat_names: list[str] | None = None) -> pd.DataFrame:
    """One row per (run, target stat name): ``target.name``, ``target.split``, ``target.source``."""
    suite_mains = {suite: _main_of_groups(schema) for suite, schema in schemas.items()}
    rows = []
    for suite, name, groups in zip(run_specs["suite"], run_specs["run_spec.name"], run_specs["run_spec.groups"]):
        groups = list(groups) if isinstance(groups, (list, tuple)) else []
        groups = groups[::-1]  # HELM lists the most specific group last
        main, source = None, "default"
        for g in groups:
            if g in suite_mains.get(suite, {}):
                main, source = suite_mains[suite][g], "suite schema.json"
                break
        if main is None:
            packaged = packaged_main_metrics()
            for g in groups:
                if g in packaged:
                    main, source = packaged[g], "helm packaged schemas"
                    break
        main_name, split = main or (DEFAULT_STAT, DEFAULT_SPLIT)
        if stat_names:
            rows += [(suite, name, s, split, "--stat") for s in stat_names]
        else:
            rows.append((suite, name, main_name, split, source))
    return pd.DataFrame(rows, columns=["suite", "run_spec.name", "target.name", "target.split", "target.source"])


def target_stats(stats: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """The rows of the stats table that are targets (all perturbation variants), with ``target.*`` columns.

    Rows without a value (``count == 0``, no mean) are kept out: there is nothing to predict.
    """
    merged = stats.merge(
        targets, left_on=["suite", "run_spec.name", "stats.name.name", "stats.name.split"],
        right_on=["suite", "run_spec.name", "target.name", "target.split"], how="inner",
    )
    if "stats.name.sub_split" in merged:
        merged = merged[merged["stats.name.sub_split"].isna()]
    return merged[merged["stats.mean"].notna()].reset_index(drop=True)


def main_stat_rows(outputs, run_specs: pd.DataFrame | None = None, stats: pd.DataFrame | None = None,
                   stat_names: list[str] | None = None) -> pd.DataFrame:
    """Target stat rows of a :class:`~magnet.backends.helm.outputs.HelmOutputs`."""
    run_specs = outputs.run_specs() if run_specs is None else run_specs
    stats = outputs.stats() if stats is None else stats
    return target_stats(stats, resolve_targets(run_specs, outputs.schemas(), stat_names))
