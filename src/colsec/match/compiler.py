"""Indicator patterns -> index anchors and evaluation plans.

An *anchor* is a cheap test that must succeed for a bracketed observation
expression (a *leaf*) to hold on an event: an equality value, a CIDR block,
a domain suffix, a literal substring, or - when nothing better exists - "the
event has an object of this type".  A leaf's anchors form a disjunction:
``AND`` keeps the cheapest child's anchors, ``OR`` unites its children's.
A leaf that is one plain positive comparison is *exact*: an index hit is the
answer and the evaluator is skipped.

Normalisation happens here, once: hash algorithm names are rewritten to
STIX's spelling (``hashes.sha256`` -> ``hashes.'SHA-256'``) and hash and
domain literals lower-cased, matching what the readers emit.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from colsec.match.events import HASH_NAMES
from colsec.stix.pattern_ast import (
    STAR,
    And,
    Comparison,
    CompExpr,
    Observation,
    ObsExpr,
    Or,
    Qualified,
    Repeats,
    Within,
)

__all__ = [
    "MAX_LEAVES",
    "Anchor",
    "Leaf",
    "Plan",
    "normalise",
    "path_key",
    "plan_pattern",
    "required_literal",
]

MAX_LEAVES = 64  # anchor row codes are indicator * 64 + leaf

# kind, object type, path key, value
Anchor = tuple[str, str, str, Any]
_COST = {"eq": 0, "cidr": 1, "suffix": 2, "substr": 3, "scan": 4}


def path_key(path: tuple[Any, ...]) -> tuple[str, bool]:
    """Path as the flat key the readers' values are filed under; False when it had a list index."""
    parts: list[str] = []
    exact = True
    for step in path:
        if step is STAR:
            parts.append("[*]")
        elif isinstance(step, int):
            parts.append("[*]")
            exact = False
        else:
            parts.append(("." if parts else "") + step)
    return "".join(parts), exact


def _norm_comparison(c: Comparison) -> Comparison:
    path = c.path
    lower = False
    if len(path) >= 2 and path[-2] == "hashes" and isinstance(path[-1], str):
        name = HASH_NAMES.get(path[-1].lower())
        if name:
            path = (*path[:-1], name)
        lower = True
    elif c.object_type == "domain-name" and path == ("value",):
        lower = True
    if not lower or c.op not in ("=", "!=", "IN"):
        return c if path == c.path else dataclasses.replace(c, path=path)
    value = c.value
    if isinstance(value, str):
        value = value.lower()
    elif isinstance(value, frozenset):
        value = frozenset(v.lower() if isinstance(v, str) else v for v in value)
    return dataclasses.replace(c, path=path, value=value)


def _norm_comp(expr: CompExpr) -> CompExpr:
    if isinstance(expr, Comparison):
        return _norm_comparison(expr)
    items = tuple(_norm_comp(i) for i in expr.items)
    return And(items) if isinstance(expr, And) else Or(items)


def normalise(node: ObsExpr) -> ObsExpr:
    if isinstance(node, Observation):
        return Observation(_norm_comp(node.expr), node.leaf_id)
    if isinstance(node, Qualified):
        return Qualified(normalise(node.expr), node.qualifier)
    return type(node)(normalise(node.left), normalise(node.right))


