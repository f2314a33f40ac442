"""Real lm-evaluation-harness output made offline: simulated models on local YAML tasks.

The files are written by the real ``lm_eval`` package (``simple_evaluate`` and
its ``EvaluationTracker``, as ``lm_eval run --log_samples --output_path``
does): ``<out>/<model>/results_<date>.json`` and
``<out>/<model>/samples_<task>_<date>.jsonl``. Nothing is downloaded: the
models are an ``LM`` subclass registered with ``@register_model("magnet-sim")``
and the tasks are YAML files over JSONL datasets that this module writes.

The simulated models are the HELM demo's (:mod:`magnet.backends.helm.demo.simulation`, with demo
generator 2's ability slope):
general ability plus task-specific skills, item difficulty, miscalibrated
confidence. For a multiple-choice question the model's answer gets
log-likelihood ``log c`` (``c`` its confidence) and the other choices share
``1 - c``; for a generation task it writes ``The answer is N.`` or, when its
format skill fails it, a bare number that only the ``flexible-extract``
filter finds.

Run: ``python -m magnet.backends.lm_eval.demo OUT_DIR`` (needs the
``frameworks`` extra). The committed test data ``tests/data/lm-eval-demo``
is ``python -m magnet.backends.lm_eval.demo tests/data/lm-eval-demo --preset small``.

Example:
    >>> [m.name for m in PRESETS["small"].models][:2]
    ['magnet-sim/atlas-1b', 'magnet-sim/atlas-7b']
    >>> sorted(t.name for t in TASKS)
    ['magnet_sim_arithmetic', 'magnet_sim_compare', 'magnet_sim_primes']
    >>> d = make_docs(TASKS[0], 3, seed=0)
    >>> len(d), sorted(d[0])
    (3, ['choices', 'id', 'label', 'question'])
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import sys
from dataclasses import dataclass
from pathlib import Path

from magnet.backends.helm.demo.corpus import DEFAULT_MODELS, cache_root
from magnet.backends.helm.demo.simulation import (
    ABILITY_PER_LOG_SIZE_V2,
    SimModel,
    SimScenario,
    hash_unit,
    logit,
    sigmoid,
    success_probability,
)

MODEL_NAME = "magnet-sim"  # the name registered with lm_eval's @register_model


@dataclass(frozen=True)
class SimTask:
    """A local lm-eval task: its name, output type and the simulation's item parameters."""

    name: str
    output_type: str  # "multiple_choice" or "generate_until"
    scenario: SimScenario


TASKS = (
    SimTask("magnet_sim_primes", "multiple_choice",
            SimScenario("magnet_sim_primes", loadings=(0.3, 0.8, 0.1), difficulty=0.0)),
    SimTask("magnet_sim_compare", "multiple_choice",
            SimScenario("magnet_sim_compare", loadings=(0.9, 0.1, 0.2), difficulty=0.6)),
    SimTask("magnet_sim_arithmetic", "generate_until",
            SimScenario("magnet_sim_arithmetic", loadings=(0.8, 0.2, 0.4), difficulty=0.3)),
)

#: The HELM demo's simulated models (the same skills on every source), with demo generator 2's ability slope:
#: tests/data/lm-eval-demo was made with it, and the cache path has no generator version, so a changed slope
#: would make new builds disagree with cached ones.
ALL_MODELS = tuple(dataclasses.replace(m, ability_slope=ABILITY_PER_LOG_SIZE_V2) for m in DEFAULT_MODELS)
_SMALL = tuple(m for m in ALL_MODELS if m.name not in ("magnet-sim/brook-34b", "magnet-sim/cirrus-120b"))


@dataclass(frozen=True)
class Preset:
    """How big a demo is: which models, how many documents per task, and whether the MC tasks run as a group.

    ``small`` (the committed test data) has no group: EEE's converter (0.3.0) stops on a group with
    ``--include_samples`` (a group has no samples file), and tests/data/eee-demo is converted from it.
    """

    models: tuple[SimModel, ...]
    n_docs: int
    group: bool = False


PRESETS = {
    "tiny": Preset(_SMALL[1:3], 4, group=True),
    "small": Preset(_SMALL, 16),
    "default": Preset(ALL_MODELS, 60, group=True),
}

SEED = 0


