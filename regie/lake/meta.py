"""A territory's metadata as JSON next to its readings in the lake: what a job needs to compute like the store.

Why: a Spark executor or a DuckDB session on another machine has the lake and nothing else. The balance
needs the territory's zone, its series and producers' sources; ACC needs the operations (participants, keys
in force); transformer loading needs the transformers and the points they feed. They travel as plain JSON
(never pickle: a lake on shared object storage must not be able to run code on whoever reads it) and come
back as the same model objects, so that the same services code runs on them.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import date
from enum import Enum
from typing import Any

from regie.model import Inventory, Operation, Producer, Series, Step, Territory, Transformer
from regie.store.operations import KeyPeriod, StoredOperation

FORMAT = 1


def _encode(x: Any) -> Any:
    if isinstance(x, Step):  # a dataclass too, written as its ISO 8601 duration
        return x.iso
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {f.name: _encode(getattr(x, f.name)) for f in dataclasses.fields(x)}
    if isinstance(x, Enum):
        return x.value
    if isinstance(x, date):
        return x.isoformat()
    if isinstance(x, (list, tuple)):
        return [_encode(v) for v in x]
    if isinstance(x, typing.Mapping):
        return {str(k): _encode(v) for k, v in x.items()}
    return x


def _decode(tp: Any, x: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if x is None:
            return None
        return _decode(next(a for a in typing.get_args(tp) if a is not type(None)), x)
    if x is None:
        return None
    if origin in (tuple, list):
        inner = typing.get_args(tp)[0]
        return origin(_decode(inner, v) for v in x)
    if origin is not None:  # Mapping[str, Any] and the like: plain JSON
        return dict(x)
    if tp is Step:
        return Step.parse(x)
    if tp is date:
        return date.fromisoformat(x)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(x)
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return tp(**{f.name: _decode(hints[f.name], x[f.name]) for f in dataclasses.fields(tp) if f.name in x})
    return x


@dataclasses.dataclass(frozen=True, slots=True)
class TerritoryMeta:
    """What the jobs need of one territory (an :class:`Inventory` restricted to it, and its operations)."""

    territory: Territory
    series: tuple[Series, ...]
    producers: tuple[Producer, ...]
    transformers: tuple[Transformer, ...]
    operations: tuple[StoredOperation, ...] = ()

    def inventory(self) -> Inventory:
        """An inventory holding what the balance, ACC and supervision services read of one."""
        return Inventory(self.territory, producers=list(self.producers), transformers=list(self.transformers),
                         series=list(self.series))  # fmt: skip


def meta_of(inv: Inventory, operations: typing.Sequence[StoredOperation]) -> TerritoryMeta:
    return TerritoryMeta(inv.territory, tuple(inv.series), tuple(inv.producers), tuple(inv.transformers),
                         tuple(operations))  # fmt: skip


def dumps(meta: TerritoryMeta) -> str:
    return json.dumps({"format": FORMAT, **_encode(meta)}, ensure_ascii=False, indent=1, sort_keys=True)


def loads(text: str) -> TerritoryMeta:
    raw = json.loads(text)
    if raw.get("format") != FORMAT:
        raise ValueError(f"lake metadata format {raw.get('format')!r}: this regie reads format {FORMAT}")
    return _decode(TerritoryMeta, raw)


__all__ = ["KeyPeriod", "Operation", "TerritoryMeta", "dumps", "loads", "meta_of"]
