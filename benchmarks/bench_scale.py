"""Scale: tables of a 10,000-run corpus, and predictor x fold throughput with 1 vs 2 workers.

Usage::

    python benchmarks/bench_scale.py                 # 10,000 runs
    python benchmarks/bench_scale.py --runs 2000     # quicker

Part 1 replicates demo runs under new names and models (the files of the
tables asked for with ``--tables``, by default all four: about 5 GB at 10,000
runs) and, for each table, reports the time and peak memory (RSS of a fresh process) of the
first load, which flattens every run into the cache, and of
re-opening it from the cache, also with column projection (only the columns
a scorer needs), and of a first load that asks only for those columns (its
peak memory is the chunks in flight plus the projected result).

Part 2 runs a predictor over leave-one-run-out folds of the demo corpus with
the local backend and ``n_jobs`` 1 and 2, and prints folds per second and the
ratio, measured in this run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_load import replicate  # noqa: E402

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

MEASURE = r"""
import json, resource, sys, time
import pyarrow.parquet
from magnet.backends.helm.outputs import HelmOutputs
root, table, cache, columns = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
outputs = HelmOutputs.coerce(root, cache_dir=cache)
t = time.perf_counter()
df = outputs.table(table, columns=None if columns == "-" else columns.split(","))
print(json.dumps({"seconds": time.perf_counter() - t, "rows": len(df), "columns": df.shape[1],
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PROJECTION = {
    "stats": "suite,run_spec.name,stats.name.name,stats.name.split,stats.name.perturbation.name,stats.mean",
    "run_specs": "suite,run_spec.name,run_spec.adapter_spec.model,run_spec.groups",
    "per_instance_stats": "suite,run_spec.name,per_instance_stats.instance_id,per_instance_stats.stats.name.name,"
                          "per_instance_stats.stats.mean",
    "scenario_states": "suite,run_spec.name,scenario_state.request_states.instance.id,"
                       "scenario_state.request_states.result.completions",
}


def measure(root, table, cache, columns="-") -> dict:
    out = subprocess.run([sys.executable, "-c", MEASURE, str(root), table, str(cache), columns],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def throughput(n_jobs: int) -> tuple[float, int]:
    from magnet.backends.helm.outputs import HelmOutputs
    from magnet.protocol.corpus import Corpus
    from magnet.protocol.runner import run_protocol
    from predictors.example_random_predictor import ExampleRandomPredictor

    predictor = ExampleRandomPredictor()
    try:
        from predictors.low_rank import LowRank

        predictor = LowRank()
    except ImportError:
        pass
    corpus = Corpus.load(HelmOutputs.demo())
    start = time.perf_counter()
    result = run_protocol(predictor, corpus, split="leave-one-run-out", n_jobs=n_jobs, progress=False)
    return time.perf_counter() - start, len(result.folds)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--tables", default="run_specs,stats,scenario_states,per_instance_stats",
                        help="comma-separated tables (per_instance_stats.json is ~3.4 GB at 10k runs)")
    args = parser.parse_args(argv)
    from magnet.backends.helm.demo import build_demo

    console = Console(width=190)
    from magnet.backends.helm.tables import TABLE_FILES

    tables = args.tables.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        files = tuple(dict.fromkeys(["run_spec.json"] + [TABLE_FILES[t] for t in tables]))
        root = replicate(build_demo(progress=False), Path(tmp) / "corpus", args.runs, files=files)
        console.print(f"generated {args.runs} runs in {time.perf_counter() - start:.1f} s")
        t = Table(title=f"{args.runs}-run corpus: table build (cold, fills the cache) and re-open from the cache")
        for col in ("table", "rows", "build s", "build peak MB", "re-open s", "re-open peak MB",
                    "projected re-open s", "projected peak MB", "projected build s", "projected build MB"):
            t.add_column(col, justify="right")
        for name in tables:
            cache = Path(tmp) / f"cache-{name}"
            cold = measure(root, name, cache)
            warm = measure(root, name, cache)
            projected = measure(root, name, cache, PROJECTION[name])
            # A cold build asking only for some columns: every chunk goes to the cache as it is
            # flattened, and only the asked columns are read back.
            projected_cold = measure(root, name, Path(tmp) / f"cache-{name}-projected", PROJECTION[name])
            t.add_row(name, str(cold["rows"]), f"{cold['seconds']:.2f}", f"{cold['peak_mb']:.0f}",
                      f"{warm['seconds']:.2f}", f"{warm['peak_mb']:.0f}", f"{projected['seconds']:.2f}",
                      f"{projected['peak_mb']:.0f}", f"{projected_cold['seconds']:.2f}",
                      f"{projected_cold['peak_mb']:.0f}")
        console.print(t)

    one, folds = throughput(1)
    two, _ = throughput(2)
    t = Table(title="predictor x fold throughput, leave-one-run-out on the demo corpus (local backend)")
    for col in ("workers", "folds", "seconds", "folds / s"):
        t.add_column(col, justify="right")
    t.add_row("1", str(folds), f"{one:.2f}", f"{folds / one:.1f}")
    t.add_row("2", str(folds), f"{two:.2f}", f"{folds / two:.1f}")
    console.print(t)
    console.print(f"speed-up with 2 workers: {one / two:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
