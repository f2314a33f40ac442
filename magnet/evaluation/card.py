"""Load an evaluation card (YAML), validate it against ``card_schema.json``, and check its symbols.

:func:`load_card` returns a :class:`Card` or raises :class:`CardError`, whose
``issues`` list *every* problem found, each with the file, the line and the
field (a dotted path such as ``symbols.mae.depends_on[1]``):

* YAML syntax errors and duplicate keys;
* JSON Schema errors (``card_schema.json``, draft 2020-12): wrong types,
  missing or unknown fields, bad enum values; lines come from the YAML node
  marks of the field the error is about;
* unknown symbols named in ``depends_on``, in ``$name`` arguments of a ``ref``
  or in the ``claim``; symbol names that shadow the card namespace;
* Python syntax errors in ``python`` code and in the ``claim`` (at their line
  in the card);
* dependency cycles (``graphlib``), reported with the cycle;
* sweep keys that are neither an input nor a symbol, and sweep values that the
  input schema rejects.

Validation never runs card code. A symbol's dependencies are its
``depends_on`` plus every symbol name its code reads without assigning it,
plus the ``$name`` arguments of its ``ref``.

Example:
    >>> card = Card.from_text('''
    ... title: two and two
    ... description: needs no data
    ... symbols:
    ...   x: {type: number, python: "2 + 2"}
    ...   y: {type: boolean, python: "x == 4"}
    ... claim: y
    ... ''')
    >>> card.order, card.symbols["y"].deps
    (['x', 'y'], ['x'])
    >>> try:
    ...     Card.from_text('''
    ... title: broken
    ... symbols:
    ...   x: {type: numbr, python: "z + 1", depends_on: [w]}
    ... claim: x > q
    ... ''', path="broken.yaml")
    ... except CardError as e:
    ...     print(e)
    broken.yaml:2: description: missing required field
    broken.yaml:4: symbols.x.depends_on[0]: unknown symbol 'w'
    broken.yaml:4: symbols.x.type: 'numbr' is not one of ['number', 'integer', 'boolean', 'string', 'interval', 'estimate', 'table', 'leaderboard', 'list', 'mapping', 'any']
    broken.yaml:5: claim: unknown name 'q' (not a symbol, a card namespace name or a builtin)
"""

from __future__ import annotations

import ast
import builtins
import difflib
import graphlib
import hashlib
import itertools
import json
import keyword
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from magnet.evaluation.namespace import DEFAULT_INPUTS, NAMESPACE_NAMES
from magnet.evaluation.pytypes import PyType, parse_type

SCHEMA_PATH = Path(__file__).with_name("card_schema.json")
VERDICTS = ("VERIFIED", "FALSIFIED", "INCONCLUSIVE")
DEFAULT_TIMEOUT = 600.0
DEFAULT_AGGREGATION = {"type": "all"}
#: MAGNET's card metadata fields (shown by EvaluationCard.summarize()).
METADATA_FIELDS = ("category", "version", "organizations", "submitter", "tags", "links")


def _jsonschema():
    try:
        import jsonschema
    except ImportError as e:  # pragma: no cover - jsonschema is a dependency
        raise ImportError("validating evaluation cards needs the jsonschema package (pip install 'jsonschema>=4.18')") from e
    return jsonschema


@lru_cache(maxsize=1)
def card_schema() -> dict:
    """The published JSON Schema of cards (``magnet/evaluation/card_schema.json``)."""
    return json.loads(SCHEMA_PATH.read_text())


