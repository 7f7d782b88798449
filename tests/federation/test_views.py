"""The federation read models: peer health on the dashboard, full status for operators."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from colsec.federation import views
from colsec.store.peers import Peer


def test_peer_health_is_good_while_the_last_success_is_newer_than_the_last_error(
    db: Session, make_account: Callable[..., Any]
) -> None:
    org_id = make_account(org="PEER-ORG").org.id
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    later = t0 + timedelta(minutes=5)
    peers = {
        "fresh": {},
        "failing": {"last_success_at": t0, "last_error_at": later, "objects_received": 7},
        "recovered": {"last_success_at": later, "last_error_at": t0},
        "disabled": {"enabled": False},
    }
    for name, state in peers.items():
        db.add(Peer(name=name, url=f"https://{name}.example.com/taxii2/", organisation_id=org_id, **state))
    db.flush()

    health = {row["name"]: row for row in views.peer_health(db)}
    assert {n: h["ok"] for n, h in health.items()} == {
        "disabled": False,
        "failing": False,
        "fresh": True,
        "recovered": True,
    }
    assert health["failing"]["received"] == 7 and health["fresh"]["received"] == 0

    rows = views.peer_rows(db)
    assert [r["name"] for r in rows] == ["disabled", "failing", "fresh", "recovered"]
    assert rows[1]["organisation"] == "PEER-ORG" and rows[1]["url"].startswith("https://failing.")
