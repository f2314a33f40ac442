"""Evaluate cards: symbols in dependency order, the claim, the verdict, ``verdict.json``; worker subprocesses with time limits.

:func:`evaluate_card` evaluates one card (or one sweep cell) *in this process*;
:func:`run_cards` evaluates many in ``python -m magnet.evaluation.worker``
subprocesses: the cells of a card in turn in one worker (:func:`run_cells`), each
cell with its own time limit, so that a cell that hangs, calls ``os._exit`` or
crashes the interpreter only loses itself (INCONCLUSIVE, cause ``timeout`` or
``crash``, with the reason) and the next cells go on in a fresh worker.

Verdicts and their causes:

============== ================ =====================================================
verdict        cause            when
============== ================ =====================================================
VERIFIED       ``claim``        every symbol evaluated, the claim is true
FALSIFIED      ``claim``        every symbol evaluated, the claim is false
INCONCLUSIVE   ``undecided``    the claim (or a symbol) is :class:`~magnet.evaluation.logic.Undecided`,
                                e.g. a confidence interval contains the threshold
INCONCLUSIVE   ``missing-data`` :class:`~magnet.evaluation.logic.MissingData` was raised
                                (``require``, unreadable inputs), or a ``number``/``interval``
                                symbol is NaN, or a ``table`` symbol is empty
INCONCLUSIVE   ``error``        a symbol's code or the claim raised; the claim is not a truth value
INCONCLUSIVE   ``timeout``      the cell's process exceeded the time limit (killed)
INCONCLUSIVE   ``crash``        the cell's process died without a verdict (exit code, signal)
============== ================ =====================================================

``verdict.json`` (written to ``<out>/<card stem>[/<cell>]/verdict.json``):
``schema_version``, ``card`` (``path``, ``title``, ``sha256`` of the file,
``expected``), ``cell`` (``name``, ``values``; null without a sweep),
``inputs`` (resolved), ``claim``, ``claim_value``, ``verdict``, ``reason``,
``cause``, ``symbols`` (per symbol: ``type``, ``status``, ``value`` (a
JSON-safe summary: tables as shape, columns and first rows), ``seconds``,
``error``, ``traceback``), ``timing`` (``started``, ``seconds``,
``wall_seconds``, ``limit_seconds``), ``versions`` (magnet, crfm-helm,
pandas, numpy, pingouin, python, platform). Next to it: ``log.txt`` (the
cell's stdout and stderr) and ``progress.jsonl``.

Example:
    >>> from magnet.evaluation.card import Card
    >>> card = Card.from_text('''
    ... title: a CI that straddles the threshold
    ... description: no data needed
    ... symbols:
    ...   rho: {type: estimate, python: "Estimate(0.76, (0.11, 0.95), 'rho')"}
    ... claim: ci_above(rho, 0.0) and not ci_above(rho, 0.5)
    ... ''')
    >>> v = evaluate_card(card)
    >>> v.verdict, v.cause
    ('INCONCLUSIVE', 'undecided')
    >>> v.reason
    'claim undecided: rho: interval [0.11, 0.95] (estimate 0.76) contains the threshold 0.5'
"""

from __future__ import annotations

import ast
import concurrent.futures
import dataclasses
import datetime
import importlib
import json
import math
import numbers
import os
import platform
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from magnet.evaluation.card import DEFAULT_TIMEOUT, Card, Cell
from magnet.evaluation.logic import (
    Estimate, MissingData, UndecidedError, _kleene_and, _kleene_or, is_undecided, not_,
)
from magnet.evaluation.namespace import Context
from magnet.evaluation.pytypes import check_value
from magnet.evaluation.card import CardError, load_card
from magnet.evaluation.pipeline import PipelineError
from magnet.evaluation.pipeline_cards import expand
from magnet.protocol.benchmark import Leaderboard
from magnet.protocol.execution import ensure_ray
from magnet.files import write_atomic

SCHEMA_VERSION = 1
VERSION_PACKAGES = ("magnet", "crfm-helm", "pandas", "numpy", "pingouin")


# ---------------------------------------------------------------- results


@dataclass
class SymbolResult:
    """How one symbol went: ``status`` is ok, override (set by the sweep), error, missing-data, undecided or skipped."""

    name: str
    type: str
    status: str
    value: Any = None
    seconds: float = 0.0
    error: str | None = None
    traceback: str | None = None

    def to_json(self) -> dict:
        return {"type": self.type, "status": self.status, "value": summarize(self.value) if self.status in
                ("ok", "override") else None, "seconds": round(self.seconds, 4), "error": self.error,
                "traceback": self.traceback}


