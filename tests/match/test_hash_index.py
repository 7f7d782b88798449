"""The hash index confirms every hash hit against the stored literal: a collision never hits."""

from __future__ import annotations

import numpy as np
import polars as pl

from colsec.match.index import HashIndex, hash_strings


def _index() -> HashIndex:
    values = pl.Series(["a.example", "b.example", "b.example", "10.0.0.1"], dtype=pl.String)
    return HashIndex.build(values, np.array([0, 1, 2, 3], dtype=np.int64))


def test_hits_are_the_equal_literals() -> None:
    idx = _index()
    q = pl.Series(["x", "b.example", None, "10.0.0.1", "a.example"], dtype=pl.String)
    pos, rows = idx.lookup(q)
    assert sorted(zip(pos.tolist(), rows.tolist(), strict=True)) == [(1, 1), (1, 2), (3, 3), (4, 0)]


def test_a_colliding_hash_is_no_hit() -> None:
    idx = _index()
    q = pl.Series(["not a.example", "b.example", None], dtype=pl.String)
    # every query value given the hash of a stored one: only the equal literal is a hit
    forged = hash_strings(pl.Series(["a.example", "b.example", "a.example"], dtype=pl.String))
    pos, rows = idx.lookup(q, forged)
    assert sorted(zip(pos.tolist(), rows.tolist(), strict=True)) == [(1, 1), (1, 2)]


def test_a_column_of_nulls_is_no_hit() -> None:
    idx = _index()
    q = pl.Series([None, None])
    forged = hash_strings(pl.Series(["a.example", "10.0.0.1"], dtype=pl.String))
    pos, rows = idx.lookup(q, forged)
    assert not len(pos) and not len(rows)


def test_substring_candidates_follow_literals_added_after_a_lookup() -> None:
    """The literals' column kept between lookups is remade when a literal is added."""
    import polars as pl

    from colsec.match.hits import _candidates
    from colsec.match.index import SubstringIndex

    idx = SubstringIndex()
    values = pl.Series(["/a/evil1.php", "/b/good.php", "/c/evil2.php"], dtype=pl.String)
    assert _candidates(idx, values)[1] == []
    idx.add("/evil1", 0)
    assert _candidates(idx, values)[1] == ["/a/evil1.php"]
    idx.add("/evil2", 1)
    assert _candidates(idx, values)[1] == ["/a/evil1.php", "/c/evil2.php"]


def test_bitmap_test_passes_exactly_the_hashes_whose_top_bits_are_set() -> None:
    """The bit test (cut to a byte, shifted in place) against the plain reading of the bitmap:
    every stored hash passes, and any other only when its top bits' bit is set."""
    from colsec.match.index import _bitmap, _in_bitmap

    rng = np.random.default_rng(20)
    for log2 in (16, 22, 26):
        keys = rng.integers(0, 2**64, 5_000, dtype=np.uint64)
        bitmap = _bitmap(keys, log2)
        q = np.concatenate(
            [rng.integers(0, 2**64, 20_000, dtype=np.uint64), keys[::7], np.array([0, 2**64 - 1], np.uint64)]
        )
        top = (q >> np.uint64(64 - log2)).astype(np.int64)
        want = np.flatnonzero((bitmap[top // 8] >> (top % 8).astype(np.uint8)) & 1)
        got = _in_bitmap(bitmap, log2, q)
        assert np.array_equal(got, want)
        assert set(range(20_000, 20_000 + len(keys[::7]))) <= set(got.tolist())
