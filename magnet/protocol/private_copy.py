"""Private copies of the frames a predictor receives: whatever it does to them reaches nothing else.

A predictor may mutate its inputs in place (set values, add or drop columns or rows, append to a list inside a
cell). Each fold therefore gets frames that share no mutable object with the corpus: not the numeric buffers, not
the lists and dicts inside object columns (``instance.references``, ``result.completions``, ...). Only immutable
values (strings, numbers, ``None``) are shared, since nothing can change them.

:func:`private_copy` does this at a fraction of the cost of a pickle round trip of the whole frame (which copied
every string of every row):

- ``DataFrame.copy(deep=True)`` copies every column's buffer and the frame's ``attrs``;
- an object column whose values are all immutable scalars (pandas' ``infer_dtype`` says ``string``,
  ``integer``, ...) keeps its values, shared;
- in any other object column, the cells that are not immutable scalars (lists, dicts, arrays, sets, tuples, any
  other object) are deep-copied, those of all columns together in one pickle round trip (an object held by two
  cells stays one object in the copy); its immutable cells are shared.

Example:
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"refs": [[{"tags": ["correct"]}], None], "x": [1.0, 2.0], "s": ["a", "b"],
    ...                    "arr": [np.arange(2), {1, 2}]}, index=[5, 7])
    >>> out = private_copy(df)
    >>> out.index.tolist(), out["refs"][0] == df["refs"].iloc[0], out["refs"][0] is df["refs"].iloc[0]
    ([0, 1], True, False)
    >>> out["refs"][0][0]["tags"].append("MUTATED"); out.loc[0, "x"] = 9.0; out["arr"][0][0] = 9
    >>> df["refs"].iloc[0], df["x"].tolist(), df["arr"].iloc[0]
    ([{'tags': ['correct']}], [1.0, 2.0], array([0, 1]))
"""

from __future__ import annotations

import datetime
import decimal
import pickle

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

#: ``infer_dtype`` kinds of object columns holding only immutable scalars (missing values skipped).
IMMUTABLE_KINDS = frozenset({"string", "bytes", "empty", "integer", "floating", "mixed-integer-float", "boolean",
                             "decimal", "complex", "datetime", "date", "time", "timedelta"})
#: Exact types of immutable cell values, shared between the corpus and the copy.
SCALAR_TYPES = frozenset({str, bytes, int, float, bool, complex, type(None), decimal.Decimal, datetime.datetime,
                          datetime.date, datetime.time, datetime.timedelta, pd.Timestamp, pd.Timedelta,
                          type(pd.NA), type(pd.NaT)})


def private_copy(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` (index reset) sharing no mutable object with it (see the module docstring)."""
    out = df.reset_index(drop=True).copy(deep=True)
    todo = []  # (column position, object array, row positions of its mutable cells)
    for i in range(out.shape[1]):
        column = out.iloc[:, i]
        if column.dtype != object:
            continue
        values = column.to_numpy()
        if infer_dtype(values, skipna=True) in IMMUTABLE_KINDS:
            continue
        where = [j for j, v in enumerate(values) if not _scalar(v)]
        if where:
            todo.append((i, values, where))
    # one pickle round trip for all of them: an object in two cells stays one object, as in the source
    copies = iter(_deep_copy([values[j] for _, values, where in todo for j in where]))
    for i, values, where in todo:
        fresh = values.copy()
        for j in where:
            fresh[j] = next(copies)
        out.isetitem(i, fresh)
    return out


def _scalar(v) -> bool:
    return type(v) in SCALAR_TYPES or isinstance(v, np.generic)


def _deep_copy(cells: list) -> list:
    """Deep copies of ``cells``, all together (objects shared between cells stay shared between the copies)."""
    return pickle.loads(pickle.dumps(cells, protocol=pickle.HIGHEST_PROTOCOL))


class Deferred:
    """A frame's private copy, made when the frame is first read (``PredictorInputs``, ``DataSplit``).

    It holds only the rows the predictor may see (sliced already: never the corpus), and copies them with
    :func:`~magnet.protocol.private_copy.private_copy` on :meth:`resolve`, once. Until then its rows share their
    nested cells with the corpus: the copy protects against a predictor changing what it reads, not against
    code digging ``.rows`` out of ``__dict__`` (which, in the same process, could as well walk the call stack to
    the corpus; the process and Ray backends isolate folds from each other).

    Example:
        >>> import pandas as pd
        >>> rows = pd.DataFrame({"refs": [["a"]]}, index=[3])
        >>> frame = Deferred(rows).resolve()
        >>> frame.index.tolist(), frame["refs"][0] == rows["refs"].iloc[0], frame["refs"][0] is rows["refs"].iloc[0]
        ([0], True, False)
        >>> lazy = Deferred(rows)   # read through vars(holder): it acts as its (one) copy
        >>> lazy.shape, len(lazy), list(lazy), lazy["refs"] is lazy.resolve()["refs"]
        ((1, 1), 1, ['refs'], True)
        >>> import pickle; pickle.loads(pickle.dumps(Deferred(rows))).resolve().shape
        (1, 1)
    """

    __slots__ = ("rows", "_copy")

    def __init__(self, rows: pd.DataFrame):
        self.rows = rows
        self._copy = None

    def resolve(self) -> pd.DataFrame:
        """The private copy, made on the first call (later calls return the same frame)."""
        if self._copy is None:
            self._copy = private_copy(self.rows)
        return self._copy

    # Code that reads the holder's __dict__ directly (``vars(inputs)``) gets this object: it acts as its copy.
    def __getattr__(self, name):
        if name.startswith("_"):  # not the frame's: pickle and copy probe dunders before the slots are set
            raise AttributeError(name)
        return getattr(self.resolve(), name)

    def __len__(self) -> int:
        return len(self.resolve())

    def __getitem__(self, key):
        return self.resolve()[key]

    def __iter__(self):
        return iter(self.resolve())

    def __contains__(self, key) -> bool:
        return key in self.resolve()

    def __repr__(self) -> str:
        return f"<Deferred copy of {len(self.rows)} rows>"


def resolving_getattribute(self, name):
    """``__getattribute__`` that replaces a :class:`Deferred` attribute by its private copy on first read."""
    value = object.__getattribute__(self, name)
    if type(value) is Deferred:
        value = value.resolve()
        object.__setattr__(self, name, value)
    return value


def raw_attribute(obj, name: str):
    """The attribute as stored (a :class:`Deferred` stays unresolved): to pass it on without copying it."""
    return object.__getattribute__(obj, name)
