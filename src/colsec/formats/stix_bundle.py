"""Streaming STIX 2.1 bundle reader: objects are yielded one by one, never the whole file.

Accepts plain or gzip files; checks the envelope shape (a bundle with an
``objects`` array) and limits nesting depth per object.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import ijson

from colsec.errors import InvalidInput, TooLarge
from colsec.jsonutil import MAX_DEPTH, check_depth

__all__ = [
    "MAX_EXPANDED",
    "gunzip_upload",
    "open_maybe_gzip",
    "read_bundle",
    "read_bundle_file",
    "read_stix_file",
    "unreadable",
]


def unreadable(source: object, exc: BaseException) -> str:
    """One line for a gzip file that is cut short or damaged (the common failed download)."""
    if isinstance(exc, EOFError):
        return f"{source}: the gzip file is truncated ({exc})"
    return f"{source}: cannot read the file ({exc})"


MAX_EXPANDED = 8 * 16 * 1024 * 1024  # what read_stix_file reads of a gzip file whole


def gunzip_upload(data: bytes, *, source: str, limit: int = MAX_EXPANDED) -> bytes:
    """An uploaded ``.json.gz`` expanded (plain data is returned as is), never past ``limit`` bytes."""
    if data[:2] != b"\x1f\x8b":
        return data
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(data, limit + 1)
        if len(out) > limit:
            raise TooLarge(f"{source}: expands to more than {limit:,} bytes")
        if not inflater.eof:
            raise EOFError("compressed data ends before the end-of-stream marker")
    except (EOFError, zlib.error) as exc:
        raise InvalidInput(unreadable(source, exc)) from None
    return out


def open_maybe_gzip(path: Path) -> IO[bytes]:
    f = path.open("rb")
    magic = f.read(2)
    f.seek(0)
    if magic == b"\x1f\x8b":
        f.close()
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return f


def read_bundle(
    stream: IO[bytes], *, source: str = "input", max_depth: int = MAX_DEPTH
) -> Iterator[dict[str, Any]]:
    """Yield the objects of a bundle; raise InvalidInput naming the problem (and position)."""
    seen_type = None
    saw_objects = False
    try:
        parser = ijson.parse(stream, use_float=True)
        builder: Any = None
        depth = 0
        for prefix, event, value in parser:
            if builder is not None:
                builder.event(event, value)
                if event in ("start_map", "start_array"):
                    depth += 1
                    if depth > max_depth:
                        raise InvalidInput(f"{source}: JSON nested deeper than {max_depth} levels")
                elif event in ("end_map", "end_array"):
                    depth -= 1
                    if depth == 0:
                        obj = builder.value
                        builder = None
                        if not isinstance(obj, dict):
                            raise InvalidInput(f"{source}: bundle 'objects' must contain JSON objects")
                        yield obj
                continue
            if prefix == "" and event not in ("start_map", "end_map", "map_key"):
                raise InvalidInput(f"{source}: not a STIX bundle (top level is not a JSON object)")
            if prefix == "type" and event == "string":
                seen_type = value
                if value != "bundle":
                    raise InvalidInput(f"{source}: not a STIX bundle (type is {value!r})")
            elif (
                prefix == "id"
                and event == "string"
                and isinstance(value, str)
                and value.startswith("bundle--")
            ):
                seen_type = seen_type or "bundle"
            elif prefix == "objects" and event == "start_array":
                saw_objects = True
            elif prefix == "objects.item":
                if event == "start_map":
                    builder = ijson.ObjectBuilder()
                    builder.event(event, value)
                    depth = 1
                else:
                    raise InvalidInput(f"{source}: bundle 'objects' must contain JSON objects")
            elif prefix == "spec_version" and event == "string" and value not in ("2.1",):
                raise InvalidInput(f"{source}: bundle spec_version {value!r} is not STIX 2.1")
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


def read_bundle_file(path: Path) -> Iterator[dict[str, Any]]:
    with open_maybe_gzip(path) as f:
        yield from read_bundle(f, source=str(path))


def check_object_depth(obj: Any) -> None:
    check_depth(obj)


SMALL_FILE = 16 * 1024 * 1024


def read_stix_file(path: Path) -> Iterator[dict[str, Any]]:
    """Objects of a bundle, a single STIX object, or a JSON list of objects.

    Small files are parsed whole (so a lone object or a list is recognised);
    large ones must be bundles and are streamed.
    """
    from colsec.jsonutil import loads

    if path.stat().st_size > SMALL_FILE:
        yield from read_bundle_file(path)
        return
    try:
        with open_maybe_gzip(path) as f:
            data = f.read(SMALL_FILE * 8 + 1)
    except (EOFError, OSError, zlib.error) as exc:  # click would print a bare "Aborted." for EOFError
        raise InvalidInput(unreadable(path, exc)) from None
    if len(data) > SMALL_FILE * 8:
        yield from read_bundle_file(path)
        return
    try:
        value = loads(data, what=str(path))
    except InvalidInput:
        # Re-read with the streaming parser: it reports the position of the problem.
        yield from read_bundle_file(path)
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
