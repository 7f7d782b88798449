"""Young-generation-only GC during bulk imports: collection comes back afterwards, cycles still die."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from colsec.accounts.roles import SYSTEM
from colsec.db import Database
from colsec.errors import InvalidInput
from colsec.gcpause import tick, young_gc_only
from colsec.store.service import import_objects


class _Node:
    def __init__(self) -> None:
        self.me = self


def test_nested_and_restored() -> None:
    assert gc.isenabled()
    with young_gc_only():
        assert not gc.isenabled()
        with young_gc_only():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer user still runs
    assert gc.isenabled()


def test_disabled_by_someone_else_stays_disabled() -> None:
    gc.disable()
    try:
        with young_gc_only():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_tick_frees_young_cycles() -> None:
    with young_gc_only():
        node = _Node()
        ref = weakref.ref(node)
        del node
        assert ref() is not None  # a cycle: reference counting alone cannot free it
        tick()
        assert ref() is None


def test_concurrent_users_restore_once_all_left() -> None:
    inside = threading.Barrier(3)
    leave = threading.Event()

    def user() -> None:
        with young_gc_only():
            inside.wait()
            leave.wait()

    threads = [threading.Thread(target=user) for _ in range(2)]
    for t in threads:
        t.start()
    inside.wait()
    assert not gc.isenabled()
    leave.set()
    for t in threads:
        t.join()
    assert gc.isenabled()


def test_import_restores_collection_even_when_refused(database: Database) -> None:
    with pytest.raises(InvalidInput), database.unit_of_work() as s:
        import_objects(s, actor=SYSTEM, objects=[{"type": "indicator", "id": "bad"}])
    assert gc.isenabled()


def test_tick_waits_for_young_containers_to_pile_up() -> None:
    """A tick with ``grown`` leaves a few young cycles for later and frees them once that many
    containers have piled up (the import's batches: most end with no collection)."""
    with young_gc_only():
        gc.collect(1)
        node = _Node()
        ref = weakref.ref(node)
        del node
        tick(grown=10_000)
        assert ref() is not None  # too few young containers yet
        kept = [[] for _ in range(20_000)]
        tick(grown=10_000)
        assert ref() is None
        del kept


def _after_pause(promote: bool, users: int = 1) -> tuple[list[list[int]], bool]:
    """Containers kept by a pause, and whether a collection started as soon as it ended."""
    started: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(info["generation"])

    gc.collect()
    gc.callbacks.append(seen)
    try:
        with young_gc_only() as outer:
            for _ in range(users - 1):
                with young_gc_only() as inner:
                    inner.promote = True
            kept = [[] for _ in range(2000)]
            outer.promote = promote
        [[] for _ in range(10)]  # allocations: a due collection starts
    finally:
        gc.callbacks.remove(seen)
    return kept, bool(started)


def test_promoted_survivors_skip_the_young_collection() -> None:
    """Survivors of a pause vouched free of cycles go to the oldest generation unscanned; a
    pause that does not vouch leaves them young, for the collection due at once."""
    kept, collected = _after_pause(False)
    assert collected
    kept, collected = _after_pause(True)
    assert not collected
    assert any(o is kept[0] for o in gc.get_objects(2))


def test_promotion_needs_every_user_and_no_frozen_objects() -> None:
    _, collected = _after_pause(False, users=2)  # the inner user vouched, the outer did not
    assert collected
    gc.freeze()  # someone else's frozen objects stay frozen: no promotion then
    try:
        _, collected = _after_pause(True)
        assert collected
        assert gc.get_freeze_count() > 0  # not thawed
    finally:
        gc.unfreeze()
