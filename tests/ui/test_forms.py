"""Posted forms read one way on every page (``colsec.web.ui.forms``): a refusal names the field and
leads back to the form, and a ``next`` field never leads off the page family that posted it.

A refusal names a field by its label on the form and says what is wrong in the reader's
language (a browser review found ``body.needed_by`` and Pydantic's English on Russian pages)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Literal

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field, field_validator

from colsec.errors import InvalidInput
from colsec.web.i18n import translations
from colsec.web.ui.forms import explain, local_next, validated, when

from .conftest import csrf_of
from .test_i18n import _switch, untranslated, visible_texts

Client = Callable[..., TestClient]
FIELD_NAMED = "<li><strong>{}</strong>: {}</li>"
BACK = 'href="{}" data-testid="error-back"'


def test_refused_forms_name_the_field_and_lead_back_on_every_page(ui_client: Client) -> None:
    c = ui_client("nm-analyst")  # reads Russian
    token = csrf_of(c.get("/crisis").text)
    r = c.post(
        "/crisis/incidents", data={"csrf_token": token, "title": "", "category": "cyber", "severity": "3"}
    )
    assert r.status_code == 422
    assert (
        FIELD_NAMED.format("Название", "заполните это поле.") in r.text
        and BACK.format("/crisis#incidents") in r.text
    )

    asset = {"csrf_token": token, "name": "Grid", "sector": "", "criticality": "critical", "ip_ranges": ""}
    r = c.post("/assets", data=asset)  # the asset form reads its fields as the crisis forms do
    assert r.status_code == 422
    assert FIELD_NAMED.format("Сектор", "заполните это поле.") in r.text and BACK.format("/assets") in r.text


def test_next_is_followed_only_within_the_posting_pages(ui_client: Client) -> None:
    c = ui_client("nm-analyst")
    token = csrf_of(c.get("/crisis").text)
    resource = {"csrf_token": token, "kind": "team", "name": "Forensics team B", "capability": "forensics",
                "size": "4", "readiness_hours": "12", "location": "Northmark capital"}  # fmt: skip
    for nxt, landed in [("/crisis#mine", "/crisis#mine"), ("//attacker.example/crisis", "/crisis#resources"),
                        ("/crisis//attacker.example", "/crisis#resources"), ("https://attacker.example", "/crisis#resources")]:  # fmt: skip
        r = c.post("/crisis/resources", data={**resource, "next": nxt}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == landed, nxt


class _Sample(BaseModel):
    name: str = Field(min_length=1)
    size: int = Field(ge=1)


def test_validated_reports_every_problem_and_names_the_first_field() -> None:
    assert validated(_Sample, {"name": "a", "size": "2"}) == _Sample(name="a", size=2)
    with pytest.raises(InvalidInput) as refused:
        validated(_Sample, {"name": "", "size": "0"})
    assert refused.value.details["field"] == "name"
    assert [(p["field"], p["type"]) for p in refused.value.details["problems"]] == [
        ("name", "string_too_short"),
        ("size", "greater_than_equal"),
    ]
    assert refused.value.message.startswith("name: ") and "; size: " in refused.value.message  # the log's


class _Request(BaseModel):
    title: str = Field(min_length=1, max_length=5)
    quantity: int = Field(ge=1, le=10)
    needed_by: datetime
    due_on: date
    kind: Literal["a", "b"]
    agree: bool
    tz: str

    @field_validator("tz")
    @classmethod
    def _zone(cls, v: str) -> str:
        if "/" not in v:
            raise ValueError(f"unknown time zone {v!r}")
        return v


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", [("Title", "use at most 5 characters.", ""), ("Quantity", "enter a whole number.", ""),
                ("Needed by", "enter a date and time.", ""), ("Due", "enter a date.", ""),
                ("Kind", "choose one of the offered values.", ""), ("A field of the form", "choose yes or no.", ""),
                ("Time zone", "this is not valid.", "Value error, unknown time zone 'Mars'")]),
        ("ru", [("Название", "число символов — не более 5.", ""), ("Количество", "введите целое число.", ""),
                ("Требуется к", "укажите дату и время.", ""), ("Срок", "укажите дату.", ""),
                ("Вид", "выберите одно из предложенных значений.", ""), ("Поле формы", "выберите «да» или «нет».", ""),
                ("Часовой пояс", "недопустимое значение.", "Value error, unknown time zone 'Mars'")]),
    ],
)  # fmt: skip
def test_a_refusal_is_worded_for_the_reader_by_the_forms_labels(
    lang: str, expected: list[tuple[str, str, str]]
) -> None:
    with pytest.raises(InvalidInput) as refused:
        validated(_Request, {"title": "x" * 6, "quantity": "many", "needed_by": "soon", "due_on": "later",
                             "kind": "c", "agree": "perhaps", "tz": "Mars"})  # fmt: skip
    assert explain(refused.value.details, translations(lang).gettext) == expected


def test_limits_and_empty_fields_are_worded_and_a_form_may_name_its_own_label() -> None:
    gettext = translations("ru").gettext
    with pytest.raises(InvalidInput) as refused:
        validated(_Sample, {"name": "", "size": "0"})
    assert explain(refused.value.details, gettext) == [
        ("Название", "заполните это поле.", ""),  # an empty text field is a missing one, not "1 character"
        ("Численность", "введите не меньше 1.", ""),
    ]
    with pytest.raises(InvalidInput) as refused:
        validated(_Request, {}, labels={"due_on": "Start (local time)"})
    worded = explain(refused.value.details, translations("en").gettext)
    assert ("Start (local time)", "fill this in.", "") in worded and ("Title", "fill this in.", "") in worded
    assert explain({"field": "level"}, translations("en").gettext) == [
        ("Alert level", "this is not valid.", "")
    ]
    assert explain(None, gettext) == [] and explain({"needs": "crisis_centre"}, gettext) == []


def test_datetime_local_fields_are_read_as_utc() -> None:
    assert when("2026-12-06T10:30") == "2026-12-06T10:30:00Z"
    assert when("") is None
    assert when("2026-12-06T10:30:00+01:00") == "2026-12-06T10:30:00+01:00"


def test_local_next_keeps_to_its_prefix() -> None:
    assert local_next("/alerts?tab=mine", prefix="/alerts", default="/alerts/1") == "/alerts?tab=mine"
    for hostile in ("//attacker.example", "/alerts//attacker.example", "https://attacker.example/alerts", ""):
        assert local_next(hostile, prefix="/alerts", default="/alerts/1") == "/alerts/1"


def test_a_refused_request_form_speaks_russian_and_names_the_fields_label(ui_client: Client) -> None:
    """The browser review's case: an assistance request without its date, on a Russian page."""
    c = ui_client("coordinator")  # a Russian-speaking demo user
    token = csrf_of(c.get("/crisis/1").text)
    form = {"csrf_token": token, "capability": "forensics", "quantity": "2", "location": "Northmark capital"}
    r = c.post("/crisis/1/requests", data=form)
    assert r.status_code == 422 and '<html lang="ru">' in r.text
    assert FIELD_NAMED.format("Требуется к", "укажите дату и время.") in r.text
    assert BACK.format("/crisis/1#requests") in r.text
    shown = " ".join(visible_texts(r.text))
    assert "needed_by" not in r.text and "Field required" not in r.text and "body." not in r.text
    assert untranslated(r.text, "ru") == [], shown
    r = c.post(
        "/crisis/1/requests",
        data={**form, "quantity": "0", "capability": "magic", "needed_by": "2030-01-01T10:00"},
    )
    assert FIELD_NAMED.format("Количество", "введите не меньше 1.") in r.text
    assert FIELD_NAMED.format("Возможность", "выберите одно из предложенных значений.") in r.text
    _switch(c, "en")
    r = c.post("/crisis/1/requests", data={**form, "quantity": "lots"})
    assert FIELD_NAMED.format("Quantity", "enter a whole number.") in r.text
    assert FIELD_NAMED.format("Needed by", "enter a date and time.") in r.text
    assert untranslated(r.text, "en") == []


