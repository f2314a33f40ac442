"""Pipeline cards: run the card's pipeline, then evaluate its claim once per pipeline run (a *setting*).

A MAGNET card with a ``pipeline:`` section (:mod:`magnet.evaluation.pipeline`,
magnet's own runner) or a ``kwdagger:`` section
(:mod:`magnet.evaluation.kwdagger_runner`, the kwdagger package) computes its
symbols with programs. :func:`expand` runs them and returns the *settings card*:
a plain MAGNET-form card, written next to the runs, whose swept symbol
``pipeline_run`` names each run, whose ``pipeline_result`` symbol reads that
run's outputs (``settings.json``) and whose other symbols are the outputs' names.
Outputs replace card symbols of the same name (as in aiq-magnet); the card's
other symbols (e.g. a ``threshold`` constant) stay. Every setting is then
evaluated like any sweep cell (a worker subprocess, its time limit, ``verdict.json``),
and the card's ``claim_aggregation_strategy`` gives its verdict. A run that
failed is a setting that is INCONCLUSIVE with the run's reason.

Example:
    >>> import tempfile, textwrap
    >>> from pathlib import Path
    >>> from magnet.evaluation.card import load_card
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "tens.py").write_text(
    ...     "import sys, json\\n"
    ...     "a = dict(x.lstrip('-').split('=', 1) for x in sys.argv[1:])\\n"
    ...     "json.dump({'result': {'x': int(a['n']) * 10}}, open(a['out'], 'w'))\\n")
    >>> _ = (d / "tens.yaml").write_text(textwrap.dedent(f'''
    ...     title: ten times n stays below a bound
    ...     description: a one-step pipeline card
    ...     claim:
    ...       python: assert x < bound, f"x = {{x}} is not below {{bound}}"
    ...     pipeline:
    ...       tens:
    ...         executable: python {d / "tens.py"}
    ...         algo_params: {{n: [1, 2, 3]}}
    ...         out_paths: {{out: out.json}}
    ...     symbols:
    ...       bound: {{type: int, value: 25}}
    ... '''))
    >>> settings = expand(load_card(d / "tens.yaml"), d / "out")
    >>> [c.values["pipeline_run"][:5] for c in settings.cells()]
    ['tens_', 'tens_', 'tens_']
    >>> sorted(settings.symbols)
    ['bound', 'pipeline_result', 'pipeline_run', 'x']
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from magnet.evaluation.card import Card, load_card
from magnet.evaluation.kwdagger_runner import run_kwdagger
from magnet.evaluation.pipeline import PipelineError, PipelineRun, parse_pipeline, run_pipeline

RUN_SYMBOL = "pipeline_run"
RESULT_SYMBOL = "pipeline_result"

_RESULT_CODE = """import json
with open({path!r}, encoding="utf-8") as f:
    pipeline_result = json.load(f)[pipeline_run]
if "error" in pipeline_result:
    raise RuntimeError(pipeline_result["error"])
pipeline_result = pipeline_result["symbols"]
"""


def run_card_pipeline(card: Card, out_dir, timeout: float | None = None, jobs: int = 1) -> list[PipelineRun]:
    """Run the card's ``pipeline:`` (under ``out_dir/pipeline``) or ``kwdagger:`` (under ``out_dir/kwdagger``)."""
    out_dir = Path(out_dir)
    if card.kind == "pipeline":
        step = parse_pipeline(card.data["pipeline"], card.file)
        return run_pipeline(step, out_dir / "pipeline", timeout=timeout, jobs=jobs)
    if card.kind == "kwdagger":
        return run_kwdagger(card.data["kwdagger"], out_dir / "kwdagger", card.file)
    raise PipelineError(f"{card.file}: the card has no pipeline or kwdagger section")


def settings_card(card: Card, runs: list[PipelineRun], out_dir) -> Card:
    """The MAGNET-form card with one setting per run (see the module docstring), written to ``out_dir``."""
    if not runs:
        raise PipelineError(f"{card.file}: {card.kind}: the pipeline produced no runs (an empty grid?)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    settings, names = {}, {}
    for r in runs:
        if r.ok:
            settings[r.run_id] = {"params": r.params, "symbols": r.symbols}
            names.update(dict.fromkeys(k for k in r.symbols if str(k).isidentifier()))
        else:
            settings[r.run_id] = {"params": r.params, "error": f"pipeline step {r.step!r} failed ({r.status}) "
                                  f"with {_params(r.params)}: {r.reason}"}
    for reserved in (RUN_SYMBOL, RESULT_SYMBOL):
        if reserved in names or reserved in (card.data.get("symbols") or {}):
            raise PipelineError(f"{card.file}: {reserved!r} is a name magnet gives the pipeline's runs; "
                                "rename that symbol or output")
    settings_path = out_dir / "settings.json"
    settings_path.write_text(json.dumps(settings, indent=2, default=str) + "\n")
    data = {k: v for k, v in card.data.items() if k not in ("pipeline", "kwdagger", "symbols")}
    symbols = {n: s for n, s in (card.data.get("symbols") or {}).items() if n not in names}
    symbols[RUN_SYMBOL] = {"sweep": list(settings)}
    symbols[RESULT_SYMBOL] = {"type": "dict", "depends_on": [RUN_SYMBOL],
                              "python": _RESULT_CODE.format(path=str(settings_path.resolve()))}
    for n in names:
        symbols[n] = {"type": "object", "depends_on": [RESULT_SYMBOL], "python": f"{n} = pipeline_result[{n!r}]\n"}
    data["symbols"] = symbols
    path = out_dir / f"{card.stem}.yaml"
    path.write_text(f"# settings card of {card.file}: one setting per {card.kind} run (written by magnet)\n"
                    + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return load_card(path, strict=not card.lenient)


def expand(card: Card, out_dir, timeout: float | None = None, jobs: int = 1) -> Card:
    """Run the card's pipeline under ``out_dir`` and return its settings card (the card itself if it has none)."""
    if card.kind == "symbols":
        return card
    runs = run_card_pipeline(card, out_dir, timeout=timeout, jobs=jobs)
    return settings_card(card, runs, Path(out_dir) / "settings")


def _params(params: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items())
