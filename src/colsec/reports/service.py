"""The bulletin workflow: draft → in review → approved → published; a correction is a new version.

The approver is never the author of the version; every step is audited.  Publishing queues one
e-mail per subscriber whose organisation may read the bulletin's audience level (outbox rows in
the caller's transaction), and the earlier published versions stay readable.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from colsec.accounts.roles import SYSTEM, Actor, Role
from colsec.errors import Conflict, Forbidden, InvalidInput, NotFound
from colsec.outbox.models import Channel
from colsec.outbox.service import Outgoing, put
from colsec.reports.audience import Scope, may_read_level
from colsec.reports.models import Bulletin, BulletinSubscription
from colsec.reports.sections import Period, build_sections, kind_of
from colsec.stix.tlp import TLP
from colsec.store import audit

__all__ = [
    "EDITORS",
    "LANGUAGES",
    "Mailer",
    "approve",
    "correct",
    "create_draft",
    "current_published",
    "get",
    "list_bulletins",
    "period_ending",
    "publish",
    "publish_data_only",
    "set_commentary",
    "set_links",
    "submit",
    "subscribe",
    "versions",
]

LANGUAGES = ("en", "ru")
EDITORS = (Role.ADMIN, Role.COORDINATOR, Role.ANALYST)
MAX_COMMENTARY = 20_000
# (bulletin, language) → (subject, plain-text body): the interfaces render with their catalogs.
Mailer = Callable[[Bulletin, str], tuple[str, str]]


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def period_ending(end: date, days: int) -> Period:
    """``days`` whole days up to (not including) midnight UTC at the start of ``end``."""
    stop = datetime.combine(end, time(0), tzinfo=UTC)
    return Period(start=stop - timedelta(days=days), end=stop)


def _editor(actor: Actor) -> None:
    if not (actor.is_system or actor.has(*EDITORS)):
        raise Forbidden(
            "only analysts, coordinators and administrators prepare bulletins", kind="bulletin_editors_only"
        )


def _readable(db: Session, actor: Actor, b: Bulletin) -> bool:
    if actor.is_operator:
        return True
    if not may_read_level(db, actor.org_id, TLP(b.audience)):
        return False
    return b.status == "published" or actor.has(*EDITORS)


def get(db: Session, *, actor: Actor, bulletin_id: int) -> Bulletin:
    """One version; a bulletin the caller may not read does not exist for it (404)."""
    b = db.get(Bulletin, bulletin_id)
    if b is None or not _readable(db, actor, b):
        raise NotFound(
            f"bulletin {bulletin_id} not found", kind="bulletin_not_found", params={"bulletin": bulletin_id}
        )
    return b


def list_bulletins(
    db: Session, *, actor: Actor, status: str | None = None, limit: int = 200
) -> list[Bulletin]:
    stmt = select(Bulletin).order_by(Bulletin.id.desc()).limit(limit * 4)
    if status:
        stmt = stmt.where(Bulletin.status == status)
    return [b for b in db.execute(stmt).scalars() if _readable(db, actor, b)][:limit]


def versions(db: Session, *, actor: Actor, series: str) -> list[Bulletin]:
    rows = db.execute(select(Bulletin).where(Bulletin.series == series).order_by(Bulletin.version)).scalars()
    return [b for b in rows if _readable(db, actor, b)]


def current_published(db: Session, *, audience: TLP | None = None, limit: int = 50) -> list[Bulletin]:
    """The latest published version of each bulletin (newest first), at one audience level if given."""
    latest = (
        select(Bulletin.series, func.max(Bulletin.version).label("v"))
        .where(Bulletin.status == "published")
        .group_by(Bulletin.series)
        .subquery()
    )
    stmt = (
        select(Bulletin)
        .join(latest, (Bulletin.series == latest.c.series) & (Bulletin.version == latest.c.v))
        .order_by(Bulletin.published_at.desc(), Bulletin.id.desc())
        .limit(limit)
    )
    if audience is not None:
        stmt = stmt.where(Bulletin.audience == int(audience))
    return list(db.execute(stmt).scalars())


def first_published_at(db: Session, series: str) -> datetime | None:
    return db.execute(
        select(func.min(Bulletin.published_at)).where(
            Bulletin.series == series, Bulletin.status == "published"
        )
    ).scalar()


def create_draft(
    db: Session,
    *,
    actor: Actor,
    kind: str,
    audience: TLP,
    end: date | None = None,
    now: datetime | None = None,
) -> Bulletin:
    """A new draft whose sections are computed now, for the audience, over the type's period."""
    _editor(actor)
    spec = kind_of(kind)
    scope = Scope.for_audience(audience)
    at = _now(now)
    period = period_ending(end or at.date(), spec.days)
    b = Bulletin(
        series=str(uuid.uuid4()),
        version=1,
        kind=spec.name,
        audience=int(audience),
        period_start=period.start,
        period_end=period.end,
        status="draft",
        sections=orjson.dumps(build_sections(db, spec, scope, period)).decode(),
        commentary="{}",
        author=actor.username,
        author_org_id=actor.org_id,
        created_at=at,
        updated_at=at,
    )
    db.add(b)
    db.flush()
    audit.record(
        db, actor=actor, action="report.draft", target=f"bulletin:{b.id}",
        details={"kind": kind, "audience": audience.name, "period": [period.start.isoformat(), period.end.isoformat()]},
    )  # fmt: skip
    return b