def _is_prime(n: int) -> bool:
    return n > 1 and all(n % k for k in range(2, int(n**0.5) + 1))


def make_docs(task: SimTask, n: int, seed: int = SEED) -> list[dict]:
    """The task's dataset: ``n`` documents (deterministic)."""
    rng = random.Random(f"{seed}-{task.name}")
    docs = []
    for i in range(n):
        if task.name == "magnet_sim_primes":
            prime = rng.choice([p for p in range(11, 200) if _is_prime(p)])
            others = rng.sample([c for c in range(10, 200) if not _is_prime(c) and c % 2], 3)
            choices = [str(c) for c in others]
            label = rng.randrange(4)
            choices.insert(label, str(prime))
            docs.append({"id": f"primes-{i}", "question": "Which of these numbers is prime?",
                         "choices": choices, "label": label})
        elif task.name == "magnet_sim_compare":
            a, b = rng.sample(range(100, 1000), 2)
            docs.append({"id": f"compare-{i}", "question": f"Is {a} greater than {b}?",
                         "choices": ["no", "yes"], "label": int(a > b)})
        else:
            a, b = rng.randrange(10, 500), rng.randrange(10, 500)
            docs.append({"id": f"arith-{i}", "question": f"What is {a} + {b}?", "answer": str(a + b)})
    return docs


def task_yaml(task: SimTask, data_file: Path) -> str:
    """The lm-eval task config (YAML) of ``task`` over the local JSONL ``data_file``."""
    head = (f"task: {task.name}\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {json.dumps(str(data_file))}\n"
            "test_split: test\n"
            f"output_type: {task.output_type}\n"
            "doc_to_text: \"Question: {{question}}\\nAnswer:\"\n")
    if task.output_type == "multiple_choice":
        return head + ("doc_to_choice: choices\ndoc_to_target: label\nmetric_list:\n"
                       "  - metric: acc\n    aggregation: mean\n    higher_is_better: true\n"
                       "  - metric: acc_norm\n    aggregation: mean\n    higher_is_better: true\n"
                       "metadata:\n  version: 1.0\n")
    return head + ("doc_to_target: \"{{answer}}\"\n"
                   "generation_kwargs:\n  until: [\"\\n\\n\", \"Question:\"]\n  do_sample: false\n"
                   "metric_list:\n  - metric: exact_match\n    aggregation: mean\n    higher_is_better: true\n"
                   "    ignore_case: true\n    ignore_punctuation: false\n"
                   "filter_list:\n"
                   "  - name: strict-match\n    filter:\n"
                   "      - function: regex\n        regex_pattern: \"The answer is (\\\\-?[0-9]+)\"\n"
                   "      - function: take_first\n"
                   "  - name: flexible-extract\n    filter:\n"
                   "      - function: regex\n        group_select: -1\n        regex_pattern: \"(-?[0-9]+)\"\n"
                   "      - function: take_first\n"
                   "metadata:\n  version: 1.0\n")


#: An lm-eval group over the two multiple-choice tasks (groups are how lm-eval runs MMLU, BBH, ...):
#: its results entry aggregates its subtasks' ``acc``; it has no samples of its own.
GROUP = "magnet_sim_mc"
GROUP_YAML = (f"group: {GROUP}\ntask:\n  - magnet_sim_primes\n  - magnet_sim_compare\n"
              "aggregate_metric_list:\n  - metric: acc\n    aggregation: mean\n    weight_by_size: true\n"
              "metadata:\n  version: 1.0\n")


def write_tasks(folder: Path, n_docs: int, seed: int = SEED) -> Path:
    """Write the datasets (JSONL) and task configs (YAML) into ``folder``; returns it (lm-eval's include path)."""
    folder.mkdir(parents=True, exist_ok=True)
    for task in TASKS:
        data = folder / f"{task.name}.jsonl"
        data.write_text("".join(json.dumps(d) + "\n" for d in make_docs(task, n_docs, seed)))
        rel = os.path.relpath(data.resolve())  # relative to the working directory when below it (portable logs)
        (folder / f"{task.name}.yaml").write_text(task_yaml(task, Path(rel) if not rel.startswith("..") else data.resolve()))
    (folder / f"{GROUP}.yaml").write_text(GROUP_YAML)
    return folder


def _scenario(task_name: str) -> SimScenario:
    return next(t.scenario for t in TASKS if t.name == task_name)


