"""Python type names as symbol types (``float``, ``List[Tuple[str, float]]``, ...): parse them and check values.

Cards in MAGNET's format (``claim: {python: ...}``) declare their symbols'
types as Python type expressions. :func:`parse_type` reads one (without
evaluating any code) into a small tree; :func:`check_value` checks a value
against it and says *where* it does not match.

Names: ``int``, ``float``, ``str``, ``bool``, ``object`` / ``Any`` (anything),
``None``, ``list``/``List[T]``, ``tuple``/``Tuple[T1, T2]`` (fixed length) or
``Tuple[T, ...]``, ``dict``/``Dict[K, V]``, ``set``/``Set[T]``,
``Optional[T]``, ``Union[A, B]`` (also ``A | B``), ``Sequence[T]`` (list or
tuple), ``Mapping[K, V]``; lower-case generics (``list[int]``) too.

Numbers follow Python's numeric tower as type checkers do: ``float`` accepts
an ``int`` (not a ``bool``) and numpy floating values, ``int`` numpy integers,
``bool`` numpy booleans. A NaN where a ``float`` is declared is reported as
missing data (:class:`~magnet.evaluation.logic.MissingData`), never compared:
``abs(nan - x) < t`` is silently False and would falsify a claim on no data.

Example:
    >>> t = parse_type("List[Tuple[str, float]]")
    >>> check_value(t, [("a", 0.5), ("b", 1)]) is None
    True
    >>> check_value(t, [("a", 0.5), ("b", "x")])
    "item [1][1] is a str 'x', not float"
    >>> check_value(parse_type("Dict[str, int]"), {"a": 1.5})
    "value ['a'] is a float 1.5, not int"
    >>> parse_type("Lst[int]")
    Traceback (most recent call last):
    ...
    ValueError: unknown type name 'Lst' (known: Any, Dict, List, Mapping, None, Optional, Sequence, Set, Tuple, Union, bool, dict, float, int, list, object, set, str, tuple)
"""

from __future__ import annotations

import ast
import math
import numbers
from dataclasses import dataclass

from magnet.evaluation.logic import MissingData

_SCALARS = ("int", "float", "str", "bool", "object", "Any", "None")
_GENERIC = {"List": "list", "list": "list", "Tuple": "tuple", "tuple": "tuple", "Dict": "dict", "dict": "dict",
            "Set": "set", "set": "set", "Optional": "optional", "Union": "union", "Sequence": "sequence",
            "Mapping": "mapping"}
KNOWN_NAMES = sorted(set(_SCALARS) | set(_GENERIC))


@dataclass(frozen=True)
class PyType:
    """A parsed type: ``kind`` (a scalar name or a generic kind) and its ``args`` (``None`` = unparameterised)."""

    kind: str
    args: tuple | None = None
    ellipsis: bool = False  # Tuple[T, ...]

    def __str__(self) -> str:
        if self.args is None:
            return self.kind
        inner = ", ".join(str(a) for a in self.args) + (", ..." if self.ellipsis else "")
        return f"{self.kind}[{inner}]"


def parse_type(text: str) -> PyType:
    """Parse a Python type expression; ``ValueError`` with the problem when it is not one this module knows."""
    try:
        tree = ast.parse(str(text).strip(), mode="eval").body
    except SyntaxError as e:
        raise ValueError(f"not a Python type expression ({e.msg})") from None
    return _node(tree)


def _node(n) -> PyType:
    if isinstance(n, ast.Constant) and n.value is None:
        return PyType("None")
    if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in ("typing", "builtins"):
        n = ast.Name(n.attr, ast.Load())
    if isinstance(n, ast.Name):
        if n.id in _SCALARS:
            return PyType("object" if n.id == "Any" else n.id)
        if n.id in _GENERIC:
            kind = _GENERIC[n.id]
            if kind in ("optional", "union"):
                raise ValueError(f"{n.id} needs parameters, e.g. {n.id}[int]")
            return PyType(kind)
        raise ValueError(f"unknown type name {n.id!r} (known: {', '.join(KNOWN_NAMES)})")
    if isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr):
        return PyType("union", (_node(n.left), _node(n.right)))
    if isinstance(n, ast.Subscript):
        base = n.value.attr if isinstance(n.value, ast.Attribute) else getattr(n.value, "id", None)
        if base not in _GENERIC:
            if base in _SCALARS:
                raise ValueError(f"{base!r} takes no parameters")
            raise ValueError(f"unknown type name {ast.unparse(n.value)!r} (known: {', '.join(KNOWN_NAMES)})")
        kind = _GENERIC[base]
        elts = list(n.slice.elts) if isinstance(n.slice, ast.Tuple) else [n.slice]
        ellipsis = bool(elts) and isinstance(elts[-1], ast.Constant) and elts[-1].value is Ellipsis
        if ellipsis:
            if kind != "tuple" or len(elts) != 2:
                raise ValueError("`...` is only allowed as Tuple[T, ...]")
            elts = elts[:1]
        args = tuple(_node(e) for e in elts)
        want = {"list": 1, "set": 1, "sequence": 1, "dict": 2, "mapping": 2, "optional": 1}.get(kind)
        if want is not None and len(args) != want:
            raise ValueError(f"{base} takes {want} parameter{'s' if want > 1 else ''}, got {len(args)}")
        if kind == "optional":
            return PyType("union", (args[0], PyType("None")))
        return PyType(kind, args, ellipsis)
    raise ValueError(f"not a type: {ast.unparse(n)!r}")


def _describe(value) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def check_value(t: PyType, value, where: str = "") -> str | None:
    """``None`` when ``value`` has type ``t``, else what does not match (``item [2] is a str 'a', not int``).

    Raises :class:`MissingData` for a NaN where a ``float`` is declared.
    """
    import numpy as np

    def bad(expected: str) -> str:
        return f"{where.strip() + ' is' if where else 'it is'} a {_describe(value)}, not {expected}"

    k = t.kind
    if k == "object":
        return None
    if k == "None":
        return None if value is None else bad("None")
    if k == "bool":
        return None if isinstance(value, (bool, np.bool_)) else bad("bool")
    if k == "int":
        ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
        return None if ok else bad("int")
    if k == "float":
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            return bad("float")
        if math.isnan(float(value)):
            raise MissingData(f"{where.strip() + ' is' if where else 'the value is'} NaN (declared float)")
        return None
    if k == "str":
        return None if isinstance(value, str) else bad("str")
    if k == "union":
        problems = []
        for option in t.args:
            problem = check_value(option, value, where)
            if problem is None:
                return None
            problems.append(problem)
        return bad(" or ".join(str(a) for a in t.args))
    containers = {"list": list, "tuple": tuple, "set": (set, frozenset), "dict": dict, "sequence": (list, tuple),
                  "mapping": dict}
    if not isinstance(value, containers[k]):
        return bad(str(t))
    if t.args is None:
        return None
    if k in ("dict", "mapping"):
        for key, item in value.items():
            problem = check_value(t.args[0], key, f"{where} key {key!r}") or \
                check_value(t.args[1], item, f"{where} value [{key!r}]")
            if problem:
                return problem
        return None
    if k == "tuple" and not t.ellipsis:
        if len(value) != len(t.args):
            return bad(f"a tuple of {len(t.args)}: {t}")
        pairs = zip(t.args, value)
    else:
        pairs = ((t.args[0], item) for item in value)
    for i, (sub, item) in enumerate(pairs):
        label = f"{where}[{i}]" if where.startswith("item") else (f"{where} item [{i}]" if where else f"item [{i}]")
        problem = check_value(sub, item, label.strip())
        if problem:
            return problem
    return None
