"""``python -m magnet.evaluation CARD...`` and ``magnet evaluate CARD...``: evaluate cards, print a summary.

Arguments are card files or directories (every ``*.yaml``/``*.yml`` in them).
Every card is validated first; each schema or symbol problem is printed to
stderr as ``error: file:line: field: problem``. The valid cards are then evaluated,
the cells of a card in turn in a worker subprocess (up to ``--jobs`` workers, ``--timeout``
seconds per cell; a crash or timeout loses only its cell), and a table with one row per card/cell is printed.

A pipeline card (MAGNET's ``pipeline:``/``kwdagger:`` sections) first runs its
pipeline under ``OUT/<card stem>/`` (reused by parameters), then evaluates its
claim once per run. MAGNET's spellings work: ``--results_path``/``--output_path``
for ``--out``, ``--validate only|error|warning|off`` (``only`` is ``--check``;
``warning``/``off`` evaluate invalid cards anyway, ``warning`` printing their problems).

Exit status: 0 when every card was valid and evaluated (whatever the
verdicts); 2 when a card is invalid (the valid ones are still evaluated);
with ``--strict``, 1 when a verdict differs from the card's ``expected``.

Example:
    >>> parser = build_parser()
    >>> args = parser.parse_args(["cards/simple.yaml", "--jobs", "2", "--timeout", "60"])
    >>> args.jobs, args.timeout, args.out
    (2, 60.0, 'cards_out')
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from magnet.cli.arguments import int_at_least, positive_float
from magnet.cli.display import make_console
from magnet.cli.errors import ArgumentParser, add_debug_flag, run_command, writable_dir
from magnet.evaluation.card import CardError, Issue, load_card
from magnet.evaluation.evaluate import card_results, run_cards

VERDICT_STYLE = {"VERIFIED": "bold green", "FALSIFIED": "bold red", "INCONCLUSIVE": "bold yellow"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("cards", nargs="+", metavar="CARD", help="card files (YAML) or directories of cards")
    p.add_argument("--out", "--results_path", "--output_path", dest="out", default="cards_out",
                   help="output directory; verdicts go to OUT/<card stem>[/<cell>]/verdict.json, a pipeline card's "
                        "runs to OUT/<card stem>/pipeline (reused by parameters) (default cards_out; "
                        "--results_path and --output_path are MAGNET's spellings)")
    p.add_argument("--validate", choices=["only", "error", "warning", "off"], default="error",
                   help="MAGNET's option: 'only' = --check; 'error' (default) skips invalid cards (exit 2); "
                        "'warning' prints their problems and evaluates them anyway; 'off' evaluates them silently")
    p.add_argument("--timeout", type=positive_float,
                   help="seconds per card/cell, overriding the cards' own timeout (default: the card's, else 600)")
    p.add_argument("--jobs", "-j", type=int_at_least(1), default=1, help="cells evaluated in parallel (default 1)")
    p.add_argument("--backend", choices=["local", "ray"], default="local",
                   help="run cells as local subprocesses (default) or inside Ray tasks")
    p.add_argument("--ray-address", help="Ray cluster: 'auto' or HOST:PORT (default: start a local Ray)")
    p.add_argument("--check", action="store_true", help="only validate the cards (no card code runs)")
    p.add_argument("--strict", action="store_true", help="exit 1 when a verdict differs from the card's `expected`")
    p.add_argument("--quiet", "-q", action="store_true", help="no per-cell progress lines")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="python -m magnet.evaluation",
        description="Evaluate evaluation cards (claims about HELM predictors and data): VERIFIED, FALSIFIED "
                    "or INCONCLUSIVE. Cards contain Python code: only evaluate cards you trust.")
    add_arguments(parser)
    add_debug_flag(parser)
    return parser


def card_paths(args: list[str]) -> list[Path]:
    """Files as given; directories expanded to their ``*.yaml``/``*.yml`` files (sorted)."""
    out: list[Path] = []
    for a in args:
        p = Path(a)
        if p.is_dir():
            out += sorted(q for q in p.iterdir() if q.suffix in (".yaml", ".yml") and q.is_file())
        else:
            out.append(p)
    return list(dict.fromkeys(out))


def summary_table(results):
    """A rich table: card, cell, verdict (coloured), reason, seconds."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title="evaluation cards", show_lines=False)
    table.add_column("card", overflow="fold")
    table.add_column("cell", overflow="fold")
    table.add_column("verdict", no_wrap=True)
    table.add_column("reason", overflow="fold", ratio=1)
    table.add_column("s", justify="right", no_wrap=True)
    for r in results:
        verdict = Text(r.verdict, style=VERDICT_STYLE.get(r.verdict, ""))
        if not r.as_expected:
            verdict.append(f"\n(expected {r.expected})", style="magenta")
        table.add_row(r.card.stem, r.cell.name if r.cell else "", verdict, Text(r.reason), f"{r.seconds:.1f}")
    counts = {v: sum(r.verdict == v for r in results) for v in VERDICT_STYLE}
    table.caption = ", ".join(f"{n} {v}" for v, n in counts.items())
    return table