@dataclass
class Verdict:
    """The outcome of one card cell (``verdict.json`` is :meth:`to_json`)."""

    verdict: str
    reason: str
    cause: str
    card_path: str
    title: str
    sha256: str
    expected: str | None
    claim: str
    inputs: dict
    cell: Cell | None = None
    claim_value: Any = None
    symbols: dict[str, SymbolResult] = field(default_factory=dict)
    started: str = ""
    seconds: float = 0.0
    wall_seconds: float | None = None
    limit_seconds: float | None = None

    def to_json(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "card": {"path": self.card_path, "title": self.title, "sha256": self.sha256, "expected": self.expected},
            "cell": None if self.cell is None else {"name": self.cell.name, "values": summarize(self.cell.values)},
            "inputs": summarize(self.inputs),
            "claim": self.claim,
            "claim_value": summarize(self.claim_value),
            "verdict": self.verdict,
            "reason": self.reason,
            "cause": self.cause,
            "symbols": {name: s.to_json() for name, s in self.symbols.items()},
            "timing": {"started": self.started, "seconds": round(self.seconds, 3),
                       "wall_seconds": None if self.wall_seconds is None else round(self.wall_seconds, 3),
                       "limit_seconds": self.limit_seconds},
            "versions": versions(),
        }

    def write(self, out_dir: str | os.PathLike) -> Path:
        """Write ``verdict.json`` into ``out_dir`` (atomically); returns its path."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        path = out / "verdict.json"
        text = json.dumps(self.to_json(), indent=2, allow_nan=False) + "\n"
        write_atomic(path, lambda tmp: tmp.write_text(text))
        return path


def versions() -> dict:
    """Versions of magnet, crfm-helm, pandas, numpy, pingouin (null if absent), python and the platform."""
    from importlib import metadata

    out: dict = {}
    for dist in VERSION_PACKAGES:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    out["python"] = platform.python_version()
    out["platform"] = platform.platform()
    return out


# ---------------------------------------------------------------- JSON-safe summaries


def _num(x) -> float | str:
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def summarize(value, depth: int = 0, max_items: int = 50):
    """A JSON-safe summary of a symbol value: tables as shape, columns and first rows; NaN as ``"NaN"``.

    Example:
        >>> import pandas as pd
        >>> summarize({"a": float("nan"), "b": (1, 2.5)})
        {'a': 'NaN', 'b': [1, 2.5]}
        >>> summarize(pd.DataFrame({"x": [1, 2, 3]}))["shape"]
        [3, 1]
    """
    import numpy as np

    if depth > 6:
        return repr(value)[:200]
    if value is None or isinstance(value, (bool, str)):
        return value if not isinstance(value, str) else value[:5000]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, numbers.Real):
        return _num(value)
    if is_undecided(value):
        return {"undecided": value.reason}
    if isinstance(value, Estimate):
        return {"value": summarize(value.value, depth + 1), "ci": summarize(list(value.ci), depth + 1),
                "label": value.label}
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        pd = None
    if pd is not None and isinstance(value, pd.DataFrame):
        head = value.head(10).reset_index(drop=value.index.name is None and isinstance(value.index, pd.RangeIndex))
        return {"kind": "table", "shape": list(value.shape), "columns": [str(c) for c in value.columns],
                "head": summarize(head.to_dict(orient="records"), depth + 1)}
    if pd is not None and isinstance(value, pd.Series):
        return {"kind": "series", "name": None if value.name is None else str(value.name), "length": len(value),
                "head": {str(k): summarize(v, depth + 1) for k, v in value.head(20).items()}}
    if isinstance(value, np.ndarray):
        if value.size <= max_items:
            return summarize(value.tolist(), depth + 1)
        return {"kind": "array", "shape": list(value.shape), "dtype": str(value.dtype),
                "head": summarize(value.ravel()[:10].tolist(), depth + 1)}
    if isinstance(value, dict):
        items = list(value.items())
        out = {str(k): summarize(v, depth + 1) for k, v in items[:max_items]}
        if len(items) > max_items:
            out["..."] = f"{len(items) - max_items} more"
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
        out = [summarize(v, depth + 1) for v in items[:max_items]]
        if len(items) > max_items:
            out.append(f"... {len(items) - max_items} more")
        return out
    kind = type(value).__name__
    if kind == "Leaderboard" and hasattr(value, "main_rows"):
        return {"kind": "leaderboard", "corpus": value.corpus_source, "num_eval_samples": value.num_eval_samples,
                "rows": [_row_summary(r) for r in value.main_rows()]}
    if kind == "LeaderboardRow":
        return _row_summary(value)
    if kind == "Corpus" and hasattr(value, "run_specs"):
        return {"kind": "corpus", "source": value.source, "runs": len(value.run_specs),
                "models": int(value.run_specs["run_spec.adapter_spec.model"].nunique())}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"kind": kind, **summarize({f.name: getattr(value, f.name) for f in dataclasses.fields(value)},
                                          depth + 1)}
    if isinstance(value, Path):
        return str(value)
    return {"kind": kind, "repr": repr(value)[:500]}


def _row_summary(r) -> dict:
    mbe = r.mbe or {}
    return summarize({
        "predictor": r.predictor, "split": r.split, "stat": r.stat, "n": r.n, "n_models": r.n_models,
        "mae": r.mae, "mae_ci": r.mae_ci, "noise_floor": r.noise_floor, "revealed_mean_mae": r.revealed_mean_mae,
        "gain_share": r.gain_share, "spearman": r.spearman, "spearman_ci": r.spearman_ci,
        "mbe": {k: mbe.get(k) for k in ("verdict", "partial_r", "partial_p", "ci95", "reason")},
    }, 1)


def _short(value, limit: int = 60) -> str:
    """A short human rendering of a value for reasons."""
    if is_undecided(value):
        return "Undecided"
    if isinstance(value, Estimate):
        return f"{_short(value.value)} [{_short(value.ci[0])}, {_short(value.ci[1])}]"
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return f"{float(value):.4g}"
    if isinstance(value, (tuple, list)) and len(value) <= 4 and all(isinstance(v, numbers.Real) for v in value):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    if isinstance(value, str):
        return repr(value) if len(value) <= limit else repr(value[:limit]) + "..."
    kind = type(value).__name__
    if hasattr(value, "shape"):
        return f"<{kind} {'x'.join(map(str, value.shape))}>"
    return f"<{kind}>"


# ---------------------------------------------------------------- types


class SymbolTypeError(TypeError):
    """A symbol's value does not have the declared type."""


