"""A fetched batch of stream messages through the file matcher's column paths.

Reading a line costs three times what matching it does, and most telemetry lines match
nothing; files therefore go through polars: one parse of a whole chunk, value columns handed
to the engine's indexes, and only the rows they propose read by the format's reader. A batch
of messages is such a chunk. Its lines (a message may carry many, newline-delimited, as
Vector and Fluent Bit flushes do) are sorted by format (a message header, the worker's
``--format``, or detected line by line in one vectorised pass), and each format's lines take
the column path when its columns can answer every indicator of the engine, else the reader
line by line. Every event is still read by its format's reader, with its message's stream
sequence as its line number, and matched in message order in one call: alerts are those of
the line-by-line path (``MessageDecoder``), which tests/match/test_message_batch.py checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from colsec.match.columns import table_for
from colsec.match.columns.run import STANDALONE, proposed_rows
from colsec.match.columns.table import Table
from colsec.match.engine import MatchEngine
from colsec.match.eve_columns import eve_schema
from colsec.match.events import Event
from colsec.match.readers import (
    DECODERS,
    FieldMapping,
    ReaderFormat,
    ReaderStats,
    decode_line,
    detect_format,
)
from colsec.match.records import Alert
from colsec.match.stream import Message, MessageDecoder, message_lines
from colsec.match.vector import hit_rows, indexed_keys, needs_events, prepare_eve_frame

__all__ = ["BatchMatcher", "detect_formats"]

#: First bytes that may begin a message ``message_lines`` does not take as one plain line: any
#: whitespace (a blank message; non-ASCII ones begin with a byte of 0x80 or above) or ``[`` (a
#: Fluent Bit flush). A message starting with one is decoded alone, as ``match`` would.
_UNPLAIN = b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f[" + bytes(range(0x80, 0x100))


class BatchMatcher(MessageDecoder):
    """The line-by-line decoder's decoders and counts, with column tables kept per format.

    A chunk costs the column path some tens of polars calls whatever its size, a few
    milliseconds: groups of fewer than ``min_rows`` lines (a quiet stream's single messages
    above all) are cheaper read line by line: the crossover measured on bench/scale.py's
    lines and 5,000 indicators is near 500 lines.
    """

    min_rows = 500

    def __init__(
        self,
        *,
        fmt: ReaderFormat | None = None,
        mapping: FieldMapping | None = None,
        stats: ReaderStats | None = None,
    ) -> None:
        super().__init__(fmt=fmt, mapping=mapping, stats=stats)
        self._tables: dict[ReaderFormat, Table] = {}
        self.unread = 0  # lines the columns cleared: no reader read them

    def match(self, engine: MatchEngine, messages: Sequence[Message]) -> list[Alert]:
        seqs: list[int] = []
        texts: list[str] = []
        hints: list[ReaderFormat | None] = []
        for msg in messages:
            for line in message_lines(msg.line):
                seqs.append(msg.seq)
                texts.append(line)
                hints.append(msg.fmt or self.fmt)
        return self._match(engine, seqs, texts, hints)

    def match_payloads(
        self,
        engine: MatchEngine,
        seqs: Sequence[int],
        payloads: Sequence[bytes],
        fmts: Sequence[ReaderFormat | None] | None = None,
    ) -> list[Alert]:
        """``match`` of the messages ``Message(seq, payload decoded, fmt)``, from the raw payloads.

        Most fetches are one line a message: their payloads joined by newlines are then the
        chunk a file would give, decoded once and split once, with no object or string made
        per message before the columns have spoken. Any message that is not plainly one line
        (a newline in it, a first byte of whitespace or ``[``: a blank one, a Fluent Bit flush)
        sends the fetch through ``match``.
        """
        n = len(payloads)
        firsts = b"".join([p[:1] for p in payloads])  # whole-buffer scans cost more than this
        if n and len(firsts) == n and len(firsts.translate(None, _UNPLAIN)) == n:
            lines = b"\n".join(payloads).decode("utf-8", "replace").split("\n")
            if len(lines) == n:  # no message holds a newline (one never ends a bad sequence early)
                hints = [f or self.fmt for f in fmts] if fmts is not None else [self.fmt] * n
                return self._match(engine, list(seqs), lines, hints)
        return self.match(
            engine,
            [
                Message(seq, data.decode("utf-8", "replace"), fmts[i] if fmts is not None else None)
                for i, (seq, data) in enumerate(zip(seqs, payloads, strict=True))
            ],
        )

    def _match(
        self, engine: MatchEngine, seqs: list[int], texts: list[str], hints: list[ReaderFormat | None]
    ) -> list[Alert]:
        """Lines (each with its message's sequence and format, if known) matched in order."""
        if len(texts) < self.min_rows:
            events: list[Event] = []
            for seq, text, hint in zip(seqs, texts, hints, strict=True):
                self._one(Message(seq, text, hint), events)
            return engine.match(events)
        unknown = [i for i, h in enumerate(hints) if h is None]
        if unknown:
            found = detect_formats([texts[i] for i in unknown], mapping=self.mapping)
            for i, f in zip(unknown, found, strict=True):
                hints[i] = f
        kinds = set(hints)
        if len(kinds) == 1:  # the usual batch: one format, no regrouping
            (only,) = kinds
            assert only is not None
            groups = {only: list(range(len(texts)))}
        else:
            groups = {}
            for i, h in enumerate(hints):
                assert h is not None
                groups.setdefault(h, []).append(i)
        read: list[tuple[int, Event]] = []
        for fmt, at in groups.items():
            if len(at) == len(texts):
                self._group(engine, fmt, seqs, texts, at, read)
            else:
                self._group(engine, fmt, [seqs[i] for i in at], [texts[i] for i in at], at, read)
        read.sort(key=lambda p: p[0])
        return engine.match([ev for _, ev in read])

    def _group(
        self,
        engine: MatchEngine,
        fmt: ReaderFormat,
        seqs: list[int],
        texts: list[str],
        at: list[int],
        out: list[tuple[int, Event]],
    ) -> None:
        rows = self._proposed(engine, fmt, texts) if len(texts) >= self.min_rows else None
        if rows is not None:
            self.unread += len(texts) - len(rows)
            self.stats.lines += len(texts) - len(rows)  # read by polars alone, none of them an alert
            self.stats.events += len(texts) - len(rows)
        decoder = self._decoders.get(fmt)
        if decoder is None:
            decoder = self._decoders[fmt] = DECODERS[fmt](fmt, self.mapping)
        for r in rows if rows is not None else range(len(texts)):
            event = decode_line(decoder, texts[r], seqs[r], self.stats)
            if event is not None:
                out.append((at[r], event))

    def _proposed(self, engine: MatchEngine, fmt: ReaderFormat, lines: list[str]) -> list[int] | None:
        if fmt is not ReaderFormat.EVE and fmt not in STANDALONE:
            return None
        chunk = "\n".join(lines).encode()
        if fmt is not ReaderFormat.EVE:
            table = self._tables.get(fmt)
            if table is None:
                table = self._tables[fmt] = table_for(fmt, self.mapping)
            return proposed_rows(engine, fmt, table, chunk)
        if needs_events(engine):
            return None
        try:
            frame = pl.read_ndjson(chunk, schema=eve_schema(indexed_keys(engine)))
        except (pl.exceptions.PolarsError, ValueError):
            return None  # a line polars refuses: the reader reads each, and names the bad one
        if len(frame) != len(lines):
            return None
        try:
            prepared = prepare_eve_frame(engine, frame)
        except BaseException as exc:  # a polars panic arrives as pyo3's PanicException
            if type(exc).__name__ != "PanicException":
                raise
            return None
        rows: list[int] = hit_rows(engine, prepared).tolist()
        return rows


# Every key ``readers._json_kind`` looks at, in the order it looks.
_EVE_KEYS = ("event_type", "timestamp")
_ZEEK_KEYS = ("_path", "id.orig_h", "uid", "ts")
_WINDOWS_KEYS = ("EventID", "Channel", "SourceName")
_KEYS = (*_EVE_KEYS, *_ZEEK_KEYS, *_WINDOWS_KEYS)
_QUOTED = {k: f'"{k}"' for k in _KEYS}
_WRAPS, _WRAPS2 = '"id.orig_h"', '"uid"'


def detect_formats(lines: list[str], *, mapping: FieldMapping | None = None) -> list[ReaderFormat]:
    """``detect_format`` of each line alone, the JSON ones in one polars parse.

    polars reads a key holding JSON null as absent, and cannot tell a record of one key; a
    line whose answer could hang on either (a key's name in its text, its value null) is
    decided by ``detect_format`` itself.
    """
    out: list[ReaderFormat | None] = [None] * len(lines)
    json_at = [i for i, line in enumerate(lines) if line.lstrip().startswith("{")]
    kinds = _json_kinds([lines[i] for i in json_at]) if json_at else None
    if kinds is not None:
        for i, k in zip(json_at, kinds, strict=True):
            out[i] = k
    return [f if f is not None else detect_format([lines[i]], mapping=mapping) for i, f in enumerate(out)]


def _json_kinds(lines: list[str]) -> list[ReaderFormat | None] | None:
    """Each JSON line's kind by ``readers._json_kind``'s rules, None where polars cannot say."""
    try:
        frame = pl.read_ndjson("\n".join(lines).encode(), schema=dict.fromkeys(_KEYS, pl.String))
    except (pl.exceptions.PolarsError, ValueError):
        return None
    if len(frame) != len(lines):
        return None
    has = {k: frame[k].is_not_null().to_numpy() for k in _KEYS}
    eve = has["event_type"] & has["timestamp"]
    zeek = has["_path"] | has["id.orig_h"] | (has["uid"] & has["ts"])
    windows = has["EventID"] & (has["Channel"] | has["SourceName"])
    out: list[ReaderFormat | None] = []
    for i, line in enumerate(lines):
        if eve[i]:
            out.append(ReaderFormat.EVE)
        elif _named(line, _EVE_KEYS, has, i):  # a key polars read as absent may hold null
            out.append(None)
        elif zeek[i]:
            out.append(ReaderFormat.ZEEK_JSON)
        elif _named(line, ("_path", "ts"), has, i) or _WRAPS in line or _WRAPS2 in line:
            out.append(None)  # also a record of one key wrapping a Zeek record
        elif windows[i]:
            out.append(ReaderFormat.WINDOWS)
        elif _named(line, _WINDOWS_KEYS, has, i):
            out.append(None)
        else:
            out.append(ReaderFormat.JSON)
    return out


def _named(line: str, keys: tuple[str, ...], has: dict[str, Any], i: int) -> bool:
    """Whether the line names one of the keys polars found no value for."""
    return any(not has[k][i] and _QUOTED[k] in line for k in keys)
