"""SQLite and PostgreSQL: a full batch's ids are looked up on the writer thread while the next
batch is read (issue 20).  Only a batch none of whose ids is stored skips the gate's lookup of held versions;
a batch naming an id stored before the import or by the batch before it is decided as before."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from colsec.accounts.roles import SYSTEM
from colsec.db import Database
from colsec.stix.tlp import TLP
from colsec.store import batches, inserts, service
from colsec.store.service import BATCH_SIZE, ImportResult, import_objects


def _indicator(oid: str | None = None, modified: str = "2026-01-01T00:00:00.000Z") -> dict[str, Any]:
    return {
        "type": "indicator", "spec_version": "2.1", "id": oid or f"indicator--{uuid.uuid4()}",
        "created": "2026-01-01T00:00:00.000Z", "modified": modified,
        "pattern": f"[domain-name:value = 'h{uuid.uuid4().hex}.example']", "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
    }  # fmt: skip


def _import_and_flags(
    database: Database, objects: list[dict[str, Any]], oid: str
) -> tuple[ImportResult, list[tuple[str, bool]]]:
    """The import's report and the (month, latest flag) of each stored version of ``oid``."""
    with database.unit_of_work() as s:
        r = import_objects(s, actor=SYSTEM, objects=objects, default_tlp=TLP.CLEAR)
        rows = s.execute(
            text("SELECT modified, is_latest FROM stix_object WHERE id = :id ORDER BY modified"), {"id": oid}
        ).all()
    return r, [(m[:7], bool(flag)) for m, flag in rows]