@dataclass(frozen=True, order=True)
class Issue:
    """One problem of a card: ``file:line: field: message``."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class CardError(ValueError):
    """A card is invalid; ``issues`` holds every problem found (sorted by line)."""

    def __init__(self, issues: list[Issue]):
        self.issues = sorted(set(issues), key=lambda i: (i.file, i.line, i.field, i.message))
        super().__init__("\n".join(str(i) for i in self.issues))


@dataclass
class Symbol:
    """One symbol of a card (see the card schema)."""

    name: str
    type: str
    kind: str  # "python", "ref", "value" or (MAGNET form) "sweep"
    python: str | None = None
    ref: str | None = None
    args: Any = None
    value: Any = None
    description: str = ""
    depends_on: list[str] = field(default_factory=list)
    deps: list[str] = field(default_factory=list)  # depends_on + inferred, sorted
    line: int = 1  # line of the symbol's name
    code_line: int = 1  # line of the first line of its python code
    sweep: list | None = None  # MAGNET form: the values swept over
    pytype: PyType | None = None  # MAGNET form: the parsed Python type (None = not checked)


@dataclass
class Cell:
    """One combination of a card's sweep: ``values`` maps input/symbol names to the value of this cell."""

    index: int
    values: dict

    @property
    def name(self) -> str:
        """``key=value,key=value`` (also the cell's output directory, made file-name safe)."""
        return ",".join(f"{k}={_short(v)}" for k, v in self.values.items())

    @property
    def dirname(self) -> str:
        return re.sub(r"[^A-Za-z0-9._=,+-]", "_", self.name)[:120] or f"cell{self.index}"


def _short(v) -> str:
    return v if isinstance(v, str) else json.dumps(v, default=str)


@dataclass
class Card:
    """A validated evaluation card."""

    path: Path | None
    text: str
    data: dict
    symbols: dict[str, Symbol]
    order: list[str]
    claim_line: int
    #: the problems of a card loaded with ``strict=False`` (MAGNET's ``validate='warning'``/``'off'``)
    issues: list[Issue] = field(default_factory=list)

    @property
    def lenient(self) -> bool:
        """True for a card that was loaded despite validation problems (``strict=False``)."""
        return bool(self.issues)

    @property
    def form(self) -> str:
        """``"expression"`` (magnet's form: the claim is an expression) or ``"assert"`` (MAGNET's form).

        MAGNET's form is recognised by its claim: a mapping ``{python: code}``.
        """
        return "assert" if isinstance(self.data.get("claim"), dict) else "expression"

    @property
    def kind(self) -> str:
        """``"pipeline"`` or ``"kwdagger"`` (MAGNET cards whose symbols a pipeline computes), else ``"symbols"``."""
        return next((k for k in ("pipeline", "kwdagger") if k in self.data), "symbols")

    @property
    def aggregation(self) -> dict:
        """MAGNET form: ``claim_aggregation_strategy`` (default ``{"type": "all"}``)."""
        return dict(self.data.get("claim_aggregation_strategy") or DEFAULT_AGGREGATION)

    @property
    def metadata(self) -> dict:
        """The MAGNET metadata fields present in the card (category, version, organizations, ...)."""
        return {k: self.data[k] for k in METADATA_FIELDS if k in self.data}

    @property
    def title(self) -> str:
        return self.data["title"]

    @property
    def description(self) -> str:
        return self.data.get("description", "")

    @property
    def claim(self) -> str:
        """The claim's text: the expression, or (MAGNET form) the code of ``claim.python``."""
        if self.form == "assert":
            return self.data["claim"]["python"].strip("\n").rstrip()
        return self.data["claim"].strip()

    @property
    def stem(self) -> str:
        return self.path.stem if self.path else "card"

    @property
    def file(self) -> str:
        return str(self.path) if self.path else "<card>"

    @property
    def sha256(self) -> str:
        """sha256 of the card file's bytes (of the text for cards made from a string)."""
        raw = self.path.read_bytes() if self.path and self.path.is_file() else self.text.encode()
        return hashlib.sha256(raw).hexdigest()

    @property
    def tolerance(self) -> float:
        return float(self.data.get("tolerance", 0.0))

    @property
    def timeout(self) -> float | None:
        t = self.data.get("timeout")
        return None if t is None else float(t)

    @property
    def expected(self) -> str | None:
        return self.data.get("expected")

    @property
    def sweep(self) -> dict:
        """The grid: ``sweep`` of the card, or (MAGNET form) each swept symbol's values, in card order."""
        if self.form == "assert":
            return {name: list(s.sweep) for name, s in self.symbols.items() if s.sweep is not None}
        return dict(self.data.get("sweep") or {})

    def cells(self) -> list[Cell | None]:
        """The sweep's cells (grid over the sweep keys, in file order), or ``[None]`` without a sweep."""
        sweep = self.sweep
        if not sweep:
            return [None]
        keys = list(sweep)
        return [Cell(i, dict(zip(keys, combo))) for i, combo in enumerate(itertools.product(*sweep.values()))]

    def resolved_inputs(self, cell: Cell | None = None) -> dict:
        """Defaults, then the card's ``inputs``, then the cell's input values; paths made absolute."""
        inputs = dict(DEFAULT_INPUTS)
        inputs.update(self.data.get("inputs") or {})
        if cell and self.form == "expression":
            inputs.update({k: v for k, v in cell.values.items() if k in DEFAULT_INPUTS})
        if inputs["benchmark_output"] is not None:
            base = self.path.parent if self.path else Path.cwd()
            inputs["benchmark_output"] = str((base / Path(inputs["benchmark_output"]).expanduser()).resolve())
        n = inputs["num_eval_samples"]
        if isinstance(n, float) and n.is_integer() and n >= 1:
            inputs["num_eval_samples"] = int(n)
        return inputs

    @classmethod
    def from_text(cls, text: str, path: str | Path | None = None, strict: bool = True) -> "Card":
        """Parse and validate a card; raises :class:`CardError` listing every problem.

        With ``strict=False`` a card that parses as a YAML mapping is returned
        despite its problems (kept in ``card.issues``); evaluating it may then
        fail in ways validation would have named.
        """
        return _Validator(text, Path(path) if path else None).card(strict=strict)


