"""Fixtures for TAXII tests: a real uvicorn node on 127.0.0.1 (see ``server.py`` for the plain functions)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from taxii.server import Node, run_node


@pytest.fixture(scope="module")
def taxii_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """One running node per test module (SQLite); tests add their own collections and accounts."""
    node = run_node(tmp_path_factory.mktemp("taxii-node"))
    yield node
    node.stop()
