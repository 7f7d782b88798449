"""CIDR blocks behind the matching engine (``ISSUBSET``), one index per (type, path).

Octet-aligned IPv4 blocks are hashed text prefixes (an ``index.HashIndex`` per length, no
address parsing; several lengths cut in one regex pass, ``octet_prefixes``); other IPv4 lengths are sorted network numbers per prefix length over the
addresses read as numbers (``addresses.ipv4_column``); IPv6 is checked per value.  When an index
holds both, the addresses are read as numbers anyway, and the octet-aligned blocks are then
tested on those numbers too (``CidrIndex.numeric_octets``): no prefix is cut or hashed.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from colsec.match.addresses import ipv4_column
from colsec.match.index import HashIndex, concat_hits, hash_strings

__all__ = ["CidrIndex", "ipv4_to_u32", "nested_prefixes", "octet_prefix", "octet_prefixes"]


def ipv4_to_u32(values: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Dotted quads -> (uint32 array, valid mask); anything else is invalid."""
    return ipv4_column(values)


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
    #: the octet-aligned blocks as network numbers (built with ``octets``), and their bitmaps
    aligned: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    _aligned_bits: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def needs_numbers(self) -> bool:
        return bool(self.v4 or self.pending4)

    @property
    def numeric_octets(self) -> bool:
        """Whether ``lookup`` tests the octet-aligned blocks on the addresses' numbers (read for
        the other blocks anyway: reading them costs twice a prefix's cut and hash, measured)."""
        return self.needs_numbers and bool(self.octets or self.pending_octets)

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
            self.aligned.pop(plen, None)
        self.pending_octets = {}
        if self.pending4:
            merged: dict[int, list[tuple[int, int]]] = {}
            for plen, (nets, rows) in self.v4.items():
                merged.setdefault(plen, []).extend(zip(nets.tolist(), rows.tolist(), strict=True))
            for plen, netnum, row in self.pending4:
                merged.setdefault(plen, []).append((netnum, row))
            self.pending4 = []
            self.v4, self._bits = _numbered(merged)
        if self.needs_numbers and len(self.aligned) < len(self.octets):
            self.aligned, self._aligned_bits = _numbered(
                {plen: _prefix_numbers(idx8) for plen, idx8 in self.octets.items()}
            )

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
        numeric = self.numeric_octets
        if numeric and len(values):
            ips, ok = ipv4 if ipv4 is not None else ipv4_to_u32(values)
            ipv4 = ips, ok
            for plen, (nets, rows) in self.aligned.items():
                pos, codes = _number_hits(ips, ok, plen, nets, rows, self._aligned_bits.get(plen))
                if len(pos):  # a number says nothing of the spelling: a canonical quad only
                    good = _canonical(values, pos)
                    pos_out.append(pos[good])
                    row_out.append(codes[good])
        if self.octets and len(values) and not numeric:
            if prefixes is None and len(values) <= _SMALL:
                # a streamed event's few addresses: a polars query here waits for its thread pool,
                # which on a busy machine cost a followed line milliseconds (measured)
                texts = values.to_list()
                prefixes = {}
                for plen in self.octets:
                    pre = pl.Series([_octet_prefix_text(v, plen) for v in texts], dtype=pl.String)
                    prefixes[plen] = (pre, hash_strings(pre))
            elif prefixes is None:
                cut = octet_prefixes(values, list(self.octets))
                prefixes = {plen: (pre, hash_strings(pre)) for plen, pre in cut.items()}
            for plen, idx8 in self.octets.items():
                pre, hashes = prefixes[plen]
                pos, codes = idx8.lookup(pre, hashes)
                if len(pos):
                    good = _canonical(values, pos)
                    pos_out.append(pos[good])
                    row_out.append(codes[good])
        if self.v4 and len(values):
            ips, ok = ipv4 if ipv4 is not None else ipv4_to_u32(values)
            for plen, (nets, rows) in self.v4.items():
                pos, codes = _number_hits(ips, ok, plen, nets, rows, self._bits.get(plen))
                if len(pos):  # the event route and the columns read odd spellings apart: canonical only
                    good = _canonical(values, pos)
                    pos_out.append(pos[good])
                    row_out.append(codes[good])
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
        return concat_hits(pos_out, row_out)


#: up to this many values, ``CidrIndex.lookup`` makes the octet prefixes in Python
_SMALL = 64


