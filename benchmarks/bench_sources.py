"""Loading Inspect AI logs: magnet's reader against ``inspect_ai.analysis.samples_df`` on the same logs.

The issue's target: on 200 logs of 500 samples each, ``read_tables`` takes at most 2x the time of
``samples_df``. Note that ``samples_df`` reads the sample summaries only (ids, scores, usage), while
``read_tables`` also reads every sample's output and logprobs for ``scenario_states``. The logs are real: ``inspect_ai.eval`` runs the simulated ``arithmetic`` task with 500
samples for the six simulated models (6 logs), and the folder holds ``--copies`` copies of them in
sub-folders (suites), 6 x 34 = 204 logs by default. Prints one line with both times and the ratio.

    nice python benchmarks/bench_sources.py [--copies 34] [--samples 500] [--workdir /tmp/bench-inspect]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path


def make_logs(workdir: Path, samples: int, copies: int) -> Path:
    base = workdir / f"base-{samples}"
    if not base.is_dir() or not list(base.glob("*.eval")):
        code = ("import sys; from inspect_ai import eval as ev; from magnet.backends.inspect.simulated import "
                "arithmetic, MODELS; ev([arithmetic(n=int(sys.argv[2]))], model=list(MODELS), log_dir=sys.argv[1], "
                "display='none', max_tasks=6)")
        subprocess.run([sys.executable, "-c", code, str(base), str(samples)], check=True)
    root = workdir / f"logs-{samples}x{copies}"
    if not root.is_dir():
        for i in range(copies):
            shutil.copytree(base, root / f"copy{i:03d}")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=34)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench-inspect"))
    parser.add_argument("--skip-full", action="store_true", help="do not time samples_df(full=True) (the slowest)")
    args = parser.parse_args()
    from inspect_ai.analysis import samples_df

    from magnet.backends.inspect.reader import log_files, read_tables

    root = make_logs(args.workdir, args.samples, args.copies)
    files = [str(f) for f in log_files(root)]
    # One samples_df call per log: the copies share their eval and sample ids, and samples_df called on all
    # of them at once keeps one copy only (it would read 6 logs where magnet reads them all).
    start = time.perf_counter()
    n_samples = sum(len(samples_df([f], quiet=True)) for f in files)
    t_inspect = time.perf_counter() - start
    start = time.perf_counter()
    for f in [] if args.skip_full else files:
        samples_df([f], quiet=True, full=True)
    t_full = time.perf_counter() - start if not args.skip_full else float("nan")
    start = time.perf_counter()
    read_tables(root, cache=False, n_jobs=1)
    t_one = time.perf_counter() - start
    start = time.perf_counter()
    tables = read_tables(root, cache=False)
    t_magnet = time.perf_counter() - start
    read_tables(root)  # fills the per-log cache
    start = time.perf_counter()
    read_tables(root)
    t_cached = time.perf_counter() - start
    print(f"{len(files)} logs, {n_samples} samples: samples_df {t_inspect:.1f} s (full=True: {t_full:.1f} s); magnet read_tables (4 tables, "
          f"{len(tables['per_instance_stats'])} per-instance rows) one process {t_one:.1f} s, ratio "
          f"{t_one / t_inspect:.2f}; {os.cpu_count()} processes {t_magnet:.1f} s, ratio {t_magnet / t_inspect:.2f}; "
          f"from magnet's cache {t_cached:.1f} s, ratio {t_cached / t_inspect:.2f}")


if __name__ == "__main__":
    main()
