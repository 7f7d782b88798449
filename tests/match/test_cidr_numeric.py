"""The CIDR index against ``ipaddress``, value by value, on every route it takes (issue #20).

Octet-aligned IPv4 blocks are answered by cut text prefixes, or on the addresses' numbers when
the index reads them anyway for blocks of other lengths (``CidrIndex.numeric_octets``); a few
values take a Python route.  Whatever the route, a value hits exactly the blocks the reference
puts it in: an IPv4 block holds canonical dotted quads only (whichever reader made the numbers:
the columns' ``ipv4_column`` or the event route's ``ipv4_numbers``), an IPv6 block what
``ipaddress`` reads as an IPv6 address.
"""

from __future__ import annotations

import ipaddress

import numpy as np
import polars as pl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from colsec.match.addresses import ipv4_column, ipv4_numbers
from colsec.match.cidr import _SMALL, CidrIndex, octet_prefixes
from colsec.match.index import hash_strings

#: an index row no drawn block has: the block that makes the index read numbers
_FORCE_ROW = 1_000_000
_FORCE_BLOCK = "203.0.113.0/25"


def _reference(values: list[str | None], blocks: list[str]) -> set[tuple[int, int]]:
    want = set()
    for i, v in enumerate(values):
        if v is None:
            continue
        for n, block in enumerate(blocks):
            net = ipaddress.ip_network(block, strict=False)
            if net.version == 6:
                if ":" not in v:
                    continue
                try:
                    addr6 = ipaddress.IPv6Address(v)
                except ValueError:
                    continue
                if int(addr6) >> (128 - net.prefixlen) == int(net.network_address) >> (128 - net.prefixlen):
                    want.add((i, n))
            else:
                try:
                    addr = ipaddress.IPv4Address(v)
                except ValueError:
                    continue
                if str(addr) == v and addr in net:
                    want.add((i, n))
    return want


def _got(idx: CidrIndex, values: list[str | None], **extra: object) -> set[tuple[int, int]]:
    pos, codes = idx.lookup(pl.Series(values, dtype=pl.String), **extra)  # type: ignore[arg-type]
    got = list(zip(pos.tolist(), codes.tolist(), strict=True))
    assert len(got) == len(set(got)), "a hit reported twice"
    return {(p, c) for p, c in got if c != _FORCE_ROW and p < len(values)}


_PLENS4 = [0, 1, 7, 8, 9, 15, 16, 17, 23, 24, 25, 26, 27, 30, 31, 32]
_PLENS6 = [0, 16, 32, 48, 64, 96, 127, 128]


@st.composite
def _block(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 4)) == 0:
        return f"{ipaddress.IPv6Address(draw(st.integers(0, 2**128 - 1)))}/{draw(st.sampled_from(_PLENS6))}"
    octets = draw(
        st.lists(st.sampled_from([0, 1, 9, 10, 100, 127, 128, 172, 192, 254, 255]), min_size=4, max_size=4)
    )
    return f"{'.'.join(map(str, octets))}/{draw(st.sampled_from(_PLENS4))}"


def _near(block: str, offset: int) -> str:
    """An address at ``offset`` from a block's first or (negative) past its last address."""
    net = ipaddress.ip_network(block, strict=False)
    top = 2**32 - 1 if net.version == 4 else 2**128 - 1
    base = int(net.network_address) if offset >= 0 else int(net.broadcast_address) + 1
    num = min(max(base + offset, 0), top)
    return str(ipaddress.IPv4Address(num) if net.version == 4 else ipaddress.IPv6Address(num))


_SPOIL = [
    lambda v: "0" + v,  # a leading zero
    lambda v: v.replace(".", ".0", 1),
    lambda v: " " + v,
    lambda v: v + " ",
    lambda v: v + "\n",
    lambda v: v + ".5",  # a fifth part
    lambda v: v + ".",
    lambda v: v.rsplit(".", 1)[0],  # three parts
    lambda v: v.replace(".", "..", 1),
    lambda v: "+" + v,
    lambda v: v.replace("1", "\u0661"),  # an Arabic-Indic digit
    lambda v: "::ffff:" + v,
    lambda v: v.upper(),
    lambda v: v + "%eth0",
    lambda v: v.replace(".", ":"),
    lambda v: "",
]


