"""The leak oracle's read side: what each organisation may read, and every read path held to it.

``allowed`` derives from ``colsec.store.policy.may_share`` alone which markers and ids an
organisation may read; ``check_all`` reads every path (REST, TAXII, UI pages, exports,
correlations) as each organisation and reports any marker or id beyond that.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from colsec.errors import ColsecError
from colsec.formats.registry import ExportFormat
from colsec.formats.service import ExportFilter, export_selection
from colsec.stix.tlp import TLP
from colsec.store.policy import Recipient, SharedFacts, may_share

from .node import Member, Node
from .oracle_model import MARKER, REGISTRY, ROOT, Obj, Version, Violation

__all__ = ["ReadPaths"]


class ReadPaths:
    """The policy model and the read paths of an alliance (mixed into the state machine)."""

    shrink: bool
    node: Node
    orgs: list[str]
    analyst: list[Member]
    objects: list[Obj]
    groups: dict[str, tuple[int, set[int]]]
    private: dict[str, tuple[int, str]]
    known_values: list[set[str]]
    known_ids: list[set[str]]
    collection: str

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
            "/intel?q=zq&rel=1",  # full text: every marker starts "zq"; only latest, visible ones may match
            "/intel?q=source+detail",  # granular TLP:RED descriptions
            "/api/v1/intel/search?q=zq&relationships=true&limit=200",
            # filtered to the owner-and-named levels, a search starts from the reader's own rows
            "/intel?q=zq&tlp=red&rel=1",
            "/intel?tlp=red&rel=1",
            "/api/v1/intel/search?q=zq&tlp=amber%2Bstrict&relationships=true&limit=200",
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
