"""Authorization matrix: every route × role × another organisation's private thing answers as if absent.

Routes are enumerated from the app, so a new route fails ``test_every_route_is_in_the_table``
until the table says how to aim it at another organisation's object. For each route and each
role of the attacking organisation, the request aimed at the victim's object (TLP:RED
indicator, private collection, TAXII status, import job, asset, alert, webhook, incident,
sharing group, user) must get the same status and error code as the same request aimed at
an id that does not exist. Answers are compared with ids and names blanked out.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from fastapi.routing import iter_route_contexts
from tests.loopback import LOOPBACK

from colsec.accounts.roles import SYSTEM, Role
from colsec.stix.tlp import TLP, marking_id

from .node import Member, Node

ROLES = [Role.ADMIN, Role.COORDINATOR, Role.ANALYST, Role.REPRESENTATIVE, Role.VIEWER, Role.PEER]
TAXII = "application/taxii+json;version=2.1"
ABSENT_INT = 987_654
STIX_SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")  # STIX 2.1, 2.9


def _indicator(oid: str, tlp: TLP, modified: str = "2026-01-01T00:00:00.000Z") -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": oid,
        "created": "2026-01-01T00:00:00.000Z",
        "modified": modified,
        "name": "probe",
        "pattern": "[ipv4-addr:value = '203.0.113.5']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        "object_marking_refs": [marking_id(tlp)],
    }


@dataclass
class World:
    """One node: a victim organisation's private things and an attacker organisation's six roles."""

    node: Node
    victim: Member
    attackers: dict[Role, Member]
    ids: dict[str, Any]

    def absent(self, kind: str) -> Any:
        return {
            "object": f"indicator--{uuid.uuid4()}",
            "collection": str(uuid.uuid4()),
            "status": str(uuid.uuid4()),
            "job": uuid.uuid4().hex,
            "group": f"absent-{uuid.uuid4().hex[:8]}",
            "user": f"absent-{uuid.uuid4().hex[:8]}",
            "peer": f"absent-{uuid.uuid4().hex[:8]}",
            "org": f"ABSENT-{uuid.uuid4().hex[:6]}",
        }.get(kind, ABSENT_INT)


def build_world() -> World:
    node = Node.start()
    victim = node.member("ORG-V", Role.ANALYST)
    v_coord = node.member("ORG-V", Role.COORDINATOR)
    v_admin = node.member("ORG-V", Role.ADMIN)
    attackers = {r: node.member("ORG-X", r) for r in ROLES}
    node.member("ORG-X", Role.COORDINATOR)
    c = node.client
    ids: dict[str, Any] = {}
    from colsec.intel.notify import create_webhook
    from colsec.taxii import service as taxii

    with node.database.unit_of_work() as s:
        ids["collection"] = taxii.create_collection(
            s, actor=SYSTEM, title="victim only", can_read=["ORG-V"], can_write=["ORG-V"]
        ).id
        ids["public"] = taxii.create_collection(
            s, actor=SYSTEM, title="everyone", can_read=["*"], can_write=["*"]
        ).id
        ids["webhook"] = create_webhook(
            s, actor=v_admin.actor, url="https://127.0.0.1:9/x", secret="s" * 20, outbound=LOOPBACK
        ).id
        from colsec.outbox import Channel, OutboxMessage, Outgoing, put

        put(
            s,
            [
                Outgoing(
                    Channel.EMAIL,
                    "victim@example.org",
                    "probe",
                    f"authz:{uuid.uuid4()}",
                    v_admin.actor.org_id,
                )
            ],
        )
        ids["outbox"] = s.query(OutboxMessage.id).scalar()
    r = c.post(
        "/api/v1/intel/assets",
        json={"name": "dam", "sector": "water", "criticality": "critical", "ip_ranges": ["203.0.113.0/24"]},
        headers=victim.headers,
    )
    assert r.status_code == 201, r.text
    ids["asset"] = r.json()["id"]
    red = _indicator(f"indicator--{uuid.uuid4()}", TLP.RED)
    ids["object"] = red["id"]
    r = c.post(
        f"/taxii2/root/collections/{ids['public']}/objects/",
        content=orjson.dumps({"objects": [red]}),
        headers={**victim.headers, "Content-Type": TAXII, "Accept": TAXII},
    )
    assert r.status_code == 202, r.text
    ids["status"] = r.json()["id"]
    r = c.post(
        "/api/v1/imports",
        params={"format": "csv"},
        content=b"type,value\nip,192.0.2.77\n",
        headers=victim.headers,
    )
    ids["job"] = r.json()["id"]
    alerts = c.get("/api/v1/intel/alerts", headers=victim.headers).json()
    items = alerts if isinstance(alerts, list) else alerts.get("alerts", [])
    ids["alert"] = items[0]["id"] if items else ABSENT_INT
    r = c.post(
        "/api/v1/crisis/incidents",
        json={"title": "victim outage", "category": "cyber", "severity": 3},
        headers=victim.headers,
    )
    assert r.status_code == 201, r.text
    ids["incident"] = r.json()["id"]
    notes = c.get("/api/v1/crisis/notifications", headers=victim.headers).json()
    items = notes if isinstance(notes, list) else notes.get("notifications", [])
    ids["notification"] = items[0]["id"] if items else ABSENT_INT
    r = c.post(
        "/api/v1/sharing-groups", json={"name": "victim-group", "members": ["ORG-V"]}, headers=v_coord.headers
    )
    assert r.status_code == 201, r.text
    ids["group"] = "victim-group"
    r = c.post(
        "/api/v1/sharing-groups",
        json={"name": "attacker-group", "members": ["ORG-X"]},
        headers=attackers[Role.COORDINATOR].headers,
    )
    ids["user"] = victim.username
    ids["org"] = "ORG-V"
    ids.update(_victim_working_group(node, victim))
    from colsec.accounts.models import ApiToken

    with node.database.unit_of_work() as s:
        ids["token"] = s.query(ApiToken).filter_by(user_id=victim.actor.user_id).one().id
    return World(node=node, victim=victim, attackers=attackers, ids=ids)


def _victim_working_group(node: Node, victim: Member) -> dict[str, Any]:
    """A working group of the victim's organisation alone, with one of each of its things."""
    from datetime import UTC, date, datetime, timedelta

    from colsec.groups import actions, meetings, papers, procedure, service
    from colsec.groups.models import Group
    from colsec.groups.schemas import ActionIn, GroupIn, MeetingIn, MemberIn, ProcedureIn

    soon = datetime.now(UTC) + timedelta(days=30)
    with node.database.unit_of_work() as s:
        g = service.create_group(s, actor=SYSTEM, data=GroupIn(
            code="VWG", name_en="victim group", name_ru="группа", members=[MemberIn(organisation="ORG-V", representative=victim.username)]))  # fmt: skip
        m = meetings.create_meeting(s, actor=SYSTEM, group_id=g.id, data=MeetingIn(title="m", starts_at=soon))
        p = procedure.open_procedure(
            s,
            actor=SYSTEM,
            group_id=g.id,
            data=ProcedureIn(question="q", text_en="t", text_ru="t", deadline=soon),
        )
        paper = papers.upload_paper(
            s,
            actor=SYSTEM,
            group_id=g.id,
            title="p",
            language="en",
            tlp="amber",
            filename="p.txt",
            content=b"x",
        )
        a = actions.create_action(
            s,
            actor=SYSTEM,
            group_id=g.id,
            data=ActionIn(title="a", owner_organisation="ORG-V", due_on=date(2030, 1, 1)),
        )
        grp = s.get(Group, g.id)
        assert grp is not None
        service.new_decision(
            s, grp, text_en="victim decision", text_ru="решение", how="meeting", at=datetime.now(UTC)
        )
        return {"wg": g.id, "meeting": m.id, "procedure": p.id, "paper": paper.id, "action": a.id}  # fmt: skip


Probe = Callable[[World, Any], tuple[str, str, dict[str, Any]]]

# (method, route path) -> (kind of the target, probe building the request for a target value)
# kind None: the route names no organisation's private thing (it is still called by every role).


