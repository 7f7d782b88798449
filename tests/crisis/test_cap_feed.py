"""CAP feeds as agencies publish them (Atom/RSS): each inline alert its own unit, linked ones reported.

Samples: google/cap-library test data under shared/data/cap (Apache-2.0): the NWS Atom feeds with
an inline alert and with links only, the NY Alert RSS index, and single alerts combined into a
feed here so that one entry is valid and one breaks the schema.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from colsec.accounts.roles import Role
from colsec.crisis.alerts import import_feed
from colsec.crisis.models import CapAlert
from colsec.db import Database
from colsec.errors import InvalidInput
from colsec.formats.cap_feed import feed_entries, is_feed


def _body(path: Path) -> bytes:
    """An alert file without its XML declaration, to sit inside a feed."""
    return re.sub(rb"^<\?xml[^>]*\?>\s*", b"", path.read_bytes())


def mixed_feed(shared_data: Path) -> bytes:
    cap = shared_data / "cap" / "cap12"
    entries = [
        (b"good", _body(cap / "wcatwc_tsunami_warning.cap.xml")),
        (b"bad", _body(cap / "invalid" / "invalid.cap.xml")),
        (b"link", b"<link href='https://alerts.example/a.cap'/>"),
    ]
    parts = [
        b"<entry><id>urn:"
        + name
        + b"</id><title>"
        + name
        + b"</title><content type='text/xml'>"
        + body
        + b"</content></entry>"
        if name != b"link"
        else b"<entry><id>urn:link</id><title>linked</title>" + body + b"</entry>"
        for name, body in entries
    ]
    return (
        b"<?xml version='1.0' encoding='UTF-8'?><feed xmlns='http://www.w3.org/2005/Atom'><id>urn:f</id>"
        + b"".join(parts)
        + b"</feed>"
    )


def test_nws_feeds_are_read(shared_data: Path) -> None:
    feeds = shared_data / "cap" / "feeds"
    inline = (feeds / "weather_inline_cap.atom.xml").read_bytes()
    assert is_feed(inline)
    [entry] = feed_entries(inline)
    assert len(entry.alerts) == 1 and entry.link.startswith("http://www.weather.gov/")
    linked = feed_entries((feeds / "weather_index.atom.xml").read_bytes())
    assert len(linked) == 2 and all(not e.alerts and e.link for e in linked)
    rss = feed_entries((feeds / "ny_index.rss.xml").read_bytes())
    assert len(rss) == 2 and rss[0].entry_id.startswith("NYAlert-") and not rss[0].alerts


def test_hostile_or_foreign_feed_is_refused_whole() -> None:
    with pytest.raises(InvalidInput, match="DTDs and entities"):
        feed_entries(
            b"<!DOCTYPE feed [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><feed xmlns='http://www.w3.org/2005/Atom'>&x;</feed>"
        )
    with pytest.raises(InvalidInput, match="not an Atom"):
        feed_entries(b"<html><body/></html>")
    assert not is_feed(b"<?xml version='1.0'?><alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'/>")


def test_one_bad_alert_refuses_only_itself(
    database: Database, make_account: Callable[..., Any], shared_data: Path
) -> None:
    acc = make_account(Role.ANALYST)
    data = mixed_feed(shared_data)
    with database.unit_of_work() as s:
        out = import_feed(s, actor=acc.actor, data=data)
    assert [o.outcome for o in out] == ["imported", "refused", "linked"]
    assert "schema" in out[1].message and "a.cap" in out[2].message
    with database.unit_of_work() as s:
        assert s.execute(select(func.count()).select_from(CapAlert)).scalar_one() == 1
        again = import_feed(s, actor=acc.actor, data=data)
    assert [o.outcome for o in again] == ["duplicate", "refused", "linked"]


def test_feed_over_http(client: TestClient, alliance: Any, shared_data: Path) -> None:
    h = {**alliance.analysts["NM"].headers, "Content-Type": "application/atom+xml"}
    r = client.post("/api/v1/crisis/alerts/import-feed", headers=h, content=mixed_feed(shared_data))
    assert r.status_code == 200, r.text
    assert [e["outcome"] for e in r.json()] == ["imported", "refused", "linked"]
    assert r.json()[0]["alert_id"] == client.get("/api/v1/crisis/alerts", headers=h).json()[0]["id"]
    bad = client.post("/api/v1/crisis/alerts/import-feed", headers=h, content=b"<feed")
    assert bad.status_code == 422 and "not well-formed" in bad.json()["detail"]
    viewer = client.post(
        "/api/v1/crisis/alerts/import-feed", headers=alliance.viewer.headers, content=b"<x/>"
    )
    assert viewer.status_code == 403


def test_cli_imports_the_rest_and_exits_1(
    tmp_path: Path, database: Database, make_account: Callable[..., Any], shared_data: Path
) -> None:
    acc = make_account(Role.ANALYST)
    feed = tmp_path / "feed.atom.xml"
    feed.write_bytes(mixed_feed(shared_data))
    env = {**os.environ, "COLSEC_DATA_DIR": str(tmp_path / "data"), "COLSEC_DATABASE_URL": database.url}
    r = subprocess.run(
        [sys.executable, "-m", "colsec", "crisis", "cap-import", str(feed), "--as", acc.user.username],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 1, r.stderr
    assert "imported: urn:good" in r.stdout and "1 of 3 entries imported" in r.stdout
    assert "refused: urn:bad" in r.stderr and "Traceback" not in r.stderr
    with database.unit_of_work() as s:
        assert s.execute(select(func.count()).select_from(CapAlert)).scalar_one() == 1
