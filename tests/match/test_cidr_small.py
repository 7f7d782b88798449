"""A few addresses (a streamed event's) take a Python route through the CIDR index; it must
find exactly what the vectorised route finds."""

from __future__ import annotations

import numpy as np
import polars as pl

from colsec.match.cidr import _SMALL, CidrIndex, _octet_prefix_text, octet_prefix

TEXTS = [
    "10.1.2.3", "10.1.2.", "10.1.2", "10.1", "10", "", "1.2.3.4.5", "300.1.2.3", "a.b.c.d",
    "10.1.2.3a", "::ffff:10.1.2.3", "2001:db8::1", "010.001.002.003", "10..2.3", "192.168.100.255",
    "8.8.8.8", "10.200.0.1",
]  # fmt: skip


def test_prefix_text_is_the_expression() -> None:
    for plen in (8, 16, 24, 32):
        want = pl.select(octet_prefix(pl.lit(pl.Series(TEXTS, dtype=pl.String)), plen)).to_series().to_list()
        assert [_octet_prefix_text(v, plen) for v in TEXTS] == want, plen
    assert _octet_prefix_text(None, 24) is None


def _hits(idx: CidrIndex, values: list[str]) -> set[tuple[str, int]]:
    pos, codes = idx.lookup(pl.Series(values, dtype=pl.String))
    return {(values[p], int(c)) for p, c in zip(pos.tolist(), codes.tolist(), strict=True)}


