"""Scheduled drafts under a controlled clock: one a day, and one catch-up after downtime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from colsec.db import Database
from colsec.reports.models import Bulletin
from colsec.reports.schedule import SCHEDULE_KIND, latest_slot, run_due, set_schedule
from colsec.stix.tlp import TLP

DAY0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def _drafts(database: Database) -> list[tuple[str, str]]:
    with database.unit_of_work(write=False) as s:
        return [
            (b.kind, f"{b.period_start:%Y-%m-%d}")
            for b in s.execute(select(Bulletin).order_by(Bulletin.id)).scalars()
        ]


def _run(database: Database, at: datetime) -> int:
    with database.unit_of_work() as s:
        return len(run_due(s, now=at))


def test_daily_schedule_drafts_once_a_day_and_catches_up_once_after_three_days_down(
    database: Database,
) -> None:
    with database.unit_of_work() as s:
        set_schedule(s, kind="daily", audience=TLP.CLEAR, hour=7)
    # the first run after the schedule is set drafts the latest slot (yesterday 07:00 at 06:00)
    assert _run(database, DAY0) == 1
    assert _run(database, DAY0 + timedelta(minutes=30)) == 0  # same slot: nothing more
    for day in range(3):  # on time, every minute around the slot: one draft a day
        slot = DAY0.replace(hour=7) + timedelta(days=day)
        assert _run(database, slot - timedelta(minutes=1)) == 0
        assert _run(database, slot) == 1
        assert _run(database, slot + timedelta(minutes=1)) == 0
    # down for three days: the node comes back at 09:00 on day 5 and drafts once, for the latest slot
    back = DAY0.replace(hour=9) + timedelta(days=5)
    assert _run(database, back) == 1
    assert _run(database, back + timedelta(hours=1)) == 0
    periods = [p for _k, p in _drafts(database)]
    assert periods == ["2026-11-29", "2026-11-30", "2026-12-01", "2026-12-02", "2026-12-05"]


def test_weekly_and_monthly_slots() -> None:
    wed = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert latest_slot("weekly", 7, 0, wed) == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # Monday
    assert latest_slot("monthly", 7, 0, wed) == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    assert latest_slot("monthly", 7, 0, datetime(2026, 12, 1, 6, 0, tzinfo=UTC)) == datetime(
        2026, 11, 1, 7, 0, tzinfo=UTC
    )


def test_the_schedule_runs_as_a_durable_job(app, database: Database) -> None:  # type: ignore[no-untyped-def]
    from colsec.accounts.roles import SYSTEM
    from colsec.job_wiring import handlers_for, schedules_for
    from colsec.jobs.queue import enqueue

    settings = app.state.settings
    assert SCHEDULE_KIND in handlers_for(settings)
    assert SCHEDULE_KIND in {sch.kind for sch in schedules_for(settings)}
    with database.unit_of_work() as s:
        set_schedule(s, kind="weekly", audience=TLP.GREEN, hour=7)
        enqueue(s, kind=SCHEDULE_KIND, payload={}, actor=SYSTEM)
    runner = app.state.node.job_runner(schedules=())
    assert runner.run_once() >= 1
    with database.unit_of_work(write=False) as s:
        assert (
            s.execute(select(func.count()).select_from(Bulletin).where(Bulletin.kind == "weekly")).scalar()
            == 1
        )


def test_a_data_only_clear_schedule_publishes_by_itself_and_the_feed_shows_it(
    client, database: Database
) -> None:  # type: ignore[no-untyped-def]
    from colsec.store.models import AuditEntry

    with database.unit_of_work() as s:
        set_schedule(s, kind="daily", audience=TLP.CLEAR, hour=7, auto_publish=True)
    before = client.get("/public/feed.atom").text
    at = DAY0.replace(hour=7)
    assert _run(database, at) == 1
    with database.unit_of_work(write=False) as s:
        b = s.execute(select(Bulletin)).scalar_one()
        assert (b.status, b.author, b.approved_by) == ("published", "system", "system")
        assert b.published_at is not None and b.published_at.replace(tzinfo=UTC) == at
        audit = s.execute(
            select(AuditEntry.actor, AuditEntry.details).where(
                AuditEntry.action == "report.published", AuditEntry.target == f"bulletin:{b.id}"
            )
        ).one()
        bid, series = b.id, b.series
    assert audit[0] == "system" and '"auto":true' in audit[1].replace(" ", "")
    assert f"/public/bulletins/{bid}" not in before
    feed = client.get("/public/feed.atom").text
    assert f"/public/bulletins/{bid}" in feed and f"urn:uuid:{series}" in feed


def test_green_amber_or_commentary_schedules_never_publish_by_themselves(database: Database) -> None:
    from colsec.errors import InvalidInput
    from colsec.reports.models import BulletinSchedule

    with database.unit_of_work() as s:
        for kind, level, commentary in (
            ("daily", TLP.GREEN, False), ("weekly", TLP.AMBER, False), ("monthly", TLP.CLEAR, True),
            ("joint_advisory", TLP.CLEAR, False),
        ):  # fmt: skip
            with pytest.raises(InvalidInput, match="data-only TLP:CLEAR"):
                set_schedule(s, kind=kind, audience=level, hour=7, commentary=commentary, auto_publish=True)
            set_schedule(s, kind=kind, audience=level, hour=7, commentary=commentary)
        # rows changed behind the service (a hand edit, an old tool) still never auto-publish
        for row in s.execute(select(BulletinSchedule)).scalars():
            row.auto_publish = True
    assert _run(database, datetime(2026, 12, 7, 8, 0, tzinfo=UTC)) == 4  # Monday the 7th: all four due
    with database.unit_of_work(write=False) as s:
        statuses = sorted(s.execute(select(Bulletin.kind, Bulletin.status)).all())
    assert statuses == [
        ("daily", "draft"), ("joint_advisory", "draft"), ("monthly", "draft"), ("weekly", "draft")
    ]  # fmt: skip
