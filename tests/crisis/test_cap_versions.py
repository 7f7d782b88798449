"""CAP as agencies send it: 1.0/1.1 converted to 1.2, empty polygons, and refusals on the CLI.

Samples: google/cap-library test data under shared/data/cap (Apache-2.0).  The NWS
flash-flood watch (CAP 1.1) gets the ``<polygon></polygon>`` NWS feeds carry when an
alert has no polygon (as in cap11/invalid/noaa_errors.cap.xml, line 67).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import select

from colsec.accounts.roles import Role
from colsec.crisis.alerts import import_alert
from colsec.db import Database
from colsec.errors import InvalidInput
from colsec.formats.cap import CAP12_NS, parse_cap, validate_cap
from colsec.store.models import AuditEntry

AREA = b"<areaDesc>Central and Southern Lewis and Clark; Lewis and Clark</areaDesc>"


def _nws_with_empty_polygon(shared_data: Path) -> bytes:
    raw = (shared_data / "cap/cap11/nws_flash_flood_watch.cap.xml").read_bytes()
    assert AREA in raw
    return raw.replace(AREA, AREA + b"\n<polygon></polygon>")


def test_cap11_with_empty_polygon_is_accepted_as_cap12(shared_data: Path) -> None:
    """Issue 17: a valid CAP 1.1 alert with an empty <polygon> was refused ('at least four points')."""
    data = _nws_with_empty_polygon(shared_data)
    msg = parse_cap(data)
    assert msg.version == "1.1" and msg.infos[0].areas[0].polygons == []
    root = validate_cap(data)
    assert etree.QName(root).namespace == CAP12_NS and root.nsmap == {None: CAP12_NS}


def test_cap10_is_converted_to_cap12(shared_data: Path) -> None:
    """CAP 1.0 (no XSD was published) is read through its CAP 1.2 form; ``password`` is dropped."""
    raw = (shared_data / "cap/cap11/amber_alert_KAR0-0306112239-SW.cap.xml").read_bytes()
    raw = raw.replace(b"urn:oasis:names:tc:emergency:cap:1.1", b"http://www.incident.com/cap/1.0")
    raw = raw.replace(b"<status>", b"<password>secret</password>\n<status>", 1)
    msg = parse_cap(raw)
    assert msg.version == "1.0" and msg.infos[0].event == "Child Abduction"
    assert validate_cap(raw).find(f"{{{CAP12_NS}}}password") is None


def test_import_stores_cap12_and_records_the_version(
    database: Database, make_account: Callable[..., Any], shared_data: Path
) -> None:
    acc = make_account(Role.ANALYST)
    with database.unit_of_work() as s:
        row = import_alert(s, actor=acc.actor, data=_nws_with_empty_polygon(shared_data))
        assert CAP12_NS in row.xml and "<polygon" not in row.xml
        audit = s.execute(select(AuditEntry).where(AuditEntry.action == "crisis.cap.import")).scalar_one()
        assert json.loads(audit.details)["cap_version"] == "1.1"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("cap11/invalid/noaa_errors.cap.xml", "fails the CAP 1.1 schema"),
        ("cap12/invalid/invalid.cap.xml", "fails the CAP 1.2 schema"),
        ("cap12/invalid/canada_errors.cap.xml", "needs a non-empty <references>"),
        ("cap12/invalid/xxe_attack.cap.xml", "DTDForbidden"),
    ],
)
def test_cli_refusal_is_one_line(
    tmp_path: Path,
    database: Database,
    make_account: Callable[..., Any],
    shared_data: Path,
    path: str,
    message: str,
) -> None:
    """Issue 17: refusals carrying a list of errors crashed the CLI with an AttributeError traceback."""
    acc = make_account(Role.ANALYST)
    env = {**os.environ, "COLSEC_DATA_DIR": str(tmp_path / "data"), "COLSEC_DATABASE_URL": database.url}
    env.pop("COLUMNS", None)  # a pipe: rich's default width must not wrap the message
    r = subprocess.run(
        [sys.executable, "-m", "colsec", "crisis", "cap-import", str(shared_data / "cap" / path)]
        + ["--as", acc.user.username],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], r.stderr


def test_open_polygon_ring_is_closed_not_refused(shared_data: Path) -> None:
    """Issue 17 (real-world quirks the XSD tolerates): a ring whose last point is not its first."""
    ring = "45.0,-111.0 45.5,-111.0 45.5,-110.5 45.0,-110.5"
    data = _nws_with_empty_polygon(shared_data).replace(
        b"<polygon></polygon>", f"<polygon>{ring}</polygon>".encode()
    )
    msg = parse_cap(data)
    assert msg.infos[0].areas[0].polygons == [f"{ring} 45.0,-111.0"]
    validate_cap(data)
    too_few = data.replace(ring.encode(), b"45.0,-111.0 45.5,-111.0")
    with pytest.raises(InvalidInput, match="at least four points"):
        validate_cap(too_few)
