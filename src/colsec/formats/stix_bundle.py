"""STIX 2.1 files in: objects are yielded one by one, a large file never whole in memory.

Accepts plain or gzip files under a decompression cap; checks the envelope shape (a bundle
with an ``objects`` array) and limits nesting depth anywhere in the document.  Bundles are
read by ``bundle_stream`` (a structure scan and orjson batches); ``read_bundle_reference``
is the same reader event by event through ijson, kept as the reference it is tested against.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Generator, Iterator
from contextlib import closing
from pathlib import Path
from typing import IO, Any

import ijson

from colsec.errors import InvalidInput, TooLarge
from colsec.formats.bundle_stream import CHUNK, BundleEnvelope, parse_errors, stream_bundle, unreadable
from colsec.jsonutil import MAX_DEPTH, check_depth

__all__ = [
    "MAX_DECOMPRESSED",
    "CappedReader",
    "gunzip_upload",
    "open_maybe_gzip",
    "read_bundle",
    "read_bundle_file",
    "read_bundle_reference",
    "read_maybe_gzip",
    "read_stix_file",
    "unreadable",
]


def gunzip_upload(data: bytes, *, source: str, limit: int) -> bytes:
    """An uploaded ``.json.gz`` expanded (plain data is returned as is), never past ``limit`` bytes."""
    if data[:2] != b"\x1f\x8b":
        return data
    out = gunzip_whole(data, source=source, limit=limit)
    assert out is not None
    return out


def gunzip_whole(data: bytes, *, source: str, limit: int, stop: int | None = None) -> bytes | None:
    """Gzip data expanded in one call per member, never past ``limit`` bytes (TooLarge), or
    None once past ``stop`` (the caller streams instead).  Concatenated members are read
    like ``gzip.open`` reads them, zero padding after the last one included."""
    # Never inflate past what real data could expand to (see MAX_RATIO): a bomb stops there.
    ceiling = min(limit, max(RATIO_AFTER, MAX_RATIO * len(data)))
    budget = ceiling if stop is None else min(ceiling, stop)
    parts: list[bytes] = []
    size = 0
    rest = data
    try:
        while rest:
            if rest[:2] != b"\x1f\x8b":
                raise zlib.error("trailing data after the gzip stream is not gzip")
            inflater = zlib.decompressobj(wbits=31)
            parts.append(inflater.decompress(rest, budget - size + 1))
            size += len(parts[-1])
            if size > budget:
                if budget < ceiling:
                    return None
                if size > limit:
                    raise TooLarge(
                        f"{source}: decompresses to more than {limit} bytes (max_decompressed_bytes)"
                    )
                raise TooLarge(
                    f"{source}: expands more than {MAX_RATIO} times its compressed size (a decompression bomb, not data)"
                )
            if not inflater.eof:
                raise EOFError("compressed data ends before the end-of-stream marker")
            rest = inflater.unused_data.lstrip(b"\x00")
    except (EOFError, zlib.error) as exc:
        raise InvalidInput(unreadable(source, exc)) from None
    return parts[0] if len(parts) == 1 else b"".join(parts)


MAX_DECOMPRESSED = 2 * 1024 * 1024 * 1024
# Real intelligence and logs expand 5-20 times (ATT&CK 5x, Sysmon NDJSON 18x); deflate's ceiling is
# about 1,030x, which only a bomb reaches.  Past the first megabytes, a stream that has expanded
# more than this is refused at once instead of after gigabytes.
MAX_RATIO = 200
RATIO_AFTER = 32 * 1024 * 1024


class CappedReader(io.RawIOBase):
    """A decompressing stream that refuses to expand past ``limit`` bytes (a gzip bomb turns
    a few megabytes into terabytes); the count is of bytes handed out, so it holds while
    streaming, never after the fact."""

    def __init__(self, inner: IO[bytes], *, limit: int, source: str) -> None:
        super().__init__()
        self._inner = inner
        self._limit = limit
        self._source = source
        self._count = 0
        self.fileobj = getattr(inner, "fileobj", inner)  # the compressed file, for progress

    def readable(self) -> bool:
        return True

    @property
    def expanded(self) -> int:
        """Decompressed bytes handed out so far."""
        return self._count

    def readinto(self, buffer: Any) -> int:
        # Never expand more than one byte past the cap, whatever size the caller asks for.
        view = memoryview(buffer)[: self._limit - self._count + 1]
        n = self._inner.readinto(view)  # type: ignore[attr-defined]
        self._count += n
        if self._count > self._limit:
            raise TooLarge(
                f"{self._source}: decompresses to more than {self._limit} bytes (max_decompressed_bytes)"
            )
        if self._count > RATIO_AFTER:
            read = self._compressed_read()
            if read and self._count > MAX_RATIO * read:
                raise TooLarge(
                    f"{self._source}: expands more than {MAX_RATIO} times its compressed size "
                    "(a decompression bomb, not data)"
                )
        return int(n)

    def _compressed_read(self) -> int:
        try:
            return int(self.fileobj.tell())
        except (AttributeError, OSError, ValueError):
            return 0

    def close(self) -> None:
        self._inner.close()
        super().close()


def open_maybe_gzip(path: Path, *, max_decompressed: int = MAX_DECOMPRESSED) -> IO[bytes]:
    f = path.open("rb")
    magic = f.read(2)
    f.seek(0)
    if magic == b"\x1f\x8b":
        f.close()
        inner: IO[bytes] = gzip.open(path, "rb")  # type: ignore[assignment]
        return CappedReader(inner, limit=max_decompressed, source=str(path))  # type: ignore[return-value]
    return f


def read_maybe_gzip(path: Path, *, max_decompressed: int = MAX_DECOMPRESSED) -> bytes:
    """The whole content of a plain or gzip file, refused (TooLarge) once it expands past the cap."""
    return _read_upto(path, None, max_decompressed=max_decompressed)


def _read_upto(path: Path, size: int | None, *, max_decompressed: int) -> bytes:
    """Up to ``size`` bytes (all when None), read in 1 MiB steps: no buffer sized by a request."""
    chunks: list[bytes] = []
    got = 0
    try:
        with open_maybe_gzip(path, max_decompressed=max_decompressed) as f:
            while size is None or got < size:
                chunk = f.read(1 << 20 if size is None else min(1 << 20, size - got))
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
    except (OSError, EOFError, zlib.error) as exc:  # click would print a bare "Aborted." for EOFError
        raise InvalidInput(unreadable(path, exc)) from None
    return b"".join(chunks)


def read_bundle(
    stream: IO[bytes],
    *,
    source: str = "input",
    max_depth: int = MAX_DEPTH,
    chunk_size: int = CHUNK,
    ahead: bool | None = None,
) -> Generator[dict[str, Any], None, None]:
    """Yield the objects of a bundle; raise InvalidInput naming the problem (see bundle_stream).

    A gzip stream is decompressed a chunk ahead in a helper thread (``ahead`` None: decided by
    the stream), so inflating leaves the caller's thread."""
    if ahead is None:
        ahead = isinstance(stream, CappedReader)
    return stream_bundle(stream, source=source, max_depth=max_depth, chunk_size=chunk_size, ahead=ahead)