def _get(url: str) -> Probe:
    return lambda w, t: ("GET", url.format(t=t, **w.ids), {})


def _post(url: str, body: Any = None, **extra: Any) -> Probe:
    def probe(w: World, t: Any) -> tuple[str, str, dict[str, Any]]:
        kw: dict[str, Any] = dict(extra)
        if body is not None:
            kw["json"] = body(t) if callable(body) else body
        return "POST", url.format(t=t, **w.ids), kw

    return probe


def _delete(url: str) -> Probe:
    return lambda w, t: ("DELETE", url.format(t=t, **w.ids), {})


def _taxii_post(w: World, t: Any) -> tuple[str, str, dict[str, Any]]:
    body = orjson.dumps({"objects": [_indicator(t, TLP.CLEAR, "2026-06-01T00:00:00.000Z")]})
    return "POST", f"/taxii2/root/collections/{w.ids['public']}/objects/", {
        "content": body, "headers": {"Content-Type": TAXII, "Accept": TAXII}}  # fmt: skip


def _taxii_post_private(w: World, t: Any) -> tuple[str, str, dict[str, Any]]:
    body = orjson.dumps({"objects": [_indicator(f"indicator--{uuid.uuid4()}", TLP.CLEAR)]})
    return "POST", f"/taxii2/root/collections/{t}/objects/", {
        "content": body, "headers": {"Content-Type": TAXII, "Accept": TAXII}}  # fmt: skip


def _import(w: World, t: Any) -> tuple[str, str, dict[str, Any]]:
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}",
              "objects": [_indicator(t, TLP.CLEAR, "2026-06-01T00:00:00.000Z")]}  # fmt: skip
    return "POST", "/api/v1/imports?format=stix", {"content": orjson.dumps(bundle)}


NEW_VERSION = lambda t: _indicator(t, TLP.CLEAR, "2026-06-01T00:00:00.000Z")  # noqa: E731
COLL = "/taxii2/root/collections/{t}"
OBJ = "/taxii2/root/collections/{public}/objects/{t}"

