"""A service's refusal in the reader's language (the probe found English sentences such as "the
meeting must start in the future" and "unknown organisation 'XX'" on Russian pages).

A refusal names its ``kind``; the UI's catalogue (``colsec.web.ui.refusals``) words it, the values
quoted from the input stay data; the API keeps its English detail and code and gains the kind.
The scan below holds every kind raised in the sources against the catalogue, so neither can drift.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from colsec.crisis.models import Incident
from colsec.db import Database
from colsec.errors import InvalidInput
from colsec.groups import meetings
from colsec.groups.schemas import MeetingIn
from colsec.web.i18n import translations
from colsec.web.ui.refusals import REFUSALS, explain_refusal

from .conftest import csrf_of
from .test_crisis import _crisis_with_consultation
from .test_groups import Committee, _client, _committee
from .test_i18n import _switch, untranslated

SRC = Path(__file__).resolve().parents[2] / "src" / "colsec"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# A peer's failure, told to the operator in the sync log in the node's words: its ``kind`` says how
# the peer failed (timeout, ssrf...), not which sentence a person reads.
NOT_REFUSALS = {"TaxiiClientError"}


def _name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _trees() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(), str(p))) for p in sorted(SRC.rglob("*.py"))]


def _error_classes(trees: list[tuple[Path, ast.Module]]) -> set[str]:
    """Every ``ColsecError`` subclass defined in the sources (by name, to a fixed point)."""
    known = {"ColsecError"}
    while True:
        more = {
            node.name
            for _, tree in trees
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef) and any(_name(b) in known for b in node.bases)
        }
        if more <= known:
            return known - NOT_REFUSALS
        known |= more


def _raised() -> dict[str, list[tuple[str, set[str]]]]:
    """kind -> (where, the params it passes) for every error built with a ``kind``; a kind or params
    the scan cannot read (not a literal) fails here, so the scan misses nothing."""
    trees = _trees()
    classes = _error_classes(trees)
    found: dict[str, list[tuple[str, set[str]]]] = {}
    for path, tree in trees:
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _name(node.func) in classes):
                continue
            kw = {k.arg: k.value for k in node.keywords if k.arg}
            if "kind" not in kw:
                continue
            where = f"{path.relative_to(SRC)}:{node.lineno}"
            kind, params = kw["kind"], kw.get("params")
            assert isinstance(kind, ast.Constant) and isinstance(kind.value, str), (
                f"{where}: kind is not a literal"
            )
            keys: set[str] = set()
            if params is not None:
                assert isinstance(params, ast.Dict), f"{where}: params is not a dict literal"
                for k in params.keys:
                    assert isinstance(k, ast.Constant) and isinstance(k.value, str), f"{where}: a params key"
                    keys.add(k.value)
            found.setdefault(kind.value, []).append((where, keys))
    return found


def test_every_kind_raised_has_a_sentence_with_its_params_in_both_languages() -> None:
    raised = _raised()
    assert {"meeting_not_future", "unknown_organisation", "officer_only", "needed_by_not_future"} <= set(
        raised
    )
    assert len(raised) > 150  # the scan reads the services, not a corner of them
    missing = sorted(k for k in raised if k not in REFUSALS)
    assert missing == [], "add these kinds to colsec/web/ui/refusals.py"
    ru = translations("ru")
    for kind, sites in raised.items():
        wording = REFUSALS[kind]
        for where, keys in sites:
            assert set(PLACEHOLDER.findall(wording)) == keys, (kind, where, wording)
        russian = ru.gettext(wording)
        assert russian != wording, f"{kind}: no Russian sentence"
        assert set(PLACEHOLDER.findall(russian)) == set(PLACEHOLDER.findall(wording)), kind


def test_every_sentence_of_the_catalogue_is_raised_somewhere() -> None:
    assert sorted(set(REFUSALS) - set(_raised())) == [], "stale kinds in colsec/web/ui/refusals.py"


def test_a_kind_without_a_sentence_keeps_the_nodes_own_words() -> None:
    gettext = translations("ru").gettext
    assert explain_refusal(None, {}, gettext, "ru") is None
    assert explain_refusal("no_such_kind", {}, gettext, "ru") is None
    worded = explain_refusal("unknown_organisation", {"org": "<b>XX</b>"}, gettext, "ru")
    assert str(worded) == 'Неизвестная организация «<span translate="no">&lt;b&gt;XX&lt;/b&gt;</span>».'
    err = InvalidInput("unknown organisation 'XX'", kind="unknown_organisation", params={"org": "XX"})
    assert err.to_dict() == {"error": "invalid_input", "detail": "unknown organisation 'XX'",
                             "kind": "unknown_organisation", "params": {"org": "XX"}}  # fmt: skip
    assert InvalidInput("x").to_dict() == {"error": "invalid_input", "detail": "x"}  # as before


def _detail(html: str) -> str:
    """The error page's sentence (its ``error-detail`` paragraph)."""
    return html.split('data-testid="error-detail">', 1)[1].split("</p>", 1)[0]


