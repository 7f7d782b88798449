"""``colsec taxii load-medallion``: a medallion site moves to colsec and keeps URLs, ids, rights, cursors, users."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from taxii2client.v21 import ApiRoot, Collection, Server

from colsec.db import Database
from colsec.taxii.models import TaxiiApiRoot
from taxii.server import create_account, prepare_database, run_node
from taxii.stixdata import indicator

OPEN = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
CLOSED = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"
STATUS = "7d3e0a52-1b9c-4e3f-a0d5-c8f2b6e91d47"
USER, SECRET = "medallion-user", "Secret-pass-123"
TAXII = "application/taxii+json;version=2.1"
LEGACY_TTL = 10.0  # colsec.taxii.legacy.LegacyRootPaths default


def _medallion_files(folder: Path) -> Path:
    v1 = {
        **indicator(1, tag="med"),
        "created": "2016-01-01T00:00:00.000Z",
        "modified": "2016-01-01T00:00:00.000Z",
    }
    v2 = {**v1, "modified": "2017-01-27T13:49:53.935Z", "name": "updated"}
    other = indicator(2, tag="med")
    broken = {
        "type": "indicator",
        "id": "indicator--11111111-2222-4333-8444-555555555555",
        "created": "2017-01-01T00:00:00Z",
    }
    data: dict[str, Any] = {
        "/discovery": {
            "title": "Old TAXII server",
            "description": "medallion",
            "contact": "soc@example.com",
            "default": "http://localhost:5000/trustgroup1/",
            "api_roots": ["http://localhost:5000/api1/", "http://localhost:5000/trustgroup1/"],
        },
        "api1": {
            "information": {"title": "General", "versions": [TAXII], "max_content_length": 9765625},
            "status": [],
            "collections": [],
        },
        "trustgroup1": {
            "information": {
                "title": "Trust group",
                "description": "research",
                "versions": [TAXII],
                "max_content_length": 9765625,
            },  # fmt: skip
            "status": [
                {
                    "id": STATUS,
                    "status": "complete",
                    "request_timestamp": "2016-11-02T12:34:34.123456Z",
                    "total_count": 1,
                    "success_count": 1,
                    "successes": [{"id": other["id"], "version": other["modified"]}],
                    "failure_count": 0,
                    "failures": [],
                    "pending_count": 0,
                    "pendings": [],
                },
            ],  # fmt: skip
            "collections": [
                {
                    "id": OPEN,
                    "title": "High value",
                    "description": "IOCs",
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [v1, other, v2, broken],
                    "manifest": [
                        {
                            "id": v1["id"],
                            "date_added": "2016-11-01T03:04:05Z",
                            "version": v1["modified"],
                            "media_type": "application/stix+json;version=2.1",
                        },
                        {
                            "id": other["id"],
                            "date_added": "2016-11-03T12:30:59.001Z",
                            "version": other["modified"],
                            "media_type": "application/stix+json;version=2.1",
                        },
                        {
                            "id": v2["id"],
                            "date_added": "2017-12-31T13:49:53.935000Z",
                            "version": v2["modified"],
                            "media_type": "application/stix+json;version=2.1",
                        },
                    ],
                },  # fmt: skip
                {
                    "id": CLOSED,
                    "title": "Secret",
                    "can_read": False,
                    "can_write": False,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [],
                    "manifest": [],
                },  # fmt: skip
            ],
        },
    }
    (folder / "data.json").write_text(json.dumps(data))
    config = {"backend": {"module_class": "MemoryBackend", "filename": "data.json"}, "users": {USER: SECRET}}
    (folder / "medallion.conf").write_text(json.dumps(config))
    return folder / "medallion.conf"


def _colsec(url: str, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "COLSEC_DATABASE_URL": url,
        "COLSEC_DATA_DIR": str(folder),
        "COLSEC_SECRET_KEY": "x" * 32,
        "COLUMNS": "200",
    }
    return subprocess.run(  # medallion opens a relative backend.filename from the working directory
        [sys.executable, "-m", "colsec", *args], env=env, capture_output=True, text=True, timeout=120,
        cwd=folder,
    )  # fmt: skip


@pytest.fixture
def migrated(tmp_path: Path) -> tuple[str, Path]:
    url = prepare_database(tmp_path / "colsec.db")
    database = Database(url)
    create_account(database, "analyst", org="ORG-A")
    database.dispose()
    conf = _medallion_files(tmp_path)
    r = _colsec(url, tmp_path, "taxii", "load-medallion", str(conf), "--org", "ORG-A", "--users-org", "ORG-A")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "trustgroup1" in r.stdout and "refused" in r.stdout
    again = _colsec(
        url, tmp_path, "taxii", "load-medallion", str(conf), "--org", "ORG-A", "--users-org", "ORG-A"
    )
    assert again.returncode == 0 and "0 new" in again.stdout, again.stdout + again.stderr
    return url, tmp_path


def test_medallion_site_keeps_urls_ids_rights_cursors_and_users(migrated: tuple[str, Path]) -> None:
    url, folder = migrated
    node = run_node(folder / "node", database_url=url)
    try:
        server = Server(node.discovery_url, user=USER, password=SECRET)  # old Basic credentials still work
        assert server.title == "Old TAXII server" and server.contact == "soc@example.com"
        assert server.default is not None and server.default.url == node.root_url("trustgroup1")

        legacy_root = f"{node.base_url}trustgroup1/"  # the URL clients of medallion already know
        root = ApiRoot(legacy_root, user=USER, password=SECRET)
        assert root.title == "Trust group" and root.max_content_length == 9765625
        assert [c.id for c in root.collections] == [OPEN]  # the closed collection is not listed
        assert root.get_status(STATUS).success_count == 1

        coll = Collection(f"{legacy_root}collections/{OPEN}/", user=USER, password=SECRET)
        objs = coll.get_objects(version="all")
        assert len(objs["objects"]) == 3  # the invalid object was refused, the rest kept
        manifest = coll.get_manifest(version="all")["objects"]
        assert [m["date_added"] for m in manifest] == [
            "2016-11-01T03:04:05.000000Z", "2016-11-03T12:30:59.001000Z", "2017-12-31T13:49:53.935000Z",
        ]  # fmt: skip
        # an added_after cursor a client kept from medallion still means the same place
        later = coll.get_objects(added_after="2016-11-03T12:30:59.001Z", version="all")
        assert [o["modified"] for o in later["objects"]] == ["2017-01-27T13:49:53.935Z"]

        r = httpx.get(
            f"{legacy_root}collections/{CLOSED}/objects/", auth=(USER, SECRET), headers={"Accept": TAXII}
        )
        # medallion answers 403 here; a collection nobody may use answers as a missing one (issue 16, finding 10)
        assert r.status_code == 404 and r.json()["http_status"] == "404"
        assert httpx.get(f"{node.base_url}api1/", auth=(USER, SECRET)).json()["title"] == "General"
        assert httpx.get(f"{node.base_url}nosuch/thing/", auth=(USER, SECRET)).status_code == 404
        with node.session() as s:  # a migrated root named like one of the node's own paths never shadows it
            s.add(TaxiiApiRoot(name="api", title="clash", description="", legacy_path=True))
        time.sleep(LEGACY_TTL + 0.5)
        r = httpx.get(f"{node.base_url}api/v1/node")
        assert r.status_code == 200 and r.json()["name"]
    finally:
        node.stop()


def test_collection_cli(tmp_path: Path) -> None:
    url = prepare_database(tmp_path / "colsec.db")
    r = _colsec(url, tmp_path, "collection", "add", "Partners", "--read", "ORG-A", "--read", "ORG-B",
                "--write", "analyst", "--id", OPEN)  # fmt: skip
    assert r.returncode == 0 and r.stdout.strip() == OPEN, r.stderr
    r = _colsec(url, tmp_path, "collection", "list")
    assert r.returncode == 0 and "Partners" in r.stdout and "ORG-A, ORG-B" in r.stdout and OPEN in r.stdout
    dup = _colsec(url, tmp_path, "collection", "add", "Again", "--id", OPEN)
    assert dup.returncode != 0 and "already exists" in dup.stderr
