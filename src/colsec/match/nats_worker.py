"""A matching worker on a NATS JetStream stream: one of any number sharing one durable consumer.

Sensors (or Vector / Fluent Bit through their NATS sinks) publish telemetry lines, one per
message or many (newline-delimited, or a Fluent Bit flush); every worker pulls from the same
durable pull consumer, so the server spreads the messages over them and hands a killed
worker's unacknowledged ones to the others once the ack wait runs out. Each fetched batch goes
through the file matcher's column path at once (``colsec.match.message_batch``), is committed
(``colsec.match.stream.commit_batch``: alerts, sighting totals, committed ranges in one
transaction) and acknowledged only then, all its messages in one write; while a backlog
lasts, several fetches share one commit (``StreamWorker._next``). A message's events are
committed together or not at all, so a redelivered one is dropped whole. Between batches
the worker applies indicator versions added to the store since it last looked
(``refresh_engine``), never recompiling the whole set.

The asyncio loop lives only here, in the process entry point: matching and committing run
inline between fetches, one batch at a time, which is the whole job of this process.
Patterns spanning several observations see only the events of the worker that holds their
window state, as a stream split over workers must.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.errors import InvalidInput
from colsec.gcpause import tick, young_gc_only
from colsec.match.engine import MatchEngine
from colsec.match.message_batch import BatchMatcher
from colsec.match.nats_pull import Delivery, PullClient, Puller, header, stream_seqs
from colsec.match.readers import FieldMapping, ReaderFormat, ReaderStats
from colsec.match.records import Alert
from colsec.match.service import indicators_changed, refresh_engine
from colsec.match.stream import commit_batch, publish_sightings
from colsec.store import queries

__all__ = ["FORMAT_HEADER", "StreamOptions", "StreamWorker", "WorkerStats"]

#: A message header naming the telemetry format of that one message (overrides ``--format``).
FORMAT_HEADER = "Colsec-Format"


@dataclass
class StreamOptions:
    url: str
    stream: str
    durable: str = "colsec-match"
    subjects: list[str] = field(default_factory=list)
    batch: int = 1000
    fmt: ReaderFormat | None = None
    mapping: FieldMapping | None = None
    window_seconds: int = 3600
    ack_wait: float = 30.0
    refresh_seconds: float = 1.0
    decay_seconds: float = 60.0  # a full refresh also drops indicators whose score decayed since
    sighting_seconds: float = 10.0
    idle_wait: float = 0.5
    hold_batches: int = 16  # full fetches matched before one commit, while a backlog lasts
    hold_seconds: float = 1.0
    stop_after: float | None = None
    stats: ReaderStats = field(default_factory=ReaderStats)  # lines, events, malformed


@dataclass
class WorkerStats:
    messages: int = 0
    duplicates: int = 0
    alerts: int = 0
    sightings: int = 0
    batches: int = 0
    commits: int = 0


Units = Callable[[], AbstractContextManager[Session]]


@dataclass
class StreamWorker:
    """One worker process: ``serve`` runs until SIGTERM / SIGINT (or ``stop_after`` seconds).

    ``units`` open the transactions of batches and refreshes; ``audited`` those that write
    audit rows (sighting versions), which the command also anchors.
    """

    opts: StreamOptions
    units: Units
    audited: Units
    actor: Actor
    sighter: str | None
    engine: MatchEngine
    cursor: queries.Cursor | None
    on_alerts: Callable[[list[Alert]], None]
    log: Callable[[str], None]
    stats: WorkerStats = field(default_factory=WorkerStats)

    def __post_init__(self) -> None:
        self.matcher = BatchMatcher(fmt=self.opts.fmt, mapping=self.opts.mapping, stats=self.opts.stats)
        self.stopping = asyncio.Event()
        self.held = Held()

    def serve(self) -> WorkerStats:
        """Each batch ends committed and acknowledged, the last one included."""
        return asyncio.run(self.run())

    async def run(self) -> WorkerStats:
        from nats.errors import NoServersError

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        try:
            nc = PullClient()
            await nc.connect(self.opts.url, connect_timeout=5, max_reconnect_attempts=-1)
        except (NoServersError, OSError) as exc:
            raise InvalidInput(f"cannot reach NATS at {self.opts.url}: {exc}") from exc
        try:
            sub, key = await self._subscribe(nc)
            self.log(f"pulling from stream {self.opts.stream!r} as consumer {self.opts.durable!r}")
            await self._loop(sub, key)
        finally:
            if nc.is_connected:
                await nc.flush(timeout=5)  # the last acknowledgements reach the server
            await nc.close()
        return self.stats

    async def _subscribe(self, nc: PullClient) -> tuple[Puller, str]:
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
        from nats.js.errors import NotFoundError

        js = nc.jetstream()
        opts = self.opts
        try:
            info = await js.stream_info(opts.stream)
        except NotFoundError:
            if not opts.subjects:
                raise InvalidInput(
                    f"stream {opts.stream!r} not found; create it, or give --subject to create it"
                ) from None
            info = await js.add_stream(name=opts.stream, subjects=opts.subjects)
        config = ConsumerConfig(
            durable_name=opts.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=opts.ack_wait,
            max_ack_pending=max(opts.batch * 64, 10_000),
        )
        if len(opts.subjects) == 1:
            config.filter_subject = opts.subjects[0]
        elif opts.subjects:
            config.filter_subjects = opts.subjects
        await js.add_consumer(opts.stream, config=config)  # idempotent for the same configuration
        # A stream deleted and created again restarts its sequences: its creation time is part of the key.
        created = info.created.isoformat() if info.created else ""
        return await Puller.start(nc, opts.stream, opts.durable), f"{opts.stream}@{created}/{opts.durable}"

    async def _loop(self, sub: Puller, key: str) -> None:
        # Every batch makes thousands of short-lived objects; full collections would rescan the
        # compiled index and every imported module each time (colsec.gcpause).
        with young_gc_only():
            await self._batches(sub, key)

    async def _batches(self, sub: Puller, key: str) -> None:
        started = refreshed = published = decayed = time.monotonic()
        try:
            while not self.stopping.is_set():
                if self.opts.stop_after is not None and time.monotonic() - started > self.opts.stop_after:
                    break
                if time.monotonic() - refreshed >= self.opts.refresh_seconds:
                    full = time.monotonic() - decayed >= self.opts.decay_seconds
                    self._refresh(full=full)
                    refreshed = time.monotonic()
                    decayed = refreshed if full else decayed
                if time.monotonic() - published >= self.opts.sighting_seconds:
                    self._publish()
                    published = time.monotonic()
                await self._next(sub, key)
            await self._commit(sub.nc, key)  # what is held, before the last sightings
        finally:
            self._publish()  # a stopping worker leaves no count without its version

    def _publish(self) -> None:
        if self.sighter is not None:
            with self.audited() as db:
                self.stats.sightings += publish_sightings(
                    db, actor=self.actor, sighter=self.sighter, window_seconds=self.opts.window_seconds
                )

    async def _next(self, sub: Puller, key: str) -> None:
        """Match one fetch; commit what is held unless a backlog is sure to fill another fetch.

        A fetch that comes back full says more messages wait: its batch is held (matched, not
        committed, not acknowledged) and the next one joins it, up to ``hold_batches`` fetches
        or ``hold_seconds`` (a quarter of the ack wait at most, so that held messages are not
        handed to another worker meanwhile): a backlog pays one commit per several batches.
        Anything short of a full fetch (a quiet stream) is committed at once: no alert waits
        for more traffic.
        """
        held = self.held
        msgs = await sub.fetch(self.opts.batch, 0.0 if held.msgs else self.opts.idle_wait)
        if msgs:
            if not held.msgs:
                held.since = time.monotonic()
            held.add(msgs, self.matcher, self.engine)
            tick()
        if held.msgs and (
            len(msgs) < self.opts.batch
            or held.fetches >= self.opts.hold_batches
            or time.monotonic() - held.since >= min(self.opts.hold_seconds, self.opts.ack_wait / 4)
        ):
            await self._commit(sub.nc, key)

    def _refresh(self, *, full: bool) -> None:
        now = int(time.time() * 1_000_000)
        with self.units() as db:
            if not full and not indicators_changed(db, cursor=self.cursor):
                return
            self.cursor = refresh_engine(db, self.engine, actor=self.actor, cursor=self.cursor, now=now)

    async def _commit(self, nc: PullClient, key: str) -> None:
        """Commit the held batches in one transaction, then acknowledge their messages."""
        held, self.held = self.held, Held()
        if not held.msgs:
            return
        for attempt in range(5):
            try:
                with self.units() as db:
                    done = commit_batch(
                        db, actor=self.actor, key=key, seqs=held.seqs, alerts=held.alerts, sighter=self.sighter,
                        window_seconds=self.opts.window_seconds,
                    )  # fmt: skip
                break
            except DBAPIError as exc:  # a lock timeout or a dropped connection: these batches again
                self.log(f"commit failed ({type(exc.orig).__name__}), attempt {attempt + 1}")
                await asyncio.sleep(0.2 * (attempt + 1))
        else:  # left to another worker, or to this one later
            await nc.publish_many((reply for reply, _, _ in held.msgs), _NAK_LATER)
            return
        if done.alerts:  # committed: printed once; a crash before the acks below skips them next time
            self.on_alerts(done.alerts)
        await nc.publish_many(reply for reply, _, _ in held.msgs)  # empty payloads: acknowledgements
        self.stats.batches += held.fetches
        self.stats.commits += 1
        self.stats.messages += len(held.msgs)
        self.stats.duplicates += done.duplicates
        self.stats.alerts += len(done.alerts)


@dataclass
class Held:
    """Fetched batches matched but not yet committed: their messages, sequences and alerts."""

    msgs: list[Delivery] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    fetches: int = 0
    since: float = 0.0

    def add(self, msgs: list[Delivery], matcher: BatchMatcher, engine: MatchEngine) -> None:
        """Match a fetch from its raw payloads (``BatchMatcher.match_payloads``)."""
        replies, payloads, headers = zip(*msgs, strict=True)
        seqs = stream_seqs(replies)
        fmts = None
        if headers.count(None) != len(headers):  # most messages carry no headers: no call to look for one
            fmts = [_header_format(h) if h else None for h in headers]
        self.alerts.extend(matcher.match_payloads(engine, seqs, payloads, fmts))
        self.msgs.extend(msgs)
        self.seqs.extend(seqs)
        self.fetches += 1


#: A negative acknowledgement asking for redelivery in a second.
_NAK_LATER = b'-NAK {"delay": 1000000000}'


def _header_format(headers: bytes | None) -> ReaderFormat | None:
    value = header(headers, FORMAT_HEADER.encode())
    if not value:
        return None
    try:
        return ReaderFormat(value)
    except ValueError:
        return None  # an unknown format name: the worker's own choice (or detection) decides
