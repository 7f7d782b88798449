"""Tail a growing telemetry file (or a pipe) as batches of complete lines.

Streaming mode must alert within a poll interval of a line being written, so
the follower reads whatever bytes are available from the descriptor (never
waiting for a batch to fill: on a pipe, a blocking ``readline`` loop would hold
a line back until the next one arrives) and keeps a partial last line until
its newline comes: a sensor that has written half a record never yields half
an event. A "line" that grows past ``max_line`` without a newline is handed on
cut short, for the decoder to count as malformed, and the rest of it skipped:
hostile input costs one malformed line, never memory or the stream.
"""

from __future__ import annotations

import os
import select
import time
from collections.abc import Iterator
from typing import IO, Any

__all__ = ["follow_lines"]

_READ = 1 << 20


def follow_lines(
    stream: IO[Any],
    *,
    poll: float = 0.05,
    batch: int = 1000,
    stop_after: float | None = None,
    until_eof: bool = False,
    max_line: int = 1 << 20,
) -> Iterator[list[str]]:
    """Batches of complete lines (newline kept) as they are appended, like ``tail -f``.

    An empty batch marks an idle poll, so callers can do periodic work (flush
    sightings) on a quiet stream. ``until_eof`` ends at the end of input (a pipe
    whose writer closed); otherwise a file is followed until ``stop_after``
    seconds. Bytes are decoded as UTF-8, invalid sequences replaced.
    """
    fd = stream.fileno()
    partial = b""
    skipping = False  # inside an over-long line: drop bytes up to its newline
    started = time.monotonic()
    while True:
        # a regular file is always "readable" (read answers b"" at its end); a pipe waits here
        data = os.read(fd, _READ) if select.select([fd], [], [], poll)[0] else None
        if data:
            if skipping:
                cut = data.find(b"\n")
                if cut < 0:
                    continue
                data, skipping = data[cut + 1 :], False
            parts = (partial + data).split(b"\n")
            partial = parts.pop()
            if len(partial) > max_line:
                parts.append(partial[: max_line + 1])
                partial, skipping = b"", True
            for i in range(0, len(parts), batch):
                yield [p.decode("utf-8", "replace") + "\n" for p in parts[i : i + batch]]
            continue
        if data == b"" and until_eof:
            if partial:  # a pipe's last record may lack its newline; it is complete all the same
                yield [partial.decode("utf-8", "replace")]
            return
        if stop_after is not None and time.monotonic() - started > stop_after:
            return
        yield []
        if data == b"":
            time.sleep(poll)
