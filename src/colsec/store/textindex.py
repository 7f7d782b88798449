"""Keeping the full-text index (``search_doc``) to the latest versions, and the link index
(``object_link``) of relationships and sightings, inside the write's transaction.

Called by the write gate only (``colsec.store.service``): a version is indexed as it is stored
and its superseded predecessors leave the index in the same statement group, so a search never
finds an object by words it no longer carries.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from colsec.fulltext import MAX_DOC_CHARS, document_terms, documents_terms, text_terms
from colsec.store.models import ObjectLink, SearchDoc, StixObject
from colsec.store.policy import GROUP_PROPERTY
from colsec.store.rows import copy_raw, copy_rows, sqlite_cursor
from colsec.store.sqlbulk import insert_values
from colsec.store.tsvector import binary_tsvectors

__all__ = [
    "LINK_KEYS",
    "PATTERN_ONLY",
    "drop_superseded",
    "index_versions",
    "link_rows",
    "object_terms",
    "objects_terms",
    "pg_search_rows",
    "sqlite_index_rows",
    "write_pg_search",
    "write_sqlite_index",
]

_SQLITE_INSERT = "INSERT INTO search_doc (seq, terms) VALUES"
# search_fts is an external-content FTS5 table over search_doc; its rows are inserted here rather
# than by a trigger (a trigger's savepoint makes FTS5 write one segment per row: the
# fts_direct_insert migration has the measurements).  Delete and update triggers remain.
# Copied from the search_doc rows just written, by their seq range: their terms are bound once, not
# twice (a tenth of the index rows' time on the writer thread).  The versions indexed are new, so
# their seqs lie above every row search_doc held before (checked by the count).
_SQLITE_FTS = (
    "INSERT INTO search_fts (rowid, terms) SELECT seq, terms FROM search_doc WHERE seq BETWEEN ? AND ?"
)
_SQLITE_LINKS = "INSERT INTO object_link (ref_id, seq) VALUES"
LINK_KEYS = ("source_ref", "target_ref", "sighting_of_ref")  # what an object page lists as related
_LINKED = frozenset({"relationship", "sighting"})


def index_versions(db: Session, versions: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
    """Index new versions given as (seq, body): their words, and the ids a relationship or sighting names."""
    if not versions:
        return
    raw = sqlite_cursor(db)
    if raw is not None:
        write_sqlite_index(raw, *sqlite_index_rows(versions))
    else:
        _copy_pg(db, versions)
        links = link_rows(versions)
        if links:
            copy_rows(db, ObjectLink.__table__, ("ref_id", "seq"), links, _LINK_TYPES)


def link_rows(versions: Sequence[tuple[int, Mapping[str, Any]]]) -> list[tuple[str, int]]:
    """The (named id, seq) rows of the relationships and sightings among ``versions``, in their order.

    Each row names its own version, so only one object's refs can repeat (a relationship from an
    object to itself): those are made distinct per object, not by a set and sort of the batch's rows.
    """
    rows: list[tuple[str, int]] = []
    for seq, body in versions:
        if body.get("type") in _LINKED:
            refs = [ref for k in LINK_KEYS if isinstance(ref := body.get(k), str) and len(ref) <= 120]
            rows.extend((ref, seq) for ref in dict.fromkeys(refs))
    return rows


# The keys of an indicator whose only searchable text is its pattern's quoted values (none of them
# is a text key of ``colsec.fulltext``): a bulk import's usual indicator.
PATTERN_ONLY = frozenset({
    "type", "spec_version", "id", "created", "modified", "pattern", "pattern_type", "pattern_version",
    "valid_from", "valid_until", "object_marking_refs", "created_by_ref", "revoked", "confidence", "lang",
    GROUP_PROPERTY,
})  # fmt: skip
# The terms of a pattern's head ("[file:hashes.'SHA-256'"): a bulk import's patterns share a few.
_HEAD_TERMS: dict[str, str] = {}
_MAX_HEADS = 4096


def object_terms(body: Mapping[str, Any]) -> str:
    """``document_terms(body)``; an indicator of ``head = 'value'`` with no other text as its
    head's terms (made once per head) and its value's: the quoted values are the head's and then
    the value when the head holds no backslash and its quotes pair up (the one split of both writers)."""
    pattern = body.get("pattern")
    if type(pattern) is not str or not body.keys() <= PATTERN_ONLY or len(pattern) >= MAX_DOC_CHARS:
        return document_terms(body)
    at = pattern.find(" = '")
    value = pattern[at + 4 : -2]
    if at < 1 or pattern[-2:] != "']" or "'" in value or "\\" in value:
        return document_terms(body)
    head = pattern[:at]
    terms = _HEAD_TERMS.get(head)
    if terms is None:
        if "\\" in head or head.count("'") % 2:
            return document_terms(body)
        if len(_HEAD_TERMS) >= _MAX_HEADS:
            _HEAD_TERMS.clear()
        terms = _HEAD_TERMS[head] = document_terms({"pattern": head})
    value_terms = text_terms(value)
    return f"{terms} {value_terms}" if terms and value_terms else terms or value_terms


def objects_terms(bodies: Sequence[Mapping[str, Any]]) -> list[str]:
    """``[object_terms(b) for b in bodies]``: indicators by ``object_terms``, the other objects'
    texts read as one (``documents_terms``)."""
    if not any("pattern" in body for body in bodies):
        return documents_terms(bodies)
    others = iter(documents_terms([body for body in bodies if "pattern" not in body]))
    return [object_terms(body) if "pattern" in body else next(others) for body in bodies]


def sqlite_index_rows(
    versions: Sequence[tuple[int, Mapping[str, Any]]],
) -> tuple[list[tuple[int, str]], list[tuple[str, int]]]:
    """SQLite: the (seq, terms) rows of ``versions`` and their link rows, made before any is written
    (the import's writer thread writes them while the next batch is decided)."""
    terms = objects_terms([body for _, body in versions])
    return list(zip([seq for seq, _ in versions], terms, strict=True)), link_rows(versions)


def write_sqlite_index(raw: Any, rows: Sequence[tuple[int, str]], links: Sequence[tuple[str, int]]) -> None:
    """SQLite: the rows of ``sqlite_index_rows`` through the driver cursor ``raw``, many a
    statement (``colsec.store.sqlbulk``): an executemany runs a statement per row, and pysqlite
    hands the GIL back and forth around each while the import's main thread runs Python."""
    if rows:
        insert_values(raw, _SQLITE_INSERT, rows, size_at=1)
        seqs = [seq for seq, _ in rows]
        if raw.execute(_SQLITE_FTS, (min(seqs), max(seqs))).rowcount != len(rows):
            raise RuntimeError("search_doc held rows among the seqs of new versions")
    if links:
        insert_values(raw, _SQLITE_LINKS, links)


def _copy_pg(db: Session, versions: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
    """PostgreSQL through the session: the rows of ``pg_search_rows`` (the import's writer thread
    writes the same rows through ``write_pg_search``)."""
    exotic: list[tuple[int, str]] = []
    copy_rows(
        db, SearchDoc.__table__, ("seq", "terms", "tsv"), pg_search_rows(versions, exotic), _SEARCH_TYPES
    )
    if exotic:
        db.execute(text(_EXOTIC), {"seqs": [s for s, _ in exotic], "terms": [t for _, t in exotic]})


def pg_search_rows(
    versions: Sequence[tuple[int, Mapping[str, Any]]], exotic: list[tuple[int, str]]
) -> Iterator[tuple[int, str, bytes]]:
    """PostgreSQL: the (seq, terms, tsv) rows of ``versions``, made as COPY streams them (the
    server indexes one buffer's rows while the next buffer's words are stemmed here), the tsv in
    its binary form (``colsec.store.tsvector``); the (seq, terms) whose tsvector the server makes
    go to ``exotic`` (``_EXOTIC``: terms outside the plain alphabets, or with a number the parser
    reads inside a word, which it may split differently).  The one split of both writers, ``write_pg_search`` and ``_copy_pg``."""
    for start in range(0, len(versions), _ENCODED_AT_ONCE):
        plain: list[tuple[int, str]] = []
        chunk = versions[start : start + _ENCODED_AT_ONCE]
        # The chunk's texts read a group at a time (``objects_terms``), not object by object: no
        # calls and cache lookups per text (ATT&CK's terms: a tenth less time on this thread).
        for (seq, _), terms in zip(chunk, objects_terms([body for _, body in chunk]), strict=True):
            (plain if _PLAIN.fullmatch(terms) and not _NUMBER.search(terms) else exotic).append((seq, terms))
        tsvs = binary_tsvectors([terms for _, terms in plain])
        for (seq, terms), tsv in zip(plain, tsvs, strict=True):
            if tsv is None:
                exotic.append((seq, terms))
            else:
                yield seq, terms, tsv


def write_pg_search(
    cur: Any, versions: Sequence[tuple[int, Mapping[str, Any]]], links: Sequence[tuple[str, int]]
) -> None:
    """PostgreSQL, through the psycopg cursor ``cur`` (the import's writer thread): the search
    rows of ``versions``, their words stemmed on this thread, and the link rows."""
    exotic: list[tuple[int, str]] = []
    copy_raw(cur, "search_doc", ("seq", "terms", "tsv"), pg_search_rows(versions, exotic), _SEARCH_TYPES)
    if exotic:
        cur.execute(_EXOTIC_PG, {"seqs": [s for s, _ in exotic], "terms": [t for _, t in exotic]})
    if links:
        copy_raw(cur, "object_link", ("ref_id", "seq"), links, _LINK_TYPES)


_LINK_TYPES = ("text", "int8")  # object_link's rows in binary (``colsec.store.rows.copy_raw``)
_EXOTIC = (
    "INSERT INTO search_doc (seq, terms, tsv) SELECT s, t, to_tsvector('simple'::regconfig, t) "
    "FROM unnest(CAST(:seqs AS bigint[]), CAST(:terms AS text[])) AS u(s, t)"
)
_EXOTIC_PG = _EXOTIC.replace(":seqs", "%(seqs)s").replace(":terms", "%(terms)s")  # psycopg's style


# Words to_tsvector's parser takes whole (letters and digits of these alphabets, lower case).
_PLAIN = re.compile(r"[a-z0-9а-я ]*")
# but a word of digits, "e" and a digit: the parser may read a number in it and split it there
# (the hash "1958e722afd0" as "1958e722" and "afd0"), so the server's parser makes those rows.
_NUMBER = re.compile(r"(?:^| )[0-9]+e[0-9]")
# search_doc's rows in binary: the tsv as the bytes ``binary_tsvector`` made, passed through as they
# are (psycopg's bytea dumper adds nothing in binary) for the server's tsvector receive function.
_SEARCH_TYPES = ("int8", "text", "bytea")
_ENCODED_AT_ONCE = 250  # versions whose tsvectors one numpy pass makes, as COPY streams the ones before


def drop_superseded(db: Session, ids: Sequence[str]) -> None:
    """Remove the index rows of versions of ``ids`` that are no longer the latest."""
    for i in range(0, len(ids), 500):
        chunk = list(ids[i : i + 500])
        old = select(StixObject.seq).where(StixObject.id.in_(chunk), StixObject.is_latest.is_(False))
        db.execute(delete(SearchDoc).where(SearchDoc.seq.in_(old)))
