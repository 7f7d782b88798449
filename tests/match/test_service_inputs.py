"""What the API and the command line make of an input alike: a Zeek TSV file's events (its
data lines, not its "#" header and footer lines), and binary data (refused, as the import does)."""

from __future__ import annotations

import gzip
import os
import random
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from colsec.db import Database

from .test_service import seed

Account = Any  # tests/conftest.py Account (not importable from a test package)

ZEEK_TSV = "telemetry/zeek/wrccdc2018_dns.head3000.tsv.log"


def _cli(tmp_path: Path, database: Database, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "COLSEC_DATA_DIR": str(tmp_path / "data"),
        "COLSEC_DATABASE_URL": database.url,
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "colsec", "match", *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_zeek_tsv_events_are_its_data_lines_in_the_api_and_the_cli(
    client: TestClient,
    tmp_path: Path,
    database: Database,
    make_account: Callable[..., Account],
    shared_data: Path,
) -> None:
    a, _, _ = seed(database, make_account)
    log = shared_data / ZEEK_TSV
    data = log.read_bytes()
    lines = data.decode().splitlines()
    expected = sum(1 for line in lines if line.strip() and not line.startswith("#"))
    assert expected < len(lines)  # the header and footer are no events
    r = client.post("/api/v1/match?retro=true&sightings=false", content=data, headers=a.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["events"] == expected and body["malformed"] == 0, body["events"]
    r = _cli(tmp_path, database, str(log), "--as", a.user.username, "--retro", "--no-sightings")
    assert r.returncode == 0, r.stderr
    events = re.search(r"│\s*events\s*│\s*([\d,]+)", r.stderr)
    assert events is not None, r.stderr
    assert int(events.group(1).replace(",", "")) == expected, r.stderr
    assert body["alerts_total"] > 0


def test_binary_input_is_refused_in_the_api_and_the_cli(
    client: TestClient, tmp_path: Path, database: Database, make_account: Callable[..., Account]
) -> None:
    a, _, _ = seed(database, make_account)
    junk = random.Random(3).randbytes(4096)
    for body in (junk, gzip.compress(junk)):
        r = client.post("/api/v1/match?sightings=false", content=body, headers=a.headers)
        assert 400 <= r.status_code < 500, r.text
        assert "input is binary data" in r.json()["detail"], r.text
    for name, body in (("junk.log", junk), ("junk.log.gz", gzip.compress(junk))):
        path = tmp_path / name
        path.write_bytes(body)
        r = _cli(tmp_path, database, str(path), "--as", a.user.username)
        assert r.returncode != 0, r.stderr
        assert "input is binary data" in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_a_json_array_on_stdin_is_read_whole_and_alerts_name_its_lines(
    tmp_path: Path, database: Database, make_account: Callable[..., Account]
) -> None:
    """Issue: ``colsec match -`` read an EVE array line by line: every line "not JSON", no alert."""
    import orjson

    a, _, ids = seed(database, make_account)
    records = [
        {"timestamp": "2024-03-01T10:00:00Z", "event_type": "dns", "src_ip": "192.0.2.10",
         "dns": {"type": "query", "rrname": name}}
        for name in ("a.example.com", "b.example.com", "ise.wrccdc.org")
    ]  # fmt: skip
    text = orjson.dumps(records, option=orjson.OPT_INDENT_2).decode()
    out = tmp_path / "alerts.jsonl"
    env = {**os.environ, "COLSEC_DATA_DIR": str(tmp_path / "data"), "COLSEC_DATABASE_URL": database.url}
    r = subprocess.run(
        [sys.executable, "-m", "colsec", "match", "-", "--as", a.user.username, "--no-sightings",
         "--alerts", str(out)],
        env={**env, "COLUMNS": "200"}, input=text, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert re.search(r"│\s*malformed lines\s*│\s*0\s*│", r.stderr), r.stderr
    (alert,) = [orjson.loads(line) for line in out.read_text().splitlines()]
    assert alert["indicator_id"] == ids["own"]
    third = [i + 1 for i, line in enumerate(text.splitlines()) if line == "  {"][2]
    assert alert["events"][0]["line"] == third
