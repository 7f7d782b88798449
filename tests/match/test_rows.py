"""Indicator metadata by row: what ``get_many`` keeps between calls answers as a gather would."""

from __future__ import annotations

from colsec.match import rows as rows_module
from colsec.match.rows import RowTable


def _table() -> RowTable:
    table = RowTable()
    table.add_bulk(["a", "b", "c"], ["o1", None, "o1"], ["amber", "red", None], [None, "B", "C"])
    table.add(("d", "o2", "green", "D"))
    table.add_bulk(["e", "f"], [None, "o3"], [None, "clear"], ["E", None])
    return table


def test_get_many_again_and_mixed_with_new_rows() -> None:
    table = _table()
    want = {r: table.get(r) for r in range(6)}
    assert table.get_many([0, 2]) == {0: want[0], 2: want[2]}
    # kept rows, new rows, a single row and rows of the second bulk load together
    assert table.get_many([0, 1, 2, 3, 4, 5]) == want
    assert table.get_many([5, 3, 0]) == {5: want[5], 3: want[3], 0: want[0]}
    # a bulk load after rows were kept: its rows read as loaded
    start = table.add_bulk(["g"], ["o4"], ["amber"], ["G"])
    assert table.get_many([start, 1]) == {start: ("g", "o4", "amber", "G"), 1: want[1]}


def test_kept_rows_are_bounded(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(rows_module, "_SEEN_MAX", 2)
    table = _table()
    want = {r: table.get(r) for r in range(6)}
    for batch in ([0, 1], [2, 4], [5], [0, 1, 2, 4, 5]):
        assert table.get_many(batch) == {r: want[r] for r in batch}
        assert len(table._seen) <= 5
