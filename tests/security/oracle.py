"""The leak oracle: a random alliance does random things; every read path is held to the pure policy.

The model (``oracle_model``) is the ground truth: it records what each organisation wrote and
under which markings; ``oracle_reads`` derives from ``colsec.store.policy.may_share`` alone
which marker strings each organisation may read and holds every read path to it. Every value,
name, description and incident title carries a unique marker (``zq00042x``), so one
regular-expression scan of every response body is a strong oracle: a marker an organisation may not see, found in anything it can read, is a leak.
Write outcomes are taken from the response only for an owner's own writes (a refused write
is not recorded); non-owner writes are never recorded, whatever the node answers.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from colsec.accounts import service as accounts_service
from colsec.accounts.roles import SYSTEM, Role
from colsec.stix.tlp import TLP

from .node import Member, Node
from .oracle_model import (
    ALL_TLP,
    EXPORTS,
    FINAL_EXPORTS,
    MARKER,
    MISP_TLP_TAG,
    REGISTRY,
    ROOT,
    TLP_PARAM,
    Obj,
    Version,
    ViaTestClient,
    Violation,
    indicator,
    oracle_settings,
)
from .oracle_reads import ReadPaths

__all__ = ["MARKER", "REGISTRY", "Alliance", "Violation", "oracle_settings"]


class Alliance(ReadPaths, RuleBasedStateMachine):
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
        """A ``modified`` later than any version so far: the node dates the versions it makes
        (group attach, revocation) with its own clock, so ours follows the real one."""
        self.clock = max(self.clock + timedelta(milliseconds=1), datetime.now(UTC))
        return self.clock

    def coordinator(self, org: int) -> Member:
        """Created on first use: every account costs an argon2 hash (~0.3 s)."""
        if org not in self._coordinators:
            self._coordinators[org] = self.node.member(self.orgs[org], Role.COORDINATOR)
        return self._coordinators[org]

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
            self.node.run_jobs()
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
        self.admin = self.node.member(self.orgs[0], Role.ADMIN, operator=True)
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
        assert r.status_code == 202, r.text  # a refused rebuild would leave correlations unchecked
        self.node.run_jobs()
        job = self.node.client.get(r.json()["url"], headers=self.admin.headers).json()
        assert job["status"] == "succeeded", job

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

    @invariant()
    def every_read_path_keeps_the_policy(self) -> None:
        if not self.orgs:
            return
        REGISTRY.steps += 1
        sample = list(dict.fromkeys(self.touched + self.objects[-2:]))
        self.touched = []
        self.check_all(sample, EXPORTS)
