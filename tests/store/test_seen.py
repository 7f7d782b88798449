"""A unit's repeated versions: caught however far apart they arrive, in bounded memory."""

from __future__ import annotations

import copy
import tracemalloc
import uuid

import pytest
from sqlalchemy import func, select

from colsec.accounts.roles import SYSTEM
from colsec.db import Database
from colsec.errors import InvalidInput
from colsec.store import seen, service
from colsec.store.models import StixObject
from colsec.store.seen import SeenVersions, body_digest, version_key
from colsec.store.service import import_objects


def _indicator(n: int) -> dict[str, object]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "pattern": f"[ipv4-addr:value = '198.51.100.{n % 250}']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
    }


def test_repeats_are_found_before_and_after_spilling() -> None:
    versions = SeenVersions(recent=3)
    keys = [version_key(f"indicator--{i}", "2026-01-01T00:00:00.000Z") for i in range(10)]
    digests = [body_digest(str(i).encode()) for i in range(10)]
    assert [versions.recent(k, d) for k, d in zip(keys[:2], digests, strict=False)] == [None, None]
    assert versions.recent(keys[0], b"other") == digests[0]  # a recent repeat answers at once
    for k, d in zip(keys[2:], digests[2:], strict=True):
        assert versions.recent(k, d) is None
        versions.spill()
    assert len(versions) == 10
    # spilled versions are found by the batch check; unknown keys are not
    assert versions.older([keys[1], version_key("indicator--x", "m"), keys[8]]) == [
        digests[1],
        None,
        digests[8],
    ]


def test_first_arrival_stays_the_reference_after_a_spilled_repeat() -> None:
    versions = SeenVersions(recent=2)
    a, b = version_key("a", "m"), version_key("b", "m")
    versions.recent(a, b"first-digest-016")
    versions.recent(b, b"other-digest-016")
    versions.spill()
    assert versions.recent(a, b"second-digest-16") is None  # not recent any more: batch check decides
    assert versions.older([a]) == [b"first-digest-016"]
    versions.spill()
    assert versions.older([a]) == [b"first-digest-016"]


def test_memory_per_version_is_bounded() -> None:
    """200,000 versions (a large MISP event's objects) in a few MB, not a dict's ~35 MB."""
    versions = SeenVersions()
    tracemalloc.start()
    try:
        for i in range(200_000):
            versions.recent(version_key(f"indicator--{i}", "m"), body_digest(str(i).encode()))
            if i % 1000 == 999:
                versions.spill()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(versions) == 200_000
    assert held < 12_000_000, held


@pytest.fixture
def small_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 2 and 4 recent versions, so repeats far apart go through the spilled table."""
    monkeypatch.setattr(seen, "RECENT", 4)
    monkeypatch.setattr(service, "BATCH_SIZE", 2)


def _count(database: Database) -> int:
    with database.unit_of_work(write=False) as s:
        return int(s.execute(select(func.count()).select_from(StixObject)).scalar_one())


@pytest.mark.usefixtures("small_windows")
def test_far_identical_repeat_is_unchanged(database: Database) -> None:
    objects = [_indicator(i) for i in range(12)]
    with database.unit_of_work() as s:
        result = import_objects(s, actor=SYSTEM, objects=[*objects, copy.deepcopy(objects[0])])
    assert (result.received, result.inserted, result.unchanged) == (13, 12, 1)
    assert _count(database) == 12


@pytest.mark.usefixtures("small_windows")
def test_far_conflicting_repeat_refuses_the_unit(database: Database) -> None:
    objects = [_indicator(i) for i in range(12)]
    changed = copy.deepcopy(objects[1])
    changed["name"] = "different"
    with pytest.raises(InvalidInput, match="appears twice") as exc:
        with database.unit_of_work() as s:
            import_objects(s, actor=SYSTEM, objects=[*objects, changed])
    assert str(objects[1]["id"]) in exc.value.message
    assert _count(database) == 0


def test_unit_ids_find_an_id_in_the_recent_set_and_in_the_spilled_table() -> None:
    ids = seen.UnitIds(recent=4)
    batches = [[f"indicator--{uuid.uuid4()}" for _ in range(3)] for _ in range(5)]
    for batch in batches:
        assert not ids.any_of(batch)
        assert ids.answer(batch).result() is False
    for batch in batches:  # the early ones spilled into the table, the last one still recent
        assert ids.any_of([f"indicator--{uuid.uuid4()}", batch[1]])
        assert ids.answer([batch[2]]).result() is True
    assert not ids.any_of([f"indicator--{uuid.uuid4()}" for _ in range(50)])
