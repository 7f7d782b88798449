"""Migrations are the only source of the schema: they apply cleanly and match the models."""

from __future__ import annotations

import importlib
import pkgutil

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import colsec
from colsec.db import Database
from colsec.db_base import Base
from colsec.migrations import current_heads


def _import_all_models() -> None:
    # Test-only discovery: production code never scans packages.
    for mod in pkgutil.walk_packages(colsec.__path__, "colsec."):
        if mod.name.endswith(".models"):
            importlib.import_module(mod.name)


def test_every_domain_branch_has_one_head() -> None:
    heads = current_heads()
    assert "foundation" not in heads or len(heads) == 1
    assert heads


def test_models_match_migrated_schema(database: Database) -> None:
    _import_all_models()
    with database.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diffs = [d for d in compare_metadata(ctx, Base.metadata) if not _ignorable(d)]
    assert diffs == [], f"models and migrations disagree: {diffs[:10]}"


def _ignorable(diff: object) -> bool:
    # alembic_version is Alembic's own; index naming differences on SQLite are cosmetic.
    # search_fts (and its shadow tables) is SQLite's FTS5 index of search_doc, created by the
    # fulltext migration: a virtual table no model can describe; ix_search_doc_tsv is its
    # PostgreSQL counterpart, an expression index (GIN over to_tsvector) made by the same migration;
    # ix_stix_object_labels is the label_index migration's expression index (GIN over the labels);
    # search_doc.tsv is the stored tsvector that index reads on PostgreSQL (search_doc_tsv migration).
    text = repr(diff)
    if "search_doc" in text and "Column('tsv'" in text:
        return True
    return any(
        name in text
        for name in ("alembic_version", "search_fts", "ix_search_doc_tsv", "ix_stix_object_labels")
    )