def _numbered(
    blocks: dict[int, list[tuple[int, int]]],
) -> tuple[dict[int, tuple[np.ndarray, np.ndarray]], dict[int, np.ndarray]]:
    """(network number, row) pairs per prefix length as sorted arrays, and a membership bitmap
    per length up to /26 (<= 8 MiB), tested before the binary search."""
    tables: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    bitmaps: dict[int, np.ndarray] = {}
    for plen, items in blocks.items():
        items.sort()
        nets = np.array([n for n, _ in items], dtype=np.uint32)
        tables[plen] = (nets, np.array([r for _, r in items], dtype=np.int64))
        if plen <= 26:
            bits = np.zeros(max((1 << plen) >> 6, 1), dtype=np.uint64)
            np.bitwise_or.at(
                bits,
                (nets >> np.uint32(6)).astype(np.int64),
                np.uint64(1) << (nets & np.uint32(63)).astype(np.uint64),
            )
            bitmaps[plen] = bits
    return tables, bitmaps


def _prefix_numbers(idx: HashIndex) -> list[tuple[int, int]]:
    """(network number >> host bits, row) of each octet prefix ("10.1.2." for 10.1.2.0/24)."""
    out = []
    for text, row in zip(idx.values.to_list(), idx.rows.tolist(), strict=True):
        num = 0
        for part in text.rstrip(".").split("."):
            num = (num << 8) | int(part)
        out.append((num, row))
    return out


def _number_hits(
    ips: np.ndarray, ok: np.ndarray, plen: int, nets: np.ndarray, rows: np.ndarray, bits: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """(positions, rows) of the valid numbers inside a block of one length: the bitmap first
    (when there is one), the binary search for the survivors only."""
    sel = np.flatnonzero(ok)
    q = ips[sel]
    q = (q >> np.uint32(32 - plen)) if 0 < plen < 32 else (q if plen == 32 else np.zeros_like(q))
    if bits is not None:
        inside = np.flatnonzero(
            (bits[(q >> np.uint32(6)).astype(np.int64)] >> (q & np.uint32(63)).astype(np.uint64))
            & np.uint64(1)
        )
        sel, q = sel[inside], q[inside]
    left = np.searchsorted(nets, q, side="left")
    counts = np.searchsorted(nets, q, side="right") - left
    found = np.flatnonzero(counts)
    counts, left, sel = counts[found], left[found], sel[found]
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    span = np.repeat(left, counts) + (np.arange(int(counts.sum())) - offsets)
    return np.repeat(sel, counts).astype(np.int64), rows[span]


def _canonical(values: pl.Series, pos: np.ndarray) -> np.ndarray:
    """Which of ``values`` at ``pos`` are canonical dotted quads (as ``ipaddress`` reads them): a
    few hits per chunk, where a precompiled Python regex beats a polars call."""
    check = _DOTTED_QUAD_RE.match
    return np.fromiter(
        (bool(v and check(v)) for v in values.gather(pos).to_list()), dtype=bool, count=len(pos)
    )


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


def octet_prefixes(values: pl.Series, plens: list[int]) -> dict[int, pl.Series]:
    """The octet prefixes of a column for each length, spelled right for every dotted quad.

    Only a canonical dotted quad's hit survives ``CidrIndex.lookup`` (re-checked there), so other
    values may get any prefix.  For two or more of /8, /16, /24 one regex pass with nested groups
    cuts all three (41 ms CPU for 500,000 addresses against 148 ms for the stripping one length
    at a time, measured); a single length is cheaper stripped (19 ms against 28 ms for a regex).
    """
    short = [plen for plen in plens if plen in (8, 16, 24)]
    out: dict[int, pl.Series] = {}
    if nested_prefixes(plens):
        groups = values.str.extract_groups(_NESTED_PREFIXES).struct.unnest()
        out = {plen: groups[f"p{plen}"] for plen in short}
    for plen in plens:
        if plen not in out:
            out[plen] = pl.select(octet_prefix(pl.lit(values), plen)).to_series()
    return out


def nested_prefixes(plens: list[int]) -> bool:
    """Whether ``octet_prefixes`` cuts these lengths with its one regex pass."""
    return sum(plen in (8, 16, 24) for plen in plens) >= 2


#: "a.b.c.d" -> a.b.c. / a.b. / a. in one match (null for what is no dotted quad's start)
_NESTED_PREFIXES = r"^(?<p24>(?<p16>(?<p8>[0-9]+\.)[0-9]+\.)[0-9]+\.)"

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = rf"^{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}$"  # canonical only, as ipaddress accepts
_DOTTED_QUAD_RE = re.compile(_DOTTED_QUAD.replace("$", r"\Z"))
