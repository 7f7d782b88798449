"""A unit's object sequences as SQL predicates: contiguous runs as ranges, the rest as ``IN``.

The post-import steps select the unit's rows by sequence.  A ``seq IN (...)`` of 900 bound
values costs SQLAlchemy more to expand and coerce than SQLite takes to answer it (1.7 of
6.4 CPU-s of the steps after a 30,000-attribute MISP event), and an import's sequences are
almost always one contiguous run.  A run of three or more goes as ``BETWEEN lo AND hi``,
which holds exactly the same sequences; batches stay bounded in rows so results stay small.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import ColumnElement, or_

__all__ = ["MAX_PARAMS", "MAX_ROWS", "seq_batches", "seq_runs"]

MAX_PARAMS = 900  # bound values per statement: under SQLite's old 999 limit
MAX_ROWS = 5000  # sequences per statement: a range's rows are fetched at once


def seq_runs(seqs: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted, distinct ``seqs`` as inclusive ``(lo, hi)`` runs of consecutive integers."""
    ordered = sorted(set(seqs))
    if ordered and ordered[-1] - ordered[0] + 1 == len(ordered):  # one run, the usual import
        return [(ordered[0], ordered[-1])]
    runs: list[tuple[int, int]] = []
    for s in ordered:
        if runs and runs[-1][1] == s - 1:
            runs[-1] = (runs[-1][0], s)
        else:
            runs.append((s, s))
    return runs


def _split(runs: list[tuple[int, int]], most: int) -> Iterator[tuple[int, int]]:
    for lo, hi in runs:
        while hi - lo + 1 > most:
            yield lo, lo + most - 1
            lo += most
        yield lo, hi


def seq_batches(column: Any, seqs: Iterable[int]) -> Iterator[ColumnElement[bool]]:
    """Predicates on ``column`` that together hold exactly ``seqs``, each a bounded statement."""
    ranges: list[tuple[int, int]] = []
    singles: list[int] = []
    rows = 0

    def flush() -> ColumnElement[bool]:
        parts: list[ColumnElement[bool]] = [column.between(lo, hi) for lo, hi in ranges]
        if singles:
            parts.append(column.in_(list(singles)))
        ranges.clear()
        singles.clear()
        return parts[0] if len(parts) == 1 else or_(*parts)

    for lo, hi in _split(seq_runs(seqs), MAX_ROWS):
        n = hi - lo + 1
        params = 2 * len(ranges) + len(singles) + (2 if n >= 3 else n)
        if (ranges or singles) and (rows + n > MAX_ROWS or params > MAX_PARAMS):
            yield flush()
            rows = 0
        rows += n
        if n >= 3:
            ranges.append((lo, hi))
        else:
            singles.extend(range(lo, hi + 1))
    if ranges or singles:
        yield flush()
