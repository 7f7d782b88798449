"""The public feed: Atom and RSS parse, validate structurally, answer 304, are rate-limited and CLEAR only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
from fastapi.testclient import TestClient
from lxml import etree

from colsec.crisis.models import CapAlert
from colsec.db import Database
from colsec.reports import service
from colsec.reports.feed import ATOM_NS
from colsec.stix.tlp import TLP
from reports.conftest import Alliance, malware, store, tomorrow

A = f"{{{ATOM_NS}}}"


def _published(database: Database, alliance: Alliance, level: TLP, *, at: datetime) -> int:
    with database.unit_of_work() as s:
        b = service.create_draft(
            s, actor=alliance.analyst.actor, kind="daily", audience=level, end=tomorrow(), now=at
        )
        service.submit(s, actor=alliance.analyst.actor, bulletin_id=b.id, now=at)
        service.approve(s, actor=alliance.coordinator.actor, bulletin_id=b.id, now=at)
        service.publish(s, actor=alliance.coordinator.actor, bulletin_id=b.id, now=at)
        return b.id


def _cap(database: Database, scope: str, headline: str, exercise_run_id: int | None = None) -> None:
    with database.unit_of_work() as s:
        s.add(
            CapAlert(
                identifier=f"colsec-{headline}",
                sender="acc@alliance.example",
                sent="2026-12-01T10:00:00+00:00",
                status="Actual",
                msg_type="Alert",
                scope=scope,
                event="Cyber attack",
                headline=headline,
                severity="Severe",
                urgency="Immediate",
                area="Northmark",
                direction="in",
                xml="<alert/>",
                exercise_run_id=exercise_run_id,
            )  # fmt: skip
        )


def _check_atom(body: bytes) -> etree._Element:
    """Atom 1.0 (RFC 4287) structure: feed id/title/updated/self link; each entry id/title/updated/link."""
    root = etree.fromstring(body)
    assert root.tag == A + "feed"
    for req in ("id", "title", "updated"):
        assert len(root.findall(A + req)) == 1, req
    assert root.find(f"{A}link[@rel='self']") is not None
    assert root.find(A + "author/" + A + "name") is not None
    ids = []
    for e in root.findall(A + "entry"):
        for req in ("id", "title", "updated"):
            assert len(e.findall(A + req)) == 1, req
        datetime.fromisoformat(e.findtext(A + "updated").replace("Z", "+00:00"))  # type: ignore[union-attr]
        assert e.find(f"{A}link[@rel='alternate']") is not None and e.find(A + "summary") is not None
        ids.append(e.findtext(A + "id"))
    assert len(ids) == len(set(ids))
    return root


def test_feeds_parse_validate_answer_304_and_show_nothing_above_clear(
    client: TestClient, alliance: Alliance, database: Database
) -> None:
    store(
        database, alliance.analyst.org.id, [malware("OpenWorm", TLP.CLEAR), malware("SecretWorm", TLP.GREEN)]
    )
    t0 = datetime.now(UTC) - timedelta(hours=2)
    clear_id = _published(database, alliance, TLP.CLEAR, at=t0)
    green_id = _published(database, alliance, TLP.GREEN, at=t0)
    _cap(database, "Public", "PublicFlood")
    _cap(database, "Restricted", "RestrictedOutage")
    for lang in ("en", "ru"):
        for url in (f"/public/feed.atom?lang={lang}", f"/public/{lang}/feed.atom"):
            r = client.get(url)
            assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
            parsed = feedparser.parse(r.content)
            assert not parsed.bozo, parsed.get("bozo_exception")
            root = _check_atom(r.content)
            assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == lang
            assert len(parsed.entries) == 2  # the CLEAR bulletin and the public alert
            text = r.text
            assert f"/public/bulletins/{clear_id}" in text and f"/public/bulletins/{green_id}" not in text
            assert "PublicFlood" in text and "RestrictedOutage" not in text and "SecretWorm" not in text
        rss = client.get(f"/public/feed.rss?lang={lang}")
        parsed = feedparser.parse(rss.content)
        assert rss.status_code == 200 and not parsed.bozo and parsed.version == "rss20"
        assert len(parsed.entries) == 2 and "RestrictedOutage" not in rss.text
    assert "Ежедневная сводка" in client.get("/public/feed.atom?lang=ru").text
    # conditional GET: ETag and Last-Modified
    first = client.get("/public/feed.atom")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert client.get("/public/feed.atom", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/public/feed.atom", headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get("/public/feed.atom", headers={"If-None-Match": '"other"'}).status_code == 200
    # a correction changes the feed: same entry id, later ``updated``, a fresh ETag
    with database.unit_of_work() as s:
        corr = service.correct(s, actor=alliance.coordinator.actor, bulletin_id=clear_id)
        service.submit(s, actor=alliance.coordinator.actor, bulletin_id=corr.id)
        service.approve(s, actor=alliance.analyst.actor, bulletin_id=corr.id)
        service.publish(s, actor=alliance.analyst.actor, bulletin_id=corr.id)
        series = corr.series
    after = client.get("/public/feed.atom", headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag
    entry = next(e for e in feedparser.parse(after.content).entries if e.id == f"urn:uuid:{series}")
    before = next(e for e in feedparser.parse(first.content).entries if e.id == f"urn:uuid:{series}")
    assert entry.updated_parsed > before.updated_parsed and entry.published_parsed == before.published_parsed
    # bad language: a clear 4xx
    bad = client.get("/public/feed.atom?lang=de")
    assert bad.status_code == 422 and "de" in bad.text


def test_public_pages_need_no_login_link_the_feeds_and_hide_the_rest(
    client: TestClient, alliance: Alliance, database: Database
) -> None:
    clear_id = _published(database, alliance, TLP.CLEAR, at=datetime.now(UTC))
    green_id = _published(database, alliance, TLP.GREEN, at=datetime.now(UTC))
    for path in ("/public", f"/public/bulletins/{clear_id}?lang=ru"):
        page = client.get(path)
        assert page.status_code == 200
        head = page.text.split("</head>")[0]
        assert 'rel="alternate" type="application/atom+xml"' in head and 'type="application/rss+xml"' in head
    assert client.get(f"/public/bulletins/{green_id}").status_code == 404
    assert f"/public/bulletins/{green_id}" not in client.get("/public").text


def test_the_feed_is_rate_limited_for_all_workers_together(settings: Any, database: Database) -> None:
    """Two app instances (two workers' engines and caches) on one database share one limit."""
    from colsec.web.app import create_app

    limit = 6
    shared = settings.model_copy(update={"feed_requests_per_minute": limit})
    second_db = Database(database.url)
    try:
        with (
            TestClient(create_app(shared, database=database)) as one,
            TestClient(create_app(shared, database=second_db)) as two,
        ):
            codes = [(one if i % 2 else two).get("/public/feed.rss").status_code for i in range(limit + 2)]
            assert codes == [200] * limit + [429, 429]
            refused = two.get("/public/feed.atom?lang=ru")
            assert refused.status_code == 429, refused.text
    finally:
        second_db.dispose()


def test_the_rendered_feed_is_kept_until_the_database_says_it_changed(
    settings: Any, database: Database, alliance: Alliance
) -> None:
    """One worker keeps its rendered feed; a bulletin published through another shows at once."""
    from colsec.web.app import create_app

    app = create_app(settings, database=database)
    with TestClient(app) as c:
        first = c.get("/public/feed.atom")
        again = c.get("/public/feed.atom")
        assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
        assert len(app.state.feed_cache) == 1  # rendered once for (validator, lang, format, base)
        new_id = _published(database, alliance, TLP.CLEAR, at=datetime.now(UTC))  # "another worker"
        after = c.get("/public/feed.atom", headers={"If-None-Match": first.headers["etag"]})
        assert after.status_code == 200 and f"/public/bulletins/{new_id}" in after.text
        _cap(database, "Public", "DrillFlood", exercise_run_id=1)  # an exercise's: never public
        _cap(database, "Public", "LaterFlood")
        text = c.get("/public/feed.atom").text
        assert "LaterFlood" in text and "DrillFlood" not in text
        assert c.get("/public/feed.atom", headers={"If-None-Match": after.headers["etag"]}).status_code == 200
