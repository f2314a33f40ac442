"""Benchmark: parallel vs serial HELM result downloads against gcp-storage-emulator.

Starts the emulator (in-memory, 127.0.0.1), uploads ``--runs`` runs of
``--files-per-run`` small JSON files in HELM's layout, then downloads the whole
suite with ``--workers 8`` and ``--workers 1`` into fresh temporary
directories and prints the wall times and their ratio.

The emulator is a single-threaded ``http.server`` that also closes the
connection after every response, so against it directly parallelism can only
overlap client-side work.  ``--latency-ms`` (default 50) adds a second
measurement through the tests' threaded proxy, which sleeps that long before
forwarding each request — a crude model of a WAN round trip to real GCS, where
parallel requests do overlap.  ``--latency-ms 0`` skips it.

    .venv/bin/python benchmarks/bench_download.py [--runs 100] [--files-per-run 5] [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import gcs_fake_bucket as fb  # noqa: E402
from magnet.backends.helm.download_helm_results import download_helm_results  # noqa: E402
from magnet.backends.helm.gcs import GCSClient  # noqa: E402

FILES = ("run_spec.json", "scenario.json", "stats.json", "per_instance_stats.json",
         "scenario_state.json", "instances.json", "display_predictions.json",
         "display_requests.json")


def make_tree(runs: int, files_per_run: int, seed: int = 0) -> dict[str, bytes]:
    rng = random.Random(seed)
    tree = {}
    for i in range(runs):
        run = f"mmlu:subject=s{i:03d},method=multiple_choice_joint,model=meta_llama-2-7b"
        for fname in FILES[:files_per_run]:
            payload = {"run": run, "file": fname,
                       "values": [round(rng.random(), 6) for _ in range(rng.randrange(100, 600))]}
            tree[f"bench/benchmark_output/runs/v1.0.0/{run}/{fname}"] = json.dumps(payload).encode()
    return tree


def timed_download(endpoint: str, workers: int) -> tuple[float, int, int]:
    with tempfile.TemporaryDirectory(prefix="bench-dl-") as tmp:
        dest = Path(tmp) / "out"
        client = GCSClient(fb.BUCKET, endpoint, pool_size=max(16, 2 * workers))
        start = time.perf_counter()
        with client:
            result = download_helm_results(dest, benchmark="bench", version="v1.0.0",
                                           workers=workers, client=client)
        elapsed = time.perf_counter() - start
        assert result.ok, result.failed
        count = sum(1 for p in dest.rglob("*") if p.is_file())
        assert count == result.downloaded == len(result.plan.files)
        return elapsed, count, result.bytes_transferred


def measure(label: str, endpoint: str, repeat: int) -> tuple[float, float]:
    times = {}
    for workers in (8, 1):
        best = None
        for _ in range(repeat):
            elapsed, count, nbytes = timed_download(endpoint, workers)
            best = elapsed if best is None else min(best, elapsed)
        times[workers] = best
        print(f"  {label:<28} workers={workers}: {best:7.3f} s  "
              f"({count} files, {nbytes / 1e6:.2f} MB, {count / best:7.1f} files/s)")
    ratio = times[1] / times[8]
    print(f"  {label:<28} speed-up workers 8 vs 1: {ratio:.2f}x")
    return times[8], times[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--files-per-run", type=int, default=5, choices=range(1, len(FILES) + 1))
    parser.add_argument("--latency-ms", type=float, default=50.0,
                        help="per-request latency added by the proxy (0: skip that measurement)")
    parser.add_argument("--repeat", type=int, default=1, help="take the best of N runs")
    args = parser.parse_args(argv)

    tree = make_tree(args.runs, args.files_per_run)
    with fb.Emulator(fb.BUCKET) as emu:
        t0 = time.perf_counter()
        fb.upload_tree(emu.endpoint, fb.BUCKET, tree)
        print(f"uploaded {len(tree)} objects ({sum(map(len, tree.values())) / 1e6:.2f} MB) "
              f"in {time.perf_counter() - t0:.2f} s; cpus={os.cpu_count()}")
        measure("emulator (direct)", emu.endpoint, args.repeat)
        if args.latency_ms > 0:
            proxy = fb.FaultProxy(emu.endpoint).start()
            try:
                proxy.set_latency(args.latency_ms / 1000.0)
                measure(f"proxy +{args.latency_ms:g} ms/request", proxy.endpoint, args.repeat)
            finally:
                proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
