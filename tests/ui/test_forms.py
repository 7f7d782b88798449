"""Posted forms read one way on every page (``colsec.web.ui.forms``): a refusal names the field and
leads back to the form, and a ``next`` field never leads off the page family that posted it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from colsec.errors import InvalidInput
from colsec.web.ui.forms import local_next, validated, when

from .conftest import csrf_of

Client = Callable[..., TestClient]
FIELD_NAMED = '<span translate="no">{}</span>'
BACK = 'href="{}" data-testid="error-back"'


def test_refused_forms_name_the_field_and_lead_back_on_every_page(ui_client: Client) -> None:
    c = ui_client("nm-analyst")
    token = csrf_of(c.get("/crisis").text)
    r = c.post(
        "/crisis/incidents", data={"csrf_token": token, "title": "", "category": "cyber", "severity": "3"}
    )
    assert r.status_code == 422
    assert FIELD_NAMED.format("title") in r.text and BACK.format("/crisis#incidents") in r.text

    asset = {"csrf_token": token, "name": "Grid", "sector": "", "criticality": "critical", "ip_ranges": ""}
    r = c.post("/assets", data=asset)  # the asset form reads its fields as the crisis forms do
    assert r.status_code == 422
    assert FIELD_NAMED.format("sector") in r.text and BACK.format("/assets") in r.text


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
    assert refused.value.details == {"field": "name"}
    assert refused.value.message.startswith("name: ") and "; size: " in refused.value.message


def test_datetime_local_fields_are_read_as_utc() -> None:
    assert when("2026-12-06T10:30") == "2026-12-06T10:30:00Z"
    assert when("") is None
    assert when("2026-12-06T10:30:00+01:00") == "2026-12-06T10:30:00+01:00"


def test_local_next_keeps_to_its_prefix() -> None:
    assert local_next("/alerts?tab=mine", prefix="/alerts", default="/alerts/1") == "/alerts?tab=mine"
    for hostile in ("//attacker.example", "/alerts//attacker.example", "https://attacker.example/alerts", ""):
        assert local_next(hostile, prefix="/alerts", default="/alerts/1") == "/alerts/1"
