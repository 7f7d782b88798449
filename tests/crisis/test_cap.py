"""CAP 1.2: agency fixtures import, hostile and invalid ones are refused, our output validates."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from colsec.errors import InvalidInput, TooLarge
from colsec.formats.cap import CAP12_NS, MAX_CAP_BYTES, parse_cap, validate_cap

VALID_12 = [
    "australia_rfs_nsw_fire.cap.xml",
    "canada_snowfall_xmldsig_signed.cap.xml",
    "canada_thunderstorm.cap.xml",
    "earthquake_iso8859-1.cap.xml",
    "homeland_security_advisory_43b080713727.cap.xml",
    "nws_severe_thunderstorm.cap.xml",
    "wcatwc_tsunami_warning.cap.xml",
]


@pytest.mark.parametrize("name", VALID_12)
def test_agency_fixtures_parse(shared_data: Path, name: str) -> None:
    msg = parse_cap((shared_data / "cap" / "cap12" / name).read_bytes())
    assert msg.version == "1.2" and msg.identifier and msg.sender and msg.infos
    assert all(i.event for i in msg.infos)


def test_non_utf8_fixture_keeps_its_characters(shared_data: Path) -> None:
    raw = (shared_data / "cap" / "cap12" / "earthquake_iso8859-1.cap.xml").read_bytes()
    assert b"iso-8859-1" in raw[:100].lower()
    msg = parse_cap(raw)
    assert msg.infos[0].event


def test_cap11_is_read_too(shared_data: Path) -> None:
    assert (
        parse_cap((shared_data / "cap" / "cap11" / "nws_flash_flood_watch.cap.xml").read_bytes()).version
        == "1.1"
    )


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("cap12/invalid/invalid.cap.xml", "schema"),
        ("cap12/invalid/canada_errors.cap.xml", "references"),
        ("cap11/invalid/noaa_errors.cap.xml", "schema"),
        ("cap12/invalid/xxe_attack.cap.xml", "DTDForbidden"),
    ],
)
def test_invalid_and_hostile_fixtures_are_refused(shared_data: Path, path: str, why: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_cap((shared_data / "cap" / path).read_bytes())
    assert why in exc.value.message


def test_xxe_reaches_nothing(shared_data: Path) -> None:
    """The XXE fixture points at localhost:8080 and file:///etc/passwd: nothing is fetched or read."""
    hits: list[bytes] = []
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        srv.bind(("127.0.0.1", 8080))
    except OSError:
        srv.close()
        pytest.skip("port 8080 busy: cannot watch for outgoing fetches")
    srv.listen(5)
    srv.settimeout(0.2)
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                hits.append(conn.recv(1000))
                conn.close()
            except OSError:
                pass

    t = threading.Thread(target=watch)
    t.start()
    try:
        with pytest.raises(InvalidInput) as exc:
            parse_cap((shared_data / "cap" / "cap12" / "invalid" / "xxe_attack.cap.xml").read_bytes())
        assert "root:" not in str(exc.value.message) and "root:" not in str(exc.value.details)
    finally:
        stop.set()
        t.join()
        srv.close()
    assert hits == []


def test_billion_laughs_and_oversize_are_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><alert>&lol2;</alert>'
    with pytest.raises(InvalidInput):
        parse_cap(bomb)
    with pytest.raises(TooLarge):
        parse_cap(b"<alert>" + b" " * MAX_CAP_BYTES + b"</alert>")
    with pytest.raises(InvalidInput):
        parse_cap(b"<alert xmlns='urn:example'/>")
    with pytest.raises(InvalidInput):
        parse_cap(b"<alert")


