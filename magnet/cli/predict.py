"""``magnet predict`` and the ``python -m predictors.<name>`` entry points: run one predictor, show predicted vs actual.

Example:
    >>> from predictors.example_random_predictor import ExampleRandomPredictor
    >>> from magnet.backends.helm.outputs import HelmOutputs
from magnet.sources import FORMATS, backend, only_suite, open_outputs
    >>> root = HelmOutputs.demo(preset="small").root
    >>> predictor_main(ExampleRandomPredictor, ["--root-dir", str(root), "--split", "leave-one-model-out", "--quiet"])
    0
"""

from __future__ import annotations

import argparse
import inspect
import sys

import pandas as pd
from rich.markup import escape
from rich.table import Table

from magnet.backends.helm.errors import HelmOutputError
from magnet.backends.helm.outputs import HelmOutputs
from magnet.sources import FORMATS, backend, only_suite, open_outputs
from magnet.cli.arguments import eval_samples, revealed_count, fraction, int_at_least, positive_float
from magnet.cli.display import make_console
from magnet.cli.preflight import check_corpus
from magnet.errors import UserError
from magnet.cli.faults import print_failed_folds
from magnet.cli.errors import ArgumentParser, add_debug_flag, debug_enabled, run_command, writable_dir
from magnet.cli.predictor_spec import load_predictor_spec as load_predictor
from magnet.protocol.checks import target_problems, warn_all
from magnet.protocol.reveal_modes import REVEAL_MODES
from magnet.protocol.splits import ALL_STRATEGIES as STRATEGIES, check_adaptive
from magnet.protocol.corpus import Corpus
from magnet.protocol.runner import run_protocol
from magnet.protocol.truth import join_truth
from magnet.protocol.unmatched import unmatched_predictions


SPLIT_HELP = ("kfold: runs in n folds, a model's runs of one scenario kept together; leave-one-model-out: each "
              "model's runs are the eval runs once; the others are described in magnet.protocol.splits")


def add_protocol_args(p: argparse.ArgumentParser, default_splits=("leave-one-model-out",), many_splits=False) -> None:
    """Options shared by ``magnet predict`` and ``magnet benchmark``."""
    p.add_argument("--root-dir", help="a benchmark_output (or runs/, suite or run dir); default: the demo corpus")
    p.add_argument("--suite", help="only this suite")
    add_source_format_arg(p)
    if many_splits:
        p.add_argument("--split", action="append", choices=STRATEGIES,
                       help=f"fold strategy, repeatable (default: {' and '.join(default_splits)}); {SPLIT_HELP}")
    else:
        p.add_argument("--split", choices=STRATEGIES, default=default_splits[0],
                       help=f"fold strategy (default {default_splits[0]}); {SPLIT_HELP}")
    p.add_argument("--n-folds", type=int_at_least(2), default=5, help="folds for kfold (default 5)")
    p.add_argument("--eval-fraction", type=fraction,
                   help="share of models that are eval runs: interpolation (default 0.25), extrapolation (top 0.3)")
    p.add_argument("--train-fraction", type=fraction, help="extrapolation: bottom share of models to train on (default 0.5)")
    p.add_argument("--reveal", choices=REVEAL_MODES, default="per-run",
                   help="revealed instances: a sample per run (default), one shared coreset per scenario, "
                        "chosen by the predictor's select_instances, or asked one at a time by its "
                        "next_instances (adaptive, up to --budget per eval run)")
    p.add_argument("--num-eval-samples", type=eval_samples,
                   help="revealed instances per eval run (default 10; a value < 1 is a fraction)")
    p.add_argument("--budget", type=eval_samples,
                   help="--reveal adaptive: instances each eval run's predictor may ask for (= --num-eval-samples)")
    p.add_argument("--stat", action="append", help="target stat name, repeatable (default: each run's main metric)")
    p.add_argument("--seed", type=int, default=0, help="seeds the folds and the revealed instances (default 0)")
    p.add_argument("--n-jobs", type=int_at_least(1), default=1, help="folds in parallel (local backend)")
    p.add_argument("--backend", choices=["local", "ray"], default="local",
                   help="where folds run: local processes (default) or a Ray cluster")
    p.add_argument("--ray-address", help="Ray cluster: 'auto' or HOST:PORT (default: start a local Ray)")
    p.add_argument("--timeout", type=positive_float, help="seconds per fold")
    p.add_argument("--errors", choices=["raise", "warn", "skip"], default="raise",
                   help="damaged runs: stop with an error (raise, default), leave them out with a warning, or silently")
    p.add_argument("--out", help="output directory (predictions are written incrementally; reruns resume)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or progress lines, no table of predictions")


