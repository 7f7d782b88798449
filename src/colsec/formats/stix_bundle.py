"""Streaming STIX 2.1 bundle reader: objects are yielded one by one, never the whole file.

Accepts plain or gzip files; checks the envelope shape (a bundle with an
``objects`` array) and limits nesting depth per object.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import ijson

from colsec.errors import InvalidInput, TooLarge
from colsec.jsonutil import MAX_DEPTH, check_depth

__all__ = [
    "MAX_DECOMPRESSED",
    "CappedReader",
    "gunzip_upload",
    "open_maybe_gzip",
    "read_bundle",
    "read_bundle_file",
    "read_maybe_gzip",
    "read_stix_file",
    "unreadable",
]


def unreadable(source: object, exc: BaseException) -> str:
    """One line for a gzip file that is cut short or damaged (the common failed download)."""
    if isinstance(exc, EOFError):
        return f"{source}: the gzip file is truncated ({exc})"
    return f"{source}: cannot read input ({exc})"


def gunzip_upload(data: bytes, *, source: str, limit: int) -> bytes:
    """An uploaded ``.json.gz`` expanded (plain data is returned as is), never past ``limit`` bytes."""
    if data[:2] != b"\x1f\x8b":
        return data
    inflater = zlib.decompressobj(wbits=31)
    # Never inflate past what real data could expand to (see MAX_RATIO): a bomb stops there.
    ceiling = min(limit, max(RATIO_AFTER, MAX_RATIO * len(data)))
    try:
        out = inflater.decompress(data, ceiling + 1)
        if len(out) > limit:
            raise TooLarge(f"{source}: decompresses to more than {limit} bytes (max_decompressed_bytes)")
        if len(out) > ceiling:
            raise TooLarge(
                f"{source}: expands more than {MAX_RATIO} times its compressed size (a decompression bomb, not data)"
            )
        if not inflater.eof:
            raise EOFError("compressed data ends before the end-of-stream marker")
    except (EOFError, zlib.error) as exc:
        raise InvalidInput(unreadable(source, exc)) from None
    return out


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
    stream: IO[bytes], *, source: str = "input", max_depth: int = MAX_DEPTH
) -> Iterator[dict[str, Any]]:
    """Yield the objects of a bundle; raise InvalidInput naming the problem (and position).

    Prefix-less ijson events with our own depth counter: ``ijson.parse`` builds a dotted
    prefix per event, so memory and time grow with the square of the nesting before any
    limit could refuse; here the whole document stops at ``max_depth``, nothing built.
    """
    seen_type = None
    saw_objects = False
    builder: Any = None
    depth = 0
    key: str | None = None  # the current key of the bundle itself
    try:
        for event, value in ijson.basic_parse(stream, use_float=True):
            if event in ("start_map", "start_array"):
                depth += 1
                if depth > max_depth:
                    raise InvalidInput(f"{source}: JSON nested deeper than {max_depth} levels")
            elif event in ("end_map", "end_array"):
                depth -= 1
            if builder is not None:
                builder.event(event, value)
                if depth == 2:
                    obj = builder.value
                    builder = None
                    yield obj
                continue
            if (depth == 0 and event != "end_map") or (depth == 1 and event == "start_array"):
                raise InvalidInput(f"{source}: not a STIX bundle (top level is not a JSON object)")
            if depth == 0:
                continue  # the bundle's closing brace
            if depth == 1:  # the bundle's own keys and scalar values
                if event == "map_key":
                    key = value
                elif key == "type" and event == "string":
                    seen_type = value
                    if value != "bundle":
                        raise InvalidInput(f"{source}: not a STIX bundle (type is {value!r})")
                elif key == "id" and event == "string" and str(value).startswith("bundle--"):
                    seen_type = seen_type or "bundle"
                elif key == "spec_version" and event == "string" and value != "2.1":
                    raise InvalidInput(f"{source}: bundle spec_version {value!r} is not STIX 2.1")
            elif key != "objects":
                continue  # other members of the bundle are skipped (depth-checked all the same)
            elif depth == 2 and event == "start_array" and not saw_objects:
                saw_objects = True
            elif depth == 3 and event == "start_map" and saw_objects:
                builder = ijson.ObjectBuilder()
                builder.event(event, value)
            elif saw_objects:
                raise InvalidInput(f"{source}: bundle 'objects' must contain JSON objects")
    except ijson.common.IncompleteJSONError as exc:
        raise InvalidInput(f"{source}: invalid or truncated JSON ({str(exc).strip()[:200]})") from None
    except ijson.common.JSONError as exc:
        raise InvalidInput(f"{source}: invalid JSON ({str(exc).strip()[:200]})") from None
    except (EOFError, zlib.error) as exc:
        raise InvalidInput(unreadable(source, exc)) from None
    except (UnicodeDecodeError, OSError) as exc:
        raise InvalidInput(f"{source}: cannot read input ({exc})") from None
    if seen_type is None:
        # Some published bundles omit "type"; a "bundle--" id is accepted instead.
        raise InvalidInput(f"{source}: not a STIX bundle (neither 'type': 'bundle' nor a bundle id)")
    if not saw_objects:
        return


def read_bundle_file(path: Path, *, max_decompressed: int = MAX_DECOMPRESSED) -> Iterator[dict[str, Any]]:
    with open_maybe_gzip(path, max_decompressed=max_decompressed) as f:
        yield from read_bundle(f, source=str(path))


def check_object_depth(obj: Any) -> None:
    check_depth(obj)


SMALL_FILE = 16 * 1024 * 1024


def read_stix_file(path: Path, *, max_decompressed: int = MAX_DECOMPRESSED) -> Iterator[dict[str, Any]]:
    """Objects of a bundle, a single STIX object, or a JSON list of objects.

    Small files are parsed whole (so a lone object or a list is recognised);
    large ones must be bundles and are streamed.
    """
    from colsec.jsonutil import loads

    if path.stat().st_size > SMALL_FILE:
        yield from read_bundle_file(path, max_decompressed=max_decompressed)
        return
    data = _read_upto(path, SMALL_FILE * 8 + 1, max_decompressed=max_decompressed)
    if len(data) > SMALL_FILE * 8:
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
