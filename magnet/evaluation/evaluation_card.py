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
problem), the settings in turn in a worker subprocess, each with a time limit, its
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

import copy
import hashlib
import sys

import yaml

from magnet.evaluation.card import Card, load_card
from magnet.evaluation.evaluate import aggregate_verdicts, run_cards
from magnet.evaluation.pipeline_cards import expand

#: MAGNET's ``validate`` choices.
VALIDATE = ("only", "error", "warning", "off")

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
        path: the card's YAML file.
        output_path: where verdicts go (``<output_path>/<card stem>[/<setting>]/verdict.json``);
            default: a new temporary directory (kept, see ``card.output_path``). A pipeline card's runs
            go to ``<output_path>/<card stem>/pipeline`` (or ``kwdagger``) and are reused by parameters.
        validate: MAGNET's choices: ``"error"`` (default) and ``"only"`` validate at once and raise
            :class:`~magnet.evaluation.card.CardError` listing every problem; ``"warning"`` prints the
            problems to stderr and goes on; ``"off"`` goes on silently (evaluating an invalid card may then
            fail in ways validation would have named).
        timeout: seconds per setting or pipeline run (default: the card's ``timeout``, else 600).

    Attributes (MAGNET's): ``original_card`` (the card as read, never modified), ``symbols`` (the symbol
    specifications; ``card.symbols()`` gives their values), ``has_pipeline``/``pipeline`` and
    ``has_kwdagger``/``kwdagger`` (the sections, editable before :meth:`evaluate`), ``evaluations`` (one
    :class:`EvaluationTask` per setting after :meth:`evaluate`).

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
        if validate not in VALIDATE:
            raise ValueError(f"validate={validate!r}: expected one of {', '.join(map(repr, VALIDATE))}")
        self.path = Path(path)
        self.validate = validate
        self.card: Card = load_card(self.path, strict=validate in ("error", "only"))
        if self.card.issues and validate == "warning":
            print(f"WARNING! Card validation failed ({len(self.card.issues)} problem(s)):\n"
                  + "\n".join(str(i) for i in self.card.issues), file=sys.stderr)
        self.original_card: dict = copy.deepcopy(self.card.data)
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
        self.evaluations: list[EvaluationTask] = []
        self.reason: str | None = None
        self._values = {name: _initial_value(s) for name, s in self.card.symbols.items()}
        self._reprs = {name: repr(v) for name, v in self._values.items()}
        self.symbols = copy.deepcopy(data.get("symbols") or {})
        self.pipeline: dict | None = copy.deepcopy(data.get("pipeline"))
        self.kwdagger: dict | None = copy.deepcopy(data.get("kwdagger"))

    @property
    def symbols(self) -> Symbols:
        """The symbol specifications (name -> spec, editable); calling it gives the symbols' current values."""
        return self._symbols

    @symbols.setter
    def symbols(self, specs: dict) -> None:
        self._symbols = Symbols(specs or {}, self._values)

    @property
    def has_pipeline(self) -> bool:
        """The card has a ``pipeline:`` section (run by magnet's runner, :mod:`magnet.evaluation.pipeline`)."""
        return self.pipeline is not None

    @property
    def has_kwdagger(self) -> bool:
        """The card has a ``kwdagger:`` section (run by kwdagger, :mod:`magnet.evaluation.kwdagger_runner`)."""
        return self.kwdagger is not None

    def replace(self, override) -> None:
        """Set symbols from YAML text or a mapping: a constant's ``value`` is replaced, a sweep's values too.

        A scalar given for a swept symbol sweeps over that one value (as in MAGNET).
        Raises ValueError for an unknown symbol and for one computed by code
        (its code would be ignored: say so rather than change nothing).

        Example:
            >>> import tempfile
            >>> from pathlib import Path
            >>> path = Path(tempfile.mkdtemp()) / "c.yaml"
            >>> _ = path.write_text('''
            ... title: t
            ... description: d
            ... claim: {python: "assert x < bound"}
            ... symbols:
            ...   x: {sweep: [1, 2]}
            ...   bound: {type: int, value: 3}
            ... ''')
            >>> card = EvaluationCard(path)
            >>> card.replace("bound: 2\\nx: [0, 1]")
            >>> card.symbols["bound"], card.symbols["x"]
            ({'type': 'int', 'value': 2}, {'sweep': [0, 1]})
            >>> card.replace({"y": 1})
            Traceback (most recent call last):
            ValueError: Unknown symbol 'y' -- available: ['x', 'bound']
        """
        if isinstance(override, str):
            try:
                override = yaml.safe_load(override)
            except yaml.YAMLError as e:
                raise ValueError(f"override: invalid YAML: {e}") from None
        if not isinstance(override, dict):
            raise ValueError(f"override: expected a mapping of symbol -> value, got {override!r}")
        for key, value in override.items():
            if key not in self.symbols:
                raise ValueError(f"Unknown symbol {key!r} -- available: {list(self.symbols)}")
            spec = self.symbols[key]
            if isinstance(spec, dict) and "sweep" in spec:
                spec["sweep"] = value if isinstance(value, list) else [value]
            elif isinstance(spec, dict) and ("value" in spec or "python" not in spec):
                spec["value"] = value
                if key in self._values:
                    self._values[key] = value
                    self._reprs[key] = repr(value)
            else:
                raise ValueError(f"symbol {key!r} is computed by its python code; replace sets constants (value) "
                                 "and sweeps only")

    def effective_card(self) -> Card:
        """The card as it stands: the file's, or (after :meth:`replace` or edits) a copy written to ``output_path``."""
        data = copy.deepcopy(self.card.data)
        for key, value in (("symbols", dict(self.symbols)), ("pipeline", self.pipeline), ("kwdagger", self.kwdagger)):
            if value is None or (key == "symbols" and not value and key not in data):
                data.pop(key, None)
            else:
                data[key] = copy.deepcopy(value)
        if data == self.card.data:
            return self.card
        inputs = data.get("inputs") or {}
        if inputs.get("benchmark_output"):  # relative to the original card
            inputs["benchmark_output"] = str((self.path.parent / inputs["benchmark_output"]).resolve())
        path = self.output_path / "cards" / f"{self.card.stem}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {self.path} as edited before evaluation (written by magnet)\n"
                        + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        return load_card(path, strict=not self.card.lenient)

    # ------------------------------------------------------------ evaluation

    def evaluate(self, timeout: float | None = None, jobs: int = 1, parallel_backend: str | None = None) -> Status:
        """Evaluate every setting (in a worker subprocess, each with its time limit), print the outcome, return the verdict.

        A pipeline card first runs its pipeline (each run a subprocess; ``jobs`` at a time), then
        evaluates its claim once per run. Prints each setting's outcome (``Assertion holds``,
        ``Assertion does not hold: <message>``, ``SymbolNotResolved: ...``; for a sweep only the
        settings that were not VERIFIED) and, for a sweep, MAGNET's ``Settings Evaluated`` block.
        Returns VERIFIED, FALSIFIED or INCONCLUSIVE. ``parallel_backend`` (MAGNET's joblib choice) is
        accepted and ignored: magnet runs settings as subprocesses, ``jobs`` at a time.
        """
        limit = timeout if timeout is not None else self.timeout
        card = self.effective_card()
        self.results = run_cards([card], out=self.output_path, timeout=limit, jobs=jobs)
        self.evaluations = [EvaluationTask.from_result(self, r) for r in self.results]
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

    def dispatch(self, settings: list[dict] | None = None) -> list["EvaluationTask"]:
        """One :class:`EvaluationTask` per setting, not yet evaluated (``task.execute()`` evaluates it).

        ``settings``: a list of ``{symbol: value}`` mappings, each fixing those symbols as constants;
        default: the card's own settings (its sweep's cells; a pipeline card's runs, running the
        pipeline or reusing its results under ``output_path``).
        """
        if settings is None:
            card = self.effective_card()
            if card.kind != "symbols":
                card = expand(card, self.output_path / card.stem, timeout=self.timeout)
            settings = [dict(cell.values) if cell else {} for cell in card.cells()]
        return [EvaluationTask(self, dict(values)) for values in settings]

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


class EvaluationTask:
    """One setting of a card: ``symbols`` (the values it fixes), ``claim.status``, ``result``, ``output_msg``, ``log``.

    Made by :meth:`EvaluationCard.dispatch` (``execute()`` evaluates it in its own
    subprocess) or, already evaluated, by :meth:`EvaluationCard.evaluate`
    (``card.evaluations``). ``log`` is the setting's ``verdict.json``.
    """

    def __init__(self, card: EvaluationCard, symbols: dict, result=None):
        self.card = card
        self.symbols = symbols
        self.claim = Claim(card.claim.claim)
        self.result = None
        self.output_msg = ""
        self.log: dict = {}
        if result is not None:
            self._record(result)

    @classmethod
    def from_result(cls, card: EvaluationCard, result) -> "EvaluationTask":
        return cls(card, dict(result.cell.values) if result.cell else {}, result)

    def _record(self, result) -> None:
        self.result, self.output_msg = result.verdict, result.reason
        self.claim.status = result.verdict
        try:
            self.log = json.loads((result.out_dir / "verdict.json").read_text())
        except (OSError, ValueError):
            self.log = {}

    def execute(self) -> tuple[str, str]:
        """Evaluate this setting (its symbols fixed as constants) in a subprocess; returns (status, message)."""
        base = self.card.effective_card()
        if base.kind != "symbols":
            base = expand(base, self.card.output_path / base.stem, timeout=self.card.timeout)
        data = copy.deepcopy(base.data)
        symbols = data.setdefault("symbols", {})
        for name, value in self.symbols.items():
            spec = dict(symbols.get(name) or {})
            for key in ("sweep", "python", "depends_on", "depends"):
                spec.pop(key, None)
            symbols[name] = {**spec, "value": value}
        digest = hashlib.sha256(json.dumps(self.symbols, sort_keys=True, default=str).encode()).hexdigest()[:12]
        path = self.card.output_path / "tasks" / digest / f"{base.stem}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        card = load_card(path, strict=not base.lenient)
        (result,) = run_cards([card], out=path.parent / "out", timeout=self.card.timeout)
        self._record(result)
        return self.result, self.output_msg

    def __repr__(self) -> str:
        return f"EvaluationTask({self.symbols!r}, status={self.claim.status})"


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