def add_source_format_arg(p: argparse.ArgumentParser) -> None:
    """``--source-format``: which reader to use (default: detected from the files)."""
    p.add_argument("--source-format", choices=list(FORMATS),
                   help="the files' format: helm, inspect (Inspect AI logs), lm-eval or eee (Every Eval Ever); "
                        "default: detected from the files")


def corpus_from_args(args):
    """The corpus the protocol options name (the demo corpus without ``--root-dir``)."""
    source_format = getattr(args, "source_format", None)
    if args.root_dir:
        outputs = open_outputs(args.root_dir, source_format=source_format)
    elif source_format not in (None, "helm"):
        outputs = open_outputs(demo_path(source_format), source_format=source_format)
    else:
        outputs = HelmOutputs.demo()
    if args.suite:
        outputs = only_suite(outputs, args.suite)
    try:
        corpus = Corpus.load(outputs, stat_names=args.stat, errors=args.errors)
    except HelmOutputError as e:
        if "appears in several suites" not in str(e):
            raise
        names = [s.name for s in outputs.suites()]
        raise UserError(str(outputs.root), f"holds {len(names)} suites with the same run names ({', '.join(names)})",
                        hint=f"choose one with --suite, e.g. --suite {names[-1]}") from None
    try:
        problems = target_problems(corpus.run_specs, corpus.targets, args.stat, where=str(outputs.root))
    except UserError as e:
        if args.stat or _has_schema(outputs.root):
            raise
        raise UserError(str(outputs.root), "no schema.json next to the runs: HELM's schema.json names each run's "
                        "main metric, so there is no target to predict",
                        hint="copy the suite's schema.json into the suite folder, or name the target with --stat "
                             "('magnet ls PATH' lists the stat names)") from e
    warn_all(problems)
    return corpus


def demo_path(source_format: str, **kwargs):
    """The demo folder of a non-HELM format: its backend's ``build_demo`` (made offline by the framework itself)."""
    mod = backend(source_format)
    if not hasattr(mod, "build_demo"):
        raise UserError(f"--source-format {source_format}", "has no demo; give --root-dir")
    return mod.build_demo(**kwargs)


def _has_schema(root) -> bool:
    from pathlib import Path

    root = Path(root)
    return any(p.name == "schema.json" for p in [*root.glob("schema.json"), *root.glob("*/schema.json"),
                                                 *root.glob("*/*/schema.json"), *root.parent.glob("schema.json")])


def predicted_vs_actual_table(joined: pd.DataFrame, title: str) -> Table:
    main = joined[joined["target.key"] == joined["target.name"]].sort_values("run_spec.name")
    table = Table(title=title)
    for col, justify in (("run", "left"), ("stat", "left"), ("predicted", "right"), ("actual", "right"), ("error", "right")):
        table.add_column(col, justify=justify, overflow="fold")
    for run, name, pred, actual in zip(main["run_spec.name"], main["target.name"], main["predicted"], main["actual"]):
        table.add_row(run, name, f"{pred:.3f}", f"{actual:.3f}", f"{pred - actual:+.3f}")
    err = (main["predicted"] - main["actual"]).abs()
    table.caption = f"n = {len(main)} runs (unperturbed main targets); MAE = {err.mean():.3f}"
    return table