def choice_loglikelihoods(model: SimModel, task_name: str, doc: dict, seed: int = SEED) -> list[float]:
    """Log-likelihood of each choice of a multiple-choice document (they sum to 1 in probability).

    Example:
        >>> m = ALL_MODELS[1]
        >>> doc = make_docs(TASKS[0], 1)[0]
        >>> lls = choice_loglikelihoods(m, "magnet_sim_primes", doc)
        >>> len(lls), round(sum(math.exp(x) for x in lls), 9)
        (4, 1.0)
    """
    choices, gold = doc["choices"], int(doc["label"])
    k = len(choices)
    p = success_probability(model, _scenario(task_name), doc["question"] + " " + " ".join(choices), seed,
                            n_options=k)
    conf = sigmoid(logit(p) * model.calibration_temperature(seed))
    conf = min(max(conf, 1.05 / k), 1 - 1e-6)  # the answer is the model's most likely choice
    correct = hash_unit(seed, "draw", model.name, task_name, doc["id"]) < p
    wrong = [i for i in range(k) if i != gold]
    pick = gold if correct else wrong[int(hash_unit(seed, "wrong", model.name, doc["id"]) * len(wrong))]
    rest = [i for i in range(k) if i != pick]
    weights = [0.5 + hash_unit(seed, "spread", model.name, doc["id"], i) for i in rest]
    share = {i: (1 - conf) * w / sum(weights) for i, w in zip(rest, weights)}
    # keep the pick strictly the most likely
    return [math.log(conf) if i == pick else math.log(min(share[i], conf * 0.99)) for i in range(k)]


def generation(model: SimModel, task_name: str, doc: dict, seed: int = SEED) -> str:
    """The simulated model's completion for a generation document.

    Example:
        >>> doc = make_docs(TASKS[2], 1)[0]
        >>> out = generation(ALL_MODELS[2], "magnet_sim_arithmetic", doc)
        >>> any(ch.isdigit() for ch in out)
        True
    """
    p = success_probability(model, _scenario(task_name), doc["question"], seed)
    correct = hash_unit(seed, "draw", model.name, task_name, doc["id"]) < p
    value = int(doc["answer"])
    if not correct:
        off = 1 + int(hash_unit(seed, "offset", model.name, doc["id"]) * 20)
        value += off if hash_unit(seed, "sign", model.name, doc["id"]) < 0.5 else -off
    follows_format = hash_unit(seed, "format", model.name, doc["id"]) < sigmoid(0.2 + 1.5 * model.skills(seed)[2])
    return f" The answer is {value}." if follows_format else f" I think it is {value}."


_REGISTERED: list = []  # SimLM once registered in this process (lm-eval refuses a second registration)


def _register():
    """Register :class:`SimLM` with lm-eval once per process (lm_eval imported late: an optional extra)."""
    if _REGISTERED:
        return _REGISTERED[0]
    from lm_eval.api.model import LM
    from lm_eval.api.registry import register_model

    @register_model(MODEL_NAME)
    class SimLM(LM):
        """A simulated model for lm-eval: ``pretrained`` names it, ``family`` and ``params_b`` define it."""

        def __init__(self, pretrained: str, family: str, params_b, seed=SEED, **kwargs):
            super().__init__()
            self.model = SimModel(str(pretrained), str(family), float(params_b), ABILITY_PER_LOG_SIZE_V2)
            self.seed = int(seed)

        def loglikelihood(self, requests, disable_tqdm: bool = False):
            out = []
            for req in requests:
                doc = req.doc
                continuation = req.args[1]
                lls = choice_loglikelihoods(self.model, req.task_name, doc, self.seed)
                idx = [" " + c for c in doc["choices"]].index(continuation)
                out.append((lls[idx], lls[idx] == max(lls)))
            return out

        def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
            raise NotImplementedError("the simulated models score choices and generate; no rolling loglikelihood")

        def generate_until(self, requests, disable_tqdm: bool = False):
            return [generation(self.model, req.task_name, req.doc, self.seed) for req in requests]

    _REGISTERED.append(SimLM)
    return SimLM