def _editable(db: Session, actor: Actor, bulletin_id: int) -> Bulletin:
    _editor(actor)
    b = get(db, actor=actor, bulletin_id=bulletin_id)
    if b.status != "draft":
        raise Conflict(
            f"bulletin {b.id} is {b.status}: only a draft is edited (publish a correction instead)",
            kind="bulletin_not_draft",
        )
    return b


def set_commentary(
    db: Session, *, actor: Actor, bulletin_id: int, language: str, text: str, now: datetime | None = None
) -> Bulletin:
    """The analyst's commentary in one language (each language has its own text)."""
    if language not in LANGUAGES:
        raise InvalidInput(
            f"commentary language {language!r}: one of {', '.join(LANGUAGES)}", kind="unknown_language"
        )
    if len(text) > MAX_COMMENTARY:
        raise InvalidInput(
            f"commentary is limited to {MAX_COMMENTARY} characters",
            kind="commentary_too_long",
            params={"limit": MAX_COMMENTARY},
        )
    b = _editable(db, actor, bulletin_id)
    data = orjson.loads(b.commentary)
    data[language] = text
    b.commentary = orjson.dumps(data).decode()
    b.updated_at = _now(now)
    audit.record(
        db, actor=actor, action="report.commentary", target=f"bulletin:{b.id}", details={"language": language}
    )
    return b


def set_links(
    db: Session, *, actor: Actor, bulletin_id: int, links: list[dict[str, str]], now: datetime | None = None
) -> Bulletin:
    """A joint advisory's national advisory links: member, URL and the language of the page."""
    clean = []
    for i, link in enumerate(links):
        member, url, lang = (str(link.get(k, "")).strip() for k in ("member", "url", "language"))
        if not member or not url.startswith(("https://", "http://")) or not lang:
            raise InvalidInput(
                f"link {i + 1}: member, an http(s) url and a language are required",
                kind="advisory_link_incomplete",
                params={"link": i + 1},
            )
        clean.append({"member": member[:60], "url": url[:500], "language": lang[:20]})
    b = _editable(db, actor, bulletin_id)
    if not kind_of(b.kind).advisory:
        raise InvalidInput("only a joint advisory lists national advisory links", kind="links_only_advisory")
    data = orjson.loads(b.commentary)
    data["links"] = clean
    b.commentary = orjson.dumps(data).decode()
    b.updated_at = _now(now)
    audit.record(
        db, actor=actor, action="report.links", target=f"bulletin:{b.id}", details={"links": len(clean)}
    )
    return b


def _move(db: Session, actor: Actor, b: Bulletin, to: str, now: datetime | None) -> Bulletin:
    before = b.status
    b.status = to
    b.updated_at = _now(now)
    audit.record(db, actor=actor, action=f"report.{to.replace(' ', '_')}", target=f"bulletin:{b.id}",
                 details={"from": before, "series": b.series, "version": b.version})  # fmt: skip
    return b


def submit(db: Session, *, actor: Actor, bulletin_id: int, now: datetime | None = None) -> Bulletin:
    b = _editable(db, actor, bulletin_id)
    return _move(db, actor, b, "in_review", now)


def approve(db: Session, *, actor: Actor, bulletin_id: int, now: datetime | None = None) -> Bulletin:
    """Approve a bulletin in review; its author may not (four eyes)."""
    _editor(actor)
    b = get(db, actor=actor, bulletin_id=bulletin_id)
    if b.status != "in_review":
        raise Conflict(
            f"bulletin {b.id} is {b.status}: only a bulletin in review is approved",
            kind="bulletin_not_in_review",
        )
    if actor.username == b.author:
        raise Forbidden("the approver cannot be the author of the bulletin", kind="approver_is_author")
    b.approved_by = actor.username
    return _move(db, actor, b, "approved", now)


def publish(
    db: Session, *, actor: Actor, bulletin_id: int, mailer: Mailer | None = None, now: datetime | None = None
) -> Bulletin:
    """Publish an approved bulletin and queue its e-mails; earlier versions stay readable."""
    _editor(actor)
    b = get(db, actor=actor, bulletin_id=bulletin_id)
    if b.status != "approved":
        raise Conflict(
            f"bulletin {b.id} is {b.status}: only an approved bulletin is published",
            kind="bulletin_not_approved",
        )
    b.published_at = _now(now)
    _move(db, actor, b, "published", now)
    if mailer is not None:
        distribute(db, b, mailer)
    return b


