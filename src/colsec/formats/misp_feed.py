"""MISP feeds in: a folder or URL with ``manifest.json`` and ``<uuid>.json`` events.

Incremental by construction: an event is fetched only when the store does not yet
hold its report/grouping at the manifest's timestamp (MISP bumps the event
timestamp on every change, and misp-stix's container carries it as ``modified``).
Each event is its own unit: a broken event is reported and the others still land.
Outbound HTTP goes only to the feed's own host, without redirects, and private or
loopback addresses are refused unless the operator allows them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.errors import ColsecError, InvalidInput, TooLarge, UpstreamError
from colsec.formats.registry import ImportFormat
from colsec.jsonutil import loads
from colsec.outbound import DENY_ALL, OutboundPolicy, guarded_client
from colsec.stix.ids import format_timestamp
from colsec.stix.tlp import TLP
from colsec.store.models import StixObject

__all__ = ["FeedReport", "Fetcher", "import_feed", "make_fetcher"]

MAX_EVENT_BYTES = 512 * 1024 * 1024
Fetcher = Callable[[str], bytes]


MAX_NOTES = 500  # a feed of thousands of events: the report stays readable


@dataclass
class FeedReport:
    events_in_manifest: int = 0
    fetched: int = 0
    skipped_unchanged: int = 0
    inserted: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    follow_up_jobs: list[str] = field(default_factory=list)  # the events' post-import work, if queued
    # what each event's import noted (attributes left out, indicators that cannot match), bounded
    notes: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "events_in_manifest": self.events_in_manifest,
            "fetched": self.fetched,
            "skipped_unchanged": self.skipped_unchanged,
            "inserted": self.inserted,
            "failed": self.failed,
            "follow_up_jobs": self.follow_up_jobs,
            "notes": self.notes,
        }


def make_fetcher(
    source: str, *, outbound: OutboundPolicy = DENY_ALL, timeout: float = 60.0
) -> tuple[Fetcher, str]:
    """A fetcher for names relative to the feed (``manifest.json``, ``<uuid>.json``) and a label."""
    if source.startswith(("http://", "https://")):
        import httpx

        base = source if source.endswith("/") else source + "/"
        outbound.check_url(base)
        host = urlsplit(base).netloc

        def fetch_url(name: str) -> bytes:
            url = urljoin(base, name)
            if urlsplit(url).netloc != host:
                raise InvalidInput(f"feed entry {name!r} leaves the feed host")
            try:
                with guarded_client(outbound, timeout=timeout) as http, http.stream("GET", url) as resp:
                    if resp.status_code != 200:
                        raise UpstreamError(f"{url}: HTTP {resp.status_code}")
                    chunks: list[bytes] = []
                    size = 0
                    for chunk in resp.iter_bytes():
                        size += len(chunk)
                        if size > MAX_EVENT_BYTES:
                            raise TooLarge(f"{url}: larger than {MAX_EVENT_BYTES} bytes")
                        chunks.append(chunk)
                    return b"".join(chunks)
            except httpx.HTTPError as exc:
                raise UpstreamError(f"{url}: {exc}") from None

        return fetch_url, base
    root = Path(source)
    if not root.is_dir():
        raise InvalidInput(f"feed {source!r} is neither a folder nor an http(s) URL")

    def fetch_file(name: str) -> bytes:
        path = (root / name).resolve()
        if path.parent != root.resolve():
            raise InvalidInput(f"feed entry {name!r} leaves the feed folder")
        try:
            return path.read_bytes()
        except OSError as exc:
            raise InvalidInput(f"{path}: {exc.strerror}") from None

    return fetch_file, str(root)


def _stored(db: Session, event_uuid: str, timestamp: str) -> bool:
    try:
        modified = format_timestamp(datetime.fromtimestamp(int(timestamp), UTC))
    except (TypeError, ValueError):
        return False
    ids = [f"report--{event_uuid}", f"grouping--{event_uuid}"]
    stmt = select(StixObject.seq).where(StixObject.id.in_(ids), StixObject.modified == modified).limit(1)
    return db.execute(stmt).first() is not None


def import_feed(
    db: Session,
    *,
    actor: Actor,
    source: str,
    owner_org_id: int | None = None,
    default_tlp: TLP | None = None,
    outbound: OutboundPolicy = DENY_ALL,
    fetcher: Fetcher | None = None,
) -> FeedReport:
    """Fetch changed events of a MISP feed and import each in its own savepoint."""
    from colsec.formats.service import import_source

    fetch, _label = (fetcher, source) if fetcher else make_fetcher(source, outbound=outbound)
    manifest = loads(fetch("manifest.json"), what="feed manifest")
    if not isinstance(manifest, dict):
        raise InvalidInput("feed manifest must be a JSON object keyed by event uuid")
    report = FeedReport(events_in_manifest=len(manifest))
    for event_uuid, meta in manifest.items():
        try:
            uuid.UUID(str(event_uuid))
        except ValueError:
            report.failed.append({"event": str(event_uuid)[:80], "error": "not a uuid"})
            continue
        ts = str(meta.get("timestamp", "")) if isinstance(meta, dict) else ""
        if ts and _stored(db, event_uuid, ts):
            report.skipped_unchanged += 1
            continue
        try:
            data = fetch(f"{event_uuid}.json")
            with db.begin_nested():
                result = import_source(
                    db,
                    actor=actor,
                    data=data,
                    fmt=ImportFormat.MISP,
                    owner_org_id=owner_org_id,
                    default_tlp=default_tlp,
                )
        except ColsecError as exc:
            report.failed.append({"event": event_uuid, "error": exc.message})
            continue
        report.fetched += 1
        report.inserted += result.inserted
        report.follow_up_jobs.extend(result.follow_up_jobs)
        room = MAX_NOTES - len(report.notes)
        report.notes.extend({"event": event_uuid, "note": n} for n in result.notes[: max(room, 0)])
    return report
