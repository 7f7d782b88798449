"""Accounts fixtures: the node settings with a login backoff long enough to outlast any test."""

from __future__ import annotations

from pathlib import Path

import pytest

from colsec.db import Database
from colsec.settings import Settings


@pytest.fixture
def settings(tmp_path: Path, database: Database) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database.url,
        secret_key="test-secret-key-not-for-production",
        login_backoff_base_seconds=60.0,
    )