def check_type(name: str, type_: str, value):
    """Check (and lightly normalise) a symbol value against its declared ``type``.

    Raises :class:`MissingData` for NaN numbers/intervals and empty tables, and
    :class:`SymbolTypeError` for a wrong type. Undecided is allowed for ``boolean`` and ``any``.
    """
    import numpy as np

    def bad(what):
        return SymbolTypeError(f"symbol {name!r} is declared {type_} but its value is {what} {_short(value)}")

    if type_ == "any":
        return value
    if is_undecided(value):
        if type_ == "boolean":
            return value
        raise bad("Undecided")
    if value is None and type_ in ("number", "integer", "interval", "estimate", "table", "leaderboard"):
        raise MissingData(f"symbol {name!r} ({type_}) is None")
    if type_ in ("number", "integer"):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise bad(f"a {type(value).__name__}")
        if type_ == "integer" and not isinstance(value, numbers.Integral):
            if math.isfinite(float(value)) and float(value).is_integer():
                return int(value)
            raise bad(f"a {type(value).__name__}")
        if math.isnan(float(value)):
            raise MissingData(f"symbol {name!r} is NaN")
        return value
    if type_ == "boolean":
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise bad(f"a {type(value).__name__}")
    if type_ == "string":
        if isinstance(value, str):
            return value
        raise bad(f"a {type(value).__name__}")
    if type_ == "interval":
        if isinstance(value, Estimate):
            value = value.ci
        try:
            lo, hi = (float(x) for x in value)
        except (TypeError, ValueError):
            raise bad(f"a {type(value).__name__}") from None
        if math.isnan(lo) or math.isnan(hi):
            raise MissingData(f"interval {name!r} is not available ({_short([lo, hi])})")
        if lo > hi:
            raise SymbolTypeError(f"interval {name!r} has low {lo} > high {hi}")
        return (lo, hi)
    if type_ == "estimate":
        if not isinstance(value, Estimate):
            try:
                v, ci = value
                value = Estimate(float(v), tuple(float(x) for x in ci), name)
            except (TypeError, ValueError):
                raise bad(f"a {type(value).__name__}") from None
        if value.label is None:
            value = value._replace(label=name)
        if math.isnan(float(value.value)) or any(math.isnan(float(x)) for x in value.ci):
            raise MissingData(f"estimate {name!r} is not available ({_short(value)})")
        return value
    if type_ == "table":
        import pandas as pd

        if not isinstance(value, (pd.DataFrame, pd.Series)):
            raise bad(f"a {type(value).__name__}")
        if len(value) == 0:
            raise MissingData(f"table {name!r} is empty")
        return value
    if type_ == "leaderboard":

        if not isinstance(value, Leaderboard):
            raise bad(f"a {type(value).__name__}")
        if not value.main_rows():
            raise MissingData(f"leaderboard {name!r} has no rows")
        return value
    if type_ == "list":
        if isinstance(value, (list, tuple)):
            return value
        raise bad(f"a {type(value).__name__}")
    if type_ == "mapping":
        if isinstance(value, dict):
            return value
        raise bad(f"a {type(value).__name__}")
    raise SymbolTypeError(f"unknown type {type_!r}")


def check_symbol(card: Card, sym, value):
    """Check ``value`` against ``sym``'s declared type: magnet's types, or Python type names (MAGNET form)."""
    if card.form != "assert":
        return check_type(sym.name, sym.type, value)
    if sym.pytype is None:
        return value
    problem = check_value(sym.pytype, value)
    if problem:
        raise SymbolTypeError(f"symbol {sym.name!r} is declared {sym.type} but {problem}")
    return value


# ---------------------------------------------------------------- evaluation of one cell


class _KleeneRewrite(ast.NodeTransformer):
    """``a and b`` -> ``__kleene_and__(lambda: a, lambda: b)``; ``or`` likewise; ``not a`` -> ``__kleene_not__(a)``."""

    @staticmethod
    def _thunk(expr: ast.expr) -> ast.Lambda:
        args = ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
                             defaults=[])
        return ast.Lambda(args=args, body=expr)

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        fn = "__kleene_and__" if isinstance(node.op, ast.And) else "__kleene_or__"
        call = ast.Call(func=ast.Name(fn, ast.Load()), args=[self._thunk(v) for v in node.values], keywords=[])
        return ast.copy_location(call, node)

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            return ast.copy_location(ast.Call(func=ast.Name("__kleene_not__", ast.Load()), args=[node.operand],
                                              keywords=[]), node)
        return node


def _claim_code(card: Card):
    tree = ast.parse(card.claim, filename=card.file, mode="eval")
    ast.increment_lineno(tree, card.claim_line - 1)
    tree = ast.fix_missing_locations(_KleeneRewrite().visit(tree))
    return compile(tree, card.file, "eval")


class _NoValue(Exception):
    pass


def _run_python(sym, card: Card, ns: dict, definitions: dict | None = None):
    tree = ast.parse(sym.python, filename=card.file)
    ast.increment_lineno(tree, sym.code_line - 1)
    if card.form == "assert":
        # MAGNET's rule: the code assigns the variable named like the symbol
        g = dict(ns)
        g["__name__"] = f"card_{card.stem}_{sym.name}"
        exec(compile(tree, card.file, "exec"), g)
        if definitions is not None:
            definitions[sym.name] = {k: v for k, v in g.items() if not k.startswith("__") and
                                     (k not in ns or g[k] is not ns[k])}
        if sym.name not in g:
            raise _NoValue(f"the python code of symbol {sym.name!r} did not assign {sym.name!r}")
        return g[sym.name]
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    g = dict(ns)
    g["__name__"] = f"card_{card.stem}_{sym.name}"
    exec(compile(tree, card.file, "exec"), g)
    if last is not None:
        return eval(compile(ast.Expression(last.value), card.file, "eval"), g)
    if sym.name in g:
        return g[sym.name]
    if "value" in g and g["value"] is not ns.get("value", _NoValue):
        return g["value"]
    raise _NoValue(f"the python code of symbol {sym.name!r} gives no value: end it with an expression, "
                   f"or assign `{sym.name}` or `value`")


def resolve_ref(ref: str):
    """The object named by ``package.module:attr.attr``."""
    module, _, attr = ref.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _subst(arg, values: dict, inputs: dict):
    if isinstance(arg, str) and arg.startswith("$"):
        if arg.startswith("$$"):
            return arg[1:]
        name, *attrs = arg[1:].split(".")
        obj = inputs if name == "inputs" else values[name]
        for a in attrs:
            obj = obj[a] if isinstance(obj, dict) else getattr(obj, a)
        return obj
    if isinstance(arg, dict):
        return {k: _subst(v, values, inputs) for k, v in arg.items()}
    if isinstance(arg, list):
        return [_subst(v, values, inputs) for v in arg]
    return arg


def _run_ref(sym, values: dict, inputs: dict):
    obj = resolve_ref(sym.ref)
    args = _subst(sym.args, values, inputs)
    if args is None:
        return obj() if callable(obj) else obj
    if isinstance(args, dict):
        return obj(**args)
    return obj(*args)


