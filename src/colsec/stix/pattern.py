"""STIX patterning at the boundary: syntax validation and simple comparison atoms.

Validation uses the OASIS reference grammar (stix2-patterns).  The matching
engine has its own compiler; this module only answers "is the pattern valid?"
and "which plain ``path = 'value'`` comparisons does it contain?" (for the
observables index).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

__all__ = ["MAX_PATTERN_LENGTH", "Atom", "PatternError", "comparison_atoms", "equality_atoms", "validate"]

MAX_PATTERN_LENGTH = 16_384


class PatternError(ValueError):
    """The pattern is not valid STIX 2.1 patterning."""


class Atom(NamedTuple):
    object_type: str
    path: str  # dotted property path, quotes removed: "hashes.SHA-256"
    op: str  # "=", "NOT =", "IN", "LIKE", "ISSUBSET", ...
    value: str  # literal with quotes removed (lists kept as text)


def _unquote(literal: str) -> str:
    if len(literal) >= 2 and literal[0] == "'" and literal[-1] == "'":
        return literal[1:-1].replace("\\'", "'").replace("\\\\", "\\")
    return literal


@lru_cache(maxsize=4096)
def _inspect(text: str) -> tuple[Atom, ...]:
    if not isinstance(text, str) or not text.strip():
        raise PatternError("pattern is empty")
    if len(text) > MAX_PATTERN_LENGTH:
        raise PatternError(f"pattern longer than {MAX_PATTERN_LENGTH} characters")
    from stix2patterns.exceptions import ParseException
    from stix2patterns.v21.pattern import Pattern

    try:
        data = Pattern(text).inspect()
    except ParseException as exc:
        raise PatternError(str(exc).splitlines()[0] if str(exc) else "invalid pattern") from None
    except Exception as exc:  # the ANTLR runtime raises assorted errors on garbage
        raise PatternError(f"invalid pattern: {exc}") from None
    atoms: list[Atom] = []
    for obj_type, comps in data.comparisons.items():
        for path, op, value in comps:
            parts = [p if isinstance(p, str) else f"[{p}]" for p in path]
            atoms.append(Atom(obj_type, ".".join(_unquote(p) for p in parts), op, _unquote(value)))
    return tuple(atoms)


def validate(text: str) -> None:
    """Raise PatternError if ``text`` is not a valid STIX 2.1 pattern."""
    _inspect(text)


def comparison_atoms(text: str) -> tuple[Atom, ...]:
    return _inspect(text)


def equality_atoms(text: str) -> list[Atom]:
    """Positive ``=`` comparisons: what the pattern says is bad, for the observables index."""
    return [a for a in _inspect(text) if a.op == "="]
