"""Tail a growing telemetry file (or a pipe) as batches of complete lines.

Streaming mode must alert within a poll interval of a line being written, so
the follower reads whatever bytes are available from the descriptor (never
waiting for a batch to fill: on a pipe, a blocking ``readline`` loop would hold
a line back until the next one arrives) and keeps a partial last line until
its newline comes: a sensor that has written half a record never yields half
an event. A "line" that grows past ``max_line`` without a newline is handed on
cut short, for the decoder to count as malformed, and the rest of it skipped:
hostile input costs one malformed line, never memory or the stream.

Given the file's ``path``, the follower survives log rotation as ``tail -F``
does: when the name points at a new file (rename and recreate) it finishes
the old one and continues with the new from its start; when the file shrinks
(``copytruncate``) it starts again from the top.
"""

from __future__ import annotations

import os
import select
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["POLL_SECONDS", "follow_lines"]

#: How often a quiet file is looked at again: 50 wake-ups a second cost nothing measurable, and
#: a line waits 10 ms on average (a pipe wakes the reader at once).
POLL_SECONDS = 0.02

_READ = 1 << 20


def follow_lines(
    stream: IO[Any],
    *,
    poll: float = POLL_SECONDS,
    batch: int = 1000,
    stop_after: float | None = None,
    until_eof: bool = False,
    max_line: int = 1 << 20,
    path: str | Path | None = None,
) -> Iterator[list[str]]:
    """Batches of complete lines (newline kept) as they are appended, like ``tail -F``.

    An empty batch marks an idle poll, so callers can do periodic work (flush
    sightings) on a quiet stream. ``until_eof`` ends at the end of input (a pipe
    whose writer closed); otherwise a file is followed until ``stop_after``
    seconds, across rotations when its ``path`` is given. Bytes are decoded as
    UTF-8, invalid sequences replaced.
    """
    fd = stream.fileno()
    reopened: IO[bytes] | None = None  # a rotated-in file is ours to close
    partial = b""
    skipping = False  # inside an over-long line: drop bytes up to its newline
    started = time.monotonic()
    try:
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
            if data == b"" and path is not None:
                turn = _rotation(fd, path)
                if turn == "truncated":
                    os.lseek(fd, 0, os.SEEK_SET)
                    partial, skipping = b"", False
                    continue
                if turn == "replaced":
                    if partial:  # the old file's last record, complete without its newline
                        yield [partial.decode("utf-8", "replace")]
                    partial, skipping = b"", False
                    fresh = open(path, "rb")  # noqa: SIM115  (closed below or on the next turn)
                    if reopened is not None:
                        reopened.close()
                    reopened, fd = fresh, fresh.fileno()
                    continue
            if stop_after is not None and time.monotonic() - started > stop_after:
                return
            yield []
            if data == b"":
                time.sleep(poll)
    finally:
        if reopened is not None:
            reopened.close()


def _rotation(fd: int, path: str | Path) -> str | None:
    """``"replaced"`` when the name now points at another file, ``"truncated"`` when ours shrank."""
    try:
        named = os.stat(path)
    except OSError:  # renamed away and not recreated yet: keep the old file
        return None
    ours = os.fstat(fd)
    if (named.st_ino, named.st_dev) != (ours.st_ino, ours.st_dev):
        return "replaced"
    if os.lseek(fd, 0, os.SEEK_CUR) > ours.st_size:
        return "truncated"
    return None
