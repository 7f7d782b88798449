"""Fixtures for TAXII tests: a real uvicorn node on 127.0.0.1 (see ``server.py`` for the plain functions).

``taxii_node`` runs on SQLite and, when ``COLSEC_TEST_DATABASE_URL`` is set, on PostgreSQL too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from taxii.nodes import BACKENDS, start_node
from taxii.server import Node


@pytest.fixture(scope="module", params=BACKENDS)
def taxii_node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """One running node per test module and backend; tests add their own collections and accounts."""
    yield from start_node(request, tmp_path_factory)
