"""Intelligence imported with the CLI, published by a filter collection, read with taxii2-client.

A real node on 127.0.0.1; the operator works through ``colsec`` subprocesses, readers of two
organisations through taxii2-client, each seeing what the sharing policy allows them.
Regression tests for issue 17 (publishing over TAXII).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
from taxii2client.v21 import Collection

from colsec.stix.tlp import TLP, marking_id
from taxii.server import Node

TAXII = "application/taxii+json;version=2.1"


def _colsec(node: Node, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLSEC_DATABASE_URL": node.database_url, "COLSEC_DATA_DIR": str(node.folder),
           "COLSEC_SECRET_KEY": "taxii-test-secret-key", "COLUMNS": "250"}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "colsec", *args], env=env, capture_output=True, text=True, timeout=120, cwd=cwd
    )


def _indicator(n: int, tlp: TLP) -> dict[str, object]:
    return {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "pattern": f"[ipv4-addr:value = '198.51.100.{n}']", "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z", "object_marking_refs": [marking_id(tlp)],
    }  # fmt: skip


def test_cli_import_is_published_and_read_per_policy(taxii_node: Node, tmp_path: Path) -> None:
    reader_b = taxii_node.add_account("reader-b", org="ORG-B")
    analyst = taxii_node.accounts["analyst"]
    r = _colsec(taxii_node, "collection", "add", "National feed", "--filter", "type=indicator",
                "--filter", "owner=ORG-A", cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    green, red = _indicator(1, TLP.GREEN), _indicator(2, TLP.RED)
    malware = {"type": "malware", "spec_version": "2.1", "id": f"malware--{uuid.uuid4()}", "name": "x",
               "is_family": True, "created": "2026-01-01T00:00:00.000Z",
               "modified": "2026-01-01T00:00:00.000Z"}  # fmt: skip
    bundle = tmp_path / "feed.json"
    bundle.write_text(
        json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [green, red, malware]})
    )
    r = _colsec(taxii_node, "import", str(bundle), "--org", "ORG-A", cwd=tmp_path)
    assert r.returncode == 0, r.stderr

    url = f"{taxii_node.root_url()}collections/{cid}/"
    as_a = Collection(url, user=analyst.username, password=analyst.token)
    as_b = Collection(url, user=reader_b.username, password=reader_b.token)
    assert {o["id"] for o in as_a.get_objects()["objects"]} == {green["id"], red["id"]}
    assert {o["id"] for o in as_b.get_objects()["objects"]} == {green["id"]}  # RED stays with its owner

    r = _colsec(taxii_node, "collection", "remove-objects", cid, "--from-bundle", str(bundle), cwd=tmp_path)
    assert r.returncode == 0 and "2 object versions removed" in r.stdout, r.stdout + r.stderr
    assert "objects" not in as_a.get_objects()
    r = _colsec(taxii_node, "collection", "add-objects", cid, malware["id"], cwd=tmp_path)
    assert r.returncode == 0 and "1 object versions added" in r.stdout, r.stdout + r.stderr
    assert [o["id"] for o in as_b.get_objects()["objects"]] == [malware["id"]]
    r = _colsec(taxii_node, "collection", "list", cwd=tmp_path)
    assert "type=indicator owner=ORG-A" in r.stdout, r.stdout


def test_cli_refusals_are_one_line(taxii_node: Node, tmp_path: Path) -> None:
    cases = [
        (["collection", "add", "Bad", "--filter", "colour=red"], "KEY=VALUE"),
        (["collection", "add", "Bad", "--filter", "owner=NOWHERE"], "organisation 'NOWHERE' not found"),
        (["collection", "add-objects", str(uuid.uuid4()), f"indicator--{uuid.uuid4()}"], "not found"),
        (["collection", "filter", str(uuid.uuid4())], "--filter terms or --clear"),
    ]
    for args, message in cases:
        r = _colsec(taxii_node, *args, cwd=tmp_path)
        lines = [line for line in r.stderr.splitlines() if line.strip()]
        assert r.returncode != 0 and len(lines) == 1 and message in lines[0], (args, r.stderr)


def test_empty_resource_never_discloses_an_object_the_reader_cannot_see(taxii_node: Node) -> None:
    """The 200-empty answer for "filters excluded every version" is only for readers who may see the object."""
    analyst = taxii_node.accounts["analyst"]
    other = taxii_node.accounts.get("reader-b") or taxii_node.add_account("reader-b", org="ORG-B")
    url = taxii_node.collection_url()
    red = _indicator(9, TLP.RED)
    assert (
        Collection(url, user=analyst.username, password=analyst.token)
        .add_objects({"objects": [red]})
        .success_count
        == 1
    )
    later = {"added_after": "2999-01-01T00:00:00Z"}
    owner = httpx.get(
        f"{url}objects/{red['id']}/", params=later, auth=analyst.auth, headers={"Accept": TAXII}
    )
    assert owner.status_code == 200 and owner.json() == {}
    for path in (f"objects/{red['id']}/", f"objects/{red['id']}/versions/"):
        r = httpx.get(f"{url}{path}", params=later, auth=other.auth, headers={"Accept": TAXII})
        assert r.status_code == 404, path


def test_import_option_publishes_in_a_collection(taxii_node: Node, tmp_path: Path) -> None:
    """``colsec import --collection`` puts what it imports (STIX and CSV alike) in a TAXII collection."""
    analyst = taxii_node.accounts["analyst"]
    r = _colsec(taxii_node, "collection", "add", "Hand-picked", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    green = _indicator(7, TLP.GREEN)
    bundle = tmp_path / "one.json"
    bundle.write_text(json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [green]}))
    csv_file = tmp_path / "iocs.csv"
    csv_file.write_text("type,value\nipv4,198.51.100.77\n")
    r = _colsec(taxii_node, "import", str(bundle), str(csv_file), "--org", "ORG-A", "--tlp", "green",
                "--collection", cid, cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    url = f"{taxii_node.root_url()}collections/{cid}/"
    got = Collection(url, user=analyst.username, password=analyst.token).get_objects()["objects"]
    assert green["id"] in {o["id"] for o in got}
    assert any("198.51.100.77" in str(o.get("pattern", "")) for o in got), got
    r = _colsec(taxii_node, "import", str(bundle), "--org", "ORG-A", "--collection", "nowhere", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        "error: no TAXII collection 'nowhere'; see 'colsec collection list'"
    ], r.stderr
