"""The dashboard's crisis metrics are the crisis API's numbers, formatted in the page's language."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from babel.dates import format_timedelta
from babel.numbers import format_decimal

from .test_crisis import _crisis_with_consultation
from .test_i18n import _switch, untranslated


def _cells(html: str, testid: str) -> dict[str, str]:
    row = html.split(f'data-testid="{testid}"', 1)[1].split("</tr>", 1)[0]
    return {
        k: re.sub(r"\s+", " ", v).strip() for k, v in re.findall(r'data-metric="(\w+)">(.*?)</td>', row, re.S)
    }


def _expected(api: dict[str, Any], lang: str) -> dict[str, str]:
    def span(key: str) -> str:
        m = api[key]["median_s"]
        return "—" if m is None else format_timedelta(timedelta(seconds=m), locale=lang, threshold=1.1)

    cov = api["coverage"]
    cover = (
        f"{format_decimal(round(cov['ratio'] * 100), locale=lang)} % "
        f"({format_decimal(cov['covered'], locale=lang)} / {format_decimal(cov['needed'], locale=lang)})"
        if cov["ratio"] is not None
        else "—"
    )
    return {
        "decision": span("time_to_decision"),
        "deployment": span("decision_to_first_deployment"),
        "coverage": cover,
    }


def test_dashboard_crisis_metrics_equal_the_api(ui_client, demo_database) -> None:
    crisis_id, _, _ = _crisis_with_consultation(demo_database)
    c = ui_client("coordinator")
    open_ids = [
        x["id"] for x in c.get("/api/v1/crisis/crises").json() if x["status"] not in ("closed", "reviewed")
    ]
    assert crisis_id in open_ids
    since = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    recent = c.get("/api/v1/crisis/metrics", params={"since": since}).json()
    assert recent["time_to_decision"]["count"] > 0  # the demo's story decided requests this month
    for lang in ("en", "ru"):
        _switch(c, lang)
        home = c.get("/").text
        assert 'data-testid="crisis-metrics"' in home
        for cid in open_ids:
            api = c.get("/api/v1/crisis/metrics", params={"crisis_id": cid}).json()
            assert _cells(home, f"metrics-crisis-{cid}") == _expected(api, lang), (lang, cid)
        assert _cells(home, "metrics-recent") == _expected(recent, lang), lang
        panel = c.get("/dashboard/crisis-panel", headers={"HX-Request": "true"}).text
        assert _cells(panel, "metrics-recent") == _expected(recent, lang)  # the 30 s refresh keeps them
        if lang == "ru":
            assert not untranslated(home.split('data-testid="crisis-metrics"')[1].split("</table>")[0], "ru")


def test_metrics_since_keeps_recent_requests_only(ui_client, demo_database) -> None:
    c = ui_client("coordinator")
    everything = c.get("/api/v1/crisis/metrics").json()
    future = c.get("/api/v1/crisis/metrics", params={"since": "2999-01-01T00:00:00"}).json()
    assert everything["requests"] and future["requests"] == []
    assert future["time_to_decision"]["count"] == 0 and future["coverage"]["ratio"] is None
    assert c.get("/api/v1/crisis/metrics", params={"since": "yesterday"}).status_code == 422
