"""The leak oracle: a random alliance does random things; every read path is held to the pure policy.

The model below is the ground truth: it records what each organisation wrote and under which
markings, and derives from ``colsec.store.policy.may_share`` alone which marker strings each
organisation may read. Every value, name, description and incident title carries a unique
marker (``zq00042x``), so one regular-expression scan of every response body is a strong
oracle: a marker an organisation may not see, found in anything it can read, is a leak.
Write outcomes are taken from the response only for an owner's own writes (a refused write
is not recorded); non-owner writes are never recorded, whatever the node answers.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from colsec.accounts import service as accounts_service
from colsec.accounts.roles import SYSTEM, Role
from colsec.errors import ColsecError
from colsec.formats.registry import ExportFormat
from colsec.formats.service import ExportFilter, export_selection
from colsec.stix.tlp import TLP, marking_id
from colsec.store.policy import Recipient, SharedFacts, may_share

from .node import Member, Node

__all__ = ["MARKER", "Alliance", "Violation", "oracle_settings"]

MARKER = re.compile(r"zq\d{5}x")
ROOT = "root"
ALL_TLP = [TLP.CLEAR, TLP.GREEN, TLP.AMBER, TLP.AMBER_STRICT, TLP.RED]
EXPORTS = [ExportFormat.STIX, ExportFormat.CSV, ExportFormat.SURICATA, ExportFormat.ZEEK]
FINAL_EXPORTS = [ExportFormat.MISP]  # misp-stix is slow (~0.15 s a call): checked once, at the end
MISP_TLP_TAG = {
    TLP.CLEAR: "tlp:clear",
    TLP.GREEN: "tlp:green",
    TLP.AMBER: "tlp:amber",
    TLP.AMBER_STRICT: "tlp:amber+strict",
    TLP.RED: "tlp:red",
}
TLP_PARAM = {
    TLP.CLEAR: "clear",
    TLP.GREEN: "green",
    TLP.AMBER: "amber",
    TLP.AMBER_STRICT: "amber+strict",
    TLP.RED: "red",
}


def oracle_settings() -> settings:
    """CI: a bounded run (6 stories, about a minute on 2 cores, beside 3 minutes of fuzzing);
    ``COLSEC_ORACLE_EXAMPLES`` asks for a longer one."""
    long_run = "COLSEC_ORACLE_EXAMPLES" in os.environ
    examples = int(os.environ.get("COLSEC_ORACLE_EXAMPLES", "6"))
    steps = int(os.environ.get("COLSEC_ORACLE_STEPS", "15"))
    # CI replays the same stories (a stable answer); a long run explores new ones every time.
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        derandomize=not long_run,
    )


@dataclass(frozen=True)
class Violation:
    """One thing an organisation could read that the policy forbids it (or a visible object missing)."""

    path: str
    org: str
    what: str

    def __str__(self) -> str:
        return f"{self.path} [{self.org}]: {self.what}"


@dataclass
class Version:
    name: str
    tlp: TLP
    group: str | None = None
    granular: str | None = None  # a description marker under a TLP:RED granular marking
    revoked: bool = False

    @property
    def level(self) -> TLP:
        """The row's TLP: a granular TLP:RED marking makes the whole version TLP:RED."""
        return max(self.tlp, TLP.RED) if self.granular else self.tlp


@dataclass(eq=False)
class Obj:
    id: str | None  # None: created by an importer that chose the id (MISP, CSV)
    owner: int
    value: str
    modified: datetime
    versions: list[Version] = field(default_factory=list)
    created: datetime | None = None
    in_taxii: bool = False
    weight: int = 1  # stored objects holding the value (a MISP attribute: the SCO and the indicator)


class Registry:
    """Distinct violations found, kept across examples (the long run prints them)."""

    def __init__(self) -> None:
        self.examples = 0
        self.steps = 0
        self.found: dict[tuple[str, str], Violation] = {}

    def add(self, v: Violation) -> None:
        path = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "{id}", v.path)
        key = (path, _kind(v.what))
        self.found.setdefault(key, v)


def _kind(what: str) -> str:
    return what.split(":", 1)[0]


REGISTRY = Registry()


