"""Build magnet's demo ``benchmark_output`` with the real HELM pipeline, offline.

The build runs HELM's own ``helm-run`` and ``helm-summarize`` as subprocesses:

1. a *key pass* runs every run entry with HELM's built-in ``simple/model1``
   and reads the prompts and references from its ``scenario_state.json``
   (:mod:`.answer_key`);
2. the *main pass* runs every entry for every simulated model, answered by
   :class:`~magnet.backends.helm.demo.simulated_client.SimulatedClient`
   according to the IRT model of :mod:`.simulation`;
3. ``helm-summarize`` writes the suite-level files (``schema.json``, ...).

Only scenarios that need no download are used, NLTK's ``punkt_tab`` is
stubbed, and nothing touches the network. The result is cached per variant
in ``$MAGNET_CACHE_DIR/demo/<variant>/benchmark_output`` (default
``~/.cache/magnet``) and rebuilt only when the spec or
:data:`GENERATOR_VERSION` changes.

Example:
    >>> spec = DemoSpec.preset("small")
    >>> len(spec.run_entries()) == len(spec.models) * sum(1 + len(s.perturbations) for s in spec.scenarios)
    True
    >>> spec.variant_id() == DemoSpec.preset("small").variant_id()
    True
    >>> spec.variant_id() != DemoSpec.preset("small", seed=1).variant_id()
    True
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from magnet.backends.helm.demo.answer_key import key_entries_for_run
from magnet.backends.helm.demo.simulation import SimModel, SimScenario

#: Bump when the generator's output changes; cached corpora are then rebuilt.
GENERATOR_VERSION = "3"  # 2: the generative model of issue 17 (no built-in predictor owns it);
#                           3: ability slope 0.6 -> 0.9 per e-fold of parameters (issue 30: a wider spread)

SIMULATED_CLIENT = "magnet.backends.helm.demo.simulated_client.SimulatedClient"
PUNKT_FILES = ("collocations.tab", "sent_starters.txt", "abbrev_types.txt", "ortho_context.tab")
KEY_SUITE = "key"

DEFAULT_MODELS: tuple[SimModel, ...] = (
    SimModel("magnet-sim/atlas-1b", "atlas", 1.3),
    SimModel("magnet-sim/atlas-7b", "atlas", 7.0),
    SimModel("magnet-sim/atlas-70b", "atlas", 70.0),
    SimModel("magnet-sim/brook-3b", "brook", 3.0),
    SimModel("magnet-sim/brook-13b", "brook", 13.0),
    SimModel("magnet-sim/brook-34b", "brook", 34.0),
    SimModel("magnet-sim/cirrus-8b", "cirrus", 8.0),
    SimModel("magnet-sim/cirrus-120b", "cirrus", 120.0),
)

#: Offline HELM scenarios: multiple choice, short answer, classification,
#: synthetic reasoning (three kinds) and Dyck languages.
DEFAULT_SCENARIOS: tuple[SimScenario, ...] = (
    SimScenario("simple_mcqa", loadings=(0.1, 0.7, 0.5), difficulty=0.2, perturbations=("typo_easy",)),
    SimScenario("simple_short_answer_qa", loadings=(0.2, 0.8, 0.3), difficulty=0.4, perturbations=("lower",)),
    SimScenario("simple_classification", loadings=(0.0, 0.2, 0.9), difficulty=-0.4),
    SimScenario("synthetic_reasoning:mode=pattern_match", loadings=(0.9, 0.0, 0.3), difficulty=0.7),
    SimScenario("synthetic_reasoning:mode=variable_substitution", loadings=(0.8, 0.1, 0.5), difficulty=1.2),
    SimScenario("synthetic_reasoning_natural:difficulty=easy", loadings=(0.7, 0.4, 0.0), difficulty=0.3),
    SimScenario("dyck_language:num_parenthesis_pairs=2", loadings=(1.0, 0.0, 0.2), difficulty=0.9,
                discrimination=1.6),
)


class DemoBuildError(RuntimeError):
    """The demo build failed; the message names the run and HELM's error."""


