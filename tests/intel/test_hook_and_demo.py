"""The import hook with the stored MISP warninglists, and the demo extension."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.roles import SYSTEM
from colsec.intel.models import Alert, Correlation
from colsec.settings import Settings

from .conftest import Orgs, indicator


def test_stored_warninglist_flags_instead_of_correlating(
    db: Session, orgs: Orgs, intel_hook: object, tmp_path: Path
) -> None:
    from colsec.formats.warninglists import import_warninglists

    lst = tmp_path / "resolvers" / "list.json"
    lst.parent.mkdir()
    lst.write_text(json.dumps({"name": "Public resolvers", "type": "cidr", "version": 1, "description": "t",
                               "matching_attributes": ["ip-dst", "ip-src"], "list": ["192.0.2.53/32"]}))  # fmt: skip
    import_warninglists(db, actor=SYSTEM, path=tmp_path)
    orgs.add("A", [indicator("w1", "ipv4", "192.0.2.53"), indicator("w3", "ipv4", "192.0.2.54")])
    orgs.add("B", [indicator("w2", "ipv4", "192.0.2.53"), indicator("w4", "ipv4", "192.0.2.54")])
    rows = {(r.value, r.status, r.warninglist) for r in db.execute(select(Correlation)).scalars()}
    assert rows == {("192.0.2.53", "warninglisted", "Public resolvers"), ("192.0.2.54", "active", None)}
    # the warninglisted value raises no cross-member alert; the other does, once per reader
    titles = [a.title for a in db.execute(select(Alert)).scalars()]
    assert len(titles) == 2 and all("192.0.2.54" in t for t in titles)


def test_demo_shows_exposures_and_a_cross_member_alert(sqlite_database: object, tmp_path: Path) -> None:
    from colsec.db import Database
    from colsec.demo import build_demo
    from colsec.node import build_node

    assert isinstance(sqlite_database, Database)
    node = build_node(Settings(data_dir=tmp_path, secret_key="demo-test-secret"), database=sqlite_database)
    with node.database.unit_of_work() as s:
        build_demo(s, extensions=node.demo_extensions)
    with node.database.unit_of_work() as s:
        build_demo(s, extensions=node.demo_extensions)  # idempotent
        kinds = [a.kind for a in s.execute(select(Alert)).scalars()]
        cves = {a.cve for a in s.execute(select(Alert)).scalars() if a.cve}
    assert kinds.count("cross_member") >= 1
    assert kinds.count("exposure") >= 3
    assert cves == {"CVE-2023-34362", "CVE-2023-4966"}