def _where(card: Card, exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == card.file]
    return f" ({Path(card.file).name}:{frames[-1].lineno})" if frames else ""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"the card code called sys.exit({exc.code!r})"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _cause_of(exc: BaseException) -> str:
    if isinstance(exc, MissingData):
        return "missing-data"
    if isinstance(exc, UndecidedError):
        return "undecided"
    return "error"


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def evaluate_card(card: Card, cell: Cell | None = None, out_dir: str | os.PathLike | None = None,
                  progress: Callable[[dict], None] | None = None) -> Verdict:
    """Evaluate one card (one sweep ``cell``) in this process; write ``verdict.json`` to ``out_dir`` if given.

    Symbols are evaluated in dependency order; a symbol whose dependency failed
    is skipped. Card code runs here, unsandboxed: use :func:`run_cards` for
    isolation and time limits. ``progress`` receives ``{"symbol", "event"}`` dicts.
    """
    started, t0 = _now(), time.perf_counter()
    inputs = card.resolved_inputs(cell)
    overrides = {k: v for k, v in (cell.values.items() if cell else ()) if k in card.symbols}
    ctx = Context(inputs, card.tolerance, card.path.parent.resolve() if card.path else None)
    base = ctx.namespace()
    values: dict[str, Any] = {}
    results: dict[str, SymbolResult] = {}
    first_failure: tuple[str, str] | None = None  # (cause, reason)
    note = progress or (lambda event: None)

    definitions: dict[str, dict] = {}  # MAGNET form: what each python symbol's code defined (imports, functions)
    for name in card.order:
        sym = card.symbols[name]
        failed = [d for d in sym.deps if d not in values]
        if name in overrides:
            try:
                values[name] = check_symbol(card, sym, overrides[name])
                results[name] = SymbolResult(name, sym.type, "override", values[name])
            except Exception as e:  # noqa: BLE001 - a wrong sweep value is this cell's failure
                results[name] = SymbolResult(name, sym.type, _cause_of(e), error=_describe(e))
                first_failure = first_failure or (_cause_of(e), f"sweep value of {name!r}: {_describe(e)}")
            continue
        if failed:
            results[name] = SymbolResult(name, sym.type, "skipped", error=f"needs {', '.join(failed)}")
            continue
        note({"symbol": name, "event": "start"})
        s0 = time.perf_counter()
        try:
            if sym.kind == "python":
                ns = dict(base)
                if card.form == "assert":
                    for d in sym.depends_on:
                        ns.update(definitions.get(d, {}))
                ns.update({d: values[d] for d in sym.deps})
                value = _run_python(sym, card, ns, definitions)
            elif sym.kind == "ref":
                value = _run_ref(sym, values, inputs)
            elif sym.kind == "sweep":
                raise ValueError(f"symbol {name!r} is swept: evaluate one setting (a cell) of the card")
            else:
                value = sym.value
            values[name] = check_symbol(card, sym, value)
            results[name] = SymbolResult(name, sym.type, "ok", values[name], time.perf_counter() - s0)
        except (Exception, SystemExit) as e:  # noqa: BLE001 - any failure of card code is recorded, not raised
            cause = _cause_of(e)
            if isinstance(e, MissingData):
                reason = f"missing data in symbol {name!r}: {e}"
            elif isinstance(e, UndecidedError):
                reason = f"symbol {name!r} undecided: {e}"
            else:
                reason = f"symbol {name!r} failed: {_describe(e)}{_where(card, e)}"
            tb = "".join(traceback.format_exception(type(e), e, e.__traceback__))
            results[name] = SymbolResult(name, sym.type, cause, seconds=time.perf_counter() - s0,
                                         error=reason, traceback=tb[-4000:])
            first_failure = first_failure or (cause, reason)
        note({"symbol": name, "event": "end", "status": results[name].status,
              "seconds": round(results[name].seconds, 3)})

    claim_value = None
    if first_failure:
        cause, reason = first_failure
        verdict = "INCONCLUSIVE"
    elif card.form == "assert":
        note({"symbol": "(claim)", "event": "start"})
        verdict, cause, reason = _run_claim_code(card, base, values)
    else:
        note({"symbol": "(claim)", "event": "start"})
        ns = dict(base)
        ns.update(values)
        ns.update({"__kleene_and__": _kleene_and, "__kleene_or__": _kleene_or, "__kleene_not__": not_})
        try:
            claim_value = eval(_claim_code(card), ns)
            verdict, cause, reason = _judge(card, claim_value, values)
        except (Exception, SystemExit) as e:  # noqa: BLE001
            verdict, cause = "INCONCLUSIVE", _cause_of(e)
            prefix = {"missing-data": "missing data in the claim", "undecided": "claim undecided"}.get(cause, "claim failed")
            reason = f"{prefix}: {e if cause != 'error' else _describe(e)}{_where(card, e) if cause == 'error' else ''}"
    v = Verdict(verdict=verdict, reason=reason, cause=cause, card_path=card.file, title=card.title,
                sha256=card.sha256, expected=card.expected, claim=card.claim, inputs=inputs, cell=cell,
                claim_value=claim_value, symbols=results, started=started, seconds=time.perf_counter() - t0)
    if out_dir is not None:
        v.write(out_dir)
        write_reprs(out_dir, {n: r.value for n, r in results.items() if r.status in ("ok", "override")})
    return v


def write_reprs(out_dir, values: dict, limit: int = 2000) -> Path:
    """``reprs.json`` next to ``verdict.json``: each evaluated symbol's ``repr`` (cut at ``limit`` characters).

    verdict.json holds JSON-safe summaries; this keeps the Python rendering that
    :meth:`magnet.evaluation.evaluation_card.EvaluationCard.summarize` prints.
    """
    out = {}
    for name, value in values.items():
        try:
            text = repr(value)
        except Exception as e:  # noqa: BLE001 - a broken __repr__ must not lose the verdict
            text = f"<{type(value).__name__}: repr failed: {e}>"
        out[name] = text if len(text) <= limit else text[:limit - 3] + "..."
    path = Path(out_dir) / "reprs.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    return path


