"""``EvaluationCard``: MAGNET's card API (``from magnet.evaluation import EvaluationCard``) on magnet's engine.

Code written for Kitware's MAGNET package (aiq-magnet) runs unchanged::

    card = EvaluationCard("cards/llama.yaml")
    card.summarize()   # Title, Description, SYMBOLS (None until evaluated), CLAIM, STATUS: UNVERIFIED
    card.evaluate()    # prints each setting's outcome, returns VERIFIED / FALSIFIED / INCONCLUSIVE
    card.summarize()   # now with the symbols' values and the verdict

Both card forms work: MAGNET's (``claim: {python: ...}`` with assertions,
Python type names, ``sweep:`` symbols, ``claim_aggregation_strategy``,
metadata) and magnet's own (a claim expression). Evaluation is magnet's:
validated first (a :class:`~magnet.evaluation.card.CardError` lists every
problem), each setting in its own subprocess with a time limit, its
``verdict.json`` under ``output_path``; settings of a sweep are aggregated
with the card's ``claim_aggregation_strategy`` (``card_verdict.json``).

Example:
    >>> import tempfile, textwrap
    >>> from pathlib import Path
    >>> from magnet.evaluation import EvaluationCard
    >>> path = Path(tempfile.mkdtemp()) / "simple.yaml"
    >>> _ = path.write_text(textwrap.dedent('''
    ...     title: "Arithmetic - Addition Commutative Property"
    ...     description: "Addition is commutative on pairs of even and odd integers"
    ...     claim:
    ...       python: |
    ...         for even, odd in zip(int_range_even, int_range_odd):
    ...             assert even + odd == odd + even, f"{even} + {odd} is not commutative"
    ...     symbols:
    ...       int_range_even:
    ...         type: List[int]
    ...         python: |
    ...           int_range_even = [n for n in range(-4, 5) if n % 2 == 0]
    ...       int_range_odd:
    ...         type: List[int]
    ...         depends_on: ['int_range_even']
    ...         python: |
    ...           int_range_odd = [n + 1 for n in int_range_even]
    ... '''))
    >>> card = EvaluationCard(path)
    >>> card.summarize()
    Title:       Arithmetic - Addition Commutative Property
    Description: Addition is commutative on pairs of even and odd integers
    ================================
    SYMBOLS:     {'int_range_even': None, 'int_range_odd': None}
    CLAIM:       
    for even, odd in zip(int_range_even, int_range_odd):
        assert even + odd == odd + even, f"{even} + {odd} is not commutative"
    <BLANKLINE>
    ================================
    STATUS:      UNVERIFIED
    >>> status = card.evaluate()  # in a REPL, ``card.evaluate()`` shows the line and then VERIFIED
    Assertion holds
    >>> status, status == "VERIFIED"
    (VERIFIED, True)
    >>> card.symbols()
    {'int_range_even': [-4, -2, 0, 2, 4], 'int_range_odd': [-3, -1, 1, 3, 5]}
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from magnet.evaluation.card import Card, load_card
from magnet.evaluation.evaluate import aggregate_verdicts, run_cards

SEPARATOR = "================================"


class Status(str):
    """A verdict string that shows as the bare word (``VERIFIED``), as MAGNET's ``card.evaluate()`` does."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


class Claim:
    """The card's claim: ``.claim`` (its text, as written), ``.status`` (UNVERIFIED until evaluated)."""

    def __init__(self, text: str):
        self.claim = text
        self.status = "UNVERIFIED"

    def __repr__(self) -> str:
        return self.claim

    __str__ = __repr__


class Symbols(dict):
    """The card's symbol specifications (name -> spec, as in the card); calling it gives their current values.

    ``card.symbols()`` is ``{name: value}``: constants' values before evaluation,
    ``None`` for symbols computed by code or swept; after evaluation the values of
    the evaluated setting (for a sweep: the values common to every setting,
    ``None`` for those that vary).
    """

    def __init__(self, specs: dict, values: dict):
        super().__init__(specs)
        self._values = values

    def __call__(self) -> dict:
        return dict(self._values)