def test_small_and_vector_routes_agree() -> None:
    idx = CidrIndex()
    for n, block in enumerate(["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "8.8.8.8/32", "192.168.96.0/19"]):
        idx.add(block, n)
    idx.freeze()
    small = list(TEXTS)
    assert len(small) <= _SMALL
    padded = small + ["203.0.113.9"] * (_SMALL + 1)  # the vectorised route
    got_small = _hits(idx, small)
    got_vector = {h for h in _hits(idx, padded) if h[0] != "203.0.113.9"}
    assert got_small == got_vector
    assert (
        ("10.1.2.3", 2) in got_small and ("8.8.8.8", 3) in got_small and ("192.168.100.255", 4) in got_small
    )
    assert not any(v == "10.1.2.3a" for v, _ in got_small)
    assert np.array_equal(*(np.sort(np.array([c for _, c in s])) for s in (got_small, got_vector)))


def _per_octet(values: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """The expression ``ipv4_column`` replaced (each octet read from the split's struct field)."""
    parts = pl.col("v").str.split_exact(".", 3)
    octets = [parts.struct.field(f"field_{i}").cast(pl.UInt32, strict=False) for i in range(4)]
    valid = pl.all_horizontal([o.is_not_null() & (o < 256) for o in octets])
    number = octets[0] * 16_777_216 + octets[1] * 65_536 + octets[2] * 256 + octets[3]
    got = pl.DataFrame({"v": values}).select(pl.when(valid).then(number).otherwise(None)).to_series()
    return got.fill_null(0).to_numpy().astype(np.uint32), got.is_not_null().to_numpy()


def test_ipv4_column_reads_as_the_per_octet_expression() -> None:
    import ipaddress
    import random

    from colsec.match.addresses import ipv4_column

    r = random.Random(3)
    texts: list[str | None] = [*TEXTS, None, "255.255.255.255", "0.0.0.0", "1.2.3.-4", " 1.2.3.4", "1.2.3.4 "]
    texts += [".".join(str(r.randrange(300)) for _ in range(r.choice((3, 4, 4, 5)))) for _ in range(3000)]
    series = pl.Series(texts, dtype=pl.String)
    nums, ok = ipv4_column(series)
    want_nums, want_ok = _per_octet(series)
    assert nums.dtype == np.uint32 and ok.dtype == bool
    assert np.array_equal(ok, want_ok) and np.array_equal(nums, want_nums)
    for text, n, good in zip(texts, nums.tolist(), ok.tolist(), strict=True):
        if text is not None and good and text.count(".") == 3 and all(p.isdigit() for p in text.split(".")):
            if not any(len(p) > 1 and p[0] == "0" for p in text.split(".")):
                assert n == int(ipaddress.IPv4Address(text)), text
    assert ipv4_column(pl.Series([], dtype=pl.String))[0].shape == (0,)


def test_hash_index_finds_every_row_of_a_value() -> None:
    """A value held by one row (the search's shortcut) or by several (the run of equal hashes)."""
    from colsec.match.index import HashIndex

    for values in (["a", "b", "c", "d"], ["a", "b", "a", "c", "a", "b"]):
        idx = HashIndex.build(pl.Series(values, dtype=pl.String), np.arange(len(values)) * 10)
        assert idx.distinct is (len(set(values)) == len(values))
        query = ["x", "a", "b", "a", "", "c"]
        pos, rows = idx.lookup(pl.Series(query, dtype=pl.String))
        got = sorted(zip(pos.tolist(), rows.tolist(), strict=True))
        want = sorted((i, r * 10) for i, q in enumerate(query) for r, v in enumerate(values) if v == q)
        assert got == want


AWKWARD = [
    "10.0.0.0", "10.255.255.255", "9.255.255.255", "11.0.0.0", "010.0.0.1", "10.01.2.3", "10.1.2.3 ",
    " 10.1.2.3", "10.1.2", "10.1.2.3.4", "10.1.2.3.", "255.255.255.255", "0.0.0.0", "256.1.2.3",
    "10.1.256.1", "::ffff:10.1.2.3", "::ffff:a01:203", "2001:db8::1", "", "10.1.1.255", "10.1.3.0",
    "10.1.2.255", "10.2.0.0", "10.0.255.255", "172.16.31.255", "172.16.32.0", "172.16.47.255",
    "172.16.48.0", "0.255.255.255", "1.0.0.0", "8.8.8.8", "8.8.8.80", "88.8.8.8", "10.1.2.3\n",
    "١٠.1.2.3", "10.1.2.-3", "+10.1.2.3",
]  # fmt: skip
BLOCKS = [
    "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "8.8.8.8/32", "255.255.255.255/32", "0.0.0.0/8",
    "172.16.32.0/20", "255.0.0.0/8",
]  # fmt: skip


def _truth(values: list[str | None]) -> set[tuple[int, int]]:
    """Per value with ``ipaddress``: a canonical dotted quad inside an octet-aligned block, or any
    value ``ipv4_column`` reads as a number inside another block."""
    import ipaddress

    from colsec.match.addresses import ipv4_numbers

    want = set()
    for i, v in enumerate(values):
        for n, block in enumerate(BLOCKS):
            net = ipaddress.ip_network(block)
            if v is None:
                continue
            if net.prefixlen % 8 == 0:
                try:
                    canonical = str(ipaddress.IPv4Address(v)) == v
                except ValueError:
                    canonical = False
                if canonical and ipaddress.IPv4Address(v) in net:
                    want.add((i, n))
            else:
                nums, ok = ipv4_numbers([v])
                if ok[0] and ipaddress.IPv4Address(int(nums[0])) in net:
                    want.add((i, n))
    return want


def test_octet_blocks_of_every_length_hit_only_canonical_quads() -> None:
    """Several octet lengths at once take the one-regex route (``octet_prefixes``); each value,
    awkward or on a block's edge, hits exactly the blocks ``ipaddress`` puts it in."""
    from colsec.match.cidr import nested_prefixes

    idx = CidrIndex()
    for n, block in enumerate(BLOCKS):
        idx.add(block, n)
    idx.freeze()
    assert nested_prefixes(list(idx.octets))
    values: list[str | None] = [*AWKWARD, None] * 3  # past _SMALL: the vectorised route
    assert len(values) > _SMALL
    pos, codes = idx.lookup(pl.Series(values, dtype=pl.String))
    got = set(zip(pos.tolist(), codes.tolist(), strict=True))
    assert len(got) == len(pos)
    want = _truth(values)
    assert got == want
    hit = {(values[i], n) for i, n in got}
    assert {("10.1.2.255", 2), ("10.0.0.0", 0), ("0.255.255.255", 5), ("255.255.255.255", 4)} <= hit
    assert {("172.16.32.0", 6), ("172.16.47.255", 6)} <= hit and ("172.16.48.0", 6) not in hit
    assert not {v for v, _ in hit} & {"010.0.0.1", "10.01.2.3", "10.1.2.3 ", "10.1.2.3.4", "::ffff:a01:203"}
    small = [v for v in AWKWARD if v]
    assert _hits(idx, small) == {(values[i], n) for i, n in want if values[i] in small}
