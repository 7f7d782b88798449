"""Telemetry readers: one registry keyed by format, automatic detection, malformed-line accounting.

Every reader turns lines into :class:`~colsec.match.events.Event` objects.  A
line that cannot be read is counted (with the first few reasons kept for the
report) and skipped: a bad line never stops a batch run or a followed stream.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from colsec.match.events import Event, Malformed
from colsec.match.jsonrecord import loads_first
from colsec.match.readers.array import LineBytes, read_json_array
from colsec.match.readers.batch import csv_rows, zeek_rows
from colsec.match.readers.formats import TELEMETRY_TEXT, Decoder, ReaderFormat, ReaderStats, decode_line
from colsec.match.readers.host import windows_event
from colsec.match.readers.network import eve_event, zeek_event, zeek_tsv_header, zeek_tsv_record
from colsec.match.readers.text import (
    DEFAULT_JSON_FIELDS,
    SNORT_CSV_LINE,
    FieldMapping,
    cef_event,
    mapped_event,
    snort_csv_event,
    syslog_event,
)

__all__ = [
    "DECODERS",
    "TELEMETRY_TEXT",
    "Decoder",
    "FieldMapping",
    "ReaderFormat",
    "ReaderStats",
    "StreamDecoder",
    "decode_line",
    "detect_format",
    "load_mapping",
    "open_text",
    "read_file",
    "read_lines",
]


class _JsonDecoder:
    def __init__(self, fmt: ReaderFormat, mapping: FieldMapping | None) -> None:
        self.fmt = fmt
        self.mapping = mapping

    def feed(self, line: str, line_no: int) -> Event | Malformed | None:
        if not line.strip():
            return None
        try:
            rec = loads_first(line)  # a repeated key keeps its first value, as in the columns
        except orjson.JSONDecodeError:
            return Malformed(line_no, "not JSON")
        return self.record(rec, line_no)

    def record(self, rec: Any, line_no: int) -> Event | Malformed | None:
        if not isinstance(rec, dict):
            return Malformed(line_no, "JSON value is not an object")
        event: Event | None
        try:
            if self.fmt is ReaderFormat.EVE:
                event = eve_event(rec, line_no)
            elif self.fmt is ReaderFormat.ZEEK_JSON:
                if len(rec) == 1 and isinstance(next(iter(rec.values())), dict):
                    path, inner = next(iter(rec.items()))
                    event = zeek_event(inner, line_no, path)
                else:
                    event = zeek_event(rec, line_no)
            elif self.fmt is ReaderFormat.WINDOWS:
                event = windows_event(rec, line_no)
            else:
                fields = self.mapping.fields if self.mapping else DEFAULT_JSON_FIELDS
                ts = self.mapping.time_of(rec) if self.mapping and self.mapping.timestamp else _any_time(rec)
                event = mapped_event(rec, line_no, fields, ts, "json")
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            return Malformed(line_no, f"unreadable record ({type(exc).__name__})")
        return event if event is not None else Malformed(line_no, "no timestamp")


def _any_time(rec: Mapping[str, Any]) -> int | None:
    from colsec.match.events import parse_time

    for key in ("@timestamp", "timestamp", "ts", "time", "event.created", "date"):
        if key in rec:
            return parse_time(rec[key])
    return None


class _ZeekTsvDecoder:
    def __init__(self, fmt: ReaderFormat, mapping: FieldMapping | None) -> None:
        self.header: list[str] = []
        self.meta: dict[str, Any] | None = None

    def feed(self, line: str, line_no: int) -> Event | Malformed | None:
        if line.startswith("#"):
            if line.startswith("#separator"):
                self.header = []
            self.header.append(line)
            if line.startswith("#types"):
                self.meta = zeek_tsv_header(self.header)
            return None
        if not line.strip():
            return None
        if self.meta is None:
            return Malformed(line_no, "Zeek TSV line before the #fields header")
        rec = zeek_tsv_record(line, self.meta)
        if rec is None:
            return Malformed(line_no, "wrong number of Zeek TSV fields")
        event = zeek_event(rec, line_no, self.meta.get("path") or None)
        return event if event is not None else Malformed(line_no, "no timestamp")

    def rows(self, texts: list[str], line_nos: list[int], stats: ReaderStats) -> list[Event | None]:
        """The hit rows of a column chunk, as ``decode_line`` reads them (``batch``)."""
        if self.meta is None or any(t.startswith("#") for t in texts):
            return [decode_line(self, t + "\n", n, stats) for t, n in zip(texts, line_nos, strict=True)]
        return zeek_rows(self.meta, texts, line_nos, stats)


class _TextDecoder:
    def __init__(self, fmt: ReaderFormat, mapping: FieldMapping | None) -> None:
        self.fmt = fmt
        self.year = datetime.now(UTC).year

    def feed(self, line: str, line_no: int) -> Event | Malformed | None:
        if not line.strip():
            return None
        if self.fmt is ReaderFormat.CEF and "CEF:" in line:
            event = cef_event(line, line_no, self.year)
        else:
            event = syslog_event(line, line_no, self.year)
        return event if event is not None else Malformed(line_no, f"not a {self.fmt.value} line")


class _SnortDecoder:
    def __init__(self, fmt: ReaderFormat, mapping: FieldMapping | None) -> None:
        self.year = datetime.now(UTC).year

    def feed(self, line: str, line_no: int) -> Event | Malformed | None:
        if not line.strip():
            return None
        event = snort_csv_event(line, line_no, self.year)
        return event if event is not None else Malformed(line_no, "not a Snort alert_csv line")


class _CsvDecoder:
    def __init__(self, fmt: ReaderFormat, mapping: FieldMapping | None) -> None:
        if mapping is None:
            raise ValueError("CSV telemetry needs a field mapping (--mapping)")
        self.mapping = mapping
        self.need_header = mapping.columns is None

    def feed(self, line: str, line_no: int) -> Event | Malformed | None:
        if not line.strip():
            return None
        if self.need_header:
            import csv

            # A byte-order mark is no part of the first column's name (polars drops it too).
            head = line[1:] if line.startswith("\ufeff") else line
            self.mapping.columns = next(csv.reader([head], delimiter=self.mapping.delimiter))
            self.need_header = False
            return None
        rec = self.mapping.csv_record(line)
        if rec is None:
            return Malformed(line_no, "too few CSV columns")
        event = mapped_event(rec, line_no, self.mapping.fields, self.mapping.time_of(rec), "csv")
        return event if event is not None else Malformed(line_no, "no readable timestamp")

    def rows(self, texts: list[str], line_nos: list[int], stats: ReaderStats) -> list[Event | None]:
        """The hit rows of a column chunk, as ``decode_line`` reads them (``batch``)."""
        if self.need_header or self.mapping.columns is None:
            return [decode_line(self, t + "\n", n, stats) for t, n in zip(texts, line_nos, strict=True)]
        return csv_rows(self.mapping, texts, line_nos, stats)


DECODERS: dict[ReaderFormat, Callable[[ReaderFormat, FieldMapping | None], Decoder]] = {
    ReaderFormat.EVE: _JsonDecoder,
    ReaderFormat.ZEEK_JSON: _JsonDecoder,
    ReaderFormat.WINDOWS: _JsonDecoder,
    ReaderFormat.JSON: _JsonDecoder,
    ReaderFormat.ZEEK_TSV: _ZeekTsvDecoder,
    ReaderFormat.CEF: _TextDecoder,
    ReaderFormat.SYSLOG: _TextDecoder,
    ReaderFormat.CSV: _CsvDecoder,
    ReaderFormat.SNORT_CSV: _SnortDecoder,
}


def _json_kind(rec: Mapping[str, Any]) -> ReaderFormat:
    if "event_type" in rec and "timestamp" in rec:
        return ReaderFormat.EVE
    if "_path" in rec or "id.orig_h" in rec or ("uid" in rec and "ts" in rec):
        return ReaderFormat.ZEEK_JSON
    if len(rec) == 1:
        inner = next(iter(rec.values()))
        if isinstance(inner, Mapping) and ("id.orig_h" in inner or "uid" in inner):
            return ReaderFormat.ZEEK_JSON
    if "EventID" in rec and ("Channel" in rec or "SourceName" in rec):
        return ReaderFormat.WINDOWS
    return ReaderFormat.JSON


def detect_format(sample: Iterable[str], *, mapping: FieldMapping | None = None) -> ReaderFormat:
    """Guess the format from the first lines of a file or stream."""
    lines = [line for line in sample if line.strip()][:20]
    if not lines:
        return ReaderFormat.JSON
    first = lines[0].lstrip()
    if first.startswith("#separator") or first.startswith("#fields"):
        return ReaderFormat.ZEEK_TSV
    if first.startswith("{"):
        for line in lines:
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(rec, dict):
                return _json_kind(rec)
        return ReaderFormat.JSON
    if first.startswith("["):
        return ReaderFormat.EVE  # refined by read_file, which parses the array
    if any("CEF:" in line for line in lines):
        return ReaderFormat.CEF
    if mapping is None and all(SNORT_CSV_LINE.match(line) for line in lines[:5]):
        return ReaderFormat.SNORT_CSV
    if mapping is not None and mapping.columns is not None or (mapping is not None and "," in first):
        return ReaderFormat.CSV
    return ReaderFormat.SYSLOG


def load_mapping(path: str | Path) -> FieldMapping:
    return FieldMapping(orjson.loads(Path(path).read_bytes()))


def open_text(path: str | Path) -> IO[str]:
    p = Path(path)
    raw: Any = gzip.open(p, "rb") if p.suffix == ".gz" else open(p, "rb")  # noqa: SIM115
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")


def read_lines(
    lines: Iterable[str],
    *,
    fmt: ReaderFormat | None = None,
    mapping: FieldMapping | None = None,
    stats: ReaderStats | None = None,
) -> Iterator[Event]:
    """Decode a stream of text lines (stdin, an upload); a JSON array is read whole, as a file is."""
    stats = stats if stats is not None else ReaderStats()
    it = iter(lines)
    head: list[str] = []
    for line in it:
        head.append(line)
        if line.strip():
            break
    if head and head[-1].lstrip().startswith("[") and fmt in _ARRAY_FORMATS:
        yield from read_json_array(LineBytes(_chain(head, it)), stats, _array_decoder)
        return
    if fmt is None:
        for line in it:
            head.append(line)
            if len([h for h in head if h.strip()]) >= 5:
                break
        fmt = detect_format(head, mapping=mapping)
    decoder = DECODERS[fmt](fmt, mapping)
    line_no = 0
    for source in (head, it):
        for line in source:
            line_no += 1
            out = decode_line(decoder, line, line_no, stats)
            if out is not None:
                yield out


def _chain(head: list[str], rest: Iterator[str]) -> Iterator[str]:
    yield from head
    yield from rest


class StreamDecoder:
    """Stateful decoder for a followed stream: detects the format once, keeps headers and line numbers."""

    def __init__(
        self,
        *,
        fmt: ReaderFormat | None = None,
        mapping: FieldMapping | None = None,
        stats: ReaderStats | None = None,
    ) -> None:
        self.fmt = fmt
        self.mapping = mapping
        self.stats = stats if stats is not None else ReaderStats()
        self._decoder: Decoder | None = None
        self._held: list[str] = []
        self.line_no = 0

    def feed(self, lines: Iterable[str]) -> list[Event]:
        out: list[Event] = []
        if self._decoder is None:
            self._held.extend(lines)
            if self.fmt is None and len([h for h in self._held if h.strip()]) < 1:
                return out
            self.fmt = self.fmt or detect_format(self._held, mapping=self.mapping)
            self._decoder = DECODERS[self.fmt](self.fmt, self.mapping)
            lines, self._held = self._held, []
        for line in lines:
            self.line_no += 1
            item = decode_line(self._decoder, line, self.line_no, self.stats)
            if item is not None:
                out.append(item)
        return out


# Formats whose records may come as one JSON array (read whole, not line by line).
_ARRAY_FORMATS = (None, ReaderFormat.EVE, ReaderFormat.JSON, ReaderFormat.WINDOWS)


def _array_decoder(rec: Any) -> _JsonDecoder:
    """The decoder of an array's records, its kind judged from the first one."""
    return _JsonDecoder(_json_kind(rec) if isinstance(rec, dict) else ReaderFormat.JSON, None)


def read_file(
    path: str | Path,
    *,
    fmt: ReaderFormat | None = None,
    mapping: FieldMapping | None = None,
    stats: ReaderStats | None = None,
) -> Iterator[Event]:
    stats = stats if stats is not None else ReaderStats()
    with open_text(path) as f:
        start = f.read(1)
        while start and start.isspace():
            start = f.read(1)
        if start == "[" and fmt in _ARRAY_FORMATS:
            array_mode = True
        else:
            array_mode = False
            first_line = start + f.readline()
            yield from read_lines(_prepend(first_line, f), fmt=fmt, mapping=mapping, stats=stats)
    if array_mode:
        p = Path(path)
        with gzip.open(p, "rb") if p.suffix == ".gz" else open(p, "rb") as raw:  # ijson reads bytes
            yield from read_json_array(raw, stats, _array_decoder)


def _prepend(first: str, f: IO[str]) -> Iterator[str]:
    if first:
        yield first
    yield from f