class EvaluationCard:
    """A card (MAGNET's format or magnet's) to summarize and evaluate.

    Args:
        path: the card's YAML file. It is validated at once (``CardError`` lists every problem).
        output_path: where verdicts go (``<output_path>/<card stem>[/<setting>]/verdict.json``);
            default: a new temporary directory (kept, see ``card.output_path``).
        validate: MAGNET's option; only ``"error"`` is supported (magnet runs valid cards only).
        timeout: seconds per setting (default: the card's ``timeout``, else 600).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> path = Path(tempfile.mkdtemp()) / "bound.yaml"
        >>> _ = path.write_text('''
        ... title: x stays below a bound
        ... description: it does not
        ... claim:
        ...   python: assert x < bound, f"x = {x} is not below {bound}"
        ... symbols:
        ...   x: {type: int, python: "x = 2 + 3"}
        ...   bound: {type: float, value: 4.5}
        ... ''')
        >>> card = EvaluationCard(path)
        >>> card.symbols()
        {'x': None, 'bound': 4.5}
        >>> status = card.evaluate()
        Assertion does not hold: x = 5 is not below 4.5
        >>> status, card.symbols()
        (FALSIFIED, {'x': 5, 'bound': 4.5})
        >>> (card.output_path / "bound" / "verdict.json").is_file()
        True
    """

    def __init__(self, path: str | os.PathLike, output_path: str | os.PathLike | None = None,
                 validate: str = "error", timeout: float | None = None):
        if validate != "error":
            raise ValueError(f"validate={validate!r}: magnet evaluates only valid cards; use validate='error' "
                             "(or `magnet evaluate CARD --check` to list a card's problems)")
        self.path = Path(path)
        self.card: Card = load_card(self.path)
        self.output_path = Path(output_path) if output_path is not None else \
            Path(tempfile.mkdtemp(prefix=f"magnet-card-{self.card.stem}-"))
        self.timeout = timeout
        data = self.card.data
        self.title: str = data["title"]
        self.description: str = data.get("description", "")
        claim = data["claim"]
        self.claim = Claim(claim["python"] if isinstance(claim, dict) else claim)
        self.claim_aggregation_strategy: dict | None = self.card.aggregation if self.card.form == "assert" else None
        for key in ("version", "organizations", "submitter", "tags", "links", "category"):
            setattr(self, key, data.get(key))
        self.results = []  # CellResult per setting, after evaluate()
        self.reason: str | None = None
        self._values = {name: _initial_value(s) for name, s in self.card.symbols.items()}
        self._reprs = {name: repr(v) for name, v in self._values.items()}
        self.symbols = Symbols(data.get("symbols") or {}, self._values)

    # ------------------------------------------------------------ evaluation

    def evaluate(self, timeout: float | None = None, jobs: int = 1) -> Status:
        """Evaluate every setting (each in its own subprocess), print the outcome, return the verdict.

        Prints each setting's outcome (``Assertion holds``, ``Assertion does not hold: <message>``,
        ``SymbolNotResolved: ...``; for a sweep only the settings that were not VERIFIED) and, for a
        sweep, MAGNET's ``Settings Evaluated`` block. Returns VERIFIED, FALSIFIED or INCONCLUSIVE.
        """
        limit = timeout if timeout is not None else self.timeout
        self.results = run_cards([self.card], out=self.output_path, timeout=limit, jobs=jobs)
        verdicts = [r.verdict for r in self.results]
        swept = len(self.results) > 1 or self.results[0].cell is not None
        if swept:
            verdict, self.reason = aggregate_verdicts(verdicts, self.card.aggregation if self.card.form == "assert"
                                                      else None)
            for r in self.results:
                if r.verdict != "VERIFIED":
                    print(r.reason)
            n = len(verdicts)
            print(SEPARATOR)
            print(f"Settings Evaluated: {n}")
            print(f"  Verified:     {verdicts.count('VERIFIED') / n:.2f}")
            print(f"  Falsified:    {verdicts.count('FALSIFIED') / n:.2f}")
            print(f"  Inconclusive: {verdicts.count('INCONCLUSIVE') / n:.2f}")
            print(SEPARATOR)
            print(f"{self.reason}")
        else:
            verdict, self.reason = self.results[0].verdict, self.results[0].reason
            print(self.reason)
        self._load_values()
        self.claim.status = verdict
        return Status(verdict)

    def _load_values(self) -> None:
        """Symbol values for summarize(): constants in Python, the rest from each setting's reprs.json."""
        per_cell = []
        for r in self.results:
            try:
                per_cell.append(json.loads((r.out_dir / "reprs.json").read_text()))
            except (OSError, ValueError):
                per_cell.append({})
        self.cell_reprs = per_cell
        for name in self.card.symbols:
            texts = {cell.get(name) for cell in per_cell}
            if len(texts) == 1 and None not in texts:
                self._reprs[name] = texts.pop()
                self._values[name] = _literal(self._reprs[name])
            else:  # differs between settings (or failed): see the SETTINGS lines
                self._reprs[name] = "<per setting>" if len(texts - {None}) > 1 else "None"
                self._values[name] = None

    def status(self) -> str:
        """UNVERIFIED before :meth:`evaluate`, then the verdict (also ``card.claim.status``)."""
        return self.claim.status

    # ------------------------------------------------------------ display

    def summarize(self) -> None:
        """Print the card in its current state (MAGNET's layout, plus its metadata and, for a sweep, the settings)."""
        print(f"Title:       {self.title}")
        print(f"Description: {self.description}")
        for line in self._metadata_lines():
            print(line)
        print(SEPARATOR)
        print(f"SYMBOLS:     {{{', '.join(f'{name!r}: {self._reprs[name]}' for name in self.card.symbols)}}}")
        print(f"CLAIM:       \n{self.claim}")
        sweep = self.card.sweep
        if sweep:
            print(SEPARATOR)
            strategy = self.card.aggregation if self.card.form == "assert" else None
            how = f"claim_aggregation_strategy: {_strategy_text(strategy)}" if strategy else "each setting separately"
            if not self.results:
                n = 1
                for values in sweep.values():
                    n *= len(values)
                print(f"SETTINGS:    {n} to evaluate ({' x '.join(sweep)}), {how}")
            else:
                print(f"SETTINGS:    {len(self.results)} evaluated, {how}")
                for r in self.results:
                    label = ", ".join(f"{k}={v!r}" for k, v in (r.cell.values.items() if r.cell else ()))
                    detail = "" if r.verdict == "VERIFIED" else f"  {r.reason}"
                    print(f"  {label}: {r.verdict}{detail}")
        print(SEPARATOR)
        print(f"STATUS:      {self.claim.status}")
        if self.results and self.reason and not sweep and self.claim.status != "VERIFIED":
            print(f"REASON:      {self.reason}")

    def _metadata_lines(self) -> list[str]:
        lines = []
        if self.category is not None:
            lines.append(f"Category:    {self.category}")
        if self.version is not None:
            lines.append(f"Version:     {self.version}")
        if self.organizations:
            lines.append(f"Organizations: {', '.join(map(str, self.organizations))}")
        if self.submitter:
            email = self.submitter.get("email")
            lines.append(f"Submitter:   {self.submitter.get('name', '')}{f' <{email}>' if email else ''}")
        if self.tags:
            lines.append(f"Tags:        {', '.join(map(str, self.tags))}")
        for i, link in enumerate(self.links or []):
            kind = f" ({link['type']})" if link.get("type") else ""
            lines.append(f"{'Links:' if i == 0 else '':<13}{link.get('title', link['url'])}{kind}: {link['url']}")
        return lines

    def __repr__(self) -> str:
        return f"EvaluationCard({str(self.path)!r}, status={self.claim.status})"


def _initial_value(sym):
    """MAGNET shows a constant's value before evaluation, None for computed or swept symbols."""
    return sym.value if sym.kind == "value" else None


def _literal(text: str):
    """The Python value of a repr when it is a literal (lists, numbers, strings), else the repr text itself."""
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def _strategy_text(strategy: dict) -> str:
    t = strategy.get("type", "all")
    threshold = (strategy.get("parameters") or {}).get("threshold")
    return f"{t} (threshold {threshold})" if threshold is not None else t
