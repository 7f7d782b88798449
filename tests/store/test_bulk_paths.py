"""The bulk paths (issue 20) store exactly what the portable path stores.

The same MISP events are imported twice into fresh nodes: once as the product runs and once
with the shortcut off.  On SQLite the shortcut is the driver path in ``import_objects`` and
``held_versions`` (off: SQLAlchemy's portable statements, the PostgreSQL path); on PostgreSQL
it is COPY for the object and index rows with seqs drawn from the sequence, and one lateral
lookup of the stored versions (off: SQLAlchemy's INSERT ... RETURNING, Core executemany and
the two ``IN`` lookups).  Objects, versions, latest flags,
markings, owners, observables, full-text terms, links, recipients and collection membership
and the activity counts must be equal, and so must the import reports.  The import's writer
thread (``colsec.store.writebehind``) is held to the same, over many batches, and a failure on it
undoes the unit.
"""

from __future__ import annotations

import copy
import shutil
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select, text

from colsec.accounts.roles import SYSTEM
from colsec.accounts.service import create_organisation
from colsec.db import Database
from colsec.formats.service import import_source
from colsec.store import batches, companions, gate, inserts, service, textindex
from colsec.store.models import (
    CollectionObject,
    ObjectLink,
    ObjectRecipient,
    Observable,
    SearchDoc,
    StixObject,
)
from colsec.store.results import ImportResult
from colsec.store.service import import_objects
from colsec.store.writebehind import WriteBehind

KINDS = [
    ("ip-dst", "198.51.100.{i}"),
    ("domain", "host{i}.example.com"),
    ("url", "https://host{i}.example.net/p/{i}"),
    ("sha256", "{h}{h}"),
    ("filename|md5", "f{i}.exe|{h}"),
    ("email-src", "user{i}@example.org"),
    ("ip-src|port", "203.0.113.{i}|8{i}"),
    ("comment", "note {i}"),
]


def _event(n: int, stamp: int) -> dict[str, Any]:
    attrs = []
    for i in range(n):
        kind, tmpl = KINDS[i % len(KINDS)]
        attrs.append({
            "uuid": str(uuid.UUID(int=i + 1, version=4)), "type": kind,
            "value": tmpl.format(i=i % 250, h=uuid.UUID(int=i).hex), "to_ids": i % 3 != 0,
            "timestamp": str(stamp + i % 2), "comment": "" if i % 5 else "seen",
            **({"Tag": [{"name": "tlp:green"}]} if i % 7 == 0 else {}),
        })  # fmt: skip
    return {
        "Event": {
            "uuid": "5e8b6c2a-1111-4222-8333-444455556666", "info": "bulk paths", "timestamp": str(stamp),
            "date": "2026-01-01", "distribution": "1", "Orgc": {"name": "Bench CERT", "uuid": str(uuid.UUID(int=99, version=4))},
            "Tag": [{"name": "tlp:amber"}], "Attribute": attrs,
        }
    }  # fmt: skip


def _sources(shared_data: Path) -> list[bytes]:
    first = _event(400, 1767225600)
    later = copy.deepcopy(first)  # a later export: half the attributes edited (new versions)
    later["Event"]["timestamp"] = "1767312000"
    for attr in later["Event"]["Attribute"][::2]:
        attr["timestamp"] = "1767312000"
    rich = (shared_data / "misp" / "events" / "pymisp_existing_event_sednit.json").read_bytes()
    return [
        orjson.dumps(first),
        orjson.dumps(first),
        orjson.dumps(later),
        rich,
        orjson.dumps(_bundle(300)),
    ]  # the repeat is all unchanged


# A STIX bundle's usual indicators (one comparison, no other text: their index rows come from
# their pattern's head) beside odd ones, which take the one-by-one reading.
_PATTERNS = [
    "[ipv4-addr:value = '10.0.{i}.1']", "[domain-name:value = 'Host{i}.Example.COM.']",
    "[file:hashes.'SHA-256' = '{h}{h}']", "[url:value = 'http://files.example.net/{i}.bin']",
    "[domain-name:value = 'bücher{i}.example']", "[email-addr:value = 'User{i}@example.org']",
    "[ipv4-addr:value = '10.0.{i}.0/24']", "[file:name = 'a\\'b{i}.exe']",
    "[domain-name:value = 'a{i}.example' OR domain-name:value = 'b{i}.example']",
]  # fmt: skip