def _run_claim_code(card: Card, base: dict, values: dict) -> tuple[str, str, str]:
    """MAGNET form: run ``claim.python``; it finishing is VERIFIED, an AssertionError FALSIFIED, else INCONCLUSIVE."""
    tree = ast.parse(card.claim, filename=card.file)
    ast.increment_lineno(tree, card.claim_line - 1)
    ns = dict(base)
    ns.update(values)
    ns["__name__"] = f"card_{card.stem}_claim"
    try:
        exec(compile(tree, card.file, "exec"), ns)
    except AssertionError as e:
        message = str(e)
        if not message:
            frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == card.file]
            lines = card.text.splitlines()
            lineno = frames[-1].lineno if frames else 0
            source = lines[lineno - 1].strip() if 0 < lineno <= len(lines) else "assert"
            message = source + _where(card, e)
        return "FALSIFIED", "claim", f"Assertion does not hold: {message}"
    except (Exception, SystemExit) as e:  # noqa: BLE001 - any failure of the claim code is INCONCLUSIVE
        cause = _cause_of(e)
        if cause == "missing-data":
            return "INCONCLUSIVE", cause, f"missing data in the claim: {e}"
        if cause == "undecided":
            return "INCONCLUSIVE", cause, f"claim undecided: {e}"
        prefix = "SymbolNotResolved" if isinstance(e, NameError) else "ERROR evaluating claim"
        return "INCONCLUSIVE", cause, f"{prefix}: {_describe(e)}{_where(card, e)}"
    evidence = _evidence(card.claim, values, mode="exec")
    return "VERIFIED", "claim", "Assertion holds" + (f": {evidence}" if evidence else "")


def _evidence(claim: str, values: dict, mode: str = "eval") -> str:
    """``name = value; ...`` for the symbols the claim reads, in order of first use (cut at 240 characters)."""
    first: dict[str, tuple] = {}
    for n in ast.walk(ast.parse(claim, mode=mode)):
        if isinstance(n, ast.Name) and n.id in values:
            first[n.id] = min(first.get(n.id, (n.lineno, n.col_offset)), (n.lineno, n.col_offset))
    evidence = [f"{n} = {_short(values[n])}" for n in sorted(first, key=first.get)
                if not _short(values[n]).startswith("<")]
    text = "; ".join(evidence)
    return text if len(text) <= 240 else text[:237] + "..."


#: MAGNET's ``claim_aggregation_strategy`` types.
AGGREGATIONS = ("all", "any", "fraction")


def aggregate_verdicts(verdicts: list[str], strategy: dict | None = None) -> tuple[str, str]:
    """The card's verdict from its settings' verdicts, and why (``claim_aggregation_strategy``).

    * ``all`` (default): FALSIFIED if a setting is, else INCONCLUSIVE if one is, else VERIFIED;
    * ``any``: VERIFIED if a setting is, else INCONCLUSIVE if one is, else FALSIFIED;
    * ``fraction`` (``parameters.threshold`` t): VERIFIED when verified/n >= t; FALSIFIED when even
      counting every INCONCLUSIVE setting as verified stays below t; otherwise INCONCLUSIVE (MAGNET
      says FALSIFIED there; the undecided settings could still make the fraction).

    No settings: INCONCLUSIVE.

    Example:
        >>> aggregate_verdicts(["VERIFIED", "FALSIFIED", "VERIFIED"], {"type": "fraction",
        ...                    "parameters": {"threshold": 0.6}})
        ('VERIFIED', 'fraction: 2 of 3 settings VERIFIED (0.667 >= 0.6)')
        >>> aggregate_verdicts(["VERIFIED", "INCONCLUSIVE"])
        ('INCONCLUSIVE', 'all: 1 of 2 settings INCONCLUSIVE, none FALSIFIED')
    """
    strategy = dict(strategy or {"type": "all"})
    kind = strategy.get("type", "all")
    n = len(verdicts)
    v, f, i = (verdicts.count(x) for x in ("VERIFIED", "FALSIFIED", "INCONCLUSIVE"))
    if n == 0:
        return "INCONCLUSIVE", f"{kind}: no settings were evaluated"
    if kind == "all":
        if f:
            return "FALSIFIED", f"all: {f} of {n} settings FALSIFIED"
        if i:
            return "INCONCLUSIVE", f"all: {i} of {n} settings INCONCLUSIVE, none FALSIFIED"
        return "VERIFIED", f"all: {n} of {n} settings VERIFIED"
    if kind == "any":
        if v:
            return "VERIFIED", f"any: {v} of {n} settings VERIFIED"
        if i:
            return "INCONCLUSIVE", f"any: none of {n} settings VERIFIED, {i} INCONCLUSIVE"
        return "FALSIFIED", f"any: none of {n} settings VERIFIED"
    if kind == "fraction":
        t = (strategy.get("parameters") or {}).get("threshold")
        if t is None:
            raise ValueError("claim_aggregation_strategy type fraction needs parameters.threshold")
        t = float(t)
        if v / n >= t:
            return "VERIFIED", f"fraction: {v} of {n} settings VERIFIED ({v / n:.3g} >= {t:g})"
        if (v + i) / n < t:
            return "FALSIFIED", f"fraction: {v} of {n} settings VERIFIED ({v / n:.3g} < {t:g})"
        return "INCONCLUSIVE", (f"fraction: {v} of {n} settings VERIFIED ({v / n:.3g} < {t:g}), but {i} INCONCLUSIVE "
                                f"could reach it")
    raise ValueError(f"unknown claim_aggregation_strategy type {kind!r}; expected one of {', '.join(AGGREGATIONS)}")


def _judge(card: Card, value, values: dict) -> tuple[str, str, str]:
    import numpy as np

    if is_undecided(value):
        return "INCONCLUSIVE", "undecided", f"claim undecided: {value.reason}"
    if not isinstance(value, (bool, np.bool_)):
        return "INCONCLUSIVE", "error", f"the claim gave {_short(value)} ({type(value).__name__}), not True or False"
    text = _evidence(card.claim, values)
    if bool(value):
        return "VERIFIED", "claim", "claim holds" + (f": {text}" if text else "")
    return "FALSIFIED", "claim", "claim is false" + (f": {text}" if text else "")


# ---------------------------------------------------------------- many cards, cells in worker subprocesses


@dataclass
class CellResult:
    """The summary of one evaluated cell, as :func:`run_cards` returns it."""

    card: Card
    cell: Cell | None
    verdict: str
    reason: str
    cause: str
    seconds: float
    out_dir: Path

    @property
    def expected(self) -> str | None:
        """The card's ``expected`` verdict; None for a setting of a MAGNET-form sweep (``expected`` is the card's)."""
        if self.card.form == "assert" and self.cell is not None:
            return None
        return self.card.expected

    @property
    def as_expected(self) -> bool:
        return self.expected is None or self.expected == self.verdict

    def to_json(self) -> dict:
        return {"card": self.card.file, "cell": self.cell.name if self.cell else None, "verdict": self.verdict,
                "reason": self.reason, "cause": self.cause, "seconds": round(self.seconds, 3),
                "expected": self.expected, "verdict_json": str(self.out_dir / "verdict.json")}


