"""Gzip input, capped: one inflater for a file streamed and for bytes held in memory.

Both read the compressed input in the same fixed pieces and expand it in the same fixed
steps, whatever their caller asks for, so the size cap (``max_decompressed_bytes``) and the
expansion ratio that gives a bomb away refuse exactly the same inputs, with the same
messages, on every path (a file read whole or streamed, an upload, a request body).
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from colsec.errors import ColsecError, InvalidInput, TooLarge
from colsec.formats.bundle_stream import unreadable

__all__ = [
    "GZIP_MAGIC",
    "MAX_DECOMPRESSED",
    "MAX_RATIO",
    "RATIO_AFTER",
    "CappedReader",
    "GzipInflater",
    "gunzip_upload",
    "gunzip_whole",
    "open_maybe_gzip",
]

GZIP_MAGIC = b"\x1f\x8b"
MAX_DECOMPRESSED = 2 * 1024 * 1024 * 1024
# Real intelligence and logs expand 5-20 times (ATT&CK 5x, Sysmon NDJSON 18x); deflate's ceiling is
# about 1,030x, which only a bomb reaches.  Past the first megabytes, a stream that has expanded
# more than this is refused at once instead of after gigabytes.
MAX_RATIO = 200
RATIO_AFTER = 32 * 1024 * 1024
IN_STEP = 1 << 18  # compressed bytes read at a time
OUT_STEP = 1 << 20  # the most expanded in one step; the caps are checked after each


class GzipInflater:
    """Gzip input expanded step by step, never past ``limit`` bytes nor, past ``RATIO_AFTER``,
    more than ``MAX_RATIO`` times the compressed bytes taken so far (TooLarge).  Concatenated
    members are read as ``gzip.open`` reads them, zero padding after the last one included;
    a damaged or truncated stream is an InvalidInput naming the problem."""

    def __init__(self, read: Callable[[int], bytes], *, source: str, limit: int) -> None:
        self._read_in = read
        self._source = source
        self._limit = limit
        self._inflater: Any = None
        self._input = b""  # compressed bytes read and not yet taken by zlib
        self._ended = False  # the compressed input is all read
        self._taken = 0  # compressed bytes zlib has taken
        self._buf = b""
        self._at = 0
        self._failed: ColsecError | None = None  # raised again by any later read
        self.expanded = 0

    @classmethod
    def of_bytes(cls, data: bytes, *, source: str, limit: int) -> GzipInflater:
        return cls(io.BytesIO(data).read, source=source, limit=limit)

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` expanded bytes (all the rest when negative); empty at the end."""
        if self._failed is not None:
            raise self._failed
        try:
            if size is None or size < 0:
                parts = [self._buf[self._at :]]
                self._buf, self._at = b"", 0
                while step := self._step():
                    parts.append(step)
                return b"".join(parts)
            if self._at >= len(self._buf):
                self._buf, self._at = self._step(), 0
            out = self._buf[self._at : self._at + size]
            self._at += len(out)
            return out
        except (EOFError, zlib.error) as exc:
            self._failed = InvalidInput(unreadable(self._source, exc))
        except TooLarge as exc:
            self._failed = exc
        raise self._failed

    def _fill(self) -> None:
        piece = self._read_in(IN_STEP)
        if piece:
            self._input += piece
        else:
            self._ended = True

    def _step(self) -> bytes:
        """The next ``OUT_STEP`` expanded bytes (fewer only at the end); empty at the end."""
        parts: list[bytes] = []
        got = 0
        while got < OUT_STEP:
            if self._inflater is None and not self._start():
                break
            if not self._input and not self._ended:
                self._fill()
            given = self._input
            out = self._inflater.decompress(given, min(OUT_STEP - got, self._limit - self.expanded + 1))
            rest = self._inflater.unused_data if self._inflater.eof else self._inflater.unconsumed_tail
            self._taken += len(given) - len(rest)
            self._input = rest
            self.expanded += len(out)
            self._check()
            if self._inflater.eof:
                self._inflater = None
            elif not out and not self._input and self._ended:
                raise EOFError("compressed data ends before the end-of-stream marker")
            if out:
                parts.append(out)
                got += len(out)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _start(self) -> bool:
        """A member begins here (True), or the input ends (False), zero padding skipped."""
        while True:
            self._input = self._input.lstrip(b"\x00")
            if len(self._input) >= 2 or self._ended:
                break
            self._fill()
        if not self._input:
            return False
        if self._input[:2] != GZIP_MAGIC:
            raise zlib.error("trailing data after the gzip stream is not gzip")
        self._inflater = zlib.decompressobj(wbits=31)
        return True

    def _check(self) -> None:
        if self.expanded > self._limit:
            raise TooLarge(
                f"{self._source}: decompresses to more than {self._limit} bytes (max_decompressed_bytes)"
            )
        if self.expanded > RATIO_AFTER and self.expanded > MAX_RATIO * self._taken:
            raise TooLarge(
                f"{self._source}: expands more than {MAX_RATIO} times its compressed size "
                "(a decompression bomb, not data)"
            )


def gunzip_upload(data: bytes, *, source: str, limit: int) -> bytes:
    """An uploaded ``.json.gz`` expanded (plain data is returned as is), never past ``limit`` bytes."""
    if data[:2] != GZIP_MAGIC:
        return data
    return gunzip_whole(data, source=source, limit=limit)


def gunzip_whole(data: bytes, *, source: str, limit: int) -> bytes:
    """Gzip data expanded whole, under the caps of every other path (``GzipInflater``)."""
    return GzipInflater.of_bytes(data, source=source, limit=limit).read(-1)


class CappedReader(io.RawIOBase):
    """A gzip file as a binary stream through ``GzipInflater``: the caps hold while streaming,
    never after the fact."""

    def __init__(self, fileobj: IO[bytes], *, limit: int, source: str) -> None:
        super().__init__()
        self.fileobj = fileobj  # the compressed file, for progress
        self._inflater = GzipInflater(fileobj.read, source=source, limit=limit)

    def readable(self) -> bool:
        return True

    @property
    def expanded(self) -> int:
        """Decompressed bytes expanded so far."""
        return self._inflater.expanded

    def read(self, size: int | None = -1) -> bytes:
        return self._inflater.read(size)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.fileobj.close()
        super().close()


def open_maybe_gzip(path: Path, *, max_decompressed: int = MAX_DECOMPRESSED) -> IO[bytes]:
    f = path.open("rb")
    magic = f.read(2)
    f.seek(0)
    if magic == GZIP_MAGIC:
        return CappedReader(f, limit=max_decompressed, source=str(path))  # type: ignore[return-value]
    return f
