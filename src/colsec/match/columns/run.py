"""A file through its column table: chunks, columns, prepared values, rows the reader reads."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from colsec.gcpause import young_gc_only
from colsec.match.engine import Alert, MatchEngine
from colsec.match.events import Event
from colsec.match.hits import PreparedFrame, collect_hits, column_values, hit_rows
from colsec.match.readers import DECODERS, FieldMapping, ReaderFormat, ReaderStats, decode_line
from colsec.match.vector import VectorResult, indexed_keys
from colsec.pipeline import parsed_ahead

from .alerts import direct_alerts
from .delimited import HEADER_LINE, Zeek, csv_columns, tsv_columns, zeek_header
from .feeds import table_for, uses_columns
from .json import json_columns, json_lists, json_literal, with_url, wrapped
from .lines import Columns, Lines, Refused, chunks, open_file, parsed_after_first, unspaced
from .prepare import prepare
from .table import Table
from .text import cef_columns, syslog_columns

# -- files -------------------------------------------------------------------------------------


@dataclass
class ColumnResult(VectorResult):
    """Totals of a run; ``refused``: chunks polars could not read, matched event by event;
    ``records``: the lines the reader reads as records (``rows`` less the blank lines, a Zeek
    TSV file's "#" lines and a CSV file's header), as ``decode_line`` counts its events and
    malformed lines."""

    refused: int = 0
    records: int = 0


@dataclass
class _Run:
    engine: MatchEngine
    fmt: ReaderFormat
    table: Table
    mapping: FieldMapping | None
    stats: ReaderStats
    decoder: Any
    alerts: list[Alert] = field(default_factory=list)
    rows: int = 0
    records: int = 0
    hits: int = 0
    zeek: Zeek | None = None
    zeek_skip: int = 0
    csv_skip: int = 0
    csv_columns: list[str] | None = None
    pending: list[Event] = field(default_factory=list)
    refused: int = 0

    def events(self, lines: Lines | list[str], first_line: int, rows: list[int] | None = None) -> None:
        """Lines through the format's reader (all of them, or only ``rows``), matched in order;
        each with its line end, as the reader gets it from a file."""
        for r in rows if rows is not None else range(len(lines)):
            ev = decode_line(self.decoder, lines[r] + "\n", first_line + r, self.stats)
            if ev is not None:
                self.pending.append(ev)
                if len(self.pending) >= 5_000:
                    self.flush()

    def direct(self, lines: Lines, first_line: int, prepared: PreparedFrame, skip: int) -> None:
        """The column hits of a chunk made alerts: each hit row read once by the reader, no
        engine pass for simple indicators (``alerts.direct_alerts``)."""
        hits = collect_hits(self.engine, prepared, make_alerts=True)
        if not hits.rows:
            return
        rows, codes, where, texts = hits.live(self.engine.alive)
        if skip:
            keep = rows >= skip
            rows, codes, where = rows[keep], codes[keep], where[keep]
            texts = [t for t, k in zip(texts, keep.tolist(), strict=True) if k]
        events = self.read_rows(lines, np.unique(rows), first_line)
        self.flush()  # alerts stay in file order
        got = direct_alerts(self.engine, events, rows, codes, where, texts, hits.paths)
        self.alerts.extend(got)
        self.hits += len({id(a.events[-1]) for a in got})

    def read_rows(self, lines: Lines, rows: np.ndarray, first_line: int) -> dict[int, Event]:
        """The reader's event of each of ``rows`` (sorted, each once) that makes one: in one
        batch where the reader reads a batch (``rows``), else line by line."""
        picked, texts = lines.pick(rows)
        decoder, stats = self.decoder, self.stats
        batch = getattr(decoder, "rows", None)
        if batch is not None:
            got = batch(texts, [first_line + r for r in picked], stats)
            return {r: ev for r, ev in zip(picked, got, strict=True) if ev is not None}
        events: dict[int, Event] = {}
        for r, text in zip(picked, texts, strict=True):
            ev = decode_line(decoder, text + "\n", first_line + r, stats)
            if ev is not None:
                events[r] = ev
        return events

    def flush(self) -> None:
        if self.pending:
            got = self.engine.match(self.pending)
            self.alerts.extend(got)
            self.hits += len({id(a.events[-1]) for a in got})
            self.pending = []


def _chunk_columns(run: _Run, chunk: bytes, lines: Lines, first: bool) -> Columns:
    names = run.table.fields(indexed_keys(run.engine))
    if "#url" in names:  # made from both
        names = list(dict.fromkeys([*names, "host", "uri"]))
    fmt = run.fmt
    if fmt in (ReaderFormat.ZEEK_JSON, ReaderFormat.WINDOWS, ReaderFormat.JSON):
        if fmt is ReaderFormat.ZEEK_JSON and wrapped(chunk, lines):
            raise Refused("Zeek records wrapped by log type")
        json_names = [n for n in names if not n.startswith("#")]
        found: dict[str, pl.Series]
        if fmt is ReaderFormat.ZEEK_JSON:
            found = json_literal(chunk, json_names, len(lines))
        else:
            found = json_columns(chunk, json_names, len(lines))
        json_lists(found, [feed.field for feed in run.table.feeds if feed.listed])
        return with_url(found)
    if fmt is ReaderFormat.ZEEK_TSV:
        if first:
            for i, line in enumerate(lines.slice(0, run.zeek_skip)):
                run.decoder.feed(line, i + 1)
        start = run.zeek_skip if first else 0
        if run.zeek is None or (
            (lines.heads(start) == ord("#")).any()
            and HEADER_LINE.search(chunk[lines.offset(start) :].decode("utf-8", errors="replace"))
        ):
            raise Refused("Zeek TSV header inside the data")
        return with_url(tsv_columns(lines, start, names, run.zeek))
    if fmt is ReaderFormat.CSV:
        assert run.csv_columns is not None and run.mapping is not None
        return csv_columns(lines, run.csv_skip if first else 0, names, run.csv_columns, run.mapping.delimiter)
    s = lines.series()
    if fmt is ReaderFormat.SYSLOG:
        return syslog_columns(s, names, ascii_only=chunk.isascii())
    # CEF: CEF lines by their extension, the others as syslog
    if b"\x00" in chunk or b"\x01" in chunk:  # the pair markers of ``cef_columns``
        raise Refused("control characters")
    is_cef = s.str.contains("CEF:", literal=True)
    cols = cef_columns(pl.select(pl.when(is_cef).then(s)).to_series(), names)
    cols.update(
        syslog_columns(pl.select(pl.when(~is_cef).then(s)).to_series(), names, ascii_only=chunk.isascii())
    )
    return cols


def match_columns_file(
    engine: MatchEngine,
    path: str | Path,
    fmt: ReaderFormat,
    *,
    mapping: FieldMapping | None = None,
    stats: ReaderStats | None = None,
    batch_bytes: int = 16 << 20,
    year: int | None = None,
) -> ColumnResult:
    """Match a telemetry file of ``fmt`` through its column table; alerts as the event path's.

    ``stats`` counts what the reader read: the lines polars proposed and every line of a chunk
    that took the event path (a line not proposed is never read, so its errors go uncounted).
    """
    p = Path(path)
    table = table_for(fmt, mapping)
    stats = stats if stats is not None else ReaderStats()
    decoder = DECODERS[fmt](fmt, mapping)
    if year is not None and hasattr(decoder, "year"):
        decoder.year = year
    run = _Run(engine, fmt, table, mapping, stats, decoder)
    header = mapping is not None and mapping.columns is None  # a CSV file's first line names them
    columns_ok = uses_columns(engine, table)
    for cidx in engine.cidr.values():  # ``column_values`` ahead (``_parsed``) only reads them
        cidx.freeze()
    for sub in engine.substr.values():  # the automata are built once, before the first chunk
        sub.prepared()
    line_no = 1
    with young_gc_only() as pause, open_file(p) as f:
        first = True
        source = chunks(f, batch_bytes)
        ready: Iterator[_Ready]
        if not columns_ok:
            ready = ((chunk, Lines(chunk), None, None) for chunk in source)
        elif fmt in _HEADED:  # the first chunk's header says how the others read
            ready = parsed_after_first(source, _unparsed, functools.partial(_parsed, run))
        else:  # no header: a chunk's columns need no chunk before
            ready = parsed_ahead(source, functools.partial(_parsed, run))
        for chunk, lines, cols, prepared in ready:
            run.rows += len(lines)
            run.records += lines.records(comments=fmt is ReaderFormat.ZEEK_TSV)
            if not columns_ok:
                run.events(lines, line_no)
            else:
                _column_chunk(run, chunk, lines, line_no, first, cols, prepared)
            first = False
            line_no += len(lines)
        run.flush()
        # a run makes no garbage cycle but a refusal's (the exception and its traceback's frame):
        # its alerts and events skip the young collection that automatic collection would start
        pause.promote = run.refused == 0
    if fmt is ReaderFormat.CSV and header and run.mapping is not None and run.mapping.columns is not None:
        run.records -= 1  # the header line the reader read for its column names
    return ColumnResult(run.rows, run.hits, run.alerts, run.refused, run.records)


_HEADED = frozenset({ReaderFormat.ZEEK_TSV, ReaderFormat.CSV})
#: Formats whose columns are also prepared, hashed and cut into octet prefixes off the main
#: thread (polars' work, without the GIL), beside the reader and the alerts of the chunk before
#: (a syslog chunk's regex pass is the slower half: its preparation stays on the main thread).
#: The index lookups stay on the main thread: ahead, they made the parse the slower half, and
#: the main thread waited on it (Zeek TSV: 3.0 s of a 5.6 s run against 1.4 s of 4.8 s with
#: them on the main thread; CSV: 1.0 s of 2.3 s against 0.4 s of 2.2 s; medians of 5 runs on
#: a loaded machine, the same CPU-s)
_PREPARED_AHEAD = frozenset({ReaderFormat.ZEEK_TSV, ReaderFormat.CSV})

#: a chunk, its lines, its columns (None: not parsed yet; or why polars refused them), and
#: the columns prepared when that was done ahead
_Ready = tuple[bytes, Lines, Columns | Refused | None, PreparedFrame | None]


def _unparsed(chunk: bytes) -> _Ready:
    return chunk, Lines(chunk), None, None


def _parsed(run: _Run, chunk: bytes) -> _Ready:
    """A standalone chunk's lines and columns (or why polars refused them), off the main thread."""
    lines = Lines(chunk)
    try:
        cols = _chunk_columns(run, chunk, lines, False)
    except Refused as exc:
        return chunk, lines, exc, None
    if run.fmt not in _PREPARED_AHEAD:
        return chunk, lines, cols, None
    prepared = _prepared(run, chunk, lines, cols, 0)
    prepared.hashed = column_values(run.engine, prepared)
    return chunk, lines, cols, prepared


