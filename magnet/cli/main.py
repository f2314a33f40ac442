"""The ``magnet`` command: thin subcommands over library functions.

Subcommands: ``demo`` (build the demo corpus and summarise it), ``ls``,
``export``, ``predict``, ``benchmark``, ``evaluate``, ``download helm``. A user's mistake ends
the command with one ``error:`` line and exit status 2, never a traceback
(``--debug`` shows it): see :mod:`magnet.cli.errors`.

Example:
    >>> status = main(["--version"])
    magnet 0.1.0
    >>> status
    0
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from magnet import __version__
from magnet.cli.display import make_console
from magnet.backends.helm.errors import HelmOutputError, POLICIES
from magnet.backends.helm.demo import DemoSpec, build_demo
from magnet.backends.helm.download import cli as download_cli
from magnet.backends.helm.export import export_format, export_table, metadata_path
from magnet.backends.helm.outputs import HelmOutputs
from magnet.cli import benchmark, import_scores, predict
from magnet.cli.predict import add_source_format_arg, demo_path
from magnet.sources import open_outputs
from magnet.cli.docs_url import DOCS_URL, docs_page
from magnet.cli.errors import ArgumentParser, add_debug_flag, run_command, writable_file
from magnet.cli.display import corpus_summary_table, listing_table
from magnet.evaluation import cli as evaluation_cli

console = make_console()


def _errors_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--errors", choices=POLICIES, default="raise",
                   help="what to do with damaged runs: raise (default), warn and skip, or skip")


def cmd_demo(args) -> int:
    if args.source_format not in (None, "helm"):
        chosen = {} if args.preset == "default" else {"preset": args.preset}  # else the backend's own default
        path = demo_path(args.source_format, **chosen, cache_dir=args.cache_dir, rebuild=args.rebuild)
        outputs = open_outputs(path, source_format=args.source_format)
        console.print(corpus_summary_table(outputs))
        console.print(f"[bold]{len(outputs.runs())} runs[/] in {path}")
        return 0
    overrides = {"seed": args.seed}
    if args.instances:
        overrides["max_eval_instances"] = args.instances
    spec = DemoSpec.preset(args.preset, **overrides)
    path = build_demo(spec, cache_dir=args.cache_dir, rebuild=args.rebuild)
    outputs = HelmOutputs.coerce(path)
    console.print(corpus_summary_table(outputs))
    console.print(f"[bold]{len(outputs.runs())} runs[/] in {path}")
    return 0


def cmd_ls(args) -> int:
    console.print(listing_table(open_outputs(args.path, source_format=args.source_format), errors=args.errors))
    return 0


def cmd_export(args) -> int:
    writable_file(args.output, "-o")  # before the (possibly long) load: fail fast, write nothing
    export_format(args.output, args.format)
    df = open_outputs(args.path, source_format=args.source_format).table(args.table, errors=args.errors)
    export_table(df, args.output, args.format)
    console.print(f"wrote {len(df)} rows x {df.shape[1]} columns of {args.table} to {args.output}")
    for s in df.attrs.get("skipped", []):
        console.print(f"[yellow]skipped[/] {s}")
    if df.attrs.get("skipped") or df.attrs.get("missing"):
        console.print(f"skipped and incomplete runs are listed in {metadata_path(args.output)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="magnet", description="The magnet command: benchmark predictors of HELM results.",
                            formatter_class=argparse.RawDescriptionHelpFormatter,
                            epilog="examples:\n  magnet demo\n  magnet ls benchmark_output\n"
                                   "  magnet benchmark --root-dir benchmark_output --predictor blend.py\n\n"
                                   "'magnet COMMAND --help' describes each command's options.\n\n"
                                   f"Documentation: {DOCS_URL}  (errors: {docs_page('howto/troubleshooting')})")
    parser.add_argument("--version", action="store_true", dest="show_version", help="print magnet's version and exit")
    add_debug_flag(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("demo", help="build (or reuse) the offline demo corpus and summarise it",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n  magnet demo                    # 8 models x 7 scenarios, cached after the first run\n"
                              "  magnet demo --preset small     # 4 models x 3 scenarios\n"
                              "  magnet demo --instances 50 --seed 1")
    p.add_argument("--preset", default="default", choices=["default", "large", "small"],
                   help="default: 8 models x 9 run entries x 40 instances; large: 150 instances; small: 4 models x "
                        "3 scenarios x 20 instances")
    p.add_argument("--instances", type=int, help="eval instances per run (overrides the preset)")
    p.add_argument("--seed", type=int, default=0, help="seeds the simulated models' answers (default 0); "
                   "each seed is another cached corpus")
    p.add_argument("--cache-dir", help="where demo variants are kept (default: $MAGNET_CACHE_DIR/demo)")
    p.add_argument("--rebuild", action="store_true", help="build again even if cached")
    add_source_format_arg(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("ls", help="list suites, runs, models, scenarios and stat names",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n  magnet ls benchmark_output\n  magnet ls benchmark_output/runs/v3"
                              "   # one suite\n  magnet ls downloaded --errors warn  # leave damaged runs out")
    p.add_argument("path", help="benchmark_output dir, its runs/ dir, a suite or a run; or a folder of Inspect logs, "
                                "lm-eval output or Every Eval Ever records")
    add_source_format_arg(p)
    _errors_arg(p)
    p.set_defaults(func=cmd_ls)

    p = sub.add_parser("export", help="write one flat table to parquet, csv or jsonl",
                       description="Write one flat table to parquet, csv or jsonl (+ OUTPUT.meta.json: skipped, "
                                   "missing and rebuilt runs). In parquet, lists of plain values stay Arrow lists; "
                                   "columns holding mappings or mixed types are JSON text, listed in the "
                                   "metadata's json_columns.",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n  magnet export benchmark_output --table stats -o stats.parquet\n"
                              "  magnet export benchmark_output --table per_instance_stats -o pis.csv\n"
                              "  magnet export benchmark_output --table run_specs -o specs.out --format jsonl")
    p.add_argument("path", help="benchmark_output dir, its runs/ dir, a suite or a run; or a folder of Inspect logs, "
                                "lm-eval output or Every Eval Ever records")
    p.add_argument("--table", required=True, choices=["run_specs", "scenario_states", "stats", "per_instance_stats"],
                   help="which table: one row per run, request state, stat or per-instance stat")
    p.add_argument("--format", choices=["parquet", "csv", "jsonl"], help="default: from the file extension")
    p.add_argument("-o", "--output", required=True, type=Path, help="the file to write (its folder is created)")
    add_source_format_arg(p)
    _errors_arg(p)
    p.set_defaults(func=cmd_export)

    for register in (predict.register, benchmark.register, evaluation_cli.register, download_cli.register,
                     import_scores.register):
        register(sub)
    for p in sub.choices.values():  # --debug after the subcommand too (SUPPRESS: do not reset a global --debug)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The ``magnet`` entry point: parse, run the subcommand under the error contract, return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.show_version:
        print(f"magnet {__version__}")
        return 0
    if not getattr(args, "func", None):
        parser.error("a command is required: " + ", ".join(parser._subparsers._group_actions[0].choices))
    return run_command(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
