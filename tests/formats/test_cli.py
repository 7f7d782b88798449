"""The formats commands as an operator runs them: real processes on a fresh SQLite node."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLSEC_")}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "colsec", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_import_export_warninglist_commands(tmp_path: Path, shared_data: Path) -> None:
    misp = shared_data / "misp/events/pymisp_circl_xorist_57c4445b.json"
    csv = tmp_path / "iocs.csv"
    csv.write_text("type,value,comment\nip-dst,198.51.100.7,c2\ndomain,evil.example.com,\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("name,age\nbob,3\n")
    assert _run(["db", "upgrade"], tmp_path).returncode == 0  # a node is created only on purpose
    assert _run(["org", "add", "CERT-X", "--name", "CERT X"], tmp_path).returncode == 0
    first = _run(
        ["import", "--tlp", "clear", "--org", "CERT-X", str(misp), str(csv)], tmp_path
    )  # the core command dispatches MISP and CSV here
    assert first.returncode == 0, first.stderr
    assert "(misp)" in first.stdout and "(csv)" in first.stdout
    refused = _run(["formats", "import", "--org", "CERT-X", str(bad)], tmp_path)
    assert refused.returncode == 2 and "unknown CSV layout" in refused.stderr
    wl = _run(["warninglist", "import", str(shared_data / "misp/warninglists")], tmp_path)
    assert wl.returncode == 0 and "warninglists" in wl.stdout, wl.stderr
    out = tmp_path / "out"
    exp = _run(["formats", "export", "--format", "zeek", "-o", str(out), "--org", "CERT-X"], tmp_path)
    assert exp.returncode == 0, exp.stderr
    intel = (out / "colsec.intel").read_text()
    assert "198.51.100.7\tIntel::ADDR" in intel
    feed = _run(
        ["formats", "export", "--format", "misp-feed", "-o", str(tmp_path / "feed"), "--org", "CERT-X"],
        tmp_path,
    )
    assert feed.returncode == 0 and (tmp_path / "feed" / "manifest.json").exists(), feed.stderr
