"""A chunk of a file as lines: what the splitters read and the reader re-reads."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, TypeVar, cast

import numpy as np
import polars as pl

from colsec.match.readers.formats import MAX_LINE
from colsec.pipeline import parsed_ahead

T = TypeVar("T")
R = TypeVar("R")

#: field -> its values row by row (a Series, null where absent), or sparse: (rows, values)
Columns = dict[str, "pl.Series | tuple[np.ndarray, pl.Series]"]


class Refused(Exception):
    """polars could not read a chunk as the format: the chunk takes the event path."""


class Lines:
    """A chunk's physical lines, each decoded only when asked for (the reader reads the few
    rows the columns propose); ``series`` gives them all as one polars column."""

    def __init__(self, chunk: bytes) -> None:
        self.chunk = chunk
        self.ends = _byte_positions(chunk, 10)
        self.n = len(self.ends) + (0 if chunk.endswith(b"\n") or not chunk else 1)
        self._heads: np.ndarray | None = None

    def __len__(self) -> int:
        return self.n

    def _one(self, i: int) -> str:
        start = int(self.ends[i - 1]) + 1 if i > 0 else 0
        stop = int(self.ends[i]) if i < len(self.ends) else len(self.chunk)
        return self.chunk[start:stop].decode("utf-8", errors="replace")

    def __getitem__(self, i: int) -> str:
        return self._one(i)

    def pick(self, rows: np.ndarray) -> tuple[list[int], list[str]]:
        """Rows (sorted, each once) and their lines: the bounds gathered in numpy, not looked
        up line by line (a chunk's hit rows are thousands), and only theirs (bounds made for
        every line cost three times the slicing, measured)."""
        if not len(rows):
            return [], []
        ends, chunk = self.ends, self.chunk
        if not len(ends):  # one line without its end
            return rows.tolist(), [chunk.decode("utf-8", errors="replace")] * len(rows)
        last = len(ends) - 1
        starts = np.where(rows > 0, ends[np.clip(rows - 1, 0, last)] + 1, 0)
        # a last line may lack its end: it stops at the chunk's
        stops = np.where(rows <= last, ends[np.minimum(rows, last)], len(chunk))
        texts = [
            chunk[a:b].decode("utf-8", errors="replace")
            for a, b in zip(starts.tolist(), stops.tolist(), strict=True)
        ]
        return rows.tolist(), texts

    def offset(self, i: int) -> int:
        """Where line ``i`` starts (the chunk's length for the line after the last)."""
        return int(self.ends[i - 1]) + 1 if i > 0 else 0

    def heads(self, start: int = 0) -> np.ndarray:
        """The first byte of each line from ``start`` (10 for a blank line): one gather, where
        searching the chunk for "\\n#" cost as much as reading it; made once (a Zeek TSV chunk
        asks three times: its header test, its footer test and its record count)."""
        if self._heads is None:
            starts = np.r_[0, self.ends + 1][: self.n]
            self._heads = np.frombuffer(self.chunk, dtype=np.uint8)[starts]
        heads: np.ndarray = self._heads[start:]
        return heads

    def records(self, start: int = 0, *, comments: bool = False) -> int:
        """How many lines from ``start`` a reader reads as records, an event or a malformed line:
        not blank (``decode_line``'s test: only whitespace, and not too long), nor, with
        ``comments``, a "#" line (Zeek TSV's header and footer). Only the lines that start with
        whitespace, a control or a non-ASCII byte are decoded to tell."""
        heads = self.heads(start)
        n = len(heads)
        if comments:
            n -= int(np.count_nonzero(heads == ord("#")))
        for i in np.flatnonzero((heads <= 32) | (heads >= 128)).tolist():
            text = self._one(start + i)
            if not text.strip() and len(text) < MAX_LINE:
                n -= 1
        return n

    def slice(self, start: int, stop: int | None = None) -> list[str]:
        return [self._one(i) for i in range(start, min(self.n, self.n if stop is None else stop))]

    def series(self) -> pl.Series:
        """Every line as a string (null when blank; a line end's CR may be dropped): polars'
        CSV reader with a separator the chunk lacks cuts lines several times faster than a
        split of the decoded text, which stays as the fallback."""
        if b"\x00" not in self.chunk:
            try:
                frame = pl.read_csv(
                    self.chunk,
                    has_header=False,
                    separator="\x00",
                    quote_char=None,
                    infer_schema=False,
                    new_columns=["l"],
                    encoding="utf8-lossy",
                )
            except (pl.exceptions.PolarsError, ValueError):
                frame = None
            if frame is not None and frame.width == 1 and len(frame) == self.n:
                return frame["l"]
        text = self.chunk.decode("utf-8", errors="replace")
        lines = pl.Series("l", [text], dtype=pl.String).str.split("\n").explode()
        return lines.head(self.n)


#: bytes numpy compares in one go: a block stays in the cache between the compare and the
#: count (a whole chunk's mask made twice the memory traffic, a third of the time)
_BLOCK = 1 << 18


def _byte_positions(chunk: bytes, byte: int) -> np.ndarray:
    """Where ``byte`` occurs in ``chunk``, block by block."""
    data = np.frombuffer(chunk, dtype=np.uint8)
    if len(data) <= _BLOCK:
        return np.flatnonzero(data == byte)
    return np.concatenate(
        [np.flatnonzero(data[i : i + _BLOCK] == byte) + i for i in range(0, len(data), _BLOCK)]
    )


def unspaced(chunk: bytes, start: int, sep: bytes | None) -> bool:
    """Whether no field of a delimited chunk (from offset ``start``) can hold whitespace: ASCII,
    and no whitespace byte but the line ends and ``sep`` (an unquoted separator, never inside a
    field). One count in numpy of the bytes below "!" or above ASCII, against the line ends and
    separators among them (any other control byte counts as whitespace: the strippings stay)."""
    data = np.frombuffer(chunk, dtype=np.uint8)[start:]
    low_sep = sep[0] if sep is not None and len(sep) == 1 and sep[0] < 33 else None
    for i in range(0, len(data), _BLOCK):
        block = data[i : i + _BLOCK]
        other = np.count_nonzero((block - np.uint8(33)) >= 95)  # < 33 or >= 128, wrapping
        if other:
            other -= np.count_nonzero(block == 10)
            if other and low_sep is not None:
                other -= np.count_nonzero(block == low_sep)
            if other:
                return False
    return True


def open_file(path: Path) -> BinaryIO:
    if path.suffix == ".gz":
        return cast(BinaryIO, gzip.open(path, "rb"))
    return open(path, "rb")  # noqa: SIM115


def chunks(f: BinaryIO, batch_bytes: int) -> Iterator[bytes]:
    size = max(batch_bytes // 8, 1 << 16)
    while True:
        chunk = f.read(size)
        if not chunk:
            return
        rest = f.readline()
        yield chunk + rest if rest else chunk
        size = min(size * 2, batch_bytes)


def parsed_after_first(items: Iterable[T], first: Callable[[T], R], parse: Callable[[T], R]) -> Iterator[R]:
    """``first`` of the first item, in the caller's turn (it reads a header the others' parse
    needs before asking for more), then ``parsed_ahead`` of the others."""
    rest = iter(items)
    for item in rest:
        yield first(item)
        break
    yield from parsed_ahead(rest, parse)
