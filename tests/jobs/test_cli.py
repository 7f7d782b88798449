"""``colsec worker --once`` and ``colsec jobs list|show`` in real subprocesses, from the job table."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from colsec.db import Database
from colsec.formats.jobs import enqueue_import
from colsec.formats.registry import ImportFormat
from colsec.stix.tlp import TLP

from .workers import colsec, indicator_bundle


@pytest.mark.slow
def test_worker_once_then_status_and_progress(
    database: Database, make_account: Callable[..., Any], tmp_path: Path
) -> None:
    url = database.url
    analyst = make_account()
    with database.unit_of_work() as s:
        good = enqueue_import(
            s, actor=analyst.actor, data=indicator_bundle(50), fmt=None, default_tlp=TLP.GREEN
        ).id
        bad = enqueue_import(s, actor=analyst.actor, data=b"name,age\nbob,3\n", fmt=ImportFormat.CSV,
                             default_tlp=TLP.GREEN).id  # fmt: skip
    ran = colsec(url, tmp_path, "worker", "--once", "--id", "cli")
    assert ran.returncode == 0 and "job(s) run" in ran.stdout, (
        ran.stdout + ran.stderr
    )  # ours and the crisis tick
    shown = json.loads(colsec(url, tmp_path, "jobs", "show", good).stdout)
    assert (shown["status"], shown["processed"], shown["result"]["inserted"]) == ("succeeded", 50, 50)
    failed = json.loads(colsec(url, tmp_path, "jobs", "show", bad).stdout)
    assert failed["status"] == "failed" and "unknown CSV layout" in failed["error"]["reason"]
    listed = colsec(url, tmp_path, "jobs", "list", "--status", "failed")
    assert listed.returncode == 0 and bad[:8] in listed.stdout and good[:8] not in listed.stdout
    missing = colsec(url, tmp_path, "jobs", "show", "no-such-job")
    assert missing.returncode == 4 and "not found" in missing.stderr
