"""A bundle's objects streamed at C speed: a vectorised structure scan, orjson per batch.

ijson (``stix_bundle.read_bundle_reference``) costs a Python call per JSON event, a
million-indicator bundle tens of seconds.  Here Python runs per chunk and per batch:
each decompressed chunk is scanned once in numpy (escaped quotes found from backslash
runs, then quote parity and bracket depth as cumulative sums over the structural bytes),
which gives the nesting depth everywhere (skipped members included) and the byte where
each element of ``objects`` ends; the complete elements are parsed a batch at a time by
orjson, which also validates every byte of them.  The bundle's own members (everything
outside the objects array, normally a few dozen bytes) still go through ijson's push
parser and the shared :class:`BundleEnvelope`, so envelope checks and messages are the
reference's.  Memory: one chunk (two when a gzip stream is read ahead), one batch and the
largest object; never the file.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing, contextmanager
from typing import IO, Any

import ijson
import numpy as np
import orjson

from colsec.errors import InvalidInput
from colsec.jsonutil import MAX_DEPTH, escaped_bytes, text_start
from colsec.pipeline import read_ahead
from colsec.stix.upgrade import upgrade_to_21

__all__ = [
    "CHUNK",
    "BundleEnvelope",
    "StructureScanner",
    "TextStart",
    "parse_errors",
    "stream_bundle",
    "unreadable",
]

CHUNK = 1 << 20
_DELTA = np.zeros(256, dtype=np.int8)
_DELTA[list(b"[{")] = 1
_DELTA[list(b"]}")] = -1
_QUOTE, _OPEN_ARRAY, _OPEN_MAP, _CLOSE_MAP = ord('"'), ord("["), ord("{"), ord("}")
_STARTS = ("start_map", "start_array")
_ENDS = ("end_map", "end_array")
_EMPTY = np.zeros(0, dtype=np.int64)
# Past this many bytes of an element with no end in sight, look at how the element begins: a run
# of numbers or literals has no structural byte and would otherwise be buffered whole.
_LOOK_AFTER = 4 * 1024 * 1024


def unreadable(source: object, exc: BaseException) -> str:
    """One line for a gzip file that is cut short or damaged (the common failed download)."""
    if isinstance(exc, EOFError):
        return f"{source}: the gzip file is truncated ({exc})"
    return f"{source}: cannot read input ({exc})"


@contextmanager
def parse_errors(source: str) -> Iterator[None]:
    """Parser and stream failures as one InvalidInput line naming the source."""
    try:
        yield
    except ijson.common.IncompleteJSONError as exc:
        raise InvalidInput(f"{source}: invalid or truncated JSON ({str(exc).strip()[:200]})") from None
    except ijson.common.JSONError as exc:
        raise InvalidInput(f"{source}: invalid JSON ({str(exc).strip()[:200]})") from None
    except (EOFError, zlib.error) as exc:
        raise InvalidInput(unreadable(source, exc)) from None
    except (UnicodeDecodeError, OSError) as exc:
        raise InvalidInput(f"{source}: cannot read input ({exc})") from None


class TextStart:
    """A byte stream read from where its JSON text starts: a leading UTF-8 byte-order mark is
    skipped and UTF-16 refused by name (``jsonutil.text_start``); both readers open with it.
    Nothing is read before the first ``read``, so a read-ahead thread does all the reading."""

    def __init__(self, stream: IO[bytes], source: str) -> None:
        self._stream = stream
        self._source = source
        self._read: Callable[[int], bytes] | None = None

    def read(self, size: int = -1) -> bytes:
        if self._read is not None:
            return self._read(size)
        if size == 0:  # ijson reads 0 bytes to learn the stream's type
            return b""
        head = b""
        while len(head) < 4:
            more = self._stream.read(4 - len(head))
            if not more:
                break
            head += more
        self._read = self._stream.read
        head = head[text_start(head, self._source) :]
        return head + self._read() if size is None or size < 0 else head


class BundleEnvelope:
    """The bundle's own shape, checked from parser events; both readers share it.

    ``event`` answers True at the start of an element of ``objects`` (the reference reader
    builds it; the fast reader never feeds element events here)."""

    def __init__(self, source: str, notes: list[str] | None = None) -> None:
        self.source = source
        self.notes = notes  # where the upgrade of a STIX 2.0 bundle is reported
        self.stix20 = False  # spec_version "2.0": each object is upgraded to 2.1 as it is read
        self.upgraded = 0
        self.changes: dict[str, None] = {}
        self.depth = 0
        self.key: str | None = None  # the current key of the bundle itself
        self.keys: set[str] = set()  # the bundle's keys so far: a repeated one is refused
        self.seen_type: str | None = None
        self.in_objects = False

    def event(self, event: str, value: Any) -> bool:
        source = self.source
        if event in _STARTS:
            self.depth += 1
        elif event in _ENDS:
            self.depth -= 1
        depth = self.depth
        if (depth == 0 and event != "end_map") or (depth == 1 and event == "start_array"):
            raise InvalidInput(f"{source}: not a STIX bundle (top level is not a JSON object)")
        if depth == 0:
            return False  # the bundle's closing brace
        if depth == 1:  # the bundle's own keys and scalar values
            if event == "map_key":
                if value in self.keys:
                    # Parsed whole, the last would win; streamed, the first is already read:
                    # neither is the sender's meaning, so the bundle is refused.
                    raise InvalidInput(f"{source}: bundle has more than one {value!r} member")
                self.keys.add(value)
                self.key = value
            elif event in _ENDS:
                self.in_objects = False
            elif self.key == "objects":
                raise InvalidInput(f"{source}: bundle 'objects' must be a list")
            elif self.key == "type" and event == "string":
                self.seen_type = value
                if value != "bundle":
                    raise InvalidInput(f"{source}: not a STIX bundle (type is {value!r})")
            elif self.key == "id" and event == "string" and str(value).startswith("bundle--"):
                self.seen_type = self.seen_type or "bundle"
            elif self.key == "spec_version" and event == "string" and value == "2.0":
                if "objects" in self.keys:  # its objects are read already: too late to upgrade them
                    raise InvalidInput(f"{source}: bundle spec_version '2.0' must come before its 'objects'")
                self.stix20 = True
            elif self.key == "spec_version" and event == "string" and value != "2.1":
                raise InvalidInput(f"{source}: bundle spec_version {value!r} is not STIX 2.1 (nor 2.0)")
            return False
        if self.key != "objects":
            return False  # other members of the bundle are skipped (depth-checked all the same)
        if depth == 2 and event in _STARTS:
            if event == "start_map":
                raise InvalidInput(f"{source}: bundle 'objects' must be a list")
            self.in_objects = True
            return False
        if depth == 2 and event == "end_map":
            return False  # an element's closing brace
        if depth == 3 and event == "start_map":
            return True
        raise InvalidInput(f"{source}: bundle 'objects' must contain JSON objects")

    def upgrade(self, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The objects of a STIX 2.0 bundle upgraded to 2.1 (``stix.upgrade``, as a medallion
        migration does); those of a 2.1 bundle as they are."""
        if not self.stix20:
            return objects
        out = []
        for obj in objects:
            new, changes = upgrade_to_21(obj)
            if changes:
                self.upgraded += 1
                self.changes.update(dict.fromkeys(changes))
            out.append(new)
        return out

    def finish(self) -> None:
        if self.seen_type is None:
            # Some published bundles omit "type"; a "bundle--" id is accepted instead.
            raise InvalidInput(f"{self.source}: not a STIX bundle (neither 'type': 'bundle' nor a bundle id)")
        if self.stix20 and self.notes is not None:
            self.notes.append(
                f"{self.source}: STIX 2.0 bundle upgraded to 2.1: {self.upgraded} objects"
                + (f" ({'; '.join(self.changes)})" if self.changes else "")
            )


