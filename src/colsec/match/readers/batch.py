"""Many lines through a reader in one loop: the hit rows of a column chunk.

``decode_line`` costs a call per line and per step (the count, the length check, ``feed``,
the record, the event); for the thousands of rows a chunk's columns hit, that overhead cost
as much as reading the record.  These loops read each line as ``decode_line`` with the
format's ``feed`` does, and count it alike in the stats (the column tests hold the events to
the event path's, field for field).  Lines come without their line end, as ``Lines`` gives them.
"""

from __future__ import annotations

from typing import Any

from colsec.match.events import Event, Malformed
from colsec.match.readers.formats import MAX_LINE, ReaderStats
from colsec.match.readers.network import zeek_event, zeek_tsv_record
from colsec.match.readers.text import _CSV_SPECIAL, FieldMapping, mapped_event


def csv_rows(
    mapping: FieldMapping, texts: list[str], line_nos: list[int], stats: ReaderStats
) -> list[Event | None]:
    """CSV data lines (the header read: ``mapping.columns`` set) to events, None where none."""
    columns = mapping.columns
    assert columns is not None
    sep, fields, time_of, width = mapping.delimiter, mapping.fields, mapping.time_of, len(columns)
    plain_sep = sep not in _CSV_SPECIAL
    out: list[Event | None] = []
    for text, line_no in zip(texts, line_nos, strict=True):
        event: Event | Malformed | None = None
        if text.strip():
            if not text.startswith("#"):
                stats.lines += 1
            if len(text) >= MAX_LINE:
                event = Malformed(line_no, "line too long")
            else:
                rec: dict[str, Any] | None
                if plain_sep and not any(c in text for c in _CSV_SPECIAL):
                    row = text.split(sep)  # ``csv_record``'s own fast spelling
                    rec = dict(zip(columns, row, strict=False)) if len(row) >= width else None
                else:
                    rec = mapping.csv_record(text + "\n")
                if rec is None:
                    event = Malformed(line_no, "too few CSV columns")
                else:
                    event = mapped_event(rec, line_no, fields, time_of(rec), "csv")
                    if event is None:
                        event = Malformed(line_no, "no readable timestamp")
        elif len(text) >= MAX_LINE:
            event = Malformed(line_no, "line too long")
        out.append(_counted(event, stats))
    return out


def zeek_rows(
    meta: dict[str, Any], texts: list[str], line_nos: list[int], stats: ReaderStats
) -> list[Event | None]:
    """Zeek TSV data lines (none a "#" line) under the header ``meta`` to events."""
    path = meta.get("path") or None
    out: list[Event | None] = []
    for text, line_no in zip(texts, line_nos, strict=True):
        event: Event | Malformed | None = None
        if text.strip():
            stats.lines += 1
            if len(text) >= MAX_LINE:
                event = Malformed(line_no, "line too long")
            elif (rec := zeek_tsv_record(text, meta)) is None:  # it strips the line end itself
                event = Malformed(line_no, "wrong number of Zeek TSV fields")
            else:
                event = zeek_event(rec, line_no, path)
                if event is None:
                    event = Malformed(line_no, "no timestamp")
        elif len(text) >= MAX_LINE:
            event = Malformed(line_no, "line too long")
        out.append(_counted(event, stats))
    return out


def _counted(out: Event | Malformed | None, stats: ReaderStats) -> Event | None:
    """A line's decoding counted in ``stats`` as ``decode_line`` counts it."""
    if isinstance(out, Malformed):
        stats.bad(out)
        return None
    if out is not None:
        stats.events += 1
    return out