def _escalated_crisis(client: TestClient, al: Any) -> int:
    base = "/api/v1/crisis"
    inc = client.post(f"{base}/incidents", headers=al.analysts["SD"].headers,
                      json={"title": "Anthrax letters in ministries", "category": "biological", "severity": 4}).json()  # fmt: skip
    client.post(f"{base}/incidents/{inc['id']}/triage", headers=al.analysts["SD"].headers)
    client.post(f"{base}/incidents/{inc['id']}/escalate", headers=al.analysts["SD"].headers)
    r = client.post(f"{base}/crises", headers=al.coordinator.headers,
                    json={"title": "Biological threat to ministries", "alert_level": 5, "incident_ids": [inc["id"]]})  # fmt: skip
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_crisis_cap_output_validates_against_the_oasis_xsd(
    client: TestClient, alliance: Any, shared_data: Path
) -> None:
    cid = _escalated_crisis(client, alliance)
    coord = alliance.coordinator.headers
    r = client.post(f"/api/v1/crisis/crises/{cid}/alerts", headers=coord)
    assert r.status_code == 201 and r.headers["content-type"].startswith("application/cap+xml")
    # validate with the XSD straight from the shared data folder, independently of our copy
    schema = etree.XMLSchema(etree.parse(str(shared_data / "cap" / "schema" / "cap12.xsd")))
    doc = etree.fromstring(r.content)
    assert schema.validate(doc), schema.error_log
    assert doc.findtext(f"{{{CAP12_NS}}}msgType") == "Alert"
    assert doc.find(f"{{{CAP12_NS}}}info/{{{CAP12_NS}}}category").text in ("CBRNE", "Health")
    assert doc.findtext(f"{{{CAP12_NS}}}info/{{{CAP12_NS}}}severity") == "Extreme"
    # an update references the first alert and still validates
    client.post(f"/api/v1/crisis/crises/{cid}/transition", headers=coord, json={"to": "active"})
    client.post(f"/api/v1/crisis/crises/{cid}/transition", headers=coord, json={"to": "stabilising"})
    r2 = client.post(f"/api/v1/crisis/crises/{cid}/alerts", headers=coord, params={"status": "Exercise"})
    doc2 = etree.fromstring(r2.content)
    assert schema.validate(doc2), schema.error_log
    assert doc2.findtext(f"{{{CAP12_NS}}}msgType") == "Update" and doc2.findtext(f"{{{CAP12_NS}}}references")
    validate_cap(r2.content)
    client.post(f"/api/v1/crisis/crises/{cid}/transition", headers=coord, json={"to": "closed"})
    doc3 = etree.fromstring(client.post(f"/api/v1/crisis/crises/{cid}/alerts", headers=coord).content)
    assert schema.validate(doc3), schema.error_log
    assert doc3.findtext(f"{{{CAP12_NS}}}msgType") == "Cancel"
    assert len(doc3.findtext(f"{{{CAP12_NS}}}references").split()) == 2
    # members may not issue alerts
    assert (
        client.post(f"/api/v1/crisis/crises/{cid}/alerts", headers=alliance.reps["SD"].headers).status_code
        == 403
    )


def test_cap_import_over_http(client: TestClient, alliance: Any, shared_data: Path) -> None:
    h = {**alliance.analysts["NM"].headers, "Content-Type": "application/cap+xml"}
    raw = (shared_data / "cap" / "cap12" / "wcatwc_tsunami_warning.cap.xml").read_bytes()
    r = client.post("/api/v1/crisis/alerts/import", headers=h, content=raw)
    assert r.status_code == 201, r.text
    assert r.json()["direction"] == "in" and r.json()["event"]
    assert client.post("/api/v1/crisis/alerts/import", headers=h, content=raw).status_code == 409
    xxe = (shared_data / "cap" / "cap12" / "invalid" / "xxe_attack.cap.xml").read_bytes()
    r = client.post("/api/v1/crisis/alerts/import", headers=h, content=xxe)
    assert r.status_code == 422 and r.json()["error"] == "invalid_input"
    listed = client.get("/api/v1/crisis/alerts", headers=h).json()
    assert len(listed) == 1
    stored = client.get(f"/api/v1/crisis/alerts/{listed[0]['id']}", headers=h)
    assert parse_cap(stored.content).identifier == listed[0]["identifier"]
    assert (
        client.post("/api/v1/crisis/alerts/import", headers=alliance.viewer.headers, content=raw).status_code
        == 403
    )
