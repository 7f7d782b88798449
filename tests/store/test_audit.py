"""The audit chain detects an edited or a removed row, and (anchored) a cut or rewritten tail."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from sqlalchemy import delete, select, update

from colsec.accounts.roles import SYSTEM
from colsec.db import Database
from colsec.store import audit
from colsec.store.audit_anchor import CHECKPOINT_FILE, AuditAnchor
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


# Finding 12: the head is anchored by signed checkpoints kept apart from the database.


def _anchor(tmp_path: Path, every: int = 1000) -> AuditAnchor:
    return AuditAnchor(tmp_path / CHECKPOINT_FILE, secret="test-secret", node="node-a", every=every)


def _anchored_history(database: Database, anchor: AuditAnchor, n: int = 6) -> None:
    _history(database, n)
    with database.unit_of_work(write=False) as s:
        assert anchor.checkpoint(s) is not None


def _verify(database: Database, anchor: AuditAnchor) -> audit.VerifyResult:
    with database.unit_of_work(write=False) as s:
        return audit.verify_anchored(s, anchor)


def test_finding_12_intact_chain_passes_with_checkpoints(database: Database, tmp_path: Path) -> None:
    anchor = _anchor(tmp_path)
    _anchored_history(database, anchor)
    _history(database, 2)  # rows after the checkpoint are fine: the log only grows
    result = _verify(database, anchor)
    assert result.ok and result.rows == 8 and result.checkpoints == 1


def test_finding_12_truncated_audit_tail_detected(database: Database, tmp_path: Path) -> None:
    anchor = _anchor(tmp_path)
    _anchored_history(database, anchor)
    with database.unit_of_work() as s:
        ids = list(s.execute(select(AuditEntry.id).order_by(AuditEntry.id)).scalars())
        s.execute(delete(AuditEntry).where(AuditEntry.id.in_(ids[-2:])))
    with database.unit_of_work(write=False) as s:
        assert audit.verify(s).ok  # the bare chain cannot see it: that was the finding
    result = _verify(database, anchor)
    assert not result.ok
    assert result.problem is not None
    assert result.problem.startswith(f"2 rows after id {ids[-3]} missing; checkpoint of ")
    assert f"ending at id {ids[-1]}" in result.problem


def test_finding_12_rewritten_audit_tail_detected(database: Database, tmp_path: Path) -> None:
    """Whoever recomputes the chain consistently from an edited row on still differs from the anchor."""
    anchor = _anchor(tmp_path)
    _history(database, 3)
    with database.unit_of_work(write=False) as s:
        first = anchor.checkpoint(s)
    _anchored_history(database, anchor, 3)
    with database.unit_of_work() as s:
        rows = list(s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars())
        prev = rows[3].prev_hash
        for row in rows[3:]:
            row.details = '{"i": 0}'
            row.prev_hash = prev
            row.hash = audit._digest(
                prev, row.at, row.actor, row.organisation, row.action, row.target, row.details
            )
            prev = row.hash
    with database.unit_of_work(write=False) as s:
        assert audit.verify(s).ok
    result = _verify(database, anchor)
    assert not result.ok and result.row_id == rows[-1].id
    assert first is not None and f"rewritten after id {first.last_id}" in (result.problem or "")


def test_finding_12_forged_or_missing_checkpoints_fail(database: Database, tmp_path: Path) -> None:
    anchor = _anchor(tmp_path)
    _anchored_history(database, anchor)
    line = orjson.loads(anchor.path.read_bytes().splitlines()[0])
    anchor.path.write_bytes(orjson.dumps({**line, "rows": 3}) + b"\n")  # edited without the secret
    result = _verify(database, anchor)
    assert not result.ok and "bad signature" in (result.problem or "")
    anchor.path.unlink()
    result = _verify(database, anchor)
    assert not result.ok and "no checkpoint anchors" in (result.problem or "")


def test_finding_12_record_anchors_committed_head_every_n_rows(database: Database, tmp_path: Path) -> None:
    anchor = _anchor(tmp_path, every=2)
    database = database.wired(audit_anchor=anchor)
    for _ in range(3):
        with database.unit_of_work() as s:
            for i in range(3):  # several rows in one transaction: only the committed head is anchored
                audit.record(s, actor=SYSTEM, action="test.event", target=f"t{i}")
    with pytest.raises(RuntimeError), database.unit_of_work() as s:
        audit.record(s, actor=SYSTEM, action="test.rolled-back")
        raise RuntimeError
    found, problems = anchor.read()
    assert not problems and found and all(cp.rows % 3 == 0 for cp in found)
    assert _verify(database, anchor).ok


def test_finding_12_peer_copy_catches_rewritten_local_anchor(database: Database, tmp_path: Path) -> None:
    """An attacker holding the secret may re-sign the local file; the copy a peer kept still differs."""
    anchor = _anchor(tmp_path)
    _anchored_history(database, anchor)
    peer_copy = anchor.latest()
    assert peer_copy is not None
    with database.unit_of_work() as s:
        last = s.execute(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)).scalar_one()
        s.execute(delete(AuditEntry).where(AuditEntry.id == last))
    anchor.path.unlink()
    with database.unit_of_work(write=False) as s:
        anchor.checkpoint(s)  # a fresh, genuine anchor of the truncated log
        assert audit.verify_anchored(s, anchor).ok
        result = audit.verify_anchored(s, anchor, extra=[peer_copy])
    assert not result.ok and "1 rows after id" in (result.problem or "")
