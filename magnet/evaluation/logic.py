"""Three-valued decisions for card claims: ``True``, ``False`` or :class:`Undecided`.

A statistic estimated from a few models has a confidence interval. A claim
``x > t`` about it is decided only when the whole interval lies on one side of
``t``; when the interval contains ``t`` the data cannot tell, and the claim is
*undecided*. :func:`decide` (and its shortcuts :func:`ci_above`,
:func:`ci_below`) return ``True``, ``False`` or an :class:`Undecided` marker
carrying the reason:

===================================== ========== =========== ===============
interval ``[lo, hi]`` vs threshold t   ``lo > t`` ``hi < t``  ``lo <= t <= hi``
===================================== ========== =========== ===============
``decide(ci, t, ">")`` = ``ci_above``  True       False       Undecided
``decide(ci, t, "<")`` = ``ci_below``  False      True        Undecided
===================================== ========== =========== ===============

A NaN bound raises :class:`MissingData` (the interval could not be computed).

In a card's ``claim``, ``and``, ``or`` and ``not`` follow Kleene's
three-valued logic (magnet rewrites them): ``Undecided and False`` is
``False``, ``Undecided or True`` is ``True``, otherwise an Undecided operand
makes the result Undecided, and a claim that ends Undecided is INCONCLUSIVE
with the marker's reason. The operators ``&`` and ``|`` and the functions
:func:`all_of`, :func:`any_of` and :func:`not_` do the same anywhere (e.g. in
symbol code). Any other use of an Undecided value as a truth value (``if``,
``bool()``) raises :class:`UndecidedError`, which also makes the card
INCONCLUSIVE with the reason.

Example:
    >>> ci_above((0.12, 0.95), 0.0)
    True
    >>> ci_above((0.12, 0.95), 0.99)
    False
    >>> u = ci_above((0.12, 0.95), 0.5, label="rho")
    >>> u
    Undecided('rho: interval [0.12, 0.95] contains the threshold 0.5')
    >>> (u & False), (u | True), all_of(True, u) is u
    (False, True, True)
    >>> bool(u)
    Traceback (most recent call last):
    ...
    magnet.evaluation.logic.UndecidedError: rho: interval [0.12, 0.95] contains the threshold 0.5
"""

from __future__ import annotations

import math
import numbers
from typing import Any, NamedTuple

__all__ = [
    "Undecided", "UndecidedError", "MissingData", "Estimate", "decide", "ci_above", "ci_below",
    "all_of", "any_of", "not_", "approx", "require", "is_undecided",
]


class UndecidedError(Exception):
    """An :class:`Undecided` value was used where a plain truth value was needed."""


class MissingData(Exception):
    """The data a symbol needs is absent: the card is INCONCLUSIVE (cause ``missing-data``)."""


class Undecided:
    """The third truth value: the data cannot decide (e.g. a confidence interval contains the threshold).

    ``reason`` says why. ``&``, ``|`` follow Kleene logic; ``bool()`` raises
    :class:`UndecidedError`. Combining several Undecided values joins their reasons.
    """

    __slots__ = ("reason",)
    __array_ufunc__ = None  # numpy defers to our reflected operators
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, reason: str = "undecided"):
        self.reason = str(reason)

    def __repr__(self) -> str:
        return f"Undecided({self.reason!r})"

    def __bool__(self):
        raise UndecidedError(self.reason)

    def __eq__(self, other):  # comparing an unknown truth value gives an unknown one
        return self

    def __ne__(self, other):
        return self

    def __and__(self, other):
        return all_of(self, other)

    def __rand__(self, other):
        return all_of(other, self)

    def __or__(self, other):
        return any_of(self, other)

    def __ror__(self, other):
        return any_of(other, self)

    def __invert__(self):
        return self


def is_undecided(value) -> bool:
    """True for an :class:`Undecided` marker."""
    return isinstance(value, Undecided)


def _join(markers: list[Undecided]) -> Undecided:
    if len(markers) == 1:
        return markers[0]
    return Undecided("; ".join(dict.fromkeys(m.reason for m in markers)))


def _truth(value) -> bool:
    return bool(value)


def all_of(*values):
    """Kleene conjunction: False if any value is false, else Undecided if any is, else True.

    Example:
        >>> all_of(True, True), all_of(Undecided("u"), False), all_of(True, Undecided("u"))
        (True, False, Undecided('u'))
    """
    undecided = [v for v in values if is_undecided(v)]
    if any(not _truth(v) for v in values if not is_undecided(v)):
        return False
    return _join(undecided) if undecided else True


def any_of(*values):
    """Kleene disjunction: True if any value is true, else Undecided if any is, else False.

    Example:
        >>> any_of(False, False), any_of(Undecided("u"), True), any_of(False, Undecided("u"))
        (False, True, Undecided('u'))
    """
    undecided = [v for v in values if is_undecided(v)]
    if any(_truth(v) for v in values if not is_undecided(v)):
        return True
    return _join(undecided) if undecided else False