@dataclass
class CardResult:
    """A MAGNET-form card's verdict over its settings (``claim_aggregation_strategy``); see :func:`card_results`."""

    card: Card
    verdict: str
    reason: str
    cells: list[CellResult]
    out_dir: Path

    @property
    def expected(self) -> str | None:
        return self.card.expected

    @property
    def as_expected(self) -> bool:
        return self.expected is None or self.expected == self.verdict

    def to_json(self) -> dict:
        counts = {v: sum(c.verdict == v for c in self.cells) for v in ("VERIFIED", "FALSIFIED", "INCONCLUSIVE")}
        return {"schema_version": SCHEMA_VERSION, "card": self.card.file, "title": self.card.title,
                "claim_aggregation_strategy": self.card.aggregation, "verdict": self.verdict, "reason": self.reason,
                "expected": self.expected, "settings": len(self.cells), "counts": counts,
                "cells": [{"cell": c.cell.name if c.cell else None,
                           "values": summarize(c.cell.values) if c.cell else None,
                           "verdict": c.verdict, "reason": c.reason,
                           "verdict_json": str(c.out_dir / "verdict.json")} for c in self.cells]}


def card_results(results: list[CellResult]) -> list[CardResult]:
    """One :class:`CardResult` per MAGNET-form card with a sweep among ``results`` (its cells' verdicts aggregated)."""
    groups: dict[int, list[CellResult]] = {}
    for r in results:
        if r.card.form == "assert" and r.cell is not None:
            groups.setdefault(id(r.card), []).append(r)
    out = []
    for cells in groups.values():
        card = cells[0].card
        verdict, reason = aggregate_verdicts([c.verdict for c in cells], card.aggregation)
        out.append(CardResult(card, verdict, reason, cells, cells[0].out_dir.parent))
    return out


def out_dirs(cards: list[Card], out: str | os.PathLike) -> dict[int, Path]:
    """``<out>/<card stem>`` per card (the stem plus a hash prefix when two cards share a stem)."""
    stems = [c.stem for c in cards]
    return {i: Path(out) / (c.stem if stems.count(c.stem) == 1 else f"{c.stem}-{c.sha256[:8]}")
            for i, c in enumerate(cards)}


_ACTIVE: set = set()
_ACTIVE_LOCK = threading.Lock()


def _kill(proc: subprocess.Popen) -> None:
    """Kill the worker and anything it started (its own session / process group)."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - not POSIX
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass


def _progress_state(path: Path) -> tuple[dict, str | None]:
    """Symbols finished (name -> end event) and the one running, from a worker's progress.jsonl."""
    done, running = {}, None
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return done, running
    for line in lines:
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if ev.get("event") == "start":
            running = ev.get("symbol")
        elif ev.get("event") == "end":
            done[ev.get("symbol")] = ev
            running = None
    return done, running


def _log_tail(path: Path, n: int = 3) -> str:
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    lines = [ln for ln in lines if not ln.startswith(("File ", "Current thread", "Thread 0x", "<no Python frame>"))]
    return " | ".join(lines[-n:])[:300]


def _run_worker(cmd: list[str], log_path: Path, limit: float) -> int | None:
    """Run a worker in its own session, output to ``log_path``; its exit code, or None when killed at ``limit``."""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONFAULTHANDLER="1", PYTHONUNBUFFERED="1")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True)
        with _ACTIVE_LOCK:
            _ACTIVE.add(proc)
        try:
            return proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            _kill(proc)
            proc.wait()
            return None
        finally:
            with _ACTIVE_LOCK:
                _ACTIVE.discard(proc)


def run_cell(card: Card, cell: Cell | None, out_dir: Path, timeout: float | None = None,
             python: str | None = None) -> CellResult:
    """Evaluate one cell in a ``python -m magnet.evaluation.worker`` subprocess with a time limit.

    A timeout kills the worker's whole process group. A worker that dies without
    writing ``verdict.json`` gives INCONCLUSIVE (cause ``crash``) with its exit code or
    signal; either way this function writes the verdict.json.
    """
    if card.path is None:
        raise ValueError("run_cell needs a card loaded from a file")
    limit = timeout if timeout is not None else (card.timeout or DEFAULT_TIMEOUT)
    out_dir.mkdir(parents=True, exist_ok=True)
    verdict_path, progress_path, log_path = (out_dir / n for n in ("verdict.json", "progress.jsonl", "log.txt"))
    for p in (verdict_path, progress_path):
        p.unlink(missing_ok=True)
    cmd = [python or sys.executable, "-m", "magnet.evaluation.worker", str(card.path), "--out", str(out_dir)]
    if cell is not None:
        cmd += ["--cell", str(cell.index)]
    if card.lenient:
        cmd += ["--lenient"]
    started, t0 = _now(), time.perf_counter()
    rc = _run_worker(cmd, log_path, limit)
    return _cell_result(card, cell, out_dir, rc, started, time.perf_counter() - t0, limit)