def run_lm_eval(output_path, models, n_docs: int, *, tasks=None, log_samples: bool = True, group: bool = False,
                seed: int = SEED, task_dir) -> None:
    """Run the real lm-eval on ``models`` x ``tasks`` and let its ``EvaluationTracker`` write the logs.

    ``output_path`` is what ``lm_eval run --output_path`` takes, and lm-eval lays the files out as it does
    for that option: a folder -> ``<folder>/<model>/results_<date>.json`` (+ ``samples_<task>_<date>.jsonl``
    beside it); a path ending in ``.json`` -> ``<stem>_<date>.json`` with the samples files in its folder.
    ``log_samples=False`` is a run without ``--log_samples`` (results only). ``tasks``: task names (default:
    all of :data:`TASKS`; with ``group`` the multiple-choice ones as the lm-eval group :data:`GROUP`).
    ``task_dir`` receives the YAML tasks and JSONL data.
    """
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from lm_eval import simple_evaluate
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.tasks import TaskManager

    folder = write_tasks(Path(task_dir), n_docs, seed)
    _register()
    manager = TaskManager(include_path=str(folder.resolve()), include_defaults=False)
    names = list(tasks) if tasks is not None else (
        [GROUP, "magnet_sim_arithmetic"] if group else [t.name for t in TASKS])
    for model in models:
        tracker = EvaluationTracker(output_path=str(output_path))
        results = simple_evaluate(
            model=MODEL_NAME,
            model_args={"pretrained": model.name, "family": model.family, "params_b": model.params_b, "seed": seed},
            tasks=names, task_manager=manager, log_samples=log_samples,
            evaluation_tracker=tracker, random_seed=seed, numpy_random_seed=seed, torch_random_seed=seed,
            fewshot_random_seed=seed,
        )
        samples = results.pop("samples", None)
        tracker.save_results_aggregated(results=results, samples=samples)
        if log_samples:
            for task_name in results["configs"]:
                tracker.save_results_samples(task_name=task_name, samples=samples[task_name])


def build(out_dir, preset: str = "small", seed: int = SEED, task_dir=None) -> Path:
    """Run the real lm-eval on every (model, task) of ``preset``; write its logs under ``out_dir``.

    ``task_dir`` keeps the YAML tasks and JSONL data (default ``out_dir/_tasks``).
    """
    out_dir = Path(out_dir)
    spec = PRESETS[preset]
    run_lm_eval(out_dir, spec.models, spec.n_docs, group=spec.group, seed=seed,
                task_dir=Path(task_dir) if task_dir else out_dir / "_tasks")
    return out_dir


def demo_path(preset: str = "small", seed: int = SEED, cache_dir=None) -> Path:
    """Where the cached lm-eval demo output of ``preset`` lives (built or not).

    Example:
        >>> demo_path("small", cache_dir="/tmp/c").as_posix()
        '/tmp/c/small-seed0/output'
    """
    root = Path(cache_dir) if cache_dir else cache_root() / "lm-eval-demo"
    return root / f"{preset}-seed{seed}" / "output"


def build_demo(preset: str = "small", seed: int = SEED, cache_dir=None, *, rebuild: bool = False) -> Path:
    """Build (or reuse) the lm-eval demo output of ``preset`` in magnet's cache; returns its folder.

    Built once under a file lock (several processes may ask at once), into a
    temporary folder renamed into place when complete. ``magnet demo
    --source-format lm-eval`` is meant to call this.
    """
    import fcntl
    import shutil

    out = demo_path(preset, seed, cache_dir)
    variant = out.parent
    variant.parent.mkdir(parents=True, exist_ok=True)
    with open(variant.parent / f"{variant.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if (out / "magnet_demo.json").is_file() and not rebuild:
                return out
            work = variant.parent / f"{variant.name}.building"
            shutil.rmtree(work, ignore_errors=True)
            build(work / "output", preset, seed, task_dir=work / "tasks")
            (work / "output" / "magnet_demo.json").write_text(json.dumps({"preset": preset, "seed": seed}))
            shutil.rmtree(variant, ignore_errors=True)
            os.replace(work, variant)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return out


def main(argv=None) -> None:
    """``python -m magnet.backends.lm_eval.demo OUT_DIR [--preset small|default]``."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--preset", default="small", choices=sorted(PRESETS))
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    print(build(args.out_dir, args.preset, args.seed))


if __name__ == "__main__":
    main(sys.argv[1:])
