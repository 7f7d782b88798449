"""Telemetry written as one JSON array (EVE exports, some SIEM dumps): streamed with ijson, each
event carrying the line its element starts on in the file, as the line-per-record formats do.

ijson says nothing of positions, so the bytes it reads are scanned first (``ElementLines``),
chunk by chunk in numpy: where each top-level element starts (after the array's ``[`` or a
comma at depth one, outside strings) and on which line.  An analyst opens the file at the
alert's line and finds the record; in a one-line array every element is on line 1.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from colsec.jsonutil import DepthScanner, escaped_bytes
from colsec.match.events import Event, Malformed
from colsec.match.readers.formats import ReaderStats

__all__ = ["ElementLines", "LineBytes", "read_json_array"]

_QUOTE = ord('"')
_NEWLINE = ord("\n")
_OPEN_ARRAY = ord("[")
_COMMA = ord(",")
_STRUCTURE = np.zeros(256, dtype=bool)
_STRUCTURE[list(b"[]{},")] = True
_DELTA = np.zeros(256, dtype=np.int64)
_DELTA[list(b"[{")] = 1
_DELTA[list(b"]}")] = -1
_BLANK = np.zeros(256, dtype=bool)
_BLANK[list(b" \t\r\n")] = True
# what ``str.splitlines`` ends a line at: a line given with one of these keeps it as it is
_LINE_ENDS = ("\n", "\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


class ElementLines:
    """A binary stream that depth-checks every read (as ``DepthCheckedStream``) and records the
    line each top-level array element starts on, in order, for the reader to take one by one."""

    __slots__ = ("_depth", "_escape_next", "_in_string", "_inner", "_level", "_lines", "_pending", "starts")

    def __init__(self, inner: Any, *, what: str = "JSON array") -> None:
        self._inner = inner
        self._depth = DepthScanner(what=what)
        self.starts: deque[int] = deque()
        self._lines = 0  # newlines before the current chunk
        self._level = 0
        self._in_string = False
        self._escape_next = False
        self._pending = False  # an element began in an earlier chunk; its first byte is still to come

    @property
    def line(self) -> int:
        """The line the scan has reached (for a problem ijson finds past the last element start)."""
        return self._lines + 1

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._inner.read(size)
        self._depth.feed(data)
        if data:
            self._scan(data)
        return data

    def next_line(self, fallback: int) -> int:
        """The start line of the next element ijson yields (``fallback`` if the scan saw none)."""
        return self.starts.popleft() if self.starts else fallback

    def _scan(self, data: bytes) -> None:
        arr = np.frombuffer(data, dtype=np.uint8)
        quote = arr == _QUOTE
        if self._escape_next or b"\\" in data:
            escaped, self._escape_next = escaped_bytes(arr, self._escape_next)
            quote[escaped[escaped < len(arr)]] = False
        quotes = np.flatnonzero(quote)
        marks = np.flatnonzero(_STRUCTURE[arr])
        # a bracket or comma is structure when the quotes before it (and any string carried in) pair up
        outside = marks[((np.searchsorted(quotes, marks) + self._in_string) & 1) == 0]
        self._in_string = bool((len(quotes) + self._in_string) & 1)
        newlines = np.flatnonzero(arr == _NEWLINE)
        solid = np.flatnonzero(~_BLANK[arr])
        if self._pending and solid.size:
            self._record(int(solid[0]), newlines)
            self._pending = False
        if outside.size:
            kind = arr[outside]
            delta = _DELTA[kind]
            before = np.cumsum(delta) - delta + self._level
            self._level = int(before[-1] + delta[-1])
            at = outside[((kind == _OPEN_ARRAY) & (before == 0)) | ((kind == _COMMA) & (before == 1))]
            if at.size:
                first = np.searchsorted(solid, at, side="right")
                found = first < len(solid)
                lines = np.searchsorted(newlines, solid[first[found]]) + (self._lines + 1)
                self.starts.extend(lines.tolist())
                self._pending = not bool(found[-1])
        self._lines += len(newlines)

    def _record(self, offset: int, newlines: np.ndarray) -> None:
        self.starts.append(self._lines + int(np.searchsorted(newlines, offset)) + 1)


class LineBytes:
    """Text lines (a pipe, an upload) as the binary stream ijson reads; a line given without its
    end gets one, so that lines count as given (JSON holds no raw line break inside a string)."""

    __slots__ = ("_buffer", "_lines")

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson's probe of the stream's type
            return b""
        want = size if size > 0 else None
        parts = [self._buffer]
        have = len(self._buffer)
        while want is None or have < want:
            line = next(self._lines, None)
            if line is None:
                break
            if not line.endswith(_LINE_ENDS):
                line += "\n"
            part = line.encode("utf-8", "surrogatepass")
            parts.append(part)
            have += len(part)
        data = b"".join(parts)
        self._buffer = data[want:] if want is not None else b""
        return data[:want] if want is not None else data


def read_json_array(raw: Any, stats: ReaderStats, decoder_for: Any) -> Iterator[Event]:
    """Events of a whole JSON array read from the binary stream ``raw``; ``decoder_for(record)``
    gives the decoder for the first record (the kind is judged once, from it)."""
    import ijson

    from colsec.errors import InvalidInput

    scan = ElementLines(raw)
    decoder: Any = None
    line = 0
    try:
        for rec in ijson.items(scan, "item", use_float=True):
            line = scan.next_line(line)
            stats.lines += 1
            if decoder is None:
                decoder = decoder_for(rec)
            out = decoder.record(rec, line)
            if isinstance(out, Malformed):
                stats.bad(out)
            elif out is not None:
                stats.events += 1
                yield out
    except ijson.JSONError as exc:
        stats.bad(Malformed(scan.next_line(scan.line), f"JSON array broken, rest of file skipped ({exc})"))
    except InvalidInput as exc:
        stats.bad(Malformed(scan.next_line(scan.line), f"{exc.message}, rest of file skipped"))
