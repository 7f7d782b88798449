"""The real ``colsec`` command in subprocesses: demo, accounts, import/export, exit codes, crash safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from colsec.db import Database
from colsec.formats.stix_bundle import SMALL_FILE
from colsec.store.models import StixObject
from colsec.store.service import BATCH_SIZE

COLSEC = [sys.executable, "-m", "colsec"]


def _env(tmp_path: Path, database: Database) -> dict[str, str]:
    return {
        **os.environ,
        "COLSEC_DATA_DIR": str(tmp_path / "data"),
        "COLSEC_DATABASE_URL": database.url,
        "COLUMNS": "200",
    }


def _run(args: list[str], env: dict[str, str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COLSEC, *args], env=env, capture_output=True, text=True, timeout=300, **kw)  # type: ignore[call-overload, no-any-return]


def _count(database: Database) -> int:
    with database.unit_of_work(write=False) as s:
        return int(s.execute(select(func.count()).select_from(StixObject)).scalar_one())


def test_demo_accounts_import_export(tmp_path: Path, database: Database, shared_data: Path) -> None:
    env = _env(tmp_path, database)
    r = _run(["demo"], env)
    assert r.returncode == 0, r.stderr
    assert "colsec-demo-2026" in r.stdout and "coordinator" in r.stdout
    n = _count(database)
    assert n > 400
    assert _run(["demo", "--quiet"], env).returncode == 0
    assert _count(database) == n  # idempotent

    r = _run(["org", "add", "TEST-CERT", "--name", "Test CERT"], env)
    assert r.returncode == 0, r.stderr
    r = _run(
        ["user", "add", "tester", "--org", "TEST-CERT", "--role", "analyst", "--password", "long enough pw"],
        env,
    )
    assert r.returncode == 0, r.stderr
    r = _run(["token", "create", "tester"], env)
    assert r.returncode == 0 and r.stdout.strip().startswith("csk_")
    assert (
        _run(["user", "add", "tester", "--org", "TEST-CERT", "--password", "long enough pw"], env).returncode
        == 5
    )

    r = _run(
        [
            "import",
            str(shared_data / "attack" / "ics-attack-18.1.json"),
            "--tlp",
            "clear",
            "--org",
            "TEST-CERT",
        ],
        env,
    )
    assert r.returncode == 0, r.stderr
    assert "1,826 new" in r.stdout and "obj/s" in r.stdout
    out = tmp_path / "export.json"
    r = _run(["export", "--type", "attack-pattern", "-o", str(out), "--as", "tester"], env)
    assert r.returncode == 0, r.stderr
    bundle = json.loads(out.read_text())
    assert bundle["type"] == "bundle" and len(bundle["objects"]) > 50
    assert {o["type"] for o in bundle["objects"]} == {"attack-pattern"}

    r = _run(["audit", "verify"], env)
    assert r.returncode == 0 and "intact" in r.stdout


def test_import_refuses_broken_file_with_exit_code(
    tmp_path: Path, database: Database, shared_data: Path
) -> None:
    env = _env(tmp_path, database)
    assert _run(["org", "add", "TEST-CERT", "--name", "Test CERT"], env).returncode == 0
    r = _run(
        [
            "import",
            str(shared_data / "stix" / "tlp2" / "using-tlp2.0-green.example.json"),
            "--org",
            "TEST-CERT",
        ],
        env,
    )
    assert r.returncode == 2
    assert "2022-101-27" in r.stderr and "nothing was imported" in r.stderr
    assert _count(database) == 1  # the organisation's identity only


KILL_OBJECTS = 6_000
KILL_AFTER = 2 * BATCH_SIZE + 500  # objects read before the kill: two batches written, not committed


def _big_bundle(path: Path, n: int) -> int:
    """A bundle of ``n`` indicators, padded past SMALL_FILE with whitespace after the last object, so
    the CLI streams it as it streams any large bundle. Returns the offset where object KILL_AFTER ends."""
    mark = 0
    with path.open("w") as f:
        f.write(f'{{"type": "bundle", "id": "bundle--{uuid.uuid4()}", "objects": [\n')
        for i in range(n):
            obj = {
                "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
                "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                "pattern": f"[ipv4-addr:value = '10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}']",
                "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z", "name": f"planted {i}",
            }  # fmt: skip
            f.write(("," if i else "") + json.dumps(obj) + "\n")
            if i + 1 == KILL_AFTER:
                mark = f.tell()
        f.write(" " * (SMALL_FILE + 1) + "]}\n")
    return mark


def _read_offset(pid: int, path: Path) -> int:
    """How far process ``pid`` has read ``path``: the furthest file position among its descriptors on
    it (Linux /proc; the CLI holds one for its progress bar, the parser another)."""
    furthest = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                with open(f"/proc/{pid}/fdinfo/{fd}") as info:
                    furthest = max(furthest, int(info.readline().split()[1]))  # "pos:\t<offset>"
        except (FileNotFoundError, ProcessLookupError):
            continue
    return furthest


@pytest.mark.slow
def test_kill_9_mid_import_leaves_store_unchanged(tmp_path: Path, database: Database) -> None:
    env = _env(tmp_path, database)
    assert _run(["demo", "--quiet"], env).returncode == 0
    before = _count(database)
    big = tmp_path / "big.json"
    mark = _big_bundle(big, KILL_OBJECTS)
    proc = subprocess.Popen(
        [*COLSEC, "import", str(big), "--org", "ACC"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # The streaming parser reads 64 KiB at a time and asks for more only once the importer has taken
    # every object already read: past mark + 128 KiB, object KILL_AFTER has been handed to the
    # importer, so the batches before it have been written in the import's open transaction.
    deadline = time.monotonic() + 240
    while _read_offset(proc.pid, big) < mark + (128 << 10):
        assert proc.poll() is None, "import ended before it had read the first batches"
        assert time.monotonic() < deadline, "import did not get past the first batches"
        time.sleep(0.02)
    assert proc.poll() is None, "import finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert _count(database) == before
    r = _run(["import", str(big), "--org", "ACC"], env)
    assert r.returncode == 0, r.stderr
    assert _count(database) == before + KILL_OBJECTS
    assert _run(["audit", "verify"], env).returncode == 0


def test_big_import_says_its_post_import_work_is_queued(tmp_path: Path, database: Database) -> None:
    """An import past ``intel_defer_after`` leaves scores to a job, and the command names that job
    (the one its result reports) and who runs it; a smaller one scores inline and says nothing."""
    from colsec.intel.hooks import AFTER_IMPORT_KIND
    from colsec.intel.models import IndicatorScore
    from colsec.jobs.models import Job

    def scored() -> int:
        with database.unit_of_work(write=False) as s:
            return int(s.execute(select(func.count()).select_from(IndicatorScore)).scalar_one())

    def queued() -> list[str]:
        with database.unit_of_work(write=False) as s:
            return list(
                s.scalars(select(Job.id).where(Job.kind == AFTER_IMPORT_KIND, Job.finished_at.is_(None)))
            )

    env = {**_env(tmp_path, database), "COLSEC_INTEL_DEFER_AFTER": "10"}
    assert _run(["org", "add", "TEST-CERT", "--name", "Test CERT"], env).returncode == 0
    big, small, text = tmp_path / "big.json", tmp_path / "small.json", tmp_path / "iocs.txt"
    _big_bundle(big, 12)
    _big_bundle(small, 3)
    text.write_text("".join(f"seen 192.0.2.{i} beaconing\n" for i in range(1, 13)))

    r = _run(["import", str(big), "--org", "TEST-CERT", "--tlp", "green"], env)
    assert r.returncode == 0, r.stderr
    [job] = queued()
    assert f"of 12 new versions are queued as background job {job};" in r.stdout, r.stdout
    assert scored() == 0
    r = _run(["worker", "--once"], env)
    assert r.returncode == 0, r.stderr
    assert scored() == 12 and queued() == []

    r = _run(["import", str(small), "--org", "TEST-CERT", "--tlp", "green"], env)
    assert r.returncode == 0, r.stderr
    assert "queued" not in r.stdout and scored() == 15

    r = _run(["import", str(text), "--format", "text", "--org", "TEST-CERT", "--tlp", "green"], env)
    assert r.returncode == 0, r.stderr
    [job] = queued()
    assert f"new versions are queued as background job {job};" in r.stdout, r.stdout
