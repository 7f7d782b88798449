"""Issue 17: the CLI on a fresh node, as a new operator meets it (real processes, real SQLite files)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

COLSEC = [sys.executable, "-m", "colsec"]


def _run(args: list[str], cwd: Path, data: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLSEC_")}
    env.pop("COLUMNS", None)  # a pipe: refusals must be one line at rich's default width
    if data is not None:
        env["COLSEC_DATA_DIR"] = str(data)
    return subprocess.run([*COLSEC, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _bundle(path: Path) -> None:
    objs = [
        {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{uuid.uuid4()}",
            "created": "2026-01-01T00:00:00.000Z",
            "modified": "2026-01-01T00:00:00.000Z",
            "pattern": f"[ipv4-addr:value = '198.51.100.{i}']",
            "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z",
            "valid_until": "2026-02-01T00:00:00Z",
        }  # fmt: skip
        for i in range(40)
    ]
    data = gzip.compress(
        json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objs}).encode()
    )
    path.write_bytes(data)


def _one_error_line(r: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in r.stderr and "Aborted" not in r.stderr, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    return lines[0]


def test_fresh_folder_version_and_acting_organisation(tmp_path: Path, shared_data: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    log = tmp_path / "eve.json"
    log.write_text('{"timestamp":"2026-01-02T00:00:00Z","event_type":"flow","src_ip":"198.51.100.7"}\n')

    r = _run(["--version"], elsewhere)
    assert r.returncode == 0 and r.stdout.startswith("colsec ")

    # run from another folder: no node there, so say which folder and create nothing
    r = _run(["match", str(log)], elsewhere)
    assert r.returncode == 4
    folder = (elsewhere / "colsec-data").resolve()
    assert _one_error_line(r) == (
        f"error: no colsec node in data folder {folder}: create one there with 'colsec db upgrade' "
        "(or 'colsec demo'), or point COLSEC_DATA_DIR at an existing node"
    )
    assert not (elsewhere / "colsec-data").exists()

    data = tmp_path / "node"
    r = _run(["db", "upgrade"], tmp_path, data)
    assert r.returncode == 0 and f"using data folder {data.resolve()} (new node)" in r.stderr

    bundle = tmp_path / "iocs.json.gz"
    _bundle(bundle)
    r = _run(["import", str(bundle)], tmp_path, data)
    assert r.returncode == 2
    assert _one_error_line(r) == (
        "error: no organisation on this node yet: create one (colsec org add SHORT --name NAME), "
        "then give --org SHORT"
    )
    assert _run(["org", "add", "CERT-X", "--name", "CERT X"], tmp_path, data).returncode == 0
    for cmd in (["import", str(bundle)], ["match", str(log)], ["export", "--format", "values", "-o", "out"]):
        r = _run(cmd, tmp_path, data)
        assert r.returncode == 2, cmd
        assert (
            _one_error_line(r)
            == "error: say who acts: give --org ORG (an organisation's short name) or --as USER"
        )

    r = _run(
        ["formats", "import", str(bundle), "--org", "CERT-X"], tmp_path, data
    )  # the alias takes .json.gz
    assert r.returncode == 0, r.stderr
    assert "40 new" in r.stdout
    misp = tmp_path / "event.json.gz"  # any format may come gzipped, as on the web import form
    misp.write_bytes(
        gzip.compress((shared_data / "misp/events/pymisp_circl_xorist_57c4445b.json").read_bytes())
    )
    r = _run(["import", str(misp), "--org", "CERT-X"], tmp_path, data)
    assert r.returncode == 0 and "event.json.gz (misp):" in r.stdout, r.stderr

    # matching at the time of the log finds what "now" (after valid_until) leaves out, and says so
    r = _run(["match", str(log), "--org", "CERT-X", "--sightings"], tmp_path, data)
    assert r.returncode == 0, r.stderr
    assert "left out: 0 revoked, 40 expired," in r.stderr and "alerts" in r.stderr
    assert r.stdout == ""
    r = _run(["match", str(log), "--org", "CERT-X", "--at", "2026-01-02", "--no-sightings"], tmp_path, data)
    assert r.returncode == 0, r.stderr
    assert "40 indicators (in force at 2026-01-02)" in r.stderr
    assert json.loads(r.stdout.splitlines()[0])["matched"][0]["value"] == "198.51.100.7"
    r = _run(["match", str(log), "--org", "CERT-X", "--retro", "--at", "2026-01-10"], tmp_path, data)
    assert r.returncode == 2 and _one_error_line(r) == "error: give --retro or --at TIME, not both"

    # one export command: sensor formats through `colsec export`, the matching set unless --all
    r = _run(["export", "--format", "suricata", "-o", "rules", "--org", "CERT-X"], tmp_path, data)
    assert r.returncode == 0, r.stderr
    assert "198.51.100.7" not in (tmp_path / "rules" / "colsec.rules").read_text()
    r = _run(
        ["formats", "export", "--format", "suricata", "-o", "all", "--org", "CERT-X", "--all"], tmp_path, data
    )
    assert r.returncode == 0, r.stderr
    assert "198.51.100.7" in (tmp_path / "all" / "colsec.rules").read_text()
    r = _run(["export", "--format", "bogus", "--org", "CERT-X"], tmp_path, data)
    assert r.returncode == 2 and "unknown export format 'bogus'; choose from stix, misp" in r.stderr

    # a truncated download: one clear line, not "Aborted."
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(bundle.read_bytes()[:300])
    r = _run(["import", str(cut), "--org", "CERT-X"], tmp_path, data)
    assert r.returncode == 2
    assert "the gzip file is truncated" in r.stderr and str(cut) in r.stderr
    assert "Aborted" not in r.stderr and "Traceback" not in r.stderr
