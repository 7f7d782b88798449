"""The job runner: claims due jobs, runs their handlers under a lease, retries, schedules.

The only place in colsec that starts threads for background work: the embedded loop of the
web app and each job's heartbeat.  A job is claimed by setting a lease (owner and expiry)
in a short write transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so any number of
``colsec worker`` processes share the queue; ``BEGIN IMMEDIATE`` on SQLite, where one
worker runs).  While the handler runs, a heartbeat extends the lease; a worker that dies
stops heartbeating, its lease expires and the next worker requeues the job with backoff,
or fails it with the reason once its attempts are spent.  Handlers own their
transactions and must be idempotent: a worker may die after the handler committed and
before the job was marked done, and the retry then finds the work already there.
The row transitions under the lease (claim, beat, complete, reap) live in ``leases``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete

from colsec.accounts.roles import SYSTEM, Actor
from colsec.db import Database
from colsec.db_base import utcnow
from colsec.errors import ColsecError
from colsec.jobs import queue
from colsec.jobs.leases import Claimed, Leases
from colsec.jobs.models import Job

__all__ = ["Handler", "JobContext", "JobRunner", "Schedule", "default_worker_id"]

log = logging.getLogger(__name__)

Handler = Callable[["JobContext"], Mapping[str, Any] | None]

SCHEDULED_KEEP = timedelta(hours=1)  # finished periodic jobs: kept briefly, they are many
FINISHED_KEEP = timedelta(days=7)
PRUNE_EVERY_SECONDS = 60.0


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Schedule:
    """Enqueue ``kind`` once per period of ``every_seconds`` (one job per period, however many workers)."""

    kind: str
    every_seconds: float
    payload: Mapping[str, Any] = field(default_factory=dict)


class JobContext:
    """What a handler gets: its input, who started it, the database, and a progress reporter."""

    def __init__(self, runner: JobRunner, claimed: Claimed, stop: threading.Event) -> None:
        self._runner = runner
        self._claimed = claimed
        self.job_id = claimed.id
        self.kind = claimed.kind
        self.payload = claimed.payload
        self.attempt = claimed.attempt
        self.final_attempt = claimed.attempt >= claimed.max_attempts
        self.database = runner.database
        self.stop = stop  # set when the worker shuts down: long handlers stop between units
        self._last_report = 0.0

    @property
    def actor(self) -> Actor:
        data = self.payload.get("actor")
        return queue.actor_from_payload(data) if isinstance(data, Mapping) else SYSTEM

    def blob(self) -> bytes:
        with self.database.unit_of_work(write=False) as s:
            return queue.blob(s, self.job_id)

    def report(self, processed: int, total: int | None = None, *, force: bool = False) -> None:
        """Record progress (its own short transaction, at most ~4 per second) and extend the lease."""
        now = time.monotonic()
        if not force and now - self._last_report < 0.25 and (total is None or processed < total):
            return
        self._last_report = now
        values: dict[str, Any] = {"processed": processed}
        if total is not None:
            values["total"] = total
        self._runner._beat(self._claimed, **values)


class JobRunner:
    def __init__(
        self,
        database: Database,
        handlers: Mapping[str, Handler],
        *,
        worker_id: str | None = None,
        lease_seconds: float = 30.0,
        poll_seconds: float = 0.1,
        schedules: Sequence[Schedule] = (),
        pollers: Sequence[Callable[[], int]] = (),
        retry_base_seconds: float = 1.0,
    ) -> None:
        self.database = database
        self.handlers = dict(handlers)
        self.worker_id = worker_id or default_worker_id()
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.schedules = tuple(schedules)
        self.pollers = tuple(pollers)
        self.retry_base_seconds = retry_base_seconds
        self.leases = Leases(
            database, worker_id=self.worker_id, lease=self.lease, retry_base_seconds=retry_base_seconds
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._inflight: set[str] = set()
        self._live: dict[str, tuple[int, int | None]] = {}  # progress not yet written (SQLite lock)
        self._periods: dict[str, int] = {}
        self._pruned_at = 0.0

    # -- loop ---------------------------------------------------------------------------------

    def run_once(self, stop: threading.Event | None = None) -> int:
        """One round: schedules, pollers, expired leases, then every due job until none is left."""
        stop = stop or self._stop
        self._enqueue_scheduled()
        self._run_pollers()
        self._reap_expired()
        self._prune()
        ran = 0
        while not stop.is_set():
            claimed = self._claim()
            if claimed is None:
                break
            self._run(claimed, stop)
            ran += 1
        return ran

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                ran = self.run_once(stop)
            except Exception:  # a database hiccup must not end the worker
                log.exception("job runner round failed")
                ran = 0
            if not ran:
                stop.wait(self.poll_seconds)

    def start(self) -> None:
        """Run the loop in one background thread (the web app's embedded worker)."""
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.run_forever, args=(self._stop,), name=f"colsec-jobs-{self.worker_id}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # -- leases -----------------------------------------------------------------------------

    def _claim(self) -> Claimed | None:
        claimed = self.leases.claim(self.handlers)
        if claimed is not None:
            self._inflight.add(claimed.id)  # once committed: ours until it ends, whatever the heartbeats
        return claimed

    def _reap_expired(self) -> int:
        return self.leases.reap_expired(self._inflight)

    # -- running ------------------------------------------------------------------------------

    def _run(self, claimed: Claimed, stop: threading.Event) -> None:
        ctx = JobContext(self, claimed, stop)
        done = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(claimed, done), name=f"job-beat-{claimed.id}")
        beat.daemon = True
        beat.start()
        try:
            handler = self.handlers[claimed.kind]
            result = handler(ctx)
            outcome: dict[str, Any] = {"result": dict(result) if result is not None else {}}
        except ColsecError as exc:  # the input is refused: retrying would give the same answer
            outcome = {"error": {"reason": exc.message, **exc.to_dict()}, "final": True}
        except Exception as exc:
            log.exception("job %s (%s) failed on attempt %d", claimed.id, claimed.kind, claimed.attempt)
            message = f"{type(exc).__name__}: {exc}"[:500]
            outcome = {"error": {"reason": message}, "final": claimed.attempt >= claimed.max_attempts}
        finally:
            done.set()
            beat.join()
        try:
            self.leases.complete(claimed, outcome)
        finally:
            self._inflight.discard(claimed.id)
            self._live.pop(claimed.id, None)

    def _heartbeat(self, claimed: Claimed, done: threading.Event) -> None:
        interval = max(0.05, self.lease.total_seconds() / 3)
        while not done.wait(interval):
            self._beat(claimed)

    def live_progress(self, job_id: str) -> tuple[int, int | None] | None:
        """Progress of a job running here whose last report could not be written yet.

        On SQLite an import's transaction holds the write lock until it ends; the web app
        that embeds this runner shows these counts meanwhile.
        """
        return self._live.get(job_id)

    def _beat(self, claimed: Claimed, **values: Any) -> None:
        if "processed" in values:
            self._live[claimed.id] = (values["processed"], values.get("total"))
        self.leases.beat(claimed, **values)

    # -- schedules, pollers, housekeeping -----------------------------------------------------

    def _enqueue_scheduled(self) -> None:
        due = []
        for schedule in self.schedules:
            period = int(time.time() // schedule.every_seconds)
            if self._periods.get(schedule.kind) != period:
                due.append((schedule, period))
        if not due:
            return
        with self.database.unit_of_work() as s:
            for schedule, period in due:
                queue.enqueue_once(
                    s,
                    kind=schedule.kind,
                    key=f"schedule:{schedule.kind}:{period}",
                    actor=SYSTEM,
                    payload=dict(schedule.payload),
                    max_attempts=1,
                )
        for schedule, period in due:
            self._periods[schedule.kind] = period

    def _run_pollers(self) -> None:
        for poller in self.pollers:
            try:
                poller()
            except Exception:  # one failing poller must not stop the jobs
                log.exception("job runner poller %r failed", poller)

    def _prune(self) -> None:
        if time.monotonic() - self._pruned_at < PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = time.monotonic()
        now = utcnow()
        with self.database.unit_of_work() as s:
            s.execute(
                delete(Job).where(
                    Job.finished_at.is_not(None),
                    Job.finished_at < now - SCHEDULED_KEEP,
                    Job.dedupe_key.like("schedule:%"),
                )
            )
            s.execute(delete(Job).where(Job.finished_at.is_not(None), Job.finished_at < now - FINISHED_KEEP))