TABLE: dict[tuple[str, str], tuple[str | None, Probe]] = {
    ("GET", "/healthz"): (None, _get("/healthz")),
    ("GET", "/api/v1/stats"): (None, _get("/api/v1/stats")),
    ("GET", "/api/v1/node"): (None, _get("/api/v1/node")),
    ("GET", "/api/v1/objects"): ("object", _get("/api/v1/objects?id={t}&version=all")),
    ("GET", "/api/v1/objects/{object_id}"): ("object", _get("/api/v1/objects/{t}?version=all")),
    ("POST", "/api/v1/objects"): ("object", _post("/api/v1/objects", NEW_VERSION)),
    ("POST", "/api/v1/objects/{object_id}/revoke"): ("object", _post("/api/v1/objects/{t}/revoke")),
    ("GET", "/api/v1/imports/formats"): (None, _get("/api/v1/imports/formats")),
    ("POST", "/api/v1/imports"): ("object", _import),
    ("POST", "/api/v1/imports/feed"): (None, _post("/api/v1/imports/feed", {"url": "file:///etc/passwd"})),
    ("GET", "/api/v1/imports/{job_id}"): ("job", _get("/api/v1/imports/{t}")),
    ("GET", "/api/v1/jobs"): (None, _get("/api/v1/jobs")),
    ("GET", "/api/v1/jobs/{job_id}"): ("job", _get("/api/v1/jobs/{t}")),
    ("POST", "/api/v1/imports/candidates"): (None, _post("/api/v1/imports/candidates", content=b"192.0.2.1")),
    ("POST", "/api/v1/imports/candidates/accept"): (None, _post("/api/v1/imports/candidates/accept", {"candidates": []})),
    ("GET", "/taxii2/"): (None, _get("/taxii2/")),
    ("GET", "/taxii2/{api_root}/"): (None, _get("/taxii2/root/")),
    ("GET", "/taxii2/{api_root}/status/{status_id}"): ("status", _get("/taxii2/root/status/{t}")),
    ("GET", "/taxii2/{api_root}/status/{status_id}/"): ("status", _get("/taxii2/root/status/{t}/")),
    ("GET", "/taxii2/{api_root}/collections/"): (None, _get("/taxii2/root/collections/")),
    ("GET", "/taxii2/{api_root}/collections/{collection_id}/"): ("collection", _get(COLL + "/")),
    ("GET", "/taxii2/{api_root}/collections/{collection_id}/objects/"): ("collection", _get(COLL + "/objects/")),
    ("GET", "/taxii2/{api_root}/collections/{collection_id}/manifest/"): ("collection", _get(COLL + "/manifest/")),
    ("POST", "/taxii2/{api_root}/collections/{collection_id}/objects/"): ("object", _taxii_post),
    ("GET", "/taxii2/{api_root}/collections/{collection_id}/objects/{object_id}/"): ("object", _get(OBJ + "/?match[version]=all")),
    ("GET", "/taxii2/{api_root}/collections/{collection_id}/objects/{object_id}/versions/"): ("object", _get(OBJ + "/versions/")),
    ("DELETE", "/taxii2/{api_root}/collections/{collection_id}/objects/{object_id}/"): ("object", _delete(OBJ + "/")),
    ("GET", "/api/v1/intel/correlations"): (None, _get("/api/v1/intel/correlations")),
    ("POST", "/api/v1/intel/correlations/rebuild"): (None, _post("/api/v1/intel/correlations/rebuild")),
    ("GET", "/api/v1/intel/objects/{object_id}/related"): ("object", _get("/api/v1/intel/objects/{t}/related")),
    ("GET", "/api/v1/intel/indicators/{object_id}/score"): ("object", _get("/api/v1/intel/indicators/{t}/score")),
    ("GET", "/api/v1/intel/assets"): (None, _get("/api/v1/intel/assets")),
    ("POST", "/api/v1/intel/assets"): (None, _post("/api/v1/intel/assets", {"name": "x"})),
    ("POST", "/api/v1/intel/assets/import"): (None, _post("/api/v1/intel/assets/import", content=b"name\n")),
    ("GET", "/api/v1/intel/assets/{asset_id}"): ("asset", _get("/api/v1/intel/assets/{t}")),
    ("DELETE", "/api/v1/intel/assets/{asset_id}"): ("asset", _delete("/api/v1/intel/assets/{t}")),
    ("GET", "/api/v1/intel/vulnerabilities"): (None, _get("/api/v1/intel/vulnerabilities")),
    ("GET", "/api/v1/intel/alerts"): (None, _get("/api/v1/intel/alerts")),
    ("GET", "/api/v1/intel/alerts/stream"): (None, _get("/api/v1/intel/alerts/stream?once=true")),
    ("GET", "/api/v1/intel/alerts/{alert_id}"): ("alert", _get("/api/v1/intel/alerts/{t}")),
    ("POST", "/api/v1/intel/alerts/{alert_id}/read"): ("alert", _post("/api/v1/intel/alerts/{t}/read")),
    ("POST", "/api/v1/intel/alerts/{alert_id}/acknowledge"): ("alert", _post("/api/v1/intel/alerts/{t}/acknowledge")),
    ("POST", "/api/v1/intel/alerts/{alert_id}/start"): ("alert", _post("/api/v1/intel/alerts/{t}/start")),
    ("POST", "/api/v1/intel/alerts/{alert_id}/close"): ("alert", _post("/api/v1/intel/alerts/{t}/close", {"reason": "x"})),
    ("POST", "/api/v1/intel/alerts/{alert_id}/assign"): ("alert", _post("/api/v1/intel/alerts/{t}/assign", {"assignee": ""})),
    ("PUT", "/api/v1/intel/assets/{asset_id}"): ("asset", lambda w, t: ("PUT", f"/api/v1/intel/assets/{t}", {
        "json": {"name": "dam2", "sector": "water", "criticality": "low"}})),
    ("GET", "/api/v1/intel/assets/{asset_id}/exposure"): ("asset", _get("/api/v1/intel/assets/{t}/exposure")),
    ("GET", "/alerts"): (None, _get("/alerts")),
    ("GET", "/alerts/events"): (None, _get("/alerts/events?once=true")),
    ("GET", "/alerts/{alert_id}"): ("alert", _get("/alerts/{t}")),
    ("POST", "/alerts/{alert_id}/acknowledge"): ("alert", _post("/alerts/{t}/acknowledge", data={})),
    ("POST", "/alerts/{alert_id}/start"): ("alert", _post("/alerts/{t}/start", data={})),
    ("POST", "/alerts/{alert_id}/close"): ("alert", _post("/alerts/{t}/close", data={"reason": "x"})),
    ("POST", "/alerts/{alert_id}/assign"): ("alert", _post("/alerts/{t}/assign", data={"assignee": ""})),
    ("GET", "/assets"): (None, _get("/assets")),
    ("POST", "/assets"): (None, _post("/assets", data={"name": "x"})),
    ("GET", "/assets/{asset_id}"): ("asset", _get("/assets/{t}")),
    ("POST", "/assets/{asset_id}"): ("asset", _post("/assets/{t}", data={"name": "x"})),
    ("GET", "/vulnerabilities"): (None, _get("/vulnerabilities")),
    ("GET", "/correlations"): (None, _get("/correlations")),
    ("GET", "/api/v1/intel/webhooks"): (None, _get("/api/v1/intel/webhooks")),
    ("POST", "/api/v1/intel/webhooks"): (None, _post("/api/v1/intel/webhooks", {"url": "x"})),
    ("DELETE", "/api/v1/intel/webhooks/{webhook_id}"): ("webhook", _delete("/api/v1/intel/webhooks/{t}")),
    ("GET", "/api/v1/webhooks"): (None, _get("/api/v1/webhooks")),
    ("POST", "/api/v1/webhooks"): (None, _post("/api/v1/webhooks", {"url": "x"})),
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): ("webhook", _delete("/api/v1/webhooks/{t}")),
    ("POST", "/api/v1/crisis/incidents"): ("object", _post("/api/v1/crisis/incidents", lambda t: {
        "title": "probe", "category": "cyber", "severity": 2, "stix_refs": [t]})),  # fmt: skip
    ("GET", "/api/v1/crisis/incidents"): (None, _get("/api/v1/crisis/incidents")),
    ("GET", "/api/v1/crisis/incidents/{incident_id}"): ("incident", _get("/api/v1/crisis/incidents/{t}")),
    ("POST", "/api/v1/crisis/incidents/{incident_id}/{step}"): ("incident", _post("/api/v1/crisis/incidents/{t}/triage", {"note": "x"})),
    ("POST", "/api/v1/crisis/crises"): (None, _post("/api/v1/crisis/crises", {})),
    ("GET", "/api/v1/crisis/crises"): (None, _get("/api/v1/crisis/crises")),
    ("GET", "/api/v1/crisis/crises/{crisis_id}"): ("crisis", _get("/api/v1/crisis/crises/{t}")),
    ("POST", "/api/v1/crisis/crises/{crisis_id}/transition"): ("crisis", _post("/api/v1/crisis/crises/{t}/transition", {"to": "active"})),
    ("POST", "/api/v1/crisis/crises/{crisis_id}/alert-level"): ("crisis", _post("/api/v1/crisis/crises/{t}/alert-level", {"level": 2})),
    ("GET", "/api/v1/crisis/crises/{crisis_id}/timeline"): ("crisis", _get("/api/v1/crisis/crises/{t}/timeline")),
    ("POST", "/api/v1/crisis/crises/{crisis_id}/sitreps"): ("crisis", _post("/api/v1/crisis/crises/{t}/sitreps", {"summary": "x"})),
    ("GET", "/api/v1/crisis/crises/{crisis_id}/sitreps"): ("crisis", _get("/api/v1/crisis/crises/{t}/sitreps")),
    ("POST", "/api/v1/crisis/crises/{crisis_id}/lessons"): ("crisis", _post("/api/v1/crisis/crises/{t}/lessons", {})),
    ("GET", "/api/v1/crisis/crises/{crisis_id}/lessons"): ("crisis", _get("/api/v1/crisis/crises/{t}/lessons")),
    ("GET", "/api/v1/crisis/crises/{crisis_id}/roles"): ("crisis", _get("/api/v1/crisis/crises/{t}/roles")),
    ("GET", "/api/v1/crisis/crises/{crisis_id}/replay"): ("crisis", _get("/api/v1/crisis/crises/{t}/replay")),
    ("POST", "/api/v1/crisis/crises/{crisis_id}/roles"): ("crisis", _post("/api/v1/crisis/crises/{t}/roles", {"username": "nobody", "role": "scribe"})),
    ("DELETE", "/api/v1/crisis/crises/{crisis_id}/roles"): ("crisis", _delete("/api/v1/crisis/crises/{t}/roles?username={user}&role=scribe")),
    ("GET", "/api/v1/crisis/lessons"): (None, _get("/api/v1/crisis/lessons")),
    ("POST", "/api/v1/crisis/crises/{crisis_id}/requests"): ("crisis", _post("/api/v1/crisis/crises/{t}/requests", {})),
    ("GET", "/api/v1/crisis/requests"): (None, _get("/api/v1/crisis/requests")),
    ("GET", "/api/v1/crisis/requests/{request_id}"): ("request", _get("/api/v1/crisis/requests/{t}")),
    ("POST", "/api/v1/crisis/requests/{request_id}/submit"): ("request", _post("/api/v1/crisis/requests/{t}/submit", {})),
    ("POST", "/api/v1/crisis/requests/{request_id}/withdraw"): ("request", _post("/api/v1/crisis/requests/{t}/withdraw", {})),
    ("GET", "/api/v1/crisis/crises/{crisis_id}/coverage"): ("crisis", _get("/api/v1/crisis/crises/{t}/coverage")),
    ("GET", "/api/v1/crisis/requests/{request_id}/coverage"): ("request", _get("/api/v1/crisis/requests/{t}/coverage")),
    ("POST", "/api/v1/crisis/requests/{request_id}/consultations"): ("request", _post("/api/v1/crisis/requests/{t}/consultations", {})),
    ("GET", "/api/v1/crisis/consultations"): (None, _get("/api/v1/crisis/consultations")),
    ("GET", "/api/v1/crisis/consultations/{consultation_id}"): ("consultation", _get("/api/v1/crisis/consultations/{t}")),
    ("POST", "/api/v1/crisis/consultations/{consultation_id}/positions"): ("consultation", _post("/api/v1/crisis/consultations/{t}/positions", {"stance": "agree"})),
    ("POST", "/api/v1/crisis/consultations/{consultation_id}/delegations"): ("consultation", _post("/api/v1/crisis/consultations/{t}/delegations", {})),
    ("POST", "/api/v1/crisis/resources"): (None, _post("/api/v1/crisis/resources", {})),
    ("GET", "/api/v1/crisis/resources"): (None, _get("/api/v1/crisis/resources")),
    ("POST", "/api/v1/crisis/requests/{request_id}/offers"): ("request", _post("/api/v1/crisis/requests/{t}/offers", {"resource_id": ABSENT_INT, "quantity": 1})),
    ("GET", "/api/v1/crisis/requests/{request_id}/offers"): ("request", _get("/api/v1/crisis/requests/{t}/offers")),
    ("POST", "/api/v1/crisis/offers/{offer_id}/{to}"): ("offer", _post("/api/v1/crisis/offers/{t}/accept", {})),
    ("POST", "/api/v1/crisis/crises/{crisis_id}/alerts"): ("crisis", _post("/api/v1/crisis/crises/{t}/alerts", {})),
    ("POST", "/api/v1/crisis/alerts/import"): (None, _post("/api/v1/crisis/alerts/import", content=b"<alert/>")),
    ("POST", "/api/v1/crisis/alerts/import-feed"): (None, _post("/api/v1/crisis/alerts/import-feed", content=b"<feed/>")),
    ("GET", "/api/v1/crisis/alerts"): (None, _get("/api/v1/crisis/alerts")),
    ("GET", "/api/v1/crisis/alerts/{alert_id}"): ("cap", _get("/api/v1/crisis/alerts/{t}")),
    ("GET", "/api/v1/crisis/metrics"): (None, _get("/api/v1/crisis/metrics")),
    ("GET", "/api/v1/crisis/notifications"): (None, _get("/api/v1/crisis/notifications")),
    ("POST", "/api/v1/crisis/notifications/{notification_id}/read"): ("notification", _post("/api/v1/crisis/notifications/{t}/read")),
    ("POST", "/api/v1/crisis/webhooks"): (None, _post("/api/v1/crisis/webhooks", {"url": "x", "secret": "x"})),
    ("POST", "/api/v1/crisis/tick"): (None, _post("/api/v1/crisis/tick")),
    ("POST", "/api/v1/match"): (None, _post("/api/v1/match?format=json", content=b"{}\n")),
    ("GET", "/login"): (None, _get("/login")),
    ("POST", "/login"): (None, _post("/login", data={"username": "nobody", "password": "x"})),
    ("POST", "/logout"): (None, _post("/logout")),
    ("POST", "/lang"): (None, _post("/lang", data={"lang": "en"})),
    ("GET", "/"): (None, _get("/")),
    ("GET", "/dashboard/crisis-panel"): (None, _get("/dashboard/crisis-panel")),
    ("GET", "/intel"): ("object", _get("/intel?q={t}")),
    ("GET", "/api/v1/intel/search"): ("object", _get("/api/v1/intel/search?q={t}")),
    ("GET", "/intel/export"): (None, _get("/intel/export?format=stix")),
    ("GET", "/intel/{object_id}"): ("object", _get("/intel/{t}")),
    ("GET", "/import"): (None, _get("/import")),
    ("POST", "/import"): (None, _post("/import", data={"text": "x"})),
    ("POST", "/import/review"): (None, _post("/import/review", data={"text": "x"})),
    ("GET", "/import/jobs/{job_id}"): ("job", _get("/import/jobs/{t}")),
    ("GET", "/admin/organisations"): (None, _get("/admin/organisations")),
    ("POST", "/admin/organisations"): (None, _post("/admin/organisations", data={})),
    ("GET", "/admin/users"): (None, _get("/admin/users")),
    ("POST", "/admin/users"): (None, _post("/admin/users", data={})),
    ("POST", "/admin/users/{username}/active"): ("user", _post("/admin/users/{t}/active", data={"active": "0"})),
    ("POST", "/admin/users/{username}/password"): ("user", _post("/admin/users/{t}/password", data={"password": "long enough pw"})),
    ("GET", "/admin/tokens"): (None, _get("/admin/tokens")),
    ("GET", "/admin/audit"): (None, _get("/admin/audit")),
    ("GET", "/admin/jobs"): (None, _get("/admin/jobs")),
    ("POST", "/admin/tokens"): ("user", _post("/admin/tokens", data=None, _form=lambda t: {"username": t})),
    ("GET", "/admin/peers"): (None, _get("/admin/peers")),
    ("GET", "/admin/sharing-groups"): (None, _get("/admin/sharing-groups")),
    ("POST", "/admin/sharing-groups"): (None, _post("/admin/sharing-groups", data={"name": "x"})),
    ("POST", "/admin/sharing-groups/{name}/members"): (None, _post("/admin/sharing-groups/none/members", data={"organisation": "x"})),
    ("GET", "/admin/outbox"): (None, _get("/admin/outbox")),
    ("POST", "/admin/outbox/{message_id}/retry"): ("outbox", _post("/admin/outbox/{t}/retry", data={})),
    ("GET", "/api/v1/outbox"): (None, _get("/api/v1/outbox")),
    ("POST", "/api/v1/outbox/{message_id}/retry"): ("outbox", _post("/api/v1/outbox/{t}/retry")),
    ("GET", "/crisis"): (None, _get("/crisis")),
    ("GET", "/crisis/{crisis_id}"): ("crisis", _get("/crisis/{t}")),
    ("GET", "/crisis/{crisis_id}/replay"): ("crisis", _get("/crisis/{t}/replay")),
    ("POST", "/crisis/{crisis_id}/sitreps"): ("crisis", _post("/crisis/{t}/sitreps", data={"summary": "x"})),
    ("POST", "/crisis/{crisis_id}/requests"): ("crisis", _post("/crisis/{t}/requests", data={})),
    ("GET", "/crisis/requests/{request_id}"): ("request", _get("/crisis/requests/{t}")),
    ("POST", "/crisis/requests/{request_id}/offers"): ("request", _post("/crisis/requests/{t}/offers", data={})),
    ("POST", "/crisis/offers/{offer_id}/advance"): ("offer", _post("/crisis/offers/{t}/advance", data={})),
    ("GET", "/crisis/consultations/{consultation_id}"): ("consultation", _get("/crisis/consultations/{t}")),
    ("POST", "/crisis/consultations/{consultation_id}/position"): ("consultation", _post("/crisis/consultations/{t}/position", data={})),
    ("POST", "/crisis/incidents"): (None, _post("/crisis/incidents", data={})),
    ("POST", "/crisis/incidents/{incident_id}/advance"): ("incident", _post("/crisis/incidents/{t}/advance", data={})),
    ("POST", "/crisis/open"): (None, _post("/crisis/open", data={})),
    ("POST", "/crisis/resources"): (None, _post("/crisis/resources", data={})),
    ("POST", "/crisis/{crisis_id}/advance"): ("crisis", _post("/crisis/{t}/advance", data={})),
    ("POST", "/crisis/{crisis_id}/alert-level"): ("crisis", _post("/crisis/{t}/alert-level", data={})),
    ("POST", "/crisis/{crisis_id}/roles"): ("crisis", _post("/crisis/{t}/roles", data={})),
    ("POST", "/crisis/{crisis_id}/roles/remove"): ("crisis", _post("/crisis/{t}/roles/remove", data={})),
    ("POST", "/crisis/{crisis_id}/lessons"): ("crisis", _post("/crisis/{t}/lessons", data={})),
    ("POST", "/crisis/{crisis_id}/cap"): ("crisis", _post("/crisis/{t}/cap", data={})),
    ("POST", "/crisis/{crisis_id}/cap/import"): ("crisis", _post("/crisis/{t}/cap/import", data={}, files={"file": ("a.xml", b"<alert/>")})),
    ("GET", "/crisis/cap/{alert_id}"): ("cap", _get("/crisis/cap/{t}")),
    ("GET", "/crisis/cap/{alert_id}.xml"): ("cap", _get("/crisis/cap/{t}.xml")),
    ("POST", "/crisis/requests/{request_id}/submit"): ("request", _post("/crisis/requests/{t}/submit", data={})),
    ("POST", "/crisis/requests/{request_id}/withdraw"): ("request", _post("/crisis/requests/{t}/withdraw", data={})),
    ("POST", "/crisis/requests/{request_id}/consultation"): ("request", _post("/crisis/requests/{t}/consultation", data={})),
    ("POST", "/crisis/consultations/{consultation_id}/delegate"): ("consultation", _post("/crisis/consultations/{t}/delegate", data={})),
    ("GET", "/api/v1/peers"): (None, _get("/api/v1/peers")),
    ("POST", "/api/v1/peers"): (None, _post("/api/v1/peers", {})),
    ("GET", "/api/v1/peers/{name}"): ("peer", _get("/api/v1/peers/{t}")),
    ("PATCH", "/api/v1/peers/{name}"): ("peer", lambda w, t: ("PATCH", f"/api/v1/peers/{t}", {"json": {}})),
    ("DELETE", "/api/v1/peers/{name}"): ("peer", _delete("/api/v1/peers/{t}")),
    ("POST", "/api/v1/peers/{name}/sync"): ("peer", _post("/api/v1/peers/{t}/sync")),
    ("GET", "/api/v1/sharing-groups"): (None, _get("/api/v1/sharing-groups")),
    ("POST", "/api/v1/sharing-groups"): (None, _post("/api/v1/sharing-groups", {"name": ""})),
    ("GET", "/api/v1/sharing-groups/{name}"): ("group-read", _get("/api/v1/sharing-groups/{t}")),
    ("POST", "/api/v1/sharing-groups/{name}/members"): ("group", _post("/api/v1/sharing-groups/{t}/members", {"organisation": "ORG-X"})),
    ("POST", "/api/v1/sharing-groups/{name}/objects"): ("object", _post("/api/v1/sharing-groups/attacker-group/objects", lambda t: {"object_id": t})),
    ("POST", "/api/v1/peers/push"): ("object", _post("/api/v1/peers/push", lambda t: {"object_id": t})),
    ("DELETE", "/api/v1/sharing-groups/{name}/members/{organisation}"): ("group", _delete("/api/v1/sharing-groups/{t}/members/ORG-V")),
    ("GET", "/api/v1/users"): (None, _get("/api/v1/users")),
    ("POST", "/api/v1/users"): ("org", _post("/api/v1/users", lambda t: {"username": "intruder", "role": "analyst", "password": "correct horse battery", "organisation": t})),
    ("GET", "/api/v1/users/{username}"): ("user", _get("/api/v1/users/{t}")),
    ("PATCH", "/api/v1/users/{username}"): ("user", lambda w, t: ("PATCH", f"/api/v1/users/{t}", {"json": {"email": "x@example.com"}})),
    ("POST", "/api/v1/users/{username}/tokens"): ("user", _post("/api/v1/users/{t}/tokens", {"name": "x"})),
    ("POST", "/api/v1/users/{username}/disable"): ("user", _post("/api/v1/users/{t}/disable")),
    ("POST", "/api/v1/users/{username}/enable"): ("user", _post("/api/v1/users/{t}/enable")),
    ("POST", "/api/v1/users/{username}/password"): ("user", _post("/api/v1/users/{t}/password", {"password": "another horse battery"})),
    ("DELETE", "/api/v1/tokens/{token_id}"): ("token", _delete("/api/v1/tokens/{t}")),
    ("GET", "/api/v1/me"): (None, _get("/api/v1/me")),
    ("PATCH", "/api/v1/me"): (None, lambda w, t: ("PATCH", "/api/v1/me", {"json": {"email": ""}})),
    ("GET", "/api/v1/audit/checkpoint"): (None, _get("/api/v1/audit/checkpoint")),
    ("GET", "/api/v1/collections"): (None, _get("/api/v1/collections")),
    ("POST", "/api/v1/collections"): (None, _post("/api/v1/collections", {"title": "x"})),
    ("GET", "/api/v1/collections/{collection_id}"): ("collection", _get("/api/v1/collections/{t}")),
    ("PUT", "/api/v1/collections/{collection_id}/filter"): ("collection", lambda w, t: ("PUT", f"/api/v1/collections/{t}/filter", {"json": {"filter": None}})),
    ("POST", "/api/v1/collections/{collection_id}/objects"): ("collection", _post("/api/v1/collections/{t}/objects", lambda t: {"ids": [f"indicator--{uuid.uuid4()}"]})),
    ("POST", "/api/v1/collections/{collection_id}/objects/remove"): ("collection", _post("/api/v1/collections/{t}/objects/remove", lambda t: {"ids": [f"indicator--{uuid.uuid4()}"]})),
    ("GET", "/admin/collections"): (None, _get("/admin/collections")),
    ("POST", "/admin/collections"): (None, _post("/admin/collections", data={"title": "x"})),
    ("POST", "/admin/collections/objects"): ("collection", _post("/admin/collections/objects", data=None, _form=lambda t: {"collection": t, "ids": "x"})),
    ("GET", "/profile"): (None, _get("/profile")),
    ("GET", "/api/v1/groups"): (None, _get("/api/v1/groups")),
    ("POST", "/api/v1/groups"): (None, _post("/api/v1/groups", {"code": "X", "name_en": "x", "name_ru": "x"})),
    ("GET", "/api/v1/groups/decisions"): (None, _get("/api/v1/groups/decisions?q=victim")),
    ("GET", "/api/v1/groups/decisions.csv"): (None, _get("/api/v1/groups/decisions.csv?q=victim")),
    ("GET", "/api/v1/groups/{group_id}"): ("wg", _get("/api/v1/groups/{t}")),
    ("POST", "/api/v1/groups/{group_id}/members"): ("wg", _post("/api/v1/groups/{t}/members", {"organisation": "ORG-X"})),
    ("DELETE", "/api/v1/groups/{group_id}/members/{organisation}"): ("wg", _delete("/api/v1/groups/{t}/members/ORG-V")),
    ("POST", "/api/v1/groups/{group_id}/people"): ("wg", _post("/api/v1/groups/{t}/people", {"organisation": "ORG-X", "username": "x"})),
    ("DELETE", "/api/v1/groups/{group_id}/people/{username}"): ("wg", _delete("/api/v1/groups/{t}/people/x")),
    ("PATCH", "/api/v1/groups/{group_id}/officers"): ("wg", lambda w, t: ("PATCH", f"/api/v1/groups/{t}/officers", {"json": {"chair": None}})),
    ("POST", "/api/v1/groups/{group_id}/delegations"): ("wg", _post("/api/v1/groups/{t}/delegations", {"deputy": "x", "starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-02T00:00:00Z"})),
    ("POST", "/api/v1/groups/{group_id}/meetings"): ("wg", _post("/api/v1/groups/{t}/meetings", {"title": "x", "starts_at": "2030-01-01T10:00:00"})),
    ("POST", "/api/v1/groups/{group_id}/procedures"): ("wg", _post("/api/v1/groups/{t}/procedures", {"question": "q", "text_en": "t", "text_ru": "t", "deadline": "2030-01-01T00:00:00Z"})),
    ("POST", "/api/v1/groups/{group_id}/actions"): ("wg", _post("/api/v1/groups/{t}/actions", {"title": "x", "owner_organisation": "ORG-X", "due_on": "2030-01-01"})),
    ("POST", "/api/v1/groups/{group_id}/actions/from-lesson"): ("wg", _post("/api/v1/groups/{t}/actions/from-lesson", {"lesson_id": ABSENT_INT, "owner_organisation": "ORG-X", "due_on": "2030-01-01"})),
    ("GET", "/api/v1/groups/{group_id}/decisions.pdf"): ("wg", _get("/api/v1/groups/{t}/decisions.pdf")),
    ("POST", "/api/v1/groups/{group_id}/papers"): ("wg", _post("/api/v1/groups/{t}/papers", data={"title": "x"}, files={"file": ("x.txt", b"x")})),
    ("GET", "/api/v1/groups/meetings/{meeting_id}"): ("meeting", _get("/api/v1/groups/meetings/{t}")),
    ("POST", "/api/v1/groups/meetings/{meeting_id}/agenda"): ("meeting", _post("/api/v1/groups/meetings/{t}/agenda", {"title": "x"})),
    ("POST", "/api/v1/groups/meetings/{meeting_id}/invitations"): ("meeting", _post("/api/v1/groups/meetings/{t}/invitations")),
    ("GET", "/api/v1/groups/meetings/{meeting_id}/minutes.pdf"): ("meeting", _get("/api/v1/groups/meetings/{t}/minutes.pdf")),
    ("GET", "/api/v1/groups/meetings/{meeting_id}/invite.ics"): ("meeting", _get("/api/v1/groups/meetings/{t}/invite.ics")),
    ("POST", "/api/v1/groups/meetings/{meeting_id}/held"): ("meeting", _post("/api/v1/groups/meetings/{t}/held", {"present": []})),
    ("POST", "/api/v1/groups/meetings/{meeting_id}/minutes"): ("meeting", _post("/api/v1/groups/meetings/{t}/minutes", {})),
    ("POST", "/api/v1/groups/meetings/{meeting_id}/minutes/approve"): ("meeting", _post("/api/v1/groups/meetings/{t}/minutes/approve")),
    ("GET", "/api/v1/groups/meetings/{meeting_id}/minutes/comments"): ("meeting", _get("/api/v1/groups/meetings/{t}/minutes/comments")),
    ("POST", "/api/v1/groups/meetings/{meeting_id}/minutes/comments"): ("meeting", _post("/api/v1/groups/meetings/{t}/minutes/comments", {"text": "x"})),
    ("POST", "/api/v1/groups/meetings/{meeting_id}/decisions"): ("meeting", _post("/api/v1/groups/meetings/{t}/decisions", {"text_en": "x", "text_ru": "x"})),
    ("GET", "/api/v1/groups/procedures/{procedure_id}"): ("procedure", _get("/api/v1/groups/procedures/{t}")),
    ("POST", "/api/v1/groups/procedures/{procedure_id}/answers"): ("procedure", _post("/api/v1/groups/procedures/{t}/answers", {"stance": "agree"})),
    ("POST", "/api/v1/groups/actions/{action_id}/{to}"): ("action", _post("/api/v1/groups/actions/{t}/done")),
    ("GET", "/api/v1/groups/papers/{paper_id}"): ("paper", _get("/api/v1/groups/papers/{t}")),
    ("GET", "/api/v1/groups/papers/{paper_id}/versions/{version}/file"): ("paper", _get("/api/v1/groups/papers/{t}/versions/1/file")),
    ("POST", "/api/v1/groups/papers/{paper_id}/versions"): ("paper", _post("/api/v1/groups/papers/{t}/versions", files={"file": ("x.txt", b"x")})),
    ("GET", "/groups"): (None, _get("/groups?q=victim")),
    ("GET", "/groups/{group_id}"): ("wg", _get("/groups/{t}")),
    ("POST", "/groups"): (None, _post("/groups", data={"code": "X", "name_en": "x"})),
    ("POST", "/groups/{group_id}/meetings"): ("wg", _post("/groups/{t}/meetings", data={"title": "x"})),
    ("POST", "/groups/{group_id}/procedures"): ("wg", _post("/groups/{t}/procedures", data={"question": "x"})),
    ("POST", "/groups/{group_id}/papers"): ("wg", _post("/groups/{t}/papers", data={"title": "x"})),
    ("POST", "/groups/{group_id}/members"): ("wg", _post("/groups/{t}/members", data={"organisation": "ORG-X"})),
    ("POST", "/groups/{group_id}/members/remove"): ("wg", _post("/groups/{t}/members/remove", data={"organisation": "ORG-V"})),
    ("POST", "/groups/{group_id}/people"): ("wg", _post("/groups/{t}/people", data={"organisation": "ORG-X", "username": "x"})),
    ("POST", "/groups/{group_id}/people/remove"): ("wg", _post("/groups/{t}/people/remove", data={"username": "x"})),
    ("POST", "/groups/{group_id}/officers"): ("wg", _post("/groups/{t}/officers", data={"chair": ""})),
    ("POST", "/groups/{group_id}/delegations"): ("wg", _post("/groups/{t}/delegations", data={"deputy": "x", "starts_at": "2030-01-01T00:00", "ends_at": "2030-01-02T00:00"})),
    ("POST", "/groups/{group_id}/actions"): ("wg", _post("/groups/{t}/actions", data={"title": "x", "owner_organisation": "ORG-X", "due_on": "2030-01-01"})),
    ("POST", "/groups/meetings/{meeting_id}/held"): ("meeting", _post("/groups/meetings/{t}/held", data={"present": "ORG-X"})),
    ("POST", "/groups/meetings/{meeting_id}/decisions"): ("meeting", _post("/groups/meetings/{t}/decisions", data={"text_en": "x", "text_ru": "x"})),
    ("POST", "/groups/procedures/{procedure_id}/answer"): ("procedure", _post("/groups/procedures/{t}/answer", data={"stance": "agree"})),
    ("POST", "/groups/actions/{action_id}/move"): ("action", _post("/groups/actions/{t}/move", data={"to": "done"})),
    ("POST", "/groups/meetings/{meeting_id}/minutes"): ("meeting", _post("/groups/meetings/{t}/minutes", data={})),
    ("POST", "/groups/meetings/{meeting_id}/comments"): ("meeting", _post("/groups/meetings/{t}/comments", data={"text": "x"})),
    ("POST", "/groups/meetings/{meeting_id}/approve"): ("meeting", _post("/groups/meetings/{t}/approve", data={})),
    ("POST", "/profile"): (None, _post("/profile", data={"email": ""})),
    ("GET", "/api/v1/reports/series"): (None, _get("/api/v1/reports/series?metric=objects&by=type")),
    ("GET", "/api/v1/reports/bulletins"): (None, _get("/api/v1/reports/bulletins")),
    ("POST", "/api/v1/reports/bulletins"): (None, _post("/api/v1/reports/bulletins", {"kind": "weekly", "audience": "red"})),
    ("GET", "/api/v1/reports/bulletins/{bulletin_id}"): ("bulletin", _get("/api/v1/reports/bulletins/{t}")),
    ("GET", "/api/v1/reports/bulletins/{bulletin_id}/html"): ("bulletin", _get("/api/v1/reports/bulletins/{t}/html")),
    ("GET", "/api/v1/reports/bulletins/{bulletin_id}/pdf"): ("bulletin", _get("/api/v1/reports/bulletins/{t}/pdf")),
    ("GET", "/api/v1/reports/bulletins/{bulletin_id}/versions"): ("bulletin", _get("/api/v1/reports/bulletins/{t}/versions")),
    ("PUT", "/api/v1/reports/bulletins/{bulletin_id}/commentary"): ("bulletin", lambda w, t: ("PUT", f"/api/v1/reports/bulletins/{t}/commentary", {"json": {"language": "en", "text": "x"}})),
    ("PUT", "/api/v1/reports/bulletins/{bulletin_id}/links"): ("bulletin", lambda w, t: ("PUT", f"/api/v1/reports/bulletins/{t}/links", {"json": {"links": []}})),
    ("POST", "/api/v1/reports/bulletins/{bulletin_id}/submit"): ("bulletin", _post("/api/v1/reports/bulletins/{t}/submit")),
    ("POST", "/api/v1/reports/bulletins/{bulletin_id}/approve"): ("bulletin", _post("/api/v1/reports/bulletins/{t}/approve")),
    ("POST", "/api/v1/reports/bulletins/{bulletin_id}/publish"): ("bulletin", _post("/api/v1/reports/bulletins/{t}/publish")),
    ("POST", "/api/v1/reports/bulletins/{bulletin_id}/correct"): ("bulletin", _post("/api/v1/reports/bulletins/{t}/correct")),
    ("POST", "/api/v1/reports/subscriptions"): (None, _post("/api/v1/reports/subscriptions", {"email": "not an address"})),
    ("PUT", "/api/v1/reports/schedules"): (None, lambda w, t: ("PUT", "/api/v1/reports/schedules", {"json": {"kind": "hourly", "audience": "clear"}})),
    ("GET", "/reports"): (None, _get("/reports")),
    ("GET", "/reports/schedules"): (None, _get("/reports/schedules")),
    ("POST", "/reports/schedules"): (None, _post("/reports/schedules", data={"kind": "daily", "audience": "clear", "at": "06:00"})),
    ("POST", "/reports"): (None, _post("/reports", data={"kind": "weekly", "audience": "red"})),
    ("POST", "/reports/subscriptions"): (None, _post("/reports/subscriptions", data={"email": "x"})),
    ("GET", "/reports/{bulletin_id}"): ("bulletin", _get("/reports/{t}")),
    ("POST", "/reports/{bulletin_id}/{step}"): ("bulletin", _post("/reports/{t}/submit", data={})),
    ("GET", "/public"): (None, _get("/public")),
    ("GET", "/public/"): (None, _get("/public/")),
    ("GET", "/public/bulletins/{bulletin_id}"): ("bulletin", _get("/public/bulletins/{t}")),
    ("GET", "/public/bulletins/{bulletin_id}.pdf"): ("bulletin", _get("/public/bulletins/{t}.pdf")),
    ("GET", "/public/alerts/{alert_id}"): ("cap", _get("/public/alerts/{t}")),
    ("GET", "/public/feed.atom"): (None, _get("/public/feed.atom")),
    ("GET", "/public/feed.rss"): (None, _get("/public/feed.rss?lang=ru")),
    ("GET", "/public/{lang}/feed.atom"): (None, _get("/public/ru/feed.atom")),
    ("GET", "/public/{lang}/feed.rss"): (None, _get("/public/xx/feed.rss")),
    # exercises: runs are the crisis centre's and their participants'; probed with an absent run (404)
    ("POST", "/api/v1/exercises/scenarios"): (None, _post("/api/v1/exercises/scenarios", {"name": "probe"})),
    ("GET", "/api/v1/exercises/scenarios"): (None, _get("/api/v1/exercises/scenarios")),
    ("GET", "/api/v1/exercises/scenarios/{scenario_id}"): (None, _get("/api/v1/exercises/scenarios/999999")),
    ("GET", "/api/v1/exercises/scenarios/{scenario_id}/export.{fmt}"): (None, _get("/api/v1/exercises/scenarios/999999/export.csv")),
    ("PUT", "/api/v1/exercises/scenarios/{scenario_id}/msel"): (None, lambda w, t: ("PUT", "/api/v1/exercises/scenarios/999999/msel", {"content": b"number\n", "headers": {"Content-Type": "text/csv"}})),
    ("POST", "/api/v1/exercises/runs"): (None, _post("/api/v1/exercises/runs", {"scenario_id": 999999})),
    ("GET", "/api/v1/exercises/runs"): (None, _get("/api/v1/exercises/runs")),
    ("GET", "/api/v1/exercises/runs/{run_id}"): (None, _get("/api/v1/exercises/runs/999999")),
    ("GET", "/api/v1/exercises/runs/{run_id}/replay"): (None, _get("/api/v1/exercises/runs/999999/replay")),
    ("DELETE", "/api/v1/exercises/runs/{run_id}"): (None, _delete("/api/v1/exercises/runs/999999")),
    ("POST", "/api/v1/exercises/runs/{run_id}/state"): (None, _post("/api/v1/exercises/runs/999999/state", {"to": "running"})),
    ("POST", "/api/v1/exercises/runs/{run_id}/speed"): (None, _post("/api/v1/exercises/runs/999999/speed", {"speed": 2})),
    ("POST", "/api/v1/exercises/runs/{run_id}/injects"): (None, _post("/api/v1/exercises/runs/999999/injects", {"number": 1, "offset": 0, "target": {"org": "*"}, "channel": "message", "title": "x"})),
    ("POST", "/api/v1/exercises/runs/{run_id}/injects/{number}/deliver"): (None, _post("/api/v1/exercises/runs/999999/injects/1/deliver")),
    ("POST", "/api/v1/exercises/runs/{run_id}/injects/{number}/acknowledge"): (None, _post("/api/v1/exercises/runs/999999/injects/1/acknowledge")),
    ("GET", "/api/v1/exercises/runs/{run_id}/inbox"): (None, _get("/api/v1/exercises/runs/999999/inbox")),
    ("GET", "/api/v1/exercises/runs/{run_id}/objects"): (None, _get("/api/v1/exercises/runs/999999/objects")),
    ("GET", "/api/v1/exercises/runs/{run_id}/scores"): (None, _get("/api/v1/exercises/runs/999999/scores")),
    ("POST", "/api/v1/exercises/runs/{run_id}/expectations/{number}/override"): (None, _post("/api/v1/exercises/runs/999999/expectations/1/override", {"status": "met", "reason": "x"})),
    ("POST", "/api/v1/exercises/runs/{run_id}/notes"): (None, _post("/api/v1/exercises/runs/999999/notes", {"text": "x"})),
    ("GET", "/exercises"): (None, _get("/exercises")),
    ("GET", "/exercises/runs/{run_id}"): (None, _get("/exercises/runs/999999")),
    ("GET", "/exercises/runs/{run_id}/replay"): (None, _get("/exercises/runs/999999/replay")),
    ("GET", "/exercises/runs/{run_id}/report"): (None, _get("/exercises/runs/999999/report")),
    ("POST", "/exercises/runs"): (None, _post("/exercises/runs", data={"scenario_id": "999999"})),
    ("POST", "/exercises/scenarios"): (None, _post("/exercises/scenarios", data={}, files={"file": ("s.yaml", b"name: probe")})),
    ("GET", "/exercises/scenarios/{scenario_id}"): (None, _get("/exercises/scenarios/999999")),
    ("POST", "/exercises/runs/{run_id}/state"): (None, _post("/exercises/runs/999999/state", data={"to": "running"})),
    ("POST", "/exercises/runs/{run_id}/speed"): (None, _post("/exercises/runs/999999/speed", data={"speed": "2"})),
    ("POST", "/exercises/runs/{run_id}/notes"): (None, _post("/exercises/runs/999999/notes", data={"text": "x"})),
    ("POST", "/exercises/runs/{run_id}/injects/{number}/deliver"): (None, _post("/exercises/runs/999999/injects/1/deliver", data={})),
    ("POST", "/exercises/runs/{run_id}/injects/{number}/acknowledge"): (None, _post("/exercises/runs/999999/injects/1/acknowledge", data={})),
    ("POST", "/exercises/runs/{run_id}/expectations/{number}/override"): (None, _post("/exercises/runs/999999/expectations/1/override", data={"status": "met", "reason": "x"})),
}  # fmt: skip

