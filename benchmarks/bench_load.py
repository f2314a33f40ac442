"""Loading speed and memory: magnet's tables vs bare orjson parsing of the same files.

Usage::

    python benchmarks/bench_load.py              # demo corpus + a 5,000-run synthetic corpus
    python benchmarks/bench_load.py --runs 1000  # a smaller synthetic corpus
    python benchmarks/bench_load.py --only-real  # the real HELM Safety v3 suite only (all four tables)
    python benchmarks/bench_load.py --only-real --real-runs 0   # ... without its 5,000-run replica

Printed first: all four tables loaded together, cold (no cache) and cached, against a bare
orjson parse of their files, on the real HELM Safety v3 suite (as shipped, and with every
``scenario_state.json`` deleted, as in most published suites: then the parse reference also
parses the files magnet rebuilds request states from), and on ``--real-runs`` replicas of its
runs under new names (5,000 by default). What is timed: the first load in a fresh process,
after the imports; imports are not timed, and neither are the modules the loader imports on
first use (listed in the output; measured by a load in a separate process): a process pays
them once, whatever it loads. With them the floor: stat'ing every source file (what a cache
keyed by each file's size and mtime pays at least) plus unpickling the four finished
DataFrames from memory, consolidated (the fastest way found to get their Python objects back; the
garbage collector paused while they are built, then one collection, as magnet does). The floor
runs in a process that has just built and pickled the tables, so its heap is grown already: a
fresh process's first load also pays for growing it.

Then, measured in this run: for each table, the time to merely parse its
files with orjson (the reference), magnet's cold load (no cache), its cached
load, and the ratios, with each ``dtype_backend`` (numpy: object strings;
pyarrow: ``pd.ArrowDtype`` columns); then the same for the synthetic corpus
(demo runs replicated under new names, run_spec.json + stats.json only) with
peak memory, for the stats and run_specs tables, the first load into an
empty cache (which also writes the cache), and a reference for the
cached load: stat'ing the table's files (the least a cache keyed by each
file's size and mtime pays) plus re-reading the finished DataFrame from a
single Parquet file with ``pd.read_parquet``. Times are the best of
``--repeat`` fresh processes (the machine's timing noise is large). Each measurement runs in a fresh subprocess so
that its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

MEASURE = r"""
import json, resource, sys, time, glob, os, importlib
import orjson
mode, root, table, cache, backend = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
for module in filter(None, sys.argv[6].split(",")):  # what the loader imports on first use: not timed
    importlib.import_module(module)
files = {"run_specs": ["run_spec.json"], "stats": ["stats.json", "run_spec.json"],
         "scenario_states": ["scenario_state.json", "run_spec.json"],
         "per_instance_stats": ["per_instance_stats.json", "run_spec.json"],
         "all": ["run_spec.json", "stats.json", "scenario_state.json", "per_instance_stats.json"]}[table]
tables = ["run_specs", "stats", "scenario_states", "per_instance_stats"] if table == "all" else [table]
if mode != "orjson":
    import pyarrow.parquet  # imports are not timed
    from magnet.backends.helm.outputs import HelmOutputs
if mode == "read_parquet":
    import pandas, pyarrow.dataset
    kwargs = {} if backend == "numpy" else {"dtype_backend": backend}
    pandas.read_parquet(cache, columns=["suite"], **kwargs)  # warm up
if mode == "warm":  # a second load in the same process: the first pays the process's one-time costs
    outputs = HelmOutputs.coerce(root, cache_dir=cache)
    outputs.tables(tables)
if mode in ("floor", "dump"):  # the finished DataFrames, pickled in memory (not timed)
    import pickle, warnings
    warnings.simplefilter("ignore")
    blobs = [pickle.dumps(HelmOutputs.coerce(root, cache_dir=False).table(name, cache=False).copy(), protocol=5)
             for name in tables]  # copy(): consolidated, one block per dtype (unpickles 2-3x faster)
    if mode == "dump":  # for a fresh process's floor
        os.makedirs(cache, exist_ok=True)
        for name, blob in zip(tables, blobs):
            with open(os.path.join(cache, name + ".pickle"), "wb") as f:
                f.write(blob)
if mode == "floor_fresh":  # the same pickles, made by another process, read into memory (not timed)
    import pickle
    blobs = []
    for name in tables:
        with open(os.path.join(cache, name + ".pickle"), "rb") as f:
            blobs.append(f.read())
