"""An objects envelope read with ``envelope_only`` (three columns per row) is the full page's, byte for byte.

Walked page by page (``next``) for callers of three organisations, over objects of every
marking, owner and version history, with the filters TAXII clients send: the envelope
bytes, the date headers and the cursors must match the page read with every column.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from colsec.accounts.roles import SYSTEM, Role
from colsec.db import Database, ReadUnit
from colsec.stix.tlp import TLP
from colsec.store.service import import_objects
from colsec.taxii import reads
from colsec.taxii import service as taxii
from colsec.taxii.access import caller_access, read_access


def _indicator(n: int, modified: str = "2026-01-01T00:00:00.000Z") -> dict[str, Any]:
    return {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--{n:08d}-0000-4000-8000-000000000000",
        "created": "2026-01-01T00:00:00.000Z", "modified": modified, "name": f"i{n}",
        "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
    }  # fmt: skip


def _walk(unit: ReadUnit, token: str, cid: str, query: list[tuple[str, str]], slim: bool) -> list[Any]:
    """Every page of ``query`` as (envelope bytes, headers, row widths), following ``next``."""
    found = caller_access(unit, token=token, username=None, collection_id=cid)
    assert found is not None
    actor, access = found
    coll, viewer = read_access(unit, actor=actor, api_root="root", collection_id=cid, found=access)
    pages, params = [], list(query)
    while True:
        filters = reads.Filters.parse(params, default_limit=2, max_limit=2)
        page = reads.read_page(
            unit, actor=actor, collection=coll, filters=filters, viewer=viewer, envelope_only=slim
        )
        pages.append((page.envelope(), page.headers, {len(r) for r in page.rows}))
        if page.next is None:
            return pages
        params = [*query, ("next", page.next)]


def test_envelope_only_pages_equal_the_full_pages(
    database: Database, make_account: Callable[..., Any]
) -> None:
    a = make_account(Role.ANALYST, "ORG-A")
    b = make_account(Role.ANALYST, "ORG-B")
    ext = make_account(Role.ANALYST, "EXT", kind="external")
    with database.unit_of_work() as s:
        cid = taxii.create_collection(s, actor=SYSTEM, title="open", can_read=("*",)).id
    planted = [
        (SYSTEM, [_indicator(1)], TLP.GREEN),
        (b.actor, [_indicator(2)], TLP.GREEN),
        (b.actor, [_indicator(3)], TLP.RED),  # B's own: only B sees it
        (SYSTEM, [_indicator(4), _indicator(5)], TLP.AMBER),
        (b.actor, [_indicator(2, "2026-02-01T00:00:00.000Z")], TLP.RED),  # a newer version hides i2 from A
        (ext.actor, [_indicator(6)], TLP.GREEN),
        (SYSTEM, [_indicator(7), _indicator(8), _indicator(9)], TLP.CLEAR),
    ]
    for actor, objects, tlp in planted:
        with database.unit_of_work() as s:
            import_objects(s, actor=actor, objects=objects, collection_ids=[cid], default_tlp=tlp)
    queries: list[list[tuple[str, str]]] = [
        [],
        [("match[type]", "indicator")],
        [("match[version]", "all")],
        [("match[version]", "first")],
        [("match[id]", f"{_indicator(2)['id']},{_indicator(3)['id']}")],
        [("added_after", "2000-01-01T00:00:00Z"), ("match[spec_version]", "2.1")],
    ]
    seen: set[bytes] = set()
    for account in (a, b, ext):
        for query in queries:
            full = database.raw_read(lambda u, q=query, t=account.token: _walk(u, t, cid, q, False))
            slim = database.raw_read(lambda u, q=query, t=account.token: _walk(u, t, cid, q, True))
            assert [p[:2] for p in slim] == [p[:2] for p in full], (account.org.short_name, query)
            assert all(p[2] <= {3} for p in slim), "an envelope-only page reads three columns"
            seen.update(p[0] for p in full if p[2] == {7})
    assert len(seen) > 10  # the callers and filters saw different, non-empty pages
