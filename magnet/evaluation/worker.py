"""The subprocess that evaluates one card cell: ``python -m magnet.evaluation.worker CARD --out DIR [--cell I | --all-cells]``.

Started by :func:`magnet.evaluation.evaluate.run_cell`, which enforces the time
limit and turns a crash into an INCONCLUSIVE verdict. It writes
``DIR/verdict.json`` and, as it goes, ``DIR/progress.jsonl`` (one line per
symbol start/end, so the parent can say what was running when a cell hung or
died). Exit status 0 whenever a verdict was written, 2 if the card is invalid.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from magnet.evaluation.card import CardError, load_card
from magnet.evaluation.evaluate import evaluate_card


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m magnet.evaluation.worker")
    parser.add_argument("card")
    parser.add_argument("--out", required=True)
    parser.add_argument("--cell", type=int, help="index of the sweep cell")
    parser.add_argument("--lenient", action="store_true", help="evaluate despite validation problems")
    parser.add_argument("--all-cells", action="store_true",
                        help="evaluate every cell in turn, each into OUT/<cell>/ (a pipeline card's settings)")
    args = parser.parse_args(argv)


    try:
        card = load_card(args.card, strict=not args.lenient)
    except CardError as e:
        print(e, file=sys.stderr)
        return 2
    cells = card.cells()
    if args.cell is not None and not (0 <= args.cell < len(cells) and cells[args.cell] is not None):
        print(f"{args.card}: no sweep cell {args.cell}", file=sys.stderr)
        return 2
    if args.all_cells:
        for cell in cells:
            evaluate_card(card, cell, out_dir=Path(args.out) / cell.dirname if cell else Path(args.out))
            print(f"{cell.name if cell else card.stem}: done", flush=True)
        return 0
    cell = cells[args.cell] if args.cell is not None else None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "progress.jsonl", "a", buffering=1) as progress:
        def note(event: dict) -> None:
            progress.write(json.dumps(event) + "\n")
            progress.flush()

        evaluate_card(card, cell, out_dir=out, progress=note)
    sys.stdout.flush()
    sys.stderr.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
