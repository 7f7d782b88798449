"""The admin page for published TAXII collections, in both languages; operators only.

Regression tests for issue 17 (no way to publish imported intelligence over TAXII from the UI).
"""

from __future__ import annotations

from sqlalchemy import select

from colsec.accounts.roles import SYSTEM
from colsec.store.models import StixObject
from colsec.taxii.publish import get_summary

from .conftest import csrf_of
from .test_i18n import _switch, untranslated


def test_operator_defines_a_collection_and_adds_objects(ui_client, demo_database) -> None:  # type: ignore[no-untyped-def]
    with demo_database.unit_of_work() as db:
        indicator = db.execute(
            select(StixObject.id).where(StixObject.type == "indicator").limit(1)
        ).scalar_one()
        malware = db.execute(select(StixObject.id).where(StixObject.type == "malware").limit(1)).scalar_one()
    c = ui_client("admin")
    token = csrf_of(c.get("/admin/collections").text)
    r = c.post("/admin/collections", data={"csrf_token": token, "title": "Published indicators", "can_read": "*",
               "by_filter": "1", "types": "indicator", "tlp": "TLP:AMBER", "include_existing": "1"})  # fmt: skip
    assert r.status_code == 200 and 'data-testid="collections"' in r.text, r.text[:500]
    cid = r.text.split("<code>")[1].split("</code>")[0]
    assert "TLP:AMBER" in r.text and "indicator" in r.text
    r = c.post("/admin/collections/objects", data={"csrf_token": token, "collection": cid, "ids": malware,
               "action": "add"})  # fmt: skip
    assert r.status_code == 200
    with demo_database.unit_of_work() as db:
        before = get_summary(db, actor=SYSTEM, collection_id=cid).versions
    r = c.post("/admin/collections/objects", data={"csrf_token": token, "collection": cid,
               "ids": f"{indicator}\n{malware}", "action": "remove"})  # fmt: skip
    assert r.status_code == 200
    with demo_database.unit_of_work() as db:
        assert get_summary(db, actor=SYSTEM, collection_id=cid).versions < before
    for lang in ("ru", "en"):
        _switch(c, lang)
        html = c.get("/admin/collections").text
        assert untranslated(html, lang) == [], (lang, untranslated(html, lang))
    bad = c.post(
        "/admin/collections", data={"csrf_token": token, "title": "x", "by_filter": "1", "owners": "NOPE"}
    )
    assert bad.status_code == 404 and "NOPE" in bad.text


def test_other_roles_cannot_manage_collections(ui_client) -> None:  # type: ignore[no-untyped-def]
    for username in ("viewer", "nm-analyst", "coordinator"):
        c = ui_client(username)
        assert c.get("/admin/collections").status_code == 403
        r = c.post("/admin/collections", data={"csrf_token": csrf_of(c.get("/").text), "title": "x"})
        assert r.status_code == 403