def _ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def indicator(
    *, id: str, value: str, name: str, tlp: TLP, modified: datetime, granular: str | None, created: datetime
) -> dict[str, Any]:
    """Recent dates: scoring decays old indicators and matching leaves decayed ones out."""
    ts = _ts(modified)
    body: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": id,
        "created": _ts(created),
        "modified": ts,
        "name": name,
        "pattern": f"[domain-name:value = '{value}']",
        "pattern_type": "stix",
        "valid_from": _ts(created),
        "indicator_types": ["malicious-activity"],
        "object_marking_refs": [marking_id(tlp)],
    }
    if granular is not None:
        body["description"] = f"source detail {granular}"
        body["granular_markings"] = [{"marking_ref": marking_id(TLP.RED), "selectors": ["description"]}]
    return body


class ViaTestClient(httpx.BaseTransport):
    """The federation client's transport (httpx) carried over the hub's in-process TestClient."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        r = self.client.request(
            request.method, str(request.url), headers=dict(request.headers), content=request.read()
        )
        headers = [
            (k, v) for k, v in r.headers.items() if k.lower() not in ("content-encoding", "content-length")
        ]
        return httpx.Response(r.status_code, headers=headers, content=r.content, request=request)


class Alliance(RuleBasedStateMachine):
    """3-5 member organisations on one node, each with an analyst, a coordinator and an admin."""

    # COLSEC_ORACLE_SHRINK=1: raise at the first violation, so hypothesis shrinks it to a minimal story
    shrink = bool(os.environ.get("COLSEC_ORACLE_SHRINK"))

    postgres: str | None = None  # a PostgreSQL URL: the alliance's node runs there

    def __init__(self) -> None:
        super().__init__()
        self.node = Node.start(postgres=self.postgres)
        self.n = 0
        self.orgs: list[str] = []
        self.analyst: list[Member] = []
        self._coordinators: dict[int, Member] = {}
        self.admin: Member | None = None
        self.objects: list[Obj] = []
        self.groups: dict[str, tuple[int, set[int]]] = {}  # name -> (owner org, member orgs)
        self.private: dict[str, tuple[int, str]] = {}  # marker -> (the only org that may read it, why)
        self.known_values: list[set[str]] = []
        self.known_ids: list[set[str]] = []
        self.touched: list[Obj] = []
        self.clock = datetime.now(UTC) - timedelta(days=1)
        self.collection = ""
        self.member_nodes: dict[int, Node] = {}
        REGISTRY.examples += 1

    def teardown(self) -> None:
        """The end state is checked once more with every object and the slow exports."""
        try:
            if self.orgs:
                self.check_all(list(self.objects), FINAL_EXPORTS)
        finally:
            for second in self.member_nodes.values():
                second.stop()
            self.node.stop()

    # --- helpers -----------------------------------------------------------------------------

    def marker(self) -> str:
        self.n += 1
        return f"zq{self.n:05d}x"

    def tick(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    def coordinator(self, org: int) -> Member:
        """Created on first use: every account costs an argon2 hash (~0.3 s)."""
        if org not in self._coordinators:
            self._coordinators[org] = self.node.member(self.orgs[org], Role.COORDINATOR)
        return self._coordinators[org]

    def org_db_ids(self, orgs: set[int]) -> frozenset[int]:
        return frozenset(self.analyst[i].org_id for i in orgs)

    def facts(self, obj: Obj, v: Version, *, tlp: TLP | None = None) -> SharedFacts:
        members = self.org_db_ids(self.groups[v.group][1]) if v.group else None
        return SharedFacts(
            owner_org_id=self.analyst[obj.owner].org_id,
            tlp=tlp if tlp is not None else v.level,
            sharing_group_members=members,
        )

    def sees(self, org: int, obj: Obj, v: Version, *, tlp: TLP | None = None) -> bool:
        return may_share(self.facts(obj, v, tlp=tlp), Recipient(self.analyst[org].org_id))

    def visible(self, org: int, obj: Obj) -> bool:
        """Policy per version: an object is visible only as far as its latest version is."""
        return self.sees(org, obj, obj.versions[-1])

    def allowed(self, org: int) -> tuple[set[str], set[str]]:
        """(markers, object ids) the organisation may read."""
        markers = set(self.known_values[org])
        ids = set(self.known_ids[org])
        for obj in self.objects:
            if not self.visible(org, obj):
                continue
            markers.add(obj.value.split(".")[0])
            if obj.id:
                ids.add(obj.id)
            for v in obj.versions:
                if self.sees(org, obj, v):
                    markers.add(v.name)
                    if v.granular:
                        markers.add(v.granular)
        markers.update(m for m, (o, _) in self.private.items() if o == org)
        return markers, ids

    def post_objects(
        self, who: Member, objs: list[dict[str, Any]], path: str, *, declassify: bool = False
    ) -> int:
        c = self.node.client
        if path == "rest":
            r = c.post(
                "/api/v1/objects",
                json={"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objs},
                headers=who.headers,
            )
            return r.status_code
        if path == "import":
            data = orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objs})
            params = {"format": "stix", **({"declassify": "true"} if declassify else {})}
            r = c.post("/api/v1/imports", params=params, content=data, headers=who.headers)
            if r.status_code != 202:
                return r.status_code
            job = c.get(r.json()["url"], headers=who.headers).json()
            return 201 if job.get("status") == "succeeded" else 400
        r = c.post(
            f"/taxii2/{ROOT}/collections/{self.collection}/objects/",
            content=orjson.dumps({"objects": objs}),
            headers={**who.headers, "Content-Type": "application/taxii+json;version=2.1",
                     "Accept": "application/taxii+json;version=2.1"},
        )  # fmt: skip
        if r.status_code != 202:
            return r.status_code
        status = r.json()
        return 201 if status.get("success_count", 0) == len(objs) else 400

    # --- the alliance ------------------------------------------------------------------------

    @initialize(n=st.integers(3, 5))
    def found_alliance(self, n: int) -> None:
        from colsec.taxii import service as taxii

        for i in range(n):
            org = f"ORG-{chr(65 + i)}"
            self.orgs.append(org)
            self.analyst.append(self.node.member(org, Role.ANALYST))
            self.known_values.append(set())
            self.known_ids.append(set())
        self.admin = self.node.member(self.orgs[0], Role.ADMIN)
        from colsec.accounts.roles import SYSTEM

        with self.node.database.unit_of_work() as s:
            self.collection = taxii.create_collection(
                s, actor=SYSTEM, title="alliance", can_read=["*"], can_write=["*"]
            ).id

    orgs_idx = st.integers(0, 4)

    def _org(self, i: int) -> int:
        return i % len(self.orgs)

    @rule(
        org=orgs_idx,
        tlp=st.sampled_from(ALL_TLP),
        reuse=st.integers(-1, 30),
        granular=st.booleans(),
        path=st.sampled_from(["rest", "import", "taxii"]),
    )
    def create(self, org: int, tlp: TLP, reuse: int, granular: bool, path: str) -> None:
        """A member writes a new indicator (sometimes on a value another member already holds)."""
        org = self._org(org)
        values = [o.value for o in self.objects]
        value = values[reuse % len(values)] if reuse >= 0 and values else f"{self.marker()}.example.net"
        obj = Obj(id=f"indicator--{uuid.uuid4()}", owner=org, value=value, modified=self.tick())
        v = Version(name=self.marker(), tlp=tlp, granular=self.marker() if granular else None)
        obj.created = obj.modified
        body = indicator(id=obj.id or "", value=value, name=v.name, tlp=tlp, modified=obj.modified, granular=v.granular, created=obj.modified)  # fmt: skip
        status = self.post_objects(self.analyst[org], [body], path)
        self.known_values[org].add(value.split(".")[0])
        if status in (200, 201, 202):
            obj.versions.append(v)
            obj.in_taxii = path == "taxii"
            self.objects.append(obj)
            self.touched.append(obj)

    @precondition(lambda self: self.objects)
    @rule(pick=st.integers(0, 1000), tlp=st.sampled_from(ALL_TLP), granular=st.booleans(),
          path=st.sampled_from(["rest", "import", "taxii", "declassify"]))  # fmt: skip
    def new_version(self, pick: int, tlp: TLP, granular: bool, path: str) -> None:
        """The owner publishes a new version with another name and marking.

        A wider marking is refused unless the owner declassifies explicitly (an import with
        ``declassify``; objects without a sharing group only, so the model needs no guess about
        what a widened version keeps of the group).
        """
        obj = self.objects[pick % len(self.objects)]
        if obj.id is None:
            return
        latest = obj.versions[-1]
        declassify = path == "declassify"
        if declassify and latest.group:
            return
        v = Version(
            name=self.marker(), tlp=tlp, granular=self.marker() if granular else None, group=latest.group
        )
        modified = self.tick()
        body = indicator(
            id=obj.id,
            value=obj.value,
            name=v.name,
            tlp=tlp,
            modified=modified,
            granular=v.granular,
            created=obj.created or modified,
        )
        if latest.group:
            body["x_colsec_sharing_group"] = {"name": latest.group, "members": []}
        path = "import" if declassify else path
        status = self.post_objects(self.analyst[obj.owner], [body], path, declassify=declassify)
        if status in (200, 201, 202):
            obj.versions.append(v)
            obj.modified = modified
        self.touched.append(obj)

    @precondition(lambda self: self.objects)
    @rule(
        pick=st.integers(0, 1000),
        who=orgs_idx,
        path=st.sampled_from(["rest", "import", "taxii", "declassify"]),
    )
    def hostile_version(self, pick: int, who: int, path: str) -> None:
        """Another member writes a TLP:CLEAR version of someone else's object (declassifying, too):
        never recorded."""
        obj = self.objects[pick % len(self.objects)]
        who = self._org(who)
        if obj.id is None or who == obj.owner:
            return
        name = self.marker()
        self.private[name] = (who, "refused write")
        self.known_ids[who].add(obj.id)
        modified = self.tick()
        body = indicator(
            id=obj.id,
            value=obj.value,
            name=name,
            tlp=TLP.CLEAR,
            modified=modified,
            granular=None,
            created=obj.created or modified,
        )
        declassify = path == "declassify"
        self.post_objects(self.analyst[who], [body], "import" if declassify else path, declassify=declassify)
        self.touched.append(obj)

    @rule(org=orgs_idx, tlp=st.sampled_from(ALL_TLP), fmt=st.sampled_from(["misp", "csv"]))
    def import_file(self, org: int, tlp: TLP, fmt: str) -> None:
        """A MISP event or a CSV IOC list: the importer chooses ids; values and names are tracked."""
        org = self._org(org)
        value = f"{self.marker()}.example.net"
        name = self.marker()
        if fmt == "misp":
            data = orjson.dumps({
                "Event": {
                    "uuid": str(uuid.uuid4()), "info": f"campaign {name}", "date": "2026-11-01",
                    "distribution": "3", "threat_level_id": "2", "analysis": "1",
                    "timestamp": str(int(self.tick().timestamp())),
                    "Tag": [{"name": MISP_TLP_TAG[tlp]}],
                    "Attribute": [{
                        "uuid": str(uuid.uuid4()), "type": "domain", "category": "Network activity",
                        "value": value, "to_ids": True, "comment": f"seen {name}",
                        "timestamp": str(int(self.tick().timestamp())),
                    }],
                }
            })  # fmt: skip
        else:
            data = f"type,value,comment\ndomain,{value},seen {name}\n".encode()
        c = self.node.client
        who = self.analyst[org]
        r = c.post(
            "/api/v1/imports",
            params={"format": fmt, "tlp": TLP_PARAM[tlp]},
            content=data,
            headers=who.headers,
        )
        self.known_values[org].add(value.split(".")[0])
        if (
            r.status_code == 202
            and c.get(r.json()["url"], headers=who.headers).json().get("status") == "succeeded"
        ):
            obj = Obj(
                id=None,
                owner=org,
                value=value,
                modified=self.clock,
                versions=[Version(name=name, tlp=tlp)],
                weight=2 if fmt == "misp" else 1,
            )
            self.objects.append(obj)
        else:
            self.private[name] = (org, "failed import")

    @rule(owner=orgs_idx, members=st.sets(orgs_idx, max_size=5))
    def create_group(self, owner: int, members: set[int]) -> None:
        """A coordinator creates a sharing group; its organisation owns it."""
        owner = self._org(owner)
        mem = {self._org(m) for m in members}
        name = f"group-{len(self.groups) + 1}"
        r = self.node.client.post(
            "/api/v1/sharing-groups",
            json={"name": name, "members": [self.orgs[m] for m in sorted(mem)]},
            headers=self.coordinator(owner).headers,
        )
        if r.status_code == 201:
            self.groups[name] = (owner, mem)

    @precondition(lambda self: self.groups)
    @rule(pick=st.integers(0, 100), who=orgs_idx, new=orgs_idx)
    def add_member(self, pick: int, who: int, new: int) -> None:
        """Only the group's owner organisation changes membership; anyone else's attempt changes nothing."""
        name = sorted(self.groups)[pick % len(self.groups)]
        who, new = self._org(who), self._org(new)
        r = self.node.client.post(
            f"/api/v1/sharing-groups/{name}/members",
            json={"organisation": self.orgs[new]},
            headers=self.coordinator(who).headers,
        )
        owner, mem = self.groups[name]
        if who == owner and r.status_code in (200, 201):
            mem.add(new)
        self.touched.extend(o for o in self.objects if any(v.group == name for v in o.versions))

    @precondition(lambda self: self.groups and self.objects)
    @rule(pick=st.integers(0, 1000), g=st.integers(0, 100), as_owner=st.booleans(), who=orgs_idx)
    def attach_group(self, pick: int, g: int, as_owner: bool, who: int) -> None:
        """Restrict an object to a sharing group (a new version with the same content)."""
        obj = self.objects[pick % len(self.objects)]
        if obj.id is None:
            return
        name = sorted(self.groups)[g % len(self.groups)]
        actor = obj.owner if as_owner else self._org(who)
        r = self.node.client.post(
            f"/api/v1/sharing-groups/{name}/objects",
            json={"object_id": obj.id},
            headers=self.analyst[actor].headers,
        )
        if actor == obj.owner and r.status_code in (200, 201):
            latest = obj.versions[-1]
            obj.versions.append(
                Version(name=latest.name, tlp=latest.tlp, group=name, granular=latest.granular)
            )
        elif actor != obj.owner:
            self.known_ids[actor].add(obj.id)
        self.touched.append(obj)

    @precondition(lambda self: self.objects)
    @rule(pick=st.integers(0, 1000))
    def revoke(self, pick: int) -> None:
        obj = self.objects[pick % len(self.objects)]
        if obj.id is None or obj.versions[-1].revoked:
            return
        r = self.node.client.post(f"/api/v1/objects/{obj.id}/revoke", headers=self.analyst[obj.owner].headers)
        if r.status_code == 200:
            latest = obj.versions[-1]
            obj.versions.append(
                Version(
                    name=latest.name,
                    tlp=latest.tlp,
                    group=latest.group,
                    granular=latest.granular,
                    revoked=True,
                )
            )
        self.touched.append(obj)

    @precondition(lambda self: self.objects)
    @rule(org=orgs_idx, picks=st.lists(st.integers(0, 1000), min_size=1, max_size=4))
    def match(self, org: int, picks: list[int]) -> None:
        """Telemetry holding stored values: the org learns its own values, nothing about hidden holders."""
        org = self._org(org)
        lines = []
        for p in picks:
            value = self.objects[p % len(self.objects)].value
            self.known_values[org].add(value.split(".")[0])
            lines.append(orjson.dumps({
                "_path": "dns", "ts": self.tick().isoformat().replace("+00:00", "Z"), "uid": uuid.uuid4().hex[:8],
                "id.orig_h": "192.0.2.10", "id.orig_p": 40000, "id.resp_h": "192.0.2.53", "id.resp_p": 53,
                "proto": "udp", "query": value, "answers": [],
            }).decode())  # fmt: skip
        r = self.node.client.post(
            "/api/v1/match?format=zeek-json",
            content="\n".join(lines) + "\n",
            headers=self.analyst[org].headers,
        )
        self.check_text(org, "POST /api/v1/match", r.text)

    @precondition(lambda self: self.objects)
    @rule(org=orgs_idx)
    def sync_to_member_node(self, org: int) -> None:
        """A member's own node pulls the alliance collection with that member's peer account.

        The pulled node is one more reader: everything in its store must be what the policy
        lets that member see (the store is scanned whole, so nothing can hide in a path).
        """
        from sqlalchemy import select

        from colsec.federation import service as fed
        from colsec.federation.sync import sync_peer
        from colsec.store.models import StixObject

        org = self._org(org)
        if org not in self.member_nodes:
            peer = self.node.member(self.orgs[org], Role.PEER)
            second = Node.start()
            with second.database.unit_of_work() as s:
                for i, name in enumerate(self.orgs):
                    accounts_service.create_organisation(
                        s, actor=SYSTEM, name=f"{name} agency", short_name=name,
                        identity_id=self.analyst[i].identity_id,
                    )  # fmt: skip
                fed.create_peer(
                    s, actor=SYSTEM, name="hub", url="http://testserver/taxii2/", organisation=self.orgs[0],
                    token=peer.token, collections=[self.collection], local_org=self.orgs[org],
                )  # fmt: skip
            self.member_nodes[org] = second
        second = self.member_nodes[org]
        report = sync_peer(
            second.database, "hub", client_options={"transport": ViaTestClient(self.node.client)}
        )
        if report.error:
            self.violation(Violation("sync", self.orgs[org], f"sync failed: {report.error}"))
        with second.database.unit_of_work(write=False) as s:
            bodies = s.execute(select(StixObject.body)).scalars().all()
        self.check_text(org, f"node of {self.orgs[org]} after sync", "\n".join(bodies))

    @rule()
    def correlate(self) -> None:
        assert self.admin is not None
        r = self.node.client.post("/api/v1/intel/correlations/rebuild", headers=self.admin.headers)
        assert r.status_code == 200, r.text  # a refused rebuild would leave correlations unchecked

    @rule(org=orgs_idx)
    def incident(self, org: int) -> None:
        """A national incident: the crisis API shows it to its reporter only (among members)."""
        org = self._org(org)
        title = self.marker()
        self.private[title] = (org, "national incident")
        self.node.client.post(
            "/api/v1/crisis/incidents",
            json={
                "title": f"outage {title}",
                "description": f"detail {title}",
                "category": "cyber",
                "severity": 3,
            },
            headers=self.analyst[org].headers,
        )

    # --- the oracle --------------------------------------------------------------------------

    def violation(self, v: Violation) -> None:
        REGISTRY.add(v)
        if self.shrink:
            raise AssertionError(str(v))

    def check_text(self, org: int, path: str, text: str) -> None:
        markers, ids = self._allowed_cache[org] if hasattr(self, "_allowed_cache") else self.allowed(org)
        asked = re.search(r"indicator--[0-9a-f-]{36}", path)
        if asked:  # an id the reader itself asked for may be echoed back (as for an absent id)
            ids = ids | {asked.group(0)}
        for m in set(MARKER.findall(text)) - markers:
            self.violation(Violation(path, self.orgs[org], self.describe(m)))
        for obj in self.objects:
            if obj.id and obj.id not in ids and obj.id in text:
                latest = obj.versions[-1]
                self.violation(
                    Violation(
                        path,
                        self.orgs[org],
                        f"hidden id: {obj.id} of {self.orgs[obj.owner]} ({latest.tlp.name}, group {latest.group})",
                    )
                )

    def describe(self, m: str) -> str:
        """'<category>: detail' for a marker; the category names the kind of leak."""
        if m in self.private:
            org, why = self.private[m]
            return f"{why}: {m} known only to {self.orgs[org]}"
        holders = [o for o in self.objects if o.value.startswith(m)]
        if holders:
            what = ", ".join(
                f"{self.orgs[o.owner]} {o.versions[-1].tlp.name}/{o.versions[-1].group}" for o in holders
            )
            return f"value: {m} held by {what}"
        for obj in self.objects:
            latest = obj.versions[-1]
            for i, v in enumerate(obj.versions):
                if v.name == m:
                    cat = "latest version" if i == len(obj.versions) - 1 else "older version"
                    return (
                        f"{cat}: {m} name of version {i + 1}/{len(obj.versions)} ({v.tlp.name}, group {v.group}) "
                        f"of {self.orgs[obj.owner]}'s object, latest {latest.tlp.name}/{latest.group}"
                        f"{' revoked' if latest.revoked else ''}"
                    )
                if v.granular == m:
                    return (
                        f"granular: {m} TLP:RED description of {self.orgs[obj.owner]}'s {v.tlp.name} object"
                    )
        return f"unknown: {m}"

    def reads(self, org: int, objs: list[Obj], exports: list[ExportFormat]) -> Iterator[tuple[str, str]]:
        """Every read path as (path, text) for one organisation."""
        c = self.node.client
        h = self.analyst[org].headers
        taxii = {**h, "Accept": "application/taxii+json;version=2.1"}
        base = f"/taxii2/{ROOT}/collections/{self.collection}"
        for url in (
            "/api/v1/objects?limit=1000",
            "/api/v1/objects?limit=1000&version=all",
            "/api/v1/objects?limit=1000&type=sighting",
            "/api/v1/stats",
            "/api/v1/intel/correlations",
            "/api/v1/intel/alerts",
            "/api/v1/crisis/incidents",
            "/api/v1/sharing-groups",
            f"{base}/objects/?match[version]=all",
            f"{base}/manifest/?match[version]=all",
            "/intel",
            "/intel?q=example.net",
            "/",
        ):
            yield url, c.get(url, headers=taxii if url.startswith("/taxii2") else h).text
        for fmt in exports:
            with self.node.database.unit_of_work(write=False) as s:
                try:
                    files = export_selection(s, actor=self.analyst[org].actor, fmt=fmt, flt=ExportFilter())
                except ColsecError as exc:  # a refusal is an answer too: its message is scanned
                    files = {"error": str(exc).encode()}
            yield f"export {fmt.value}", "\n".join(b.decode("utf-8", "replace") for b in files.values())
        for obj in objs:
            if obj.id is None:
                continue
            for url in (
                f"/api/v1/objects/{obj.id}?version=all",
                f"/api/v1/intel/objects/{obj.id}/related",
                f"/intel/{obj.id}",
            ):
                yield url, c.get(url, headers=h).text
            for url in (f"{base}/objects/{obj.id}/?match[version]=all", f"{base}/objects/{obj.id}/versions/"):
                yield url, c.get(url, headers=taxii).text

    @invariant()
    def every_read_path_keeps_the_policy(self) -> None:
        if not self.orgs:
            return
        REGISTRY.steps += 1
        sample = list(dict.fromkeys(self.touched + self.objects[-2:]))
        self.touched = []
        self.check_all(sample, EXPORTS)

    def check_all(self, sample: list[Obj], exports: list[ExportFormat]) -> None:
        self._allowed_cache = {i: self.allowed(i) for i in range(len(self.orgs))}
        try:
            for org in range(len(self.orgs)):
                for path, text in self.reads(org, sample, exports):
                    self.check_text(org, path, text)
                self.check_listing(org)
                self.check_correlations(org)
        finally:
            del self._allowed_cache

    def check_correlations(self, org: int) -> None:
        """A correlation the reader sees must be made of holders it sees: two at least, counted right."""
        r = self.node.client.get("/api/v1/intel/correlations?limit=500", headers=self.analyst[org].headers)
        for entry in r.json().get("correlations", []):
            m = MARKER.search(str(entry.get("value", "")))
            if not m:
                continue
            holders = [
                o for o in self.objects
                if o.value.startswith(m.group(0)) and self.visible(org, o) and not o.versions[-1].revoked
            ]  # fmt: skip
            hidden = [o for o in self.objects if o.value.startswith(m.group(0)) and not self.visible(org, o)]
            seen = sum(o.weight for o in holders)
            if seen < 2 and hidden:
                self.violation(Violation("/api/v1/intel/correlations", self.orgs[org],
                    f"correlation: {m.group(0)} listed while the reader sees {seen} holder(s); "
                    f"hidden: {', '.join(self.orgs[o.owner] + ' ' + o.versions[-1].tlp.name for o in hidden)}"))  # fmt: skip
            if entry.get("visible_objects") is not None and entry["visible_objects"] > seen:
                self.violation(Violation("/api/v1/intel/correlations", self.orgs[org],
                    f"correlation count: {m.group(0)} counts {entry['visible_objects']} visible objects, "
                    f"the policy allows {seen}"))  # fmt: skip

    def check_listing(self, org: int) -> None:
        """The REST list shows exactly the visible objects the model knows (latest version each)."""
        r = self.node.client.get(
            "/api/v1/objects?limit=1000&type=indicator", headers=self.analyst[org].headers
        )
        listed = {o["id"]: o for o in r.json().get("objects", [])}
        for obj in self.objects:
            if obj.id is None:
                continue
            if self.visible(org, obj) and obj.id not in listed:
                self.violation(
                    Violation("/api/v1/objects", self.orgs[org], f"missing: visible {obj.id} not listed")
                )
            elif (
                obj.id in listed
                and listed[obj.id].get("name") != obj.versions[-1].name
                and self.visible(org, obj)
            ):
                self.violation(
                    Violation(
                        "/api/v1/objects", self.orgs[org], f"stale: {obj.id} latest is not the owner's latest"
                    )
                )