def _cell_result(card: Card, cell: Cell | None, out_dir: Path, rc: int | None, started: str, wall: float,
                 limit: float) -> CellResult:
    """The result of a worker that evaluated ``cell`` into ``out_dir`` and ended with ``rc`` (None: killed at ``limit``).

    With ``rc == 0`` and a ``verdict.json``, that verdict (its timing completed);
    otherwise INCONCLUSIVE (cause ``timeout`` or ``crash``), written to ``out_dir``, naming
    the symbol that was running (from ``progress.jsonl``) and the tail of ``log.txt``.
    """
    verdict_path, progress_path, log_path = (out_dir / n for n in ("verdict.json", "progress.jsonl", "log.txt"))
    doc = None
    if rc == 0 and verdict_path.is_file():
        try:
            doc = json.loads(verdict_path.read_text())
        except ValueError:
            doc = None
    if doc is not None:
        doc["timing"]["wall_seconds"] = round(wall, 3)
        doc["timing"]["limit_seconds"] = limit
        verdict_path.write_text(json.dumps(doc, indent=2) + "\n")
        return CellResult(card, cell, doc["verdict"], doc["reason"], doc["cause"], wall, out_dir)
    done, running = _progress_state(progress_path)
    during = f" while evaluating {'the claim' if running == '(claim)' else repr(running)}" if running else ""
    if rc is None:
        cause, reason = "timeout", f"timed out after {limit:g} s{during} (process killed)"
    elif rc < 0:
        try:
            sig = signal.Signals(-rc).name
        except ValueError:
            sig = f"signal {-rc}"
        cause, reason = "crash", f"the evaluation process was killed by {sig}{during}"
    else:
        cause, reason = "crash", f"the evaluation process exited with code {rc}{during} without a verdict"
    tail = _log_tail(log_path)
    if tail and cause == "crash":
        reason += f"; log: {tail}"
    symbols = {name: SymbolResult(name, card.symbols[name].type if name in card.symbols else "any",
                                  ev.get("status", "?"), seconds=ev.get("seconds", 0.0))
               for name, ev in done.items() if name in card.symbols}
    if running in card.symbols:
        symbols[running] = SymbolResult(running, card.symbols[running].type, cause, error=reason)
    v = Verdict(verdict="INCONCLUSIVE", reason=reason, cause=cause, card_path=card.file, title=card.title,
                sha256=card.sha256, expected=card.expected, claim=card.claim, inputs=card.resolved_inputs(cell),
                cell=cell, symbols=symbols, started=started, seconds=wall, wall_seconds=wall, limit_seconds=limit)
    v.write(out_dir)
    return CellResult(card, cell, v.verdict, v.reason, v.cause, wall, out_dir)


def run_settings(card: Card, out_dir: Path, timeout: float | None = None,
                 python: str | None = None) -> list[CellResult]:
    """Evaluate every cell of ``card``, each into ``out_dir/<cell dirname>``, in one worker session (:func:`run_cells`).

    For a pipeline card's settings (:mod:`magnet.evaluation.pipeline_cards`): the
    pipeline's steps already ran in their own processes and each setting's claim is cheap.
    """
    cells = card.cells()
    return run_cells(card, cells, [out_dir / c.dirname for c in cells], timeout=timeout, python=python)


class _Session:
    """One ``python -m magnet.evaluation.worker CARD --serve R W`` process evaluating cells in turn."""

    def __init__(self, card: Card, first_log: Path, python: str | None):
        cmd_r, self._cmd_w = os.pipe()
        self._ack_r, ack_w = os.pipe()
        cmd = [python or sys.executable, "-m", "magnet.evaluation.worker", str(card.path), "--out", os.devnull,
               "--serve", str(cmd_r), str(ack_w)] + (["--lenient"] if card.lenient else [])
        env = dict(os.environ, MPLBACKEND="Agg", PYTHONFAULTHANDLER="1", PYTHONUNBUFFERED="1")
        with open(first_log, "ab") as log:  # start-up output (an import error) goes to the first cell's log
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=env, start_new_session=True, pass_fds=(cmd_r, ack_w))
        os.close(cmd_r)
        os.close(ack_w)
        with _ACTIVE_LOCK:
            _ACTIVE.add(self.proc)
        self._buffer = b""

    def evaluate(self, cell: Cell | None, out_dir: Path, deadline: float) -> int | None:
        """Ask for ``cell``; 0 when it is done, the exit code when the worker died, None when killed at ``deadline``."""
        try:
            os.write(self._cmd_w, (json.dumps({"cell": cell.index if cell else None, "out": str(out_dir)})
                                   + "\n").encode())
        except BrokenPipeError:
            return self._wait(deadline)
        while b"\n" not in self._buffer:
            remaining = deadline - time.perf_counter()
            if remaining <= 0 or not select.select([self._ack_r], [], [], remaining)[0]:
                self.close(kill=True)
                return None
            chunk = os.read(self._ack_r, 4096)
            if not chunk:  # the worker died (os._exit, a signal, a card it cannot load)
                return self._wait(deadline)
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return 0 if line == b"done" else self._wait(deadline)

    def _wait(self, deadline: float) -> int | None:
        try:
            rc = self.proc.wait(timeout=max(0.1, deadline - time.perf_counter()))
        except subprocess.TimeoutExpired:
            self.close(kill=True)
            return None
        self.close()
        return rc

    def close(self, kill: bool = False) -> None:
        """End the worker: its requests closed (it exits), or killed with its process group."""
        for fd in (self._cmd_w, self._ack_r):
            try:
                os.close(fd)
            except OSError:
                pass
        if kill:
            _kill(self.proc)
        try:
            self.proc.wait(timeout=None if kill else 30)
        except subprocess.TimeoutExpired:
            _kill(self.proc)
            self.proc.wait()
        with _ACTIVE_LOCK:
            _ACTIVE.discard(self.proc)


def run_cells(card: Card, cells: list[Cell | None], out_dirs_: list[Path], timeout: float | None = None,
              python: str | None = None, on_result: Callable[[CellResult], None] | None = None) -> list[CellResult]:
    """Evaluate ``cells`` of ``card`` in turn in one worker subprocess, each with its own time limit.

    The results are those of :func:`run_cell` per cell (same verdicts, symbols and
    ``verdict.json``), without an interpreter start per cell. The limit (``timeout``,
    else the card's, else 600 s) applies to each cell, the first one including the
    worker's start. A cell whose worker crashes or times out is INCONCLUSIVE with the
    reason (the worker's whole process group is killed at a timeout), and the cells
    after it go on in a fresh worker. Card code of one cell can leave state (module
    globals, caches) behind for the next cells of the same card; use :func:`run_cell`
    where that matters.

    Example:
        >>> import tempfile, textwrap
        >>> from pathlib import Path
        >>> from magnet.evaluation import load_card
        >>> tmp = Path(tempfile.mkdtemp())
        >>> _ = (tmp / "c.yaml").write_text(textwrap.dedent('''
        ...     title: sweep
        ...     description: two cells
        ...     sweep: {threshold: [1, 10]}
        ...     symbols:
        ...       threshold: {type: number, value: 0}
        ...     claim: 5 < threshold
        ...     '''))
        >>> card = load_card(tmp / "c.yaml")
        >>> cells = card.cells()
        >>> [r.verdict for r in run_cells(card, cells, [tmp / c.dirname for c in cells])]
        ['FALSIFIED', 'VERIFIED']
    """
    if card.path is None:
        raise ValueError("run_cells needs a card loaded from a file")
    limit = timeout if timeout is not None else (card.timeout or DEFAULT_TIMEOUT)
    results, session = [], None
    try:
        for cell, out_dir in zip(cells, out_dirs_):
            out_dir.mkdir(parents=True, exist_ok=True)
            for name in ("verdict.json", "progress.jsonl"):
                (out_dir / name).unlink(missing_ok=True)
            (out_dir / "log.txt").write_bytes(b"")
            started, t0 = _now(), time.perf_counter()
            if session is None:
                session = _Session(card, out_dir / "log.txt", python)
            rc = session.evaluate(cell, out_dir, t0 + limit)
            if rc != 0:
                session = None  # it is dead (or killed): the next cell gets a fresh worker
            result = _cell_result(card, cell, out_dir, rc, started, time.perf_counter() - t0, limit)
            results.append(result)
            if on_result:
                on_result(result)
    finally:
        if session is not None:
            session.close(kill=sys.exc_info()[0] is not None)
    return results


