"""Argument types shared by the command line entry points: each rejects a bad value with one clear message.

Example:
    >>> int_at_least(2)("5"), positive_float("0.5"), eval_samples("0.25"), eval_samples("10")
    (5, 0.5, 0.25, 10.0)
    >>> int_at_least(2)("1")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be >= 2, got 1
"""

from __future__ import annotations

import argparse
import math


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