@dataclass(frozen=True)
class DemoSpec:
    """Which demo corpus to build: models, scenarios, instances per run, seed.

    Use :meth:`preset` for the named variants: ``default`` (8 models x 7
    scenarios, 2 of them also perturbed, 40 eval instances per run),
    ``large`` (the same with 150 instances per run, for predictor benchmarks)
    and ``small`` (4 models x 3 scenarios x 20 instances, for fast tests).
    """

    name: str = "default"
    models: tuple[SimModel, ...] = DEFAULT_MODELS
    scenarios: tuple[SimScenario, ...] = DEFAULT_SCENARIOS
    max_eval_instances: int = 40
    seed: int = 0
    suite: str = "demo"
    #: Explicit run entries (``scenario:...,model=M[,data_augmentation=P]``) instead of models x scenarios.
    entries: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def preset(cls, name: str = "default", **overrides) -> "DemoSpec":
        """A named variant, with any field overridden (``seed=1``, ...)."""
        presets = {
            "default": {},
            "large": {"max_eval_instances": 150},
            "small": {
                "models": tuple(DEFAULT_MODELS[i] for i in (0, 2, 4, 6)),
                "scenarios": tuple(DEFAULT_SCENARIOS[i] for i in (0, 3, 6)),
                "max_eval_instances": 20,
            },
        }
        if name not in presets:
            raise ValueError(f"unknown demo preset {name!r}; expected one of {sorted(presets)}")
        return cls(name=name, **{**presets[name], **overrides})

    def run_entries(self, model: str | None = None) -> list[str]:
        """HELM run entries, for every model (or the given one)."""
        if self.entries:
            if model is None:
                return list(self.entries)
            swapped = [re.sub(r"model=[^,]*", f"model={model}", e) for e in self.entries]
            mine = [e for e, s in zip(self.entries, swapped) if e == s]
            return mine if model in {m.name for m in self.models} else list(dict.fromkeys(swapped))
        models = [model] if model else [m.name for m in self.models]
        entries = []
        for m in models:
            for s in self.scenarios:
                sep = "," if ":" in s.entry else ":"
                entries.append(f"{s.entry}{sep}model={m}")
                entries += [f"{s.entry}{sep}model={m},data_augmentation={p}" for p in s.perturbations]
        return entries

    def to_json(self) -> dict:
        """The spec as plain JSON (what the variant id hashes)."""
        d = dataclasses.asdict(self)
        d.pop("extra")
        if not d["entries"]:
            d.pop("entries")  # the presets' ids stay what they were before entries existed
        return d

    def variant_id(self) -> str:
        """``<name>-<hash>``: changes with any field or with GENERATOR_VERSION."""
        blob = json.dumps({"spec": self.to_json(), "version": GENERATOR_VERSION}, sort_keys=True)
        return f"{self.name}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def cache_root() -> Path:
    """magnet's cache dir: ``$MAGNET_CACHE_DIR``, else ``$XDG_CACHE_HOME/magnet``, else ``~/.cache/magnet``.

    Example:
        >>> cache_root().name in ("magnet", os.environ.get("MAGNET_CACHE_DIR", "magnet").rstrip("/").split("/")[-1])
        True
    """
    if os.environ.get("MAGNET_CACHE_DIR"):
        return Path(os.environ["MAGNET_CACHE_DIR"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "magnet"


def demo_path(spec: DemoSpec | None = None, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where the ``benchmark_output`` of a demo variant lives (built or not)."""
    spec = spec or DemoSpec.preset()
    root = Path(cache_dir) if cache_dir else cache_root() / "demo"
    return root / spec.variant_id() / "benchmark_output"


def build_demo(
    spec: DemoSpec | None = None,
    cache_dir: str | os.PathLike | None = None,
    *,
    rebuild: bool = False,
    progress: bool = True,
    jobs: int | None = None,
) -> Path:
    """Build (or reuse) a demo ``benchmark_output`` and return its path.

    Parameters
    ----------
    spec: the variant (default: ``DemoSpec.preset("default")``).
    cache_dir: where variants are kept (default ``cache_root() / "demo"``).
    rebuild: build again even if a complete cached copy exists.
    progress: show a progress bar while HELM runs.
    jobs: parallel ``helm-run`` processes (default: number of CPUs, at most 4).

    Returns
    -------
    Path of the ``benchmark_output`` directory (its runs are in ``runs/<suite>/``).
    """
    spec = spec or DemoSpec.preset()
    out = demo_path(spec, cache_dir)
    variant_dir = out.parent
    variant_dir.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(variant_dir.parent / f"{variant_dir.name}.lock"):
        if _is_complete(out, spec) and not rebuild:
            return out
        work = variant_dir.parent / f"{variant_dir.name}.building"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        try:
            built = _build(spec, work, progress=progress, jobs=jobs or min(os.cpu_count() or 1, 4))
            shutil.rmtree(variant_dir, ignore_errors=True)
            variant_dir.mkdir(parents=True)
            # The simulation's config stays beside, not inside, the benchmark_output.
            config = variant_dir / "helm_config"
            shutil.copytree(work / "prod_env", config, ignore=shutil.ignore_patterns("cache"))
            for name in ("simulation.json", "answer_key.json"):
                shutil.copy2(work / name, config / name)
            os.replace(built, out)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return out


@contextlib.contextmanager
def _file_lock(path: Path):
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _is_complete(out: Path, spec: DemoSpec) -> bool:
    marker = out / "magnet_demo.json"
    if not marker.is_file():
        return False
    try:
        return json.loads(marker.read_text())["variant"] == spec.variant_id()
    except (ValueError, KeyError):
        return False


def _helm_env(work: Path) -> dict[str, str]:
    nltk = work / "nltk_data"
    for name in PUNKT_FILES:
        p = nltk / "tokenizers" / "punkt_tab" / "english" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.touch()
    env = dict(os.environ)
    env["NLTK_DATA"] = str(nltk)
    env["HF_HUB_OFFLINE"] = "1"
    env["TOKENIZERS_PARALLELISM"] = "false"
    # The simulated client must be importable by helm-run, installed or not.
    package_root = str(Path(__file__).resolve().parents[4])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    return env


def _helm_bin(name: str) -> str:
    candidate = Path(sys.executable).with_name(name)
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        raise DemoBuildError(f"cannot find HELM's `{name}` command; is crfm-helm installed in this environment?")
    return found


def _build(spec: DemoSpec, work: Path, *, progress: bool, jobs: int) -> Path:
    env = _helm_env(work)
    key_out, out = work / "key_output", work / "benchmark_output"

    # 1. Key pass with HELM's built-in model, to learn each prompt's answer.
    key_entries = spec.run_entries(model="simple/model1")
    _run_helm(
        [[_helm_bin("helm-run"), "--run-entries", *key_entries, "--suite", KEY_SUITE,
          "--max-eval-instances", str(spec.max_eval_instances), "-o", str(key_out), "--local-path", "prod_env_key"]],
        cwd=work, env=env, watch=key_out / "runs" / KEY_SUITE, expected=len(key_entries),
        label="HELM key pass (simple/model1)", progress=progress,
    )
    key = _answer_key(spec, key_out / "runs" / KEY_SUITE)
    key_path = work / "answer_key.json"
    key_path.write_text(json.dumps(key, sort_keys=True))

    # 2. Main pass: every simulated model, in parallel helm-run processes.
    prod_env = work / "prod_env"
    _write_helm_config(spec, prod_env, key_path, work / "simulation.json")
    models = [m.name for m in spec.models]
    chunks = [models[i::jobs] for i in range(min(jobs, len(models)))]
    commands = [
        [_helm_bin("helm-run"), "--run-entries", *[e for m in chunk for e in spec.run_entries(model=m)],
         "--suite", spec.suite, "--max-eval-instances", str(spec.max_eval_instances), "-o", str(out),
         "--local-path", str(prod_env), "-n", "4"]
        for chunk in chunks
    ]
    _run_helm(commands, cwd=work, env=env, watch=out / "runs" / spec.suite,
              expected=len(spec.run_entries()), label="HELM runs (simulated models)", progress=progress)

    # 3. Suite-level summary files (schema.json, runs.json, groups, ...). One thread: helm-summarize compiles
    #    mako templates in its worker threads, and CPython 3.11 can fail parsing Python in concurrent threads
    #    ("SystemError: AST constructor recursion depth mismatch", cf. CPython gh-106905); seen once in CI here.
    _run_helm(
        [[_helm_bin("helm-summarize"), "--suite", spec.suite, "-o", str(out), "--local-path", str(prod_env),
          "--num-threads", "1"]],
        cwd=work, env=env, watch=None, expected=0, label="helm-summarize", progress=False,
    )
    for junk in ("scenarios", "scenario_instances"):
        shutil.rmtree(out / junk, ignore_errors=True)
    shutil.rmtree(out / "runs" / spec.suite / "eval_cache", ignore_errors=True)
    (out / "magnet_demo.json").write_text(json.dumps(
        {"variant": spec.variant_id(), "generator_version": GENERATOR_VERSION, "spec": spec.to_json()},
        indent=2, sort_keys=True,
    ))
    return out


def _answer_key(spec: DemoSpec, key_runs: Path) -> dict:
    """Map each key-pass run to its simulated scenario and collect its answers."""
    by_entry = {}
    for s in spec.scenarios:
        sep = "," if ":" in s.entry else ":"
        by_entry[_run_name_for(f"{s.entry}{sep}model=simple/model1")] = s.entry
    key: dict = {}
    for run_dir in sorted(key_runs.iterdir()):
        if not (run_dir / "scenario_state.json").is_file():
            continue
        base = re.sub(r",data_augmentation=[^,]*", "", run_dir.name)
        if base not in by_entry:
            raise DemoBuildError(f"{run_dir}: key-pass run matches no demo scenario")
        states = json.loads((run_dir / "scenario_state.json").read_text())["request_states"]
        key.update(key_entries_for_run(states, scenario=by_entry[base]))
    return key


def _run_name_for(entry: str) -> str:
    """The run directory name HELM gives a run entry (its RunSpec name, '/' -> '_')."""
    from helm.benchmark.config_registry import register_builtin_configs_from_helm_package
    from helm.benchmark.run import run_entries_to_run_specs
    from helm.benchmark.presentation.run_entry import RunEntry

    register_builtin_configs_from_helm_package()
    [run_spec] = run_entries_to_run_specs([RunEntry(description=entry, priority=1, groups=None)])
    return run_spec.name.replace("/", "_")


def _write_helm_config(spec: DemoSpec, prod_env: Path, key_path: Path, sim_path: Path) -> None:
    import yaml

    prod_env.mkdir(parents=True, exist_ok=True)
    sim_path.write_text(json.dumps({
        "seed": spec.seed,
        "key_path": str(key_path),
        "models": {m.name: {"family": m.family, "params_b": m.params_b, "ability_slope": m.ability_slope}
                   for m in spec.models},
        "scenarios": {s.entry: dataclasses.asdict(s) for s in spec.scenarios},
    }, indent=2, sort_keys=True))
    deployments = [{
        "name": m.name, "model_name": m.name, "tokenizer_name": "simple/tokenizer1",
        "max_sequence_length": 8192,
        "client_spec": {"class_name": SIMULATED_CLIENT, "args": {"config_path": str(sim_path)}},
    } for m in spec.models]
    metadata = [{
        "name": m.name, "display_name": f"Sim {m.name.split('/')[1]}",
        "description": f"magnet simulated model ({m.family} family, {m.params_b:g}B parameters)",
        "creator_organization_name": "magnet", "access": "open", "num_parameters": int(m.params_b * 1e9),
        "release_date": datetime.date(2026, 1, 1), "tags": ["TEXT_MODEL_TAG", "FULL_FUNCTIONALITY_TEXT_MODEL_TAG"],
    } for m in spec.models]
    (prod_env / "model_deployments.yaml").write_text(yaml.safe_dump({"model_deployments": deployments}))
    (prod_env / "model_metadata.yaml").write_text(yaml.safe_dump({"models": metadata}))


def _run_helm(commands, *, cwd: Path, env, watch: Path | None, expected: int, label: str, progress: bool) -> None:
    """Run HELM commands in parallel, show progress, and turn failures into DemoBuildError."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    log_dir = cwd.parent / cwd.name.replace(".building", ".logs")
    log_dir.mkdir(exist_ok=True)
    stem = re.sub(r"\W+", "-", label).strip("-").lower()
    logs = [log_dir / f"{stem}-{i}.log" for i in range(len(commands))]
    procs = []
    for cmd, log in zip(commands, logs):
        with open(log, "w") as f:
            procs.append(subprocess.Popen(cmd, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT))

    def done() -> int:
        if watch is None or not watch.is_dir():
            return 0
        return sum(1 for d in watch.iterdir() if (d / "stats.json").is_file())

    columns = [TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, transient=True, disable=not (progress and expected), redirect_stdout=False) as bar:
        task = bar.add_task(label, total=expected or None)
        while any(p.poll() is None for p in procs):
            bar.update(task, completed=done())
            time.sleep(0.5)
        bar.update(task, completed=done())

    failed_runs = []
    if watch is not None and watch.is_dir():
        for d in watch.iterdir():
            if d.is_dir() and d.name != "eval_cache" and not (d / "stats.json").is_file():
                failed_runs.append(d.name)
                shutil.rmtree(d, ignore_errors=True)
    bad = [(cmd, log, p.returncode) for cmd, log, p in zip(commands, logs, procs) if p.returncode != 0]
    if bad or failed_runs:
        cmd, log, rc = bad[0] if bad else (commands[0], logs[0], 0)
        raise DemoBuildError(
            f"{label} failed (exit {rc}); runs without results: {', '.join(sorted(failed_runs)) or 'none'}; "
            f"HELM said: {_helm_error(log)} (full log: {log})"
        )


def _helm_error(log: Path) -> str:
    """The most telling line of a HELM log: its last error or exception line."""
    lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    pattern = re.compile(r"(Error|Exception|error:|Traceback|failed)", re.IGNORECASE)
    hits = [ln for ln in lines if pattern.search(ln) and not ln.startswith("Traceback")]
    return hits[-1][:500] if hits else (lines[-1][:500] if lines else "no output")
