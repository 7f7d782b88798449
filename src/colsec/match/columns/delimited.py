"""Delimited splitters (Zeek TSV, CSV with a mapping): polars' CSV reader on the chunk."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np
import polars as pl

from colsec.match.readers.network import zeek_unescape

from .lines import Columns, Lines, Refused


@dataclass
class Zeek:
    """A Zeek TSV header: the settings the reader takes from it."""

    fields: list[str]
    sets: set[str]
    sep: str = "\t"
    set_sep: str = ","
    empty: str = "(empty)"
    unset: str = "-"


def delimited(
    lines: Lines,
    start: int,
    stop: int,
    sep: str,
    fields: list[str],
    names: list[str],
    quote: str | None,
    unset: str | None = None,
) -> dict[str, pl.Series]:
    """Lines ``start``..``stop`` read by polars' CSV reader, as columns over all the chunk's
    lines (null outside, and where a field is ``unset``); refused unless every line gives one
    row (a blank line, a quoted line end)."""
    wanted = [n for n in dict.fromkeys(names) if n in fields]
    if not wanted or stop <= start:
        return {}
    begin = lines.offset(start)
    end = lines.offset(stop)
    data = lines.chunk if begin == 0 and end == len(lines.chunk) else lines.chunk[begin:end]
    if data.startswith(b"\xef\xbb\xbf"):  # polars drops the mark; the reader keeps it in the first field
        raise Refused("byte-order mark before the data")
    read = functools.partial(
        pl.read_csv,
        data,
        separator=sep,
        has_header=False,
        columns=[fields.index(n) for n in wanted],
        infer_schema=False,
        quote_char=quote,
        truncate_ragged_lines=True,
        null_values=unset,
    )
    try:
        # the lossy decoding copies the whole chunk first (a third of the parse): only for a
        # chunk that is no UTF-8, which the strict reading refuses
        df = read(encoding="utf8")
    except (pl.exceptions.PolarsError, ValueError) as exc:
        if data.isascii() or _is_utf8(data):
            raise Refused(str(exc)) from exc
        try:
            df = read(encoding="utf8-lossy")
        except (pl.exceptions.PolarsError, ValueError) as exc2:
            raise Refused(str(exc2)) from exc2
    if len(df) != stop - start:
        raise Refused("not one row a line")
    df.columns = sorted(wanted, key=fields.index)
    if start == 0 and stop == len(lines):  # a chunk of data lines only: no copy
        return {n: df[n] for n in wanted}
    before = pl.Series([None] * start, dtype=pl.String)
    after = pl.Series([None] * (len(lines) - stop), dtype=pl.String)
    return {n: pl.concat([before, df[n], after]) for n in wanted}


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def tsv_columns(lines: Lines, start: int, names: list[str], head: Zeek) -> dict[str, pl.Series]:
    """Zeek TSV data lines from ``start`` (after the header) up to a closing comment block."""
    stop = len(lines)
    heads = lines.heads(start)
    comments = np.flatnonzero(heads == ord("#"))
    if len(comments):
        # "#close" and the like may end a file; nothing else may follow
        tail = heads[comments[0] :]
        if not np.all((tail == ord("#")) | (tail == ord("\n"))):
            raise Refused("Zeek TSV comment inside the data")
        stop = start + int(comments[0])
    frame = delimited(lines, start, stop, head.sep, head.fields, names, None, head.unset)
    out: dict[str, pl.Series] = {}
    # one search of the data lines' bytes spares a pass over each column for escapes
    end = lines.offset(stop) if stop < len(lines) else len(lines.chunk)
    escaped = lines.chunk.find(b"\\", lines.offset(start), end) >= 0
    for name, col in frame.items():
        # an empty set is offered as its marker: a value the reader does not make is dropped
        # by the alerts' confirmation, and a test spares a pass over the column
        sep = head.set_sep if name in head.sets else None
        if escaped:
            out[name] = _unescaped(col, sep)
        else:
            out[name] = col if sep is None else col.str.split(sep)
    return out


def _unescaped(col: pl.Series, set_sep: str | None) -> pl.Series:
    r"""A column as the reader reads it: a set split at its separator, and the few values holding
    Zeek's escapes (``\\``, ``\xHH``) undone by the reader's own ``zeek_unescape``, a set's
    item by item (an escaped separator inside an item stays in it)."""
    rows = np.flatnonzero(col.str.contains("\\", literal=True).fill_null(False).to_numpy())
    if set_sep is None:
        if not len(rows):
            return col
        fixed = pl.Series([zeek_unescape(v) for v in col.gather(rows).to_list()], dtype=pl.String)
        return col.scatter(rows.tolist(), fixed)
    sets = col.str.split(set_sep)
    if not len(rows):
        return sets
    items = [[zeek_unescape(v) for v in text.split(set_sep)] for text in col.gather(rows).to_list()]
    return sets.scatter(rows.tolist(), pl.Series(items, dtype=pl.List(pl.String)))


def csv_columns(lines: Lines, start: int, names: list[str], columns: list[str], delimiter: str) -> Columns:
    """CSV rows from ``start`` (after a header), quoted as ``csv.reader`` quotes."""
    return dict(delimited(lines, start, len(lines), delimiter, columns, names, '"'))


def zeek_header(lines: Lines) -> tuple[Zeek | None, int]:
    """The header at the top of a Zeek TSV file, and how many lines it takes."""
    from colsec.match.readers.network import zeek_tsv_header

    n = 0
    while n < len(lines) and lines[n].startswith("#"):
        n += 1
    meta = zeek_tsv_header(lines.slice(0, n))
    if "fields" not in meta:
        return None, n
    types = meta.get("types") or [""] * len(meta["fields"])
    sets = {f for f, t in zip(meta["fields"], types, strict=False) if t.startswith(("set[", "vector["))}
    return Zeek(meta["fields"], sets, meta["sep"], meta["set_sep"], meta["empty"], meta["unset"]), n


HEADER_LINE = re.compile(r"^#(?:separator|fields|types|set_separator|empty_field|unset_field|path)\b", re.M)
