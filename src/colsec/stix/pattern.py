"""STIX patterning at the boundary: syntax validation and simple comparison atoms.

Uses the project's hand-written parser (``pattern_parse``), ~25× faster than
stix2-patterns' ANTLR grammar, which stays the reference in the differential
tests (tests/match/test_parse.py).  The store validates every indicator with it,
so bulk imports are not bound by the parser.
"""

from __future__ import annotations

import re
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
from colsec.stix.pattern_parse import PatternSyntaxError, parse_pattern, unescape_string

__all__ = [
    "MAX_PATTERN_LENGTH",
    "Atom",
    "PatternError",
    "comparison_atoms",
    "equality_atoms",
    "known_head",
    "validate",
]

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


# The shape converters write for nearly every indicator: one observation of equality tests on
# strings joined by AND, single spaces, lower-case names.  Every text it accepts is a valid
# pattern with the same atoms as the full parse (a differential test holds it to that); any
# other text, however valid, takes the full parser.
_COMPARISON = re.compile(
    r"([a-z][a-z0-9-]*):([a-z_][a-z0-9_]*(?:\.(?:[a-z_][a-z0-9_]*|'[^'\\]*')|\[\*\])*)"
    r" = ('[^'\\]*(?:\\['\\][^'\\]*)*')"  # a quoted string, unrolled: no alternation per character
)
_BOOLEANS = frozenset({"true", "false"})  # lexed as literals, never as names
_match_comparison = _COMPARISON.match
_new_atom = tuple.__new__


# Heads ("[ipv4-addr:value", "[file:hashes.'SHA-256'") of one-comparison patterns the regex
# below has read, with their (object type, path): a bulk import's indicators share a few, so the
# next pattern with a known head is read by slicing.  A head holds no space, so its path cannot
# run on past it and " = " can only follow it; with a value holding no quote or backslash, the
# regex could read such a text in one way only: this head's type and path, this value
# (tests/store/test_pattern_heads.py holds the slice to the regex and the parser).  Bounded:
# heads come from outside.
_HEADS: dict[str, tuple[str, str]] = {}
_MAX_HEADS = 4096


def known_head(head: str) -> tuple[str, str] | None:
    """(object type, path) of a head the regex has read (``_HEADS``), else None: a text
    ``head = 'value']`` whose value holds no quote or backslash has that one atom, ``=`` the value."""
    return _HEADS.get(head)


def _known_head(text: str) -> tuple[Atom] | None:
    """The atom of ``head = 'value'`` in brackets when the head is known, else None."""
    at = text.find(" = '")
    head = _HEADS.get(text[:at]) if at > 0 else None
    if head is None or len(text) < at + 6 or text[-2:] != "']":
        return None
    value = text[at + 4 : -2]
    if "'" in value or "\\" in value:
        return None
    return (_new_atom(Atom, (head[0], head[1], "=", value)),)


def _simple_atoms(text: str) -> tuple[Atom, ...] | None:
    """Atoms of a ``[a:b = 'c' AND ...]`` pattern read without the parser, or None for any other text."""
    known = _known_head(text)
    if known is not None:
        return known
    if text[:1] != "[" or text[-1:] != "]":
        return None
    atoms: list[Atom] = []
    pos, end = 1, len(text) - 1
    while True:
        m = _match_comparison(text, pos)
        if m is None:
            return None
        obj_type, path, value = m.groups()
        if obj_type in _BOOLEANS or (("true" in path or "false" in path) and _names_a_boolean(path)):
            return None
        # Built as a plain tuple of the Atom class (its keyword constructor costs as much as the
        # regex here); the quoted value without its quotes unless it escapes something.
        value = value[1:-1] if "\\" not in value else unescape_string(value)
        atom = _new_atom(Atom, (obj_type, path.replace("'", "") if "'" in path else path, "=", value))
        pos = m.end()
        if pos == end:
            if not atoms:
                if " " not in path:  # (see _HEADS)
                    if len(_HEADS) >= _MAX_HEADS:
                        _HEADS.clear()
                    _HEADS[text[: m.end(2)]] = (atom.object_type, atom.path)
                return (atom,)  # the usual one comparison: no list
            atoms.append(atom)
            return tuple(atoms)
        atoms.append(atom)
        if not text.startswith(" AND ", pos):
            return None
        pos += 5


def _names_a_boolean(path: str) -> bool:
    """A step of the path is the keyword ``true``/``false`` ('true[*][*]' too); only run when it may be."""
    return not {step.split("[", 1)[0] for step in path.split(".")}.isdisjoint(_BOOLEANS)


@lru_cache(maxsize=8192)
def _inspect(text: str) -> tuple[Atom, ...]:
    if not isinstance(text, str) or not text.strip():
        raise PatternError("pattern is empty")
    if len(text) > MAX_PATTERN_LENGTH:
        raise PatternError(f"pattern longer than {MAX_PATTERN_LENGTH} characters")
    simple = _simple_atoms(text)
    return simple if simple is not None else _parsed_atoms(text)


def _parsed_atoms(text: str) -> tuple[Atom, ...]:
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
    """Raise PatternError if ``text`` is not a valid STIX 2.1 pattern.

    A text of a known head and a value holding no quote or backslash is valid (``_known_head``
    would read it): answered without building its atom or filling the cache with it (a bulk
    import's indicators are each new, and their index rows read the head, not the atom).
    """
    if type(text) is str and len(text) <= MAX_PATTERN_LENGTH:
        at = text.find(" = '")
        if at > 0 and text[-2:] == "']" and len(text) >= at + 6 and text[:at] in _HEADS:
            value = text[at + 4 : -2]
            if "'" not in value and "\\" not in value:
                return
    _inspect(text)


def comparison_atoms(text: str) -> tuple[Atom, ...]:
    return _inspect(text)


def equality_atoms(text: str) -> list[Atom]:
    """Positive ``=`` comparisons: what the pattern says is bad, for the observables index."""
    return [a for a in _inspect(text) if a.op == "="]
