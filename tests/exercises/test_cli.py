"""``colsec exercise``: import a YAML scenario with an MSEL, refuse a bad row, run and score it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from colsec.accounts.roles import Role
from colsec.db import Database
from colsec.exercises import msel
from colsec.exercises.scenario import dump_yaml, load_yaml, parse_scenario, scenario_document

from .conftest import scenario_doc


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "colsec", "exercise", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_exercise_commands(tmp_path: Path, database: Database, make_account: Callable[..., Any]) -> None:
    ctl = make_account(Role.COORDINATOR, org="ACC", kind="crisis_centre")
    for m in ("NM", "EV", "SD"):
        make_account(Role.REPRESENTATIVE, org=m)
    env = {**os.environ, "COLSEC_DATA_DIR": str(tmp_path / "data"), "COLSEC_DATABASE_URL": database.url}
    sc = parse_scenario(scenario_doc())
    (tmp_path / "s.yaml").write_text(dump_yaml(sc))
    bad = msel.export_csv(sc).decode().splitlines()
    bad[2] = bad[2].replace(",message,", ",pigeon,")
    (tmp_path / "bad.csv").write_text("\n".join(bad) + "\n")
    r = _run(
        ["import", str(tmp_path / "s.yaml"), "--as", ctl.user.username, "--msel", str(tmp_path / "bad.csv")],
        env,
    )
    assert r.returncode != 0 and "row 3, column 'channel'" in r.stderr, r.stderr
    (tmp_path / "m.xlsx").write_bytes(msel.export_xlsx(sc))
    r = _run(
        ["import", str(tmp_path / "s.yaml"), "--as", ctl.user.username, "--msel", str(tmp_path / "m.xlsx")],
        env,
    )
    assert r.returncode == 0 and "5 injects" in r.stdout, r.stderr
    r = _run(["export", "1", str(tmp_path / "out.yaml")], env)
    assert r.returncode == 0
    assert scenario_document(load_yaml((tmp_path / "out.yaml").read_bytes())) == scenario_document(sc)
    assert _run(["run", "1", "--as", ctl.user.username, "--name", "CLI drill"], env).returncode == 0
    assert _run(["state", "1", "running", "--as", ctl.user.username], env).returncode == 0
    r = _run(["deliver"], env)
    assert r.returncode == 0 and "1 inject(s) delivered" in r.stdout, r.stderr
    r = _run(["scores", "1"], env)
    assert r.returncode == 0 and '"run_id": 1' in r.stdout
    r = _run(["state", "1", "reviewed", "--as", ctl.user.username], env)
    assert r.returncode != 0 and "cannot move" in r.stderr
