"""SQLite's per-connection memory comes from the node's settings, on every pooled connection (issue 22).

Mapped database pages count towards the process's RSS once per connection that maps them, so
the mmap window and page cache are what bound a node's memory on SQLite; a node must apply the
operator's values to every connection, not only the first.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from colsec.db import Database
from colsec.node import build_node, open_database
from colsec.settings import Settings


def _pragmas(database: Database, connections: int) -> list[tuple[int, int]]:
    """(mmap_size, cache_size) of ``connections`` pooled connections, all checked out at once."""
    raws = [database.engine.raw_connection() for _ in range(connections)]
    try:
        out = []
        for raw in raws:
            cur = raw.cursor()
            mmap = cur.execute("PRAGMA mmap_size").fetchone()[0]
            cache = cur.execute("PRAGMA cache_size").fetchone()[0]
            cur.close()
            out.append((mmap, cache))
        return out
    finally:
        for raw in raws:
            raw.close()


def _settings(tmp_path: Path, sqlite_template: Path, **values: object) -> Settings:
    shutil.copy(sqlite_template, tmp_path / "colsec.db")
    return Settings(data_dir=tmp_path, secret_key="test-secret", **values)  # type: ignore[arg-type]


def test_every_pooled_connection_gets_the_configured_values(tmp_path: Path, sqlite_template: Path) -> None:
    settings = _settings(tmp_path, sqlite_template, sqlite_mmap_bytes=3 * 2**20, sqlite_cache_kib=5000)
    node = build_node(settings)
    try:
        assert _pragmas(node.database, 3) == [(3 * 2**20, -5000)] * 3
    finally:
        node.close()


def _mapped(path: Path) -> int:
    """How many mappings of ``path`` this process holds."""
    maps = Path("/proc/self/maps")
    if not maps.exists():
        pytest.skip("needs /proc/self/maps (Linux)")
    return sum(1 for line in maps.read_text().splitlines() if line.endswith(str(path.resolve())))


@pytest.mark.parametrize(("mmap_bytes", "maps_per_connection"), [(None, 0), (2**20, 1)])
def test_the_database_file_is_mapped_only_when_the_operator_asks(
    tmp_path: Path, sqlite_template: Path, mmap_bytes: int | None, maps_per_connection: int
) -> None:
    """Each connection that reads maps the file anew: by default none does (issue 22, peak RSS)."""
    values = {} if mmap_bytes is None else {"sqlite_mmap_bytes": mmap_bytes}
    settings = _settings(tmp_path, sqlite_template, **values)
    database = open_database(settings)
    raws = [database.engine.raw_connection() for _ in range(2)]
    try:
        for raw in raws:
            raw.cursor().execute("SELECT count(*) FROM stix_object").fetchall()
        assert _mapped(tmp_path / "colsec.db") == 2 * maps_per_connection
    finally:
        for raw in raws:
            raw.close()
        database.dispose()


def test_a_bare_database_gets_the_settings_defaults(tmp_path: Path, sqlite_template: Path) -> None:
    """Tools that open ``Database(url)`` themselves behave like a node with default settings."""
    defaults = Settings()
    bare = Database(f"sqlite:///{shutil.copy(sqlite_template, tmp_path / 'bare.db')}")
    try:
        assert _pragmas(bare, 1) == [(defaults.sqlite_mmap_bytes, -defaults.sqlite_cache_kib)]
    finally:
        bare.dispose()


@pytest.mark.parametrize(("name", "value"), [("sqlite_mmap_bytes", -1), ("sqlite_cache_kib", 0)])
def test_nonsense_values_are_refused(name: str, value: int) -> None:
    with pytest.raises(ValueError, match=name):
        Settings(**{name: value})  # type: ignore[arg-type]
