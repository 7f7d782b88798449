"""The one way code outside the job runner may use a second thread: a pipeline inside one call.

Background work goes through the durable job table (``colsec.jobs``): a thread that outlives its
call would die with the process and lose its work.  A pipeline is different: it overlaps two
halves of one call (a parse with the matching of the chunk before; a batch's inserts with the
decisions on the next; a gzip chunk's inflating with the parse of the one before), on the two
cores that C code releasing the GIL makes available, and it is joined before the call returns,
so nothing is left running and no work can be lost.  Keeping
both forms here lets the thread scan in ``tests/jobs/test_no_stray_threads.py`` allow this one
module instead of every caller.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import repeat
from typing import Any, TypeVar

__all__ = ["Helper", "parsed_ahead", "read_ahead"]

T = TypeVar("T")
R = TypeVar("R")


def parsed_ahead(
    items: Iterable[T], parse: Callable[[T], R], *, name: str = "colsec-parse", depth: int = 1
) -> Generator[R, None, None]:
    """``parse`` of each item in order, the next ``depth`` ones' running in a second thread while
    the caller works on this one (polars, numpy and the database drivers work without the GIL).

    A depth above one lets the parse run on while the caller is slower than it on some item,
    at the cost of holding that many more parsed items.  The thread stops when the iterator is
    exhausted or closed, so a caller that stops early (an error, a ``break``) waits for at
    most the parse running and leaves nothing running."""
    with ThreadPoolExecutor(1, thread_name_prefix=name) as pool:
        pending: deque[Future[R]] = deque()
        try:
            for item in items:
                pending.append(pool.submit(parse, item))
                if len(pending) > depth:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:  # a caller stopping early: no parse nobody will read
                future.cancel()


def read_ahead(
    read: Callable[[int], bytes], size: int, *, name: str = "colsec-read"
) -> Generator[bytes, None, None]:
    """``read(size)`` until it returns nothing, the next read running in a second thread while
    the caller works on this chunk (zlib inflates without the GIL, so a gzip stream's
    decompression leaves the caller's thread).  A read's error is raised where that chunk
    would have been read; closing the iterator waits for the read running and starts no other,
    so the caller may close the stream right after."""
    chunks = parsed_ahead(repeat(size), read, name=name)
    try:
        for chunk in chunks:
            if not chunk:
                return
            yield chunk
    finally:
        chunks.close()


#: How soon a thread waiting for the GIL gets it while a helper runs (CPython's default: 5 ms).
HANDOFF_SECONDS = 0.0005


class _Handoff:
    """The interpreter's switch interval, shortened while any helper thread lives.

    A helper's job takes the GIL for a moment between driver calls that release it (binding a
    statement's parameters, a result), while the caller's thread runs Python without pause: at
    the default interval each of those moments waited up to 5 ms, and a million-indicator import
    left its writer idle for seconds (the writer is its slower half).  The interval is process
    wide, so concurrent helpers share one count and the last to stop restores what was set."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._saved = 0.0

    def enter(self) -> None:
        with self._lock:
            if self._users == 0:
                self._saved = sys.getswitchinterval()
                sys.setswitchinterval(min(self._saved, HANDOFF_SECONDS))
            self._users += 1

    def exit(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                sys.setswitchinterval(self._saved)


_HANDOFF = _Handoff()


class Helper:
    """One helper thread for ordered jobs of one call; ``shutdown`` joins it (callers do so in a
    ``finally``).  Started on the first job, so a call with nothing to overlap starts no thread.
    While it lives, the GIL changes hands sooner (``_Handoff``)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._pool: ThreadPoolExecutor | None = None

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
            _HANDOFF.enter()
        return self._pool.submit(fn, *args)

    def shutdown(self) -> None:
        if self._pool is not None:
            try:
                self._pool.shutdown(wait=True)
            finally:
                self._pool = None
                _HANDOFF.exit()
