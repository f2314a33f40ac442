"""The command line: ``python -m magnet.backends.helm.download_helm_results`` and ``magnet download helm``.

Both spellings run :func:`run` on arguments defined once by
:func:`add_arguments`.  Error contract: a user mistake (bad arguments, a DEST
that cannot be written, an unknown benchmark/version/release, a bad regex, an
unreachable server) prints one line ``error: <what>: <why>`` on stderr and
exits 2; ``--debug`` or ``MAGNET_DEBUG=1`` adds the traceback.  Anything else
is a bug: traceback, a line asking to report it, exit 70.

MAGNET spellings (Kitware's ``aiq-magnet``): ``--download-dir DIR`` (also
``--dir``, ``--download_dir``) writes ``DIR/<benchmark>/benchmark_output/...``
and defaults to ``--benchmark lite --version latest`` as MAGNET does;
``DEST BENCHMARK VERSION`` may be given positionally; ``--bucket`` accepts a
``gs://`` prefix; ``--checksum`` is accepted (files are always verified);
``--runs`` accepts a YAML-style list (one ``- pattern`` per line).

Example:
    >>> parser = build_parser()
    >>> args = parser.parse_args(['--download-dir', '/data/helm', '--runs', 'mmlu:*'])
    >>> resolve_args(args)
    >>> args.dest, args.layout, args.benchmark, args.version, args.runs
    ('/data/helm', 'magnet', ['lite'], ['latest'], ['mmlu:*'])
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
from typing import Optional, Sequence

from magnet.backends.helm.download import render
from magnet.backends.helm.download.bucket import HelmBucket
from magnet.backends.helm.download.errors import DownloadError
from magnet.backends.helm.download.execute import execute_plan
from magnet.backends.helm.download.layout import LAYOUTS
from magnet.backends.helm.download.names import check_pattern, pick_latest, preview, split_list
from magnet.backends.helm.download.paths import prepare_dest
from magnet.backends.helm.download.plan import plan_download, select_runs
from magnet.backends.helm.gcs import DEFAULT_BUCKET, GCSClient, GCSError, resolve_endpoint

PROG = "python -m magnet.backends.helm.download_helm_results"
DESCRIPTION = (
    "Download published HELM results from the public GCS bucket into a "
    "benchmark_output-style directory (DEST/runs/<suite>/<run>/...), with the "
    "suite-level (or release-level) files. Patterns are globs, or regular "
    "expressions with a 'regex:' prefix; 'latest' picks the newest version."
)
EXIT_USAGE = 2
EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug, not a user mistake
MAGNET_DEFAULT_BENCHMARK = "lite"


class UsageError(DownloadError):
    """A command-line argument argparse refused.

    Example:
        >>> build_parser().parse_args(['--workers', 'x'])
        Traceback (most recent call last):
        ...
        magnet.backends.helm.download.cli.UsageError: argument --workers: invalid int value: 'x' (see --help)
    """


class _Parser(argparse.ArgumentParser):
    """argparse, but a refused argument raises :class:`UsageError` (one line, exit 2)."""

    def error(self, message):  # noqa: D401 - argparse API
        raise UsageError(f"{message} (see --help)")


class _SubcommandParser(argparse.ArgumentParser):
    """The parser of ``magnet download helm``: a refused argument prints one line and exits 2.

    (Raising would escape ``magnet``'s own ``parse_args``.)
    """

    def error(self, message):  # noqa: D401 - argparse API
        print(f"error: {_one_line(message)} (see --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the downloader's options to *parser* (shared by both spellings of the command).

    Example:
        >>> parser = add_arguments(argparse.ArgumentParser(prog='dl'))
        >>> parser.parse_args(['out', '--files', 'stats.json', '--files', 'schema.json']).files
        ['stats.json', 'schema.json']
    """
    parser.add_argument("dest", nargs="?", metavar="DEST",
                        help="destination directory; it acts as benchmark_output "
                             "(DEST/runs/..., DEST/releases/...)")
    parser.add_argument("benchmark_pos", nargs="?", metavar="BENCHMARK",
                        help="same as --benchmark (MAGNET's positional form)")
    parser.add_argument("version_pos", nargs="?", metavar="VERSION",
                        help="same as --version (MAGNET's positional form)")
    parser.add_argument("--download-dir", "--download_dir", "--dir", dest="download_dir", metavar="DIR",
                        help="MAGNET's layout: write DIR/<benchmark>/benchmark_output/...; "
                             "--benchmark defaults to lite and --version to latest")
    parser.add_argument("--layout", choices=LAYOUTS, default=None,
                        help="benchmark_output: DEST is benchmark_output (DEST/<benchmark>/ when "
                             "several are selected; the default for DEST); magnet: "
                             "DEST/<benchmark>/benchmark_output (the default for --download-dir)")
    parser.add_argument("--benchmark", action="append", metavar="PATTERN",
                        help="HELM project(s): lite, classic, mmlu, ... (glob/regex:, repeatable)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--version", action="append", metavar="PATTERN",
                       help="suite(s) under runs/ (glob/regex:/latest, repeatable); their "
                            "suite-level files (schema.json, summary.json, groups/, ...) come too")
    which.add_argument("--release", action="append", metavar="PATTERN",
                       help="release(s) under releases/: runs come from the suites its "
                            "runs_to_run_suites.json names, plus release-level files")
    parser.add_argument("--runs", action="append", metavar="PATTERN",
                        help="run names to fetch (glob/regex:, repeatable, or a YAML-style "
                             "list of '- PATTERN' lines; default: all)")
    parser.add_argument("--files", action="append", metavar="LIST",
                        help="comma list of file names/globs to fetch (default: all), e.g. "
                             "stats.json,run_spec.json,schema.json to skip scenario_state.json; "
                             "matched against paths inside each run directory, and inside the "
                             "suite or release directory unless --suite-files/--release-files say otherwise")
    parser.add_argument("--suite-files", action="append", metavar="LIST",
                        help="comma list of globs of suite-level files (paths under "
                             "runs/<suite>/, e.g. schema.json,groups/*; default: --files, else all)")
    parser.add_argument("--release-files", action="append", metavar="LIST",
                        help="comma list of globs of release-level files (paths under "
                             "releases/<R>/; default: --files, else all)")
    parser.add_argument("--list-benchmarks", "--list_benchmarks", action="store_true",
                        help="list projects and exit")
    parser.add_argument("--list-versions", "--list_versions", action="store_true",
                        help="list suites and releases of the selected (default: all) benchmarks")
    parser.add_argument("--list-runs", "--list_runs", action="store_true",
                        help="list runs selected by --benchmark/--version|--release/--runs")
    parser.add_argument("--dry-run", action="store_true",
                        help="show the plan and total bytes; write nothing")
    parser.add_argument("--workers", type=int, default=8, metavar="N",
                        help="parallel downloads (default: 8)")
    parser.add_argument("--max-attempts", type=int, default=6, metavar="N",
                        help="attempts per request before giving up (default: 6)")
    parser.add_argument("--endpoint", metavar="URL",
                        help="API endpoint (default: $STORAGE_EMULATOR_HOST or "
                             "https://storage.googleapis.com)")
    parser.add_argument("--bucket", default=DEFAULT_BUCKET,
                        help=f"bucket, with or without gs:// (default: {DEFAULT_BUCKET})")
    parser.add_argument("--checksum", action="store_true",
                        help="accepted for MAGNET compatibility: files are always verified "
                             "(MD5/CRC32C) here")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bar or summary (errors still go to stderr)")
    parser.add_argument("--debug", action="store_true",
                        help="show tracebacks for errors (also: MAGNET_DEBUG=1)")
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m magnet.backends.helm.download_helm_results``.

    Example:
        >>> build_parser().parse_args(['out', '--benchmark', 'lite', '--version', 'v1.0.0']).dest
        'out'
    """
    return add_arguments(_Parser(prog=PROG, description=DESCRIPTION))


def _runs_patterns(values: Optional[Sequence[str]]) -> list[str]:
    r"""``--runs`` values; a value of several ``- PATTERN`` lines is MAGNET's YAML list.

    Example:
        >>> _runs_patterns(['mmlu:*', '- wmt_14:*\n  - narrative_qa:*\n'])
        ['mmlu:*', 'wmt_14:*', 'narrative_qa:*']
    """
    out: list[str] = []
    for value in values or ():
        lines = [line.strip() for line in value.splitlines() if line.strip()]
        if len(lines) > 1 or (lines and lines[0].startswith("- ")):
            for line in lines:
                if not line.startswith("- "):
                    raise DownloadError(f"--runs {value!r}: a multi-line value must be a list of '- PATTERN' lines")
                out.append(line[2:].strip().strip("'\""))
        else:
            out.append(value)
    return out


def resolve_args(args: argparse.Namespace) -> None:
    """Fold MAGNET's spellings into the canonical options and check patterns (no network).

    Sets ``args.dest``, ``args.layout``, ``args.benchmark``, ``args.version``,
    ``args.runs`` and ``args.bucket``; raises :class:`DownloadError` naming
    the argument for contradictions and bad patterns.

    Example:
        >>> args = build_parser().parse_args(['out', 'lite', 'v1.0.0', '--bucket', 'gs://crfm-helm-public'])
        >>> resolve_args(args)
        >>> args.benchmark, args.version, args.bucket, args.layout
        (['lite'], ['v1.0.0'], 'crfm-helm-public', 'benchmark_output')
        >>> resolve_args(args)  # idempotent
        >>> args.benchmark, args.version
        (['lite'], ['v1.0.0'])
    """
    if args.download_dir is not None:
        if args.dest is not None:
            raise DownloadError(f"DEST {args.dest!r} and --download-dir {args.download_dir!r}: give one, not both")
        args.dest = args.download_dir
        args.layout = args.layout or "magnet"
        args.benchmark = args.benchmark or ([] if args.benchmark_pos else [MAGNET_DEFAULT_BENCHMARK])
        if not (args.version or args.release or args.version_pos):
            args.version = ["latest"]
        args.download_dir = None  # folded in: resolving again changes nothing
    args.layout = args.layout or "benchmark_output"
    if args.benchmark_pos is not None:
        if args.benchmark:
            raise DownloadError(f"BENCHMARK {args.benchmark_pos!r} and --benchmark: give one, not both")
        args.benchmark, args.benchmark_pos = [args.benchmark_pos], None
    if args.version_pos is not None:
        if args.version or args.release:
            raise DownloadError(f"VERSION {args.version_pos!r} and --version/--release: give one, not both")
        args.version, args.version_pos = [args.version_pos], None
    if args.dest is not None and not args.dest.strip():
        raise DownloadError("DEST '': an empty path; give a directory")
    if args.workers < 1:
        raise DownloadError(f"--workers {args.workers}: must be at least 1")
    if args.max_attempts < 1:
        raise DownloadError(f"--max-attempts {args.max_attempts}: must be at least 1")
    bucket = args.bucket[len("gs://"):] if args.bucket.startswith("gs://") else args.bucket
    bucket = bucket.rstrip("/")
    if not bucket or "/" in bucket:
        raise DownloadError(f"--bucket {args.bucket!r}: not a bucket name (expected e.g. {DEFAULT_BUCKET})")
    args.bucket = bucket
    args.runs = _runs_patterns(args.runs) or None
    for option, values in (("--benchmark", args.benchmark), ("--version", args.version),
                           ("--release", args.release), ("--runs", args.runs),
                           ("--files", split_list(args.files)),
                           ("--suite-files", split_list(args.suite_files)),
                           ("--release-files", split_list(args.release_files))):
        for value in values or ():
            check_pattern(value, option=option)


def _run_cli(args, out, err) -> int:
    resolve_args(args)
    listing_mode = args.list_benchmarks or args.list_versions or args.list_runs
    if not listing_mode and not args.dest:
        raise DownloadError("DEST is required: give a directory, or --download-dir DIR "
                            "(or use --list-benchmarks/--list-versions/--list-runs)")
    if args.dest and not listing_mode:
        prepare_dest(args.dest, create=False)  # fail early, before any network traffic

    client = GCSClient(args.bucket, args.endpoint, pool_size=max(16, args.workers * 2),
                       max_attempts=args.max_attempts)
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
            suite_files=split_list(args.suite_files),
            layout=args.layout,
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


def _debug_wanted(args: Optional[argparse.Namespace]) -> bool:
    env = os.environ.get("MAGNET_DEBUG", "").strip().lower()
    return bool(getattr(args, "debug", False)) or env not in ("", "0", "false", "no", "off")


def _one_line(text: str) -> str:
    return " ".join(str(text).replace("\r", " ").split("\n")).strip()


def _gcs_message(ex: GCSError, args) -> str:
    """One line for a failed request; names the server when it gave no HTTP answer at all.

    Example:
        >>> ex = GCSError('listing failed after 1 attempts', bucket='b', name='p/',
        ...               detail="ConnectionError: ... [Errno 111] Connection refused'))")
        >>> print(_gcs_message(ex, argparse.Namespace(endpoint='http://127.0.0.1:9')))
        server http://127.0.0.1:9 unreachable: listing failed after 1 attempts: gs://b/p/: [Errno 111] Connection refused
    """
    if ex.status is None and ex.detail:
        errno = re.search(r"\[Errno -?\d+\][^'\")]*", ex.detail)
        reason = errno.group(0).strip() if errno else ex.detail
        where = f": gs://{ex.bucket}/{ex.name or ''}" if ex.bucket is not None else ""
        server = resolve_endpoint(getattr(args, "endpoint", None))
        return f"server {server} unreachable: {ex.message}{where}: {reason}"
    return _one_line(ex)


def run(args: argparse.Namespace, *, out=None, err=None) -> int:
    """Run parsed arguments under the error contract; returns the exit status.

    This is what ``magnet download helm`` calls (see :func:`register`).

    Example:
        >>> run(build_parser().parse_args(['out', '--benchmark', 'lite', '--workers', '0']))
        2
    """
    out = out or render.console_for(sys.stdout)
    err = err or render.console_for(sys.stderr)
    debug = _debug_wanted(args)
    try:
        return _run_cli(args, out, err)
    except (DownloadError, GCSError) as ex:
        if debug:
            traceback.print_exc(file=sys.stderr)
        text = _gcs_message(ex, args) if isinstance(ex, GCSError) else _one_line(ex)
        print(f"error: {_one_line(text)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: partial downloads kept as *.part; rerun to resume", file=sys.stderr)
        return 130
    except Exception as ex:  # a bug: show everything
        traceback.print_exc(file=sys.stderr)
        print(f"error: internal error ({type(ex).__name__}: {_one_line(ex)}); this is a bug in magnet's "
              "downloader, please report it with the traceback above", file=sys.stderr)
        return EXIT_INTERNAL


def kwargs_to_argv(**kwargs) -> list[str]:
    """Options given as keywords (MAGNET's ``main(argv=False, download_dir=..., runs=...)``) as argv.

    ``True`` gives a flag, ``False``/``None`` nothing, a list repeats the option.

    Example:
        >>> kwargs_to_argv(download_dir='/data', list_runs=True, runs=['a*', 'b*'], quiet=False)
        ['--download-dir', '/data', '--list-runs', '--runs', 'a*', '--runs', 'b*']
    """
    argv: list[str] = []
    for key, value in kwargs.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif value is False or value is None:
            continue
        elif isinstance(value, (list, tuple)):
            for item in value:
                argv += [flag, str(item)]
        else:
            argv += [flag, str(value)]
    return argv


def main(argv: Optional[Sequence[str]] = None, **kwargs) -> int:
    """Command-line entry point; returns the exit code (see the module docstring).

    *argv* defaults to ``sys.argv[1:]``; ``argv=False`` means none, and
    keywords name options as MAGNET's ``main`` takes them
    (``main(argv=False, download_dir=DIR, benchmark='lite', version='latest')``).

    Example:
        >>> main(['--workers', 'many'])
        2
        >>> main(argv=False, download_dir='/proc/x', runs='mmlu:*')
        2
    """
    if argv is False:
        argv = []
    elif argv is None and not kwargs:
        argv = sys.argv[1:]
    argv = [*(argv or ()), *kwargs_to_argv(**kwargs)]
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as ex:
        if _debug_wanted(None):
            traceback.print_exc(file=sys.stderr)
        print(f"error: {_one_line(ex)}", file=sys.stderr)
        return EXIT_USAGE
    return run(args)


def register(subparsers) -> None:
    """Add ``download helm`` to the ``magnet`` command (MAGNET's ``magnet download helm``).

    *subparsers* is what ``argparse.ArgumentParser.add_subparsers`` returned;
    the command runs :func:`run` through ``args.func``.

    Example:
        >>> import argparse
        >>> top = argparse.ArgumentParser(prog='magnet')
        >>> register(top.add_subparsers(dest='command', required=True))
        >>> args = top.parse_args(['download', 'helm', 'out', '--benchmark', 'lite', '--version', 'v1.0.0'])
        >>> args.func is run, args.dest, args.benchmark
        (True, 'out', ['lite'])
    """
    download = subparsers.add_parser(
        "download", help="download published benchmark results (helm)",
        description="Download published benchmark results.", formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  magnet download helm --list-benchmarks\n"
               "  magnet download helm helm_out --benchmark lite --version v1.0.0 --dry-run\n"
               "'magnet download helm --help' lists its options.")
    sources = download.add_subparsers(dest="download_source", metavar="SOURCE", required=True,
                                      parser_class=_SubcommandParser, help="where the results come from")
    helm = sources.add_parser("helm", help="HELM results from the public GCS bucket",
                              description=DESCRIPTION)
    add_arguments(helm)
    helm.set_defaults(func=run)
