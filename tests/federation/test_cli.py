"""The federation commands in real ``colsec`` subprocesses, against medallion as the peer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from colsec.db import Database
from colsec.store.models import StixObject
from colsec.taxii.client import TaxiiClient
from federation.medallion import PASSWORD, USER, MedallionNode
from federation.stixgen import indicators
from loopback import LOOPBACK, LOOPBACK_ENV

COLSEC = [sys.executable, "-m", "colsec"]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COLSEC, *args], env=env, capture_output=True, text=True, timeout=300)


def _count(database: Database, origin: str) -> int:
    with database.unit_of_work(write=False) as s:
        return int(
            s.execute(
                select(func.count()).select_from(StixObject).where(StixObject.origin == origin)
            ).scalar_one()
        )


def test_peer_sync_status_and_groups(
    tmp_path: Path, sqlite_database: Database, medallion: MedallionNode
) -> None:
    objs = indicators(60, tag="cli")
    with TaxiiClient(medallion.root_url, outbound=LOOPBACK, username=USER, password=PASSWORD) as c:
        c.wait_status(c.add_objects(medallion.collection_id, objs))
    env = {
        **os.environ,
        "COLSEC_DATA_DIR": str(tmp_path / "data"),
        "COLSEC_DATABASE_URL": sqlite_database.url,
        **LOOPBACK_ENV,
        "COLUMNS": "250",
    }
    for short in ("REF", "OURS", "ALLY"):
        r = _run(["org", "add", short, "--name", f"{short} agency"], env)
        assert r.returncode == 0, r.stderr
    r = _run(["peer", "add", "ref", "--url", medallion.discovery_url, "--org", "REF", "--username", USER,
              "--token", PASSWORD, "--collections", medallion.collection_id, "--local-org", "OURS", "--interval", "30"], env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = _run(["peer", "add", "ref", "--url", medallion.discovery_url, "--org", "REF"], env)
    assert r.returncode == 5 and "already exists" in r.stderr
    r = _run(["peer", "list"], env)
    assert "ref" in r.stdout and "30s" in r.stdout
    r = _run(["peer", "status"], env)
    assert "never" in r.stdout
    r = _run(["sync", "--peer", "ref", "--page-size", "25"], env)
    assert r.returncode == 0, r.stderr
    assert "60 new" in r.stdout or "new" in r.stdout
    assert _count(sqlite_database, "ref") >= 60
    r = _run(["peer", "status", "ref"], env)
    assert r.returncode == 0 and "never" not in r.stdout
    r = _run(["sync", "--peer", "nobody"], env)
    assert r.returncode == 4
    # A peer that cannot be reached: non-zero exit, the error in status.
    r = _run(["peer", "add", "down", "--url", "http://127.0.0.1:9/taxii2/", "--org", "ALLY"], env)
    assert r.returncode == 0
    r = _run(["sync", "--peer", "down"], env)
    assert r.returncode == 7 and "connection" in r.stdout
    r = _run(["peer", "status", "down"], env)
    assert "connection" in r.stdout

    r = _run(["sharing-group", "create", "energy", "--members", "OURS,ALLY"], env)
    assert r.returncode == 0, r.stderr
    r = _run(["sharing-group", "add-member", "energy", "REF"], env)
    assert r.returncode == 0, r.stderr
    r = _run(["sharing-group", "list"], env)
    assert "energy" in r.stdout and "ALLY, OURS, REF" in r.stdout
    r = _run(["sharing-group", "add-member", "energy", "NOPE"], env)
    assert r.returncode == 4


def test_taxii_pull_once(tmp_path: Path, sqlite_database: Database, medallion: MedallionNode) -> None:
    objs = indicators(40, tag="cli-pull")
    with TaxiiClient(medallion.root_url, outbound=LOOPBACK, username=USER, password=PASSWORD) as c:
        c.wait_status(c.add_objects(medallion.collection_id, objs))
    env = {
        **os.environ,
        "COLSEC_DATA_DIR": str(tmp_path / "data"),
        "COLSEC_DATABASE_URL": sqlite_database.url,
        **LOOPBACK_ENV,
    }
    r = _run(
        [
            "taxii",
            "pull",
            medallion.discovery_url,
            "--username",
            USER,
            "--token",
            PASSWORD,
            "--origin",
            "medallion",
        ],
        env,
    )
    assert r.returncode == 0, r.stderr
    assert "pulled" in r.stdout
    assert _count(sqlite_database, "medallion") >= 40
    r = _run(["taxii", "pull", medallion.discovery_url, "--username", USER, "--token", "wrong"], env)
    assert r.returncode == 7
