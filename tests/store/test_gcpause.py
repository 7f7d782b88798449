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