def not_(value):
    """Kleene negation: ``not value``, Undecided stays Undecided."""
    return value if is_undecided(value) else not _truth(value)


# -- the claim rewrite targets: lazy operands keep Python's short-circuit where the result is known


def _kleene_and(*thunks):
    undecided, last = [], True
    for thunk in thunks:
        v = thunk()
        if is_undecided(v):
            undecided.append(v)
        elif not _truth(v):
            return v
        else:
            last = v
    return _join(undecided) if undecided else last


def _kleene_or(*thunks):
    undecided, last = [], False
    for thunk in thunks:
        v = thunk()
        if is_undecided(v):
            undecided.append(v)
        elif _truth(v):
            return v
        else:
            last = v
    return _join(undecided) if undecided else last


class Estimate(NamedTuple):
    """A point estimate with its confidence interval ``ci = (low, high)`` and an optional label.

    Example:
        >>> e = Estimate(0.76, (0.11, 0.95), "rho")
        >>> ci_above(e, 0.0), e.value
        (True, 0.76)
    """

    value: float
    ci: tuple
    label: str | None = None


def _fmt(x: float) -> str:
    return f"{x:.3g}" if isinstance(x, numbers.Real) else str(x)


def _interval(interval) -> tuple[tuple[float, float], str | None, float | None]:
    """(low, high), a label and a point value from an interval, an Estimate, or an object with ``ci``."""
    label = value = None
    if isinstance(interval, Estimate):
        label, value, interval = interval.label, interval.value, interval.ci
    elif hasattr(interval, "ci") and not isinstance(interval, (tuple, list)):
        value, interval = getattr(interval, "value", None), interval.ci
    try:
        lo, hi = (float(x) for x in interval)
    except (TypeError, ValueError):
        raise TypeError(f"expected an interval (low, high), got {interval!r}") from None
    if math.isnan(lo) or math.isnan(hi):
        raise MissingData(f"{label + ': ' if label else ''}interval [{_fmt(lo)}, {_fmt(hi)}] is not available")
    if lo > hi:
        raise ValueError(f"interval low {lo} > high {hi}")
    return (lo, hi), label, value


def decide(interval, threshold: float, direction: str = ">", label: str | None = None):
    """Decide ``quantity <direction> threshold`` from the quantity's confidence interval.

    Parameters
    ----------
    interval : (low, high), Estimate, or any object with a ``ci`` attribute
        The confidence interval of the quantity.
    threshold : float
    direction : ``">"`` (the claim is that the quantity exceeds the threshold) or ``"<"``.
    label : str, optional
        Names the quantity in the Undecided reason (default: the Estimate's label).

    Returns
    -------
    True, False, or :class:`Undecided` when ``low <= threshold <= high``.

    Example:
        >>> decide((0.1, 0.2), 0.3, "<"), decide((0.1, 0.2), 0.15, "<")
        (True, Undecided('interval [0.1, 0.2] contains the threshold 0.15'))
    """
    if direction not in (">", "<"):
        raise ValueError(f"direction must be '>' or '<', got {direction!r}")
    (lo, hi), own_label, value = _interval(interval)
    label = label or own_label
    t = float(threshold)
    if lo > t:
        return direction == ">"
    if hi < t:
        return direction == "<"
    what = f"{label}: " if label else ""
    point = f" (estimate {_fmt(value)})" if isinstance(value, numbers.Real) else ""
    return Undecided(f"{what}interval [{_fmt(lo)}, {_fmt(hi)}]{point} contains the threshold {_fmt(t)}")


def ci_above(interval, threshold: float, label: str | None = None):
    """``decide(interval, threshold, ">")``: True when the whole interval is above the threshold."""
    return decide(interval, threshold, ">", label)


def ci_below(interval, threshold: float, label: str | None = None):
    """``decide(interval, threshold, "<")``: True when the whole interval is below the threshold."""
    return decide(interval, threshold, "<", label)


def approx(a: float, b: float, tol: float | None = None) -> bool:
    """``|a - b| <= tol``; ``tol`` defaults to the card's ``tolerance`` (bound in the card namespace).

    Example:
        >>> approx(0.30, 0.32, 0.05), approx(0.30, 0.40, 0.05)
        (True, False)
    """
    if tol is None:
        tol = 0.0
    return abs(float(a) - float(b)) <= float(tol)


def require(condition: Any, message: str = "required data is missing") -> None:
    """Raise :class:`MissingData` (the card becomes INCONCLUSIVE, cause ``missing-data``) unless ``condition``.

    Example:
        >>> require(3 > 2, "never raised")
        >>> require([], "no runs of scenario X")
        Traceback (most recent call last):
        ...
        magnet.evaluation.logic.MissingData: no runs of scenario X
    """
    if not condition:
        raise MissingData(message)