if mode in ("floor", "floor_fresh"):
    stat_files = sorted(glob.glob(os.path.join(root, "runs", "*", "*", "*.json")))
before = set(sys.modules)
t = time.perf_counter()
if mode == "orjson":
    for d in sorted(glob.glob(os.path.join(root, "runs", "*", "*"))):
        run_files = files
        if table in ("all", "scenario_states") and not os.path.isfile(os.path.join(d, "scenario_state.json")):
            # what magnet rebuilds the request states from
            run_files = files + ["instances.json", "display_predictions.json", "display_requests.json"]
        for f in run_files:
            p = os.path.join(d, f)
            if os.path.isfile(p):
                with open(p, "rb") as fh:
                    orjson.loads(fh.read())
    rows = -1
elif mode == "stat":  # the key of a cache by each file's size and mtime, alone
    for d in sorted(glob.glob(os.path.join(root, "runs", "*", "*"))):
        for f in files:
            st = os.stat(os.path.join(d, f))
    rows = -1
elif mode == "dump":
    rows = -1
elif mode in ("floor", "floor_fresh"):  # stat every source file, unpickle the finished tables (collector paused)
    import gc
    for p in stat_files:
        os.stat(p)
    gc.disable()
    rows = sum(len(pickle.loads(b)) for b in blobs)
    gc.enable()
    gc.collect(0)
elif mode == "read_parquet":  # pandas' own reader on one Parquet file of the finished table
    rows = len(pandas.read_parquet(cache, **kwargs))
elif mode == "write_parquet":
    HelmOutputs.coerce(root, cache_dir=False).table(table, cache=False).to_parquet(cache)
    rows = -1
else:
    outputs = HelmOutputs.coerce(root, cache_dir=cache if cache != "-" else False)
    # all four: one call, as magnet's Corpus.load makes it (one listing, each file stat'ed once)
    rows = sum(len(df) for df in outputs.tables(tables, cache=cache != "-", dtype_backend=backend).values())
elapsed = time.perf_counter() - t
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "rows": rows, "peak_mb": peak_mb, "imported": sorted(set(sys.modules) - before)}))
if mode == "read_parquet":  # pyarrow.dataset's threads abort ~1 exit in 20 here ("terminate called ..."): skip exit
    sys.stdout.flush()
    os._exit(0)
