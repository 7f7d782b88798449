"""STIX 2.1 files in: objects are yielded one by one, a large file never whole in memory.

Accepts plain or gzip files under a decompression cap; checks the envelope shape (a bundle
with an ``objects`` array) and limits nesting depth anywhere in the document.  Bundles are
read by ``bundle_stream`` (a structure scan and orjson batches); ``read_bundle_reference``
is the same reader event by event through ijson, kept as the reference it is tested against.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from pathlib import Path
from typing import IO, Any

import ijson

from colsec.errors import InvalidInput
from colsec.formats.bundle_stream import (
    CHUNK,
    BundleEnvelope,
    TextStart,
    parse_errors,
    stream_bundle,
    unreadable,
)
from colsec.formats.gzipped import (
    GZIP_MAGIC,
    MAX_DECOMPRESSED,
    CappedReader,
    GzipInflater,
    gunzip_upload,
    gunzip_whole,
    open_maybe_gzip,
)
from colsec.jsonutil import MAX_DEPTH, check_depth

__all__ = [
    "MAX_DECOMPRESSED",
    "CappedReader",
    "GzipInflater",
    "gunzip_upload",
    "gunzip_whole",
    "open_maybe_gzip",
    "read_bundle",
    "read_bundle_file",
    "read_bundle_reference",
    "read_maybe_gzip",
    "read_stix_file",
    "unreadable",
]


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
    notes: list[str] | None = None,
) -> Generator[dict[str, Any], None, None]:
    """Yield the objects of a bundle; raise InvalidInput naming the problem (see bundle_stream).

    A gzip stream is decompressed a chunk ahead in a helper thread (``ahead`` None: decided by
    the stream), so inflating leaves the caller's thread.  A STIX 2.0 bundle is read upgraded
    to 2.1 (``stix.upgrade``), which is said in ``notes``."""
    if ahead is None:
        ahead = isinstance(stream, CappedReader)
    return stream_bundle(
        stream, source=source, max_depth=max_depth, chunk_size=chunk_size, ahead=ahead, notes=notes
    )


def read_bundle_reference(
    stream: IO[bytes], *, source: str = "input", max_depth: int = MAX_DEPTH, notes: list[str] | None = None
) -> Iterator[dict[str, Any]]:
    """The same objects and refusals as ``read_bundle``, event by event through ijson.

    The reference the fast reader is tested against (tests/formats/test_bundle_stream.py);
    about 20 times slower.  Prefix-less events with our own depth counter: ``ijson.parse``
    builds a dotted prefix per event, so memory and time would grow with the square of the
    nesting before any limit could refuse; here the whole document stops at ``max_depth``.
    """
    envelope = BundleEnvelope(source, notes)
    builder: Any = None
    depth = 0
    with parse_errors(source):
        for event, value in ijson.basic_parse(TextStart(stream, source), use_float=True):
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
                yield envelope.upgrade([obj])[0]
    envelope.finish()


def read_bundle_file(
    path: Path, *, max_decompressed: int = MAX_DECOMPRESSED, notes: list[str] | None = None
) -> Iterator[dict[str, Any]]:
    with open_maybe_gzip(path, max_decompressed=max_decompressed) as f:
        yield from read_bundle(f, source=str(path), notes=notes)


def check_object_depth(obj: Any) -> None:
    check_depth(obj)


SMALL_FILE = 16 * 1024 * 1024


class _Kept:
    """A stream whose reads are kept while they add up to at most ``limit`` bytes: a refused
    small file is then read whole from what was read, its input expanded only once."""

    def __init__(self, read: Callable[[int], bytes], limit: int) -> None:
        self._read = read
        self._limit = limit
        self._parts: list[bytes] = []
        self.size = 0

    @property
    def past(self) -> bool:
        """Read past what is kept: the file is no longer small."""
        return self.size > self._limit

    def read(self, size: int = -1) -> bytes:
        chunk = self._read(size)
        self.size += len(chunk)
        if self.past:
            self._parts.clear()
        else:
            self._parts.append(chunk)
        return chunk

    def whole(self) -> bytes | None:
        """Everything, read on to the end; None once that is more than is kept."""
        while not self.past and self.read(CHUNK):
            pass
        return None if self.past else b"".join(self._parts)


def read_stix_file(
    path: Path, *, max_decompressed: int = MAX_DECOMPRESSED, notes: list[str] | None = None
) -> Iterator[dict[str, Any]]:
    """Objects of a bundle, a single STIX object, or a JSON list of objects.

    Every bundle is read by the stream reader, whatever its size and compression, so it is
    accepted or refused alike everywhere.  A small file (at most ``SMALL_FILE`` bytes, expanding
    to at most ``WHOLE_READ``) that the stream refuses is read whole, from the bytes already
    expanded, so that a lone object or a list is recognised; larger input must be a bundle.
    Gzip input is expanded once, a chunk ahead in a helper thread.  A STIX 2.0 bundle is
    upgraded to 2.1 as it is read, and ``notes`` says so.
    """
    if path.stat().st_size > SMALL_FILE:
        yield from read_bundle_file(path, max_decompressed=max_decompressed, notes=notes)
        return
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(unreadable(path, exc)) from None
    source = str(path)
    if raw[:2] != GZIP_MAGIC:
        plain = io.BytesIO(raw)
        yield from _small_file(_Kept(plain.read, len(raw)), source, ahead=False, notes=notes)
        return
    inflater = GzipInflater.of_bytes(raw, source=source, limit=max_decompressed)
    # The gzip trailer holds the last member's size modulo 4 GiB: a hint, never trusted for what
    # is read.  Past what would be held, the objects are not held (holding that many costs more
    # in garbage-collector passes than the helper thread saves) and the file must be a bundle,
    # as any file that large must.
    hint, held = int.from_bytes(raw[-4:], "little"), SMALL_FILE * 8
    del raw
    kept = _Kept(inflater.read, held if hint <= held else -1)
    yield from _small_file(kept, source, ahead=True, notes=notes)


def _small_file(
    kept: _Kept, source: str, *, ahead: bool, notes: list[str] | None
) -> Iterator[dict[str, Any]]:
    """A small file's objects: the bundle's held until it ends (a refusal yields nothing) or
    until it passes what a whole read holds, when the rest streams on as a large file does."""
    held: list[dict[str, Any]] = []
    refusal: InvalidInput | None = None
    objects = read_bundle(kept, source=source, ahead=ahead, notes=notes)  # type: ignore[arg-type]
    with closing(objects):
        try:
            for obj in objects:
                held.append(obj)
                if kept.past:
                    break
        except InvalidInput as exc:
            refusal = exc
        if refusal is None:
            yield from held
            held.clear()
            yield from objects
            return
    data = kept.whole()  # read on past the refusal: a damaged or oversized file says so
    if data is None:
        raise refusal
    yield from _whole(data, source, refusal)


def _whole(data: bytes, source: str, refusal: InvalidInput) -> list[dict[str, Any]]:
    """A lone STIX object or a list of objects, parsed whole; a bundle keeps the stream's refusal."""
    from colsec.jsonutil import loads

    try:
        value = loads(data, what=source)
    except InvalidInput:
        raise refusal from None  # the stream's message says where the text goes wrong
    if isinstance(value, list):
        objs = value
    elif (
        isinstance(value, dict)
        and value.get("type") != "bundle"
        and not str(value.get("id", "")).startswith("bundle--")
    ):
        if not isinstance(value.get("type"), str) or "id" not in value:
            raise InvalidInput(f"{source}: neither a STIX bundle, a STIX object nor a list of objects")
        objs = [value]
    else:
        raise refusal
    if not all(isinstance(obj, dict) for obj in objs):
        raise InvalidInput(f"{source}: bundle 'objects' must contain JSON objects")
    return objs