def read_bundle_reference(
    stream: IO[bytes], *, source: str = "input", max_depth: int = MAX_DEPTH
) -> Iterator[dict[str, Any]]:
    """The same objects and refusals as ``read_bundle``, event by event through ijson.

    The reference the fast reader is tested against (tests/formats/test_bundle_stream.py);
    about 20 times slower.  Prefix-less events with our own depth counter: ``ijson.parse``
    builds a dotted prefix per event, so memory and time would grow with the square of the
    nesting before any limit could refuse; here the whole document stops at ``max_depth``.
    """
    envelope = BundleEnvelope(source)
    builder: Any = None
    depth = 0
    with parse_errors(source):
        for event, value in ijson.basic_parse(stream, use_float=True):
            if event in ("start_map", "start_array"):
                depth += 1
                if depth > max_depth:
                    raise InvalidInput(f"{source}: JSON nested deeper than {max_depth} levels")
            elif event in ("end_map", "end_array"):
                depth -= 1
            if builder is None:
                if envelope.event(event, value):
                    builder = ijson.ObjectBuilder()
                    builder.event(event, value)
                continue
            builder.event(event, value)
            if depth == 2:
                envelope.event(event, value)  # the object's closing brace
                obj = builder.value
                builder = None
                yield obj
    envelope.finish()