def _prepared(run: _Run, chunk: bytes, lines: Lines, cols: Columns, skip: int) -> PreparedFrame:
    spaced, colon = _chunk_text(run, chunk, lines.offset(skip) if skip < len(lines) else len(chunk))
    return prepare(run.engine, run.table, cols, len(lines), spaced=spaced, colon=colon)


def _column_chunk(
    run: _Run,
    chunk: bytes,
    lines: Lines,
    line_no: int,
    first: bool,
    ready: Columns | Refused | None = None,
    prepared: PreparedFrame | None = None,
) -> None:
    skip = 0
    if first and run.fmt is ReaderFormat.ZEEK_TSV:
        run.zeek, run.zeek_skip = zeek_header(lines)
    if first and run.fmt is ReaderFormat.CSV:
        assert run.mapping is not None
        run.csv_columns = run.mapping.columns
        if run.csv_columns is None:  # the first non-blank line is the header; the reader reads it
            while skip < len(lines) and not lines[skip].strip():
                skip += 1
            if skip < len(lines):
                run.events(lines.slice(0, skip + 1), line_no)
                run.csv_columns = run.mapping.columns
                skip += 1
    run.csv_skip = skip
    try:
        if isinstance(ready, Refused):
            raise ready
        cols = ready if ready is not None else _chunk_columns(run, chunk, lines, first)
    except Refused:
        run.refused += 1
        if first and run.fmt is ReaderFormat.ZEEK_TSV:
            run.events(lines.slice(run.zeek_skip), line_no + run.zeek_skip)
        else:
            run.events(lines.slice(skip), line_no + skip)
        return
    if first and run.fmt is ReaderFormat.ZEEK_TSV:
        skip = run.zeek_skip
    if prepared is None:
        prepared = _prepared(run, chunk, lines, cols, skip)
    run.direct(lines, line_no, prepared, skip)


