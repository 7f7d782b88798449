"""colsec held against the OASIS reference server's own test data and expectations, over real HTTP.

The reference data (``data/medallion_default_data.json``) is moved in with
``colsec taxii load-medallion`` run as a medallion operator would (a config in a
sub-folder naming its data file relative to the working directory), then read
with taxii2-client.  Regression tests for issue 17 (TAXII against the reference).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import requests
from taxii2client.v21 import Collection

from colsec.db import Database
from taxii.server import Node, create_account, prepare_database, run_node

DATA = Path(__file__).parent / "data" / "medallion_default_data.json"
USER, SECRET = "admin", "Password0"  # the reference tests' account
COLL = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
MALWARE = "malware--c0931cc6-c75e-47e5-9036-78fabc95d4ec"
INDICATOR = "indicator--6770298f-0fd8-471a-ab8c-1c658a46574e"
RELATIONSHIP = "relationship--2f9a9aa9-108a-4333-83e2-4fb25add0463"
TAXII = "application/taxii+json;version=2.1"


def colsec_cli(url: str, folder: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "COLSEC_DATABASE_URL": url,
        "COLSEC_DATA_DIR": str(folder),
        "COLSEC_SECRET_KEY": "x" * 32,
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "colsec", *args], env=env, capture_output=True, text=True, timeout=120, cwd=cwd
    )


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, str]]:
    folder = tmp_path_factory.mktemp("reference")
    url = prepare_database(folder / "colsec.db")
    database = Database(url)
    create_account(database, "analyst", org="ORG-A")
    database.dispose()
    (folder / "data").mkdir()
    shutil.copy(DATA, folder / "data" / "default_data.json")
    (folder / "conf").mkdir()
    config = {"backend": {"module_class": "MemoryBackend", "filename": "data/default_data.json"},
              "users": {USER: SECRET}}  # fmt: skip
    (folder / "conf" / "medallion.conf").write_text(json.dumps(config))
    r = colsec_cli(url, folder, "taxii", "load-medallion", "conf/medallion.conf", "--org", "ORG-A",
                   "--users-org", "ORG-A", cwd=folder)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    node = run_node(folder / "node", database_url=url)
    try:
        yield node, r.stdout
    finally:
        node.stop()


def _coll(node: Node) -> Collection:
    return Collection(f"{node.root_url('trustgroup1')}collections/{COLL}/", user=USER, password=SECRET)


def test_filter_excluding_every_version_answers_an_empty_resource(loaded: tuple[Node, str]) -> None:
    node, _ = loaded
    coll = _coll(node)
    assert coll.get_object(MALWARE, added_after="2018-01-27T13:49:59.997000Z") == {}
    assert coll.object_versions(RELATIONSHIP, added_after="2014-05-08T09:00:00Z") == {}
    later = coll.get_object(MALWARE, added_after="2017-01-27T13:49:59Z")
    assert later["more"] is False and len(later["objects"]) == 1
    with pytest.raises(requests.HTTPError) as err:  # no version of it here at all: still 404
        coll.get_object("malware--00000000-0000-4000-8000-000000000000")
    assert err.value.response.status_code == 404


def test_versions_and_manifest_render_timestamps_as_stated(loaded: tuple[Node, str]) -> None:
    node, _ = loaded
    coll = _coll(node)
    versions = coll.object_versions(INDICATOR)["versions"]
    assert versions == ["2016-11-03T12:30:59.000Z", "2016-12-25T12:30:59.444Z", "2017-01-27T13:49:53.935Z"]
    manifest = coll.get_manifest(version="2016-12-25T12:30:59.444Z")["objects"]
    assert [(m["id"], m["version"], m["date_added"]) for m in manifest] == [
        (INDICATOR, "2016-12-25T12:30:59.444Z", "2016-12-27T13:49:59.000000Z")
    ]
    r = httpx.get(f"{coll.url}objects/{INDICATOR}/versions/", params={"limit": 1}, auth=(USER, SECRET),
                  headers={"Accept": TAXII})  # fmt: skip
    assert r.json()["versions"] == ["2016-11-03T12:30:59.000Z"]
    assert r.headers["X-TAXII-Date-Added-First"] == "2016-11-03T12:30:59.001000Z"


def test_bare_stix_object_post_is_refused_with_a_taxii_error(loaded: tuple[Node, str]) -> None:
    node, _ = loaded
    url = f"{node.root_url('trustgroup1')}collections/365fed99-08fa-fdcd-a1b3-fb247eb41d01/objects/"
    bare = json.loads(DATA.read_text())["trustgroup1"]["collections"][1]["objects"][1]
    coll = Collection(url.removesuffix("objects/"), user=USER, password=SECRET)
    with pytest.raises(requests.HTTPError) as err:
        coll.add_objects(bare)
    response = err.value.response
    assert response.status_code == 422
    body = response.json()
    assert body["http_status"] == "422" and "bare STIX object" in body["title"] + body.get("description", "")
    r = httpx.post(url, content=b"{}", auth=(USER, SECRET), headers={"Content-Type": TAXII, "Accept": TAXII})
    assert r.status_code == 202 and r.json()["total_count"] == 0  # 'objects' is optional (TAXII 2.1, 3.7)
    assert coll.get_objects() == {"more": False}  # nothing was stored


def test_stix20_objects_of_a_medallion_backend_are_migrated(loaded: tuple[Node, str]) -> None:
    node, output = loaded
    assert "STIX 2.0 objects migrated to 2.1: 1" in output
    assert f"upgraded {MALWARE} 2018-02-23T18:30:00.000Z: spec_version 2.1 added" in output
    coll = _coll(node)
    assert sorted(coll.object_versions(MALWARE)["versions"]) == [
        "2017-01-27T13:49:53.997Z",
        "2018-02-23T18:30:00.000Z",
    ]
    latest = coll.get_object(MALWARE)["objects"]
    assert [(o["modified"], o["spec_version"], o["created"], o["is_family"]) for o in latest] == [
        ("2018-02-23T18:30:00.000Z", "2.1", "2017-01-27T13:49:53.997Z", True)
    ]


def test_missing_backend_file_is_one_line(tmp_path: Path) -> None:
    url = prepare_database(tmp_path / "colsec.db")
    (tmp_path / "medallion.conf").write_text(json.dumps({"backend": {"filename": "nosuch.json"}}))
    for args in (["medallion.conf"], ["absent.conf"]):
        r = colsec_cli(url, tmp_path, "taxii", "load-medallion", *args, cwd=tmp_path)
        assert r.returncode != 0 and "Traceback" not in r.stderr
        lines = [line for line in r.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "not found" in lines[0], r.stderr
    r = colsec_cli(url, tmp_path, "taxii", "load-medallion", "medallion.conf", cwd=tmp_path)
    assert str(tmp_path / "nosuch.json") in r.stderr.replace("\n", "")
