"""Argument types shared by the command line entry points: each rejects a bad value with one clear message.

Example:
    >>> int_at_least(2)("5"), positive_float("0.5"), eval_samples("0.25"), eval_samples("10")
    (5, 0.5, 0.25, 10.0)
    >>> int_at_least(2)("1")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be >= 2, got 1
    >>> ns = argparse.Namespace(reveal="adaptive", budget=50.0, num_eval_samples=None)
    >>> revealed_count(ns)
    50
    >>> revealed_count(argparse.Namespace(reveal="adaptive", budget=50.0, num_eval_samples=20.0))
    Traceback (most recent call last):
    ...
    magnet.errors.UserError: --budget 50: disagrees with --num-eval-samples 20 (under --reveal adaptive both name the instances asked per eval run)
"""

from __future__ import annotations

import argparse
import math

from magnet.errors import UserError

#: revealed instances per eval run when neither ``--num-eval-samples`` nor ``--budget`` is given
DEFAULT_EVAL_SAMPLES = 10


def _number(text: str, kind, expected: str):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None


def int_at_least(low: int):
    """An argparse type: a whole number >= ``low``."""
    def parse(text: str) -> int:
        value = _number(text, int, "a whole number")
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value
    return parse


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0 (seconds, say)."""
    value = _number(text, float, "a number")
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def fraction(text: str) -> float:
    """An argparse type: a share strictly between 0 and 1."""
    value = _number(text, float, "a fraction")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be a fraction in (0, 1), got {text}")
    return value


def eval_samples(text: str) -> float:
    """``--num-eval-samples``: a whole count >= 0, or a fraction in (0, 1)."""
    value = _number(text, float, "a number of instances or a fraction")
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a count >= 0 or a fraction in (0, 1), got {text}")
    if value == 0:
        raise argparse.ArgumentTypeError("must be >= 1 (a count) or a fraction in (0, 1), got 0: "
                                         "with nothing revealed there is nothing to score against")
    if value > 1 and not value.is_integer():
        raise argparse.ArgumentTypeError(f"a count of instances must be whole, got {text}")
    return value


def _count(x: float):
    """A whole count as an int (``10.0`` -> ``10``); a fraction stays a float."""
    return int(x) if float(x).is_integer() and x >= 1 else x


def revealed_count(args) -> float:
    """The revealed instances per eval run: ``--num-eval-samples``, or ``--budget`` (its name under
    ``--reveal adaptive``, where the predictor asks for that many instances one at a time); default
    :data:`DEFAULT_EVAL_SAMPLES`. ``--budget`` without ``--reveal adaptive``, or both options given with
    different values, is a one-line :class:`~magnet.errors.UserError`.
    """
    n, budget = getattr(args, "num_eval_samples", None), getattr(args, "budget", None)
    if budget is not None and getattr(args, "reveal", None) != "adaptive":
        raise UserError(f"--budget {_count(budget)}", "is the instance budget of --reveal adaptive",
                        hint=f"add --reveal adaptive, or use --num-eval-samples {_count(budget)}")
    if budget is not None and n is not None and float(n) != float(budget):
        raise UserError(f"--budget {_count(budget)}", f"disagrees with --num-eval-samples {_count(n)} "
                        "(under --reveal adaptive both name the instances asked per eval run)",
                        hint="give one of them")
    value = budget if budget is not None else n
    return _count(value if value is not None else DEFAULT_EVAL_SAMPLES)
