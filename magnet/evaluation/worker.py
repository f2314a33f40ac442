"""The subprocess that evaluates card cells: ``python -m magnet.evaluation.worker CARD --out DIR [--cell I | --all-cells]``.

With ``--serve R W`` it is a *session* (:func:`magnet.evaluation.evaluate.run_cells`): it reads one
request per line (``{"cell": I, "out": DIR}``) from file descriptor R, evaluates that cell with its
output appended to ``DIR/log.txt``, and writes ``done`` to file descriptor W; the parent
times each cell and starts a fresh session after a crash or a timeout.

Started by :func:`magnet.evaluation.evaluate.run_cell`, which enforces the time
limit and turns a crash into an INCONCLUSIVE verdict. It writes
``DIR/verdict.json`` and, as it goes, ``DIR/progress.jsonl`` (one line per
symbol start/end, so the parent can say what was running when a cell hung or
died). Exit status 0 whenever a verdict was written, 2 if the card is invalid.
"""

from __future__ import annotations

import argparse
import json
import os
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
    parser.add_argument("--serve", nargs=2, type=int, metavar=("R", "W"),
                        help="a session: requests on file descriptor R, 'done' lines on W (see run_cells)")
    parser.add_argument("--all-cells", action="store_true",
                        help="evaluate every cell in turn, each into OUT/<cell>/ (a pipeline card's settings)")
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.card, args.lenient, *args.serve)
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


def _redirect(log_path: Path) -> None:
    """Send this process's stdout and stderr (file descriptors 1 and 2, so faulthandler's too) to ``log_path``."""
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def serve(card_path: str, lenient: bool, rfd: int, wfd: int) -> int:
    """Evaluate the cells requested on ``rfd`` in turn, each acknowledged by a ``done`` line on ``wfd``.

    The card is loaded at the first request (its problems go to that cell's log,
    exit status 2, as in the one-cell mode). Returns 0 at the end of the requests.
    """
    card = cells = None
    with os.fdopen(rfd, "r") as requests, os.fdopen(wfd, "w", buffering=1) as acks:
        for line in requests:
            request = json.loads(line)
            out = Path(request["out"])
            out.mkdir(parents=True, exist_ok=True)
            _redirect(out / "log.txt")
            if card is None:
                try:
                    card = load_card(card_path, strict=not lenient)
                except CardError as e:
                    print(e, file=sys.stderr)
                    return 2
                cells = card.cells()
            index = request["cell"]
            if index is not None and not (0 <= index < len(cells) and cells[index] is not None):
                print(f"{card_path}: no sweep cell {index}", file=sys.stderr)
                return 2
            with open(out / "progress.jsonl", "a", buffering=1) as progress:
                def note(event: dict) -> None:
                    progress.write(json.dumps(event) + "\n")
                    progress.flush()

                evaluate_card(card, cells[index] if index is not None else None, out_dir=out, progress=note)
            sys.stdout.flush()
            sys.stderr.flush()
            acks.write("done\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
