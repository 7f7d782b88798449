"""Columnar indexes behind the matching engine.

Equality: every (object type, path) has a sorted array of 64-bit value
hashes (polars' string hash, fixed seeds) with the indicator row of each,
and a bitmap over the high hash bits as a prefilter, so a whole column of
telemetry values is tested with a few vectorised numpy operations; the rare
survivors are confirmed against the stored literal, so a hash collision can
never alert.  CIDR blocks live in ``match/cidr.py``.  Domains: parent-domain lookup
for ``LIKE '%.example.com'`` style indicators.  Substrings: Aho-Corasick
over the literal every ``LIKE``/``MATCHES`` needs, RE2 confirms.

Additions after the build go to small Python dicts consulted alongside the
arrays; removals flip a row's ``alive`` flag.  Nothing is rebuilt in place.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import ahocorasick
import numpy as np
import polars as pl

__all__ = ["HASH_SEED", "HashIndex", "SubstringIndex", "SuffixIndex", "concat_hits", "hash_strings"]

HASH_SEED = 0x5EED
# Prefilter bitmap: ~128 bits per value (< 1% false positives), between 8 KiB and 16 MiB.  Each
# false positive costs two binary searches with a cache miss per step, which a smaller bitmap
# saves nothing against: measured on 400,000 values, 2 MiB (6% through) cost 1.8x what 8 MiB does.
_BITMAP_BITS_PER_VALUE = 128
_BITMAP_LOG2_MIN, _BITMAP_LOG2_MAX = 16, 27
#: A larger bitmap is tested after a coarse one of this size (512 KiB, its top bits): a query's
#: random read in the large one misses the cache, in the coarse one it mostly does not, and the
#: large one is then read for the few values the coarse one passes (a fourth less CPU for a
#: column over 400,000 values, measured).
_COARSE_LOG2 = 22


def _bitmap_log2(n: int) -> int:
    return min(max((n * _BITMAP_BITS_PER_VALUE - 1).bit_length(), _BITMAP_LOG2_MIN), _BITMAP_LOG2_MAX)


def _bitmap(keys: np.ndarray, log2: int) -> np.ndarray:
    """One bit per value of the top ``log2`` bits of ``keys``, eight to a byte."""
    bitmap = np.zeros(1 << (log2 - 3), dtype=np.uint8)
    top = keys >> np.uint64(64 - log2)
    bits = np.left_shift(np.uint8(1), (top & np.uint64(7)).astype(np.uint8))
    np.bitwise_or.at(bitmap, (top >> np.uint64(3)).view(np.int64), bits)
    return bitmap


def _in_bitmap(bitmap: np.ndarray, log2: int, q: np.ndarray) -> np.ndarray:
    """Positions of the hashes in ``q`` whose top ``log2`` bits are set in ``bitmap``.

    Bytes, not 64-bit words: the gather and the bit test then move an eighth of the data, 2.6x
    less CPU over 200,000 values, measured; ``view``, not ``astype``, for the index.  The bit
    number is cut to a byte before it is masked and the shifts work in place: one 64-bit pass
    and its allocation fewer (a sixth less CPU over 1,000,000 values, measured)."""
    top = q >> np.uint64(64 - log2)
    bit = top.astype(np.uint8)  # the low 3 bits survive the cut
    top >>= np.uint64(3)
    byte = bitmap[top.view(np.int64)]
    bit &= np.uint8(7)
    byte >>= bit
    byte &= np.uint8(1)
    return np.flatnonzero(byte)


def hash_strings(values: pl.Series | Sequence[str]) -> np.ndarray:
    series = values if isinstance(values, pl.Series) else pl.Series(values, dtype=pl.String)
    return series.hash(HASH_SEED).to_numpy()


@dataclass
class HashIndex:
    """Exact string equality: value -> indicator rows, for one (type, path)."""

    keys: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    values: pl.Series = field(default_factory=lambda: pl.Series([], dtype=pl.String))
    bitmap: np.ndarray = field(default_factory=lambda: np.zeros(1 << (_BITMAP_LOG2_MIN - 3), dtype=np.uint8))
    log2: int = _BITMAP_LOG2_MIN
    extra: dict[str, list[int]] = field(default_factory=dict)
    #: the bitmap over fewer top bits tested first when ``log2`` is above ``_COARSE_LOG2``
    coarse: np.ndarray | None = None
    _extra_series: pl.Series | None = None
    #: no two rows share a hash (nearly always): a lookup needs no search for a run of equals
    distinct: bool = False

    @classmethod
    def build(cls, values: pl.Series, rows: np.ndarray) -> HashIndex:
        hashes = hash_strings(values)
        order = np.argsort(hashes, kind="stable")
        log2 = _bitmap_log2(len(hashes))
        keys = hashes[order]
        idx = cls(keys, rows[order].astype(np.int64), values.gather(order), _bitmap(keys, log2), log2=log2)
        idx.distinct = bool(len(keys) < 2 or (keys[1:] != keys[:-1]).all())
        if log2 > _COARSE_LOG2:
            idx.coarse = _bitmap(keys, _COARSE_LOG2)
        return idx

    def add(self, value: str, row: int) -> None:
        self.extra.setdefault(value, []).append(row)

    def compacted(self) -> HashIndex:
        """The same index with its additions folded into the sorted arrays.

        Additions are probed with a per-call set lookup over the whole column, which costs
        as much as the array path once there are a few thousand; a bulk load therefore ends
        with this, and incremental refresh calls it when additions pile up.
        """
        if not self.extra:
            return self
        values = [v for v, rows in self.extra.items() for _ in rows]
        codes = [r for rows in self.extra.values() for r in rows]
        merged = pl.concat([self.values, pl.Series(values, dtype=pl.String)])
        return HashIndex.build(merged, np.concatenate([self.rows, np.asarray(codes, dtype=np.int64)]))

    def __len__(self) -> int:
        return len(self.keys) + sum(len(v) for v in self.extra.values())

    def nbytes(self) -> int:
        coarse = 0 if self.coarse is None else self.coarse.nbytes
        return int(
            self.keys.nbytes + self.rows.nbytes + self.bitmap.nbytes + coarse + self.values.estimated_size()
        )

    def lookup(self, values: pl.Series, hashes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(positions in ``values``, indicator rows) of every exact hit; ``hashes`` if already computed."""
        pos_out: list[np.ndarray] = []
        row_out: list[np.ndarray] = []
        if len(self.keys) and len(values):
            q = hashes if hashes is not None else hash_strings(values)
            if self.coarse is None:
                maybe = _in_bitmap(self.bitmap, self.log2, q)
            else:  # the coarse bits are the fine ones' prefixes: no value the fine bitmap holds is lost
                maybe = _in_bitmap(self.coarse, _COARSE_LOG2, q)
                maybe = maybe[_in_bitmap(self.bitmap, self.log2, q[maybe])]
            if len(maybe):
                qm = q[maybe]
                left = np.searchsorted(self.keys, qm, side="left")
                found = self.keys[np.minimum(left, len(self.keys) - 1)] == qm
                if found.any():
                    qpos, lo = maybe[found], left[found]
                    if self.distinct:  # each hash held by one row: the first search found it
                        qrep, krep = qpos, lo
                    else:  # the second search (values held by several rows) only for the few found
                        counts = np.searchsorted(self.keys, qm[found], side="right") - lo
                        qrep = np.repeat(qpos, counts)
                        offsets = np.repeat(np.cumsum(counts) - counts, counts)
                        krep = np.repeat(lo, counts) + (np.arange(len(qrep)) - offsets)
                    # confirm against the stored literal: a hash collision never alerts
                    # (compared in polars: no Python string made for either side)
                    same = (values.gather(qrep) == self.values.gather(krep)).fill_null(False).to_numpy()
                    pos_out.append(qrep[same])
                    row_out.append(self.rows[krep[same]])
        if self.extra:
            if self._extra_series is None or len(self._extra_series) != len(self.extra):
                self._extra_series = pl.Series(list(self.extra), dtype=pl.String)
            candidates = np.nonzero(values.is_in(self._extra_series.implode()).fill_null(False).to_numpy())[0]
            for i in candidates.tolist():
                rows = self.extra.get(values[i])
                if rows:
                    pos_out.append(np.full(len(rows), i))
                    row_out.append(np.asarray(rows, dtype=np.int64))
        return concat_hits(pos_out, row_out)