def _bundle(n: int) -> dict[str, Any]:
    objects = []
    for i in range(n):
        objects.append({
            "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.UUID(int=10_000 + i, version=4)}",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "pattern": _PATTERNS[i % len(_PATTERNS)].format(i=i % 250, h=uuid.UUID(int=i).hex),
            "pattern_type": "stix" if i % 11 else "snort", "valid_from": "2026-01-01T00:00:00Z",
            **({"description": "Seen in the phishing wave"} if i % 13 == 0 else {}),
        })  # fmt: skip
    return {"type": "bundle", "id": "bundle--5e8b6c2a-1111-4222-8333-444455556677", "objects": objects}


def _run(url: str, sources: list[bytes]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    database = Database(url)
    try:
        with database.unit_of_work() as s:
            org = create_organisation(s, actor=SYSTEM, name="Bench CERT", short_name="bench")
            org_id, own_identity = org.id, org.identity_id
        reports = []
        for data in sources:
            with database.unit_of_work() as s:
                reports.append(import_source(s, actor=SYSTEM, data=data, owner_org_id=org_id).to_dict())
        with database.unit_of_work(write=False) as s:
            objects = s.execute(
                select(
                    StixObject.seq, StixObject.id, StixObject.type, StixObject.spec_version, StixObject.created,
                    StixObject.modified, StixObject.created_by_ref, StixObject.owner_org_id, StixObject.tlp,
                    StixObject.sharing_group_id, StixObject.revoked, StixObject.is_latest, StixObject.origin,
                    StixObject.body,
                ).order_by(StixObject.seq)
            ).all()  # fmt: skip
            version = {seq: (oid, modified) for seq, oid, *_rest, modified in
                       ((r.seq, r.id, r.modified) for r in objects)}  # fmt: skip
            observables = sorted(
                (kind, value, version[seq], oid)
                for kind, value, seq, oid in s.execute(
                    select(Observable.kind, Observable.value, Observable.object_seq, Observable.object_id)
                ).all()
            )
            recipients = sorted(
                (version[seq], org) for seq, org in s.execute(select(ObjectRecipient.object_seq, ObjectRecipient.organisation_id))
            )  # fmt: skip
            # PostgreSQL's stored tsvector too (in no model): as text, the form the parser's value prints in
            tsv = ", tsv::text" if s.get_bind().dialect.name == "postgresql" else ""
            terms = sorted(
                (version[seq], *rest)
                for seq, *rest in s.execute(text(f"SELECT seq, terms{tsv} FROM search_doc"))
                if version[seq][0] != own_identity
            )
            links = sorted(
                (r, version[seq]) for r, seq in s.execute(select(ObjectLink.ref_id, ObjectLink.seq))
            )
            counts = sorted(  # kept by the stix_object triggers, whichever statement fired them
                tuple(r)
                for r in s.execute(
                    text("SELECT type, owner_org_id, tlp, sharing_group_id, n FROM activity_count")
                )
            )
            members = sorted(
                (c, version[seq]) for c, seq in s.execute(select(CollectionObject.collection_id, CollectionObject.object_seq))
            )  # fmt: skip
        # the organisation's own identity is dated when it is created: not part of the comparison
        rows = [dict(r._mapping) | {"seq": None} for r in objects if r.id != own_identity]
        return rows, {
            "reports": reports,
            "observables": observables,
            "recipients": recipients,
            "members": members,
            "terms": terms,
            "links": links,
            "counts": counts,
        }
    finally:
        database.dispose()


def test_sqlite_bulk_path_stores_what_the_portable_path_stores(
    tmp_path: Path, sqlite_template: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = _sources(shared_data)
    fast_db, plain_db = tmp_path / "fast.db", tmp_path / "plain.db"
    shutil.copy(sqlite_template, fast_db)
    shutil.copy(sqlite_template, plain_db)
    fast_rows, fast_rest = _run(f"sqlite:///{fast_db}", sources)
    with monkeypatch.context() as m:  # the shortcuts off: SQLAlchemy's statements, as on PostgreSQL
        m.setattr(inserts, "sqlite_cursor", lambda db: None)
        m.setattr(gate, "sqlite_cursor", lambda db: None)
        plain_rows, plain_rest = _run(f"sqlite:///{plain_db}", sources)
    _assert_equal(fast_rows, fast_rest, plain_rows, plain_rest)


def test_one_decision_per_unit_for_unheld_ids_equals_deciding_each_object(
    tmp_path: Path, sqlite_template: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gate's decision for ids not yet held is taken once per unit (``gate.unheld``); asking
    ``gate.decide`` for every object instead stores the same rows, index and reports."""
    sources = _sources(shared_data)
    fast_db, plain_db = tmp_path / "fast.db", tmp_path / "plain.db"
    shutil.copy(sqlite_template, fast_db)
    shutil.copy(sqlite_template, plain_db)
    fast_rows, fast_rest = _run(f"sqlite:///{fast_db}", sources)
    asked: list[str] = []

    def decide(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs["facts"].id)
        return gate.decide(*args, **kwargs)

    with monkeypatch.context() as m:  # no shortcut: every object goes through decide()
        m.setattr(batches, "unheld", lambda writer, group_id: None)
        m.setattr(batches, "decide", decide)
        plain_rows, plain_rest = _run(f"sqlite:///{plain_db}", sources)
    assert len(asked) >= len(plain_rows)
    _assert_equal(fast_rows, fast_rest, plain_rows, plain_rest)


def _assert_equal(
    fast_rows: list[dict[str, Any]],
    fast_rest: dict[str, Any],
    plain_rows: list[dict[str, Any]],
    plain_rest: dict[str, Any],
) -> None:
    assert len(fast_rows) > 1500 and fast_rest["observables"]  # the fixture exercises real volume
    assert [r["id"] for r in fast_rows] == [r["id"] for r in plain_rows]  # same order of seq
    assert fast_rows == plain_rows
    assert fast_rest == plain_rest
    reports = fast_rest["reports"]
    assert reports[1]["inserted"] == 0 and reports[1]["unchanged"] == reports[0]["received"]
    assert reports[2]["inserted"] > 0  # edited attributes became new versions
    assert sum(not r["is_latest"] for r in fast_rows) > 0


def _empty(url: str) -> None:
    database = Database(url)
    try:
        with database.engine.begin() as conn:
            names = conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename != 'alembic_version'"
                )
            ).scalars()
            tables = ", ".join(f'"{n}"' for n in names)
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        database.dispose()


@pytest.mark.postgres
def test_postgres_copy_path_stores_what_executemany_stores(
    pg_schema_url: str | None, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if pg_schema_url is None:
        pytest.skip("COLSEC_TEST_DATABASE_URL not set: PostgreSQL variant skipped")
    sources = _sources(shared_data)
    monkeypatch.setattr(service, "BATCH_SIZE", 97)  # many batches a unit, through the writer thread
    _empty(pg_schema_url)
    threads: list[str] = []
    copy = inserts._copy_objects_raw

    def recorded(cur: Any, values: Any) -> Any:
        threads.append(threading.current_thread().name)
        return copy(cur, values)

    with monkeypatch.context() as m:
        m.setattr(inserts, "_copy_objects_raw", recorded)
        fast_rows, fast_rest = _run(pg_schema_url, sources)
    assert any(name.startswith("colsec-write") for name in threads)
    _empty(pg_schema_url)

    def plain(db: Any, rows: Any, by_key: Any, target: Any, result: Any, behind: Any) -> None:
        inserts.insert_rows(db, rows, by_key, target, result)  # no writer thread: the session's statements

    def executemany(db: Any, table: Any, columns: Any, values: Any, types: Any = None) -> None:
        # By the columns named (search_doc.tsv, PostgreSQL's alone, is in no model): the tsv as
        # the server's parser makes it of the terms, not the binary value the COPY path sends.
        params = ["to_tsvector('simple'::regconfig, :terms)" if c == "tsv" else ":" + c for c in columns]
        stmt = text(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(params)})")
        db.execute(stmt, [{c: x for c, x in zip(columns, v, strict=True) if c != "tsv"} for v in values])

    with monkeypatch.context() as m:  # COPY and the lateral lookup off: SQLAlchemy's statements
        m.setattr(inserts, "copy_objects", inserts.insert_portable)
        m.setattr(inserts, "_copy_pg_behind", plain)
        m.setattr(inserts, "copy_rows", executemany)
        m.setattr(companions, "copy_rows", executemany)
        m.setattr(textindex, "copy_rows", executemany)
        m.setattr(gate, "held_versions_pg", gate.held_versions_portable)
        plain_rows, plain_rest = _run(pg_schema_url, sources)
    _empty(pg_schema_url)
    _assert_equal(fast_rows, fast_rest, plain_rows, plain_rest)


@pytest.mark.postgres
def test_postgres_copy_of_a_stored_version_falls_back_to_the_conflict_rule(pg_schema_url: str | None) -> None:
    """The gate answers stored versions before COPY; were one to slip through, COPY's unique
    violation is undone in its savepoint and the batch is inserted skipping that version."""
    if pg_schema_url is None:
        pytest.skip("COLSEC_TEST_DATABASE_URL not set: PostgreSQL variant skipped")
    _empty(pg_schema_url)

    def row(n: int) -> tuple[Any, ...]:
        oid = f"identity--{uuid.UUID(int=n, version=4)}"
        body = orjson.dumps({"type": "identity", "id": oid, "name": f"n{n}"}).decode()
        stamp = "2026-01-01T00:00:00.000Z"
        return (
            oid,
            "identity",
            "2.1",
            stamp,
            stamp,
            None,
            None,
            0,
            None,
            False,
            True,
            f"{stamp[:-4]}{n:03d}Z",
            None,
            body,
        )

    database = Database(pg_schema_url)
    try:
        with database.unit_of_work() as s:
            first = inserts.copy_objects(s, [row(1), row(2)])
        with database.unit_of_work() as s:
            again = inserts.copy_objects(s, [row(2), row(3)])
            assert s.execute(text("SELECT 1")).scalar() == 1  # the transaction is usable after the fallback
        with database.unit_of_work() as s:  # the same on the writer thread, index rows included
            behind, result, rows = WriteBehind(), ImportResult(), [row(3), row(4)]
            by_key = {(r[0], r[4]): orjson.loads(r[13]) for r in rows}
            try:
                inserts.insert_rows(s, rows, by_key, inserts.Target((), {}, set()), result, behind)
                behind.drain()
            finally:
                behind.close()
        with database.unit_of_work(write=False) as s:
            stored = s.execute(select(StixObject.seq, StixObject.id).order_by(StixObject.seq)).all()
            indexed = s.execute(select(SearchDoc.seq)).scalars().all()
    finally:
        database.dispose()
        _empty(pg_schema_url)
    assert [oid for _, oid, _ in first] == [row(1)[0], row(2)[0]]
    assert [oid for _, oid, _ in again] == [row(3)[0]]
    assert [oid for _, oid in stored] == [row(n)[0] for n in (1, 2, 3, 4)]
    assert [tuple(r) for r in stored[:3]] == [(s, o) for s, o, _ in first + again]
    assert (result.inserted, result.unchanged) == (1, 1)
    assert indexed == [stored[3][0]]  # the version stored, alone


def test_many_batches_through_the_writer_thread_store_what_the_portable_path_stores(
    tmp_path: Path, sqlite_template: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "BATCH_SIZE", 97)  # many batches a unit: each overlaps the next
    sources = _sources(shared_data)
    fast_db, plain_db = tmp_path / "fast.db", tmp_path / "plain.db"
    shutil.copy(sqlite_template, fast_db)
    shutil.copy(sqlite_template, plain_db)
    threads: list[str] = []
    write = inserts._insert_sqlite_values

    def recorded(cur: Any, values: Any) -> Any:
        threads.append(threading.current_thread().name)
        return write(cur, values)

    with monkeypatch.context() as m:
        m.setattr(inserts, "_insert_sqlite_values", recorded)
        fast_rows, fast_rest = _run(f"sqlite:///{fast_db}", sources)
    assert any(name.startswith("colsec-write") for name in threads)  # the thread did write
    assert threads[-1] == threading.current_thread().name  # the last batch inline
    with monkeypatch.context() as m:  # the shortcuts off: SQLAlchemy's statements, no writer thread
        m.setattr(inserts, "sqlite_cursor", lambda db: None)
        m.setattr(gate, "sqlite_cursor", lambda db: None)
        plain_rows, plain_rest = _run(f"sqlite:///{plain_db}", sources)
    _assert_equal(fast_rows, fast_rest, plain_rows, plain_rest)


def _indicator(i: int) -> dict[str, Any]:
    return {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.UUID(int=i + 1, version=4)}",
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "pattern": f"[domain-name:value = 'host{i}.example.com']", "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
    }  # fmt: skip


def test_a_failure_on_the_writer_thread_fails_the_unit_and_writes_nothing(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index row the database refuses (a trigger planted for one observable of the second
    batch) is written on the writer thread; the import raises the database's error and the
    rolled-back unit leaves no object, observable or search row."""
    monkeypatch.setattr(service, "BATCH_SIZE", 50)
    path = tmp_path / "t.db"
    shutil.copy(sqlite_template, path)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TRIGGER planted BEFORE INSERT ON observable WHEN NEW.value = 'host60.example.com' "
            "BEGIN SELECT RAISE(ABORT, 'planted refusal'); END"
        )
    database = Database(f"sqlite:///{path}")
    try:
        threads: list[str] = []
        write = inserts._write_index

        def recorded(*args: Any) -> Any:
            threads.append(threading.current_thread().name)
            return write(*args)

        monkeypatch.setattr(inserts, "_write_index", recorded)
        with pytest.raises(sqlite3.IntegrityError, match="planted refusal"):
            with database.unit_of_work() as s:
                import_objects(s, actor=SYSTEM, objects=[_indicator(i) for i in range(300)])
        assert threads[1].startswith("colsec-write")  # the refused batch was the thread's
        with database.unit_of_work(write=False) as s:
            assert s.execute(select(func.count()).select_from(StixObject)).scalar_one() == 0
            assert s.execute(select(func.count()).select_from(Observable)).scalar_one() == 0
            assert s.execute(select(func.count()).select_from(SearchDoc)).scalar_one() == 0
            assert s.execute(text("SELECT count(*) FROM search_fts")).scalar_one() == 0
        with database.unit_of_work() as s:  # the node writes again afterwards
            result = import_objects(s, actor=SYSTEM, objects=[_indicator(i) for i in range(50)])
        assert result.inserted == 50
    finally:
        database.dispose()


def test_sqlite_writer_thread_leaves_out_the_index_rows_of_a_version_already_stored(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """The gate answers stored versions first; were one to reach the writer thread all the same,
    the conflict rule skips its row and its observable, search and link rows are left out with
    it (a row naming no stored seq would fail the foreign key and the unit), counted unchanged."""
    path = tmp_path / "t.db"
    shutil.copy(sqlite_template, path)
    stamp = "2026-01-01T00:00:00.000Z"
    objects = [
        _indicator(1),
        _indicator(2),
        {
            "type": "relationship", "spec_version": "2.1", "id": f"relationship--{uuid.UUID(int=7, version=4)}",
            "created": stamp, "modified": stamp, "relationship_type": "indicates",
            "source_ref": _indicator(1)["id"], "target_ref": _indicator(2)["id"],
        },
    ]  # fmt: skip

    def row(obj: dict[str, Any], n: int) -> tuple[Any, ...]:
        body = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()
        at = "2026-01-01T00:00:00.000000Z"  # as the gate stores ``modified`` (microseconds)
        return (obj["id"], obj["type"], "2.1", at, at, None, None, 0, None, False, True,
                f"2026-12-01T00:00:00.{n:06d}Z", None, body)  # fmt: skip

    database = Database(f"sqlite:///{path}")
    try:
        with database.unit_of_work() as s:
            import_objects(s, actor=SYSTEM, objects=[objects[0]])
        with database.unit_of_work() as s:
            behind, result = WriteBehind(), ImportResult()
            rows = [row(obj, n) for n, obj in enumerate(objects)]
            by_key = {(r[0], r[4]): orjson.loads(r[13]) for r in rows}
            threads: list[str] = []
            write = inserts._write_index

            def recorded(*args: Any) -> Any:
                threads.append(threading.current_thread().name)
                return write(*args)

            try:
                with pytest.MonkeyPatch.context() as m:
                    m.setattr(inserts, "_write_index", recorded)
                    inserts.insert_rows(s, rows, by_key, inserts.Target((), {}, set()), result, behind)
                    behind.drain()
            finally:
                behind.close()
        with database.unit_of_work(write=False) as s:
            seqs = dict(s.execute(select(StixObject.id, StixObject.seq)).all())
            indexed = sorted(s.execute(select(SearchDoc.seq)).scalars())
            observed = sorted(s.execute(select(Observable.object_seq)).scalars())
            linked = sorted(s.execute(select(ObjectLink.ref_id, ObjectLink.seq)).all())
            fts = s.execute(text("SELECT count(*) FROM search_fts")).scalar_one()
    finally:
        database.dispose()
    assert threads and threads[0].startswith("colsec-write")
    assert (result.inserted, result.unchanged) == (2, 1)
    assert dict(result.by_type) == {"indicator": 1, "relationship": 1}
    assert list(result.pending_seqs) == [seqs[objects[1]["id"]], seqs[objects[2]["id"]]]
    assert indexed == sorted(seqs.values()) and fts == 3  # the first import's row, then the two new
    assert observed == sorted([seqs[objects[0]["id"]], seqs[objects[1]["id"]]])
    rel = seqs[objects[2]["id"]]
    assert linked == sorted([(objects[0]["id"], rel), (objects[1]["id"], rel)])
