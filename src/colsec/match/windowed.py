"""Compound patterns across events: the per-indicator buffer behind WITHIN, REPEATS and FOLLOWEDBY.

A pattern spanning several observations cannot be answered from one event.
Each such indicator keeps the recent events that satisfied one of its
comparison leaves (bounded by the pattern's ``WITHIN`` or the engine's window,
and by a length cap so a noisy value cannot grow it without end) and asks the
exact evaluator for a binding that includes the newest event; the events bound
into an alert leave the buffer, so one burst alerts once.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from colsec.match.compiler import Plan, path_key
from colsec.match.evaluate import Obs, find_binding, select
from colsec.match.events import Event
from colsec.match.predicates import PREDICATES
from colsec.stix.pattern_ast import Comparison, CompExpr

__all__ = ["Compound", "matched_values"]

Matched = list[tuple[str, Any]]  # ("type:path", value)


@dataclass(slots=True)
class Compound:
    """One compound indicator's plan and its buffer of (observation, event, leaves hit)."""

    plan: Plan
    buffer: deque[tuple[Obs, Event, frozenset[int]]] = field(default_factory=deque)

    def _trim(self, now: int, window: int) -> None:
        horizon = self.plan.horizon if self.plan.horizon is not None else window
        buf = self.buffer
        while buf and buf[0][0].last < now - horizon:
            buf.popleft()

    def push(
        self, obs: Obs, ev: Event, leaf_ids: frozenset[int], *, window: int, max_buffer: int
    ) -> tuple[list[Event], Matched] | None:
        """Add an event that hit some leaves; the bound events and values when the pattern holds."""
        buf = self.buffer
        buf.append((obs, ev, leaf_ids))
        self._trim(ev.ts, window)
        while len(buf) > max_buffer:
            buf.popleft()
        plan = self.plan
        if plan.counter is not None:
            # [x] REPEATS n TIMES [WITHIN d] on point-in-time events: n hits in the window.
            n = plan.counter[0]
            if len(buf) < n:
                return None
            used = list(range(len(buf) - n, len(buf)))
        else:
            leaf_hits: dict[int, list[int]] = defaultdict(list)
            for i, (_, _, lids) in enumerate(buf):
                for lid in lids:
                    leaf_hits[lid].append(i)
            observations = [b[0] for b in buf]
            binding = find_binding(plan.ast, observations, leaf_hits, must_include=len(buf) - 1)
            if binding is None:
                return None
            used = sorted({i for i, _ in binding})
        bound = [buf[i][1] for i in used]
        matched: Matched = []
        for i in used:
            for leaf in plan.leaves:
                if leaf.leaf_id in buf[i][2]:
                    matched.extend(matched_values(leaf.expr, buf[i][0]))
        for i in reversed(used):
            del buf[i]
        return bound, list(dict.fromkeys(matched))

    def expire(self, now: int, window: int) -> None:
        """Drop events too old to take part in any future binding."""
        if self.buffer:
            self._trim(now, window)


def matched_values(expr: CompExpr, obs: Obs) -> Matched:
    """Values that satisfied the positive comparisons of ``expr`` (for the alert's ``matched``)."""
    out: Matched = []
    stack: list[CompExpr] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Comparison):
            if node.negated or node.op == "EXISTS":
                continue
            pred = PREDICATES.get(node)
            for _, values in select(obs, node.object_type, node.path):
                for v in values:
                    if isinstance(v, str | int | float) and pred(v):
                        out.append((f"{node.object_type}:{path_key(node.path)[0]}", v))
        else:
            stack.extend(node.items)
    return out
