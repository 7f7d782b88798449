"""The alert inbox: duplicates merged by (asset, value), the workflow per organisation, and
acknowledgement-tracked escalation under a controlled clock (``now=``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from colsec.accounts import service as accounts
from colsec.accounts.roles import SYSTEM, Actor, Role
from colsec.crisis.models import Notification
from colsec.crisis.notify import notify
from colsec.errors import Conflict, Forbidden, InvalidInput, NotFound
from colsec.intel import inbox
from colsec.intel.alerts import count_by_state, list_alerts, new_count
from colsec.intel.assets import create_asset
from colsec.intel.escalation import EscalationPolicy, escalate_due
from colsec.intel.models import Alert
from colsec.intel.schemas import AssetIn
from colsec.outbox.models import OutboxMessage
from colsec.store.models import AuditEntry

from .conftest import Orgs, indicator, sighting

POLICY = EscalationPolicy(deputies_after=timedelta(minutes=15), centre_after=timedelta(minutes=60))


def _asset(db: Session, orgs: Orgs, criticality: str = "critical") -> int:
    asset = create_asset(
        db, actor=orgs.actor("A"),
        data=AssetIn(name="water plant", sector="water", criticality=criticality, ip_ranges=["203.0.113.0/24"]),
    )  # fmt: skip
    return asset.id


def _person(db: Session, orgs: Orgs, short: str, username: str, role: Role) -> Actor:
    org = orgs(short)
    user = accounts.create_user(
        db,
        actor=SYSTEM,
        username=username,
        password=None,
        role=role,
        org=org,
        email=f"{username}@example.org",
    )
    return Actor(username=username, role=role, org_id=org.id, org_short_name=short, user_id=user.id)


def _audits(db: Session, action: str) -> int:
    return int(db.execute(select(func.count()).where(AuditEntry.action == action)).scalar_one())


def test_same_value_is_one_alert_with_a_count(db: Session, orgs: Orgs, intel_hook: object) -> None:
    orgs("ACC", kind="crisis_centre")
    a = orgs("A")
    orgs("B")
    _asset(db, orgs)
    same = [indicator(f"dup{i}", "ipv4", "203.0.113.9") for i in range(7)]
    orgs.add("B", same)
    orgs.add("B", [sighting("dup-s", same[0]["id"], created="2026-11-21T10:00:00.000Z")])
    orgs.add("B", [indicator("other", "ipv4", "203.0.113.10")])
    views = list_alerts(db, org_id=a.id, kind="exposure")
    assert sorted((v.value, v.count) for v in views) == [("203.0.113.10", 1), ("203.0.113.9", 8)]
    assert db.execute(select(func.count()).select_from(Alert)).scalar_one() == 2
    assert new_count(db, org_id=a.id) == 2


def test_workflow_new_acknowledged_in_progress_closed(db: Session, orgs: Orgs, intel_hook: object) -> None:
    a = orgs("A")
    orgs("B")
    _asset(db, orgs, criticality="medium")
    orgs.add("B", [indicator("w1", "ipv4", "203.0.113.20")])
    (alert,) = list_alerts(db, org_id=a.id)
    analyst = _person(db, orgs, "A", "ana", Role.ANALYST)
    colleague = _person(db, orgs, "A", "bob", Role.ANALYST)
    viewer = _person(db, orgs, "A", "vic", Role.VIEWER)
    stranger = _person(db, orgs, "B", "eve", Role.ANALYST)
    at = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)

    with pytest.raises(Forbidden):
        inbox.acknowledge(db, actor=viewer, alert_id=alert.id)
    with pytest.raises(NotFound):  # another organisation's alert does not exist for it
        inbox.acknowledge(db, actor=stranger, alert_id=alert.id)

    view = inbox.acknowledge(db, actor=analyst, alert_id=alert.id, now=at)
    assert (view.state, view.acknowledged_by, view.acknowledged_at) == (
        "acknowledged",
        "ana",
        "2026-12-07T09:30:00.000000Z",
    )
    with pytest.raises(Conflict):
        inbox.acknowledge(db, actor=colleague, alert_id=alert.id)
    with pytest.raises(InvalidInput, match="assignee"):
        inbox.assign(db, actor=analyst, alert_id=alert.id, username="eve")
    assert inbox.assign(db, actor=analyst, alert_id=alert.id, username="bob").assigned_to == "bob"
    view = inbox.start(db, actor=colleague, alert_id=alert.id)
    assert (view.state, view.assigned_to) == ("in_progress", "bob")
    with pytest.raises(InvalidInput, match="reason"):
        inbox.close(db, actor=colleague, alert_id=alert.id, reason="  ")
    view = inbox.close(db, actor=colleague, alert_id=alert.id, reason="blocked at the firewall", now=at)
    assert (view.state, view.closed_by, view.close_reason) == ("closed", "bob", "blocked at the firewall")
    with pytest.raises(Conflict):
        inbox.start(db, actor=analyst, alert_id=alert.id)
    assert count_by_state(db, org_id=a.id) == {"new": 0, "acknowledged": 0, "in_progress": 0, "closed": 1}
    assert [v.id for v in list_alerts(db, org_id=a.id, state="open")] == []
    for action in ("alert.acknowledge", "alert.assign", "alert.start", "alert.close"):
        assert _audits(db, action) == 1, action


def test_unacknowledged_critical_alert_escalates_to_deputies_then_centre(
    db: Session, orgs: Orgs, intel_hook: object
) -> None:
    acc = orgs("ACC", kind="crisis_centre")
    a = orgs("A")
    orgs("B")
    _person(db, orgs, "A", "ana", Role.ANALYST)
    rep = _person(db, orgs, "A", "rep", Role.REPRESENTATIVE)
    coord = _person(db, orgs, "ACC", "coord", Role.COORDINATOR)
    _asset(db, orgs, criticality="critical")
    orgs.add("B", [indicator("c1", "ipv4", "203.0.113.30"), indicator("c2", "ipv4", "203.0.113.31")])
    first, second = sorted(list_alerts(db, org_id=a.id), key=lambda v: v.id)
    assert first.severity == "critical"
    analyst = Actor(username="ana", role=Role.ANALYST, org_id=a.id, org_short_name="A", user_id=rep.user_id)
    inbox.acknowledge(db, actor=analyst, alert_id=second.id)  # acknowledged in time: never escalates
    t0 = datetime.now(UTC)

    def told(user_id: int | None) -> list[str]:
        return list(db.execute(select(Notification.target).where(Notification.user_id == user_id)).scalars())

    assert escalate_due(db, policy=POLICY, notify=notify, now=t0 + timedelta(minutes=14)) == []
    steps = escalate_due(db, policy=POLICY, notify=notify, now=t0 + timedelta(minutes=16))
    assert [(s["alert_id"], s["step"], s["users_told"]) for s in steps] == [(first.id, "deputies", 1)]
    assert told(rep.user_id) == [f"alert:{first.id}"] and told(coord.user_id) == []
    assert escalate_due(db, policy=POLICY, notify=notify, now=t0 + timedelta(minutes=30)) == []
    steps = escalate_due(db, policy=POLICY, notify=notify, now=t0 + timedelta(minutes=61))
    assert [(s["alert_id"], s["step"]) for s in steps] == [(first.id, "crisis_centre")]
    assert told(coord.user_id) == [f"alert:{first.id}"]
    assert escalate_due(db, policy=POLICY, notify=notify, now=t0 + timedelta(hours=5)) == []
    # the crisis centre's own copy does not escalate; each step was audited and e-mailed
    assert _audits(db, "alert.escalate") == 2
    mails = db.execute(
        select(OutboxMessage.destination).where(OutboxMessage.event == "intel.alert_escalated")
    )
    assert sorted(mails.scalars()) == ["coord@example.org", "rep@example.org"]
    assert list_alerts(db, org_id=a.id, state="new")[0].escalation == 2
    assert all(v.escalation == 0 for v in list_alerts(db, org_id=acc.id))


def test_escalation_runs_as_the_wired_job(
    db: Session, orgs: Orgs, intel_hook: object, settings: object
) -> None:
    from colsec.intel.escalation import ESCALATE_KIND
    from colsec.job_wiring import handlers_for, schedules_for

    assert ESCALATE_KIND in handlers_for(settings)  # type: ignore[arg-type]
    assert any(s.kind == ESCALATE_KIND for s in schedules_for(settings))  # type: ignore[arg-type]


def test_migration_merges_existing_copies_by_asset_and_value(tmp_path: object) -> None:
    """Old exposure alerts (one per indicator) become one per (asset, value), recipients carried over."""
    from pathlib import Path

    import sqlalchemy as sa
    from alembic import command

    from colsec.migrations import alembic_config

    assert isinstance(tmp_path, Path)
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    command.upgrade(alembic_config(url), "intel_domain")
    now = "2026-12-01T10:00:00.000000Z"
    with engine.begin() as conn:
        for i, short in ((1, "A"), (2, "ACC")):
            conn.execute(
                sa.text("INSERT INTO organisation (id, name, short_name, identity_id, kind, created_at) "
                        "VALUES (:i, :n, :s, :d, 'member', CURRENT_TIMESTAMP)"),
                {"i": i, "n": f"{short} agency", "s": short, "d": f"identity--{i}"},
            )  # fmt: skip
        conn.execute(
            sa.text("INSERT INTO asset (id, organisation_id, name, sector, criticality, ip_ranges, domains, cpes, "
                    "description, created_at) VALUES (1, 1, 'plant', 'water', 4, '[]', '[]', '[]', '', CURRENT_TIMESTAMP)")
        )  # fmt: skip
        reasons = ["203.0.113.9 in 203.0.113.0/24"] * 3 + ["x.plant.example under plant.example"]
        for n, reason in enumerate(reasons, start=1):
            conn.execute(
                sa.text("INSERT INTO alert (id, kind, dedupe_key, severity, title, asset_id, details, created_at, "
                        "updated_at) VALUES (:i, 'exposure', :k, 'critical', 't', 1, :d, :t, :t)"),
                {"i": n, "k": f"exposure:obj:indicator--{n}:asset:1", "d": f'{{"reason": "{reason}"}}', "t": now},
            )  # fmt: skip
            orgs = [1, 2] if n == 2 else [1]
            for org in orgs:
                conn.execute(
                    sa.text(
                        "INSERT INTO alert_recipient (alert_id, organisation_id, created_at) VALUES (:a, :o, :t)"
                    ),
                    {"a": n, "o": org, "t": now},
                )
    command.upgrade(alembic_config(url), "heads")
    with engine.connect() as conn:
        alerts = conn.execute(sa.text("SELECT id, dedupe_key, value FROM alert ORDER BY id")).all()
        recipients = conn.execute(
            sa.text(
                "SELECT alert_id, organisation_id, state FROM alert_recipient ORDER BY alert_id, organisation_id"
            )
        ).all()
    engine.dispose()
    assert [tuple(a) for a in alerts] == [
        (1, "exposure:asset:1:value:203.0.113.9", "203.0.113.9"),
        (4, "exposure:asset:1:value:x.plant.example", "x.plant.example"),
    ]
    assert [tuple(r) for r in recipients] == [(1, 1, "new"), (1, 2, "new"), (4, 1, "new")]
