"""Helpers for intel tests: organisations and STIX objects with known observable values."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from colsec.accounts import service as accounts
from colsec.accounts.models import Organisation
from colsec.accounts.roles import SYSTEM, Actor, Role
from colsec.db import Database
from colsec.intel.hooks import IntelConfig, post_import_step
from colsec.node import build_node
from colsec.settings import Settings
from colsec.stix.tlp import TLP, marking_id
from colsec.store.service import POST_IMPORT, import_objects
from colsec.web.app import create_app

NS = uuid.UUID("2b0d7a55-1c3e-4e6b-8f0a-9d1e2c3b4a50")

PATTERNS = {
    "ipv4": "[ipv4-addr:value = '{}']",
    "cidr4": "[ipv4-addr:value = '{}']",
    "domain": "[domain-name:value = '{}']",
    "url": "[url:value = '{}']",
    "email": "[email-addr:value = '{}']",
    "sha256": "[file:hashes.'SHA-256' = '{}']",
}


def indicator(
    label: str,
    kind: str,
    value: str,
    *,
    tlp: TLP = TLP.GREEN,
    created: str = "2026-11-20T10:00:00.000Z",
    confidence: int | None = 80,
    **extra: Any,
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid5(NS, label)}",
        "created": created,
        "modified": created,
        "pattern": PATTERNS[kind].format(value),
        "pattern_type": "stix",
        "valid_from": created,
        "object_marking_refs": [marking_id(tlp)],
        **extra,
    }
    if confidence is not None:
        obj["confidence"] = confidence
    return obj


def sighting(label: str, of_ref: str, *, created: str, tlp: TLP = TLP.GREEN, **extra: Any) -> dict[str, Any]:
    return {
        "type": "sighting",
        "spec_version": "2.1",
        "id": f"sighting--{uuid.uuid5(NS, label)}",
        "created": created,
        "modified": created,
        "first_seen": created,
        "last_seen": created,
        "count": 1,
        "sighting_of_ref": of_ref,
        "object_marking_refs": [marking_id(tlp)],
        **extra,
    }


class Orgs:
    def __init__(self, db: Session) -> None:
        self.db = db
        self.by_name: dict[str, Organisation] = {}

    def __call__(self, short: str, kind: str = "member") -> Organisation:
        if short not in self.by_name:
            existing = self.db.query(Organisation).filter_by(short_name=short).one_or_none()
            self.by_name[short] = existing or accounts.create_organisation(
                self.db, actor=SYSTEM, name=f"{short} agency", short_name=short, kind=kind
            )
        return self.by_name[short]

    def actor(self, short: str) -> Actor:
        org = self(short)
        return Actor(
            username=f"{short.lower()}-analyst",
            role=Role.ANALYST,
            org_id=org.id,
            org_short_name=short,
            user_id=1,
        )

    def add(self, short: str, objs: list[dict[str, Any]]) -> list[int]:
        res = import_objects(self.db, actor=self.actor(short), objects=objs, owner_org_id=self(short).id)
        return res.inserted_seqs


@pytest.fixture
def orgs(db: Session) -> Orgs:
    return Orgs(db)


@pytest.fixture
def intel_config() -> IntelConfig:
    """Two members holding a value are enough for a cross-member alert."""
    return IntelConfig(cross_member_threshold=2)


@pytest.fixture
def intel_hook(database: Database, db: Session, intel_config: IntelConfig) -> IntelConfig:
    """The intel post-import step wired into the test's sessions, as a node wires its own."""
    info = {POST_IMPORT: (post_import_step(intel_config),)}
    database.info.update(info)
    db.info.update(info)
    return intel_config


def app_with(settings: Settings, database: Database, intel: IntelConfig) -> FastAPI:
    """An app whose node runs the intel domain with ``intel`` instead of the settings' values."""
    return create_app(node=build_node(settings, database=database, intel=intel))
