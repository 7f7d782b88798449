"""Federation fixtures: the medallion reference peer and helpers for organisations and peers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from federation.medallion import MedallionNode, start_medallion


@pytest.fixture(scope="module")
def medallion(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MedallionNode]:
    node = start_medallion(tmp_path_factory.mktemp("medallion"), max_page_size=100)
    yield node
    node.stop()