# Crises, requests, consultations, offers, CAP alerts and peers are alliance-wide or node
# configuration (no organisation's private thing); sharing groups are listed to every member
# (GET /api/v1/sharing-groups), so reading one by name tells nothing more. Bulletins are the
# alliance's products, read by audience level (TLP), never one organisation's. They are probed
# with absent ids only.
ALLIANCE_WIDE = {"crisis", "request", "consultation", "offer", "cap", "peer", "group-read", "bulletin"}
WRITERS = {Role.ADMIN, Role.COORDINATOR, Role.ANALYST, Role.PEER}
EVERYONE = set(ROLES)

# Documented exceptions: answers that differ from the absent case by design, not leaks.
# Held-id writes: a non-owner's write of an existing SDO/SRO id answers 403 (a failed job, a
# TAXII failure) whether or not the writer can see it, where an unheld id is a fresh write:
# ids are random UUIDs, so the answer needs the id itself (SCO writes by non-owners answer like
# a fresh write, co-holding: ``test_sco_write_answers_as_a_fresh_one``).
HELD_ID_WRITES = {
    ("POST", "/api/v1/objects"),
    ("POST", "/api/v1/imports"),
    ("POST", "/taxii2/{api_root}/collections/{collection_id}/objects/"),
}
HELD_ID_REFUSALS = ("held by another organisation", "a peer may version only objects")
# Group membership: every member lists every sharing group, so the owner-only refusal (403)
# tells nothing the list does not; an absent group answers 404.
GROUP_MANAGERS = {Role.ADMIN, Role.COORDINATOR}