@st.composite
def _case(draw: st.DrawFn) -> tuple[list[str], list[str | None]]:
    blocks = draw(st.lists(_block(), min_size=1, max_size=6))
    values: list[str | None] = []
    for _ in range(draw(st.integers(0, 40))):
        kind = draw(st.integers(0, 5))
        if kind == 0:
            values.append(None)
            continue
        if kind == 1:
            v = str(ipaddress.IPv4Address(draw(st.integers(0, 2**32 - 1))))
        else:
            v = _near(draw(st.sampled_from(blocks)), draw(st.sampled_from([0, 1, 2, 255, 256, -1, -2, -256])))
        if kind >= 4:
            v = draw(st.sampled_from(_SPOIL))(v)
        values.append(v)
    return blocks, values


def _index(blocks: list[str], *, force_numbers: bool) -> CidrIndex:
    idx = CidrIndex()
    for n, block in enumerate(blocks):
        idx.add(block, n)
    if force_numbers:
        idx.add(_FORCE_BLOCK, _FORCE_ROW)
    idx.freeze()
    return idx


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_case())
@example((["10.0.0.0/8", "10.1.2.0/24", "8.8.8.8/32", "0.0.0.0/0"], ["010.1.2.3", "10.1.2.3", "8.8.8.8.1"]))
@example(
    (["10.1.2.0/24", "10.1.2.2/31", "2001:db8::/32"], ["10.1.2.3", "10.1.2.2", "2001:DB8::1", "10.1.2.3 "])
)
@example((["1.0.0.0/8"], ["\u0661.2.3.4", "1.2.3.4"]))
@example((["10.0.0.0/20"], ["0010.0.0.1", "\u0661\u0660.0.0.1", "010.0.0.1", "10.0.0.1"]))
def test_every_route_finds_what_ipaddress_finds(case: tuple[list[str], list[str | None]]) -> None:
    blocks, values = case
    want = _reference(values, blocks)
    padded = values + ["no address"] * (_SMALL + 1)  # past ``_SMALL``: the vectorised routes
    series = pl.Series(padded, dtype=pl.String)
    for force in (False, True):
        idx = _index(blocks, force_numbers=force)
        assert idx.numeric_octets is (bool(idx.octets) and (force or bool(idx.v4)))
        assert _got(idx, values) == want  # the few-values route when short
        assert _got(idx, padded) == want
        assert _got(idx, padded, ipv4=ipv4_column(series)) == want  # numbers read by the caller
        if idx.needs_numbers:  # a streamed event's few values, read in Python by the engine
            assert _got(idx, values, ipv4=ipv4_numbers([v or "" for v in values])) == want
        if not idx.numeric_octets and idx.octets:  # prefixes cut by the caller, as the columns do
            cut = octet_prefixes(series, list(idx.octets))
            prefixes = {plen: (pre, hash_strings(pre)) for plen, pre in cut.items()}
            assert _got(idx, padded, prefixes=prefixes) == want


def test_octet_blocks_on_numbers_keep_every_row_of_a_block() -> None:
    """Two indicators on one block, blocks added after a lookup: each row is found once."""
    idx = CidrIndex()
    for n, block in enumerate(["10.1.2.0/24", "10.1.2.0/24", "10.0.0.0/8", "172.16.32.0/20"]):
        idx.add(block, n)
    values = ["10.1.2.3", "10.9.9.9", "172.16.40.1", "010.1.2.3"] * 20
    first = _got(idx, values)
    assert idx.numeric_octets
    assert {(0, 0), (0, 1), (0, 2), (1, 2), (2, 3)} <= first
    assert not {h for h in first if h[0] == 3}
    idx.add("10.9.9.0/24", 7)
    again = _got(idx, values)
    assert again == first | {(p, 7) for p in range(1, len(values), 4)}
    assert np.array_equal(np.sort(idx.aligned[24][0]), idx.aligned[24][0])