def _counted(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[int]:
    """How many ids each call of ``module.name`` was given."""
    calls: list[int] = []
    real = getattr(module, name)

    def counted(conn: Any, ids: list[str]) -> Any:
        calls.append(len(ids))
        return real(conn, ids)

    monkeypatch.setattr(module, name, counted)
    return calls


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The batch sizes the gate looked held versions up for, through the session."""
    return _counted(monkeypatch, batches, "held_versions")


@pytest.fixture
def probes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The batch sizes the writer thread probed the store for (``any_held``)."""
    return _counted(monkeypatch, service, "any_held")


def test_fresh_batches_skip_the_lookup(
    database: Database, lookups: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "FEW_STORED", 0)
    with database.unit_of_work() as s:  # a store holding more than a few: its index is probed
        import_objects(s, actor=SYSTEM, objects=[_indicator()], default_tlp=TLP.CLEAR)
    lookups.clear()
    objects = [_indicator() for _ in range(3 * BATCH_SIZE + 5)]
    with database.unit_of_work() as s:
        r = import_objects(s, actor=SYSTEM, objects=objects, default_tlp=TLP.CLEAR)
    assert r.inserted == len(objects)
    assert lookups == [5]  # only the last batch, stored at once with nothing to overlap


def test_ids_stored_before_or_a_batch_earlier_are_decided_as_before(
    database: Database, lookups: list[int]
) -> None:
    earlier = _indicator()
    with database.unit_of_work() as s:
        import_objects(s, actor=SYSTEM, objects=[earlier], default_tlp=TLP.CLEAR)
    lookups.clear()
    first = [_indicator() for _ in range(BATCH_SIZE)]
    again = _indicator(first[-1]["id"], "2026-02-01T00:00:00.000Z")  # a newer version, next batch
    second = [again, dict(earlier), *(_indicator() for _ in range(BATCH_SIZE - 2))]
    third = [_indicator() for _ in range(BATCH_SIZE)]
    r, latest = _import_and_flags(database, [*first, *second, *third], again["id"])
    assert r.inserted == 3 * BATCH_SIZE - 1
    assert r.unchanged == 1  # the version stored before the import
    assert latest == [("2026-01", False), ("2026-02", True)]
    assert lookups == [BATCH_SIZE]  # the second batch only: the first and third name no stored id


def test_into_an_empty_store_only_the_units_own_ids_are_looked_up(
    database: Database, lookups: list[int], probes: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing stored as the unit began: whether a batch names a held id is answered from the
    unit's own ids (``colsec.store.seen.UnitIds``), with no probe of the store; a batch naming an
    id of an earlier batch is still decided against its stored version."""
    first = [_indicator() for _ in range(BATCH_SIZE)]
    again = _indicator(first[3]["id"], "2026-02-01T00:00:00.000Z")
    second = [*(_indicator() for _ in range(BATCH_SIZE - 1)), again]
    third = [_indicator() for _ in range(BATCH_SIZE)]
    r, latest = _import_and_flags(database, [*first, *second, *third], again["id"])
    assert r.inserted == 3 * BATCH_SIZE
    assert latest == [("2026-01", False), ("2026-02", True)]
    assert probes == []
    assert lookups == [BATCH_SIZE]  # the second batch only, not even the last one's (stored inline)


def test_a_fresh_batch_is_decided_while_the_writer_writes_the_batch_before(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch none of whose ids can be stored needs no lookup: it is decided before the batch
    ahead of it is drained.  Each of the first writer jobs waits here for the next batch's
    decision; were that decision made after the drain, the job would wait in vain."""
    monkeypatch.setattr(service, "BATCH_SIZE", 50)
    decisions = 0
    turn = threading.Condition()
    waited: list[bool] = []
    real_decide = batches._decide

    def deciding(*args: Any, **kwargs: Any) -> Any:
        nonlocal decisions
        with turn:
            decisions += 1
            turn.notify_all()
        return real_decide(*args, **kwargs)

    def held_until_next_decided(real: Callable[..., Any]) -> Callable[..., Any]:
        def job(*args: Any) -> Any:
            n = len(waited) + 1  # the writer runs one job at a time: this is batch n's
            if n <= 2:  # later batches end the unit: drained with no batch after them
                with turn:
                    waited.append(turn.wait_for(lambda: decisions > n, timeout=10))
            else:
                waited.append(True)
            return real(*args)

        return job

    monkeypatch.setattr(batches, "_decide", deciding)
    monkeypatch.setattr(inserts, "_write_index", held_until_next_decided(inserts._write_index))
    monkeypatch.setattr(inserts, "_copy_index_raw", held_until_next_decided(inserts._copy_index_raw))
    objects = [_indicator() for _ in range(5 * 50 + 5)]
    with database.unit_of_work() as s:
        r = import_objects(s, actor=SYSTEM, objects=objects, default_tlp=TLP.CLEAR)
        stored = s.execute(text("SELECT count(*) FROM stix_object WHERE type = 'indicator'")).scalar()
    assert waited[:2] == [True, True]
    assert r.inserted == stored == len(objects)


def test_into_a_store_of_few_objects_their_ids_and_the_units_own_answer(
    database: Database, lookups: list[int], probes: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store of a few objects (a new node's own identities) has its ids read once: no batch
    probes the store, and a batch naming one of them or an id of an earlier batch is still
    decided against the stored version."""
    earlier = [_indicator() for _ in range(3)]
    with database.unit_of_work() as s:
        import_objects(s, actor=SYSTEM, objects=earlier, default_tlp=TLP.CLEAR)
    lookups.clear()
    first = [_indicator() for _ in range(BATCH_SIZE)]
    again = _indicator(first[3]["id"], "2026-02-01T00:00:00.000Z")
    second = [*(_indicator() for _ in range(BATCH_SIZE - 1)), again]
    third = [*(_indicator() for _ in range(BATCH_SIZE - 1)), dict(earlier[1])]
    fourth = [_indicator() for _ in range(BATCH_SIZE)]
    r, latest = _import_and_flags(database, [*first, *second, *third, *fourth], again["id"])
    assert r.inserted == 4 * BATCH_SIZE - 1
    assert r.unchanged == 1  # the version stored before the import
    assert latest == [("2026-01", False), ("2026-02", True)]
    assert probes == []
    assert lookups == [BATCH_SIZE, BATCH_SIZE]  # the second batch and the third, no other


def test_a_store_of_more_than_few_objects_is_probed_per_batch(
    database: Database, lookups: list[int], probes: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "FEW_STORED", 2)
    earlier = [_indicator() for _ in range(3)]
    with database.unit_of_work() as s:
        import_objects(s, actor=SYSTEM, objects=earlier, default_tlp=TLP.CLEAR)
    lookups.clear()
    objects = [*(_indicator() for _ in range(2 * BATCH_SIZE - 1)), dict(earlier[0]), _indicator()]
    with database.unit_of_work() as s:
        r = import_objects(s, actor=SYSTEM, objects=objects, default_tlp=TLP.CLEAR)
    assert r.inserted == len(objects) - 1 and r.unchanged == 1
    assert probes == [BATCH_SIZE, BATCH_SIZE]  # the full batches, each probed on the writer thread
    assert lookups == [BATCH_SIZE, 1]  # the second names a stored id; the last is looked up inline
