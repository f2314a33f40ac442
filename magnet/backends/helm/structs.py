"""``msgspec.Struct`` copies of HELM's dataclasses, so HELM's JSON decodes straight into typed objects, fast.

HELM writes its outputs with ``dataclasses.asdict`` and drops every field whose value is ``None``; it reads them
back with ``dacite``. ``msgspec`` decodes JSON into a ``Struct`` type in one C pass, several times faster than
``json.loads`` + ``dacite``, but it cannot decode into HELM's dataclasses themselves: some fields are declared
``Optional`` without a default (``RequestState.reference_index``, ``.result``, ``PerInstanceStats.perturbation``)
and are absent from the JSON whenever they were ``None``.

:func:`struct_of` builds, once per dataclass, a ``Struct`` with the same name, the same fields in the same order
and the same defaults, where an ``Optional`` field without a default gets ``None``; nested dataclasses (in
``Optional``, ``Union``, ``list``, ``dict`` or ``tuple``) become their own ``Struct`` types. Unknown JSON keys (a
newer or older HELM) are ignored, as ``dacite`` ignores them. The structs are ``frozen`` and compare by value exactly
when the dataclass is, so a frozen ``Instance`` (``eq=False``) hashes by identity, as in HELM.

With ``attrs=True`` the struct also gets a ``__dict__`` and the dataclass's ``__post_init__``, so derived
attributes are set on decoding (``ScenarioState.instances`` and ``.request_state_map``, as HELM's metrics read
them). Methods other than ``__post_init__`` are not copied: :func:`to_dataclass` gives the HELM object itself.

Example:
    >>> from helm.benchmark.metrics.metric import PerInstanceStats
    >>> data = b'''[{"instance_id": "id7", "train_trial_index": 0, "extra": 1,
    ...            "stats": [{"name": {"name": "exact_match", "split": "test"}, "count": 1, "sum": 1.0}]}]'''
    >>> Struct = struct_of(PerInstanceStats)     # "perturbation" is Optional without a default, omitted here
    >>> rows = decode(data, list[Struct])
    >>> rows[0].perturbation, rows[0].stats[0].name.name, rows[0].stats[0].mean
    (None, 'exact_match', None)
    >>> struct_of(PerInstanceStats) is Struct, list(Struct.__annotations__) == list(PerInstanceStats.__annotations__)
    (True, True)
    >>> to_dataclass(rows[0], PerInstanceStats).stats[0].sum
    1.0
    >>> decode(b'[{"instance_id": 7}]', list[Struct], path="per_instance_stats.json")
    Traceback (most recent call last):
    magnet.backends.helm.errors.HelmOutputError: per_instance_stats.json: does not match HELM's PerInstanceStats: Expected `str`, got `int` - at `$[0].instance_id`
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from pathlib import Path

import msgspec

from magnet.backends.helm.errors import HelmOutputError

_MUTABLE = (list, dict, set)


def struct_of(dc_cls: type, attrs: bool = False) -> type[msgspec.Struct]:
    """The ``msgspec.Struct`` copy of the dataclass ``dc_cls`` (built once; nested dataclasses recursively).

    Parameters:
        dc_cls: a dataclass type (HELM's ``Stat``, ``RunSpec``, ``ScenarioState``, ...).
        attrs: give the struct a ``__dict__`` and the dataclass's ``__post_init__`` (derived attributes).

    Example:
        >>> from helm.benchmark.metrics.statistic import Stat
        >>> S = struct_of(Stat)
        >>> s = decode(b'{"name": {"name": "exact_match", "split": "test"}, "count": 2, "sum": 1.0}', S)
        >>> s.name.name, s.name.perturbation, s.count, s.mean
        ('exact_match', None, 2, None)
        >>> struct_of(Stat) is struct_of(Stat, attrs=False) is not struct_of(Stat, attrs=True)
        True
    """
    return _build(dc_cls, bool(attrs))


@functools.lru_cache(maxsize=None)
def _build(dc_cls: type, attrs: bool) -> type[msgspec.Struct]:
    if not (isinstance(dc_cls, type) and dataclasses.is_dataclass(dc_cls)):
        raise TypeError(f"struct_of needs a dataclass type, got {dc_cls!r}")
    hints = typing.get_type_hints(dc_cls)
    annotations: dict[str, object] = {}
    namespace: dict[str, object] = {"__module__": __name__, "__doc__": dc_cls.__doc__}
    for f in dataclasses.fields(dc_cls):
        if not f.init:
            continue
        tp = _convert(hints.get(f.name, typing.Any))
        annotations[f.name] = tp
        if f.default is not dataclasses.MISSING:
            namespace[f.name] = _default(f.default, tp)
        elif f.default_factory is not dataclasses.MISSING:
            namespace[f.name] = msgspec.field(default_factory=f.default_factory)
        elif _is_optional(tp):
            namespace[f.name] = None
    namespace["__annotations__"] = annotations
    if attrs and "__post_init__" in vars(dc_cls):
        namespace["__post_init__"] = vars(dc_cls)["__post_init__"]
    params = dc_cls.__dataclass_params__  # type: ignore[attr-defined]
    return types.new_class(dc_cls.__name__, (msgspec.Struct,),
                           dict(kw_only=True, frozen=params.frozen, eq=params.eq, dict=attrs),
                           lambda ns: ns.update(namespace))


def decode(data: bytes, tp, path=None):
    """``data`` (JSON bytes) decoded into ``tp`` (a struct or e.g. ``list[struct]``); a mismatch is one line.

    Raises:
        HelmOutputError: ``path: does not match HELM's NAME: <msgspec's message with the JSON path>``.
    """
    try:
        return _decoder(tp).decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        name = getattr(typing.get_args(tp)[0] if typing.get_args(tp) else tp, "__name__", str(tp))
        raise HelmOutputError(path or "<bytes>", f"does not match HELM's {name}: {e}") from None


def read(path, tp):
    """The JSON file ``path`` decoded into ``tp``; a missing or malformed file is a one-line HelmOutputError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise HelmOutputError(path, "file is missing") from None
    return decode(data, tp, path)


def to_dataclass(obj, dc_cls: type):
    """The HELM dataclass ``dc_cls`` built from the struct ``obj`` (as ``dacite``, which HELM uses, builds it)."""
    import dacite

    return dacite.from_dict(dc_cls, msgspec.to_builtins(obj), config=dacite.Config(check_types=False))


@functools.lru_cache(maxsize=None)
def _decoder(tp) -> msgspec.json.Decoder:
    return msgspec.json.Decoder(tp)


def _convert(tp):
    """A type hint with every dataclass in it replaced by its struct."""
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return struct_of(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is None or not args:
        return tp
    new = tuple(a if a is Ellipsis else _convert(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return typing.Union[new]
    if origin is typing.Literal:
        return tp
    if origin in (list, set, frozenset, tuple, dict):
        return origin[new if len(new) > 1 else new[0]]
    return tp


def _is_optional(tp) -> bool:
    return typing.get_origin(tp) is typing.Union and type(None) in typing.get_args(tp)


def _default(value, tp):
    """A field default usable by msgspec: dataclass instances become structs; non-empty mutables a factory."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        struct = _convert(type(value))
        plain = msgspec.to_builtins(dataclasses.asdict(value))
        return msgspec.field(default_factory=lambda: msgspec.convert(plain, struct))
    if isinstance(value, _MUTABLE) and value:
        return msgspec.field(default_factory=lambda: type(value)(value))
    return value
