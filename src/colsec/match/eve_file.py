"""EVE JSON files through the vectorised matcher, chunk by chunk.

Reading is pipelined: the next chunks are parsed in a second thread (polars parses
without the GIL) while the current one is matched.  Row ``i`` of a chunk's frame is
always line ``i`` of the chunk, so alerts and malformed-line reports name physical lines.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import polars as pl

from colsec.gcpause import tick as gc_tick
from colsec.gcpause import young_gc_only
from colsec.match.engine import MatchEngine
from colsec.match.eve_columns import eve_schema
from colsec.match.vector import VectorResult, indexed_keys, match_eve_frame, needs_events
from colsec.pipeline import parsed_ahead

__all__ = ["EVE_SCHEMA", "match_eve_file"]


# Every EVE field the vectorised path can read; a run parses only those its indexes need.
EVE_SCHEMA: dict[str, Any] = eve_schema()


@dataclass
class ParsedChunk:
    frame: pl.DataFrame
    lines: ChunkLines | None  # the raw lines when ``frame`` holds only some fields
    physical_lines: int = 0


class ChunkLines:
    """Raw lines of a chunk by row number, sliced from the bytes only for the rows asked for.

    Row ``i`` is line ``i`` of the chunk (``_frame`` guarantees it), so the newline offsets are
    all that is needed; alerts take their records from here.
    """

    def __init__(self, chunk: bytes, newlines: np.ndarray) -> None:
        self.chunk = chunk
        self.ends = newlines

    def __call__(self, rows: list[int]) -> list[bytes]:
        at = np.asarray(rows, dtype=np.int64)
        ends, chunk = self.ends, self.chunk
        if not len(ends):
            return [chunk for _ in rows]  # one line, no newline
        last = len(ends) - 1
        stop = np.where(at <= last, ends[np.minimum(at, last)], len(chunk))  # a last line may lack "\n"
        start = np.where(at > 0, ends[np.clip(at - 1, 0, last)] + 1, 0)
        return [chunk[a:b] for a, b in zip(start.tolist(), stop.tolist(), strict=True)]


def _newlines(chunk: bytes) -> np.ndarray:
    """Offsets of every newline: numpy finds them faster than bytes.count counts them (measured),
    and polars' CSV reader, the other way to get at the lines, costs more beside the parse."""
    return np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10)


def _physical_lines(chunk: bytes, newlines: np.ndarray) -> int:
    return len(newlines) + (0 if chunk.endswith(b"\n") else 1)


Parsed = tuple[pl.DataFrame | None, np.ndarray]


def _read(chunk: bytes, schema: dict[str, Any] | None) -> pl.DataFrame | None:
    """polars' parse of a chunk, None if it refused one of its lines."""
    try:
        if schema is not None:
            return pl.read_ndjson(chunk, schema=schema)
        return pl.read_ndjson(chunk, infer_schema_length=10_000)
    except (pl.exceptions.ComputeError, pl.exceptions.PolarsError):
        return None


def _frame(
    chunk: bytes,
    malformed: list[int],
    first_line: int,
    *,
    schema: dict[str, Any] | None = None,
    parsed: Parsed | None = None,
) -> ParsedChunk:
    """Parse a chunk of EVE lines; on a bad line fall back to checking each line with orjson.

    Row ``i`` must be line ``first_line + i``: polars skips blank lines, so a chunk with any
    takes the line-by-line path too.  ``schema`` names the only fields to parse (else all) and keeps
    the raw lines beside them; ``parsed`` is the parse and the newline offsets if already made.
    """
    df, newlines = parsed if parsed is not None else (_read(chunk, schema), _newlines(chunk))
    expected = _physical_lines(chunk, newlines)
    if df is not None and len(df) == expected:
        return ParsedChunk(df, ChunkLines(chunk, newlines) if schema is not None else None, expected)
    # keep one row per line (a bad line becomes an empty record) so row numbers stay line numbers
    kept: list[bytes] = []
    physical = chunk.split(b"\n")  # not splitlines(): a lone CR must not count as a line end
    if chunk.endswith(b"\n"):
        physical.pop()
    for n, line in enumerate(physical):
        try:
            rec = orjson.loads(line) if line.strip() else None
        except orjson.JSONDecodeError:
            rec = None
        if not isinstance(rec, dict) or "timestamp" not in rec:
            if line.strip():
                malformed.append(first_line + n)
            kept.append(b"{}")
            continue
        kept.append(line)
    if not kept:
        return ParsedChunk(pl.DataFrame(), None, expected)
    frame = pl.read_ndjson(io.BytesIO(b"\n".join(kept)), infer_schema_length=10_000)
    return ParsedChunk(frame, None, expected)


