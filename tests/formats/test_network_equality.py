"""Indicators that set an address equal to a network (``= '10.22.8.0/24'``) match nothing: every
import keeps them and says so in its notes, suggesting ISSUBSET; the command prints it, the API
result carries it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from colsec.db import Database
from colsec.formats.network_equality import NOTED_IDS, network_equalities
from colsec.formats.registry import ImportFormat
from colsec.formats.service import import_source

TS = "2026-01-01T00:00:00.000Z"


def _indicator(pattern: str) -> dict[str, Any]:
    return {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}", "created": TS,
        "modified": TS, "pattern": pattern, "pattern_type": "stix", "valid_from": TS,
    }  # fmt: skip


# pattern -> whether it sets an address equal to a network
PATTERNS = {
    "[ipv4-addr:value = '10.22.8.0/24']": True,
    "[ipv6-addr:value = '2001:db8::/32']": True,
    "[ipv4-addr:value = '203.0.113.9/32']": True,  # one host, still compared as text
    "[ipv4-addr:value = '198.51.100.0/24' AND ipv4-addr:value != '198.51.100.7']": True,
    "[domain-name:value = 'evil.example.com'] OR [ipv4-addr:value = '192.0.2.0/25']": True,
    "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '192.0.2.128/25']": True,
    "[domain-name:value = 'a.example' AND domain-name:resolves_to_refs[*].value = '10.0.0.0/24']": True,
    "[domain-name:value = 'a.example' AND domain-name:resolves_to_refs[*].value = '10.0.0.7']": False,
    "[ipv4-addr:value ISSUBSET '10.22.8.0/24']": False,  # what the analyst meant
    "[ipv4-addr:value = '198.51.100.7']": False,
    "[url:value = 'http://evil.example.com/a/b']": False,
    "[ipv4-addr:value NOT = '10.0.0.0/8']": False,
}


def _bundle(objects: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects})


def _cases() -> tuple[list[dict[str, Any]], set[str]]:
    objects = [_indicator(p) for p in PATTERNS]
    return objects, {o["id"] for o, bad in zip(objects, PATTERNS.values(), strict=True) if bad}


def _noted(notes: list[str]) -> set[str]:
    return {n.split(":", 1)[0] for n in notes if n.startswith("indicator--")}


def test_network_equalities_reads_the_comparisons() -> None:
    for pattern, bad in PATTERNS.items():
        assert bool(network_equalities(pattern)) is bad, pattern
    [atom] = network_equalities("[ipv6-addr:value = '2001:db8::/32' OR ipv6-addr:value = '2001:db8::1']")
    assert (atom.object_type, atom.path, atom.value) == ("ipv6-addr", "value", "2001:db8::/32")


def test_stix_import_notes_exactly_the_network_equalities(
    db: Session, make_account: Callable[..., Any]
) -> None:
    acc = make_account()
    objects, bad = _cases()
    report = import_source(db, actor=acc.actor, data=_bundle(objects))
    assert report.inserted == len(objects)  # valid STIX: kept
    assert _noted(report.notes) == bad
    [note] = [n for n in report.notes if "'10.22.8.0/24'" in n]
    assert "ipv4-addr:value = '10.22.8.0/24'" in note and "ISSUBSET '10.22.8.0/24'" in note
    assert not any("more indicator" in n for n in report.notes)


def test_notes_name_the_first_and_count_the_rest(db: Session, make_account: Callable[..., Any]) -> None:
    acc = make_account()
    objects = [_indicator(f"[ipv4-addr:value = '10.1.{i}.0/24']") for i in range(NOTED_IDS + 5)]
    report = import_source(db, actor=acc.actor, data=_bundle(objects))
    assert _noted(report.notes) == {o["id"] for o in objects[:NOTED_IDS]}
    assert report.notes[-1] == "... and 5 more indicator(s) compare an address with a network by '='"


def test_misp_cidr_attribute_is_noted_as_the_converters(
    db: Session, make_account: Callable[..., Any]
) -> None:
    """misp-stix writes a CIDR ip-dst as ``network-traffic:dst_ref.value = '<network>'`` (both
    paths), and the ip half of a ``domain|ip`` as ``domain-name:resolves_to_refs[*].value``."""
    acc = make_account()
    cidr, plain, resolved = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    attrs = [
        {"uuid": cidr, "type": "ip-dst", "category": "Network activity", "to_ids": True,
         "value": "192.0.2.0/24", "timestamp": "1767225600"},
        {"uuid": plain, "type": "ip-dst", "category": "Network activity", "to_ids": True,
         "value": "192.0.2.7", "timestamp": "1767225600"},
        {"uuid": resolved, "type": "domain|ip", "category": "Network activity", "to_ids": True,
         "value": "evil.example|198.51.100.0/24", "timestamp": "1767225600"},
        {"uuid": str(uuid.uuid4()), "type": "domain|ip", "category": "Network activity", "to_ids": True,
         "value": "good.example|198.51.100.9", "timestamp": "1767225600"},
    ]  # fmt: skip
    event = {"Event": {"uuid": str(uuid.uuid4()), "info": "cidr", "date": "2026-01-01",
                       "timestamp": "1767225600", "Attribute": attrs}}  # fmt: skip
    report = import_source(db, actor=acc.actor, data=orjson.dumps(event))
    assert report.fmt == ImportFormat.MISP
    assert _noted(report.notes) == {f"indicator--{cidr}", f"indicator--{resolved}"}
    [note] = [n for n in report.notes if n.startswith(f"indicator--{cidr}")]
    assert "misp-stix" in note and "network-traffic:dst_ref.value = '192.0.2.0/24'" in note
    [note] = [n for n in report.notes if n.startswith(f"indicator--{resolved}")]
    assert "domain-name:resolves_to_refs[*].value = '198.51.100.0/24'" in note


def test_csv_and_text_networks_become_issubset(db: Session, make_account: Callable[..., Any]) -> None:
    acc = make_account()
    csv = import_source(db, actor=acc.actor, data=b"type,value\nip-dst,192.0.2.0/24\nip-dst,192.0.2.9\n")
    text = import_source(
        db, actor=acc.actor, data=b"block 198.51.100.0/24 and 198.51.100.9", fmt=ImportFormat.TEXT
    )
    assert csv.inserted == 2 and text.inserted >= 1
    assert _noted(csv.notes) == _noted(text.notes) == set()


def test_api_import_result_carries_the_note(
    client: TestClient, make_account: Callable[..., Any], run_jobs: Callable[[], int]
) -> None:
    acc = make_account()
    objects, bad = _cases()
    resp = client.post("/api/v1/imports", content=_bundle(objects), headers=acc.headers)
    assert resp.status_code == 202, resp.text
    assert run_jobs() == 1
    status = client.get(resp.json()["url"], headers=acc.headers).json()
    assert status["status"] == "succeeded", status
    assert _noted(status["result"]["notes"]) == bad


def test_cli_import_prints_the_note(tmp_path: Path, database: Database) -> None:
    env = {**os.environ, "COLSEC_DATA_DIR": str(tmp_path / "data"), "COLSEC_DATABASE_URL": database.url,
           "COLUMNS": "400"}  # fmt: skip

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "colsec", *args], env=env, capture_output=True, text=True, timeout=300
        )

    assert run("org", "add", "TEST-CERT", "--name", "Test CERT").returncode == 0
    objects, bad = _cases()
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}))
    r = run("import", str(path), "--org", "TEST-CERT", "--tlp", "green")
    assert r.returncode == 0, r.stderr
    printed = {
        line.split("note: ", 1)[1].split(":", 1)[0]
        for line in r.stdout.splitlines()
        if "note: indicator--" in line
    }
    assert printed == bad, r.stdout
    assert "did you mean ISSUBSET '10.22.8.0/24'?" in r.stdout
