"""Columnar indexes behind the matching engine.

Equality: every (object type, path) has a sorted array of 64-bit value
hashes (polars' string hash, fixed seeds) with the indicator row of each,
and a bitmap over the high hash bits as a prefilter, so a whole column of
telemetry values is tested with a few vectorised numpy operations; the rare
survivors are confirmed against the stored literal, so a hash collision can
never alert.  CIDR blocks: one sorted array of network numbers per prefix
length (IPv4 vectorised; IPv6 per value).  Domains: parent-domain lookup
for ``LIKE '%.example.com'`` style indicators.  Substrings: Aho-Corasick
over the literal every ``LIKE``/``MATCHES`` needs, RE2 confirms.

Additions after the build go to small Python dicts consulted alongside the
arrays; removals flip a row's ``alive`` flag.  Nothing is rebuilt in place.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import ahocorasick
import numpy as np
import polars as pl

from colsec.match.addresses import ipv4_column

__all__ = [
    "HASH_SEED",
    "CidrIndex",
    "HashIndex",
    "SubstringIndex",
    "SuffixIndex",
    "hash_strings",
    "ipv4_to_u32",
]

HASH_SEED = 0x5EED
# Prefilter bitmap: ~128 bits per value (< 1% false positives), between 8 KiB and 16 MiB.  Each
# false positive costs two binary searches with a cache miss per step, which a smaller bitmap
# saves nothing against: measured on 400,000 values, 2 MiB (6% through) cost 1.8x what 8 MiB does.
_BITMAP_BITS_PER_VALUE = 128
_BITMAP_LOG2_MIN, _BITMAP_LOG2_MAX = 16, 27


def _bitmap_log2(n: int) -> int:
    return min(max((n * _BITMAP_BITS_PER_VALUE - 1).bit_length(), _BITMAP_LOG2_MIN), _BITMAP_LOG2_MAX)


def hash_strings(values: pl.Series | Sequence[str]) -> np.ndarray:
    series = values if isinstance(values, pl.Series) else pl.Series(values, dtype=pl.String)
    return series.hash(HASH_SEED).to_numpy()


def ipv4_to_u32(values: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Dotted quads -> (uint32 array, valid mask); anything else is invalid."""
    return ipv4_column(values)


