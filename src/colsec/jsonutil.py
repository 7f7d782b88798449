"""The one loader of untrusted JSON: hostile input is refused with a message, never a crash.

Every path that parses text from outside (requests, TAXII envelopes and responses, imported
files, feeds, telemetry readers) goes through ``loads`` or the depth scanner here, so size,
binary and nesting limits are the same everywhere.

Depth is checked *before* any parser builds anything: a linear scan of bracket depth
outside strings (``DepthScanner``), fed chunk by chunk, in vectorised byte operations
(escaped quotes found from the runs of backslashes, everything but brackets and quotes
dropped by ``bytes.translate``, quote parity and depth as numpy cumulative sums): about a
fifth of the time orjson takes to parse the same text.  Parsers that build first and measure later
spend memory quadratic in the nesting of a hostile document before they refuse it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from colsec.errors import InvalidInput, TooLarge

__all__ = [
    "MAX_DEPTH",
    "MAX_JSON_BYTES",
    "UTF8_BOM",
    "DepthCheckedStream",
    "DepthScanner",
    "check_depth",
    "check_text_depth",
    "escaped_bytes",
    "is_utf16",
    "load_file",
    "loads",
    "refuse_utf16",
    "text_start",
]

# Real MISP events and STIX bundles are < 12 deep; far below orjson's own 1024.
MAX_DEPTH = 64
MAX_JSON_BYTES = 2 * 1024 * 1024 * 1024

_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_NOT_STRUCTURE = bytes(range(256)).translate(None, b'[]{}"')
_DELTA = np.zeros(256, dtype=np.int8)
_DELTA[list(b"[{")] = 1
_DELTA[list(b"]}")] = -1
_QUOTE = ord('"')
_BACKSLASH = ord("\\")
_CHUNK = 1 << 20


def escaped_bytes(arr: np.ndarray, first_escaped: bool = False) -> tuple[np.ndarray, bool]:
    """Positions of the bytes a backslash escapes in a chunk, and whether the byte after it is.

    Each run of backslashes escapes its own pairs and, when its length is odd, the byte that
    follows; ``first_escaped`` says the previous chunk ended in such a run.  Vectorised over
    the backslashes only (a few per kilobyte of real intelligence).
    """
    backslashes = np.flatnonzero(arr == _BACKSLASH)
    lead = [0] if first_escaped else []
    if first_escaped and backslashes.size and backslashes[0] == 0:
        backslashes = backslashes[1:]  # escaped by the carried backslash: it starts no run
    if not backslashes.size:
        return np.array(lead, dtype=np.int64), False
    breaks = np.flatnonzero(np.diff(backslashes) != 1)
    starts = np.concatenate((backslashes[:1], backslashes[breaks + 1]))
    ends = np.concatenate((backslashes[breaks], backslashes[-1:]))
    escaped = ends[(ends - starts) % 2 == 0] + 1  # odd runs escape the next byte
    carry = bool(escaped.size and escaped[-1] == len(arr))
    if carry:
        escaped = escaped[:-1]
    if lead:
        escaped = np.concatenate((np.array(lead, dtype=np.int64), escaped))
    return escaped, carry


UTF8_BOM = b"\xef\xbb\xbf"


def is_utf16(head: bytes) -> bool:
    """UTF-16 text, by its byte-order mark or (without one) a NUL beside each ASCII character."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return True
    pairs = [head[i : i + 2] for i in range(0, min(len(head), 4) - 1, 2)]
    return bool(pairs) and (
        all(p[0] == 0 and 9 <= p[1] < 0x7F for p in pairs)
        or all(p[1] == 0 and 9 <= p[0] < 0x7F for p in pairs)
    )


def refuse_utf16(head: bytes, what: str) -> None:
    """UTF-16 input (Windows tools write it) refused by name rather than as binary data."""
    if is_utf16(head):
        raise InvalidInput(f"{what} is UTF-16 text, not UTF-8: save it as UTF-8", kind="text_utf16")


def text_start(head: bytes, what: str) -> int:
    """Where JSON text starts in input beginning with ``head`` (its first 4 bytes or more): after
    a UTF-8 byte-order mark (Windows tools write one; RFC 8259 lets a parser ignore it)."""
    if head.startswith(UTF8_BOM):
        return len(UTF8_BOM)
    refuse_utf16(head, what)
    return 0


def depth_message(what: str, limit: int) -> str:
    return f"{what} is nested deeper than {limit} levels"


