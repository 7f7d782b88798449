"""``colsec group``: create from JSON, refusals with exit codes, the register and the sweep.

Run in-process through Typer's runner (the real command tree, settings from the environment);
a subprocess per command costs seconds each on a shared machine.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from colsec.cli import app
from colsec.db import Database

from .conftest import Committee


def test_group_commands(tmp_path: Path, database: Database, committee: Committee) -> None:
    if not database.sqlite:
        return  # one backend is enough for the command surface
    env = {"COLSEC_DATA_DIR": str(tmp_path / "data"), "COLSEC_DATABASE_URL": database.url, "COLUMNS": "200"}
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        r = runner.invoke(app, ["group", *args], env=env)
        return r.exit_code, r.output

    good = tmp_path / "eg.json"
    good.write_text(json.dumps({"code": "EG5", "name_en": "Expert group 5", "name_ru": "Экспертная группа 5",
                                "members": [{"organisation": "NM"}, {"organisation": "EV"}]}))  # fmt: skip
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"code": "EG6", "name_en": "x", "name_ru": "x", "members": [{"organisation": "NOPE"}]})
    )
    code, out = run("create", str(good))
    assert code == 0 and "EG5 created" in out, out
    code, out = run("create", str(bad))
    assert code == 2 and "NOPE" in out, out
    code, out = run("create", str(tmp_path / "missing.json"))
    assert code == 2 and "missing.json" in out, out
    code, out = run("create", str(good), "--as", committee.reps["NM"].user.username)
    assert code == 3 and "may not create working groups" in out, out
    code, out = run("list", "--as", committee.reps["NM"].user.username)
    assert code == 0 and "WG3" in out and "EG5" in out
    code, out = run("list", "--as", committee.outsider.user.username)
    assert code == 0 and "WG3" not in out
    code, out = run("decisions", "--csv", str(tmp_path / "out.csv"))
    assert code == 0
    with (tmp_path / "out.csv").open(encoding="utf-8") as fh:
        assert list(csv.DictReader(fh)) == []
    code, out = run("sweep")
    assert code == 0 and "0 procedure(s) closed" in out, out
