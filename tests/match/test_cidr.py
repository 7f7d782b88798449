"""The CIDR index keys every IPv4 block by the address number shifted right: it must find
exactly what ``ipaddress`` finds, at every block boundary, through each of its routes (a few
values in Python, a column in polars, numbers computed by the caller's own pass)."""

from __future__ import annotations

import ipaddress

import numpy as np
import polars as pl

from colsec.match.addresses import ipv4_number
from colsec.match.cidr import _SMALL, CidrIndex, block_key

BLOCKS = [
    "0.0.0.0/0", "128.0.0.0/1", "10.0.0.0/7", "10.0.0.0/8", "10.128.0.0/9", "10.1.0.0/16",
    "10.2.0.0/15", "192.168.96.0/19", "10.1.2.0/23", "10.1.2.0/24", "10.1.2.128/25", "10.1.2.64/27",
    "10.1.2.6/31", "8.8.8.8/32", "255.255.255.255/32", "0.0.0.0/32", "10.1.2.3/24",  # host bits set
    "::ffff:0:0/96", "2001:db8::/32",
]  # fmt: skip

NOT_ADDRESSES = [
    "", "10.1.2.", "10.1.2", "10.1", "10", "1.2.3.4.5", "256.1.2.3", "10.1.2.256", "a.b.c.d",
    "10.1.2.3a", "010.001.002.003", "10.01.2.3", "10..2.3", " 10.1.2.3", "10.1.2.3 ", "10.1.2.3\n",
    "-1.2.3.4", "+10.1.2.3", "1e1.1.2.3", "10.1.2.3/24", "\u0661.2.3.4", "\u00b2.2.3.4", "10.1.2.3%eth0",
]  # fmt: skip


def _values() -> list[str]:
    """Every block's network and broadcast address and their neighbours, plus texts that are
    not dotted quads, IPv4-mapped and plain IPv6."""
    out: set[str] = set()
    for block in BLOCKS:
        net = ipaddress.ip_network(block, strict=False)
        if net.version != 4:
            continue
        for n in (int(net.network_address), int(net.broadcast_address)):
            for d in (-1, 0, 1):
                if 0 <= n + d < 2**32:
                    out.add(str(ipaddress.IPv4Address(n + d)))
    out |= {"::ffff:10.1.2.3", "::ffff:a01:203", "2001:db8::1", "2001:db9::1", "fe80::1%eth0"}
    return sorted(out) + NOT_ADDRESSES


def _reference(values: list[str]) -> set[tuple[str, int]]:
    """What the event path's ``ISSUBSET`` test answers: ``ipaddress`` containment."""
    got: set[tuple[str, int]] = set()
    for v in values:
        try:
            addr = ipaddress.ip_address(v)
        except ValueError:
            continue
        for code, block in enumerate(BLOCKS):
            if addr in ipaddress.ip_network(block, strict=False):
                got.add((v, code))
    return got


def _index() -> CidrIndex:
    idx = CidrIndex()
    for code, block in enumerate(BLOCKS):
        idx.add(block, code)
    idx.freeze()
    return idx


def _hits(values: list[str], pos: np.ndarray, codes: np.ndarray) -> set[tuple[str, int]]:
    return {(values[p], int(c)) for p, c in zip(pos.tolist(), codes.tolist(), strict=True)}


def test_every_route_finds_what_ipaddress_finds() -> None:
    values = _values()
    want = _reference(values)
    assert ("10.1.2.0", BLOCKS.index("10.1.2.0/24")) in want and ("10.1.1.255", 0) in want
    idx = _index()
    series = pl.Series(values, dtype=pl.String)
    assert len(values) > _SMALL
    assert _hits(values, *idx.lookup(series)) == want  # polars route
    small: set[tuple[str, int]] = set()
    for start in range(0, len(values), _SMALL):  # Python route, a chunk at a time
        chunk = values[start : start + _SMALL]
        small |= _hits(chunk, *idx.lookup(pl.Series(chunk, dtype=pl.String)))
    assert small == want
    num = pl.DataFrame({"v": series}).select(ipv4_number(pl.col("v"))).to_series()  # the column pass
    given = (num.fill_null(0).to_numpy(), num.is_not_null().to_numpy())
    assert _hits(values, *idx.lookup(series, given)) == want


def test_blocks_added_after_freeze_are_merged() -> None:
    idx = CidrIndex()
    idx.add("10.1.2.0/24", 1)
    idx.freeze()
    idx.add("10.1.2.0/24", 2)
    idx.add("10.1.0.0/16", 3)
    values = ["10.1.2.9", "10.1.3.9", "10.2.0.0"]
    assert _hits(values, *idx.lookup(pl.Series(values))) == {
        ("10.1.2.9", 1), ("10.1.2.9", 2), ("10.1.2.9", 3), ("10.1.3.9", 3)
    }  # fmt: skip
    assert len(idx) == 3


def test_block_key_is_the_network_number() -> None:
    numbers = np.asarray([0, 1, 0x0A010203, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF], dtype=np.uint32)
    for plen in range(33):
        want = [n >> (32 - plen) if plen else 0 for n in numbers.tolist()]
        assert block_key(numbers, plen).tolist() == want, plen