@dataclass
class HashIndex:
    """Exact string equality: value -> indicator rows, for one (type, path)."""

    keys: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    values: pl.Series = field(default_factory=lambda: pl.Series([], dtype=pl.String))
    bitmap: np.ndarray = field(default_factory=lambda: np.zeros(1 << (_BITMAP_LOG2_MIN - 6), dtype=np.uint64))
    log2: int = _BITMAP_LOG2_MIN
    extra: dict[str, list[int]] = field(default_factory=dict)
    _extra_series: pl.Series | None = None

    @classmethod
    def build(cls, values: pl.Series, rows: np.ndarray) -> HashIndex:
        hashes = hash_strings(values)
        order = np.argsort(hashes, kind="stable")
        log2 = _bitmap_log2(len(hashes))
        bitmap = np.zeros(1 << (log2 - 6), dtype=np.uint64)
        idx = cls(hashes[order], rows[order].astype(np.int64), values.gather(order), bitmap, log2=log2)
        top = idx.keys >> np.uint64(64 - log2)
        np.bitwise_or.at(
            idx.bitmap, (top >> np.uint64(6)).astype(np.int64), np.uint64(1) << (top & np.uint64(63))
        )
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
        return int(self.keys.nbytes + self.rows.nbytes + self.bitmap.nbytes + self.values.estimated_size())

    def lookup(self, values: pl.Series, hashes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(positions in ``values``, indicator rows) of every exact hit; ``hashes`` if already computed."""
        pos_out: list[np.ndarray] = []
        row_out: list[np.ndarray] = []
        if len(self.keys) and len(values):
            q = hashes if hashes is not None else hash_strings(values)
            top = q >> np.uint64(64 - self.log2)
            words = self.bitmap[(top >> np.uint64(6)).astype(np.int64)]
            maybe = np.nonzero((words >> (top & np.uint64(63))) & np.uint64(1))[0]
            if len(maybe):
                qm = q[maybe]
                left = np.searchsorted(self.keys, qm, side="left")
                found = self.keys[np.minimum(left, len(self.keys) - 1)] == qm
                if found.any():
                    # the second search (for values held by several rows) only for the few found
                    qpos, lo = maybe[found], left[found]
                    counts = np.searchsorted(self.keys, qm[found], side="right") - lo
                    qrep = np.repeat(qpos, counts)
                    offsets = np.repeat(np.cumsum(counts) - counts, counts)
                    krep = np.repeat(lo, counts) + (np.arange(len(qrep)) - offsets)
                    # confirm against the stored literal: a hash collision never alerts
                    got = values.gather(qrep).to_list()
                    want = self.values.gather(krep).to_list()
                    same = np.fromiter(
                        (a == b for a, b in zip(got, want, strict=True)), dtype=bool, count=len(got)
                    )
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
        return _concat(pos_out, row_out)


def _concat(pos_out: list[np.ndarray], row_out: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    if not pos_out:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return np.concatenate(pos_out).astype(np.int64), np.concatenate(row_out).astype(np.int64)


@dataclass
class CidrIndex:
    """``ISSUBSET`` blocks for one (type, path).

    Octet-aligned IPv4 blocks (/8, /16, /24, /32: nearly all of them in
    practice) are matched as *string prefixes* ("10.1.2." for 10.1.2.0/24)
    through a hash index, which needs no address parsing at all; other IPv4
    lengths use sorted network numbers per prefix length; IPv6 is checked per
    value.  Hits on the string path are re-checked as real dotted quads.
    """

    v4: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    v6: dict[int, dict[int, list[int]]] = field(default_factory=dict)
    pending4: list[tuple[int, int, int]] = field(default_factory=list)
    octets: dict[int, HashIndex] = field(default_factory=dict)
    pending_octets: dict[int, tuple[list[str], list[int]]] = field(default_factory=dict)
    _bits: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def needs_numbers(self) -> bool:
        return bool(self.v4 or self.pending4)

    def add(self, cidr: str, row: int) -> None:
        net = ipaddress.ip_network(cidr, strict=False)
        if net.version == 4 and net.prefixlen in (8, 16, 24, 32):
            parts = str(net.network_address).split(".")[: net.prefixlen // 8]
            prefix = ".".join(parts) + ("." if net.prefixlen < 32 else "")
            pend = self.pending_octets.setdefault(net.prefixlen, ([], []))
            pend[0].append(prefix)
            pend[1].append(row)
        elif net.version == 4:
            self.pending4.append((net.prefixlen, int(net.network_address) >> (32 - net.prefixlen), row))
        else:
            self.v6.setdefault(net.prefixlen, {}).setdefault(
                int(net.network_address) >> (128 - net.prefixlen), []
            ).append(row)

    def freeze(self) -> None:
        for plen, (prefixes, code_list) in self.pending_octets.items():
            old = self.octets.get(plen)
            values = pl.Series(prefixes, dtype=pl.String)
            codes = np.asarray(code_list, dtype=np.int64)
            if old is not None:
                values = pl.concat([old.values, values])
                codes = np.concatenate([old.rows, codes])
            self.octets[plen] = HashIndex.build(values, codes)
        self.pending_octets = {}
        if not self.pending4:
            return
        merged: dict[int, list[tuple[int, int]]] = {}
        for plen, (nets, rows) in self.v4.items():
            merged.setdefault(plen, []).extend(zip(nets.tolist(), rows.tolist(), strict=True))
        for plen, netnum, row in self.pending4:
            merged.setdefault(plen, []).append((netnum, row))
        self.pending4 = []
        self.v4 = {}
        self._bits = {}
        for plen, items in merged.items():
            items.sort()
            nets = np.array([n for n, _ in items], dtype=np.uint32)
            self.v4[plen] = (nets, np.array([r for _, r in items], dtype=np.int64))
            if plen <= 26:  # exact membership bitmap (<= 8 MiB) before the binary search
                bits = np.zeros(max((1 << plen) >> 6, 1), dtype=np.uint64)
                np.bitwise_or.at(
                    bits,
                    (nets >> np.uint32(6)).astype(np.int64),
                    np.uint64(1) << (nets & np.uint32(63)).astype(np.uint64),
                )
                self._bits[plen] = bits

    def __len__(self) -> int:
        return (
            sum(len(r) for _, r in self.v4.values())
            + len(self.pending4)
            + sum(len(i) for i in self.octets.values())
            + sum(len(p[0]) for p in self.pending_octets.values())
            + sum(len(rows) for d in self.v6.values() for rows in d.values())
        )

    def lookup(
        self,
        values: pl.Series,
        ipv4: tuple[np.ndarray, np.ndarray] | None = None,
        prefixes: dict[int, tuple[pl.Series, np.ndarray]] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Hits for a column of addresses.

        ``ipv4`` = (uint32 numbers, valid mask) and ``prefixes`` = {prefix length: (prefix strings,
        their hashes)} when the caller computed them in its own vectorised pass.
        """
        self.freeze()
        pos_out: list[np.ndarray] = []
        row_out: list[np.ndarray] = []
        if self.octets and len(values):
            if prefixes is None and len(values) <= _SMALL:
                # a streamed event's few addresses: a polars query here waits for its thread pool,
                # which on a busy machine cost a followed line milliseconds (measured)
                texts = values.to_list()
                prefixes = {}
                for plen in self.octets:
                    pre = pl.Series([_octet_prefix_text(v, plen) for v in texts], dtype=pl.String)
                    prefixes[plen] = (pre, hash_strings(pre))
            elif prefixes is None:
                frame = pl.DataFrame({"v": values}).select(
                    [octet_prefix(pl.col("v"), plen).alias(str(plen)) for plen in self.octets]
                )
                prefixes = {plen: (frame[str(plen)], hash_strings(frame[str(plen)])) for plen in self.octets}
            for plen, idx8 in self.octets.items():
                pre, hashes = prefixes[plen]
                pos, codes = idx8.lookup(pre, hashes)
                if len(pos):
                    # a few hits per chunk: precompiled Python regex beats a polars call per chunk
                    check = _DOTTED_QUAD_RE.match
                    good = np.fromiter(
                        (bool(v and check(v)) for v in values.gather(pos).to_list()),
                        dtype=bool,
                        count=len(pos),
                    )
                    pos_out.append(pos[good])
                    row_out.append(codes[good])
        if self.v4 and len(values):
            ips, ok = ipv4 if ipv4 is not None else ipv4_to_u32(values)
            idx = np.nonzero(ok)[0]
            ips = ips[idx]
            for plen, (nets, rows) in self.v4.items():
                q = (
                    (ips >> np.uint32(32 - plen))
                    if 0 < plen < 32
                    else (ips if plen == 32 else np.zeros_like(ips))
                )
                bits = self._bits.get(plen)
                sel = np.arange(len(q))
                if bits is not None:
                    sel = np.nonzero(
                        (bits[(q >> np.uint32(6)).astype(np.int64)] >> (q & np.uint32(63)).astype(np.uint64))
                        & np.uint64(1)
                    )[0]
                    q = q[sel]
                left = np.searchsorted(nets, q, side="left")
                right = np.searchsorted(nets, q, side="right")
                for i in np.nonzero(right > left)[0]:
                    span = rows[left[i] : right[i]]
                    pos_out.append(np.full(len(span), idx[sel[i]]))
                    row_out.append(span)
        if self.v6 and len(values):
            maybe6 = np.nonzero(values.str.contains(":", literal=True).fill_null(False).to_numpy())[0]
            for j in maybe6.tolist():
                v = values[j]
                try:
                    num = int(ipaddress.IPv6Address(v))
                except ValueError:
                    continue
                for plen6, nets6 in self.v6.items():
                    rows6 = nets6.get(num >> (128 - plen6))
                    if rows6:
                        pos_out.append(np.full(len(rows6), j))
                        row_out.append(np.asarray(rows6, dtype=np.int64))
        return _concat(pos_out, row_out)


#: up to this many values, ``CidrIndex.lookup`` makes the octet prefixes in Python
_SMALL = 64


def _octet_prefix_text(v: str | None, plen: int) -> str | None:
    """``octet_prefix`` of one text, step for step (``rstrip`` strips as ``strip_chars_end``)."""
    if v is None:
        return None
    steps = (32 - plen) // 8
    for i in range(steps):
        v = v.rstrip("0123456789")
        if plen < 24 and i < steps - 1:
            v = v.rstrip(".")
    return v


def octet_prefix(e: pl.Expr, plen: int) -> pl.Expr:
    """ "10.1.2.3" -> "10.1.2." for /24, "10.1." for /16, "10." for /8, itself for /32."""
    for _ in range((32 - plen) // 8):
        e = e.str.strip_chars_end("0123456789")
        if plen < 24:
            e = e.str.strip_chars_end(".") if _ < (32 - plen) // 8 - 1 else e
    return e


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = rf"^{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}$"  # canonical only, as ipaddress accepts
_DOTTED_QUAD_RE = re.compile(_DOTTED_QUAD.replace("$", r"\Z"))


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

    def add(self, literal: str, row: int) -> None:
        rows = self.automaton.get(literal, None) if self.built or len(self.automaton) else None
        if rows is None:
            self.automaton.add_word(literal, [row])
            self._literals = None
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

    def lookup(self, values: Iterable[str | None]) -> Iterable[tuple[int, int]]:
        if not self.built:
            self.automaton.make_automaton()
            self.built = True
        for i, v in enumerate(values):
            if not v:
                continue
            seen: set[int] = set()
            for _, rows in self.automaton.iter(v):
                for r in rows:
                    if r not in seen:
                        seen.add(r)
                        yield i, r
