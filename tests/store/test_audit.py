"""The audit chain detects an edited or a removed row."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from colsec.accounts.roles import SYSTEM
from colsec.db import Database
from colsec.store import audit
from colsec.store.models import AuditEntry


def _history(database: Database, n: int = 5) -> None:
    with database.unit_of_work() as s:
        for i in range(n):
            audit.record(s, actor=SYSTEM, action="test.event", target=f"t{i}", details={"i": i})


def test_verify_passes_on_normal_history(database: Database) -> None:
    _history(database)
    with database.unit_of_work(write=False) as s:
        result = audit.verify(s)
    assert result.ok and result.rows == 5


def test_verify_fails_after_edit(database: Database) -> None:
    _history(database)
    with database.unit_of_work() as s:
        third = s.execute(select(AuditEntry.id).order_by(AuditEntry.id).offset(2).limit(1)).scalar_one()
        s.execute(update(AuditEntry).where(AuditEntry.id == third).values(details='{"i": 99}'))
    with database.unit_of_work(write=False) as s:
        result = audit.verify(s)
    assert not result.ok and result.row_id == third and "altered" in (result.problem or "")


def test_verify_fails_after_deleting_a_row(database: Database) -> None:
    _history(database)
    with database.unit_of_work() as s:
        second = s.execute(select(AuditEntry.id).order_by(AuditEntry.id).offset(1).limit(1)).scalar_one()
        s.execute(delete(AuditEntry).where(AuditEntry.id == second))
    with database.unit_of_work(write=False) as s:
        result = audit.verify(s)
    assert not result.ok and "does not follow" in (result.problem or "")


def test_rehashing_an_edited_row_still_breaks_the_next_link(database: Database) -> None:
    """An attacker who recomputes the edited row's own hash still breaks its successor's link."""
    _history(database)
    with database.unit_of_work() as s:
        rows = list(s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars())
        victim = rows[1]
        victim.details = '{"i": 42}'
        victim.hash = audit._digest(
            victim.prev_hash,
            victim.at,
            victim.actor,
            victim.organisation,
            victim.action,
            victim.target,
            victim.details,
        )
    with database.unit_of_work(write=False) as s:
        result = audit.verify(s)
    assert not result.ok and result.row_id == rows[2].id