# Findings of issue 16 still reproduced: (method, route) -> (finding, roles), strict xfails.
KNOWN: dict[tuple[str, str], tuple[int, set[Role]]] = {}


def _routes(app: Any) -> Iterator[tuple[str, str]]:
    for r in iter_route_contexts(app.routes):
        path = r.path
        if not path or path in ("/api/openapi.json", "/api/docs", "/docs/oauth2-redirect") or not r.methods:
            continue
        for m in sorted(r.methods - {"HEAD"}):
            yield m, path


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    w = build_world()
    yield w
    w.node.stop()


def test_every_route_is_in_the_table(world: World) -> None:
    missing = sorted(set(_routes(world.node.app)) - set(TABLE))
    assert not missing, f"routes with no row in the authorization table: {missing}"


def _answer(w: World, who: Member, probe: Probe, target: Any) -> tuple[int, str, str]:
    method, url, kw = probe(w, target)
    form = kw.pop("_form", None)
    if form is not None:
        kw["data"] = form(target)
    if kw.get("data") is None:
        kw.pop("data", None)
    headers = {**who.headers, **kw.pop("headers", {})}
    r = w.node.client.request(method, url, headers=headers, **kw)
    if r.status_code == 202 and url.startswith("/api/v1/imports"):
        w.node.run_jobs()
        job = w.node.client.get(r.json()["url"], headers=who.headers).json()
        return 202, str(job.get("status")), _blank(str(job.get("error")), target)
    try:
        body = r.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {"list": len(body)} if isinstance(body, list) else {}
    if r.status_code < 400:  # a success: its content, numbers (ids, counters, times) blanked
        text = re.sub(r"\d+", "#", _blank(orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode(), target))
        return r.status_code, "", re.sub(r"org-x-[a-z]+-#", "{user}", text)
    code = str(body.get("error") or body.get("title") or "")
    detail = body.get("detail") or body.get("description") or ""
    return r.status_code, code, _blank(str(detail), target)