class Marks:
    """Where, in one chunk, the structure crosses the levels the streamer cares about."""

    __slots__ = ("bad", "close1", "ends", "open2", "too_deep")

    def __init__(self, open2: Any, close1: Any, ends: Any, bad: Any, too_deep: int | None = None) -> None:
        self.open2 = open2  # an opening bracket entering level 2 (a member of the bundle)
        self.close1 = close1  # a closing bracket back to level 1 (that member's end)
        self.ends = ends  # a closing brace back to level 2 (an element of an array member ends)
        self.bad = bad  # an array opening at level 3 (not an object, if in "objects")
        self.too_deep = too_deep  # where the nesting first passes the limit: refused there


class StructureScanner:
    """JSON structure of a byte stream, chunk by chunk: exact for valid JSON (anything it
    misreads in invalid JSON is refused by the parser that reads those bytes)."""

    __slots__ = ("_escape_next", "in_string", "level", "limit", "message")

    def __init__(self, limit: int, message: str) -> None:
        self.limit = limit
        self.message = message
        self.level = 0
        self.in_string = False
        self._escape_next = False  # the previous chunk ended in an odd run of backslashes

    def scan(self, chunk: bytes) -> Marks:
        arr = np.frombuffer(chunk, dtype=np.uint8)
        quotes = np.flatnonzero(arr == _QUOTE)
        if self._escape_next or b"\\" in chunk:
            escaped, self._escape_next = escaped_bytes(arr, self._escape_next)
            escaped = escaped[arr[escaped] == _QUOTE]
            if escaped.size:  # an escaped quote is string content
                quotes = np.delete(quotes, np.searchsorted(quotes, escaped))
        # "[" and "{" are the only bytes that OR 0x20 makes "{", "]" and "}" the only ones it
        # makes "}": two compares find every bracket, in SIMD passes over the chunk.
        folded = arr | 0x20
        brackets = np.flatnonzero((folded == _OPEN_MAP) | (folded == _CLOSE_MAP))
        carried = self.in_string
        self.in_string = bool((quotes.size + carried) & 1)
        if not brackets.size:
            return Marks(_EMPTY, _EMPTY, _EMPTY, _EMPTY)
        # Quotes before a bracket (plus a string carried in): odd = the bracket is in a string.
        outside = (np.searchsorted(quotes, brackets) + carried) & 1 == 0
        pos = brackets[outside]
        if not pos.size:
            return Marks(_EMPTY, _EMPTY, _EMPTY, _EMPTY)
        kinds = arr[pos]
        delta = _DELTA[kinds]
        levels = np.cumsum(delta, dtype=np.int64) + self.level
        too_deep = None
        if int(levels.max()) > self.limit:
            # Refused where it happens: problems earlier in the text are reported first, as
            # an event-by-event parser would.
            too_deep = int(pos[int(np.argmax(levels > self.limit))])
        self.level = int(levels[-1])
        opens, closes = delta == 1, delta == -1
        at2 = levels == 2
        return Marks(
            open2=pos[opens & at2],
            close1=pos[closes & (levels == 1)],
            ends=pos[closes & at2 & (kinds == _CLOSE_MAP)],
            bad=pos[opens & (levels == 3) & (kinds == _OPEN_ARRAY)],
            too_deep=too_deep,
        )


