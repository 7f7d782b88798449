"""A chunk's columns as the indexes' value columns: the values each feed's transform makes,
non-null and non-empty, with their rows (what ``hits.collect_hits`` looks up)."""

from __future__ import annotations

import numpy as np
import polars as pl

from colsec.match.addresses import ADDRESS_LIKE, canonical_ipv6
from colsec.match.engine import MatchEngine
from colsec.match.hits import PreparedFrame
from colsec.match.vector import indexed_keys

from .lines import Columns
from .table import ADDRESS_KEYS, UNSPACED, Key, Table, Transform, raw


def prepare(
    engine: MatchEngine, table: Table, cols: Columns, rows: int, *, spaced: bool = True, colon: bool = True
) -> PreparedFrame:
    """The table's columns as the indexes' value columns: non-null values and their rows.

    ``spaced=False``: no value holds whitespace (``lines.unspaced``), so the strippings are
    skipped; ``colon=False``: no value holds a colon, so no IPv6 text needs its canonical
    spelling.  A field given to several feeds with the same (effective) transform is prepared
    once: its values are hashed and looked up once per index, not once per feed.
    """
    keys = indexed_keys(engine)
    # a field no row holds (most of a table's fields in any one log) costs nothing further
    cols = {f: c for f, c in cols.items() if not isinstance(c, pl.Series) or c.null_count() < len(c)}
    positions: dict[str, np.ndarray] = {}
    values: dict[str, pl.Series] = {}
    columns: list[tuple[Key, str]] = []
    done: dict[tuple[str, Transform, bool, bool | None], str | None] = {}
    flat: dict[str, tuple[np.ndarray, pl.Series]] = {}  # a list field is exploded once
    split: dict[str, np.ndarray] = {}  # and its values told apart as addresses once
    feeds = [
        (
            n,
            feed,
            [k for k in feed.keys if k in keys],
            feed.transform if spaced else UNSPACED.get(feed.transform, feed.transform),
        )
        for n, feed in enumerate(table.feeds)
    ]
    batch = _batch_values(
        cols, rows, {(f.field, t) for _, f, wanted, t in feeds if wanted and f.addresses is None}
    )
    for n, feed, wanted, transform in feeds:
        col = cols.get(feed.field)
        if not wanted or col is None:
            continue
        addresses = any(k in ADDRESS_KEYS for k in wanted)
        seen = (feed.field, transform, addresses and colon, feed.addresses)
        if seen in done:
            name = done[seen]
            if name is not None:
                columns.extend((k, name) for k in wanted if (k, name) not in columns)
            continue
        done[seen] = None
        if feed.addresses is None and (feed.field, transform) in batch:
            got = batch[(feed.field, transform)]
        else:
            if feed.field not in flat:
                flat[feed.field] = _flat(col)
            pos, items = flat[feed.field]
            if feed.addresses is not None:
                if feed.field not in split:  # the reader's test, on the text as it reads it
                    split[feed.field] = items.str.contains(ADDRESS_LIKE).fill_null(False).to_numpy()
                keep = split[feed.field] if feed.addresses else ~split[feed.field]
                pos, items = pos[keep], items.filter(pl.Series(keep))
            got = _values(pos, items, transform)
        if got is None:
            continue
        pos, out = got
        if addresses and colon and out.str.contains(":", literal=True).any():
            out = canonical_ipv6(out)
        name = done[seen] = f"c{n}"
        positions[name], values[name] = pos, out
        columns.extend((k, name) for k in wanted)
    return PreparedFrame(rows, columns, positions, values)


def _batch_values(
    cols: Columns, rows: int, todo: set[tuple[str, Transform]]
) -> dict[tuple[str, Transform], tuple[np.ndarray, pl.Series] | None]:
    """``_values`` of every plain text field and its transform in one polars select (a call per
    field and step cost a Windows chunk more than its parse); a transform that makes lists is
    left out (``prepare`` explodes it on its own)."""
    todo_list = [
        (f, t)
        for f, t in sorted(todo, key=lambda ft: (ft[0], id(ft[1])))
        if isinstance(col := cols.get(f), pl.Series) and col.dtype == pl.String and len(col) == rows
    ]
    if not todo_list:
        return {}
    frame = pl.DataFrame({f: cols[f] for f in dict.fromkeys(f for f, _ in todo_list)})
    exprs: list[pl.Expr] = []
    for i, (f, t) in enumerate(todo_list):
        v = pl.col(f) if t is raw else t(pl.col(f))
        exprs.append(v.alias(f"v{i}"))
    out = frame.select(exprs)
    texts = [i for i in range(len(todo_list)) if out[f"v{i}"].dtype == pl.String]
    keep = out.select(
        (pl.col(f"v{i}").str.len_bytes() > 0).fill_null(False).alias(f"k{i}") for i in texts
    ) if texts else None  # fmt: skip
    got: dict[tuple[str, Transform], tuple[np.ndarray, pl.Series] | None] = {}
    for i in texts:
        assert keep is not None
        mask = keep[f"k{i}"]
        pos = np.flatnonzero(mask.to_numpy())
        if not len(pos):
            got[todo_list[i]] = None
            continue
        series = out[f"v{i}"]
        got[todo_list[i]] = (pos, series if len(pos) == rows else series.filter(mask))
    return got


def _flat(col: pl.Series | tuple[np.ndarray, pl.Series]) -> tuple[np.ndarray, pl.Series]:
    """A column's non-null values with their rows (a list: one row per item)."""
    if isinstance(col, tuple):
        return col
    if col.dtype == pl.List(pl.String):
        flat_frame = (
            pl.DataFrame({"row": pl.int_range(len(col), dtype=pl.Int64, eager=True), "v": col})
            .explode("v")
            .drop_nulls("v")
        )
        pos, flat = flat_frame["row"].to_numpy(), flat_frame["v"]
    else:
        mask = col.is_not_null()
        pos = np.flatnonzero(mask.to_numpy())
        flat = col.filter(mask) if len(pos) < len(col) else col
    return pos, flat


def _values(pos: np.ndarray, flat: pl.Series, transform: Transform) -> tuple[np.ndarray, pl.Series] | None:
    """Non-null values after ``transform``, the empty ones dropped, with their rows."""
    if not len(flat):
        return None
    out = flat if transform is raw else flat.to_frame("v").select(transform(pl.col("v"))).to_series()
    if out.dtype == pl.List(pl.String):
        size = out.list.len().fill_null(0).to_numpy()
        pos = np.repeat(pos, np.maximum(size, 1))  # explode keeps a null for an empty list
        out = out.explode()
    keep_np = (out.str.len_bytes() > 0).fill_null(False).to_numpy()  # a length: no string compare
    if not keep_np.all():
        pos, out = pos[keep_np], out.filter(pl.Series(keep_np))
    if not len(out):
        return None
    return pos, out