def _blank(text: str, target: Any) -> str:
    text = text.replace(str(target), "{target}")
    return re.sub(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d{4}-\d\d-\d\dT[\d:.]+Z?", "#", text
    )


def _cases() -> list[Any]:
    """Destructive requests last (DELETE routes, then the admin role), so a delete that wrongly
    succeeds cannot turn later comparisons into absent-versus-absent."""
    out = []
    order = sorted(TABLE.items(), key=lambda kv: (kv[0][0] == "DELETE", kv[0]))
    for (method, path), (kind, _) in order:
        if kind is None:
            continue
        finding, roles = KNOWN.get((method, path), (0, set()))
        for role in [*ROLES[1:], ROLES[0]]:
            marks = [pytest.mark.xfail(strict=True, reason=f"finding {finding}")] if role in roles else []
            out.append(pytest.param(method, path, role, id=f"{method} {path} {role.value}", marks=marks))
    return out


@pytest.mark.parametrize(("method", "path", "role"), _cases())
def test_another_organisations_thing_answers_as_absent(
    world: World, method: str, path: str, role: Role
) -> None:
    kind, probe = TABLE[(method, path)]
    assert kind is not None
    who = world.attackers[role]
    absent = _answer(world, who, probe, world.absent(kind))
    assert absent[0] < 500, f"{method} {path} as {role.value} (absent id): {absent}"
    if kind in ALLIANCE_WIDE:
        return
    theirs = _answer(world, who, probe, world.ids[kind])
    assert theirs[0] < 500, f"{method} {path} as {role.value} (their {kind}): {theirs}"
    if theirs == absent:
        return
    if (method, path) in HELD_ID_WRITES and role in WRITERS:
        assert any(m in theirs[2] for m in HELD_ID_REFUSALS), f"{method} {path} as {role.value}: {theirs}"
        assert not any(m in absent[2] for m in HELD_ID_REFUSALS), absent
        return
    if kind == "group" and role in GROUP_MANAGERS:
        assert (theirs[0], theirs[1]) == (403, "forbidden"), theirs
        assert (absent[0], absent[1]) == (404, "not_found"), absent
        return
    assert theirs == absent, (
        f"{method} {path} as {role.value}: another organisation's {kind} answers {theirs}, an absent one {absent}"
    )


