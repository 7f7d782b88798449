"""The matching engine: compile the active indicator set once, match event batches many times.

Input is a plain iterable of :class:`IndicatorRecord` (the store integration
produces them), so the engine never touches the database.  This module builds and
refreshes the indexes; ``engine_match`` matches with them.  Events are matched
in batches: values are gathered per (object type, path) across the batch and
looked up with one vectorised call per index; only candidate
(event, indicator) pairs reach Python, and only non-exact ones reach the
evaluator.  Patterns spanning several observations keep a per-indicator
buffer of recent relevant events (bounded by the pattern's ``WITHIN`` or the
engine's window and a length cap) and are re-evaluated when it changes.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import polars as pl

from colsec.gcpause import release_free_memory
from colsec.match.addresses import valid_cidr
from colsec.match.cidr import CidrIndex
from colsec.match.compiler import MAX_LEAVES, Anchor, plan_pattern
from colsec.match.engine_match import BatchMatching, Key
from colsec.match.events import HASH_NAMES
from colsec.match.index import HashIndex, SubstringIndex, SuffixIndex
from colsec.match.paths import Steps, Wanted, path_steps
from colsec.match.records import Alert, CompileReport, IndicatorRecord
from colsec.match.rows import RowTable
from colsec.match.windowed import Compound
from colsec.stix.pattern_parse import PatternSyntaxError, parse_pattern

__all__ = ["Alert", "CompileReport", "IndicatorRecord", "MatchEngine"]

# incremental equality additions kept beside an index before it is rebuilt with them
_COMPACT_AFTER = 2_048


class MatchEngine(BatchMatching):
    """Compiled indexes over the active indicators plus the windowed state of complex patterns."""

    def __init__(
        self,
        *,
        warninglist: Callable[[str, str], bool] | None = None,
        window: float = 3600.0,
        max_buffer: int = 64,
    ) -> None:
        self._warninglist = warninglist
        self.window = int(window * 1_000_000)
        self.max_buffer = max_buffer
        self.rows = RowTable()
        self.alive = np.zeros(0, dtype=bool)
        self.complex: dict[int, Compound] = {}
        #: rows of the compound indicators holding buffered events: only these can expire any
        self._buffered: set[int] = set()
        self.eq: dict[Key, HashIndex] = {}
        self.cidr: dict[Key, CidrIndex] = {}
        self.suffix: dict[Key, SuffixIndex] = {}
        self.substr: dict[Key, SubstringIndex] = {}
        self.scan: dict[str, list[int]] = defaultdict(list)  # object type -> row codes
        self.suppressed = 0
        self._strings: dict[str, str] = {}
        self._wanted: Wanted | None = None
        self._meta: dict[int, tuple[str, str | None, str | None, str | None]] = {}

    def _wanted_paths(self) -> Wanted:
        """Object type -> the indexed path keys (and their steps) worth extracting from events."""
        if self._wanted is None:
            wanted: dict[str, dict[str, Steps]] = {}
            for table in (self.eq, self.cidr, self.suffix, self.substr):
                for obj_type, key in table:
                    wanted.setdefault(obj_type, {})[key] = path_steps(key)
            self._wanted = {t: list(d.items()) for t, d in wanted.items()}
        return self._wanted

    @property
    def has_warninglist(self) -> bool:
        return self._warninglist is not None

    def warninglisted(self, where: str, value: Any) -> bool:
        """Is ``value`` found at ``where`` ("type:path") on a warninglist?  (kind, value) hook."""
        if self._warninglist is None:
            return False
        from colsec.stix.observables import pattern_path_kind

        obj_type, _, path = where.partition(":")
        kind = pattern_path_kind(obj_type, path) or obj_type
        return self._warninglist(kind, str(value))

    # -- building --------------------------------------------------------
    def _new_row(self, rec: IndicatorRecord) -> int:
        row = self.rows.add((rec.id, rec.owner, rec.tlp, rec.name))
        self._grow_alive()
        return row

    def _grow_alive(self) -> None:
        if len(self.alive) < len(self.rows):
            grown = np.zeros(max(len(self.rows), 2 * len(self.alive), 1024), dtype=bool)
            grown[: len(self.alive)] = self.alive
            self.alive = grown

    def live_rows(self, indicator_ids: Sequence[str]) -> list[int]:
        return [r for r in self.rows.rows_of(indicator_ids) if r < len(self.alive) and self.alive[r]]

    def __contains__(self, indicator_id: str) -> bool:
        return bool(self.live_rows([indicator_id]))

    def indicator_ids(self) -> list[str]:
        return [self.rows.get(int(r))[0] for r in np.nonzero(self.alive)[0]]

    def load(self, records: Iterable[IndicatorRecord], *, now: int | None = None) -> CompileReport:
        """Bulk build; simple ``[type:path = 'value']`` patterns take a vectorised path."""
        start = time.perf_counter()
        now = now if now is not None else int(time.time() * 1_000_000)
        report = CompileReport()
        batch: list[IndicatorRecord] = []
        for rec in records:
            if not rec.active(now):
                report.inactive += 1
                continue
            batch.append(rec)
        if batch:
            self._bulk(batch, report)
            del batch
            release_free_memory()  # the build's temporary arrays, not the index
        report.seconds = time.perf_counter() - start
        return report

    def _bulk(self, batch: list[IndicatorRecord], report: CompileReport) -> None:
        patterns = pl.Series("p", [r.pattern for r in batch], dtype=pl.String)
        parts = patterns.str.extract_groups(
            r"^\[([A-Za-z_][A-Za-z0-9_-]*):((?:[A-Za-z_][A-Za-z0-9_]*|'[A-Za-z0-9_-]+')"
            r"(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|'[A-Za-z0-9_-]+'))*) (=|ISSUBSET) '([^'\\]*)'\]$"
        ).struct.unnest()
        parts = parts.with_columns(
            pl.col("2").str.replace_all("'", "", literal=True),
            pl.when(pl.col("3") == "=").then(pl.col("4")).alias("3"),
            pl.when(pl.col("3") == "ISSUBSET").then(pl.col("4")).alias("cidr"),
        )
        cidr_list = parts["cidr"].to_list()
        simple_mask = parts["3"].is_not_null().to_numpy()
        obj_types = parts["1"].to_list()
        paths = parts["2"].to_list()
        values = parts["3"]
        # hash and domain literals are matched lower-case (readers emit them so)
        lower = (parts["2"].str.starts_with("hashes.") | (parts["1"] == "domain-name")).fill_null(False)
        values = pl.select(pl.when(lower).then(values.str.to_lowercase()).otherwise(values)).to_series()
        vlist = values.to_list()
        if len(self.rows):
            for row in self.live_rows([r.id for r in batch]):  # re-loaded ids replace older rows
                self._kill(row)
        # simple patterns get consecutive rows in one columnar chunk; compound ones follow
        start = len(self.rows)
        simple: list[int] = []
        grouped: dict[Key, tuple[list[str], list[int]]] = {}
        cidrs: list[tuple[Key, str, int]] = []
        compound: list[IndicatorRecord] = []
        for i, rec in enumerate(batch):
            if cidr_list[i] is not None and valid_cidr(cidr_list[i]):
                cidrs.append(((obj_types[i], paths[i]), cidr_list[i], (start + len(simple)) * MAX_LEAVES))
                simple.append(i)
                continue
            if not simple_mask[i]:
                compound.append(rec)
                continue
            path = paths[i]
            if path.startswith("hashes."):
                name = path[7:]
                path = "hashes." + HASH_NAMES.get(name.lower(), name)
            value = vlist[i]
            if self.warninglisted(f"{obj_types[i]}:{path}", value):
                report.warninglisted += 1
                report.warninglisted_ids.append(batch[i].id)
                continue
            g = grouped.setdefault((obj_types[i], path), ([], []))
            g[0].append(value)
            g[1].append((start + len(simple)) * MAX_LEAVES)
            simple.append(i)
        self.rows.add_bulk(
            [batch[i].id for i in simple],
            [batch[i].owner for i in simple],
            [batch[i].tlp for i in simple],
            [batch[i].name for i in simple],
        )
        self._grow_alive()
        self.alive[start : start + len(simple)] = True
        report.simple += len(simple)
        for key, cidr, code in cidrs:
            self._wanted = None
            self.cidr.setdefault(key, CidrIndex()).add(cidr, code)
        for key, (vals, codes) in grouped.items():
            self._wanted = None
            old = self.eq.get(key)
            new_values = pl.Series(vals, dtype=pl.String)
            code_arr = np.asarray(codes, dtype=np.int64)
            if old is not None and len(old.keys):
                new_values = pl.concat([old.values, new_values])
                code_arr = np.concatenate([old.rows.astype(np.int64), code_arr])
            built = HashIndex.build(new_values, code_arr)
            if old is not None:
                built.extra = old.extra
            self.eq[key] = built
        for rec in compound:
            self._add_complex(rec, report)
        self._compact(0)
        report.loaded = report.simple + report.complex

    def _compact(self, limit: int) -> None:
        """Fold equality additions into the sorted arrays where more than ``limit`` piled up."""
        for key, idx in self.eq.items():
            if len(idx.extra) > limit:
                self.eq[key] = idx.compacted()

    def _add_complex(self, rec: IndicatorRecord, report: CompileReport) -> bool:
        try:
            plan = plan_pattern(parse_pattern(rec.pattern))
        except (PatternSyntaxError, ValueError) as exc:
            report.invalid += 1
            if len(report.errors) < 20:
                report.errors.append(f"{rec.id}: {exc}")
            return False
        values = [(f"{a[1]}:{a[2]}", a[3]) for leaf in plan.leaves for a in leaf.anchors if a[0] == "eq"]
        if (
            values
            and all(self.warninglisted(w, v) for w, v in values)
            and all(all(a[0] == "eq" for a in leaf.anchors) for leaf in plan.leaves)
        ):
            report.warninglisted += 1
            report.warninglisted_ids.append(rec.id)
            return False
        row = self._new_row(rec)
        self.alive[row] = True
        self.complex[row] = Compound(plan)
        for leaf in plan.leaves:
            code = row * MAX_LEAVES + leaf.leaf_id
            for anchor in leaf.anchors:
                self._add_anchor(anchor, code)
        report.complex += 1
        return True

    def _add_anchor(self, anchor: Anchor, code: int) -> None:
        kind, obj_type, key, value = anchor
        self._wanted = None
        k = (obj_type, key)
        if kind == "eq":
            self.eq.setdefault(k, HashIndex()).add(value, code)
        elif kind == "cidr":
            self.cidr.setdefault(k, CidrIndex()).add(value, code)
        elif kind == "suffix":
            self.suffix.setdefault(k, SuffixIndex()).add(value, code)
        elif kind == "substr":
            self.substr.setdefault(k, SubstringIndex()).add(value, code)
        else:
            self.scan[obj_type].append(code)

    # -- incremental refresh ---------------------------------------------
    def add(self, rec: IndicatorRecord, *, now: int | None = None) -> bool:
        """Add or replace one indicator without rebuilding anything."""
        now = now if now is not None else int(time.time() * 1_000_000)
        self.remove(rec.id)
        if not rec.active(now):
            return False
        report = CompileReport()
        return self._add_complex(rec, report)

    def apply(self, records: Sequence[IndicatorRecord], *, now: int | None = None) -> CompileReport:
        """Incremental refresh in one step: new versions replace old rows, inactive ones just go."""
        now = now if now is not None else int(time.time() * 1_000_000)
        report = CompileReport()
        for row in self.live_rows([r.id for r in records]):  # one vectorised lookup for all
            self._kill(row)
        for rec in records:
            if rec.active(now):
                self._add_complex(rec, report)
            else:
                report.inactive += 1
        self._compact(_COMPACT_AFTER)
        report.loaded = report.complex
        return report

    def remove(self, indicator_id: str) -> bool:
        """Revoked, expired or withdrawn: the row stops matching at once."""
        rows = self.live_rows([indicator_id])
        for row in rows:
            self._kill(row)
        return bool(rows)

    def _kill(self, row: int) -> None:
        self.alive[row] = False
        self.complex.pop(row, None)

    def __len__(self) -> int:
        return int(self.alive.sum())

    def memory_bytes(self) -> int:
        """Bytes the compiled state holds (indexes, metadata; not transient build buffers)."""
        import sys

        total = sum(i.nbytes() for i in self.eq.values()) + int(self.alive.nbytes) + self.rows.nbytes()
        total += sum(sys.getsizeof(v) + 64 for i in self.eq.values() for v in i.extra)
        for c in self.cidr.values():
            total += sum(int(n.nbytes + r.nbytes) for n, r in c.v4.values())
            total += sum(i.nbytes() for i in c.octets.values())
            total += sum(int(b.nbytes) for b in c._bits.values())
        total += 2_000 * len(self.complex)  # parsed plans: a rough per-pattern figure
        return total
