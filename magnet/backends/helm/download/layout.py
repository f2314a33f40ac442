"""HELM's bucket layout: project prefixes and references to suites, releases and runs.

Example:
    >>> RunRef('lite', 'v1.0.0', 'gsm:model=a_b', 'lite/benchmark_output/').prefix
    'lite/benchmark_output/runs/v1.0.0/gsm:model=a_b/'
"""

from __future__ import annotations

import dataclasses


BENCHMARK_OUTPUT = "benchmark_output"
LEGACY_ROOT_BENCHMARK = "classic"
NON_RUN_DIRS = frozenset({"groups", "eval_cache"})
# Suite-level files written by helm-summarize next to the run directories
# (runs/<suite>/<file>), and the directories among NON_RUN_DIRS fetched with
# them.  eval_cache/ is never fetched.
SUITE_FILES = (
    "schema.json",
    "summary.json",
    "run_specs.json",
    "runs.json",
    "runs_to_run_suites.json",
    "groups.json",
    "groups_metadata.json",
    "costs.json",
)
SUITE_DIRS = ("groups",)
# Where each benchmark goes under DEST (see plan.bench_prefix).
LAYOUTS = ("benchmark_output", "magnet")
CORE_RUN_FILES = (
    "run_spec.json",
    "scenario.json",
    "scenario_state.json",
    "stats.json",
    "per_instance_stats.json",
)
STANDARD_RUN_FILES = CORE_RUN_FILES + (
    "instances.json",
    "display_predictions.json",
    "display_requests.json",
)


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """A HELM project and the object prefixes (``.../benchmark_output/``) that hold it."""

    name: str
    bases: tuple[str, ...]

    @staticmethod
    def candidate_bases(name: str) -> tuple[str, ...]:
        """Where a project may live, in order of preference.

        Example:
            >>> Benchmark.candidate_bases('lite')
            ('lite/benchmark_output/',)
            >>> Benchmark.candidate_bases('classic')
            ('classic/benchmark_output/', 'benchmark_output/')
        """
        bases = (f"{name}/{BENCHMARK_OUTPUT}/",)
        if name == LEGACY_ROOT_BENCHMARK:
            bases += (f"{BENCHMARK_OUTPUT}/",)
        return bases


@dataclasses.dataclass(frozen=True)
class SuiteRef:
    """A suite (``runs/<name>/``) of a benchmark, under the prefix *base* that holds it.

    Example:
        >>> SuiteRef('classic', 'v0.2.4', 'benchmark_output/').prefix
        'benchmark_output/runs/v0.2.4/'
    """

    benchmark: str
    name: str
    base: str

    @property
    def prefix(self) -> str:
        return f"{self.base}runs/{self.name}/"


@dataclasses.dataclass(frozen=True)
class ReleaseRef:
    """A release (``releases/<name>/``) of a benchmark, under the prefix *base* that holds it.

    Example:
        >>> ReleaseRef('lite', 'v1.1.0', 'lite/benchmark_output/').prefix
        'lite/benchmark_output/releases/v1.1.0/'
    """

    benchmark: str
    name: str
    base: str

    @property
    def prefix(self) -> str:
        return f"{self.base}releases/{self.name}/"


@dataclasses.dataclass(frozen=True)
class RunRef:
    """A run directory of a suite; ``key`` names it in reports (``benchmark/suite/run``).

    Example:
        >>> RunRef('lite', 'v1.0.0', 'gsm:model=a_b', 'lite/benchmark_output/').key
        'lite/v1.0.0/gsm:model=a_b'
    """

    benchmark: str
    suite: str
    name: str
    base: str

    @property
    def prefix(self) -> str:
        return f"{self.base}runs/{self.suite}/{self.name}/"

    @property
    def key(self) -> str:
        return f"{self.benchmark}/{self.suite}/{self.name}"
