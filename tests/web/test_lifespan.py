"""Server lifespan: the startup heap is frozen out of full GC scans while serving, released after."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient


def test_startup_heap_frozen_while_serving(app) -> None:  # type: ignore[no-untyped-def]
    assert gc.get_freeze_count() == 0
    with TestClient(app) as c:
        assert c.get("/healthz").status_code == 200
        assert gc.get_freeze_count() > 10_000  # modules, routes, schemas
    assert gc.get_freeze_count() == 0
