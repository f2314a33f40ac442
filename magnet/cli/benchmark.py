"""``magnet benchmark``: the main job. Built-in (and your) predictors, same folds, leaderboard with MBE verdicts."""

from __future__ import annotations

import argparse
import sys

from magnet.cli.display import make_console
from magnet.cli.errors import debug_enabled, writable_dir
from magnet.cli.faults import print_failed_folds
from magnet.cli.preflight import check_corpus, clear_out
from magnet.cli.arguments import revealed_count
from magnet.cli.predict import add_protocol_args, corpus_from_args, load_predictor, report_unmatched
from magnet.errors import UserError
from magnet.protocol.benchmark import benchmark
from magnet.protocol.splits import check_adaptive
from magnet.report.terminal import leaderboard_table

DEFAULT_SPLITS = ("kfold", "leave-one-model-out")


def default_predictors() -> list:
    """The built-in predictors (``predictors.builtin``), or the example one if those are absent."""
    try:
        from predictors.builtin import BUILTIN_PREDICTORS
    except ImportError:
        from predictors.example_random_predictor import ExampleRandomPredictor

        return [ExampleRandomPredictor()]
    return [cls() for cls in BUILTIN_PREDICTORS]


def run_benchmark(args) -> int:
    """``magnet benchmark``: the leaderboard in the terminal, and the outputs under ``--out``."""
    console = make_console()
    mine = [load_predictor(spec) for spec in args.predictor or []]  # a bad --predictor fails before any work
    if args.no_builtin and not mine:
        raise UserError("--no-builtin", "no predictor left to benchmark", hint="add --predictor MODULE:CLASS")
    count = revealed_count(args)  # --budget / --num-eval-samples disagreeing fails before any work
    predictors = ([] if args.no_builtin else default_predictors()) + mine
    if args.reveal == "adaptive":
        for predictor in predictors:
            check_adaptive(predictor)
    corpus = corpus_from_args(args)
    check_corpus(corpus, args.split or DEFAULT_SPLITS, args.n_folds, args.seed)
    if args.out:
        writable_dir(args.out, "--out")
        if args.overwrite:
            clear_out(args.out)
    board = benchmark(predictors, corpus, splits=args.split or DEFAULT_SPLITS, n_folds=args.n_folds,
                      num_eval_samples=count, seed=args.seed, n_jobs=args.n_jobs,
                      timeout=args.timeout, out_dir=args.out, progress=not args.quiet,
                      backend=args.backend, ray_address=args.ray_address, repeats=args.repeats,
                      reveal_mode=args.reveal, eval_fraction=args.eval_fraction, train_fraction=args.train_fraction)
    console.print(leaderboard_table(board))
    dead = set()
    for result in board.results:
        print_failed_folds(console, result.folds, f"{result.predictor}/{result.split}", debug_enabled(args))
        report_unmatched(console, result, corpus, f"{result.predictor}/{result.split}")
        if result.folds and all(f.status == "failed" for f in result.folds):
            dead.add(f"{result.predictor}/{result.split}")
    everything_failed = bool(board.results) and all(
        r.folds and all(f.status == "failed" for f in r.folds) for r in board.results)
    if args.out and not everything_failed:
        board.write(args.out)
        console.print(f"wrote leaderboard.json, predictions.csv, plots/ and report.html to {args.out}")
    if dead:
        print(f"error: every fold failed for {', '.join(sorted(dead))} (the reasons are above)", file=sys.stderr)
        return 1
    return 0


def register(sub) -> None:
    try:
        from predictors.builtin import BUILTIN_PREDICTORS
        names = ", ".join(c.__name__ for c in BUILTIN_PREDICTORS)
    except ImportError:
        names = "ExampleRandomPredictor"
    p = sub.add_parser("benchmark", help="benchmark predictors on a corpus (default: the demo) with the MBE check",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Benchmark predictors on the same folds; print the leaderboard with MBE verdicts.",
                       epilog=f"built-in predictors: {names}\n\nexamples:\n"
                              "  magnet benchmark                                   # the demo corpus\n"
                              "  magnet benchmark --root-dir benchmark_output --predictor blend.py --out results\n"
                              "  magnet benchmark --root-dir benchmark_output --predictor blend:Blend --no-builtin")
    p.add_argument("--predictor", action="append", help="MODULE:CLASS (the current directory is importable), FILE.py:CLASS or FILE.py "
                        "(when it defines one predictor); repeatable, added to the built-in ones")
    p.add_argument("--no-builtin", action="store_true", help="only the --predictor ones")
    p.add_argument("--overwrite", action="store_true",
                   help="replace what an earlier run with other settings wrote under --out")
    add_protocol_args(p, default_splits=DEFAULT_SPLITS, many_splits=True)
    p.add_argument("--repeats", type=int, default=1,
                   help="run each split N times with seeds seed..seed+N-1 and pool the results (default 1)")
    p.set_defaults(func=run_benchmark)