class DepthScanner:
    """Incremental nesting-depth check of JSON text; ``feed`` raises InvalidInput at the limit.

    Exact for valid JSON; for invalid JSON it may count differently, which the parser that
    runs afterwards refuses anyway.  Memory is one chunk, whatever the input.
    """

    __slots__ = (
        "_carry",
        "_escape_next",
        "_in_string",
        "_string_bytes",
        "level",
        "limit",
        "max_string_bytes",
        "what",
    )

    def __init__(
        self, limit: int = MAX_DEPTH, *, what: str = "document", max_string_bytes: int | None = None
    ) -> None:
        self.limit = limit
        self.what = what
        # Optional: refuse a string longer than this many bytes of JSON text before anything
        # holds it (a 64 MB description would otherwise be copied several times over).
        self.max_string_bytes = max_string_bytes
        self.level = 0
        self._in_string = False
        self._string_bytes = 0  # bytes of the string still open at the end of the last chunk
        self._carry = b""
        self._escape_next = False  # the last chunk ended in an odd run of backslashes

    def feed(self, data: bytes) -> None:
        for start in range(0, len(data), _CHUNK):
            self._feed(data[start : start + _CHUNK])

    def _feed(self, piece: bytes) -> None:
        if self.max_string_bytes is not None:
            if self._carry:
                piece = self._carry + piece
                self._carry = b""
            # Escapes only occur inside strings; dropping each pair keeps quotes and lengths
            # honest.  A lone backslash left at the end began an escape the next chunk completes.
            piece = _ESCAPE.sub(b"", piece)
            if piece.endswith(b"\\"):
                self._carry = b"\\"
                piece = piece[:-1]
            self._check_strings(piece)
        elif self._escape_next or b"\\" in piece:
            # Only an escaped quote matters to depth (other escapes hold no bracket or quote):
            # found from the backslash runs in numpy and blanked in a copy, without a pass of
            # Python-level replacing over the whole text.
            arr = np.frombuffer(piece, dtype=np.uint8)
            escaped, self._escape_next = escaped_bytes(arr, self._escape_next)
            escaped = escaped[arr[escaped] == _QUOTE]
            if escaped.size:
                copy = np.array(arr)
                copy[escaped] = ord(" ")
                piece = copy.tobytes()
        marks = piece.translate(None, _NOT_STRUCTURE)
        if not marks:
            return
        marks_array = np.frombuffer(marks, dtype=np.uint8)
        # Quotes seen so far (this one included), plus an open string carried in: odd = inside.
        inside = (np.cumsum(marks_array == _QUOTE) + self._in_string) & 1
        delta = np.where(inside == 1, 0, _DELTA[marks_array]).astype(np.int64)
        levels = np.cumsum(delta) + self.level
        if int(levels.max()) > self.limit:
            raise InvalidInput(depth_message(self.what, self.limit))
        self.level = int(levels[-1])
        self._in_string = bool(inside[-1])

    def _check_strings(self, piece: bytes) -> None:
        """Track the byte length of strings across chunks (escape pairs already dropped, so a
        string counts a little short: the bound is generous, never tight)."""
        assert self.max_string_bytes is not None
        quotes = np.flatnonzero(np.frombuffer(piece, dtype=np.uint8) == _QUOTE)
        longest = 0
        if self._in_string:
            if not len(quotes):
                self._string_bytes += len(piece)
                longest = self._string_bytes
            else:
                longest = self._string_bytes + int(quotes[0])
                quotes = quotes[1:]
        if len(quotes) >= 2:
            pairs = quotes[: len(quotes) // 2 * 2].reshape(-1, 2)
            longest = max(longest, int((pairs[:, 1] - pairs[:, 0] - 1).max()))
        if len(quotes) % 2:  # a string opens and runs past this chunk
            self._string_bytes = len(piece) - int(quotes[-1]) - 1
            longest = max(longest, self._string_bytes)
        if longest > self.max_string_bytes:
            raise InvalidInput(f"{self.what} holds a string longer than {self.max_string_bytes:,} bytes")


class DepthCheckedStream:
    """A binary stream whose every read is depth-scanned first: hand it to a streaming parser
    (ijson) so that it never sees a level past the limit."""

    def __init__(self, inner: Any, limit: int = MAX_DEPTH, *, what: str = "document") -> None:
        self._inner = inner
        self._scanner = DepthScanner(limit, what=what)

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._inner.read(size)
        self._scanner.feed(data)
        return data


def check_text_depth(data: bytes | str, limit: int = MAX_DEPTH, *, what: str = "document") -> None:
    """Refuse JSON text nested deeper than ``limit`` without parsing it."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    DepthScanner(limit, what=what).feed(data)


def check_depth(value: Any, max_depth: int = MAX_DEPTH, *, what: str = "JSON") -> None:
    """Iterative depth check of an already parsed value (no recursion, so it cannot itself blow the stack)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            raise InvalidInput(depth_message(what, max_depth))
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, dict | list))


def loads(
    data: bytes | str, *, max_depth: int = MAX_DEPTH, what: str = "document", max_bytes: int = MAX_JSON_BYTES
) -> Any:
    """Parse JSON from untrusted input; InvalidInput (or TooLarge) names the problem, never a traceback."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if len(data) > max_bytes:
        raise TooLarge(f"{what} is larger than {max_bytes} bytes")
    if start := text_start(data[:4], what):
        data = data[start:]
    if b"\x00" in data[:4096]:
        raise InvalidInput(f"{what} is not JSON text (binary data)")
    check_text_depth(data, max_depth, what=what)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"{what} is not valid JSON: {exc}") from None


def load_file(path: Path, *, what: str | None = None, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """A JSON file from outside (a download, an operator's folder) under the limits of ``loads``;
    a missing, unreadable or oversized file is an InvalidInput (or TooLarge) naming it."""
    name = what or str(path)
    try:
        if path.stat().st_size > max_bytes:
            raise TooLarge(f"{name} is larger than {max_bytes} bytes")
        data = path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"{name} not found") from None
    except OSError as exc:
        raise InvalidInput(f"{name} cannot be read: {exc.strerror or exc}") from None
    return loads(data, what=name, max_bytes=max_bytes)
