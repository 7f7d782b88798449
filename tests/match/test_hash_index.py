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
