"""Moving a site from the reference TAXII server (medallion, memory backend) to colsec.

A medallion data file holds the discovery resource, API roots (``information``,
``status`` list, ``collections`` with ``objects`` and a ``manifest`` giving each
version's ``date_added``); its config file adds ``users`` (name → password).  We
keep API root names (served at ``/taxii2/<root>/`` and, as before, ``/<root>/``),
collection ids and rights, each version's ``date_added`` (so clients' ``added_after``
cursors stay valid), status resources and users (their old password becomes an API
token, so Basic credentials keep working).  Medallion's ``next`` tokens live in
memory for 30 s and cannot be carried over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from colsec.accounts import service as accounts
from colsec.accounts.models import ApiToken, Organisation, User
from colsec.accounts.passwords import hash_token
from colsec.accounts.roles import Actor, Role
from colsec.errors import InvalidInput
from colsec.jsonutil import load_file
from colsec.stix.ids import canonical_timestamp
from colsec.stix.tlp import TLP
from colsec.stix.upgrade import is_stix20, upgrade_to_21
from colsec.store import audit
from colsec.store.models import Collection, CollectionObject, StixObject
from colsec.store.service import import_objects
from colsec.taxii.models import TaxiiApiRoot, TaxiiDiscovery, TaxiiStatus
from colsec.taxii.service import STIX_MEDIA, create_collection

__all__ = ["MedallionLoad", "load_medallion", "read_medallion_file"]


@dataclass
class MedallionLoad:
    api_roots: list[str] = field(default_factory=list)
    collections: int = 0
    objects: int = 0
    unchanged: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    statuses: int = 0
    users: list[str] = field(default_factory=list)
    upgraded: list[dict[str, str]] = field(default_factory=list)  # STIX 2.0 objects migrated to 2.1


def read_medallion_file(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """(data, users) from a medallion data file, or from a config file naming its data file.

    A relative ``backend.filename`` is opened from the working directory, as medallion does.
    """
    raw = load_file(path, what=f"medallion file {path}")
    if not isinstance(raw, dict):
        raise InvalidInput(f"{path}: not a medallion data or config file")
    users = raw.get("users") or {}
    if "/discovery" in raw:
        return raw, dict(users)
    backend = raw.get("backend") or {}
    filename = backend.get("filename") if isinstance(backend, dict) else None
    if not filename:
        raise InvalidInput(f"{path}: no '/discovery' and no backend.filename: not a medallion file")
    data_path = Path(filename).absolute()
    data = load_file(data_path, what=f"backend.filename of {path}: {data_path}")
    if not isinstance(data, dict) or "/discovery" not in data:
        raise InvalidInput(f"{data_path}: not a medallion data file")
    return data, dict(users)


def _root_name(url: str) -> str:
    return urlsplit(url).path.strip("/").split("/")[-1]


def _rights(value: Any) -> list[str]:
    if value is True:
        return ["*"]
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def load_medallion(
    db: Session,
    *,
    actor: Actor,
    data: Mapping[str, Any],
    users: Mapping[str, str] | None = None,
    owner_org_id: int | None = None,
    user_org: Organisation | None = None,
    user_role: Role = Role.PEER,
    default_tlp: TLP = TLP.AMBER,
) -> MedallionLoad:
    """Import everything in one transaction; re-running it is harmless (ids and versions dedupe)."""
    report = MedallionLoad()
    disc = data.get("/discovery") or {}
    roots = [k for k in data if k != "/discovery" and isinstance(data[k], dict)]
    default_root = _root_name(disc["default"]) if disc.get("default") else None
    row = db.get(TaxiiDiscovery, 1) or TaxiiDiscovery(id=1)
    row.title = str(disc.get("title") or "TAXII server")
    row.description = str(disc.get("description") or "")
    row.contact = str(disc.get("contact") or "")
    row.default_root = default_root
    db.add(row)
    for name in roots:
        root = data[name]
        info = root.get("information") or {}
        api = db.get(TaxiiApiRoot, name) or TaxiiApiRoot(name=name)
        api.title = str(info.get("title") or name)
        api.description = str(info.get("description") or "")
        api.max_content_length = info.get("max_content_length")
        api.legacy_path = True
        db.add(api)
        db.flush()
        report.api_roots.append(name)
        for coll in root.get("collections") or []:
            _load_collection(db, actor=actor, api_root=name, coll=coll, owner=owner_org_id, tlp=default_tlp,
                             report=report)  # fmt: skip
        for status in root.get("status") or []:
            _load_status(db, api_root=name, status=status, org_id=owner_org_id)
            report.statuses += 1
    if users:
        if user_org is None:
            raise InvalidInput("users need an organisation: pass the organisation their accounts belong to")
        for username, password in users.items():
            _load_user(db, actor=actor, username=username, secret=password, org=user_org, role=user_role)
            report.users.append(username)
    audit.record(
        db,
        actor=actor,
        action="taxii.load_medallion",
        target=",".join(report.api_roots),
        details={"collections": report.collections, "objects": report.objects, "statuses": report.statuses,
                 "users": report.users, "failures": len(report.failures),
                 "upgraded_from_stix20": len(report.upgraded)},
    )  # fmt: skip
    return report


def _load_collection(
    db: Session, *, actor: Actor, api_root: str, coll: Mapping[str, Any], owner: int | None, tlp: TLP,
    report: MedallionLoad,
) -> None:  # fmt: skip
    cid = str(coll["id"])
    existing = db.get(Collection, cid)
    if existing is None:
        existing = create_collection(
            db,
            actor=actor,
            title=str(coll.get("title") or cid),
            api_root=api_root,
            description=str(coll.get("description") or ""),
            alias=coll.get("alias"),
            can_read=_rights(coll.get("can_read")),
            can_write=_rights(coll.get("can_write")),
            collection_id=cid,
            media_types=coll.get("media_types") or [STIX_MEDIA],
        )
        report.collections += 1
    cid = existing.id
    objects = []
    for obj in coll.get("objects") or []:
        if not isinstance(obj, dict):
            continue
        if is_stix20(obj):
            obj, changes = upgrade_to_21(obj)
            report.upgraded.append(
                {"id": str(obj.get("id", "")), "version": str(obj.get("modified") or obj.get("created") or ""),
                 "changes": "; ".join(changes)}
            )  # fmt: skip
        objects.append(obj)
    if not objects:
        return
    result = import_objects(
        db, actor=actor, objects=objects, owner_org_id=owner, default_tlp=tlp, collection_ids=[cid],
        keep_going=True, origin=None,
    )  # fmt: skip
    report.objects += result.inserted
    report.unchanged += result.unchanged
    report.failures.extend(result.errors)
    _restore_date_added(db, cid, coll, objects)


def _version_key(oid: str, version: str | None) -> tuple[str, str]:
    try:
        return oid, canonical_timestamp(version) if version else ""
    except ValueError:
        return oid, ""


def _restore_date_added(
    db: Session, cid: str, coll: Mapping[str, Any], objects: list[dict[str, Any]]
) -> None:
    """Give each version the date_added medallion served it with in this collection (the earliest
    when seen twice), and the store's the earliest of its collections', so pollers carry on."""
    added: dict[tuple[str, str], str] = {}
    for entry in coll.get("manifest") or []:
        if not isinstance(entry, dict) or "id" not in entry or "date_added" not in entry:
            continue
        key = _version_key(str(entry["id"]), entry.get("version"))
        try:
            when = canonical_timestamp(entry["date_added"])
        except ValueError:
            continue
        added[key] = min(when, added.get(key, when))
    for obj in objects:  # medallion keeps the date_added of unversioned objects (SCOs) on the object
        if "_date_added" in obj and isinstance(obj.get("id"), str):
            added.setdefault((obj["id"], ""), canonical_timestamp(obj["_date_added"]))
    if not added:
        return
    rows = db.execute(
        select(StixObject.seq, StixObject.id, StixObject.modified, StixObject.date_added)
        .join(CollectionObject, CollectionObject.object_seq == StixObject.seq)
        .where(CollectionObject.collection_id == cid)
    ).all()
    for seq, oid, modified, current in rows:
        restored = added.get((oid, modified or ""))
        if restored is None:
            continue
        db.execute(
            update(CollectionObject)
            .where(CollectionObject.collection_id == cid, CollectionObject.object_seq == seq)
            .values(date_added=restored)
        )
        if restored < current:
            db.execute(update(StixObject).where(StixObject.seq == seq).values(date_added=restored))


def _details(items: Any) -> list[dict[str, str]]:
    out = []
    for item in items or []:
        if isinstance(item, dict):
            out.append({k: str(v) for k, v in item.items() if k in ("id", "version", "message")})
        elif isinstance(item, str):
            out.append({"id": item, "version": ""})
    return out


def _load_status(db: Session, *, api_root: str, status: Mapping[str, Any], org_id: int | None) -> None:
    sid = str(status["id"])
    if db.get(TaxiiStatus, sid) is not None:
        return
    successes, failures, pendings = (_details(status.get(k)) for k in ("successes", "failures", "pendings"))
    total = status.get("total_count", status.get("total_objects"))
    db.add(
        TaxiiStatus(
            id=sid,
            api_root=api_root,
            status=str(status.get("status") or "complete"),
            request_timestamp=str(status.get("request_timestamp") or ""),
            total_count=int(total if total is not None else len(successes) + len(failures) + len(pendings)),
            success_count=int(status.get("success_count", len(successes))),
            failure_count=int(status.get("failure_count", len(failures))),
            pending_count=int(status.get("pending_count", len(pendings))),
            successes=orjson.dumps(successes).decode(),
            failures=orjson.dumps(failures).decode(),
            pendings=orjson.dumps(pendings).decode(),
            organisation_id=org_id,
        )
    )
    db.flush()


def _load_user(
    db: Session, *, actor: Actor, username: str, secret: str, org: Organisation, role: Role
) -> None:
    user = db.execute(select(User).where(User.username == username.strip().lower())).scalar_one_or_none()
    if user is None:
        user = accounts.create_user(db, actor=actor, username=username, password=None, role=role, org=org)
    digest = hash_token(secret)
    if db.execute(select(ApiToken.id).where(ApiToken.token_hash == digest)).first() is None:
        # The old Basic password becomes this user's token: clients keep their credentials.
        db.add(ApiToken(user_id=user.id, name="medallion", token_hash=digest, prefix=secret[:4]))
        db.flush()
        audit.record(
            db, actor=actor, action="token.create", target=user.username, details={"name": "medallion"}
        )