def concat_hits(pos_out: list[np.ndarray], row_out: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    if not pos_out:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return np.concatenate(pos_out).astype(np.int64), np.concatenate(row_out).astype(np.int64)


@dataclass
class SuffixIndex:
    """Values ending in ``.suffix`` (``LIKE '%.evil.example'``): looked up at every dot."""

    suffixes: dict[str, list[int]] = field(default_factory=dict)

    def add(self, suffix: str, row: int) -> None:
        self.suffixes.setdefault(suffix, []).append(row)

    def __len__(self) -> int:
        return sum(len(v) for v in self.suffixes.values())

    def lookup(self, values: Iterable[str | None]) -> Iterable[tuple[int, int]]:
        table = self.suffixes
        for i, v in enumerate(values):
            if not v:
                continue
            start = v.find(".")
            while start >= 0:
                rows = table.get(v[start:])
                if rows:
                    for r in rows:
                        yield i, r
                start = v.find(".", start + 1)


@dataclass
class SubstringIndex:
    """Aho-Corasick over required literals; hits are only candidates (RE2 confirms)."""

    automaton: ahocorasick.Automaton = field(default_factory=ahocorasick.Automaton)
    built: bool = False
    count: int = 0
    _literals: list[str] | None = None
    _needles: pl.Series | None = None

    def add(self, literal: str, row: int) -> None:
        rows = self.automaton.get(literal, None) if self.built or len(self.automaton) else None
        if rows is None:
            self.automaton.add_word(literal, [row])
            self._literals = self._needles = None
        else:
            rows.append(row)
        self.count += 1
        self.built = False

    def __len__(self) -> int:
        return self.count

    def literals(self) -> list[str]:
        """Every literal, kept between calls: listing 10,000 costs as much as a chunk's lookups."""
        if self._literals is None:
            self._literals = [str(k) for k in self.automaton.keys()]
        return self._literals

    def needles(self) -> pl.Series:
        """``literals()`` as the one-item list column ``str.contains_any`` takes, kept between calls:
        made from the Python list each time, it cost a millisecond a chunk (measured)."""
        if self._needles is None:
            self._needles = pl.Series(self.literals(), dtype=pl.String).implode()
        return self._needles

    def prepared(self) -> None:
        """Build the automaton now (lookups build it on first use): before lookups in two threads."""
        if not self.built:
            self.automaton.make_automaton()
            self.built = True

    def lookup(self, values: Iterable[str | None]) -> Iterable[tuple[int, int]]:
        self.prepared()
        for i, v in enumerate(values):
            if not v:
                continue
            seen: set[int] = set()
            for _, rows in self.automaton.iter(v):
                for r in rows:
                    if r not in seen:
                        seen.add(r)
                        yield i, r
