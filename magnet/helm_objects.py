"""Conversions between HELM's ``Stat`` objects and plain JSON / table rows.

Example:
    >>> s = make_stat("predicted_exact_match", 0.75, split="test")
    >>> s.name.name, s.count, s.mean
    ('predicted_exact_match', 1, 0.75)
    >>> stat_from_json(stat_to_json(s)) == s
    True
"""

from __future__ import annotations

from typing import Any

from helm.benchmark.augmentations.perturbation_description import PerturbationDescription
from helm.benchmark.metrics.metric_name import MetricName
from helm.benchmark.metrics.statistic import Stat

_PERTURBATION_FIELDS = ("name", "robustness", "fairness", "computed_on", "seed")
_STAT_FIELDS = ("count", "sum", "sum_squared", "min", "max", "mean", "variance", "stddev")


def perturbation_from_json(d: dict | None) -> PerturbationDescription | None:
    """A ``PerturbationDescription`` from JSON (subclass-only fields such as ``prob`` are dropped)."""
    if not d:
        return None
    return PerturbationDescription(**{k: d[k] for k in _PERTURBATION_FIELDS if k in d})


def stat_from_json(d: dict[str, Any]) -> Stat:
    """A HELM ``Stat`` from its JSON form (as in ``stats.json``)."""
    name = d["name"]
    metric = MetricName(
        name=name["name"], split=name.get("split"), sub_split=name.get("sub_split"),
        perturbation=perturbation_from_json(name.get("perturbation")),
    )
    return Stat(metric, **{k: d[k] for k in _STAT_FIELDS if k in d and d[k] is not None})


def stat_to_json(stat: Stat) -> dict[str, Any]:
    """HELM's JSON form of a ``Stat`` (None fields omitted, as HELM writes them)."""
    name: dict[str, Any] = {"name": stat.name.name}
    if stat.name.split is not None:
        name["split"] = stat.name.split
    if stat.name.sub_split is not None:
        name["sub_split"] = stat.name.sub_split
    if stat.name.perturbation is not None:
        p = stat.name.perturbation
        name["perturbation"] = {k: getattr(p, k) for k in _PERTURBATION_FIELDS if getattr(p, k, None) is not None}
    out: dict[str, Any] = {"name": name}
    out.update({k: getattr(stat, k) for k in _STAT_FIELDS if getattr(stat, k) is not None})
    return out


def make_stat(
    name: str,
    value: float,
    split: str | None = "test",
    sub_split: str | None = None,
    perturbation: PerturbationDescription | dict | None = None,
) -> Stat:
    """A ``Stat`` holding one value (count 1), e.g. a predicted metric.

    Example:
        >>> make_stat("predicted_exact_match", 0.5, perturbation={"name": "typos", "computed_on": "perturbed"}).name.perturbation.name
        'typos'
    """
    if isinstance(perturbation, dict):
        perturbation = perturbation_from_json(perturbation)
    return Stat(MetricName(name, split=split, sub_split=sub_split, perturbation=perturbation)).add(float(value))
