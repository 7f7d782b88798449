"""Exact evaluation of a parsed pattern against observations.

This is the semantic core every fast path must agree with; it follows the
STIX 2.1 patterning spec as the reference matcher (stix2-matcher) reads it:

* a comparison expression holds on one observation; ``AND`` requires the
  comparisons to hold on the *same* root object, ``OR`` on any;
* an object path selects values from every object of the type, stepping
  into dicts, lists (``[n]``, ``[*]``) and through ``_ref``/``_refs``;
* a comparison holds on a root object when *any* selected value passes the
  test (``NOT`` and ``!=`` negate per value);
* observation operators bind distinct observation *instances*
  (``number_observed`` expands an observation); ``FOLLOWEDBY`` needs the
  left side's latest ``first_observed`` <= the right side's earliest
  ``last_observed``; ``WITHIN``, ``REPEATS`` and ``START``/``STOP`` filter or
  combine bindings.

Bindings are kept as frozensets of instance ids: every later step depends
only on which instances a binding holds, so deduplicating them is exact and
keeps the search small.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import combinations, islice
from typing import Any

from colsec.match.predicates import PREDICATES, PredicateCache
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
    Qualified,
    Repeats,
    StartStop,
    Within,
)

__all__ = [
    "MAX_BINDINGS",
    "Obs",
    "evaluate_comparison",
    "find_binding",
    "select",
]

#: Cap on bindings kept per pattern node; beyond it the search stops widening
#: (only pathological REPEATS over many observations get near it).
MAX_BINDINGS = 20_000

Instance = tuple[int, int]
Binding = frozenset[Instance]


@dataclass(slots=True)
class Obs:
    """One observation: its objects (id -> SCO dict) and its time interval (µs)."""

    objects: Mapping[str, Mapping[str, Any]]
    first: int
    last: int
    count: int = 1
    by_type: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def ids_of_type(self, obj_type: str) -> list[str]:
        if not self.by_type:
            for oid, obj in self.objects.items():
                t = obj.get("type") if isinstance(obj, Mapping) else None
                if isinstance(t, str):
                    self.by_type.setdefault(t, []).append(oid)
            if not self.by_type:
                self.by_type[""] = []
        return self.by_type.get(obj_type, [])


# -- object paths -----------------------------------------------------------


def _suffix_value(key: str, value: Any) -> Any:
    if key.endswith("_hex") and isinstance(value, str):
        return binascii.a2b_hex(value)
    if key.endswith("_bin") and isinstance(value, str):
        return base64.standard_b64decode(value)
    return value


def _step(values: list[Any], step: Any, objects: Mapping[str, Mapping[str, Any]]) -> list[Any]:
    if step is STAR:
        return [x for v in values if isinstance(v, list) for x in v]
    if isinstance(step, int):
        return [v[step] for v in values if isinstance(v, list) and 0 <= step < len(v)]
    out: list[Any] = []
    for v in values:
        if isinstance(v, Mapping) and step in v:
            try:
                out.append(_suffix_value(step, v[step]))
            except (ValueError, binascii.Error):
                continue
    if step.endswith("_ref"):
        return [objects[r] for r in out if isinstance(r, str) and r in objects]
    if step.endswith("_refs"):
        lists = []
        for refs in out:
            if isinstance(refs, list):
                resolved = [objects[r] for r in refs if isinstance(r, str) and r in objects]
                if resolved:
                    lists.append(resolved)
        return lists
    return out


def select(obs: Obs, obj_type: str, path: tuple[Any, ...]) -> Iterator[tuple[str, list[Any]]]:
    """(root object id, selected values) for every object of the type with the path."""
    objects = obs.objects
    for oid in obs.ids_of_type(obj_type):
        values: list[Any] = [objects[oid]]
        for step in path:
            values = _step(values, step, objects)
            if not values:
                break
        if values:
            yield oid, values


# -- comparison expressions -------------------------------------------------


def evaluate_comparison(expr: CompExpr, obs: Obs, predicates: PredicateCache = PREDICATES) -> set[str]:
    """Root object ids of ``obs`` on which the comparison expression holds."""
    if isinstance(expr, Comparison):
        if expr.op == "EXISTS":
            present = {oid for oid, _ in select(obs, expr.object_type, expr.path)}
            if expr.negated:
                return set(obs.ids_of_type(expr.object_type)) - present
            return present
        pred = predicates.get(expr)
        return {oid for oid, values in select(obs, expr.object_type, expr.path) if any(map(pred, values))}
    if isinstance(expr, And):
        acc: set[str] | None = None
        for item in expr.items:
            roots = evaluate_comparison(item, obs, predicates)
            acc = roots if acc is None else acc & roots
            if not acc:
                return set()
        return acc or set()
    result: set[str] = set()
    for item in expr.items:
        result |= evaluate_comparison(item, obs, predicates)
    return result


# -- observation expressions ------------------------------------------------


def _unique(items: Iterable[Binding]) -> Iterator[Binding]:
    seen: set[Binding] = set()
    for b in items:
        if b not in seen:
            seen.add(b)
            yield b


class _Search:
    def __init__(self, observations: list[Obs], leaf_hits: Mapping[int, list[int]] | None) -> None:
        self.obs = observations
        self.leaf_hits = leaf_hits

    def first(self, b: Binding) -> int:
        return max(self.obs[o].first for o, _ in b)

    def last(self, b: Binding) -> int:
        return min(self.obs[o].last for o, _ in b)

    def run(self, node: ObsExpr) -> list[Binding]:
        """All bindings of ``node`` (deduplicated, capped)."""
        return list(islice(_unique(self.gen(node)), MAX_BINDINGS))

    def gen(self, node: ObsExpr) -> Iterator[Binding]:
        """Bindings of ``node``, lazily: the caller stops at the first one it needs."""
        if isinstance(node, Observation):
            if self.leaf_hits is not None:
                hits: Iterable[int] = self.leaf_hits.get(node.leaf_id, [])
            else:
                hits = (i for i, o in enumerate(self.obs) if evaluate_comparison(node.expr, o))
            for i in hits:
                for k in range(self.obs[i].count):
                    yield frozenset({(i, k)})
            return
        if isinstance(node, ObsOr):
            yield from self.gen(node.left)
            yield from self.gen(node.right)
            return
        if isinstance(node, ObsAnd | FollowedBy):
            right = self.run(node.right)
            if not right:
                return
            ordered = isinstance(node, FollowedBy)
            right_last = [self.last(rb) for rb in right] if ordered else []
            for lb in _unique(self.gen(node.left)):
                lf = self.first(lb) if ordered else 0
                for n, rb in enumerate(right):
                    if lb.isdisjoint(rb) and (not ordered or lf <= right_last[n]):
                        yield lb | rb
            return
        assert isinstance(node, Qualified)
        qual = node.qualifier
        if isinstance(qual, Within):
            d = qual.micros
            yield from (b for b in self.gen(node.expr) if self._within(b, d))
        elif isinstance(qual, StartStop):
            if qual.start < qual.stop:
                yield from (
                    b
                    for b in self.gen(node.expr)
                    if all(self.obs[o].first < qual.stop and self.obs[o].last >= qual.start for o, _ in b)
                )
        else:
            assert isinstance(qual, Repeats)
            if qual.times == 1:
                yield from self.gen(node.expr)
            else:
                yield from self._repeats(self.run(node.expr), qual.times)

    def _within(self, b: Binding, d: int) -> bool:
        earliest_last = min(self.obs[o].last for o, _ in b)
        return all(self.obs[o].first <= earliest_last + d for o, _ in b)

    def _repeats(self, bindings: list[Binding], n: int) -> Iterator[Binding]:
        if sum(len(b) for b in bindings) < n:
            return
        for combo in combinations(bindings, n):
            merged: set[Instance] = set()
            total = 0
            for b in combo:
                merged |= b
                total += len(b)
            if len(merged) == total:
                yield frozenset(merged)


def find_binding(
    pattern: ObsExpr,
    observations: list[Obs],
    leaf_hits: Mapping[int, list[int]] | None = None,
    *,
    must_include: int | None = None,
) -> Binding | None:
    """One set of (observation index, instance) that satisfies the pattern, or None.

    ``leaf_hits`` (leaf id -> matching observation indexes) lets a caller that
    already evaluated the bracketed expressions skip re-evaluating them;
    ``must_include`` asks only for bindings that use that observation (the
    newest one, in streaming: older combinations were tried before).
    """
    found = _Search(observations, leaf_hits).gen(pattern)
    for n, b in enumerate(found):
        if must_include is None or any(o == must_include for o, _ in b):
            return b
        if n >= MAX_BINDINGS:
            break
    return None
