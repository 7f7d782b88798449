"""Tail a growing telemetry file (or a pipe) as batches of complete lines.

Streaming mode alerts within a poll interval of a line being written, so the
follower hands over whatever complete lines are there at once (up to a batch
size) and keeps a partial last line until its newline arrives: a sensor that
writes half a record never yields half an event.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import IO

__all__ = ["follow_lines"]


def follow_lines(
    stream: IO[str],
    *,
    poll: float = 0.05,
    batch: int = 1000,
    stop_after: float | None = None,
    until_eof: bool = False,
) -> Iterator[list[str]]:
    """Batches of complete lines as they are appended (``tail -f``).

    An empty batch marks an idle poll, so callers can do periodic work (flush
    sightings) on a quiet stream. ``until_eof`` ends at the first end of input
    (a pipe); otherwise the file is followed until ``stop_after`` seconds.
    """
    partial = ""
    started = time.monotonic()
    while True:
        chunk = stream.readline()
        if chunk:
            lines: list[str] = []
            while chunk:
                chunk = partial + chunk
                partial = ""
                if not chunk.endswith("\n"):
                    partial = chunk
                    break
                lines.append(chunk)
                if len(lines) >= batch:
                    break
                chunk = stream.readline()
            yield lines
            continue
        if until_eof:
            if partial:  # a pipe's last record may lack its newline; it is complete all the same
                yield [partial]
            return
        if stop_after is not None and time.monotonic() - started > stop_after:
            return
        yield []
        time.sleep(poll)