def _chunks(path: str | Path, batch_bytes: int) -> Iterator[bytes]:
    """The file in pieces of about ``batch_bytes``, each ending at a line end.

    The first pieces are smaller (from 1/8 of ``batch_bytes``, doubling): nothing overlaps the
    parse of the first, so a small one lets matching start sooner.  So are the last (each at most
    half of what remains, down to that 1/8): nothing overlaps the matching of the last.
    """
    smallest = max(batch_bytes // 8, 1)
    size = smallest
    with open(path, "rb") as f:
        if not f.seekable():  # a pipe: read on, finishing each piece's last line
            while chunk := f.read(size):
                yield chunk + f.readline()
                size = min(size * 2, batch_bytes)
            return
        total = os.fstat(f.fileno()).st_size
        start = 0
        while True:
            size = min(size, max((total - start) // 2, smallest))
            # find where the piece's last line ends first, then read the piece in one call:
            # reading the bytes and the rest of the line apart and joining them copied every
            # piece twice (measured: the join cost as much as the read)
            f.seek(start + size)
            end = start + size + len(f.readline())
            f.seek(start)
            chunk = f.read(end - start)
            if not chunk:
                return
            yield chunk
            start += len(chunk)
            size = min(size * 2, batch_bytes)


def match_eve_file(
    engine: MatchEngine,
    path: str | Path,
    *,
    batch_bytes: int = 16 << 20,
    make_alerts: bool = True,
    on_batch: Callable[[int, int], None] | None = None,
    malformed: list[int] | None = None,
) -> VectorResult:
    """Match an EVE ndjson file chunk by chunk with polars; returns totals.

    The next two chunks are parsed in a second thread while this one is matched (polars
    parses without the GIL), so parsing and matching overlap on two cores, and a chunk
    that is slow to match (many hits) does not stall the parse; at most three chunks are
    held at once.  The parse is the longer half, so the parse thread
    does nothing else: line counting, checks and any line-by-line fallback happen here.
    Alerts pile up over the run, so only young generations are collected meanwhile (see
    ``colsec.gcpause``).  Malformed lines are skipped and their numbers appended to
    ``malformed``; they never stop the run.
    """
    total = VectorResult(0, 0, [])
    bad = malformed if malformed is not None else []
    pieces = _chunks(path, batch_bytes)

    # when some indicators need whole events, every field is parsed
    schema = None if needs_events(engine) else eve_schema(indexed_keys(engine))

    def parse(chunk: bytes) -> tuple[bytes, pl.DataFrame | None]:
        # Only the parse, the longer half of a run: measured, moving the column preparation
        # here made runs slower (both threads then queue for polars' thread pool), and moving
        # the newline scan out made them faster.  Measured again (1M events x 1M indicators,
        # per-thread CPU): the parse runs on polars' async executor, the matching's polars calls
        # on its rayon pool, and that pool's ~0.55 CPU-s a run is work, not spinning (one pool
        # thread costs the same); preparing and hashing here as the Zeek columns do moved
        # ~0.15 CPU-s off this thread and saved none in all; 64 MiB chunks saved none either.
        return chunk, _read(chunk, schema)

    line_no = 1
    with young_gc_only():
        for chunk, df in parsed_ahead(pieces, parse, name="eve-parse", depth=2):
            part = _frame(chunk, bad, line_no, schema=schema, parsed=(df, _newlines(chunk)))
            frame = part.frame
            if len(frame):
                res = match_eve_frame(
                    engine, frame, make_alerts=make_alerts, row_offset=line_no - 1, lines=part.lines
                )
                total.rows += res.rows
                total.hits += res.hits
                total.alerts.extend(res.alerts)
            line_no += part.physical_lines
            if on_batch is not None:
                on_batch(len(frame), len(chunk))
            gc_tick()
    return total