def _skip_group(regex: str, i: int) -> int:
    """Index after the ``)`` closing the group that opens at ``i``."""
    depth = 0
    n = len(regex)
    while i < n:
        c = regex[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            j = regex.find("]", i + 2)
            i = n if j < 0 else j + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def required_literal(regex: str) -> str | None:
    """The longest literal every match of ``regex`` must contain (>= 3 chars), or None.

    Conservative: groups, classes and escapes end a literal run; a character
    followed by ``*``, ``?`` or ``{`` is dropped; any ``|`` gives up.
    """
    if "|" in regex:
        return None
    runs: list[str] = []
    cur: list[str] = []
    i, n = 0, len(regex)
    while i < n:
        c = regex[i]
        if c == "\\" and i + 1 < n:
            nxt = regex[i + 1]
            i += 2
            if nxt.isalnum():
                runs.append("".join(cur))
                cur = []
            else:
                cur.append(nxt)
        elif c == "[":
            j = regex.find("]", i + 2)
            i = n if j < 0 else j + 1
            runs.append("".join(cur))
            cur = []
        elif c == "(":
            i = _skip_group(regex, i)
            runs.append("".join(cur))
            cur = []
        elif c in "*?{+":
            if c == "{":
                j = regex.find("}", i)
                i = n if j < 0 else j + 1
            else:
                i += 1
            if cur and c != "+":
                cur.pop()
            runs.append("".join(cur))
            cur = []
        elif c in ".^$)":
            i += 1
            runs.append("".join(cur))
            cur = []
        else:
            cur.append(c)
            i += 1
    runs.append("".join(cur))
    best = max(runs, key=len)
    return best if len(best) >= 3 else None


def _like_literal(like: str) -> tuple[str, str | None]:
    """('eq'|'suffix'|'substr'|'scan', value) for a LIKE pattern."""
    if "%" not in like and "_" not in like:
        return "eq", like
    body = like[1:]
    if like.startswith("%.") and "%" not in body and "_" not in body:
        return "suffix", body
    runs = [r for chunk in like.split("%") for r in chunk.split("_")]
    best = max(runs, key=len)
    return ("substr", best) if len(best) >= 3 else ("scan", None)


def _comparison_anchors(c: Comparison) -> tuple[list[Anchor], bool]:
    key, plain = path_key(c.path)
    scan: list[Anchor] = [("scan", c.object_type, "", None)]
    if c.negated or c.op in ("!=", "<", "<=", ">", ">=", "EXISTS", "ISSUPERSET"):
        return scan, False
    if any(isinstance(step, str) and ("." in step or "[" in step) for step in c.path):
        return scan, False  # a quoted key with '.' or '[' cannot be a flat index key: evaluate exactly
    if c.op == "=":
        if isinstance(c.value, str):
            return [("eq", c.object_type, key, c.value)], plain
        return scan, False
    if c.op == "IN":
        members = c.value if isinstance(c.value, frozenset) else frozenset()
        if all(isinstance(m, str) for m in members):
            return [("eq", c.object_type, key, m) for m in sorted(members)], plain
        return scan, False
    if c.op == "ISSUBSET":
        return [("cidr", c.object_type, key, c.value)], plain
    if c.op == "LIKE":
        kind, lit = _like_literal(str(c.value))
        if kind == "scan":
            return scan, False
        exact = plain and kind == "suffix" and str(c.value).isascii()
        return [(kind, c.object_type, key, lit)], exact
    if c.op == "MATCHES":
        lit = required_literal(str(c.value))
        if lit is None:
            return scan, False
        return [("substr", c.object_type, key, lit)], False
    return scan, False


def _anchors(expr: CompExpr) -> list[Anchor]:
    if isinstance(expr, Comparison):
        return _comparison_anchors(expr)[0]
    options = [_anchors(i) for i in expr.items]
    if isinstance(expr, And):
        return min(options, key=lambda a: (max((_COST[x[0]] for x in a), default=-1), len(a)))
    out: list[Anchor] = []
    for o in options:
        out.extend(o)
    return list(dict.fromkeys(out))


@dataclass(slots=True)
class Leaf:
    leaf_id: int
    expr: CompExpr
    anchors: list[Anchor]
    exact: bool


@dataclass(slots=True)
class Plan:
    """How one indicator is matched."""

    ast: ObsExpr
    leaves: list[Leaf]
    windowed: bool  # needs state across events (several leaves, REPEATS, ...)
    qualified: bool  # single leaf with WITHIN/START/STOP: check with the evaluator
    horizon: int | None  # µs a binding may span (WITHIN), None when unbounded
    counter: tuple[int, int | None] | None = None  # [x] REPEATS n TIMES [WITHIN d]: count hits


def _check_predicates(expr: CompExpr) -> None:
    """Compile every comparison now, so a bad regex or CIDR refuses the indicator at load time."""
    from colsec.match.predicates import PREDICATES

    if isinstance(expr, Comparison):
        if expr.op != "EXISTS":
            PREDICATES.get(expr)
        return
    for item in expr.items:
        _check_predicates(item)


def _collect_leaves(node: ObsExpr, out: list[Observation]) -> None:
    if isinstance(node, Observation):
        out.append(node)
    elif isinstance(node, Qualified):
        _collect_leaves(node.expr, out)
    else:
        _collect_leaves(node.left, out)
        _collect_leaves(node.right, out)


def _only_time_filters(node: ObsExpr) -> bool:
    while isinstance(node, Qualified):
        if isinstance(node.qualifier, Repeats) and node.qualifier.times > 1:
            return False
        node = node.expr
    return isinstance(node, Observation)


def plan_pattern(ast: ObsExpr) -> Plan:
    ast = normalise(ast)
    obs: list[Observation] = []
    _collect_leaves(ast, obs)
    if len(obs) > MAX_LEAVES:
        raise ValueError(f"pattern has more than {MAX_LEAVES} observation expressions")
    leaves = []
    for o in obs:
        _check_predicates(o.expr)
        if isinstance(o.expr, Comparison):
            anchors, exact = _comparison_anchors(o.expr)
        else:
            anchors, exact = _anchors(o.expr), False
        leaves.append(Leaf(o.leaf_id, o.expr, anchors, exact))
    single = len(leaves) == 1 and _only_time_filters(ast)
    horizon = (
        ast.qualifier.micros if isinstance(ast, Qualified) and isinstance(ast.qualifier, Within) else None
    )
    counter = None
    node = ast
    within = None
    if isinstance(node, Qualified) and isinstance(node.qualifier, Within):
        within = node.qualifier.micros
        node = node.expr
    if (
        isinstance(node, Qualified)
        and isinstance(node.qualifier, Repeats)
        and isinstance(node.expr, Observation)
    ):
        counter = (node.qualifier.times, within)
    return Plan(
        counter=counter,
        ast=ast,
        leaves=leaves,
        windowed=not single,
        qualified=single and isinstance(ast, Qualified),
        horizon=horizon,
    )