def load_card(path: str | Path, strict: bool = True) -> Card:
    """Read, parse and validate the card file ``path`` (raises :class:`CardError`, or OSError if unreadable)."""
    path = Path(path)
    return Card.from_text(path.read_text(encoding="utf-8"), path, strict=strict)


# ---------------------------------------------------------------- YAML nodes


def _line(node) -> int:
    return node.start_mark.line + 1 if node is not None else 1


def _code_first_line(node) -> int:
    """1-based line of the first code line of a scalar (block scalars start on the next line)."""
    if node is None:
        return 1
    return node.start_mark.line + (2 if getattr(node, "style", None) in ("|", ">") else 1)


def _walk(node, path: tuple, key: bool = False):
    """The node at ``path`` (keys or indices); when it does not exist, the deepest existing one.

    With ``key=True`` and a mapping parent, the node of the *key* is returned.
    """
    current, key_node = node, None
    for part in path:
        if isinstance(current, yaml.MappingNode):
            for k, v in current.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                    key_node, current = k, v
                    break
            else:
                return current
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int) and part < len(current.value):
            key_node, current = None, current.value[part]
        else:
            return current
    return key_node if key and key_node is not None else current


def _field(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(card)"


# ---------------------------------------------------------------- validation


def _names(tree: ast.AST) -> tuple[set[str], set[str]]:
    """(names read, names bound) anywhere in ``tree``."""
    loads, stores = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else stores).add(node.id)
        elif isinstance(node, ast.arg):
            stores.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stores.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                stores.add((a.asname or a.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            stores.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            stores.update(node.names)
    return loads, stores


def dollar_refs(args) -> set[str]:
    """Symbol names referenced as ``$name`` (or ``$name.attr``) in ref arguments (``$inputs...``, ``$$`` excluded)."""
    out: set[str] = set()
    if isinstance(args, str):
        if args.startswith("$") and not args.startswith("$$"):
            name = args[1:].split(".")[0]
            if name != "inputs":
                out.add(name)
    elif isinstance(args, dict):
        for v in args.values():
            out |= dollar_refs(v)
    elif isinstance(args, list):
        for v in args:
            out |= dollar_refs(v)
    return out


class _Validator:
    def __init__(self, text: str, path: Path | None):
        self.text, self.path = text, path
        self.file = str(path) if path else "<card>"
        self.issues: list[Issue] = []
        self.root = None

    def issue(self, path: tuple, message: str, key: bool = False, line: int | None = None) -> None:
        if line is None:
            line = _line(_walk(self.root, path, key=key)) if self.root is not None else 1
        self.issues.append(Issue(self.file, line, _field(path), message))

    def card(self, strict: bool = True) -> Card:
        data = self.parse()
        if data is None:
            raise CardError(self.issues)
        self.schema(data)
        symbols = self.symbols(data)
        order = self.dependencies(symbols)
        claim_line = self.claim(data, symbols)
        self.sweep(data, symbols)
        if self.issues and strict:
            raise CardError(self.issues)
        return Card(self.path, self.text, data, symbols, order, claim_line,
                    issues=CardError(self.issues).issues if self.issues else [])

    def parse(self):
        try:
            self.root = yaml.compose(self.text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(self.text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
            problem = getattr(e, "problem", None) or str(e)
            self.issues.append(Issue(self.file, mark.line + 1 if mark else 1, "(yaml)", f"invalid YAML: {problem}"))
            return None
        if not isinstance(data, dict):
            self.issues.append(Issue(self.file, _line(self.root), "(card)",
                                     "a card is a YAML mapping with title, description, symbols and claim"))
            return None
        self.duplicates(self.root, ())
        return data

    def duplicates(self, node, path: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for k, v in node.value:
                name = k.value if isinstance(k, yaml.ScalarNode) else None
                if name in seen:
                    self.issues.append(Issue(self.file, _line(k), _field(path + (name,)), "duplicate key"))
                seen.add(name)
                self.duplicates(v, path + (name,))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                self.duplicates(v, path + (i,))

    def schema(self, data: dict) -> None:
        jsonschema = _jsonschema()
        validator = jsonschema.Draft202012Validator(card_schema())
        for err in validator.iter_errors(data):
            path = tuple(err.absolute_path)
            if err.validator == "required":
                m = re.match(r"'(.+)' is a required property", err.message)
                name = m.group(1) if m else "?"
                self.issue(path + (name,), "missing required field", line=_line(_walk(self.root, path)))
            elif err.validator == "additionalProperties":
                allowed = sorted(err.schema.get("properties", {}))
                extra = [k for k in err.instance if k not in err.schema.get("properties", {})]
                for k in extra:
                    hint = difflib.get_close_matches(str(k), allowed, n=1)
                    self.issue(path + (k,), f"unknown field{f' (did you mean {hint[0]!r}?)' if hint else ''}; "
                               f"allowed: {', '.join(allowed)}", key=True)
            elif "propertyNames" in err.absolute_schema_path:
                msg = err.schema.get("x-error", err.message)
                self.issue(path + (err.instance,), f"{msg}, got {err.instance!r}", key=True)
            elif err.validator == "pattern" and "x-error" in err.schema:
                self.issue(path, f"{err.schema['x-error']}, got {err.instance!r}")
            elif err.validator == "oneOf" and "x-error-oneOf" in err.schema:
                present = [k for k in ("python", "ref", "value") if isinstance(err.instance, dict) and k in err.instance]
                got = f" (has {', '.join(present)})" if present else ""
                self.issue(path, err.schema["x-error-oneOf"] + got, key=True)
            elif err.validator == "anyOf" and "x-error-anyOf" in err.schema:
                self.issue(path, err.schema["x-error-anyOf"], key=True)
            elif err.validator == "dependentRequired":
                self.issue(path + ("args",), "`args` is only allowed with `ref`", key=True)
            else:
                self.issue(path, err.message)

    def symbols(self, data: dict) -> dict[str, Symbol]:
        raw = data.get("symbols")
        if not isinstance(raw, dict):
            return {}
        names = set(raw)
        assert_form = isinstance(data.get("claim"), dict)
        out: dict[str, Symbol] = {}
        for name, spec in raw.items():
            if not isinstance(spec, dict):
                continue
            name = str(name)
            where = ("symbols", name)
            if keyword.iskeyword(name):
                self.issue(where, "a symbol name cannot be a Python keyword", key=True)
            if name in NAMESPACE_NAMES and not assert_form:
                self.issue(where, f"symbol name {name!r} shadows a name of the card namespace", key=True)
            if assert_form:
                # MAGNET's precedence: a sweep sets the value per setting; a non-null value is used as is; else code
                kind = "sweep" if isinstance(spec.get("sweep"), list) else \
                    "value" if spec.get("value") is not None or "python" not in spec else "python"
            else:
                kind = next((k for k in ("python", "ref", "value") if k in spec), "value")
            pytype = None
            if assert_form and isinstance(spec.get("type"), str):
                try:
                    pytype = parse_type(spec["type"])
                except ValueError as e:
                    self.issue(where + ("type",), f"{spec['type']!r}: {e}")
            dep_key = "depends_on"
            if assert_form and "depends" in spec:  # newer MAGNET accepts `depends` as a spelling of `depends_on`
                if "depends_on" in spec and spec["depends_on"] != spec["depends"]:
                    self.issue(where + ("depends",), "`depends` and `depends_on` are the same field and disagree; "
                               "give one of them", key=True)
                dep_key = "depends_on" if "depends_on" in spec else "depends"
            declared = [d for d in spec.get(dep_key) or [] if isinstance(d, str)]
            for i, d in enumerate(spec.get(dep_key) or []):
                if isinstance(d, str) and d not in names:
                    self.unknown(where + (dep_key, i), d, names)
            inferred: set[str] = set()
            code_node = _walk(self.root, where + ("python",))
            code_line = _code_first_line(code_node)
            if isinstance(spec.get("python"), str):
                try:
                    tree = ast.parse(spec["python"], filename=self.file)
                    loads, stores = _names(tree)
                    inferred = {n for n in loads - stores if n in names and n != name} | \
                               ({name} if name in loads - stores else set())
                    if kind != "python":
                        inferred = set()  # MAGNET form: a swept or constant symbol's code is not run
                    elif assert_form and name not in stores:
                        self.issue(where + ("python",), f"the code must assign the variable {name!r} "
                                   "(its value is the symbol's value)", line=code_line)
                except SyntaxError as e:
                    self.issue(where + ("python",), f"Python syntax error: {e.msg}",
                               line=code_line + (e.lineno or 1) - 1)
            if isinstance(spec.get("args"), (dict, list)):
                for ref in sorted(dollar_refs(spec["args"])):
                    if ref in names:
                        inferred.add(ref)
                    else:
                        self.unknown(where + ("args",), ref, names, what="`$` argument")
            deps = sorted((set(declared) | inferred) & names)
            out[name] = Symbol(
                name=name, type=spec.get("type", "object" if assert_form else "any"), kind=kind,
                python=spec.get("python") if kind == "python" else None, sweep=spec.get("sweep"), pytype=pytype,
                ref=spec.get("ref"), args=spec.get("args"), value=spec.get("value"),
                description=spec.get("description", ""), depends_on=declared, deps=deps,
                line=_line(_walk(self.root, where, key=True)), code_line=code_line,
            )
        return out

    def unknown(self, path: tuple, name: str, names: set[str], what: str = "symbol") -> None:
        hint = difflib.get_close_matches(name, sorted(names), n=1)
        self.issue(path, f"unknown {what} {name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""))

    def dependencies(self, symbols: dict[str, Symbol]) -> list[str]:
        graph = {name: set(s.deps) for name, s in symbols.items()}
        try:
            return list(graphlib.TopologicalSorter(graph).static_order())
        except graphlib.CycleError as e:
            cycle = list(reversed(e.args[1]))  # graphlib lists it against the edges; show "a needs b needs ..."
            first = cycle[0]
            self.issue(("symbols", first), "dependency cycle: " + " -> ".join(cycle), key=True)
            return list(symbols)

    def claim(self, data: dict, symbols: dict[str, Symbol]) -> int:
        if isinstance(data.get("claim"), dict):
            return self.claim_code(data, symbols)
        node = _walk(self.root, ("claim",))
        line = _code_first_line(node)
        claim = data.get("claim")
        if not isinstance(claim, str) or not claim.strip():
            return line
        try:
            tree = ast.parse(claim.strip(), filename=self.file, mode="eval")
        except SyntaxError as e:
            self.issue(("claim",), f"Python syntax error in the claim expression: {e.msg}",
                       line=line + (e.lineno or 1) - 1)
            return line
        loads, stores = _names(tree)
        known = set(symbols) | set(NAMESPACE_NAMES) | set(dir(builtins)) | stores
        raw = data.get("symbols") if isinstance(data.get("symbols"), dict) else {}
        for name in sorted(loads - known):
            if name in raw:
                continue  # a symbol with a schema error, already reported
            hint = difflib.get_close_matches(name, sorted(symbols), n=1)
            self.issue(("claim",), f"unknown name {name!r} (not a symbol, a card namespace name or a builtin)"
                       + (f"; did you mean {hint[0]!r}?" if hint else ""), line=line)
        return line

    def claim_code(self, data: dict, symbols: dict[str, Symbol]) -> int:
        """MAGNET form: ``claim.python`` is code; check its syntax and the names it reads."""
        node = _walk(self.root, ("claim", "python"))
        line = _code_first_line(node)
        code = data["claim"].get("python")
        if not isinstance(code, str) or not code.strip():
            return line
        code = code.strip("\n").rstrip()
        line += len(data["claim"]["python"]) - len(data["claim"]["python"].lstrip("\n"))
        try:
            tree = ast.parse(code, filename=self.file)
        except SyntaxError as e:
            self.issue(("claim", "python"), f"Python syntax error in the claim code: {e.msg}",
                       line=line + (e.lineno or 1) - 1)
            return line
        if "pipeline" in data or "kwdagger" in data:
            return line  # the claim's names are the pipeline's outputs, known only once it has run
        loads, stores = _names(tree)
        known = set(symbols) | set(NAMESPACE_NAMES) | set(dir(builtins)) | stores
        raw = data.get("symbols") if isinstance(data.get("symbols"), dict) else {}
        for name in sorted(loads - known - set(raw)):
            hint = difflib.get_close_matches(name, sorted(symbols), n=1)
            self.issue(("claim", "python"), f"unknown name {name!r} (not a symbol, a card namespace name or a builtin)"
                       + (f"; did you mean {hint[0]!r}?" if hint else ""), line=line)
        return line

    def sweep(self, data: dict, symbols: dict[str, Symbol]) -> None:
        jsonschema = _jsonschema()
        sweep = data.get("sweep")
        if not isinstance(sweep, dict):
            return
        input_schema = card_schema()["$defs"]["inputs"]["properties"]
        for key, values in sweep.items():
            if key in input_schema:
                if not isinstance(values, list):
                    continue
                sub = jsonschema.Draft202012Validator(input_schema[key])
                for i, v in enumerate(values):
                    for err in sub.iter_errors(v):
                        self.issue(("sweep", key, i), f"invalid value for input {key!r}: {err.message}")
            elif key not in symbols:
                allowed = sorted(set(input_schema) | set(symbols))
                hint = difflib.get_close_matches(str(key), allowed, n=1)
                self.issue(("sweep", key), "a sweep key must be an input or a symbol"
                           + (f" (did you mean {hint[0]!r}?)" if hint else ""), key=True)