def _ray_cell(card, cell, out_dir, timeout):
    return run_cell(card, cell, out_dir, timeout=timeout)


def run_cards(cards: list[Card], out: str | os.PathLike = "cards_out", timeout: float | None = None, jobs: int = 1,
              on_result: Callable[[CellResult], None] | None = None, backend: str = "local",
              ray_address: str | None = None) -> list[CellResult]:
    """Evaluate every cell of every card in worker subprocesses (:func:`run_cells`), ``jobs`` at a time.

    ``timeout`` (seconds per cell) overrides the cards' own ``timeout`` (default
    600). Results come back in card/cell order; ``on_result`` is called as each
    cell finishes. Writes ``<out>/summary.json`` too, and for a MAGNET-form card
    with swept symbols ``<out>/<card stem>/card_verdict.json``: the settings'
    verdicts aggregated by its ``claim_aggregation_strategy`` (:func:`card_results`). With ``backend="ray"`` each
    cell's subprocess runs inside a Ray task (see :mod:`magnet.protocol.execution`; card
    files and ``out`` must be on storage the workers share), all cells at once.
    """
    dirs = out_dirs(cards, out)
    failed: dict[int, CellResult] = {}
    expanded = []
    for i, card in enumerate(cards):  # pipeline cards: run the pipeline, evaluate one setting per run
        try:
            expanded.append(expand(card, dirs[i], timeout=timeout if timeout is not None else card.timeout, jobs=jobs))
        except (PipelineError, CardError, OSError) as e:
            failed[i] = _pipeline_failure(card, dirs[i], e)
            expanded.append(card)
    cards = expanded
    if backend not in ("local", "ray"):
        raise ValueError(f"unknown backend {backend!r}; expected 'local' or 'ray'")
    tasks = []
    for i, card in enumerate(cards):
        if i in failed:
            continue
        cells = card.cells()
        cell_dirs = [dirs[i] if cell is None else dirs[i] / cell.dirname for cell in cells]
        if backend == "ray":
            tasks += [(i, card, [cell], [d]) for cell, d in zip(cells, cell_dirs)]
        else:  # the cells of a card in turn in one worker (run_cells), up to `jobs` workers per card
            k = max(1, min(int(jobs), len(cells)))
            tasks += [(i, card, cells[j::k], cell_dirs[j::k]) for j in range(k)]
    lock = threading.Lock()
    remote = None
    if backend == "ray":
        ray = ensure_ray(ray_address)
        remote = ray.remote(max_retries=1)(_ray_cell)
        jobs = max(jobs, len(tasks))  # threads only wait on Ray; Ray schedules the cells

    def report(result: CellResult) -> None:
        if on_result:
            with lock:
                on_result(result)

    def one(task):
        i, card, cells, cell_dirs = task
        if remote is not None:  # a Ray result's card is a copy: the results are ordered by the task's card index
            result = ray.get(remote.remote(card, cells[0], cell_dirs[0], timeout))
            report(result)
            return [(i, result)]
        return [(i, r) for r in run_cells(card, cells, cell_dirs, timeout=timeout, on_result=report)]

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, int(jobs)))
    futures: list = []
    try:
        futures = [pool.submit(one, t) for t in tasks]
        indexed = [x for f in futures for x in f.result()] + list(failed.items())
        indexed.sort(key=lambda x: (x[0], x[1].cell.index if x[1].cell is not None else -1))  # card, then cell order
        results = [r for _, r in indexed]
    except BaseException:
        for f in futures:
            f.cancel()
        with _ACTIVE_LOCK:
            for proc in list(_ACTIVE):
                _kill(proc)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    Path(out).mkdir(parents=True, exist_ok=True)
    aggregated = card_results(results)
    for c in aggregated:
        (c.out_dir / "card_verdict.json").write_text(json.dumps(c.to_json(), indent=2) + "\n")
    (Path(out) / "summary.json").write_text(json.dumps(
        {"schema_version": SCHEMA_VERSION, "cells": [r.to_json() for r in results],
         "cards": [{k: v for k, v in c.to_json().items() if k != "cells"} for c in aggregated]}, indent=2) + "\n")
    return results


def _pipeline_failure(card: Card, out_dir: Path, error: Exception) -> CellResult:
    """A pipeline card whose pipeline could not run at all: INCONCLUSIVE (cause ``error``) with the reason."""
    reason = f"the card's {card.kind} did not run: {error}"
    v = Verdict(verdict="INCONCLUSIVE", reason=reason, cause="error", card_path=card.file, title=card.title,
                sha256=card.sha256, expected=card.expected, claim=card.claim, inputs={}, started=_now())
    v.write(out_dir)
    return CellResult(card, None, v.verdict, v.reason, v.cause, 0.0, out_dir)


def run_card_files(paths, **kwargs) -> list[CellResult]:
    """:func:`~magnet.evaluation.card.load_card` every path, then :func:`run_cards` (keywords passed on).

    Raises :class:`~magnet.evaluation.card.CardError` with the problems of every invalid card.
    """

    cards, issues = [], []
    for p in paths:
        try:
            cards.append(load_card(p))
        except CardError as e:
            issues += e.issues
    if issues:
        raise CardError(issues)
    return run_cards(cards, **kwargs)
