"""A CAP alert's enumerated values in the reader's language, the CAP code beside each.

A browser review found "Actual · Alert · Restricted" (and the urgency, severity and so on) in
English on Russian pages; operators still cross-check with other CAP systems, so the code stays
on the page as data (``<code translate="no">``), and the alert's own text is never translated.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from colsec.crisis.models import CapAlert

from .test_i18n import untranslated

RU = {
    "Actual": "Действующее",
    "Exercise": "Учебное",
    "Alert": "Оповещение",
    "Update": "Обновление",
    "Restricted": "Ограниченное",
    "Immediate": "Немедленно",
    "Expected": "В течение часа",
    "Extreme": "Чрезвычайная",
    "Severe": "Высокая",
    "Observed": "Наблюдаемое",
}


def _dd(html: str, testid: str) -> str:
    return html.split(f'data-testid="{testid}">', 1)[1].split("</dd>", 1)[0]


def test_cap_values_are_labelled_in_russian_with_the_code_beside(ui_client, demo_database) -> None:
    with demo_database.unit_of_work() as db:
        a = db.execute(select(CapAlert).where(CapAlert.crisis_id.is_not(None)).limit(1)).scalar_one()
        alert_id, crisis_id, status, msg_type, scope = a.id, a.crisis_id, a.status, a.msg_type, a.scope
        urgency, severity, headline = a.urgency, a.severity, a.headline
    c = ui_client("coordinator")  # reads Russian
    html = c.get(f"/crisis/cap/{alert_id}").text
    assert '<html lang="ru">' in html
    for testid, code in (("cap-status", status), ("cap-msgtype", msg_type), ("cap-scope", scope),
                         ("cap-urgency", urgency), ("cap-severity", severity), ("cap-certainty", "Observed")):  # fmt: skip
        dd = _dd(html, testid)
        assert RU[code] in dd and f'<code class="muted" translate="no">{code}</code>' in dd, (testid, dd)
    headline_line = html.split('data-testid="cap-headline">', 1)[1].split("</p>", 1)[0]
    assert all(RU[v] in headline_line for v in (status, msg_type, scope)), headline_line
    # the categories and response the summary row does not keep, read back from the stored XML
    assert "Инфраструктурная" in _dd(html, "cap-category") or "Прочее" in _dd(html, "cap-category")
    assert re.search(r"(Подготовиться|Следить за обстановкой|Отбой)</span> <code", _dd(html, "cap-response"))
    # the alert's own words are data
    assert f'<h1 translate="no">{headline}' in html
    assert untranslated(html, "ru") == []
    # the crisis page's list of alerts and its timeline label the message type too
    crisis = c.get(f"/crisis/{crisis_id}").text
    assert f"{RU[msg_type]}</span> <code" in crisis and untranslated(crisis, "ru") == []


def test_in_english_a_label_that_reads_as_its_code_is_not_repeated(ui_client, demo_database) -> None:
    with demo_database.unit_of_work() as db:
        a = db.execute(select(CapAlert).where(CapAlert.crisis_id.is_not(None)).limit(1)).scalar_one()
        alert_id, status = a.id, a.status
    html = ui_client("admin").get(f"/crisis/cap/{alert_id}").text
    dd = _dd(html, "cap-status")
    assert f'data-cap-code="{status}">{status}</span>' in dd and "<code" not in dd
    category = _dd(html, "cap-category")  # "Infra" reads "Infrastructure": the code stays beside
    assert "Infrastructure</span> <code" in category or "Other</span>" in category
    assert untranslated(html, "en") == []