def _between(values: Any, start: int, end: int) -> Any:
    lo, hi = np.searchsorted(values, (start, end))
    return values[lo:hi]


class _Objects:
    """Text of the objects array since the last batch; complete elements parsed together."""

    def __init__(self, source: str, offset: int) -> None:
        self.source = source
        self.offset = offset  # where the pending text starts in the document
        self.parts: list[bytes | memoryview] = []
        self.size = 0
        self.first = True
        self.look_at = _LOOK_AFTER

    def feed(self, view: memoryview, start: int, end: int, ends: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if ends.size:
            last = int(ends[-1]) + 1
            self.parts.append(view[start:last])
            out = self.parse()
            start = last
        if end > start:
            self.parts.append(view[start:end])
            self.size += end - start
            if self.size > self.look_at:
                self._check_start()
        return out

    def parse(self) -> list[dict[str, Any]]:
        # After the first batch the text begins with the comma that separates it from the
        # last one: "[null" takes its place, so a missing or extra comma stays a parse error.
        head = b"[" if self.first else b"[null"
        text = b"".join([head, *self.parts, b"]"])
        self.parts, self.size, self.look_at = [], 0, _LOOK_AFTER
        try:
            items: list[dict[str, Any]] = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            at = self.offset + max(exc.pos - len(head), 0)
            raise InvalidInput(
                f"{self.source}: invalid JSON in 'objects' near byte {at:,} ({exc.msg})"
            ) from None
        self.offset += len(text) - len(head) - 1
        if not self.first:
            del items[0]
        self.first = False
        if items and set(map(type, items)) != {dict}:
            raise InvalidInput(f"{self.source}: bundle 'objects' must contain JSON objects")
        return items

    def _check_start(self) -> None:
        """A long element with no end yet must at least begin as an object."""
        text = b"".join(self.parts).lstrip()
        comma = not self.first and text.startswith(b",")
        if comma:
            text = text[1:].lstrip()
        if not text:  # only whitespace so far: keep the comma, drop the rest
            self.parts, self.size = ([b","] if comma else []), 0
        elif not text.startswith(b"{"):
            raise InvalidInput(f"{self.source}: bundle 'objects' must contain JSON objects")
        self.look_at = self.size * 2 + _LOOK_AFTER


def stream_bundle(
    stream: IO[bytes],
    *,
    source: str = "input",
    max_depth: int = MAX_DEPTH,
    chunk_size: int = CHUNK,
    ahead: bool = False,
    notes: list[str] | None = None,
) -> Generator[dict[str, Any], None, None]:
    """Yield the objects of a bundle; raise InvalidInput naming the problem.

    ``ahead`` reads the next chunk in a helper thread while this one is scanned and parsed:
    worth it where reading is work (a gzip stream), not for a plain file.  A STIX 2.0 bundle's
    objects are upgraded to 2.1, said in ``notes`` once the bundle is read."""
    text = TextStart(stream, source)
    if not ahead:
        yield from _stream(iter(lambda: text.read(chunk_size), b""), source, max_depth, notes)
        return
    # Closed here, before the caller can close the stream: the helper's read is done by then.
    with closing(read_ahead(text.read, chunk_size, name="colsec-gunzip")) as chunks:
        yield from _stream(chunks, source, max_depth, notes)


def _stream(
    chunks: Iterable[bytes], source: str, max_depth: int, notes: list[str] | None
) -> Iterator[dict[str, Any]]:
    envelope = BundleEnvelope(source, notes)
    events = ijson.sendable_list()
    parser = ijson.basic_parse_coro(events, use_float=True)
    scanner = StructureScanner(max_depth, f"{source}: JSON nested deeper than {max_depth} levels")

    def to_envelope(data: bytes | memoryview) -> None:
        parser.send(bytes(data))
        for event, value in events:
            if envelope.event(event, value):  # the scan saw no element start here: it misread
                raise InvalidInput(f"{source}: invalid JSON (structure does not parse)")
        del events[:]

    objects: _Objects | None = None
    offset = 0
    with parse_errors(source):
        for chunk in chunks:
            marks = scanner.scan(chunk)
            view = memoryview(chunk)
            p, n = 0, len(chunk) if marks.too_deep is None else marks.too_deep
            while p < n:
                if objects is None:  # the bundle's own members, up to the next one that opens
                    later = _between(marks.open2, p, n)
                    if not later.size:
                        to_envelope(view[p:n])
                        break
                    opened = int(later[0]) + 1
                    to_envelope(view[p:opened])
                    p = opened
                    if envelope.in_objects:
                        objects = _Objects(source, offset + p)
                    continue
                closing = _between(marks.close1, p, n)
                end = int(closing[0]) if closing.size else n
                if _between(marks.bad, p, end).size:
                    raise InvalidInput(f"{source}: bundle 'objects' must contain JSON objects")
                yield from envelope.upgrade(objects.feed(view, p, end, _between(marks.ends, p, end)))
                if end == n:
                    break
                yield from envelope.upgrade(objects.parse())
                objects, p = None, end  # the closing bracket goes to the envelope parser
            if marks.too_deep is not None:
                raise InvalidInput(scanner.message)
            offset += n
        if objects is not None:
            raise InvalidInput(f"{source}: invalid or truncated JSON (input ends inside the 'objects' array)")
        parser.close()
        for event, value in events:
            envelope.event(event, value)
    envelope.finish()
