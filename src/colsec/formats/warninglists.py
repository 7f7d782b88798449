"""MISP warninglists: known-benign values that correlation and matching must not alert on.

``import_warninglists`` stores the lists (one row per list, one per value; a newer
version replaces the old entries).  ``WarninglistIndex`` answers
``is_warninglisted(kind, value)`` in memory: exact sets for ``string`` lists,
sorted integer intervals per IP version for ``cidr``, the name and its parent
domains for ``hostname``, literal containment for ``substring`` and RE2 for
``regex`` (lists come from outside, so no backtracking engine).
"""

from __future__ import annotations

import bisect
import ipaddress
import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.errors import InvalidInput
from colsec.formats.models import Warninglist, WarninglistEntry
from colsec.jsonutil import load_file
from colsec.store import audit

__all__ = [
    "WarninglistIndex",
    "cached_index",
    "import_warninglists",
    "is_warninglisted",
    "load_index",
    "read_list_file",
]

_TYPES = frozenset({"cidr", "string", "hostname", "substring", "regex"})
_IP_KINDS = frozenset({"ip", "ipv4", "ipv6", "ip-src", "ip-dst", "cidr4", "cidr6"})
_DOMAIN_KINDS = frozenset({"domain", "hostname", "url", "email"})
# MISP attribute types (and parts of composite types) → our observable kinds
_MISP_TYPE_KINDS = {
    "ip": _IP_KINDS, "ip-src": _IP_KINDS, "ip-dst": _IP_KINDS, "domain": {"domain"}, "hostname": {"domain", "hostname"},
    "url": {"url"}, "link": {"url"}, "uri": {"url"}, "email": {"email"}, "email-src": {"email"}, "email-dst": {"email"},
    "md5": {"md5"}, "sha1": {"sha1"}, "sha256": {"sha256"}, "sha512": {"sha512"}, "filename": {"filename"},
    "port": set(), "user-agent": {"user-agent"},
}  # fmt: skip


def _kinds_of(matching: Iterable[str]) -> frozenset[str] | None:
    """Observable kinds a list applies to; None when the list names no attribute types (all kinds)."""
    kinds: set[str] = set()
    any_type = False
    for mtype in matching:
        any_type = True
        for part in str(mtype).split("|"):
            kinds |= _MISP_TYPE_KINDS.get(part, {part})
    return frozenset(kinds) if any_type else None


@dataclass
class ListData:
    slug: str
    name: str
    description: str
    list_type: str
    version: int
    matching_attributes: list[str]
    values: list[str]


def read_list_file(path: Path) -> ListData:
    data = load_file(path, what=f"warninglist {path}")
    if (
        not isinstance(data, Mapping)
        or data.get("type") not in _TYPES
        or not isinstance(data.get("list"), list)
    ):
        raise InvalidInput(f"{path}: not a MISP warninglist (needs 'type' in {sorted(_TYPES)} and a 'list')")
    return ListData(
        slug=path.parent.name if path.name == "list.json" else path.stem,
        name=str(data.get("name", path.parent.name))[:300],
        description=str(data.get("description", "")),
        list_type=str(data["type"]),
        version=int(data.get("version", 0) or 0),
        matching_attributes=[str(a) for a in data.get("matching_attributes", [])],
        values=[str(v).strip() for v in data["list"] if str(v).strip()],
    )


def import_warninglists(db: Session, *, actor: Actor, path: Path) -> dict[str, int]:
    """Store every ``*/list.json`` under ``path`` (or the one file); returns slug → entry count."""
    files = [path] if path.is_file() else sorted(path.glob("*/list.json"))
    if not files:
        raise InvalidInput(f"{path}: no warninglists (expected <name>/list.json files)")
    counts: dict[str, int] = {}
    for file in files:
        data = read_list_file(file)
        row = db.execute(select(Warninglist).where(Warninglist.slug == data.slug)).scalar_one_or_none()
        if row is None:
            row = Warninglist(slug=data.slug)
            db.add(row)
        row.name, row.description, row.list_type = data.name, data.description, data.list_type
        row.version, row.matching_attributes = data.version, json.dumps(data.matching_attributes)
        row.updated_at = datetime.now(UTC)
        db.flush()
        db.execute(delete(WarninglistEntry).where(WarninglistEntry.warninglist_id == row.id))
        db.execute(
            insert(WarninglistEntry),
            [{"warninglist_id": row.id, "value": v[:2048]} for v in dict.fromkeys(data.values)],
        )
        counts[data.slug] = len(set(data.values))
    audit.record(db, actor=actor, action="warninglist.import", target=str(path), details={"lists": counts})
    return counts


