"""Many lines through a reader in one loop: the hit rows of a column chunk.

``decode_line`` costs a call per line and per step (the count, the length check, ``feed``,
the record, the event); for the thousands of rows a chunk's columns hit, that overhead cost
as much as reading the record.  One loop (``_rows``) reads each line as ``decode_line`` with
the format's ``feed`` does, and counts it alike in the stats (the column tests hold the events
to the event path's, field for field); each format gives it only its record-to-event step.  Lines come without their line end, as ``Lines`` gives them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from colsec.match.events import Event, Malformed
from colsec.match.readers.formats import MAX_LINE, ReaderStats
from colsec.match.readers.network import zeek_event, zeek_tsv_record
from colsec.match.readers.text import _CSV_SPECIAL, FieldMapping, field_plan, planned_event


def csv_rows(
    mapping: FieldMapping, texts: list[str], line_nos: list[int], stats: ReaderStats
) -> list[Event | None]:
    """CSV data lines (the header read: ``mapping.columns`` set) to events, None where none."""
    columns = mapping.columns
    assert columns is not None
    sep, plan, time_of, width = mapping.delimiter, field_plan(mapping.fields), mapping.time_of, len(columns)
    plain_sep = sep not in _CSV_SPECIAL
    assert _CSV_SPECIAL == ('"', "\r", "\n", "\x00")  # spelled out below: no generator per line

    def read(text: str, line_no: int) -> Event | Malformed:
        rec: dict[str, Any] | None
        if plain_sep and not ('"' in text or "\r" in text or "\n" in text or "\x00" in text):
            row = text.split(sep)  # ``csv_record``'s own fast spelling
            rec = dict(zip(columns, row, strict=False)) if len(row) >= width else None
        else:
            rec = mapping.csv_record(text + "\n")
        if rec is None:
            return Malformed(line_no, "too few CSV columns")
        ts = time_of(rec)
        if ts is None:
            return Malformed(line_no, "no readable timestamp")
        return planned_event(rec, line_no, plan, ts, "csv")  # ``mapped_event``, the plan taken once

    return _rows(read, texts, line_nos, stats)


def zeek_rows(
    meta: dict[str, Any], texts: list[str], line_nos: list[int], stats: ReaderStats
) -> list[Event | None]:
    """Zeek TSV data lines (none a "#" line) under the header ``meta`` to events."""
    path = meta.get("path") or None

    def read(text: str, line_no: int) -> Event | Malformed:
        rec = zeek_tsv_record(text, meta)  # it strips the line end itself
        if rec is None:
            return Malformed(line_no, "wrong number of Zeek TSV fields")
        return zeek_event(rec, line_no, path) or Malformed(line_no, "no timestamp")

    return _rows(read, texts, line_nos, stats)


def _rows(
    read: Callable[[str, int], Event | Malformed], texts: list[str], line_nos: list[int], stats: ReaderStats
) -> list[Event | None]:
    """Each line as ``decode_line`` takes it (counted, a blank line skipped, a long one
    malformed), ``read`` for the rest, counted in ``stats`` alike."""
    out: list[Event | None] = []
    for text, line_no in zip(texts, line_nos, strict=True):
        event: Event | Malformed | None = None
        if len(text) >= MAX_LINE:  # with its line end, longer than ``MAX_LINE``
            if text.strip() and not text.startswith("#"):
                stats.lines += 1
            event = Malformed(line_no, "line too long")
        elif text.strip():
            if not text.startswith("#"):
                stats.lines += 1
            event = read(text, line_no)
        if isinstance(event, Malformed):
            stats.bad(event)
            out.append(None)
        else:
            if event is not None:
                stats.events += 1
            out.append(event)
    return out
