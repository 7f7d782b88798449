"""An audit entry's details as a readable key/value list: the administration page showed the raw
JSON, ISO timestamps included (browser review). Now common keys are labelled, moments go through
the ``datetime`` filter, nested values stay one compact line, and every value is escaped data."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from colsec.accounts.models import User
from colsec.accounts.service import actor_for
from colsec.store import audit

from .test_i18n import _switch, untranslated


def _record(demo_database: Any, details: dict[str, Any]) -> None:
    with demo_database.unit_of_work() as s:
        admin = actor_for(s, s.execute(select(User).where(User.username == "admin")).scalar_one())
        audit.record(s, actor=admin, action="groups.delegate", target="group:1", details=details)


def _cell(html: str, action: str = "groups.delegate") -> str:
    """The details cell of the newest entry of ``action`` (switching the language is audited too)."""
    row = next(r for r in html.split("<tr data-audit-id=")[1:] if f"<code>{action}</code>" in r)
    return row.split('data-testid="audit-details">', 1)[1].split("</td>", 1)[0]


def test_audit_details_are_a_key_value_list_with_dates_in_the_readers_language(
    ui_client: Any, demo_database: Any
) -> None:
    _record(demo_database, {"deputy": "nm-analyst", "from": "2026-12-05T10:00:00+00:00",
                            "members": [{"org": "NM", "kind": "member"}], "note": "<b>bold</b> & co"})  # fmt: skip
    admin = ui_client("admin")
    for lang, until, deputy, moment in (
        ("en", "from", "deputy", "5 Dec 2026, 10:00 UTC"),
        ("ru", "с", "заместитель", "5 дек. 2026, 10:00 UTC"),
    ):
        _switch(admin, lang)
        html = admin.get("/admin/audit").text
        cell = _cell(html)
        assert cell.startswith('<dl class="kv">'), cell
        assert f'<dt>{deputy}</dt><dd translate="no">nm-analyst</dd>' in cell
        assert f'<dt>{until}</dt><dd><time datetime="2026-12-05T10:00:00+00:00">{moment}</time></dd>' in cell
        assert "2026-12-05T10:00" not in cell.replace('datetime="2026-12-05T10:00', "")
        # a nested value: one compact line, escaped; a key without a label stays the field name
        assert '<dt><span translate="no">members</span></dt>' in cell
        assert "[{&#34;kind&#34;:&#34;member&#34;,&#34;org&#34;:&#34;NM&#34;}]" in cell, cell
        assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in cell and "<b>" not in cell
        assert not untranslated(html, lang), untranslated(html, lang)


def test_details_that_are_empty_show_a_dash(ui_client: Any, demo_database: Any) -> None:
    _record(demo_database, {})
    assert _cell(ui_client("admin").get("/admin/audit").text) == "—"
