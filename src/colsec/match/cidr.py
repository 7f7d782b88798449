"""``ISSUBSET`` blocks for one (type, path): the CIDR half of the matching engine's indexes.

Every IPv4 block, whatever its length, is a network number in a sorted array per prefix
length; a telemetry column is turned into IPv4 numbers once (one polars pass) and each
length's key is that number shifted right, so no address is cut into text or hashed per
length.  A bitmap over the key's top 26 bits (exact up to /26) rules out nearly every miss
before the binary search.  Hits are confirmed as canonical dotted quads, the only spelling
``ipaddress`` (the event path's test) reads as IPv4.  IPv6 blocks are checked per value.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from colsec.match.addresses import ipv4_numbers
from colsec.match.index import concat_hits

__all__ = ["CidrIndex", "ipv4_to_u32"]

#: bitmap prefilter keys: the top bits of a block's key (exact for prefix lengths up to this; 8 MiB)
_BITMAP_BITS = 26
#: up to this many values, ``CidrIndex.lookup`` reads the numbers in Python: a polars query waits
#: for its thread pool, which on a busy machine cost a followed line milliseconds (measured)
_SMALL = 64

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD_RE = re.compile(rf"^{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}\Z")  # canonical, as ipaddress reads


def ipv4_to_u32(values: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Dotted quads -> (uint32 array, valid mask); anything else is invalid."""
    parts = values.str.split_exact(".", 3).struct.unnest()
    octets = [parts[c].cast(pl.UInt32, strict=False) for c in parts.columns]
    valid = pl.Series([True] * len(values)) if len(values) else pl.Series([], dtype=pl.Boolean)
    total = pl.Series(np.zeros(len(values), dtype=np.uint32))
    for o in octets:
        valid = valid & o.is_not_null() & (o.fill_null(256) < 256)
        total = total * 256 + o.fill_null(0)
    mask = valid.fill_null(False).to_numpy()
    return total.to_numpy().astype(np.uint32), mask


def block_key(numbers: np.ndarray, plen: int) -> np.ndarray:
    """The /plen network key of each IPv4 number (uint32): the number shifted right by 32 - plen."""
    numbers = numbers.astype(np.uint32, copy=False)
    if plen <= 0:
        return np.zeros_like(numbers)
    if plen >= 32:
        return numbers
    return numbers >> np.uint32(32 - plen)


def _bitmap_shift(plen: int) -> int:
    return max(plen - _BITMAP_BITS, 0)


@dataclass
class CidrIndex:
    """IPv4 blocks as sorted network keys per prefix length; IPv6 blocks in dicts."""

    v4: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    v6: dict[int, dict[int, list[int]]] = field(default_factory=dict)
    pending4: list[tuple[int, int, int]] = field(default_factory=list)
    _bits: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def needs_numbers(self) -> bool:
        return bool(self.v4 or self.pending4)

    def add(self, cidr: str, row: int) -> None:
        net = ipaddress.ip_network(cidr, strict=False)
        if net.version == 4:
            self.pending4.append((net.prefixlen, int(net.network_address) >> (32 - net.prefixlen), row))
        else:
            self.v6.setdefault(net.prefixlen, {}).setdefault(
                int(net.network_address) >> (128 - net.prefixlen), []
            ).append(row)

    def freeze(self) -> None:
        if not self.pending4:
            return
        nets = np.asarray([n for _, n, _ in self.pending4], dtype=np.uint32)
        plens = np.asarray([p for p, _, _ in self.pending4], dtype=np.int64)
        codes = np.asarray([r for _, _, r in self.pending4], dtype=np.int64)
        self.pending4 = []
        for plen in np.unique(plens).tolist():
            sel = plens == plen
            new_nets, new_rows = nets[sel], codes[sel]
            old = self.v4.get(plen)
            if old is not None:
                new_nets = np.concatenate([old[0], new_nets])
                new_rows = np.concatenate([old[1], new_rows])
            order = np.lexsort((new_rows, new_nets))
            self.v4[plen] = (new_nets[order], new_rows[order])
            top = new_nets >> np.uint32(_bitmap_shift(plen))
            bits = np.zeros(max((1 << min(plen, _BITMAP_BITS)) >> 6, 1), dtype=np.uint64)
            np.bitwise_or.at(
                bits,
                (top >> np.uint32(6)).astype(np.int64),
                np.uint64(1) << (top & np.uint32(63)).astype(np.uint64),
            )
            self._bits[plen] = bits

    def __len__(self) -> int:
        return (
            sum(len(r) for _, r in self.v4.values())
            + len(self.pending4)
            + sum(len(rows) for d in self.v6.values() for rows in d.values())
        )

    def nbytes(self) -> int:
        return sum(int(n.nbytes + r.nbytes) for n, r in self.v4.values()) + sum(
            int(b.nbytes) for b in self._bits.values()
        )

    def lookup(
        self, values: pl.Series, ipv4: tuple[np.ndarray, np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(positions in ``values``, indicator codes) of every hit; ``ipv4`` = (uint32 numbers,
        valid mask) when the caller computed them in its own vectorised pass."""
        self.freeze()
        pos_out: list[np.ndarray] = []
        row_out: list[np.ndarray] = []
        if self.v4 and len(values):
            if ipv4 is None:
                ipv4 = ipv4_numbers(values.to_list()) if len(values) <= _SMALL else ipv4_to_u32(values)
            pos, codes = self._lookup4(*ipv4)
            if len(pos):
                # a few hits per chunk: a precompiled Python regex beats a polars call per chunk
                check = _DOTTED_QUAD_RE.match
                good = np.fromiter(
                    (bool(v and check(v)) for v in values.gather(pos).to_list()), dtype=bool, count=len(pos)
                )
                pos_out.append(pos[good])
                row_out.append(codes[good])
        if self.v6 and len(values):
            self._lookup6(values, pos_out, row_out)
        return concat_hits(pos_out, row_out)

    def _lookup4(self, numbers: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        where = np.flatnonzero(ok)
        ips = numbers[where].astype(np.uint32, copy=False)
        pos_out: list[np.ndarray] = []
        row_out: list[np.ndarray] = []
        for plen, (nets, rows) in self.v4.items():
            q = block_key(ips, plen)
            top = q >> np.uint32(_bitmap_shift(plen))
            bits = self._bits[plen]
            sel = np.flatnonzero(
                (bits[(top >> np.uint32(6)).astype(np.int64)] >> (top & np.uint32(63)).astype(np.uint64))
                & np.uint64(1)
            )
            if not len(sel):
                continue
            qs = q[sel]
            left = np.searchsorted(nets, qs, side="left")
            counts = np.searchsorted(nets, qs, side="right") - left
            if not counts.any():
                continue
            offsets = np.repeat(np.cumsum(counts) - counts, counts)
            krep = np.repeat(left, counts) + (np.arange(int(counts.sum())) - offsets)
            pos_out.append(np.repeat(where[sel], counts))
            row_out.append(rows[krep])
        return concat_hits(pos_out, row_out)

    def _lookup6(self, values: pl.Series, pos_out: list[np.ndarray], row_out: list[np.ndarray]) -> None:
        maybe6 = np.nonzero(values.str.contains(":", literal=True).fill_null(False).to_numpy())[0]
        for j in maybe6.tolist():
            try:
                num = int(ipaddress.IPv6Address(values[j]))
            except ValueError:
                continue
            for plen6, nets6 in self.v6.items():
                rows6 = nets6.get(num >> (128 - plen6))
                if rows6:
                    pos_out.append(np.full(len(rows6), j))
                    row_out.append(np.asarray(rows6, dtype=np.int64))
