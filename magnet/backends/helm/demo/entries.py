"""A demo corpus from explicit HELM run entries (``HelmOutputs.demo(run_entries=[...])``), checked to run offline.

An entry is ``scenario[:args],model=M[,data_augmentation=P]``. It runs
offline when its scenario needs no download, its model is one of the
simulated models (no weights exist here) and its data augmentation needs no
download (see /work/shared/docs/helm-offline.md for the facts). Anything else
is a one-line ``ValueError`` naming the entry.

Example:
    >>> spec = spec_from_run_entries(
    ...     ["synthetic_reasoning_natural:difficulty=easy,model=magnet-sim/atlas-7b,data_augmentation=misspelling_sweep"],
    ...     max_eval_instances=20)
    >>> [s.entry for s in spec.scenarios], [m.name for m in spec.models], spec.max_eval_instances
    (['synthetic_reasoning_natural:difficulty=easy'], ['magnet-sim/atlas-7b'], 20)
    >>> spec_from_run_entries(["boolq:model=openai/gpt2"])
    Traceback (most recent call last):
    ValueError: run entry 'boolq:model=openai/gpt2': scenario 'boolq' downloads its data; offline scenarios: custom_mcqa, dyck_language, simple_classification, simple_mcqa, simple_short_answer_qa, synthetic_reasoning, synthetic_reasoning_natural
"""

from __future__ import annotations

import re

from magnet.backends.helm.demo.corpus import DEFAULT_MODELS, DEFAULT_SCENARIOS, DemoSpec
from magnet.backends.helm.demo.simulation import SimScenario

#: The offline stand-in for MAGNET's perturbation example (``boolq`` on ``openai/gpt2`` with
#: ``data_augmentation=misspelling_sweep``, which need the network): a scenario with an
#: ``exact_match`` metric, ``valid`` and ``test`` splits, and input words HELM's misspelling
#: dictionary knows (every input starts "Two results:"), so the sweep's runs with
#: probability 0.05, 0.2 and 0.5 carry ``misspellings`` stats (``perturbed``/``original``/``worst``)
#: on both splits. ``HelmOutputs.demo(run_entries=[PERTURBATION_EXAMPLE_ENTRY], max_eval_instances=20)``
#: builds its 4 runs in about a minute. (``synthetic_reasoning_natural`` has misspellable English
#: too, but scores ``exact_set_match``, not ``exact_match``; the ``simple_*`` scenarios have no valid split.)
PERTURBATION_EXAMPLE_ENTRY = ("synthetic_reasoning:mode=induction,data_augmentation=misspelling_sweep,"
                              "model=magnet-sim/atlas-7b")

OFFLINE_SCENARIOS = ("custom_mcqa", "dyck_language", "simple_classification", "simple_mcqa",
                     "simple_short_answer_qa", "synthetic_reasoning", "synthetic_reasoning_natural")
#: Data augmentations whose perturbations need no download (HELM 0.5.16's names).
OFFLINE_AUGMENTATIONS = ("robustness", "typo_easy", "typo_medium", "typo_hard", "lower", "space", "extra_space",
                         "contract", "filler", "gender", "misspelling_mild", "misspelling_medium",
                         "misspelling_hard", "misspelling_sweep")


def _split(entry: str) -> tuple[str, str | None, str | None]:
    """``(scenario entry without model and augmentation, model, augmentation)``."""
    name, _, args = entry.partition(":")
    kept, model, augmentation = [], None, None
    for arg in [a for a in args.split(",") if a]:
        key, _, value = arg.partition("=")
        if key == "model":
            model = value
        elif key == "data_augmentation":
            augmentation = value
        else:
            kept.append(arg)
    return (f"{name}:{','.join(kept)}" if kept else name), model, augmentation


def spec_from_run_entries(run_entries, max_eval_instances: int = 7, seed: int = 0, suite: str = "demo") -> DemoSpec:
    """A :class:`DemoSpec` running exactly ``run_entries``; ``ValueError`` naming the first entry that needs the network."""
    if isinstance(run_entries, str):
        run_entries = [run_entries]
    known_models = {m.name: m for m in DEFAULT_MODELS}
    known_scenarios = {s.entry: s for s in DEFAULT_SCENARIOS}
    models, scenarios = {}, {}
    for entry in run_entries:
        scenario, model, augmentation = _split(entry)
        base = scenario.partition(":")[0]
        if base not in OFFLINE_SCENARIOS:
            raise ValueError(f"run entry {entry!r}: scenario {base!r} downloads its data; "
                             f"offline scenarios: {', '.join(OFFLINE_SCENARIOS)}")
        if model is None:
            raise ValueError(f"run entry {entry!r}: no model=...; the demo's simulated models: {', '.join(known_models)}")
        if model not in known_models:
            raise ValueError(f"run entry {entry!r}: model {model!r} needs the network (its weights or API); "
                             f"the demo's simulated models: {', '.join(known_models)}")
        if augmentation is not None and augmentation not in OFFLINE_AUGMENTATIONS:
            raise ValueError(f"run entry {entry!r}: data_augmentation {augmentation!r} needs a download or is "
                             f"unknown; offline: {', '.join(OFFLINE_AUGMENTATIONS)}")
        models[model] = known_models[model]
        scenarios.setdefault(scenario, known_scenarios.get(scenario) or SimScenario(
            scenario, loadings=(0.4, 0.4, 0.4), difficulty=0.3))
    canonical = tuple(re.sub(r"\s+", "", e) for e in run_entries)
    return DemoSpec(name="entries", models=tuple(models.values()), scenarios=tuple(scenarios.values()),
                    max_eval_instances=int(max_eval_instances), seed=seed, suite=suite, entries=canonical)