def run(args) -> int:
    """Validate, evaluate and summarise (see the module docstring for the exit status)."""
    from rich.markup import escape


    console = make_console()
    cards, issues = [], []
    lenient = args.validate in ("warning", "off")
    args.check = args.check or args.validate == "only"
    for path in card_paths(args.cards):
        try:
            card = load_card(path, strict=not lenient)
        except CardError as e:
            issues += e.issues
            continue
        except (OSError, UnicodeDecodeError) as e:
            issues.append(Issue(str(path), 1, "(file)", f"cannot read the card: {getattr(e, 'strerror', None) or e}"))
            continue
        cards.append(card)
        if card.issues and args.validate == "warning":
            for issue in card.issues:
                print(f"warning: {issue}", file=sys.stderr)
    for issue in issues:
        print(f"error: {issue}", file=sys.stderr)
    if len(issues) > 1:
        n_bad = len({i.file for i in issues})
        print(f"error: {n_bad} invalid card{'s' if n_bad > 1 else ''} ({len(issues)} problem"
              f"{'s' if len(issues) > 1 else ''})", file=sys.stderr)
    if args.check:
        if not issues:
            console.print(f"{len(cards)} card{'s' if len(cards) != 1 else ''} valid")
        return 2 if issues else 0
    if not cards:
        if not issues:
            print(f"error: {' '.join(args.cards)}: no card files (*.yaml, *.yml) found", file=sys.stderr)
        return 2
    writable_dir(args.out, "--out")

    def show(r):
        if not args.quiet:
            style = VERDICT_STYLE.get(r.verdict, "")
            cell = f" [{r.cell.name}]" if r.cell else ""
            console.print(f"[{style}]{r.verdict:<12}[/] {escape(r.card.stem + cell)} ({r.seconds:.1f} s)",
                          highlight=False)

    results = run_cards(cards, out=args.out, timeout=args.timeout, jobs=args.jobs, on_result=show,
                        backend=args.backend, ray_address=args.ray_address)
    aggregated = card_results(results)
    console.print(summary_table(results))
    for c in aggregated:
        style = VERDICT_STYLE.get(c.verdict, "")
        note = "" if c.as_expected else f" [magenta](expected {c.expected})[/]"
        console.print(f"{escape(c.card.stem)}: [{style}]{c.verdict}[/]{note} over {len(c.cells)} settings "
                      f"({escape(c.reason)})", highlight=False)
    console.print(f"verdicts in {args.out}/<card>[/<cell>]/verdict.json", highlight=False, markup=False)
    if issues:
        return 2
    if args.strict and not all(r.as_expected for r in [*results, *aggregated]):
        return 1
    return 0


def register(sub) -> None:
    """Add ``magnet evaluate`` to the ``magnet`` command's subparsers."""
    p = sub.add_parser("evaluate", help="evaluate evaluation cards: claims about predictors -> "
                                        "VERIFIED / FALSIFIED / INCONCLUSIVE (cards are code: trust them)",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n  magnet evaluate cards/simple.yaml --out cards_out\n"
                              "  magnet evaluate cards --check            # validate every card, run nothing")
    add_arguments(p)
    p.set_defaults(func=run)


def main(argv: list[str] | None = None) -> int:
    """``python -m magnet.evaluation``: the same error contract as ``magnet`` (see :mod:`magnet.cli.errors`)."""
    return run_command(run, build_parser().parse_args(argv))