def _local(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M")


def test_working_group_refusals_read_in_the_readers_language(
    app: Any, database: Database, make_account: Callable[..., Any]
) -> None:
    c: Committee = _committee(database, make_account)
    url = f"/groups/{c.group_id}"
    sec = _client(app, c, "sec")
    _switch(sec, "ru")
    token = csrf_of(sec.get(url).text)

    # a meeting in the past
    past = {
        "csrf_token": token,
        "title": "Plenary",
        "starts_at": _local(datetime.now(UTC) - timedelta(days=1)),
    }
    r = sec.post(f"{url}/meetings", data=past)
    assert r.status_code == 422 and '<html lang="ru">' in r.text
    assert _detail(r.text) == "Начало заседания должно быть в будущем."
    assert "must start in the future" not in r.text and untranslated(r.text, "ru") == []
    assert 'data-testid="error-back"' in r.text  # back to the form, as for a field's problem

    # a start that no time zone can carry into UTC (year 10000): refused, not a server error
    r = sec.post(
        f"{url}/meetings", data={**past, "starts_at": "9999-12-31T23:59", "tz": "America/Los_Angeles"}
    )
    assert r.status_code == 422
    assert _detail(r.text) == "Начало заседания выходит за пределы дат, которые хранит узел."

    # an organisation typed into the form: named as typed, escaped, and not for translation
    r = sec.post(f"{url}/members", data={"csrf_token": token, "organisation": "<b>XX</b>", "kind": "member"})
    assert r.status_code == 422
    assert _detail(r.text) == 'Неизвестная организация «<span translate="no">&lt;b&gt;XX&lt;/b&gt;</span>».'
    assert "<b>XX</b>" not in r.text and "unknown organisation" not in r.text

    # attendance of a meeting that has not begun (the date in the reader's format)
    with database.unit_of_work() as s:
        ahead = meetings.create_meeting(s, actor=c.people["sec"].actor, group_id=c.group_id, data=MeetingIn(
            title="Ahead", starts_at=datetime(2031, 3, 5, 10, 0, tzinfo=UTC))).id  # fmt: skip
    r = sec.post(f"/groups/meetings/{ahead}/held", data={"csrf_token": token, "present": ["NM", "EV"]})
    assert r.status_code == 422
    assert _detail(r.text) == (
        "Заседание начинается 5 мар. 2031, 10:00 UTC: до этого времени его нельзя отметить как проведённое."
    )
    with database.unit_of_work(write=False) as s:
        assert meetings.get_meeting(s, actor=c.people["sec"].actor, meeting_id=ahead)[0].status == "planned"

    # a member's representative: a delegation that ends before it starts
    nm = _client(app, c, "nm")
    _switch(nm, "ru")
    start = datetime.now(UTC) + timedelta(days=2)
    r = nm.post(f"{url}/delegations", data={"csrf_token": csrf_of(nm.get(url).text), "deputy": c.name("nm_dep"),
                                            "starts_at": _local(start), "ends_at": _local(start - timedelta(days=1))})  # fmt: skip
    assert (
        r.status_code == 422 and _detail(r.text) == "Окончание срока полномочий должно быть позже его начала."
    )
    # and one who may not plan meetings, told who may
    r = nm.post(f"{url}/meetings", data={**past, "csrf_token": csrf_of(nm.get(url).text)})
    assert r.status_code == 403
    assert (
        _detail(r.text)
        == 'Это может сделать только председатель или секретарь группы <span translate="no">WG7</span>.'
    )

    # the same refusal on an English page: the catalogue's English, no Russian
    _switch(sec, "en")
    r = sec.post(f"{url}/meetings", data=past)
    assert r.status_code == 422 and _detail(r.text) == "The meeting must start in the future."
    assert untranslated(r.text, "en") == []


def test_the_api_keeps_its_english_detail_and_code_and_gains_the_kind(
    client: TestClient, database: Database, make_account: Callable[..., Any]
) -> None:
    c = _committee(database, make_account)
    sec = c.people["sec"].headers
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    r = client.post(
        f"/api/v1/groups/{c.group_id}/meetings", headers=sec, json={"title": "x", "starts_at": past}
    )
    assert r.status_code == 422
    assert r.json() == {"error": "invalid_input", "detail": "the meeting must start in the future",
                        "kind": "meeting_not_future", "params": {}}  # fmt: skip
    r = client.post(f"/api/v1/groups/{c.group_id}/members", headers=sec, json={"organisation": "XX"})
    assert r.status_code == 422
    assert r.json() == {"error": "invalid_input", "detail": "unknown organisation 'XX'",
                        "kind": "unknown_organisation", "params": {"org": "XX"}}  # fmt: skip


def test_crisis_refusals_read_in_the_readers_language(ui_client, demo_database) -> None:  # type: ignore[no-untyped-def]
    crisis_id, _, _ = _crisis_with_consultation(demo_database)
    coord = ui_client("coordinator")
    _switch(coord, "ru")
    page = coord.get(f"/crisis/{crisis_id}").text
    r = coord.post(f"/crisis/{crisis_id}/roles",
                   data={"csrf_token": csrf_of(page), "username": "nobody-here", "role": "liaison"})  # fmt: skip
    assert r.status_code == 404
    assert _detail(r.text) == 'Активного пользователя «<span translate="no">nobody-here</span>» нет.'
    stale = coord.post(
        f"/crisis/{crisis_id}/roles", data={"csrf_token": "stale", "username": "ev-rep", "role": "liaison"}
    )
    assert stale.status_code == 403 and _detail(stale.text) == (
        "Срок действия формы истёк, или она отправлена не с этого сайта; обновите страницу и повторите попытку."
    )

    rep = ui_client("nm-rep")
    _switch(rep, "ru")
    form = {"csrf_token": csrf_of(rep.get(f"/crisis/{crisis_id}").text), "capability": "forensics",
            "quantity": "2", "location": "Northmark", "needed_by": "2020-01-02T03:04"}  # fmt: skip
    r = rep.post(f"/crisis/{crisis_id}/requests", data=form)
    assert r.status_code == 422
    assert _detail(r.text) == (
        "Срок «Требуется к» (2 янв. 2020, 03:04 UTC) уже наступил: укажите время, к которому помощь ещё нужна."
    )
    assert "is not in the future" not in r.text and untranslated(r.text, "ru") == []
    _switch(rep, "en")
    r = rep.post(f"/crisis/{crisis_id}/requests", data=form)
    assert _detail(r.text) == (
        "“Needed by” (2 Jan 2020, 03:04 UTC) is not in the future: give the time by which the help is still needed."
    )


def test_admin_and_procedure_lookups_name_what_was_not_found(ui_client) -> None:  # type: ignore[no-untyped-def]
    """An organisation, a user or a written procedure that is not there (or not the reader's) is
    named in the reader's language, as typed, not as the service's English with Python quotes."""
    admin = ui_client("admin")
    _switch(admin, "ru")
    token = csrf_of(admin.get("/admin/users").text)
    r = admin.post("/admin/users", data={"csrf_token": token, "org": "NOPE", "username": "new-one",
                                         "password": "long-enough-1", "role": "viewer"})  # fmt: skip
    assert r.status_code == 404
    assert _detail(r.text) == 'Организация «<span translate="no">NOPE</span>» не найдена.'
    r = admin.post("/admin/users/ghost/active", data={"csrf_token": token, "active": "0"})
    assert (
        r.status_code == 404
        and _detail(r.text) == 'Пользователь «<span translate="no">ghost</span>» не найден.'
    )
    assert "not found" not in r.text and untranslated(r.text, "ru") == []

    r = admin.get("/admin/jobs?status=<b>zz</b>")
    assert r.status_code == 422 and _detail(r.text) == (
        'В этом списке нет фильтра «<span translate="no">&lt;b&gt;zz&lt;/b&gt;</span>»; выберите один из фильтров на странице.'
    )

    outsider = ui_client("sd-rep")
    _switch(outsider, "en")
    r = outsider.post(
        "/groups/procedures/1/answer",
        data={"csrf_token": csrf_of(outsider.get("/groups").text), "stance": "agree"},
    )
    assert r.status_code == 404 and _detail(r.text) == "Written procedure 1 was not found."


def test_a_step_out_of_order_names_every_state_in_the_readers_language(ui_client, demo_database) -> None:  # type: ignore[no-untyped-def]
    crisis_id, _, _ = _crisis_with_consultation(demo_database)
    coord = ui_client("coordinator")
    _switch(coord, "ru")
    token = csrf_of(coord.get(f"/crisis/{crisis_id}").text)
    r = coord.post(f"/crisis/{crisis_id}/advance", data={"csrf_token": token, "to": "closed"})
    assert r.status_code == 409
    assert _detail(r.text) == "Сейчас состояние «активен»; перейти в «закрыт» можно только из: стабилизация."
    # an incident's states too (they were shown as their codes)
    with demo_database.unit_of_work(write=False) as s:
        [incident_id] = s.execute(select(Incident.id).where(Incident.crisis_id == crisis_id)).scalars()
    rep = ui_client("nm-rep")
    _switch(rep, "ru")
    r = rep.post(f"/crisis/incidents/{incident_id}/advance",
                 data={"csrf_token": csrf_of(rep.get("/crisis").text), "to": "escalated"})  # fmt: skip
    assert r.status_code == 409 and "«передан»" in _detail(r.text) and "escalated" not in _detail(r.text)
    assert "triaged" not in _detail(r.text) and "оценён" in _detail(r.text)


def test_an_import_the_node_cannot_read_is_refused_in_the_readers_language(ui_client) -> None:  # type: ignore[no-untyped-def]
    analyst = ui_client("nm-analyst")
    _switch(analyst, "ru")
    token = csrf_of(analyst.get("/import").text)

    def refused(content: bytes) -> str:
        r = analyst.post("/import", data={"csrf_token": token, "format": "auto"},
                         files={"file": ("upload.bin", content, "application/octet-stream")})  # fmt: skip
        assert r.status_code == 422 and '<html lang="ru">' in r.text
        assert untranslated(r.text, "ru") == [] and 'data-testid="error-back"' in r.text
        return _detail(r.text)

    assert (
        refused(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
        == "Файл содержит двоичные данные, а не STIX, MISP, CSV или текст."
    )
    assert refused(b'{"a": {"b": 1}}') == "JSON не является ни пакетом STIX, ни событием MISP."
    assert (
        refused("indicator,type\n".encode("utf-16"))
        == "Текст в кодировке UTF-16: сохраните его в UTF-8 и повторите попытку."
    )
    assert refused(b'<?xml version="1.0"?><alert/>').startswith("Это XML-документ")