@dataclass
class WarninglistIndex:
    exact: dict[str, set[str]] = field(default_factory=dict)  # value (lower) → list names
    hostnames: dict[str, set[str]] = field(default_factory=dict)
    substrings: list[tuple[str, str]] = field(default_factory=list)
    regexes: list[tuple[Any, str]] = field(default_factory=list)
    applies: dict[str, frozenset[str] | None] = field(default_factory=dict)
    _starts: dict[int, list[int]] = field(default_factory=lambda: {4: [], 6: []})
    _ranges: dict[int, list[tuple[int, int, str]]] = field(default_factory=lambda: {4: [], 6: []})
    _maxend: dict[int, list[int]] = field(default_factory=lambda: {4: [], 6: []})

    @classmethod
    def build(cls, lists: Iterable[tuple[Any, ...]]) -> WarninglistIndex:
        """From (name, type, values[, matching MISP attribute types]) tuples."""
        idx = cls()
        for item in lists:
            name, list_type, values = item[0], item[1], item[2]
            idx.applies[name] = _kinds_of(item[3]) if len(item) > 3 else None
            for raw in values:
                value = raw.strip()
                if list_type == "cidr":
                    try:
                        net = ipaddress.ip_network(value, strict=False)
                    except ValueError:
                        continue
                    idx._ranges[net.version].append(
                        (int(net.network_address), int(net.broadcast_address), name)
                    )
                elif list_type == "hostname":
                    idx.hostnames.setdefault(value.lower().strip(".").lstrip("*."), set()).add(name)
                elif list_type == "substring":
                    idx.substrings.append((value.lower(), name))
                elif list_type == "regex":
                    try:
                        import re2

                        idx.regexes.append((re2.compile(value), name))
                    except Exception:  # re2 missing or a pattern RE2 cannot take: skip, never use `re`
                        continue
                else:
                    idx.exact.setdefault(value.lower(), set()).add(name)
        for v in (4, 6):
            idx._ranges[v].sort()
            idx._starts[v] = [r[0] for r in idx._ranges[v]]
            running, ends = -1, []
            for r in idx._ranges[v]:
                running = max(running, r[1])
                ends.append(running)
            idx._maxend[v] = ends
        return idx

    def _ip(self, text: str) -> set[str]:
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return set()
        lo, hi = int(net.network_address), int(net.broadcast_address)
        ranges, starts = self._ranges[net.version], self._starts[net.version]
        found = set()
        # walk back from the last start <= lo while some earlier range still reaches lo (prefix max of ends)
        maxend = self._maxend[net.version]
        i = bisect.bisect_right(starts, lo) - 1
        while i >= 0 and maxend[i] >= lo:
            start, end, name = ranges[i]
            if start <= lo and hi <= end:
                found.add(name)
            i -= 1
            if len(found) > 50:
                break
        return found

    def _host(self, host: str) -> set[str]:
        host = host.lower().strip(".")
        found: set[str] = set()
        parts = host.split(".")
        for i in range(len(parts)):
            found |= self.hostnames.get(".".join(parts[i:]), set())
        return found

    def lists_for(self, kind: str, value: str) -> set[str]:
        """Names of the lists that hold ``value`` (of observable ``kind``); empty when none."""
        text = value.strip()
        low = text.lower()
        found = set(self.exact.get(low, ()))
        if kind in _IP_KINDS:
            found |= self._ip(text)
        elif kind in _DOMAIN_KINDS:
            host = low
            if kind == "url":
                from urllib.parse import urlsplit

                try:
                    host = urlsplit(text).hostname or ""
                except ValueError:
                    host = ""
            elif kind == "email":
                host = low.rsplit("@", 1)[-1]
            if host:
                found |= self._host(host)
                found |= self.exact.get(host, set())
        for needle, name in self.substrings:
            if needle and needle in low:
                found.add(name)
        for rx, name in self.regexes:
            if rx.search(text):
                found.add(name)
        return {n for n in found if (k := self.applies.get(n)) is None or kind in k}

    @property
    def empty(self) -> bool:
        """No list holds anything: every value's answer is no list."""
        return not (
            self.exact or self.hostnames or self.substrings or self.regexes or any(self._starts.values())
        )

    def is_warninglisted(self, kind: str, value: str) -> bool:
        return bool(self.lists_for(kind, value))


def load_index(db: Session) -> WarninglistIndex:
    """The index over every stored warninglist (build once, reuse: it is read-only)."""
    lists = db.execute(
        select(Warninglist.id, Warninglist.name, Warninglist.list_type, Warninglist.matching_attributes)
    ).all()
    values: dict[int, list[str]] = {row.id: [] for row in lists}
    for wid, value in db.execute(select(WarninglistEntry.warninglist_id, WarninglistEntry.value)):
        values[wid].append(value)
    return WarninglistIndex.build(
        (row.name, row.list_type, values[row.id], json.loads(row.matching_attributes or "[]"))
        for row in lists
    )


_cache_lock = threading.Lock()
_cache: dict[str, tuple[tuple[Any, ...], WarninglistIndex]] = {}


def cached_index(db: Session) -> WarninglistIndex:
    """The index, rebuilt only when the stored lists changed (keyed per database URL)."""
    key = db.execute(
        select(func.count(Warninglist.id), func.max(Warninglist.updated_at), func.max(Warninglist.version))
    ).one()
    url = str(db.get_bind().engine.url)
    with _cache_lock:
        hit = _cache.get(url)
        if hit is not None and hit[0] == tuple(key):
            return hit[1]
    idx = load_index(db)
    with _cache_lock:
        _cache[url] = (tuple(key), idx)
    return idx


def is_warninglisted(db: Session, kind: str, value: str) -> set[str]:
    """Names of the warninglists holding ``value`` (empty set: not known-benign)."""
    return cached_index(db).lists_for(kind, value)
