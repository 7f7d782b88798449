"""Access: non-members see no group, paper or decision; TLP:RED papers only for the named organisations.
Papers: versions, SHA-256, size limit, type check.  Register: search, CSV and PDF export."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from colsec.db import Database
from colsec.groups import papers, service
from colsec.groups.models import Group

from .conftest import Committee

PDF = b"%PDF-1.4\n% a tabled paper\n"


def _decision(database: Database, c: Committee, en: str, ru: str) -> str:
    with database.unit_of_work() as s:
        g = s.get(Group, c.group_id)
        assert g is not None
        return service.new_decision(s, g, text_en=en, text_ru=ru, how="meeting", at=datetime.now(UTC)).number


def _upload(client: TestClient, c: Committee, who: object, name: str, content: bytes, **form: str) -> object:
    return client.post(f"/api/v1/groups/{c.group_id}/papers", headers=who.headers,  # type: ignore[attr-defined]
                       data={"title": "Threat landscape", "language": "en", **form}, files={"file": (name, content)})  # fmt: skip


def test_non_members_see_no_group_paper_or_decision(
    client: TestClient, database: Database, committee: Committee
) -> None:
    number = _decision(
        database,
        committee,
        "Share phishing indicators within 24 hours.",
        "Обмен индикаторами в течение 24 часов.",
    )
    r = _upload(client, committee, committee.reps["NM"], "landscape.pdf", PDF)
    assert r.status_code == 201, r.text  # type: ignore[attr-defined]
    paper = r.json()  # type: ignore[attr-defined]
    out = committee.outsider.headers
    gid = committee.group_id
    assert client.get("/api/v1/groups", headers=out).json() == []
    for path in (f"/api/v1/groups/{gid}", f"/api/v1/groups/papers/{paper['id']}",
                 f"/api/v1/groups/papers/{paper['id']}/versions/1/file", f"/api/v1/groups/{gid}/decisions.pdf"):  # fmt: skip
        assert client.get(path, headers=out).status_code == 404, path
    assert client.get("/api/v1/groups/decisions", headers=out, params={"q": "phishing"}).json() == []
    assert number not in client.get("/api/v1/groups/decisions.csv", headers=out).text
    assert client.post(f"/api/v1/groups/{gid}/meetings", headers=out, json={
        "title": "x", "starts_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()}).status_code == 404  # fmt: skip
    # members and observers do see them
    for who in (committee.reps["TL"], committee.observer, committee.chair):
        assert client.get(f"/api/v1/groups/{gid}", headers=who.headers).status_code == 200
        found = client.get("/api/v1/groups/decisions", headers=who.headers, params={"q": "PHISHING"}).json()
        assert [d["number"] for d in found] == [number]
    assert [d["number"] for d in client.get("/api/v1/groups/decisions", headers=committee.reps["EV"].headers,
                                             params={"q": "индикатор"}).json()] == [number]  # fmt: skip


def test_red_paper_is_visible_only_to_named_organisations(client: TestClient, committee: Committee) -> None:
    r = _upload(client, committee, committee.reps["NM"], "red.pdf", PDF, tlp="red", recipients="EV, SD")
    assert r.status_code == 201, r.text  # type: ignore[attr-defined]
    pid = r.json()["id"]  # type: ignore[attr-defined]
    for org, status in (("NM", 200), ("EV", 200), ("SD", 200), ("WH", 404), ("TL", 404)):
        assert (
            client.get(f"/api/v1/groups/papers/{pid}", headers=committee.reps[org].headers).status_code
            == status
        ), org
        assert (
            client.get(
                f"/api/v1/groups/papers/{pid}/versions/1/file", headers=committee.reps[org].headers
            ).status_code
            == status
        )
    assert client.get(f"/api/v1/groups/papers/{pid}", headers=committee.observer.headers).status_code == 404
    page = client.get(f"/api/v1/groups/{committee.group_id}", headers=committee.reps["WH"].headers).json()
    assert page["papers"] == []  # not even its title
    bad = _upload(client, committee, committee.reps["NM"], "red.pdf", PDF, tlp="red")
    assert bad.status_code == 422 and "recipients" in bad.json()["detail"]  # type: ignore[attr-defined]
    bad = _upload(client, committee, committee.reps["NM"], "red.pdf", PDF, tlp="red", recipients="OUT")
    assert bad.status_code == 422 and "OUT" in bad.json()["detail"]  # type: ignore[attr-defined]


def test_paper_versions_hash_size_and_type(client: TestClient, committee: Committee) -> None:
    nm = committee.reps["NM"]
    r = _upload(client, committee, nm, "notes.txt", "Заметки\n".encode())
    assert r.status_code == 201, r.text  # type: ignore[attr-defined]
    p = r.json()  # type: ignore[attr-defined]
    assert p["tlp"] == 2 and p["versions"][0]["sha256"] == hashlib.sha256("Заметки\n".encode()).hexdigest()
    v2 = client.post(
        f"/api/v1/groups/papers/{p['id']}/versions",
        headers=nm.headers,
        files={"file": ("notes.txt", b"v2\n")},
    )
    assert v2.status_code == 201 and v2.json()["version"] == 2
    other = client.post(f"/api/v1/groups/papers/{p['id']}/versions", headers=committee.reps["EV"].headers,
                        files={"file": ("notes.txt", b"hijack\n")})  # fmt: skip
    assert other.status_code == 403
    f = client.get(f"/api/v1/groups/papers/{p['id']}/versions/2/file", headers=committee.reps["KR"].headers)
    assert f.content == b"v2\n" and f.headers["x-content-sha256"] == hashlib.sha256(b"v2\n").hexdigest()
    # a .pdf that is not a PDF, an unknown type, binary "text", an empty file
    for name, content in (
        ("fake.pdf", b"MZ\x90\x00"),
        ("tool.exe", b"MZ"),
        ("x.txt", b"a\0b"),
        ("e.pdf", b""),
    ):
        r = _upload(client, committee, nm, name, content)
        assert r.status_code in (415, 422), (name, r.status_code)  # type: ignore[attr-defined]
        assert name in r.json()["detail"]  # type: ignore[attr-defined]
    # the size limit
    import pytest

    from colsec.errors import TooLarge

    with pytest.raises(TooLarge, match="limit"):
        papers._check_file("big.pdf", PDF + b"0" * 100, max_bytes=64)
    assert _upload(client, committee, committee.observer, "o.pdf", PDF).status_code == 403  # type: ignore[attr-defined]


def test_register_export_csv_and_pdf(client: TestClient, database: Database, committee: Committee) -> None:
    n1 = _decision(database, committee, '=HYPERLINK("http://x") is not a formula', "Первое решение")
    n2 = _decision(database, committee, "Second decision", "Второе решение")
    assert (n1[-3:], n2[-3:]) == ("001", "002")
    h = committee.reps["SD"].headers
    rows = list(csv.DictReader(io.StringIO(client.get("/api/v1/groups/decisions.csv", headers=h).text)))
    assert {r["number"] for r in rows} == {n1, n2}
    assert next(r for r in rows if r["number"] == n1)["text_en"].startswith("'=")
    pdf = client.get(f"/api/v1/groups/{committee.group_id}/decisions.pdf", headers=h)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")


def test_group_creation_over_the_api(client: TestClient, committee: Committee) -> None:
    body = {
        "code": "EG1",
        "name_en": "Expert group",
        "name_ru": "Экспертная группа",
        "kind": "expert_group",
        "parent_id": committee.group_id,
        "members": [{"organisation": "NM"}, {"organisation": "KR", "kind": "observer"}],
    }
    assert client.post("/api/v1/groups", headers=committee.reps["NM"].headers, json=body).status_code == 403
    r = client.post("/api/v1/groups", headers=committee.coordinator.headers, json=body)
    assert r.status_code == 201, r.text
    assert client.post("/api/v1/groups", headers=committee.coordinator.headers, json=body).status_code == 409
    bad = {**body, "code": "EG2", "members": [{"organisation": "NOPE"}]}
    r = client.post("/api/v1/groups", headers=committee.coordinator.headers, json=bad)
    assert r.status_code == 422 and "NOPE" in r.json()["detail"]
    assert (
        client.get("/api/v1/groups", headers=committee.coordinator.headers).json() == []
    )  # not a member of either
    assert [g["code"] for g in client.get("/api/v1/groups", headers=committee.reps["NM"].headers).json()] == [
        "EG1",
        "WG3",
    ]
