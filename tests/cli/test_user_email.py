"""Issue 17: the node operator sets users' e-mail addresses from the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from colsec.accounts.models import User
from colsec.db import Database


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "colsec", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_user_add_email_and_set_email(tmp_path: Path, database: Database) -> None:
    env = {**os.environ, "COLSEC_DATA_DIR": str(tmp_path / "data"), "COLSEC_DATABASE_URL": database.url}
    assert _run(["org", "add", "CERT-X", "--name", "CERT X"], env).returncode == 0
    r = _run(
        ["user", "add", "ana", "--org", "CERT-X", "--password", "long enough pw", "--email", "ana@"], env
    )
    assert r.returncode == 2
    assert r.stderr.strip() == "error: not an e-mail address: 'ana@' (expected name@example.org)"
    r = _run(
        [
            "user",
            "add",
            "ana",
            "--org",
            "CERT-X",
            "--password",
            "long enough pw",
            "--email",
            "Ana@CERT-X.example",
        ],
        env,
    )
    assert r.returncode == 0, r.stderr
    r = _run(["user", "set-email", "ANA", "soc@cert-x.example"], env)
    assert r.returncode == 0 and r.stdout.strip() == "user ana: e-mail soc@cert-x.example"
    with database.unit_of_work(write=False) as s:
        assert (
            s.execute(select(User.email).where(User.username == "ana")).scalar_one() == "soc@cert-x.example"
        )
    r = _run(["user", "set-email", "nobody", "x@cert-x.example"], env)
    assert r.returncode == 4 and r.stderr.strip() == "error: user 'nobody' not found"
    r = _run(["user", "set-email", "ana", ""], env)
    assert r.returncode == 0 and r.stdout.strip() == "user ana: e-mail none"
