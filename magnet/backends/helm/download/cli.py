"""The command line: ``python -m magnet.backends.helm.download_helm_results`` and ``magnet download helm``."""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from magnet.backends.helm.download import render
from magnet.backends.helm.download.bucket import HelmBucket
from magnet.backends.helm.download.errors import DownloadError
from magnet.backends.helm.download.execute import execute_plan
from magnet.backends.helm.download.names import pick_latest, preview, split_list
from magnet.backends.helm.download.paths import prepare_dest
from magnet.backends.helm.download.plan import plan_download, select_runs
from magnet.backends.helm.gcs import DEFAULT_BUCKET, GCSClient, GCSError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m magnet.backends.helm.download_helm_results",
        description=(
            "Download published HELM results from the public GCS bucket into a "
            "benchmark_output-style directory (DEST/runs/<suite>/<run>/...). "
            "Patterns are globs, or regular expressions with a 'regex:' prefix; "
            "'latest' picks the newest version."
        ),
    )
    parser.add_argument("dest", nargs="?", metavar="DEST",
                        help="destination directory (acts as benchmark_output)")
    parser.add_argument("--benchmark", action="append", metavar="PATTERN",
                        help="HELM project(s): lite, classic, mmlu, ... (glob/regex:, repeatable)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--version", action="append", metavar="PATTERN",
                       help="suite(s) under runs/ (glob/regex:/latest, repeatable)")
    which.add_argument("--release", action="append", metavar="PATTERN",
                       help="release(s) under releases/: runs come from the suites its "
                            "runs_to_run_suites.json names, plus release-level files")
    parser.add_argument("--runs", action="append", metavar="PATTERN",
                        help="run names to fetch (glob/regex:, repeatable; default: all)")
    parser.add_argument("--files", action="append", metavar="LIST",
                        help="comma list of per-run file names/globs (default: all), "
                             "e.g. stats.json,run_spec.json to skip scenario_state.json")
    parser.add_argument("--release-files", action="append", metavar="LIST",
                        help="comma list of globs of release-level files (paths under "
                             "releases/<R>/; default: all)")
    parser.add_argument("--list-benchmarks", action="store_true", help="list projects and exit")
    parser.add_argument("--list-versions", action="store_true",
                        help="list suites and releases of the selected (default: all) benchmarks")
    parser.add_argument("--list-runs", action="store_true",
                        help="list runs selected by --benchmark/--version|--release/--runs")
    parser.add_argument("--dry-run", action="store_true",
                        help="show the plan and total bytes; write nothing")
    parser.add_argument("--workers", type=int, default=8, metavar="N",
                        help="parallel downloads (default: 8)")
    parser.add_argument("--endpoint", metavar="URL",
                        help="API endpoint (default: $STORAGE_EMULATOR_HOST or "
                             "https://storage.googleapis.com)")
    parser.add_argument("--bucket", default=DEFAULT_BUCKET, help=f"bucket (default: {DEFAULT_BUCKET})")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bar or summary (errors still go to stderr)")
    return parser




def _run_cli(args, out, err) -> int:
    if args.workers < 1:
        raise DownloadError("--workers must be at least 1")
    listing_mode = args.list_benchmarks or args.list_versions or args.list_runs
    if not listing_mode and not args.dest:
        raise DownloadError("DEST is required (or use --list-benchmarks/--list-versions/--list-runs)")
    if args.dest and not listing_mode:
        prepare_dest(args.dest, create=False)  # fail early, before any network traffic

    client = GCSClient(args.bucket, args.endpoint, pool_size=max(16, args.workers * 2))
    try:
        helm = HelmBucket(client, workers=args.workers)
        if args.list_benchmarks:
            table = render.make_table(f"HELM benchmarks in {helm.where}", ["Benchmark", "Location"])
            for bench in helm.benchmarks():
                table.add_row(bench.name, ", ".join(f"{helm.where}/{b}" for b in bench.bases))
            out.print(table)
            return 0

        if args.list_versions:
            benches = helm.find_benchmarks(args.benchmark or [])
            table = render.make_table(f"Suites and releases in {helm.where}",
                           ["Benchmark", "Kind", "Name", "Latest", "Location"])
            for bench in benches:
                suites, releases = helm.suites(bench), helm.releases(bench)
                for kind, items in (("suite", suites), ("release", releases)):
                    latest = pick_latest(items)
                    for name, ref in items.items():
                        table.add_row(bench.name, kind, name, "latest" if name == latest else "",
                                      f"{helm.where}/{ref.base}")
            out.print(table)
            return 0

        if not args.benchmark:
            names = [b.name for b in helm.benchmarks()]
            raise DownloadError(f"--benchmark is required; available: {preview(names, 60)}")
        if not args.version and not args.release:
            benches = helm.find_benchmarks(args.benchmark)
            hints = "; ".join(
                f"{b.name}: suites {preview(list(helm.suites(b)), 10)}, "
                f"releases {preview(list(helm.releases(b)), 10)}"
                for b in benches
            )
            raise DownloadError(f"specify --version or --release ({hints})")

        if args.list_runs:
            sel = select_runs(helm, benchmarks=args.benchmark, versions=args.version,
                              releases=args.release, runs=args.runs)
            table = render.make_table(f"Runs ({len(sel.runs)})", ["Benchmark", "Suite", "Run"])
            for run in sel.runs:
                table.add_row(run.benchmark, run.suite, run.name)
            out.print(table)
            render.print_missing(out, sel.missing)
            return 0

        plan = plan_download(
            helm,
            args.dest,
            benchmarks=args.benchmark,
            versions=args.version,
            releases=args.release,
            runs=args.runs,
            files=split_list(args.files),
            release_files=split_list(args.release_files),
        )

        if args.dry_run:
            result = execute_plan(client, plan, workers=args.workers, dry_run=True)
            render.print_plan(out, plan, result)
            return 0

        progress = None if args.quiet else render.RichProgress(err)
        result = execute_plan(client, plan, workers=args.workers, progress=progress)
        for name, reason in result.failed:
            err.print(f"error: {reason}", markup=False, highlight=False)
        if not args.quiet:
            render.print_summary(out, result)
        return 0 if result.ok else 1
    finally:
        client.close()


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command-line entry point; returns the exit code (see the module docstring)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    out = render.console_for(sys.stdout)
    err = render.console_for(sys.stderr)
    try:
        return _run_cli(args, out, err)
    except (DownloadError, GCSError) as ex:
        print(f"error: {ex}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: partial downloads kept as *.part; rerun to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