def _chunk_text(run: _Run, chunk: bytes, start: int) -> tuple[bool, bool]:
    """Whether a delimited chunk's fields may hold whitespace, and a colon (read from ``start``,
    after a header); syslog's patterns take neither, CEF and JSON are taken as holding both."""
    if run.fmt is ReaderFormat.ZEEK_TSV and run.zeek is not None:
        sep: bytes | None = run.zeek.sep.encode()
    elif run.fmt is ReaderFormat.CSV and run.mapping is not None:
        delimiter = run.mapping.delimiter.encode()
        sep = delimiter if chunk.find(b'"', start) < 0 else None  # quoted: may hold the separator
    elif run.fmt is ReaderFormat.SYSLOG:
        return False, False  # its URLs, tokens and quads are matched without whitespace, quads without colons
    else:
        return True, True
    return not unspaced(chunk, start, sep), chunk.find(b":", start) >= 0


# -- lines that stand alone (a batch of stream messages) -------------------------------------

#: Formats whose every line reads alone: no header, no column list carried from earlier lines.
STANDALONE = frozenset(
    {ReaderFormat.ZEEK_JSON, ReaderFormat.WINDOWS, ReaderFormat.JSON, ReaderFormat.SYSLOG, ReaderFormat.CEF}
)


def proposed_rows(engine: MatchEngine, fmt: ReaderFormat, table: Table, chunk: bytes) -> list[int] | None:
    """The rows of a chunk of standalone lines that the columns propose (any other row can
    make no alert); None when the columns cannot answer, and every line must be read."""
    if fmt not in STANDALONE or not uses_columns(engine, table):
        return None
    lines = Lines(chunk)
    run = _Run(engine, fmt, table, None, ReaderStats(), None)
    try:
        cols = _chunk_columns(run, chunk, lines, False)
    except Refused:
        return None
    rows: list[int] = hit_rows(engine, prepare(engine, table, cols, len(lines))).tolist()
    return rows
