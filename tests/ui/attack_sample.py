"""A small ATT&CK-shaped sample (techniques, a group using them, a grouping) for search and object pages."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from colsec.accounts.models import Organisation, User
from colsec.accounts.roles import Actor, Role
from colsec.db import Database
from colsec.stix.tlp import TLP, marking_id
from colsec.store.service import import_objects

NS = uuid.UUID("6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f")
T = "2026-11-01T09:00:00.000Z"
GREEN = [marking_id(TLP.GREEN)]


def _sdo(kind: str, key: str, **props: Any) -> dict[str, Any]:
    return {"type": kind, "spec_version": "2.1", "id": f"{kind}--{uuid.uuid5(NS, key)}", "created": T,
            "modified": T, "object_marking_refs": GREEN, **props}  # fmt: skip


def technique(ext: str, name: str, tactic: str, description: str = "") -> dict[str, Any]:
    return _sdo(
        "attack-pattern", ext, name=name, description=description or f"{name} technique.",
        external_references=[{"source_name": "mitre-attack", "external_id": ext,
                              "url": f"https://attack.mitre.org/techniques/{ext.replace('.', '/')}/"}],
        kill_chain_phases=[{"kill_chain_name": "mitre-attack", "phase_name": tactic}],
        x_mitre_platforms=["Windows", "Linux"], x_mitre_is_subtechnique="." in ext,
    )  # fmt: skip


def sample() -> dict[str, dict[str, Any]]:
    objs = {
        "phishing": technique("T1566", "Phishing", "initial-access",
                              "Adversaries may send phishing messages to gain access to victim systems."),
        "spear": technique("T1566.001", "Spearphishing Attachment", "initial-access"),
        "valid": technique("T1078", "Valid Accounts", "persistence"),
        "exfil": technique("T1041", "Exfiltration Over C2 Channel", "exfiltration"),
        "group": _sdo("intrusion-set", "grp", name="Ember Lynx", aliases=["Ember Lynx", "GLASSFIRE"],
                      description="Группа, проводящая фишинговые рассылки против энергетики."),
    }  # fmt: skip
    for i in range(20):
        objs[f"dom{i}"] = _sdo(
            "indicator", f"dom{i}", name=f"Sandworm domain {i}", pattern=f"[domain-name:value = 'sw{i}.example.org']",
            pattern_type="stix", valid_from=T,
        )  # fmt: skip
    for key in ("phishing", "spear", "valid", "exfil"):
        objs[f"uses-{key}"] = _sdo(
            "relationship", f"uses-{key}", relationship_type="uses",
            source_ref=objs["group"]["id"], target_ref=objs[key]["id"],
        )  # fmt: skip
    members = [objs[f"dom{i}"]["id"] for i in range(20)] + [objs["group"]["id"]]
    objs["grouping"] = _sdo("grouping", "grouping", name="Sandworm campaign set", context="suspicious-activity",
                            object_refs=members)  # fmt: skip
    return objs


def load(database: Database, username: str = "nm-analyst") -> dict[str, dict[str, Any]]:
    objs = sample()
    with database.unit_of_work() as db:
        user = db.execute(select(User).where(User.username == username)).scalar_one()
        org = db.get(Organisation, user.organisation_id)
        assert org is not None
        actor = Actor(username=username, role=Role.ANALYST, org_id=org.id, org_short_name=org.short_name)
        import_objects(db, actor=actor, objects=list(objs.values()), owner_org_id=org.id)
    return objs
