"""TAXII 2.1 edge cases over real HTTP: boundaries, ties, limits, rights, media types, bad envelopes, leaks."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select, update

from colsec.accounts.models import ApiToken, User
from colsec.accounts.roles import Role
from colsec.stix.tlp import TLP
from colsec.store.models import CollectionObject
from colsec.taxii.models import TaxiiApiRoot
from taxii.nodes import BACKENDS, start_node
from taxii.server import Credentials, Node
from taxii.stixdata import indicator, indicators

TAXII = "application/taxii+json;version=2.1"
MAX_PAGE = 50
MAX_BODY = 200_000
RFC3339_MICRO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@pytest.fixture(scope="module", params=BACKENDS)
def node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    env = {"COLSEC_TAXII_MAX_PAGE": str(MAX_PAGE), "COLSEC_MAX_BODY_BYTES": str(MAX_BODY)}
    for n in start_node(request, tmp_path_factory, extra_env=env):
        n.add_account("other", org="ORG-B")
        n.add_account("viewer", org="ORG-A", role=Role.VIEWER)
        n.add_account("outsider", org="EXT", kind="external")
        yield n


def _get(node: Node, url: str, who: str = "analyst", **kw: Any) -> httpx.Response:
    return httpx.get(
        url, auth=node.accounts[who].auth, headers={"Accept": TAXII, **kw.pop("headers", {})}, **kw
    )


def _post(node: Node, url: str, body: Any, who: str = "analyst", content_type: str = TAXII) -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return httpx.post(
        url + "objects/", auth=node.accounts[who].auth, content=content,
        headers={"Accept": TAXII, "Content-Type": content_type}, timeout=60,
    )  # fmt: skip


def _error(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == TAXII
    body: dict[str, Any] = r.json()
    assert body["http_status"] == str(status) and body["title"] and body["description"]
    return body


def _fresh(node: Node, title: str, **rights: Any) -> str:
    node.add_collection(title, **rights)
    return node.collection_url(title)


def _page_all(node: Node, url: str, who: str = "analyst", **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    nxt = None
    while True:
        q = dict(params)
        if nxt:
            q["next"] = nxt
        body = _get(node, url + "objects/", who, params=q).json()
        out.extend(body.get("objects", []))
        if not body["more"]:
            return out
        nxt = body["next"]


def test_added_after_exactly_at_a_boundary(node: Node) -> None:
    url = _fresh(node, "boundary")
    assert _post(node, url, {"objects": indicators(5, tag="b")}).json()["success_count"] == 5
    r = _get(node, url + "objects/")
    first, last = r.headers["X-TAXII-Date-Added-First"], r.headers["X-TAXII-Date-Added-Last"]
    assert RFC3339_MICRO.match(first) and RFC3339_MICRO.match(last)
    manifest = _get(node, url + "manifest/").json()["objects"]
    third = manifest[2]["date_added"]
    after = _get(node, url + "objects/", params={"added_after": third}).json()["objects"]
    assert [o["id"] for o in after] == [m["id"] for m in manifest[3:]]  # strictly after the boundary
    assert "objects" not in _get(node, url + "objects/", params={"added_after": last}).json()


def test_several_objects_with_the_same_date_added(node: Node) -> None:
    url = _fresh(node, "ties")
    _post(node, url, {"objects": indicators(12, tag="tie")})
    cid = node.collections["ties"]
    same = "2026-03-01T00:00:00.000000Z"
    with node.session() as s:
        s.execute(
            update(CollectionObject).where(CollectionObject.collection_id == cid).values(date_added=same)
        )
    seen = []
    nxt = None
    while True:
        params: dict[str, Any] = {"limit": 5, **({"next": nxt} if nxt else {})}
        r = _get(node, url + "objects/", params=params)
        body = r.json()
        seen += [o["id"] for o in body.get("objects", [])]
        assert r.headers["X-TAXII-Date-Added-First"] == same
        if not body["more"]:
            break
        nxt = body["next"]
    assert len(seen) == 12 and len(set(seen)) == 12
    assert "objects" not in _get(node, url + "objects/", params={"added_after": same}).json()


def test_limit_larger_than_allowed_is_capped(node: Node) -> None:
    url = _fresh(node, "limits")
    _post(node, url, {"objects": indicators(MAX_PAGE + 7, tag="lim")})
    body = _get(node, url + "objects/", params={"limit": 100_000}).json()
    assert len(body["objects"]) == MAX_PAGE and body["more"] is True and body["next"]
    assert len(_page_all(node, url, limit=100_000)) == MAX_PAGE + 7
    _error(_get(node, url + "objects/", params={"limit": 0}), 400)
    _error(_get(node, url + "objects/", params={"limit": "ten"}), 400)
    _error(_get(node, url + "objects/", params={"next": "garbage"}), 400)
    _error(_get(node, url + "objects/", params={"added_after": "yesterday"}), 400)
    _error(_get(node, url + "objects/", params={"match[version]": "sometime"}), 400)


def test_unknown_filter_is_ignored(node: Node) -> None:
    url = _fresh(node, "filters")
    _post(node, url, {"objects": indicators(3, tag="f")})
    r = _get(node, url + "objects/", params={"match[colour]": "blue", "sort": "x"})
    assert r.status_code == 200 and len(r.json()["objects"]) == 3
    typed = _get(node, url + "objects/", params={"match[type]": "indicator,malware"}).json()
    assert len(typed["objects"]) == 3
    ids = _get(node, url + "objects/", params={"match[id]": indicator(1, tag="f")["id"]}).json()
    assert [o["id"] for o in ids["objects"]] == [indicator(1, tag="f")["id"]]
    assert "objects" not in _get(node, url + "objects/", params={"match[spec_version]": "2.0"}).json()


def test_unknown_collection_root_object_and_status(node: Node) -> None:
    root = node.root_url()
    _error(_get(node, root + "collections/00000000-0000-4000-8000-000000000000/"), 404)
    _error(_get(node, root + "collections/00000000-0000-4000-8000-000000000000/objects/"), 404)
    _error(_get(node, node.discovery_url + "nosuchroot/"), 404)
    _error(_get(node, node.discovery_url + "nosuchroot/collections/"), 404)
    _error(_get(node, root + "status/00000000-0000-4000-8000-000000000000/"), 404)
    _error(
        _get(node, node.collection_url() + "objects/indicator--00000000-0000-4000-8000-000000000000/"), 404
    )
    _error(
        _get(
            node, node.collection_url() + "objects/indicator--00000000-0000-4000-8000-000000000000/versions/"
        ),
        404,
    )


def test_authentication_401_with_challenge(node: Node) -> None:
    r = httpx.get(node.discovery_url, headers={"Accept": TAXII})
    _error(r, 401)
    assert "Basic" in r.headers["www-authenticate"]
    _error(httpx.get(node.discovery_url, auth=("analyst", "wrong-token")), 401)
    bearer = httpx.get(node.discovery_url, headers={**node.accounts["analyst"].headers, "Accept": TAXII})
    assert bearer.status_code == 200


def test_revoked_token_or_disabled_user_fails_on_the_next_read(node: Node) -> None:
    """Reads resolve the caller in their own transaction, never from a cache: a change applies at once."""
    creds = node.add_account("revocable", org="ORG-A")
    url = _fresh(node, "revocation")
    oid = _post(node, url, {"objects": indicators(1, tag="rev")}, who="revocable").json()["successes"][0][
        "id"
    ]
    reads = (url + "objects/", url + f"objects/{oid}/", url + "manifest/", node.discovery_url)
    for change, table, undo in (
        ({"revoked_at": datetime.now(UTC)}, ApiToken, {"revoked_at": None}),
        ({"is_active": False}, User, {"is_active": True}),
    ):
        for read in reads:
            assert _get(node, read, "revocable").status_code == 200
        key = ApiToken.user_id if table is ApiToken else User.id
        with node.session() as s:
            uid = s.execute(select(User.id).where(User.username == creds.username)).scalar_one()
            s.execute(update(table).where(key == uid).values(**change))
        for read in reads:
            _error(_get(node, read, "revocable"), 401)
        with node.session() as s:
            s.execute(update(table).where(key == uid).values(**undo))


def test_finding_10_no_rights_answers_as_missing_and_unlisted(node: Node) -> None:
    """A collection the caller may neither read nor write answers as a missing one (404), not 403."""
    private = _fresh(node, "org-b-only", can_read=["ORG-B"], can_write=["ORG-B"])
    readonly = _fresh(node, "read-only", can_read=["*"], can_write=[])
    by_role = _fresh(node, "analysts", can_read=["analyst"], can_write=["analyst"])
    missing = node.root_url() + f"collections/{uuid.uuid4()}/"
    for suffix in ("objects/", "manifest/", ""):
        hidden, absent = _get(node, private + suffix), _get(node, missing + suffix)
        _error(hidden, 404)
        _error(absent, 404)
        assert hidden.json()["title"] == absent.json()["title"]
    _error(_post(node, private, {"objects": indicators(1, tag="p")}), 404)
    _error(_post(node, readonly, {"objects": indicators(1, tag="p")}), 403)
    _error(_post(node, by_role, {"objects": indicators(1, tag="p")}, who="viewer"), 404)  # no rights at all
    assert _post(node, by_role, {"objects": indicators(1, tag="p")}).status_code == 202
    listed = {c["title"]: c for c in _get(node, node.root_url() + "collections/").json()["collections"]}
    assert "org-b-only" not in listed
    assert listed["read-only"]["can_read"] and not listed["read-only"]["can_write"]
    assert (
        _post(node, private, {"objects": indicators(2, tag="pb")}, who="other").json()["success_count"] == 2
    )
    assert len(_get(node, private + "objects/", "other").json()["objects"]) == 2


def test_wrong_media_types(node: Node) -> None:
    url = node.collection_url()
    _error(_post(node, url, {"objects": []}, content_type="application/json"), 415)
    _error(_post(node, url, {"objects": []}, content_type="application/taxii+json;version=2.0"), 415)
    _error(_get(node, url + "objects/", headers={"Accept": "application/json"}), 406)
    _error(_get(node, url + "objects/", headers={"Accept": "application/taxii+json;version=2.0"}), 406)
    assert _get(node, url + "objects/", headers={"Accept": "*/*"}).status_code == 200
    assert _get(node, url + "objects/", headers={"Accept": "application/taxii+json"}).status_code == 200
    plain = _post(node, url, {"objects": []}, content_type="application/taxii+json")
    assert plain.status_code == 202 and plain.json()["total_count"] == 0


def test_malformed_envelopes(node: Node) -> None:
    url = node.collection_url()
    _error(_post(node, url, b"{not json"), 400)
    _error(_post(node, url, b"[1, 2]"), 400)
    _error(_post(node, url, {"objects": {"a": 1}}), 400)
    _error(_post(node, url, {"objects": {}}), 400)
    _error(_post(node, url, {"objects": "x"}), 400)
    # TAXII 2.1 (3.7): 'objects' is optional in an envelope, so an envelope without it adds nothing.
    for empty in (b"{}", {"more": False}):
        r = _post(node, url, empty)
        assert r.status_code == 202, r.text
        status = r.json()
        assert status["status"] == "complete" and status["total_count"] == 0
        assert status["success_count"] == 0 and status["failure_count"] == 0 and status["pending_count"] == 0
    deep: Any = []
    for _ in range(200):
        deep = [deep]
    _error(_post(node, url, {"objects": deep}), 400)
    status = _post(node, url, {"objects": [1, "x", None]}).json()
    assert status["failure_count"] == 3 and status["success_count"] == 0


def test_oversized_envelopes(node: Node) -> None:
    url = node.collection_url()
    big = {"objects": indicators(1000, tag="big")}
    assert len(orjson.dumps(big)) > MAX_BODY
    _error(_post(node, url, big), 413)
    with node.session() as s:
        s.add(TaxiiApiRoot(name="small", title="small root", description="", max_content_length=5_000))
    small = _fresh(node, "small-root-coll", api_root="small")
    small = node.collection_url("small-root-coll", root="small")
    assert _get(node, node.root_url("small")).json()["max_content_length"] == 5_000
    _error(_post(node, small, {"objects": indicators(30, tag="mid")}), 413)
    assert _post(node, small, {"objects": indicators(2, tag="mid")}).json()["success_count"] == 2


def test_invalid_objects_among_good_ones(node: Node) -> None:
    url = _fresh(node, "mixed")
    good = indicators(4, tag="mixed")
    no_pattern = {**indicator(90, tag="mixed"), "pattern": "[not a pattern"}
    wrong_spec = {**indicator(91, tag="mixed"), "spec_version": "9.9"}
    status = _post(
        node, url, {"objects": [good[0], no_pattern, good[1], wrong_spec, good[2], good[3]]}
    ).json()
    assert status["status"] == "complete"
    assert (status["success_count"], status["failure_count"]) == (4, 2)
    assert {f["id"] for f in status["failures"]} == {no_pattern["id"], wrong_spec["id"]}
    assert all(f["message"] for f in status["failures"])
    assert [o["id"] for o in _page_all(node, url)] == [o["id"] for o in good]
    again = _post(node, url, {"objects": good}).json()  # re-posting is idempotent and succeeds
    assert again["success_count"] == 4 and len(_page_all(node, url)) == 4


def test_status_parts_versions_of_one_id_and_items_without_id(node: Node) -> None:
    """One version stored and another refused are reported apart; id-less items keep their own message."""
    url = _fresh(node, "parted")
    first = indicator(95, tag="parted")
    broken = {**first, "modified": "2026-02-01T00:00:00Z", "pattern": "[not a pattern"}
    status = _post(node, url, {"objects": [first, broken, 7, {"type": "indicator"}]}).json()
    assert status["successes"] == [{"id": first["id"], "version": first["modified"]}]
    failures = status["failures"]
    assert [(f["id"], f["version"]) for f in failures] == [
        (first["id"], broken["modified"]),
        ("", ""),
        ("", ""),
    ]
    assert "pattern" in failures[0]["message"]
    assert "expected a JSON object" in failures[1]["message"]
    assert "'id'" in failures[2]["message"] and "'type'" not in failures[2]["message"]
    versions = _get(node, f"{url}objects/{first['id']}/versions/").json()["versions"]
    assert versions == [first["modified"]]


def test_sharing_policy_applies_to_every_read(node: Node) -> None:
    url = _fresh(node, "policy")
    red = indicator(1, tag="red", tlp=TLP.RED)
    amber = indicator(2, tag="amber", tlp=TLP.AMBER)
    green = indicator(3, tag="green", tlp=TLP.GREEN)
    clear = indicator(4, tag="clear", tlp=TLP.CLEAR)
    assert _post(node, url, {"objects": [red, amber, green, clear]}, who="other").json()["success_count"] == 4
    mine = {o["id"] for o in _page_all(node, url, "other")}
    assert mine == {red["id"], amber["id"], green["id"], clear["id"]}
    ally = {o["id"] for o in _page_all(node, url, "analyst")}
    assert ally == {amber["id"], green["id"], clear["id"]}
    outsider = {o["id"] for o in _page_all(node, url, "outsider")}
    assert outsider == {clear["id"]}
    manifest = {m["id"] for m in _get(node, url + "manifest/").json()["objects"]}
    assert red["id"] not in manifest
    _error(_get(node, url + f"objects/{red['id']}/"), 404)
    _error(_get(node, url + f"objects/{red['id']}/versions/"), 404)
    r = _get(node, url + "objects/", params={"match[id]": red["id"]})
    assert "objects" not in r.json() and "X-TAXII-Date-Added-First" not in r.headers


def test_status_and_delete_belong_to_their_organisation(node: Node) -> None:
    url = _fresh(node, "owners")
    status = _post(node, url, {"objects": indicators(2, tag="own")}).json()
    status_url = node.root_url() + f"status/{status['id']}/"
    assert _get(node, status_url).json()["success_count"] == 2
    _error(_get(node, status_url, "other"), 404)
    oid = indicator(0, tag="own")["id"]
    r = httpx.delete(url + f"objects/{oid}/", auth=node.accounts["other"].auth)
    _error(r, 403)
    r = httpx.delete(url + f"objects/{oid}/", auth=node.accounts["analyst"].auth)
    assert r.status_code == 200
    assert [o["id"] for o in _page_all(node, url)] == [indicator(1, tag="own")["id"]]


def test_discovery_lists_every_root(node: Node, tmp_path: Path) -> None:
    del tmp_path
    body = _get(node, node.discovery_url).json()
    assert node.root_url() in body["api_roots"]
    assert body["default"] == node.root_url()
    creds: Credentials = node.accounts["analyst"]
    assert creds.org == "ORG-A"


def test_an_object_by_id_ignores_match_type_as_it_ignores_match_id(node: Node) -> None:
    """Get An Object takes neither filter (TAXII 2.1 §5.6): both are ignored alike."""
    url = _fresh(node, "by-id-params")
    obj = indicator(120, tag="by-id-params")
    assert _post(node, url, {"objects": [obj]}).json()["success_count"] == 1
    for params in (
        {"match[type]": "malware"},
        {"match[id]": "malware--00000000-0000-4000-8000-000000000001"},
    ):
        body = _get(node, f"{url}objects/{obj['id']}/", params=params).json()
        assert [o["id"] for o in body["objects"]] == [obj["id"]], params


def test_next_on_an_unknown_object_is_404_and_past_a_known_ones_end_empty(node: Node) -> None:
    url = _fresh(node, "next-404")
    obj = indicator(121, tag="next-404")
    _post(node, url, {"objects": [obj]})
    past = {"next": "2099-01-01T00:00:00.000000Z_1"}
    missing = "indicator--00000000-0000-4000-8000-0000000000ee"
    for path in (f"objects/{missing}/", f"objects/{missing}/versions/"):
        _error(_get(node, url + path, params=past), 404)
    for path in (f"objects/{obj['id']}/", f"objects/{obj['id']}/versions/"):
        r = _get(node, url + path, params=past)
        assert r.status_code == 200 and r.json() == {"more": False}, (path, r.text)


def test_a_posted_sco_reports_the_version_its_manifest_shows(node: Node) -> None:
    """An SCO states no version: its status entry carries the one the manifest gives it."""
    url = _fresh(node, "sco-version")
    sco = {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": f"ipv4-addr--{uuid.uuid4()}",
        "value": "203.0.113.9",
    }
    status = _post(node, url, {"objects": [sco]}).json()
    assert status["success_count"] == 1, status
    [entry] = status["successes"]
    manifest = _get(node, url + "manifest/", params={"match[id]": sco["id"]}).json()["objects"]
    assert RFC3339_MICRO.match(entry["version"]) and entry["version"] == manifest[0]["version"]


def test_a_method_not_allowed_names_the_allowed_ones(node: Node) -> None:
    """A 405 carries Allow (RFC 9110 §15.5.6) beside the TAXII error body."""
    url = _fresh(node, "allow-405")
    r = httpx.put(
        url + "objects/", auth=node.accounts["analyst"].auth, headers={"Accept": TAXII}, content=b"{}"
    )
    body = _error(r, 405)
    assert body["http_status"] == "405"
    assert "GET" in {m.strip() for m in r.headers["allow"].split(",")}, r.headers
    r = httpx.post(url + "manifest/", auth=node.accounts["analyst"].auth, headers={"Accept": TAXII})
    assert r.status_code == 405 and "GET" in r.headers.get("allow", ""), r.headers
