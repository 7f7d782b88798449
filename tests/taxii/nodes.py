"""Backend-parametrised node start for pytest fixtures: SQLite always, PostgreSQL when configured."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from taxii.server import Node, prepare_postgres_schema, run_node

PG_URL = os.environ.get("COLSEC_TEST_DATABASE_URL")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def start_node(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, **kw: Any
) -> Iterator[Node]:
    """Start a node on the backend named by ``request.param``; stop it (and drop its schema) afterwards."""
    folder = tmp_path_factory.mktemp("taxii-node")
    drop = None
    if request.param == "postgres":
        if not PG_URL:
            pytest.skip("COLSEC_TEST_DATABASE_URL not set: PostgreSQL variant skipped")
        url, drop = prepare_postgres_schema(PG_URL)
        node = run_node(folder, database_url=url, seed=True, **kw)
    else:
        node = run_node(folder, **kw)
    try:
        yield node
    finally:
        node.stop()
        if drop is not None:
            drop()
