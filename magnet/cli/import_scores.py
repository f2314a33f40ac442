"""``magnet import-scores``: a models x instances score matrix in, a HELM-shaped benchmark_output out.

Example:
    >>> import tempfile, pathlib, numpy as np
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> np.save(d / "m.npy", np.array([[1, 0], [0, 1]], dtype=np.int8))
    >>> run_import_scores(build_args([str(d / "m.npy"), "--scenario", "toy", "--metric", "exact_match",
    ...                               "-o", str(d / "out")]))  # doctest: +ELLIPSIS
    wrote 2 runs (2 models x 2 instances, 0 missing cells) of scenario 'toy' to ...
    0
    >>> sorted(p.name for p in (d / "out" / "runs" / "imported").iterdir())
    ['schema.json', 'toy:model=model0', 'toy:model=model1']
"""

from __future__ import annotations

import argparse

from magnet.backends.matrix.import_scores import import_scores, read_matrix
from magnet.cli.display import make_console


def _lines(path) -> list[str] | None:
    if path is None:
        return None
    from pathlib import Path

    from magnet.backends.helm.errors import HelmOutputError

    p = Path(path)
    if not p.is_file():
        raise HelmOutputError(p, "file not found")
    return [line.strip() for line in p.read_text().splitlines() if line.strip()]


def run_import_scores(args) -> int:
    """Read the matrix and its names, write the runs, say what was written."""
    values, models, ids = read_matrix(args.matrix)
    models = _lines(args.models) or models
    ids = _lines(args.instances) or ids
    dirs = import_scores(values, args.output, scenario=args.scenario, metric=args.metric, models=models,
                         instance_ids=ids, suite=args.suite, source=str(args.matrix))
    missing = int((values != values).sum())
    make_console().print(f"wrote {len(dirs)} runs ({values.shape[0]} models x {values.shape[1]} instances, "
                         f"{missing} missing cells) of scenario {args.scenario!r} to {args.output}/runs/{args.suite}",
                         highlight=False)
    return 0


def _add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("matrix", help="models x instances scores: .npy, .csv or .parquet (0/1 or [0, 1]; NaN = missing)")
    p.add_argument("--scenario", required=True, help="scenario name (the run group; becomes the run name)")
    p.add_argument("--metric", required=True, help="stat name of the scores (the scenario's main metric)")
    p.add_argument("--models", help="file with one model name per line (default: from the matrix, else model0..)")
    p.add_argument("--instances", help="file with one instance id per line (default: from the matrix, else id0..)")
    p.add_argument("--suite", default="imported", help="suite name (default: imported)")
    p.add_argument("-o", "--output", required=True, help="benchmark_output directory to write (created; runs added)")


def build_args(argv: list[str]) -> argparse.Namespace:
    """Parse ``import-scores`` arguments alone (for tests and doctests)."""
    p = argparse.ArgumentParser(prog="magnet import-scores")
    _add_args(p)
    return p.parse_args(argv)


def register(sub) -> None:
    p = sub.add_parser("import-scores", help="write a models x instances score matrix as a HELM benchmark_output",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n"
                              "  magnet import-scores scores.csv --scenario mmlu --metric exact_match -o scores_out\n"
                              "  magnet benchmark --root-dir scores_out --split leave-one-model-out")
    _add_args(p)
    p.set_defaults(func=run_import_scores)
