"""STIX 2.1 pattern syntax tree used by the matching engine.

Plain slotted classes rather than stix2-patterns' ANTLR tree: a million
indicators have to be compiled in seconds, and the evaluator walks these nodes
in its hot loop.

Literal values keep the types the patterning spec distinguishes: ``int``,
``float``, ``str``, ``bool``, ``bytes`` (``h'..'`` and ``b'..'``) and
:class:`Timestamp` (``t'..'``, microseconds since the epoch, so it never
compares equal to a plain number).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

__all__ = [
    "COMPARISON_OPS",
    "STAR",
    "And",
    "CompExpr",
    "Comparison",
    "FollowedBy",
    "Literal",
    "ObsAnd",
    "ObsExpr",
    "ObsOr",
    "Observation",
    "Or",
    "PathStep",
    "Qualified",
    "Repeats",
    "StartStop",
    "Timestamp",
    "Within",
]


@dataclass(frozen=True, slots=True, order=True)
class Timestamp:
    """A ``t'...'`` literal: UTC microseconds since the epoch."""

    micros: int


Literal: TypeAlias = int | float | str | bool | bytes | Timestamp

#: Comparison operators; ``NOT`` is a separate flag on :class:`Comparison`.
COMPARISON_OPS = frozenset(
    {"=", "!=", "<", "<=", ">", ">=", "IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET", "EXISTS"}
)

#: A path step: a property name, a list index, or ``"*"`` for ``[*]``.
PathStep: TypeAlias = "str | int | _Star"


class _Star:
    """Marker for the ``[*]`` list step (distinct from the key ``'*'``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "[*]"


STAR = _Star()


@dataclass(frozen=True, slots=True)
class Comparison:
    """``object_type:path <op> value``; ``negated`` is the spec's ``NOT``."""

    object_type: str
    path: tuple[str | int | _Star, ...]
    op: str
    value: Literal | frozenset[Literal] | tuple[Literal, ...] | None
    negated: bool = False


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[CompExpr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[CompExpr, ...]


CompExpr: TypeAlias = Comparison | And | Or


@dataclass(frozen=True, slots=True)
class Within:
    micros: int


@dataclass(frozen=True, slots=True)
class Repeats:
    times: int


@dataclass(frozen=True, slots=True)
class StartStop:
    start: int  # microseconds
    stop: int


Qualifier: TypeAlias = Within | Repeats | StartStop


@dataclass(frozen=True, slots=True)
class Observation:
    """``[ comparison expression ]``: must hold on one observed event."""

    expr: CompExpr
    leaf_id: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class ObsAnd:
    left: ObsExpr
    right: ObsExpr


@dataclass(frozen=True, slots=True)
class ObsOr:
    left: ObsExpr
    right: ObsExpr


@dataclass(frozen=True, slots=True)
class FollowedBy:
    left: ObsExpr
    right: ObsExpr


@dataclass(frozen=True, slots=True)
class Qualified:
    expr: ObsExpr
    qualifier: Qualifier


ObsExpr: TypeAlias = Observation | ObsAnd | ObsOr | FollowedBy | Qualified
