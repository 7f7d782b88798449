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

On Linux a quiet regular file is waited on with inotify: a write wakes the
follower at once (a line reaches the engine in well under a millisecond, where a
20 ms poll made it wait 10 ms on average), and the follower also wakes when the
name is moved, recreated or truncated.  The poll interval stays as the longest
wait, so a missed event (NFS, a full inotify queue) costs one interval, and
where inotify is missing (other platforms, a container without it, the watch
limit reached) the follower polls as before.
"""

from __future__ import annotations

import ctypes
import os
import select
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["POLL_SECONDS", "FileEvents", "follow_lines"]

#: How often a quiet file is looked at again without file events (or as their safety net): 50
#: wake-ups a second cost nothing measurable, and a polled line waits 10 ms on average.
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
    file_events: bool = True,
) -> Iterator[list[str]]:
    """Batches of complete lines (newline kept) as they are appended, like ``tail -F``.

    An empty batch marks an idle poll, so callers can do periodic work (flush
    sightings) on a quiet stream. ``until_eof`` ends at the end of input (a pipe
    whose writer closed); otherwise a file is followed until ``stop_after``
    seconds, across rotations when its ``path`` is given. Bytes are decoded as
    UTF-8, invalid sequences replaced.  ``file_events=False`` polls even where inotify
    works (the benchmark's baseline).
    """
    fd = stream.fileno()
    reopened: IO[bytes] | None = None  # a rotated-in file is ours to close
    partial = b""
    skipping = False  # inside an over-long line: drop bytes up to its newline
    started = time.monotonic()
    events = FileEvents.open(fd, path) if file_events and stat.S_ISREG(os.fstat(fd).st_mode) else None
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
                    if events is not None:
                        events.watch_file(fd)
                    continue
            if stop_after is not None and time.monotonic() - started > stop_after:
                return
            yield []
            if data == b"":
                if events is not None:
                    events.wait(poll)
                else:
                    time.sleep(poll)
    finally:
        if events is not None:
            events.close()
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


# inotify(7): constants from <sys/inotify.h>, stable Linux ABI.
_IN_MODIFY = 0x002
_IN_ATTRIB = 0x004  # truncation by some tools, link count of a deleted file
_IN_CLOSE_WRITE = 0x008
_IN_MOVED_TO = 0x080
_IN_CREATE = 0x100
_IN_DELETE_SELF = 0x400
_IN_MOVE_SELF = 0x800
_IN_NONBLOCK = 0o4000
_IN_CLOEXEC = 0o2000000
_FILE_MASK = _IN_MODIFY | _IN_ATTRIB | _IN_CLOSE_WRITE | _IN_DELETE_SELF | _IN_MOVE_SELF
_DIR_MASK = _IN_CREATE | _IN_MOVED_TO  # the followed name recreated or moved back into place


def _libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # the process's own libc: no library search
        return libc if hasattr(libc, "inotify_init1") and hasattr(libc, "inotify_add_watch") else None
    except OSError:
        return None


class FileEvents:
    """An inotify descriptor watching the followed file and its directory; any event is a wake-up.

    Events are only hints: the follower re-reads and re-checks rotation itself, so
    coalesced or dropped events cost latency (one poll interval), never lines.
    """

    def __init__(self, ifd: int, lib: Any) -> None:
        self._ifd = ifd
        self._lib = lib
        self._file_wd = -1

    @classmethod
    def open(cls, fd: int, path: str | Path | None) -> FileEvents | None:
        """Watch the file open on ``fd`` (and the directory of ``path``); None where inotify is unavailable."""
        lib = _libc()
        if lib is None:
            return None
        ifd = lib.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if ifd < 0:  # no inotify in this kernel or container, or the instance limit is reached
            return None
        events = cls(ifd, lib)
        if not events.watch_file(fd):
            events.close()
            return None
        if path is not None:
            events._add(os.path.dirname(os.path.abspath(path)), _DIR_MASK)
        return events

    def watch_file(self, fd: int) -> bool:
        """Watch the file now open on ``fd`` (after a rotation: the new file) instead of the old one."""
        if self._file_wd >= 0:
            self._lib.inotify_rm_watch(self._ifd, self._file_wd)
        # /proc/self/fd/N names the open file itself, even after its name moved on
        self._file_wd = self._add(f"/proc/self/fd/{fd}", _FILE_MASK)
        return self._file_wd >= 0

    def _add(self, target: str, mask: int) -> int:
        return int(self._lib.inotify_add_watch(self._ifd, os.fsencode(target), mask))

    def wait(self, timeout: float) -> None:
        """Return at the next event on the file or its directory, or after ``timeout`` seconds."""
        if select.select([self._ifd], [], [], timeout)[0]:
            try:
                while os.read(self._ifd, 65536):  # drain: one wake-up per burst of writes
                    pass
            except BlockingIOError:
                pass

    def close(self) -> None:
        if self._ifd >= 0:
            os.close(self._ifd)
            self._ifd = -1