"""


def measure(mode: str, root: Path, table: str, cache: str = "-", backend: str = "numpy",
            preload: tuple[str, ...] = ()) -> dict:
    out = subprocess.run([sys.executable, "-c", MEASURE, mode, str(root), table, cache, backend, ",".join(preload)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def best_of(n: int, *args) -> dict:
    results = [measure(*args) for _ in range(n)]
    return min(results, key=lambda r: r["seconds"])


def replicate_real(src: Path, dest: Path, n_runs: int) -> Path:
    """A corpus of real runs: every run of the real suite ``src`` copied, all its files, under new names and models."""
    runs = sorted(p for p in src.glob("runs/*/*") if (p / "run_spec.json").is_file())
    return _copy_runs(runs, dest / "runs" / "replicas", n_runs, files=None, indent=2)


def replicate(src: Path, dest: Path, n_runs: int, files=("run_spec.json", "stats.json")) -> Path:
    """A synthetic corpus: demo runs copied under new names and models (the given files only)."""
    runs = sorted(p for p in (src / "runs" / "demo").iterdir() if (p / "run_spec.json").exists())
    return _copy_runs(runs, dest / "runs" / "synthetic", n_runs, files=files, indent=None)


def _copy_runs(runs: list[Path], suite: Path, n_runs: int, files, indent) -> Path:
    """``n_runs`` copies of ``runs`` (cycled) in ``suite``, each under a new run name and model; ``files``:
    the files to copy besides run_spec.json (None: every JSON file). Returns the corpus root."""
    suite.mkdir(parents=True)
    for i in range(n_runs):
        run = runs[i % len(runs)]
        spec = json.loads((run / "run_spec.json").read_text())
        spec["name"] = f"{spec['name']},replica={i}"
        spec["adapter_spec"]["model"] = f"{spec['adapter_spec']['model']}-r{i // len(runs)}"
        d = suite / f"{run.name},replica={i}"
        d.mkdir()
        (d / "run_spec.json").write_text(json.dumps(spec, indent=indent))
        names = [f.name for f in run.glob("*.json")] if files is None else files
        for name in names:
            if name != "run_spec.json":
                shutil.copyfile(run / name, d / name)
    return suite.parent.parent


REAL_SUITE = Path(__file__).resolve().parent.parent / "tests" / "data" / "helm-safety-v3" / "benchmark_output"


def loader_imports(root: Path, tmp: Path) -> tuple[str, ...]:
    """The modules a load of all four tables imports on first use (cold and cached), from a separate process."""
    cache = str(tmp / "cache-imports")
    return tuple(sorted({m for c in ("-", cache, cache) for m in measure("magnet", root, "all", c)["imported"]}))


def all_tables_table(roots: dict[str, Path], repeat: int, tmp: Path) -> Table:
    """All four tables loaded together, cold and cached, against a bare orjson parse of their files."""
    table = Table(title=f"all four tables together, against a bare orjson parse of their files: best of {repeat} "
                        "fresh processes")
    for col in ("corpus", "runs", "rows", "orjson parse s", "magnet cold s", "cold / parse", "magnet cached s",
                "cached / parse", "cached, 2nd load in process s", "2nd / parse", "floor s: stat + unpickle",
                "floor / parse", "floor, fresh process s", "fresh floor / parse"):
        table.add_column(col, justify="right")
    for label, root in roots.items():
        preload = loader_imports(root, tmp)
        ref = best_of(repeat, "orjson", root, "all")
        cold = best_of(repeat, "magnet", root, "all", "-", "numpy", preload)
        cache = str(tmp / f"cache-all-{abs(hash(label))}")
        measure("magnet", root, "all", cache)  # fill the cache
        cached = best_of(repeat, "magnet", root, "all", cache, "numpy", preload)
        warm = best_of(repeat, "warm", root, "all", cache, "numpy", preload)
        floor = best_of(repeat, "floor", root, "all", "-", "numpy", preload)
        blobs = str(tmp / f"blobs-{abs(hash(label))}")
        measure("dump", root, "all", blobs)
        fresh = best_of(repeat, "floor_fresh", root, "all", blobs, "numpy", preload)
        late = sorted({m for r in (cold, cached, warm) for m in r["imported"]})
        n_runs = sum(1 for p in root.glob("runs/*/*/run_spec.json"))
        table.add_row(label, str(n_runs), str(cold["rows"]), f"{ref['seconds']:.3f}", f"{cold['seconds']:.3f}",
                      f"{cold['seconds'] / ref['seconds']:.2f}x", f"{cached['seconds']:.3f}",
                      f"{cached['seconds'] / ref['seconds']:.2f}x", f"{warm['seconds']:.3f}",
                      f"{warm['seconds'] / ref['seconds']:.2f}x", f"{floor['seconds']:.3f}",
                      f"{floor['seconds'] / ref['seconds']:.2f}x", f"{fresh['seconds']:.3f}",
                      f"{fresh['seconds'] / ref['seconds']:.2f}x")
        table.caption = ((table.caption + "\n") if table.caption else "") + (
            f"{label}: modules the loader imports on first use, imported before timing: "
            f"{', '.join(preload) or 'none'}; imported while timed: {', '.join(late) or 'none'}")
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5000, help="runs in the synthetic corpus")
    parser.add_argument("--repeat", type=int, default=3, help="best of N fresh processes for each timing")
    parser.add_argument("--real", type=Path, default=REAL_SUITE,
                        help="a real HELM benchmark_output to measure too (default: the HELM Safety v3 test suite)")
    parser.add_argument("--only-real", action="store_true",
                        help="only the all-tables ratios on the real suite (with and without scenario_state.json) "
                             "and its replica")
    parser.add_argument("--real-runs", type=int, default=5000,
                        help="runs in the replica of the real suite (its runs copied under new names; 0: none)")
    args = parser.parse_args(argv)
    from magnet.backends.helm.demo import build_demo

    console = Console(width=200)
    if args.real.is_dir():
        with tempfile.TemporaryDirectory() as tmp:
            published = Path(tmp) / "published" / "benchmark_output"
            shutil.copytree(args.real, published)
            for state in published.glob("runs/*/*/scenario_state.json"):
                state.unlink()  # as most published suites: request states rebuilt from the display files
            roots = {"real (HELM Safety v3)": args.real, "real, without scenario_state.json": published}
            if args.real_runs:
                roots[f"real runs replicated x{args.real_runs}"] = replicate_real(
                    args.real, Path(tmp) / "replicas" / "benchmark_output", args.real_runs)
            console.print(all_tables_table(roots, args.repeat, Path(tmp)))
            console.print("timed: the first load of all four tables in a fresh process, in one outputs.tables() call "
                          "(cold: cache=False; cached: a filled cache), everything but module imports, including one garbage collection of the "
                          "loaded objects; 2nd load: the same again in that process; floor: stat every JSON file of "
                          "the runs + unpickle the four finished DataFrames from memory (collector paused, then one "
                          "collection, as magnet does), in the process that built them (its heap grown already); "
                          "fresh floor: the same in a fresh process, the pickles made by another one (what a first "
                          "load from any cache of finished frames pays at least); parse: orjson.loads of every file "
                          "the tables are built from.")
    if args.only_real:
        return 0
    demo = build_demo(progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        table = Table(title=f"demo corpus ({demo}): best of {args.repeat}")
        for col in ("table", "dtype_backend", "rows", "orjson parse s", "magnet cold s", "cold / parse",
                    "magnet cached s", "cold / cached"):
            table.add_column(col, justify="right")
        for name in ("run_specs", "stats", "scenario_states", "per_instance_stats"):
            ref = best_of(args.repeat, "orjson", demo, name)
            for backend in ("numpy", "pyarrow"):
                cold = best_of(args.repeat, "magnet", demo, name, "-", backend)
                cache = str(Path(tmp) / f"cache-{name}-{backend}")
                measure("magnet", demo, name, cache, backend)  # fill the cache
                cached = best_of(args.repeat, "magnet", demo, name, cache, backend)
                table.add_row(name, backend, str(cold["rows"]), f"{ref['seconds']:.3f}", f"{cold['seconds']:.3f}",
                              f"{cold['seconds'] / ref['seconds']:.2f}x", f"{cached['seconds']:.3f}",
                              f"{cold['seconds'] / cached['seconds']:.1f}x")
        console.print(table)

        synthetic = replicate(demo, Path(tmp) / "synthetic", args.runs)
        scale = Table(title=f"synthetic corpus: {args.runs} runs (run_spec.json + stats.json), best of {args.repeat}")
        for col in ("table", "dtype_backend", "rows", "orjson parse s", "magnet cold s", "cold / parse",
                    "peak MB (cold)", "filling s", "magnet cached s", "cold / cached", "peak MB (cached)",
                    "reference s: stat + read_parquet", "cached / reference"):
            scale.add_column(col, justify="right")
        stat = best_of(args.repeat, "stat", synthetic, "stats")
        for name in ("run_specs", "stats"):
            ref = best_of(args.repeat, "orjson", synthetic, name)
            one_file = None
            if name == "stats":  # run_specs holds lists of dicts of varying shapes, which Parquet would rewrite
                one_file = str(Path(tmp) / f"{name}.parquet")
                measure("write_parquet", synthetic, name, one_file)
            for backend in ("numpy", "pyarrow"):
                cold = best_of(args.repeat, "magnet", synthetic, name, "-", backend)
                fills = [measure("magnet", synthetic, name, str(Path(tmp) / f"fill-{name}-{backend}-{i}"), backend)
                         for i in range(args.repeat)]  # each into an empty cache
                cache = str(Path(tmp) / f"fill-{name}-{backend}-0")
                cached = best_of(args.repeat, "magnet", synthetic, name, cache, backend)
                reference = "-", "-"
                if one_file:
                    read = best_of(args.repeat, "read_parquet", synthetic, name, one_file, backend)["seconds"]
                    reference = (f"{stat['seconds']:.3f} + {read:.3f}",
                                 f"{cached['seconds'] / (stat['seconds'] + read):.2f}x")
                scale.add_row(name, backend, str(cold["rows"]), f"{ref['seconds']:.2f}", f"{cold['seconds']:.2f}",
                              f"{cold['seconds'] / ref['seconds']:.2f}x", f"{cold['peak_mb']:.0f}",
                              f"{min(f['seconds'] for f in fills):.2f}",
                              f"{cached['seconds']:.3f}", f"{cold['seconds'] / cached['seconds']:.1f}x",
                              f"{cached['peak_mb']:.0f}", *reference)
        console.print(scale)
        console.print("cold: no cache (cache=False); filling: the first load into an empty cache (it writes the "
                      "parts); reference: what any cache keyed by each file's size and mtime pays at least (os.stat "
                      "of the table's files), plus re-reading the finished DataFrame from one Parquet file with "
                      "pd.read_parquet (imports not timed).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
