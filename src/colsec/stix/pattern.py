"""STIX patterning at the boundary: syntax validation and simple comparison atoms.

Uses the project's hand-written parser (``pattern_parse``), ~25× faster than
stix2-patterns' ANTLR grammar, which stays the reference in the differential
tests (tests/match/test_parse.py).  The store validates every indicator with it,
so bulk imports are not bound by the parser.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from colsec.stix.pattern_ast import (
    STAR,
    And,
    Comparison,
    CompExpr,
    FollowedBy,
    ObsAnd,
    Observation,
    ObsExpr,
    ObsOr,
    Or,
    Qualified,
    Timestamp,
)
from colsec.stix.pattern_parse import PatternSyntaxError, parse_pattern

__all__ = ["MAX_PATTERN_LENGTH", "Atom", "PatternError", "comparison_atoms", "equality_atoms", "validate"]

MAX_PATTERN_LENGTH = 16_384


class PatternError(ValueError):
    """The pattern is not valid STIX 2.1 patterning."""


class Atom(NamedTuple):
    object_type: str
    path: str  # dotted property path: "hashes.SHA-256", "values[*].name"
    op: str  # "=", "NOT =", "IN", "LIKE", "ISSUBSET", ...
    value: str  # the literal as text (lists/sets as their repr)


def _path_text(path: tuple[object, ...]) -> str:
    parts: list[str] = []
    for step in path:
        if step is STAR:
            parts.append("[*]")
        elif isinstance(step, int):
            parts.append(f"[{step}]")
        else:
            parts.append(("." if parts else "") + str(step))
    return "".join(parts)


def _value_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Timestamp):
        return str(value.micros)
    return repr(value)


def _comparisons(expr: ObsExpr | CompExpr) -> list[Comparison]:
    out: list[Comparison] = []
    stack: list[object] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Comparison):
            out.append(node)
        elif isinstance(node, And | Or):
            stack.extend(reversed(node.items))
        elif isinstance(node, Observation):
            stack.append(node.expr)
        elif isinstance(node, ObsAnd | ObsOr | FollowedBy):
            stack.extend([node.right, node.left])
        elif isinstance(node, Qualified):
            stack.append(node.expr)
    return out


@lru_cache(maxsize=8192)
def _inspect(text: str) -> tuple[Atom, ...]:
    if not isinstance(text, str) or not text.strip():
        raise PatternError("pattern is empty")
    if len(text) > MAX_PATTERN_LENGTH:
        raise PatternError(f"pattern longer than {MAX_PATTERN_LENGTH} characters")
    try:
        tree = parse_pattern(text)
    except PatternSyntaxError as exc:
        raise PatternError(str(exc) or "invalid pattern") from None
    except RecursionError:
        raise PatternError("pattern nested too deeply") from None
    return tuple(
        Atom(c.object_type, _path_text(c.path), ("NOT " if c.negated else "") + c.op, _value_text(c.value))
        for c in _comparisons(tree)
    )


def validate(text: str) -> None:
    """Raise PatternError if ``text`` is not a valid STIX 2.1 pattern."""
    _inspect(text)


def comparison_atoms(text: str) -> tuple[Atom, ...]:
    return _inspect(text)


def equality_atoms(text: str) -> list[Atom]:
    """Positive ``=`` comparisons: what the pattern says is bad, for the observables index."""
    return [a for a in _inspect(text) if a.op == "="]
