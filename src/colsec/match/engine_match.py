"""Matching a batch of events against the compiled indexes (``engine.MatchEngine``'s half
that reads them; building and refreshing them is the other): values gathered per path across
the batch, one vectorised lookup per index, and only candidate (event, indicator) pairs
confirmed in Python, compound patterns through their windowed buffers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from colsec.match.addresses import ipv4_numbers
from colsec.match.cidr import CidrIndex
from colsec.match.compiler import MAX_LEAVES
from colsec.match.evaluate import Obs, evaluate_comparison, find_binding
from colsec.match.events import Event
from colsec.match.index import HashIndex, SubstringIndex, SuffixIndex, hash_strings
from colsec.match.paths import Wanted, gather_columns
from colsec.match.records import Alert
from colsec.match.rows import RowTable
from colsec.match.windowed import Compound, matched_values

__all__ = ["BatchMatching", "Key"]

Key = tuple[str, str]  # (object type, path key)


class BatchMatching:
    """The matching half of the engine; the state it reads is the engine's."""

    window: int
    max_buffer: int
    rows: RowTable
    alive: np.ndarray
    complex: dict[int, Compound]
    _buffered: set[int]
    eq: dict[Key, HashIndex]
    cidr: dict[Key, CidrIndex]
    suffix: dict[Key, SuffixIndex]
    substr: dict[Key, SubstringIndex]
    scan: dict[str, list[int]]
    suppressed: int
    _meta: dict[int, tuple[str, str | None, str | None, str | None]]

    if TYPE_CHECKING:

        def _wanted_paths(self) -> Wanted: ...

        def warninglisted(self, where: str, value: Any) -> bool: ...

    def match(self, events: Sequence[Event], *, complex_only: bool = False) -> list[Alert]:
        """Alerts for a batch of events (in time order for windowed patterns).

        ``complex_only`` skips simple equality indicators (the vectorised path answered those).
        """
        if not events:
            return []
        columns, types_of = gather_columns([ev.objects for ev in events], self._wanted_paths())
        hits: dict[int, dict[int, list[tuple[str, Any]]]] = defaultdict(dict)  # event -> code -> matched

        def record(ei: int, code: int, key: Key, value: Any) -> None:
            hits[ei].setdefault(code, []).append((f"{key[0]}:{key[1]}", value))

        # one polars call hashes every value of the batch; each index then reads its slice
        eq_keys = [k for k in columns if k in self.eq]
        all_hashes = None
        if eq_keys:
            flat = [v for k in eq_keys for v in columns[k][0]]
            all_hashes = hash_strings(flat)
        offset = 0
        for key, (vals, eis) in columns.items():
            series: pl.Series | None = None
            idx = self.eq.get(key)
            if idx is not None and all_hashes is not None:
                series = pl.Series(vals, dtype=pl.String)
                pos, codes = idx.lookup(series, all_hashes[offset : offset + len(vals)])
                offset += len(vals)
                for p, c in zip(pos.tolist(), codes.tolist(), strict=True):
                    record(eis[p], c, key, vals[p])
            cidx = self.cidr.get(key)
            if cidx is not None:
                if series is None:
                    series = pl.Series(vals, dtype=pl.String)
                small = cidx.needs_numbers and len(vals) < 512
                pos, codes = cidx.lookup(series, ipv4_numbers(vals) if small else None)
                for p, c in zip(pos.tolist(), codes.tolist(), strict=True):
                    record(eis[p], c, key, vals[p])
            for table2 in (self.suffix, self.substr):
                idx2 = table2.get(key)
                if idx2 is not None:
                    for p, c in idx2.lookup(vals):
                        record(eis[p], c, key, vals[p])
        if self.scan:
            for ei, types in enumerate(types_of):
                for t in types:
                    for c in self.scan.get(t, ()):
                        hits[ei].setdefault(c, [])
        alerts: list[Alert] = []
        # indicator metadata of every row hit, in one gather (one lookup per alert costs more)
        self._meta = self.rows.get_many(sorted({c // MAX_LEAVES for codes in hits.values() for c in codes}))
        try:
            for ei in sorted(hits):
                alerts.extend(self._confirm(events[ei], hits[ei], complex_only))
        finally:
            self._meta = {}
        if self.complex:
            self._expire(max(e.ts for e in events))
        return alerts

    def _confirm(
        self, ev: Event, codes: dict[int, list[tuple[str, Any]]], complex_only: bool = False
    ) -> Iterator[Alert]:
        by_row: dict[int, dict[int, list[tuple[str, Any]]]] = defaultdict(dict)
        alive = self.alive
        for code, matched in codes.items():
            row, leaf_no = divmod(code, MAX_LEAVES)
            if alive[row]:
                by_row[row][leaf_no] = matched
        obs: Obs | None = None
        for row, leaves in by_row.items():
            cx = self.complex.get(row)
            if cx is None:  # simple exact equality
                if complex_only:
                    continue
                matched = leaves[0]
                if not all(self.warninglisted(w, v) for w, v in matched):
                    yield self._alert(row, [ev], matched)
                else:
                    self.suppressed += 1
                continue
            if obs is None:
                obs = ev.observation()
            hit_leaves: dict[int, list[tuple[str, Any]]] = {}
            for leaf in cx.plan.leaves:
                if leaf.leaf_id not in leaves:
                    continue
                if leaf.exact:
                    hit_leaves[leaf.leaf_id] = leaves[leaf.leaf_id]
                elif evaluate_comparison(leaf.expr, obs):
                    hit_leaves[leaf.leaf_id] = leaves[leaf.leaf_id] or matched_values(leaf.expr, obs)
            if not hit_leaves:
                continue
            matched = [m for ms in hit_leaves.values() for m in ms]
            if not cx.plan.windowed:
                if cx.plan.qualified and find_binding(cx.plan.ast, [obs]) is None:
                    continue
                if matched and all(self.warninglisted(w, v) for w, v in matched):
                    self.suppressed += 1
                    continue
                yield self._alert(row, [ev], matched)
                continue
            hit = cx.push(obs, ev, frozenset(hit_leaves), window=self.window, max_buffer=self.max_buffer)
            if cx.buffer:
                self._buffered.add(row)
            if hit is not None:
                yield self._alert(row, *hit)

    def _expire(self, now: int) -> None:
        """Old events out of the compound buffers; a loop over every compound indicator cost a
        streamed event more than its matching (2,000 of them: 1.5 ms, measured)."""
        for row in list(self._buffered):
            cx = self.complex.get(row)
            if cx is not None:
                cx.expire(now, self.window)
            if cx is None or not cx.buffer:
                self._buffered.discard(row)

    def _alert(self, row: int, events: list[Event], matched: list[tuple[str, Any]]) -> Alert:
        meta = self._meta.get(row)
        ident, owner, tlp, name = meta if meta is not None else self.rows.get(row)
        return Alert(ident, events, matched, owner, tlp, name)
