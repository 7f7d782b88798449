"""One writer thread for the driver-level inserts of an import, so the database works on one
batch while this thread parses, validates and decides the next.

SQLite's and psycopg's C code release the GIL while the database works (a multi-row INSERT, a
COPY), so a batch's rows going in on the writer thread overlap the Python work of the next: the
import stays one transaction, with one owner at a time.  The rules:

- a job only executes statements on a driver cursor with rows the main thread already decided,
  or reads what the main thread will need next (``colsec.store.gate.any_held`` of a full batch);
- the main thread calls ``drain`` before it touches the session or the connection itself (the
  gate's lookups, the rows beside a version, the audit), and ``drain`` then runs, on the main
  thread and in order, the session work each job left for after it (``later``);
- ``close`` waits for every job whatever happened, so a caller that rolls back after an error
  never races a statement still running.

The last batch of an import (and every batch of a one-batch import) runs inline: no thread is
started for an import that has nothing to overlap.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from colsec.pipeline import Helper

__all__ = ["WriteBehind"]


class WriteBehind:
    """Jobs run in submission order on one thread (or inline); errors surface at ``drain``."""

    def __init__(self) -> None:
        self.inline = False  # set for the last batch: nothing left to overlap
        self._helper = Helper("colsec-write")
        self._jobs: list[Future[Any]] = []
        self._later: list[Callable[[], None]] = []

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        if self.inline:
            done: Future[Any] = Future()
            try:
                done.set_result(fn(*args))
            except BaseException as exc:  # raised at drain, as a threaded job's would be
                done.set_exception(exc)
            self._jobs.append(done)
            return done
        job = self._helper.submit(fn, *args)
        self._jobs.append(job)
        return job

    def later(self, fn: Callable[[], None]) -> None:
        """Session work to run on the main thread once the jobs submitted so far are done."""
        self._later.append(fn)

    def drain(self) -> None:
        """Wait for every job, raise the first failure, then run the deferred session work."""
        jobs, self._jobs = self._jobs, []
        for job in jobs:
            job.exception()  # waits
        for job in jobs:
            job.result()  # the first failure, as it was raised
        later, self._later = self._later, []
        for fn in later:
            fn()

    def close(self) -> None:
        """Wait for every job (their failures are dropped: the caller is already failing or
        has drained) and stop the thread."""
        for job in self._jobs:
            job.exception()
        self._jobs.clear()
        self._later.clear()
        self._helper.shutdown()
