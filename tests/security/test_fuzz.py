"""Fuzzing of the input parsers (STIX, MISP, CSV, free text, CAP, STIX patterns): no crash, bounded memory.

Each target runs in its own process, one test item each, for ``COLSEC_FUZZ_SECONDS`` per target
(60 in CI, where ``CI`` is set; 5 otherwise): a parallel run (pytest-xdist) spreads the targets over
its workers instead of waiting on one fixture that fuzzes them all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .fuzz import TARGETS

REPO = Path(__file__).resolve().parents[2]
SECONDS = float(os.environ.get("COLSEC_FUZZ_SECONDS", "60" if os.environ.get("CI") else "5"))
MAX_RSS_GROWTH_MB = 256

# Crashes found by fuzzing, not yet fixed: target -> what. Whether a short budget reaches them
# depends on the machine, so these marks are not strict; the regression tests below are.
KNOWN: dict[str, str] = {}
# Crashes found by fuzzing and fixed (each was an internal_error of the import job):
# OverflowError on an event timestamp beyond time_t; TypeError on an attribute type that is a list.
MISP_HUGE_TIMESTAMP = (
    b'{"Event": {"uuid": "5f1b1c1e-0000-4000-8000-000000000001", "info": "x", "date": "2026-11-01",'
    b' "timestamp": "99999999999999999999", "Attribute": [{"uuid": "5f1b1c1e-0000-4000-8000-000000000002",'
    b' "type": "domain", "category": "Network activity", "value": "a.example.net", "to_ids": true,'
    b' "timestamp": "1700000000"}]}}'
)
MISP_TYPE_NOT_A_STRING = MISP_HUGE_TIMESTAMP.replace(b'"99999999999999999999"', b'"1700000000"').replace(
    b'"type": "domain"', b'"type": []'
)
# Regression inputs of crashes found earlier (fixed): each is invalid input, refused as such.
CAP_UNKNOWN_ENCODING = (
    b'<?xml version="1.0" encoding="UT8"?>'
    b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier></alert>'
)
CSV_BARE_CR = b"type,value,\rcomment\nip,198.51.100.1,x\n"
MISP_TAG_NOT_A_STRING = (
    b'{"Event": {"uuid": "5f1b1c1e-0000-4000-8000-000000000001", "info": "x", "distribution": "1",'
    b' "Tag": [{"name": {"a": null}}], "Attribute": []}}'
)


def fuzz(target: str) -> dict[str, Any]:
    """Fuzz one target for SECONDS in a fresh process (its RSS growth is that target's alone)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.security.fuzz", str(SECONDS), target],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=SECONDS * 3 + 120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (line,) = proc.stdout.splitlines()
    result: dict[str, Any] = json.loads(line)
    assert result["target"] == target
    return result


def test_every_target_is_fuzzed() -> None:
    assert sorted(c.target for c in FuzzTarget.__subclasses__()) == sorted(TARGETS)


class FuzzTarget:
    """One parser's campaign. Each target is its own test class, so ``--dist loadscope`` (make test)
    hands the six campaigns to different workers instead of running them one after another."""

    target = ""

    @pytest.mark.slow
    def test_parser_never_crashes(self, request: pytest.FixtureRequest) -> None:
        if self.target in KNOWN:
            request.applymarker(pytest.mark.xfail(strict=False, reason=KNOWN[self.target]))
        r = fuzz(self.target)
        print(
            f"{self.target}: {r['executions']} executions in {r['seconds']} s, RSS +{r['rss_growth_mb']} MB"
        )
        assert r["executions"] > 0
        assert r["rss_growth_mb"] < MAX_RSS_GROWTH_MB, r
        assert not r["crashes"], json.dumps(r["crashes"], indent=1)


class TestFuzzCap(FuzzTarget):
    target = "cap"


class TestFuzzCsv(FuzzTarget):
    target = "csv"


class TestFuzzMisp(FuzzTarget):
    target = "misp"


class TestFuzzPattern(FuzzTarget):
    target = "pattern"


class TestFuzzStix(FuzzTarget):
    target = "stix"


class TestFuzzText(FuzzTarget):
    target = "text"


def test_csv_bare_carriage_return_is_invalid_input() -> None:
    """A csv.Error escaped the CSV IOC reader on a bare carriage return."""
    from colsec.errors import ColsecError

    try:
        TARGETS["csv"].run(CSV_BARE_CR)
    except ColsecError:
        pass


def test_misp_tag_that_is_not_a_string_is_invalid_input() -> None:
    """An AttributeError escaped misp_import.sharing_for when a tag name was not a string."""
    from colsec.errors import ColsecError

    try:
        TARGETS["misp"].run(MISP_TAG_NOT_A_STRING)
    except ColsecError:
        pass


def test_cap_unknown_xml_encoding_is_invalid_input() -> None:
    """A LookupError escaped parse_cap on an unknown XML encoding declaration (HTTP 500)."""
    from colsec.errors import ColsecError

    try:
        TARGETS["cap"].run(CAP_UNKNOWN_ENCODING)
    except ColsecError:
        pass


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(MISP_HUGE_TIMESTAMP, id="timestamp"),
        pytest.param(MISP_TYPE_NOT_A_STRING, id="type"),
    ],
)  # fmt: skip
def test_misp_out_of_range_values_are_invalid_input(data: bytes) -> None:
    from colsec.errors import ColsecError

    try:
        TARGETS["misp"].run(data)
    except ColsecError:
        pass
