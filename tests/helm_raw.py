"""Test helper: a HELM ``benchmark_output`` read with plain ``json``, independent of magnet's loader.

Used by the value tests to recompute magnet's numbers from the files HELM wrote.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def stat_key(name: dict) -> str:
    """``metric`` or ``metric@perturbation/computed_on``: how magnet names a target variant."""
    pert = name.get("perturbation")
    return name["name"] if not pert else f"{name['name']}@{pert['name']}/{pert['computed_on']}"


class Raw:
    """Per run: aggregate stats, per-instance values and request states, straight from the run directory."""

    def __init__(self, root: Path):
        self.dirs = {json.loads((d / "run_spec.json").read_text())["name"]: d
                     for d in sorted(root.glob("runs/*/*")) if (d / "run_spec.json").exists()}

    def actual(self, run: str, key: str, split: str) -> float:
        found = [s["mean"] for s in json.loads((self.dirs[run] / "stats.json").read_text())
                 if stat_key(s["name"]) == key and s["name"]["split"] == split]
        assert len(found) == 1, (run, key, found)
        return float(found[0])

    def instance_values(self, run: str, key: str, split: str) -> dict[str, float]:
        """Per-instance values of a target variant. HELM writes per-instance stats of unperturbed and
        perturbed instances only; ``original`` and ``worst`` are derived as HELM aggregates them
        (``test_raw_instance_values_average_to_helms_aggregates`` checks this against stats.json)."""
        metric, _, variant = key.partition("@")
        base: dict[str, float] = {}
        perturbed: dict[str, dict[str, float]] = {}  # perturbation name -> instance -> value
        flags: dict[str, set[str]] = {}  # perturbation name -> {"robustness", "fairness"} it counts for
        for entry in json.loads((self.dirs[run] / "per_instance_stats.json").read_text()):
            for s in entry["stats"]:
                name = s["name"]
                if name["name"] != metric or name["split"] != split:
                    continue
                pert = name.get("perturbation")
                if not pert:
                    base[entry["instance_id"]] = float(s["mean"])
                elif pert["computed_on"] == "perturbed":
                    perturbed.setdefault(pert["name"], {})[entry["instance_id"]] = float(s["mean"])
                    flags[pert["name"]] = {f for f in ("robustness", "fairness") if pert.get(f)}
        if not variant:
            return base
        pname, computed_on = variant.split("/")
        if computed_on == "perturbed":
            return perturbed[pname]
        if computed_on == "original":
            return {i: base[i] for i in perturbed[pname]}
        assert computed_on == "worst", key
        if pname in ("robustness", "fairness"):
            counted = [v for p, v in perturbed.items() if pname in flags[p]]
            return {i: min([b] + [v[i] for v in counted if i in v]) for i, b in base.items()}
        return {i: min(base[i], v) for i, v in perturbed[pname].items()}

    def revealed_loss(self, run: str, ids: list[str]) -> float:
        state = json.loads((self.dirs[run] / "scenario_state.json").read_text())
        wanted = set(ids)
        losses = [-rs["result"]["completions"][0]["logprob"] for rs in state["request_states"]
                  if rs["instance"]["id"] in wanted]
        return float(np.mean(losses))


