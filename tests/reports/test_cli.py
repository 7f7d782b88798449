"""``colsec report``: draft, refuse bad input with a clear message, render HTML and JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from colsec.db import Database


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "colsec", *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_report_draft_render_and_refusals(tmp_path: Path, sqlite_database: Database) -> None:
    env = {
        **os.environ,
        "COLSEC_DATA_DIR": str(tmp_path / "data"),
        "COLSEC_DATABASE_URL": sqlite_database.url,
    }
    r = _run(["report", "draft", "weekly", "--audience", "clear"], env)
    assert r.returncode == 0 and r.stdout.strip() == "bulletin 1 drafted (weekly, TLP:CLEAR)", r.stderr
    r = _run(["report", "draft", "weekly", "--audience", "red"], env)
    assert r.returncode != 0 and "unknown audience 'red'" in r.stderr
    out = tmp_path / "b.json"
    assert _run(["report", "render", "1", "--out", str(out), "--lang", "ru"], env).returncode == 0
    doc = json.loads(out.read_text())
    assert doc["kind"] == "weekly" and doc["audience"] == "CLEAR" and doc["title"].startswith("Еженедельный")
    r = _run(["report", "submit", "1"], env)
    assert r.returncode == 0 and "in_review" in r.stdout
    r = _run(["report", "approve", "1"], env)  # the operator drafted it: four eyes refuse
    assert r.returncode != 0 and "cannot be the author" in r.stderr
    # a schedule may auto-publish only data-only TLP:CLEAR bulletins; the run publishes as the node
    r = _run(["report", "schedule", "daily", "--audience", "green", "--auto-publish"], env)
    assert r.returncode != 0 and "data-only TLP:CLEAR" in r.stderr
    r = _run(["report", "schedule", "daily", "--audience", "clear", "--auto-publish"], env)
    assert r.returncode == 0 and "published automatically" in r.stdout, r.stderr
    r = _run(["report", "run-schedules"], env)
    assert r.returncode == 0 and "1 draft(s) generated" in r.stdout, r.stderr
    r = _run(["report", "list", "--status", "published"], env)
    assert r.returncode == 0 and "daily" in r.stdout and "weekly" not in r.stdout, r.stdout
