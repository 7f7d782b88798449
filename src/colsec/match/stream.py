"""Matching telemetry that arrives as messages on a stream: decode, and commit exactly once.

Transport-free (the NATS worker in ``colsec.match.nats_worker`` feeds it), so the exactly-once
rules are tested without a broker. A message is one telemetry line or several (a Fluent Bit
flush, newline-delimited lines); its stream sequence number becomes the line number of each
of its events, which ties every alert back to the message that caused it.

``commit_batch`` runs in the worker's transaction, before the messages are acknowledged.
It first takes the consumer's lock row, then drops the messages some worker already committed
(a redelivery after an ack timeout or a killed worker), so a sighting is counted once whatever
is delivered twice; what stays is recorded as committed ranges, alert rows and sighting totals.
``publish_sightings`` turns the totals into sighting versions every few seconds (any worker,
and each one as it stops), each carrying the total over every worker.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np
import orjson
from sqlalchemy import Table, bindparam, case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.match.events import Event
from colsec.match.models import MatchAlert, MatchSightingCount, MatchStream, MatchStreamRange
from colsec.match.readers import (
    DECODERS,
    Decoder,
    FieldMapping,
    ReaderFormat,
    ReaderStats,
    decode_line,
    detect_format,
)
from colsec.match.records import Alert
from colsec.match.service import store_sightings
from colsec.match.sightings import SightingAggregator, WindowCount

__all__ = [
    "Committed",
    "Message",
    "MessageDecoder",
    "alert_seq",
    "commit_batch",
    "committed_seqs",
    "covered",
    "fluent_records",
    "message_lines",
    "publish_sightings",
]

# Ranges kept per consumer before they are merged: a few per worker stay apart between merges.
_COALESCE_AFTER = 64
_MAX_VALUES = 20


@dataclass(slots=True)
class Message:
    """One telemetry line and where it sits in the stream; ``fmt`` from a message header if any."""

    seq: int
    line: str
    fmt: ReaderFormat | None = None


class MessageDecoder:
    """One line per message through the same decoders as files, a decoder kept per format."""

    def __init__(
        self,
        *,
        fmt: ReaderFormat | None = None,
        mapping: FieldMapping | None = None,
        stats: ReaderStats | None = None,
    ) -> None:
        self.fmt = fmt
        self.mapping = mapping
        self.stats = stats if stats is not None else ReaderStats()
        self._decoders: dict[ReaderFormat, Decoder] = {}

    def decode(self, messages: Iterable[Message]) -> list[Event]:
        out: list[Event] = []
        for msg in messages:
            for line in message_lines(msg.line):
                self._one(Message(msg.seq, line, msg.fmt), out)
        return out

    def _one(self, msg: Message, out: list[Event]) -> None:
        fmt = msg.fmt or self.fmt or detect_format([msg.line], mapping=self.mapping)
        decoder = self._decoders.get(fmt)
        if decoder is None:
            decoder = self._decoders[fmt] = DECODERS[fmt](fmt, self.mapping)
        event = decode_line(decoder, msg.line, msg.seq, self.stats)
        if event is not None:
            out.append(event)


def message_lines(body: str) -> list[str]:
    """The telemetry lines of one message: one, a Fluent Bit flush, or newline-delimited lines
    (as Vector and Fluent Bit batch them); blank lines are no event and are dropped."""
    if body.startswith("[["):  # Fluent Bit's NATS output: [[time, {record}], ...] per flush
        return fluent_records(body)
    if "\n" not in body:
        return [body] if body.strip() else []
    lines = [line.removesuffix("\r") for line in body.split("\n") if line.strip()]
    if lines[0].lstrip().startswith("{") and not lines[0].rstrip().endswith("}"):
        try:  # one pretty-printed JSON record, not several lines
            record = orjson.loads(body)
        except orjson.JSONDecodeError:
            return lines
        if isinstance(record, dict):
            return [orjson.dumps(record).decode()]
    return lines


def fluent_records(body: str) -> list[str]:
    """The records of a Fluent Bit flush as JSON lines; a body that is not one is one bad line."""
    try:
        pairs = orjson.loads(body)
    except orjson.JSONDecodeError:
        return [body]
    return [
        orjson.dumps(p[1]).decode() if isinstance(p, list) and len(p) == 2 and isinstance(p[1], dict) else "{"
        for p in pairs
    ]


def alert_seq(alert: Alert) -> int:
    """The message that completed the alert (its last event's stream sequence)."""
    return max(e.line for e in alert.events)


@dataclass
class Committed:
    alerts: list[Alert] = field(default_factory=list)  # newly committed, in match order
    duplicates: int = 0  # messages some worker had committed already


# Core tables, not ORM entities: each statement below is built the same way every batch, so it
# is compiled once and then only executed (row lists go as executemany parameters).
_STREAM = cast(Table, MatchStream.__table__)
_RANGE = cast(Table, MatchStreamRange.__table__)
_ALERT = cast(Table, MatchAlert.__table__)
_COUNT = cast(Table, MatchSightingCount.__table__)


def _insert(db: Session, table: Any) -> Any:
    return postgresql.insert(table) if db.get_bind().dialect.name == "postgresql" else sqlite.insert(table)


# Built once: every batch runs them, and building a statement costs about what running it does.
_BUMP = update(_STREAM).where(_STREAM.c.key == bindparam("k")).values(commits=_STREAM.c.commits + 1)
_OVERLAPPING = select(_RANGE.c.first_seq, _RANGE.c.last_seq).where(
    _RANGE.c.key == bindparam("k"),
    _RANGE.c.first_seq <= bindparam("hi"),
    _RANGE.c.last_seq >= bindparam("lo"),
)
_RANGE_COUNT = select(func.count()).select_from(_RANGE).where(_RANGE.c.key == bindparam("k"))


def _lock(db: Session, key: str) -> None:
    """Serialise the consumer's commits: a row lock on PostgreSQL, the write lock on SQLite."""
    if db.execute(_BUMP, {"k": key}).rowcount == 0:  # type: ignore[attr-defined]
        db.execute(_insert(db, _STREAM).values(key=key, commits=0).on_conflict_do_nothing())
        db.execute(_BUMP, {"k": key})


def committed_seqs(db: Session, key: str, seqs: Sequence[int]) -> set[int]:
    """Which of ``seqs`` are inside a committed range of the consumer."""
    if not seqs:
        return set()
    ranges = db.execute(_OVERLAPPING, {"k": key, "lo": min(seqs), "hi": max(seqs)}).all()
    if not ranges:  # the usual answer for a batch delivered once: no pass over its sequences
        return set()
    return covered([(first, last) for first, last in ranges], seqs)


def covered(ranges: Sequence[tuple[int, int]], seqs: Sequence[int]) -> set[int]:
    """The ``seqs`` inside any of the (first, last) ranges, found by binary search.

    Two workers' held fetches interleave, so thousands of sequences may fall between
    dozens of ranges: comparing each with each would cost a worker a second per commit.
    """
    if not ranges:
        return set()
    ordered = sorted(ranges)
    firsts = np.array([first for first, _ in ordered], dtype=np.int64)
    reach = np.maximum.accumulate(np.array([last for _, last in ordered], dtype=np.int64))
    at = np.asarray(seqs, dtype=np.int64)
    below = np.searchsorted(firsts, at, side="right") - 1  # the last range starting at or before
    inside = (below >= 0) & (reach[np.maximum(below, 0)] >= at)
    return set(at[inside].tolist())


def _runs(seqs: Sequence[int]) -> list[tuple[int, int]]:
    """The sequences as (first, last) runs of consecutive numbers, in order."""
    ordered = np.unique(np.asarray(seqs, dtype=np.int64))
    if not len(ordered):
        return []
    gaps = np.flatnonzero(np.diff(ordered) != 1)
    firsts = np.concatenate((ordered[:1], ordered[gaps + 1])).tolist()
    lasts = np.concatenate((ordered[gaps], ordered[-1:])).tolist()
    return list(zip(firsts, lasts, strict=True))


def _record_ranges(db: Session, key: str, seqs: Sequence[int]) -> None:
    c = _RANGE.c
    db.execute(_insert(db, _RANGE), [{"key": key, "first_seq": a, "last_seq": b} for a, b in _runs(seqs)])
    count = db.execute(_RANGE_COUNT, {"k": key}).scalar_one()
    if count > _COALESCE_AFTER:  # under the lock: nobody else writes this consumer's ranges now
        every = db.execute(select(c.first_seq, c.last_seq).where(c.key == key)).all()
        merged: list[tuple[int, int]] = []
        for first, last in sorted(every):
            if merged and merged[-1][1] + 1 >= first:
                merged[-1] = (merged[-1][0], max(merged[-1][1], last))
            else:
                merged.append((first, last))
        db.execute(delete(_RANGE).where(c.key == key))
        db.execute(_insert(db, _RANGE), [{"key": key, "first_seq": a, "last_seq": b} for a, b in merged])


def _store_alerts(db: Session, *, actor: Actor, key: str, alerts: Sequence[Alert]) -> None:
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    created = datetime.now(UTC)
    for a in alerts:
        seq = alert_seq(a)
        if (seq, a.indicator_id) not in rows:
            rows[(seq, a.indicator_id)] = {
                "org_id": actor.org_id,
                "stream_key": key,
                "seq": seq,
                "indicator_id": a.indicator_id,
                "seen_at": datetime.fromtimestamp(a.ts / 1e6, UTC),
                "body": orjson.dumps(a.to_json(), default=str).decode(),
                "created_at": created,
            }
    if rows:
        db.execute(_insert(db, _ALERT), list(rows.values()))


def _count_sightings(db: Session, *, sighter: str, alerts: Sequence[Alert], window_seconds: int) -> None:
    """Add the batch's counts to the shared totals (SQL increments: workers never overwrite each other)."""
    batch = SightingAggregator(sighter_identity=sighter, window_seconds=window_seconds)
    batch.add(alerts)
    rows = [
        {
            "sighter": sighter,
            "indicator_id": indicator_id,
            "window_start": start,
            "count": w.count,
            "first_us": w.first,
            "last_us": w.last,
            "matched_values": orjson.dumps(sorted(w.values)).decode(),
            "modified_us": 0,
            "pending": True,
        }  # fmt: skip
        for (indicator_id, start), w in sorted(batch.windows.items())
    ]
    if not rows:
        return
    c = _COUNT.c
    ins = _insert(db, _COUNT)
    db.execute(
        ins.on_conflict_do_update(
            index_elements=["sighter", "indicator_id", "window_start"],
            set_={
                "count": c.count + ins.excluded.count,
                "first_us": case(
                    (c.first_us < ins.excluded.first_us, c.first_us), else_=ins.excluded.first_us
                ),
                "last_us": case((c.last_us > ins.excluded.last_us, c.last_us), else_=ins.excluded.last_us),
                "pending": True,  # the first batch's matched values stand for the window
            },
        ),
        rows,
    )


def publish_sightings(db: Session, *, actor: Actor, sighter: str, window_seconds: int = 3600) -> int:
    """Write a new version of every sighting counted since its last version; how many were written.

    Sighting versions are written from the totals every few seconds, not with every batch: a
    busy stream would otherwise add a version per batch that every TAXII peer then pulls.
    Any worker may publish any pending total; on PostgreSQL rows another worker is publishing
    are skipped, not waited for.
    """
    stmt = select(MatchSightingCount).where(MatchSightingCount.sighter == sighter, MatchSightingCount.pending)
    if db.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(
        db.execute(stmt.order_by(MatchSightingCount.indicator_id, MatchSightingCount.window_start)).scalars()
    )
    if not rows:
        return 0
    totals = SightingAggregator(sighter_identity=sighter, window_seconds=window_seconds)
    # versions must be ordered even across machines whose clocks differ a little
    stamp = max(int(datetime.now(UTC).timestamp() * 1_000_000), *(r.modified_us + 1 for r in rows))
    for row in rows:
        values = set(orjson.loads(row.matched_values)[:_MAX_VALUES])
        totals.windows[(row.indicator_id, row.window_start)] = WindowCount(
            row.count, row.first_us, row.last_us, None, values
        )
        row.modified_us = stamp
        row.pending = False
    db.flush()
    objects = totals.sightings(created=_iso(stamp))
    store_sightings(db, actor=actor, objects=objects)
    return len(objects)


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def commit_batch(
    db: Session,
    *,
    actor: Actor,
    key: str,
    seqs: Sequence[int],
    alerts: Sequence[Alert],
    sighter: str | None,
    window_seconds: int = 3600,
) -> Committed:
    """Commit what the batch's messages produced, minus what an earlier delivery committed.

    ``key`` names the stream and consumer (two consumers of one stream count separately);
    the caller commits the transaction and only then acknowledges the messages.
    """
    if not seqs:
        return Committed()
    _lock(db, key)
    done = committed_seqs(db, key, seqs)
    fresh = [s for s in seqs if s not in done] if done else seqs
    result = Committed(duplicates=len(seqs) - len(fresh))
    if not fresh:
        return result
    result.alerts = [a for a in alerts if alert_seq(a) not in done]
    _record_ranges(db, key, fresh)
    _store_alerts(db, actor=actor, key=key, alerts=result.alerts)
    if sighter is not None and result.alerts:
        _count_sightings(db, sighter=sighter, alerts=result.alerts, window_seconds=window_seconds)
    return result