@pytest.mark.parametrize("role", ROLES)
def test_no_route_answers_5xx_to_any_role(world: World, role: Role) -> None:
    """Routes that name no private thing: every role gets a 2xx-4xx answer."""
    errors = []
    for (method, path), (kind, probe) in sorted(TABLE.items()):
        if kind is not None or path == "/api/v1/intel/alerts/stream":
            continue
        status = _answer(world, world.attackers[role], probe, None)[0]
        if status >= 500:
            errors.append(f"{method} {path}: {status}")
    assert not errors


CSRF_RE = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


def _ui_session(w: World, who: Member) -> Any:
    """A browser session for ``who`` (form posts need the session cookie and its CSRF token)."""
    from fastapi.testclient import TestClient

    c = TestClient(w.node.app)
    page = c.get("/login")
    token = CSRF_RE.search(page.text)
    assert token, "login page has no CSRF field"
    r = c.post(
        "/login",
        data={
            "csrf_token": token.group(1),
            "username": who.username,
            "password": "correct horse battery",
            "next": "/",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    return c


def _form_answer(c: Any, url: str, data: dict[str, str]) -> tuple[int, str]:
    token = CSRF_RE.search(c.get(url).text)
    r = c.post(url, data={**data, "csrf_token": token.group(1) if token else ""}, follow_redirects=False)
    flash = re.search(r'class="[^"]*(error|flash)[^"]*"[^>]*>([^<]*)', r.text)
    return r.status_code, flash.group(2).strip() if flash else ""


def test_admin_of_another_member_cannot_mint_tokens_for_our_users(world: World) -> None:
    """The token form of the UI (forms need a session): our user answers as an unknown one."""
    c = _ui_session(world, world.attackers[Role.ADMIN])
    theirs = _form_answer(c, "/admin/tokens", {"username": world.victim.username, "name": "x"})
    absent = _form_answer(c, "/admin/tokens", {"username": world.absent("user"), "name": "x"})
    assert theirs[0] == absent[0], f"another member's user answers {theirs}, an unknown user {absent}"


def test_the_victims_things_are_unchanged(world: World) -> None:
    """After every role of the attacker tried every route: one version of the RED indicator, the
    group's members, the victim's account and token as they were."""
    c, h = world.node.client, world.victim.headers
    r = c.get(f"/api/v1/objects/{world.ids['object']}", params={"version": "all"}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    versions = body.get("objects", body) if isinstance(body, dict) else body
    versions = versions if isinstance(versions, list) else [versions]
    assert [(v["name"], v["object_marking_refs"]) for v in versions] == [("probe", [marking_id(TLP.RED)])]
    group = c.get(f"/api/v1/sharing-groups/{world.ids['group']}", headers=h).json()
    assert (group["members"], group["owner"]) == (["ORG-V"], "ORG-V")
    me = c.get("/api/v1/me", headers=h)
    assert me.status_code == 200, me.text


def test_sco_write_answers_as_a_fresh_one(world: World) -> None:
    """SCO ids are deterministic (any IP is testable), so writing one another organisation holds
    as TLP:RED answers exactly like writing one nobody holds: both co-hold."""
    c = world.node.client

    def sco(value: str, tlp: TLP) -> dict[str, Any]:
        sid = uuid.uuid5(STIX_SCO_NAMESPACE, orjson.dumps({"value": value}).decode())
        return {"type": "ipv4-addr", "spec_version": "2.1", "id": f"ipv4-addr--{sid}",
                "value": value, "object_marking_refs": [marking_id(tlp)]}  # fmt: skip

    r = c.post("/api/v1/objects", json=sco("198.51.100.61", TLP.RED), headers=world.victim.headers)
    assert r.status_code == 201, r.text
    who = world.attackers[Role.ANALYST]
    theirs = c.post("/api/v1/objects", json=sco("198.51.100.61", TLP.CLEAR), headers=who.headers)
    absent = c.post("/api/v1/objects", json=sco("198.51.100.62", TLP.CLEAR), headers=who.headers)
    assert (theirs.status_code, theirs.json()) == (absent.status_code, absent.json())
    mine = c.get(f"/api/v1/objects/{sco('198.51.100.61', TLP.RED)['id']}", headers=world.victim.headers)
    assert mine.json()["object_marking_refs"] == [marking_id(TLP.RED)]


@pytest.mark.parametrize("route", sorted(HELD_ID_WRITES))
def test_held_id_write_answers_alike_seen_or_not(world: World, route: tuple[str, str]) -> None:
    """The documented residual stays one answer: a non-owner's write of a held SDO id is refused
    the same way whether the writer may read the object (TLP:GREEN) or not (TLP:RED)."""
    green = _indicator(f"indicator--{uuid.uuid4()}", TLP.GREEN)
    r = world.node.client.post("/api/v1/objects", json=green, headers=world.victim.headers)
    assert r.status_code == 201, r.text
    who = world.attackers[Role.ANALYST]
    _, probe = TABLE[route]
    seen = _answer(world, who, probe, green["id"])
    unseen = _answer(world, who, probe, world.ids["object"])
    assert seen == unseen
    assert any(m in seen[2] for m in HELD_ID_REFUSALS), seen
