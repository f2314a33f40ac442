"""The claim step of the llama consistency kwdagger pipeline: read symbols, check the bound, write a verdict.

``python -m magnet.examples.llama_consistency.claim --symbols_fpath=results.json --verdict_fpath=verdict.json``
reads ``{"result": {symbol: value}}`` (as written by
:mod:`~magnet.examples.llama_consistency.llama_predict`), runs :data:`CLAIM` with those symbols and writes::

    {"result": {"status": "VERIFIED" | "FALSIFIED" | "INCONCLUSIVE", "output": message, "symbols": {...}}}

The card that runs this pipeline evaluates its own ``claim`` again over the ``symbols`` collected from these
files; this step's status is the pipeline's own record.

Example:
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "results.json").write_text(json.dumps({"result": {
    ...     "base_model": "a", "base_score": 0.5, "comp_model": "b", "comp_score": 0.7, "threshold": 0.1}}))
    >>> rc = main([f"--symbols_fpath={d / 'results.json'}", f"--verdict_fpath={d / 'verdict.json'}"])
    >>> rc
    0
    >>> r = json.loads((d / "verdict.json").read_text())["result"]
    >>> r["status"], r["output"]
    ('FALSIFIED', 'Assertion does not hold: b score (0.70) exceeds consistency bound on a (0.50)')
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

CLAIM = ("assert abs(comp_score - base_score) < threshold, "
         "f'{comp_model} score ({comp_score:.2f}) exceeds consistency bound on {base_model} ({base_score:.2f})'")


def judge(symbols: dict, claim: str = CLAIM) -> tuple[str, str]:
    """(status, message) of ``claim`` run with ``symbols``: finishing VERIFIED, AssertionError FALSIFIED, else INCONCLUSIVE."""
    try:
        exec(claim, dict(symbols))
    except AssertionError as e:
        return "FALSIFIED", f"Assertion does not hold: {e}"
    except NameError as e:
        return "INCONCLUSIVE", f"SymbolNotResolved: {e}"
    except Exception as e:  # noqa: BLE001 - any other failure of the claim is INCONCLUSIVE, with its message
        return "INCONCLUSIVE", f"ERROR evaluating claim: {type(e).__name__}: {e}"
    return "VERIFIED", "Assertion holds"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m magnet.examples.llama_consistency.claim")
    p.add_argument("--symbols_fpath", required=True, help="JSON file {'result': {symbol: value}}")
    p.add_argument("--verdict_fpath", default="verdict.json", help="output JSON file")
    args = p.parse_args(argv)
    try:
        symbols = json.loads(Path(args.symbols_fpath).read_text())["result"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"error: {args.symbols_fpath}: not a JSON file with a 'result' mapping ({e})", file=sys.stderr)
        return 2
    status, output = judge(symbols)
    out = Path(args.verdict_fpath)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"result": {"status": status, "output": output, "symbols": symbols}}, indent=2) + "\n")
    print(f"Wrote results to: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
