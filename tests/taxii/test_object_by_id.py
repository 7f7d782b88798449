"""A token caller's object by id read in one statement with its caller (``taxii.by_id``).

The object's part of that statement is built for the viewer the token resolved to on its
previous read.  It must answer exactly as the two-statement path (``caller_access`` then
``read_page``) for every caller, object and collection, and a guess gone stale (the user
moved to another organisation, the organisation left the alliance, the token revoked) must
never show what the caller may no longer see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from colsec.accounts import service as accounts
from colsec.accounts.models import ApiToken, Organisation, User
from colsec.accounts.passwords import hash_token
from colsec.accounts.roles import SYSTEM, Role
from colsec.db import Database, ReadUnit
from colsec.errors import ColsecError
from colsec.settings import Settings
from colsec.stix.tlp import TLP
from colsec.store.service import import_objects
from colsec.taxii import by_id, reads
from colsec.taxii import service as taxii
from colsec.taxii.access import caller_access, read_access
from colsec.taxii.media import TAXII_MEDIA

LIM = 3


def _indicator(n: int, modified: str = "2026-01-01T00:00:00.000Z") -> dict[str, Any]:
    return {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--{n:08d}-0000-4000-8000-000000000000",
        "created": "2026-01-01T00:00:00.000Z", "modified": modified, "name": f"i{n}",
        "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
    }  # fmt: skip


def _store(database: Database, actor: Any, objects: list[dict[str, Any]], cid: str, tlp: TLP) -> None:
    with database.unit_of_work() as s:
        import_objects(s, actor=actor, objects=objects, collection_ids=[cid], default_tlp=tlp)


def _plain(unit: ReadUnit, token: str, cid: str, oid: str) -> Any:
    """The two-statement answer: the caller, then (if it may read) the page of the object."""
    found = caller_access(unit, token=token, username=None, collection_id=cid)
    if found is None:
        return None
    actor, access = found
    try:
        coll, viewer = read_access(unit, actor=actor, api_root="root", collection_id=cid, found=access)
    except ColsecError as exc:
        return type(exc).__name__
    filters = reads.Filters(limit=LIM - 1)
    return reads.read_page(
        unit, actor=actor, collection=coll, filters=filters, object_id=oid, viewer=viewer
    ).rows


def _folded(unit: ReadUnit, token: str, cid: str, oid: str) -> Any:
    hit = by_id.caller_and_object(unit, token=token, username=None, collection_id=cid, object_id=oid, lim=LIM)
    if hit is None:
        return None
    try:
        read_access(unit, actor=hit.actor, api_root="root", collection_id=cid, found=hit.access)
    except ColsecError as exc:
        return type(exc).__name__
    assert hit.rows is not None, "the viewer was guessed on the token's previous read"
    return hit.rows


def test_the_folded_read_answers_as_the_two_statements(
    database: Database, make_account: Callable[..., Any]
) -> None:
    a = make_account(Role.ANALYST, "ORG-A")
    b = make_account(Role.ANALYST, "ORG-B")
    ext = make_account(Role.ANALYST, "EXT", kind="external")
    with database.unit_of_work() as s:
        open_ = taxii.create_collection(s, actor=SYSTEM, title="open", can_read=("*",)).id
        closed = taxii.create_collection(
            s, actor=SYSTEM, title="b only", can_read=("ORG-B",), can_write=("ORG-A",)
        ).id
    _store(database, SYSTEM, [_indicator(1)], open_, TLP.GREEN)
    _store(database, b.actor, [_indicator(2)], open_, TLP.GREEN)
    _store(database, b.actor, [_indicator(3)], open_, TLP.RED)  # B's own
    _store(database, SYSTEM, [_indicator(4)], open_, TLP.AMBER)
    _store(database, b.actor, [_indicator(2, "2026-02-01T00:00:00.000Z")], open_, TLP.RED)  # hides v1
    _store(database, SYSTEM, [_indicator(6)], closed, TLP.GREEN)
    _store(database, ext.actor, [_indicator(5)], open_, TLP.GREEN)
    oids = [_indicator(n)["id"] for n in range(1, 8)]  # 7: in no collection
    by_id.forget_viewers()
    seen = set()
    for account in (a, b, ext):
        token = account.token
        first = database.raw_read(
            lambda u, t=token: by_id.caller_and_object(
                u, token=t, username=None, collection_id=open_, object_id=oids[0], lim=LIM
            )
        )
        assert first is not None and first.rows is None  # a token's first read: no guess yet
        for cid in (open_, closed, "no-such-collection"):
            for oid in oids:
                args = (token, cid, oid)
                plain = database.raw_read(lambda u, a=args: _plain(u, *a))  # type: ignore[misc]
                folded = database.raw_read(lambda u, a=args: _folded(u, *a))  # type: ignore[misc]
                assert folded == plain, (account.org.short_name, cid, oid)
                seen.add(repr(plain)[:12])
        assert database.raw_read(lambda u: _folded(u, "csk_no-such-token", open_, oids[0])) is None
    assert {"'NotFound'", "'Forbidden'", "[]"} <= seen and any(s.startswith("[(") for s in seen)


def _move(database: Database, account: Any, org: str) -> None:
    with database.unit_of_work() as s:
        org_id = s.query(Organisation).filter_by(short_name=org).one().id
        s.execute(update(User).where(User.id == account.user.id).values(organisation_id=org_id))


@pytest.fixture
def served(settings: Settings, database: Database) -> Any:
    from colsec.web.app import create_app

    with TestClient(create_app(settings, database=database)) as client:
        yield client


def test_a_stale_guess_never_shows_what_the_caller_may_no_longer_see(
    served: TestClient, database: Database, make_account: Callable[..., Any]
) -> None:
    a = make_account(Role.ANALYST, "ORG-A")
    b = make_account(Role.ANALYST, "ORG-B")
    mover = make_account(Role.ANALYST, "ORG-B")
    with database.unit_of_work() as s:
        cid = taxii.create_collection(s, actor=SYSTEM, title="open", can_read=("*",)).id
    _store(database, b.actor, [_indicator(1)], cid, TLP.RED)
    _store(database, SYSTEM, [_indicator(2)], cid, TLP.AMBER)
    red, amber = (f"/taxii2/root/collections/{cid}/objects/{_indicator(n)['id']}/" for n in (1, 2))
    headers = {**mover.headers, "Accept": TAXII_MEDIA}
    for _ in range(3):  # its own organisation's TLP:RED, guessed and read in one statement
        assert served.get(red, headers=headers).status_code == 200
    _move(database, mover, "ORG-A")
    for _ in range(3):
        r = served.get(red, headers=headers)
        assert r.status_code == 404, r.text
    assert served.get(amber, headers=headers).status_code == 200
    with database.unit_of_work() as s:  # ORG-A leaves the alliance: TLP:AMBER is no longer for it
        s.execute(update(Organisation).where(Organisation.id == a.org.id).values(kind="external"))
    assert served.get(amber, headers=headers).status_code == 404
    _move(database, mover, "ORG-B")
    assert served.get(red, headers=headers).status_code == 200
    with database.unit_of_work() as s:
        token_id = s.query(ApiToken).filter_by(token_hash=hash_token(mover.token)).one().id
    admin = make_account(Role.ADMIN, "ORG-B")
    with database.unit_of_work() as s:
        accounts.revoke_token(s, actor=admin.actor, token_id=token_id)
    assert served.get(red, headers=headers).status_code == 401  # revoked: refused on its next read