def read_bundle_file(path: Path, *, max_decompressed: int = MAX_DECOMPRESSED) -> Iterator[dict[str, Any]]:
    with open_maybe_gzip(path, max_decompressed=max_decompressed) as f:
        yield from read_bundle(f, source=str(path))


def check_object_depth(obj: Any) -> None:
    check_depth(obj)


SMALL_FILE = 16 * 1024 * 1024


def _gzip_bundle(path: Path, max_decompressed: int) -> Iterator[dict[str, Any]] | None:
    """A small gzip bundle's objects, or None if the stream refuses it before expanding past
    what the whole read would hold (the caller then reads it whole, with its own messages).

    Objects are held until the stream ends or passes that size, so a refusal yields nothing;
    past it, the rest is streamed as a large file is (the whole read would stream it too)."""
    held: list[dict[str, Any]] = []
    f = open_maybe_gzip(path, max_decompressed=max_decompressed)
    objects = read_bundle(f, source=str(path), ahead=True)
    handed_on = False
    try:
        for obj in objects:
            held.append(obj)
            if f.expanded > SMALL_FILE * 8:  # type: ignore[attr-defined]
                handed_on = True
                return _rest(held, objects, f)
        return iter(held)
    except (InvalidInput, TooLarge):
        return None
    finally:
        if not handed_on:
            objects.close()
            f.close()


def _rest(
    held: list[dict[str, Any]], objects: Generator[dict[str, Any], None, None], f: IO[bytes]
) -> Iterator[dict[str, Any]]:
    with f, closing(objects):
        yield from held
        yield from objects


def read_stix_file(path: Path, *, max_decompressed: int = MAX_DECOMPRESSED) -> Iterator[dict[str, Any]]:
    """Objects of a bundle, a single STIX object, or a JSON list of objects.

    Small files are parsed whole (so a lone object or a list is recognised);
    large ones must be bundles and are streamed.
    """
    from colsec.jsonutil import loads

    if path.stat().st_size > SMALL_FILE:
        yield from read_bundle_file(path, max_decompressed=max_decompressed)
        return
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(unreadable(path, exc)) from None
    data: bytes | None = raw
    if raw[:2] == b"\x1f\x8b":
        # A bundle streams with its decompression in a helper thread; anything the stream
        # refuses (a lone object, a list, a damaged file) is read whole as before.  Not when
        # the gzip trailer (the last member's size, modulo 4 GiB: a hint, never trusted for
        # what is read) says it expands past what would be held: holding that many objects
        # costs more in garbage-collector passes than the helper thread saves.
        hint = int.from_bytes(raw[-4:], "little")
        streamed = _gzip_bundle(path, max_decompressed) if hint <= SMALL_FILE * 8 else None
        if streamed is not None:
            yield from streamed
            return
        data = gunzip_whole(raw, source=str(path), limit=max_decompressed, stop=SMALL_FILE * 8)
    if data is None:
        yield from read_bundle_file(path, max_decompressed=max_decompressed)
        return
    try:
        value = loads(data, what=str(path))
    except InvalidInput:
        # Re-read with the streaming parser: it reports the position of the problem.
        yield from read_bundle_file(path, max_decompressed=max_decompressed)
        return
    if isinstance(value, dict) and (
        value.get("type") == "bundle" or str(value.get("id", "")).startswith("bundle--")
    ):
        objs = value.get("objects", [])
        if not isinstance(objs, list):
            raise InvalidInput(f"{path}: bundle 'objects' must be a list")
        if value.get("type", "bundle") != "bundle":
            raise InvalidInput(f"{path}: not a STIX bundle (type is {value['type']!r})")
        if "spec_version" in value and value["spec_version"] != "2.1":  # as the streamed path checks
            raise InvalidInput(f"{path}: bundle spec_version {value['spec_version']!r} is not STIX 2.1")
    elif isinstance(value, dict) and isinstance(value.get("type"), str) and "id" in value:
        objs = [value]
    elif isinstance(value, list):
        objs = value
    else:
        raise InvalidInput(f"{path}: neither a STIX bundle, a STIX object nor a list of objects")
    for obj in objs:
        if not isinstance(obj, dict):
            raise InvalidInput(f"{path}: bundle 'objects' must contain JSON objects")
        yield obj
