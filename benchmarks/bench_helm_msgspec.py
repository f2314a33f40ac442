"""HelmRun.msgspec on real HELM output: every run decodes, and how fast it reads against the other views.

    PYTHONPATH=. python benchmarks/bench_helm_msgspec.py [ROOT ...]   # default: ../shared/data, tests/data

1. Every run folder (a ``run_spec.json``) under the roots: each of its four files through ``run.msgspec``; prints
   one line per file that does not decode (the one-line HelmOutputError) and the count of runs / files read.
2. Time of reading one run's ``stats.json`` and ``scenario_state.json`` (the largest run found), median of 5, through
   ``run.json`` (orjson), ``run.dataclass`` (dacite, as HELM reads it), ``run.msgspec`` and magnet's loader table
   ``run.stats()`` / ``run.scenario_state()`` (its parquet cache, warm after the first call).
"""
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from magnet.backends.helm.errors import HelmOutputError  # noqa: E402
from magnet.backends.helm.helm_outputs import HelmRun  # noqa: E402

FILES = ("run_spec", "stats", "per_instance_stats", "scenario_state")


def runs_under(roots):
    for root in roots:
        for spec in sorted(Path(root).glob("**/run_spec.json")):
            if "latest" not in spec.parts:
                yield spec.parent


def median_time(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(roots):
    runs, files, errors = 0, 0, 0
    largest = None
    for run_dir in runs_under(roots):
        runs += 1
        for name in FILES:
            if not (run_dir / f"{name}.json").is_file():
                continue
            files += 1
            try:
                getattr(HelmRun(run_dir).msgspec, name)()
            except HelmOutputError as e:
                errors += 1
                print("ERROR", e)
        size = (run_dir / "scenario_state.json").stat().st_size if (run_dir / "scenario_state.json").is_file() else 0
        if largest is None or size > largest[0]:
            largest = (size, run_dir)
    print(f"{runs} runs, {files} files decoded through run.msgspec, {errors} errors ({', '.join(map(str, roots))})")
    run = HelmRun(largest[1])
    run.stats(), run.scenario_state()  # fill magnet's table cache
    print(f"one run: {run.name} (scenario_state.json {largest[0] / 1e6:.1f} MB); median of 5, ms")
    for name in ("stats", "scenario_state"):
        row = {
            "json": median_time(lambda: getattr(run.json, name)()),
            "dataclass": median_time(lambda: list(getattr(run.dataclass, name)()) if name == "stats"
                                     else run.dataclass.scenario_state()),
            "msgspec": median_time(lambda: getattr(run.msgspec, name)()),
            "loader table": median_time(lambda: getattr(run, name)()),
        }
        print(f"  {name:15s} " + "  ".join(f"{k} {v * 1e3:8.1f}" for k, v in row.items())
              + f"   dataclass/msgspec {row['dataclass'] / row['msgspec']:.1f}x")


if __name__ == "__main__":
    main(sys.argv[1:] or [str(ROOT.parent / "shared" / "data"), str(ROOT / "tests" / "data")])