def publish_data_only(
    db: Session, *, bulletin_id: int, schedule: str, mailer: Mailer | None = None, now: datetime | None = None
) -> Bulletin:
    """The node publishes a draft of its own schedule: a data-only TLP:CLEAR bulletin, nothing else.

    No person reviews it, so nothing a person wrote may be in it: the draft must be the
    node's (authored by ``SYSTEM``), for TLP:CLEAR, with no commentary or links.  Each step is
    audited as the system's, naming the schedule; ``approve`` (four eyes) is not involved.
    """
    b = db.get(Bulletin, bulletin_id)
    if b is None:
        raise NotFound(f"bulletin {bulletin_id} not found")
    if b.status != "draft" or b.author != SYSTEM.username:
        raise Conflict(f"bulletin {b.id} is not a draft of the node's schedule")
    if b.audience != int(TLP.CLEAR) or kind_of(b.kind).advisory or any(orjson.loads(b.commentary).values()):
        raise Forbidden("only a data-only TLP:CLEAR bulletin is published without review")
    b.approved_by = SYSTEM.username
    b.published_at = _now(now)
    b.status = "published"
    b.updated_at = b.published_at
    audit.record(db, actor=SYSTEM, action="report.published", target=f"bulletin:{b.id}",
                 details={"from": "draft", "series": b.series, "version": b.version, "auto": True,
                          "schedule": schedule})  # fmt: skip
    if mailer is not None:
        distribute(db, b, mailer)
    return b


def correct(db: Session, *, actor: Actor, bulletin_id: int, now: datetime | None = None) -> Bulletin:
    """A new draft version of a published bulletin, same series, same data and commentary."""
    _editor(actor)
    old = get(db, actor=actor, bulletin_id=bulletin_id)
    if old.status != "published":
        raise Conflict(
            f"bulletin {old.id} is {old.status}: only a published bulletin is corrected",
            kind="bulletin_not_published",
        )
    top = db.execute(select(func.max(Bulletin.version)).where(Bulletin.series == old.series)).scalar() or 0
    at = _now(now)
    b = Bulletin(
        series=old.series, version=top + 1, kind=old.kind, audience=old.audience,
        period_start=old.period_start, period_end=old.period_end, status="draft",
        sections=old.sections, commentary=old.commentary, author=actor.username,
        author_org_id=actor.org_id, created_at=at, updated_at=at,
    )  # fmt: skip
    db.add(b)
    db.flush()
    audit.record(db, actor=actor, action="report.correct", target=f"bulletin:{b.id}",
                 details={"series": b.series, "version": b.version, "corrects": old.id})  # fmt: skip
    return b


def subscribe(db: Session, *, actor: Actor, email: str, language: str = "en") -> BulletinSubscription:
    """Subscribe an address of the caller's organisation to published bulletins."""
    email = email.strip()
    if "@" not in email or len(email) > 200 or any(c.isspace() for c in email):
        raise InvalidInput(f"invalid e-mail address {email!r}", kind="email_invalid", params={"email": email})
    if language not in LANGUAGES:
        raise InvalidInput(f"language {language!r}: one of {', '.join(LANGUAGES)}", kind="unknown_language")
    if actor.org_id is None:
        raise InvalidInput(
            "a subscription belongs to an organisation", kind="subscription_needs_organisation"
        )
    if not (actor.has(Role.ADMIN, Role.COORDINATOR, Role.ANALYST) or actor.is_operator):
        raise Forbidden(
            "only analysts, coordinators and administrators manage subscriptions",
            kind="subscription_editors_only",
        )
    existing = db.execute(
        select(BulletinSubscription).where(
            BulletinSubscription.organisation_id == actor.org_id, BulletinSubscription.email == email
        )
    ).scalar_one_or_none()
    if existing is not None:
        existing.language = language
        return existing
    sub = BulletinSubscription(organisation_id=actor.org_id, email=email, language=language)
    db.add(sub)
    db.flush()
    audit.record(db, actor=actor, action="report.subscribe", target=f"subscription:{sub.id}")
    return sub


def distribute(db: Session, b: Bulletin, mailer: Mailer) -> int:
    """One outbox e-mail per subscriber whose organisation may read the bulletin's level."""
    level = TLP(b.audience)
    out = []
    for sub in db.execute(select(BulletinSubscription).order_by(BulletinSubscription.id)).scalars():
        if not may_read_level(db, sub.organisation_id, level):
            continue
        subject, body = mailer(b, sub.language)
        out.append(
            Outgoing(
                channel=Channel.EMAIL,
                destination=sub.email,
                event="report.published",
                idempotency_key=f"bulletin:{b.id}:subscription:{sub.id}",
                org_id=sub.organisation_id,
                payload={"subject": subject, "body": body},
            )  # fmt: skip
        )
    return put(db, out)


def sections_of(b: Bulletin) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(b.sections)
    return data


def commentary_of(b: Bulletin) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(b.commentary)
    return data
