"""How fast the lm-eval reader turns lm-eval output into the four tables, against just parsing the same JSON.

Builds (once, cached in magnet's cache) lm-eval output of the 8 simulated models x 3 tasks x N documents with
the real lm_eval (needs the ``frameworks`` extra), then times
``magnet.backends.lm_eval.read_tables`` and, as the floor, ``json.loads`` of every line of every file
(what any reader must do). Prints both and their ratio.

    python benchmarks/bench_lm_eval_read.py [--docs 500] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from magnet.backends.lm_eval import demo, read_tables


def parse_only(root: Path) -> int:
    n = 0
    for f in root.rglob("*.json*"):
        if f.suffix == ".json":
            json.loads(f.read_text())
            n += 1
        else:
            with open(f) as fh:
                for line in fh:
                    json.loads(line)
                    n += 1
    return n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    name = f"bench{args.docs}"
    demo.PRESETS[name] = demo.Preset(demo.ALL_MODELS, args.docs)
    out = demo.build_demo(name)
    best_read = best_parse = float("inf")
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        tables = read_tables(out)
        best_read = min(best_read, time.perf_counter() - t0)
        t0 = time.perf_counter()
        lines = parse_only(out)
        best_parse = min(best_parse, time.perf_counter() - t0)
    runs, rows = len(tables["run_specs"]), len(tables["per_instance_stats"])
    print(f"{runs} runs, {lines} JSON lines/files, {rows} per-instance rows, {len(tables['scenario_states'])} states")
    print(f"read_tables: {best_read:.3f} s; json.loads of the same files: {best_parse:.3f} s; "
          f"ratio {best_read / best_parse:.2f}")


if __name__ == "__main__":
    main()