def test_a_pages_bad_parameter_gets_the_error_page_and_the_api_keeps_its_json(ui_client: Client) -> None:
    c = ui_client("coordinator")
    huge = "9" * 30
    r = c.get(f"/crisis/requests/{huge}")
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "<li><strong>Адрес страницы</strong>:" in r.text and "request_id" not in r.text
    assert untranslated(r.text, "ru") == []
    api = c.get(f"/api/v1/crisis/requests/{huge}")  # unchanged: JSON, English, the field's path
    assert api.status_code == 422 and api.headers["content-type"] == "application/json"
    body = api.json()
    assert body["error"] == "invalid_input" and re.match(r"path\.request_id: ", body["detail"])
    assert body["details"][0]["loc"] == ["path", "request_id"]


def test_a_refused_post_leads_back_to_its_page_and_the_language_switch_reloads_that_page(
    ui_client: Client,
) -> None:
    """Refusals a route words itself had only "Back to the dashboard", and the language switch on
    any refusal reloaded the post's own address: 405 Method Not Allowed (browser review)."""
    c = ui_client("coordinator")
    token = csrf_of(c.get("/crisis/1").text)
    form = {"csrf_token": token, "capability": "forensics", "quantity": "2", "location": "Northmark capital",
            "needed_by": "2020-01-01T10:00"}  # fmt: skip
    r = c.post("/crisis/1/requests", data=form)  # the route names its form's page: the switch goes there
    assert r.status_code == 403 and BACK.format("/crisis/1#requests") in r.text
    assert re.findall(r'<input type="hidden" name="next" value="([^"]*)">', r.text) == ["/crisis/1#requests"]
    # a route that names none: back to the page the form was on, and the switch reloads that page
    moved = {"csrf_token": token, "to": "done"}
    r = c.post(
        "/groups/actions/999999/move", data=moved, headers={"Referer": "http://testserver/groups/1?x=1"}
    )
    assert r.status_code == 404 and BACK.format("/groups/1?x=1") in r.text
    (nxt,) = re.findall(r'<input type="hidden" name="next" value="([^"]*)">', r.text)
    assert nxt == "/groups/1?x=1"
    switched = c.post(
        "/lang", data={"csrf_token": csrf_of(r.text), "lang": "en", "next": nxt}, follow_redirects=False
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/groups/1?x=1"
    # another site's page is never a way back
    r = c.post(
        "/groups/actions/999999/move", data=moved, headers={"Referer": "https://attacker.example/groups/1"}
    )
    assert "attacker.example" not in r.text and "error-back" not in r.text