def run_predict(predictor, args) -> int:
    """``magnet predict``: one predictor over the folds; predicted vs actual in the terminal."""
    console = make_console()
    count = revealed_count(args)  # --budget / --num-eval-samples disagreeing fails before any work
    if args.reveal == "adaptive":
        check_adaptive(predictor)
    corpus = corpus_from_args(args)
    check_corpus(corpus, [args.split], args.n_folds, args.seed)
    if args.out:
        writable_dir(args.out, "--out")
    result = run_protocol(predictor, corpus, split=args.split, n_folds=args.n_folds,
                          num_eval_samples=count, seed=args.seed, n_jobs=args.n_jobs,
                          timeout=args.timeout, out_dir=args.out, progress=not args.quiet,
                          backend=args.backend, ray_address=args.ray_address, reveal_mode=args.reveal,
                          eval_fraction=args.eval_fraction, train_fraction=args.train_fraction)
    joined = join_truth(result.predictions, corpus.targets)
    if not args.quiet:
        console.print(predicted_vs_actual_table(joined, f"{predictor.name}, {args.split}: predicted vs actual"))
    print_failed_folds(console, result.folds, f"{predictor.name}/{args.split}", debug_enabled(args))
    report_unmatched(console, result, corpus, predictor.name)
    if result.folds and all(f.status == "failed" for f in result.folds):
        print(f"error: {predictor.name}: every fold failed ({len(result.folds)} folds; the reasons are above)",
              file=sys.stderr)
        return 1
    return 0


def report_unmatched(console, result, corpus, label: str, limit: int = 5) -> int:
    """Print the predictions matching no target (with the nearest target); return how many there are."""
    lines = unmatched_predictions(result.predictions, corpus.targets, corpus.stats) if len(result.predictions) else []
    if lines:
        console.print(f"[yellow]{label}: {len(lines)} prediction(s) match no target stat and are not scored "
                      "(the benchmark keeps to its declared targets):[/]", highlight=False)
        for line in lines[:limit]:
            console.print(f"  {escape(line)}", highlight=False)
        if len(lines) > limit:
            console.print(f"  ... and {len(lines) - limit} more", highlight=False)
    return len(lines)


def make_predictor(predictor_cls, seed: int):
    """An instance with the given seed, whichever of ``seed`` / ``random_seed`` its ``__init__`` takes."""
    params = inspect.signature(predictor_cls.__init__).parameters
    if "seed" in params or any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return predictor_cls(seed=seed)
    if "random_seed" in params:
        return predictor_cls(random_seed=seed)
    predictor = predictor_cls()
    predictor.seed = seed
    return predictor


def predictor_main(predictor_cls, argv: list[str] | None = None) -> int:
    """``python -m predictors.<module>``: run one predictor class on a benchmark_output (same error contract)."""
    parser = ArgumentParser(prog=f"python -m {predictor_cls.__module__}",
                            description=f"Run {predictor_cls.__name__} and show predicted vs actual.")
    add_protocol_args(parser)
    add_debug_flag(parser)
    args = parser.parse_args(argv)
    return run_command(lambda a: run_predict(make_predictor(predictor_cls, a.seed), a), args)




def register(sub) -> None:
    p = sub.add_parser("predict", help="run one predictor over the folds of a corpus",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n  magnet predict --predictor blend.py --root-dir benchmark_output --out preds\n"
                              "  magnet predict --predictor predictors.shrinkage:Shrinkage --split kfold "
                              "--num-eval-samples 5")
    p.add_argument("--predictor", required=True,
                   help="MODULE:CLASS (the current directory is importable), FILE.py:CLASS or FILE.py")
    add_protocol_args(p)
    p.set_defaults(func=lambda args: run_predict(load_predictor(args.predictor), args))
