"""The demo alliance: a crisis centre, six member-state CERTs, users and a body of shared intelligence.

Deterministic (seeded) and idempotent: running it again adds nothing.  Values come
from documentation ranges (RFC 5737 / 3849) and example domains only.  Later
domains extend the demo through the extensions the node passes in (``colsec.node``).
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts import service as accounts
from colsec.accounts.models import Organisation
from colsec.accounts.passwords import hash_password
from colsec.accounts.roles import SYSTEM, Actor, Role
from colsec.stix.ids import format_timestamp
from colsec.stix.tlp import TLP, marking_id
from colsec.store.models import Collection, StixObject
from colsec.store.service import import_objects

__all__ = ["DEMO_ORGS", "DemoExtension", "build_demo"]

DEMO_NS = uuid.UUID("6f0c7f5e-7c1b-4b0e-9d55-3a1f2b8c9d01")

# short name, full name, country (ISO user-assigned codes: fictional states), kind, sector
DEMO_ORGS: list[tuple[str, str, str, str, str]] = [
    ("ACC", "Alliance Crisis Centre", "XA", "crisis_centre", "government"),
    ("NM-CERT", "Northmark National CERT", "XB", "member", "government"),
    ("EV-CERT", "Eastvale Computer Emergency Team", "XC", "member", "government"),
    ("SD-CERT", "Sundar Cyber Security Centre", "XD", "member", "government"),
    ("WH-CERT", "Westholm CERT", "XE", "member", "government"),
    ("KD-CERT", "Kaldera Information Security Agency", "XF", "member", "government"),
    ("RL-CERT", "Riverland Emergency Response Team", "XG", "member", "government"),
]

DEMO_PASSWORD = "colsec-demo-2026"

# Each extension gets (session, org map) after the core demo.
DemoExtension = Callable[[Session, dict[str, Organisation]], None]

_MALWARE = ["GreyLantern", "SilentHarbor", "IronWillow", "PaperKite", "NightOtter"]
_ACTORS = ["Frost Heron", "Copper Viper", "Marsh Lynx"]
_TLP_MIX = [TLP.CLEAR, TLP.GREEN, TLP.GREEN, TLP.AMBER, TLP.AMBER, TLP.AMBER, TLP.AMBER_STRICT, TLP.RED]


def _sid(kind: str, *parts: object) -> str:
    return f"{kind}--{uuid.uuid5(DEMO_NS, '|'.join(str(p) for p in parts))}"


def _ensure_orgs(db: Session) -> dict[str, Organisation]:
    orgs: dict[str, Organisation] = {}
    for short, name, country, kind, sector in DEMO_ORGS:
        existing = db.execute(
            select(Organisation).where(Organisation.short_name == short)
        ).scalar_one_or_none()
        orgs[short] = existing or accounts.create_organisation(
            db, actor=SYSTEM, name=name, short_name=short, country=country, kind=kind, sector=sector
        )
    return orgs


def _ensure_users(db: Session, orgs: dict[str, Organisation]) -> list[dict[str, str]]:
    from colsec.accounts.models import User

    wanted: list[tuple[str, Role, str, str]] = [
        ("admin", Role.ADMIN, "ACC", "en"),
        ("coordinator", Role.COORDINATOR, "ACC", "ru"),
        ("viewer", Role.VIEWER, "ACC", "en"),
    ]
    for short in orgs:
        if short == "ACC":
            continue
        prefix = short.split("-")[0].lower()
        wanted.append(
            (f"{prefix}-analyst", Role.ANALYST, short, "ru" if prefix in ("nm", "ev", "kd") else "en")
        )
        wanted.append((f"{prefix}-rep", Role.REPRESENTATIVE, short, "ru"))
    creds = []
    # Every demo user has the published demo password: one argon2id hash (a fifth of a CPU second by
    # design) serves all fifteen instead of one each.
    password_hash: str | None = None
    for username, role, short, lang in wanted:
        if db.execute(select(User.id).where(User.username == username)).first() is None:
            user = accounts.create_user(
                db,
                actor=SYSTEM,
                username=username,
                password=None,
                role=role,
                org=orgs[short],
                language=lang,
            )
            password_hash = password_hash or hash_password(DEMO_PASSWORD)
            user.password_hash = password_hash
            if username == "admin":  # the crisis centre runs the demo node
                accounts.set_node_operator(db, actor=SYSTEM, user=user, operator=True)
        creds.append({"username": username, "password": DEMO_PASSWORD, "role": role.value, "org": short})
    return creds


def _intel_for(
    org: Organisation, rng: random.Random, base: datetime, shared_pool: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    ident = org.identity_id
    objs: list[dict[str, Any]] = []

    def stamp(days_ago: float) -> str:
        return format_timestamp(base - timedelta(days=days_ago), precision="milli")

    malware_ids = []
    for name in _MALWARE:
        mid = _sid("malware", org.short_name, name)
        malware_ids.append(mid)
        t = stamp(rng.uniform(20, 30))
        objs.append(
            {
                "type": "malware", "spec_version": "2.1", "id": mid, "created": t, "modified": t,
                "name": name, "is_family": True, "malware_types": [rng.choice(["ransomware", "backdoor", "trojan", "wiper"])],
                "created_by_ref": ident, "object_marking_refs": [marking_id(TLP.GREEN)],
                "description": f"{name} family as tracked by {org.name}.",
            }
        )  # fmt: skip
    actor_ids = []
    for name in _ACTORS:
        aid = _sid("threat-actor", org.short_name, name)
        actor_ids.append(aid)
        t = stamp(rng.uniform(25, 30))
        objs.append(
            {
                "type": "threat-actor", "spec_version": "2.1", "id": aid, "created": t, "modified": t, "name": name,
                "threat_actor_types": ["nation-state"], "created_by_ref": ident,
                "object_marking_refs": [marking_id(TLP.AMBER)],
            }
        )  # fmt: skip
        rel_t = stamp(rng.uniform(1, 30))
        objs.append(
            {
                "type": "relationship", "spec_version": "2.1", "id": _sid("relationship", org.short_name, name, "uses"),
                "created": rel_t, "modified": rel_t, "relationship_type": "uses", "source_ref": aid,
                "target_ref": rng.choice(malware_ids), "created_by_ref": ident,
                "object_marking_refs": [marking_id(TLP.AMBER)],
            }
        )  # fmt: skip
    indicator_ids = []
    for i in range(40):
        kind = rng.choice(["ipv4", "domain", "url", "sha256", "email", "ipv4", "domain"])
        if i < 6:
            kind, value = shared_pool[(i + rng.randrange(len(shared_pool))) % len(shared_pool)]
        elif kind == "ipv4":
            value = f"{rng.choice(['192.0.2', '198.51.100', '203.0.113'])}.{rng.randrange(1, 255)}"
        elif kind == "domain":
            value = f"{rng.choice(['update', 'cdn', 'login', 'mail', 'sync'])}{rng.randrange(100)}.{rng.choice(['example.com', 'example.net', 'example.org'])}"
        elif kind == "url":
            value = f"http://files{rng.randrange(50)}.example.net/{rng.choice(['a', 'dl', 'payload'])}/{rng.randrange(10**6)}.bin"
        elif kind == "sha256":
            value = hashlib.sha256(f"{org.short_name}{i}".encode()).hexdigest()
        else:
            value = (
                f"{rng.choice(['hr', 'billing', 'it-support'])}@{rng.choice(['example.com', 'example.org'])}"
            )
        pattern = {
            "ipv4": f"[ipv4-addr:value = '{value}']",
            "domain": f"[domain-name:value = '{value}']",
            "url": f"[url:value = '{value}']",
            "sha256": f"[file:hashes.'SHA-256' = '{value}']",
            "email": f"[email-addr:value = '{value}']",
        }[kind]
        iid = _sid("indicator", org.short_name, i)
        indicator_ids.append(iid)
        created = stamp(rng.uniform(0, 30))
        level = rng.choice(_TLP_MIX)
        objs.append(
            {
                "type": "indicator", "spec_version": "2.1", "id": iid, "created": created, "modified": created,
                "name": f"{kind} linked to {rng.choice(_MALWARE)}", "pattern": pattern, "pattern_type": "stix",
                "valid_from": created, "indicator_types": ["malicious-activity"], "confidence": rng.choice([50, 70, 85, 95]),
                "labels": [rng.choice(["phishing", "c2", "ransomware", "exfiltration", "scanning"])],
                "created_by_ref": ident, "object_marking_refs": [marking_id(level)],
            }
        )  # fmt: skip
        rel_t = stamp(rng.uniform(0, 10))
        objs.append(
            {
                "type": "relationship", "spec_version": "2.1", "id": _sid("relationship", org.short_name, i, "indicates"),
                "created": rel_t, "modified": rel_t, "relationship_type": "indicates", "source_ref": iid,
                "target_ref": rng.choice(malware_ids), "created_by_ref": ident, "object_marking_refs": [marking_id(level)],
            }
        )  # fmt: skip
    rep_t = stamp(rng.uniform(0, 5))
    objs.append(
        {
            "type": "report", "spec_version": "2.1", "id": _sid("report", org.short_name, "weekly"), "created": rep_t,
            "modified": rep_t, "name": f"{org.name}: weekly threat summary", "published": rep_t,
            "report_types": ["threat-report"], "object_refs": indicator_ids[:10] + malware_ids[:2],
            "created_by_ref": ident, "object_marking_refs": [marking_id(TLP.GREEN)],
            "description": "Campaign activity against energy and water utilities in the region.",
        }
    )  # fmt: skip
    return objs


def build_demo(db: Session, *, extensions: Sequence[DemoExtension] = ()) -> list[dict[str, str]]:
    """Create (or complete) the demo alliance; return the printed demo credentials.

    ``extensions`` (the node's ``demo_extensions``) add the domains' scenarios.
    """
    orgs = _ensure_orgs(db)
    creds = _ensure_users(db, orgs)
    rng = random.Random(2026)
    # the last 30 days up to today: charts and "new this week" read like a working month
    base = datetime.now(UTC).replace(second=0, microsecond=0)
    shared_pool = [("ipv4", "198.51.100.23"), ("domain", "login-portal.example.net"), ("ipv4", "203.0.113.77"),
                   ("sha256", hashlib.sha256(b"shared-dropper").hexdigest()), ("url", "http://cdn7.example.org/update.bin")]  # fmt: skip
    for short, org in orgs.items():
        if short == "ACC":
            continue
        actor = Actor(
            username=f"{short.lower()}-demo", role=Role.ANALYST, org_id=org.id, org_short_name=short
        )
        objects = _intel_for(org, rng, base, shared_pool)
        if db.execute(select(StixObject.seq).where(StixObject.id == objects[-1]["id"])).first() is None:
            import_objects(db, actor=actor, objects=objects, owner_org_id=org.id)  # once: stamps move by day
    for extend in extensions:
        extend(db, orgs)
    _ensure_collection(db)
    return creds


DEMO_COLLECTION_ID = str(uuid.uuid5(DEMO_NS, "collection|shared-indicators"))


def _ensure_collection(db: Session) -> None:
    """A TAXII collection of the alliance's TLP:GREEN-or-lower indicators, kept filled as they arrive."""
    from colsec.taxii.publish import FilterNames, publish_collection

    if db.get(Collection, DEMO_COLLECTION_ID) is None:
        publish_collection(
            db, actor=SYSTEM, title="Alliance shared indicators", alias="shared-indicators",
            description="Indicators the members share at TLP:GREEN or below, for sensors and partners.",
            collection_id=DEMO_COLLECTION_ID, filter_names=FilterNames(types=["indicator"], tlp="green"),
            include_existing=True,
        )  # fmt: skip
