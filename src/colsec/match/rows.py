"""Per-indicator metadata (id, owner, TLP, name) kept compact.

A million Python strings and a dict over them cost ~250 bytes an indicator;
bulk loads are therefore stored as polars columns (ids ~60 bytes, owner and
TLP as categoricals), and only indicators added one at a time live in dicts.
Rows are never reused: removing an indicator clears its ``alive`` flag in the
engine, and a re-added indicator gets a new row.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np
import polars as pl

__all__ = ["RowTable"]

Meta = tuple[str, str | None, str | None, str | None]

#: bulk rows' metadata kept by ``get_many`` at most (about 100 bytes each)
_SEEN_MAX = 100_000


class RowTable:
    def __init__(self) -> None:
        self._n = 0
        self._starts: list[int] = []
        self._chunks: list[pl.DataFrame] = []
        self._cache: list[tuple[list[str], list[str | None], list[str | None], list[str | None]] | None] = []
        self._single: dict[int, Meta] = {}
        self._single_rows: dict[str, list[int]] = {}
        self._seen: dict[int, Meta] = {}  # bulk rows ``get_many`` gathered already

    def __len__(self) -> int:
        return self._n

    def add_bulk(
        self,
        ids: Sequence[str],
        owners: Sequence[str | None],
        tlps: Sequence[str | None],
        names: Sequence[str | None],
    ) -> int:
        """Append rows; returns the first row number."""
        start = self._n
        if not ids:
            return start
        frame = pl.DataFrame(
            {
                "id": pl.Series(ids, dtype=pl.String),
                "owner": pl.Series(owners, dtype=pl.Categorical),
                "tlp": pl.Series(tlps, dtype=pl.Categorical),
                "name": pl.Series(names, dtype=pl.String),
            }
        )
        self._starts.append(start)
        self._chunks.append(frame)
        self._cache.append(None)
        self._n += len(ids)
        return start

    def add(self, meta: Meta) -> int:
        row = self._n
        self._single[row] = meta
        self._single_rows.setdefault(meta[0], []).append(row)
        self._n += 1
        return row

    def get(self, row: int) -> Meta:
        meta = self._single.get(row)
        if meta is not None:
            return meta
        k = bisect.bisect_right(self._starts, row) - 1
        i = row - self._starts[k]
        frame = self._chunks[k]
        return (frame["id"][i], frame["owner"][i], frame["tlp"][i], frame["name"][i])

    def get_many(self, rows: Sequence[int]) -> dict[int, Meta]:
        """Metadata of many rows with one gather per chunk (alerts come in batches).

        Bulk rows gathered once are kept (a row's metadata never changes: rows are not
        reused), so the indicators that alert chunk after chunk cost a dict lookup, not a gather.
        """
        out: dict[int, Meta] = {}
        single, seen = self._single, self._seen
        bulk = []
        for row in rows:
            meta = single.get(row) or seen.get(row)
            if meta is None:
                bulk.append(row)
            else:
                out[row] = meta
        rows = bulk
        if not rows or not self._chunks:
            return out
        if len(seen) + len(rows) > _SEEN_MAX:  # bounded: a long run alerting on everything
            seen.clear()
        wanted = np.asarray(rows, dtype=np.int64)
        chunk_of = np.searchsorted(np.asarray(self._starts, dtype=np.int64), wanted, side="right") - 1
        for k in np.unique(chunk_of).tolist():
            mine = wanted[chunk_of == k]
            sub = self._chunks[k][mine - self._starts[k]]
            columns = [sub[c].to_list() for c in ("id", "owner", "tlp", "name")]
            got = dict(zip(mine.tolist(), zip(*columns, strict=True), strict=True))
            out.update(got)
            seen.update(got)
        return out

    def rows_of(self, ids: Sequence[str]) -> list[int]:
        """Every row ever given to any of ``ids`` (callers filter by liveness)."""
        out: list[int] = []
        for i in ids:
            out.extend(self._single_rows.get(i, ()))
        if self._chunks and ids:
            wanted = pl.Series(list(ids), dtype=pl.String).implode()
            for start, frame in zip(self._starts, self._chunks, strict=True):
                hits = frame["id"].is_in(wanted).arg_true()
                out.extend(start + int(h) for h in hits.to_list())
        return out

    def nbytes(self) -> int:
        import sys

        total = sum(int(f.estimated_size()) for f in self._chunks)
        total += sum(sys.getsizeof(m[0]) + 80 for m in self._single.values())
        return total
