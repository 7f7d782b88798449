"""Findings 15c and 15d: sensor exports refuse over-broad networks; CSV cells never start a formula."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from colsec.formats.csv_iocs import neutralise_cell
from colsec.formats.registry import EXPORTERS, ExportFormat
from colsec.formats.sensor_values import sensor_values
from colsec.formats.suricata import render_suricata
from colsec.formats.zeek import render_csv, render_values, render_zeek

BROAD = ["0.0.0.0/0", "0.0.0.0/1", "10.0.0.0/7", "::/0", "2001:db8::/31"]
NARROW = ["198.51.100.0/24", "10.0.0.0/8", "2001:db8::/32", "203.0.113.5"]


def _indicator(n: int, pattern: str, name: str = "net") -> dict[str, object]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "pattern_type": "stix",
        "pattern": pattern,
        "valid_from": "2026-01-01T00:00:00Z",
        "name": name,
    }


def _networks() -> list[dict[str, object]]:
    out = []
    for n, net in enumerate(BROAD + NARROW):
        kind = "ipv6-addr" if ":" in net else "ipv4-addr"
        # a network is asked for with ISSUBSET (equality compares the text: no address equals a
        # network, see the test at the end); a single address either way
        op = "ISSUBSET" if n % 2 or "/" in net else "="
        out.append(_indicator(n, f"[{kind}:value {op} '{net}']"))
    return out


def test_finding_15c_over_broad_networks_skipped_in_sensor_exports() -> None:
    skipped: list[object] = []
    kept = {v.value for v in sensor_values(_networks(), skipped=skipped)}  # type: ignore[arg-type]
    assert kept == {"198.51.100.0/24", "10.0.0.0/8", "2001:db8::/32", "203.0.113.5"}
    assert len(skipped) == len(BROAD)

    rules = render_suricata(_networks())["colsec.rules"].decode()
    active = [line for line in rules.splitlines() if line and not line.startswith("#")]
    for net in BROAD:
        assert not any(net in line for line in active), net
    assert f"# skipped {len(BROAD)} over-broad network(s), shorter than /8 (IPv4) or /32 (IPv6):" in rules
    assert "#   0.0.0.0/0 (indicator--" in rules

    zeek = render_zeek(_networks()).decode().splitlines()
    data = [line.split("\t")[0] for line in zeek if not line.startswith("#")]
    assert sorted(data) == sorted(NARROW)
    assert any(line.startswith(f"# skipped {len(BROAD)} over-broad") for line in zeek)

    for text in (render_csv(_networks()).decode(), render_values(_networks()).decode()):
        for net in BROAD:
            assert not re.search(rf"(^|,){re.escape(net)}(,|$)", text, re.M), net


def test_finding_15c_minimum_prefix_is_configurable() -> None:
    loose = {v.value for v in sensor_values(_networks(), min_prefix_v4=0, min_prefix_v6=0)}
    assert "0.0.0.0/0" in loose and "::/0" in loose
    strict = render_values(_networks(), min_prefix_v4=24, min_prefix_v6=48).decode().split()
    assert strict == ["198.51.100.0/24", "203.0.113.5"]


HOSTILE_NAMES = [
    'benign\r=HYPERLINK("http://example.com","x")',
    "benign\n  +cmd|' /C calc'!A0",
    "benign\r\n@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    " -2+3",
    "\u00a0=1",
    "ok\u2028=1",
    "\uff1dSUM(1)",
]


def _lines_start_formula(cell: str) -> bool:
    for line in re.split(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+", cell):
        visible = line.lstrip("".join(chr(c) for c in range(0x21)) + "\x7f\xa0\u3000\ufeff")
        if line.startswith("\t") or visible[:1] in ("=", "+", "-", "@", "\uff1d"):
            return True
    return False


def test_finding_15d_formula_guard_covers_line_breaks_and_leading_space() -> None:
    for name in HOSTILE_NAMES:
        assert _lines_start_formula(name), name  # the hostile inputs really are formulas
        guarded = neutralise_cell(name)
        assert guarded.startswith("'") or "'" in guarded, (name, guarded)
        for line in re.split(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+", guarded):
            assert line.startswith("'") or not _lines_start_formula(line), (name, guarded)
    assert neutralise_cell("a=b") == "a=b" and neutralise_cell("two\nlines") == "two\nlines"


def test_finding_15d_every_csv_export_is_guarded() -> None:
    objects = [
        _indicator(n, f"[domain-name:value = 'host{n}.example.com']", name)
        for n, name in enumerate(HOSTILE_NAMES)
    ]
    text = EXPORTERS[ExportFormat.CSV].render(objects)["indicators.csv"].decode()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert ',"benign\r' in text  # a cell holding a CR is quoted, so no reader splits the row there
    assert len(rows) == len(HOSTILE_NAMES) + 1
    for row in rows[1:]:
        for cell in row:
            for line in re.split(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+", cell):
                assert not _lines_start_formula(line) or line.startswith("'"), (cell, line)


def test_finding_15c_rules_with_skipped_note_pass_suricata_T(tmp_path: Path) -> None:
    suricata = shutil.which("suricata")
    if suricata is None:
        pytest.skip("suricata not installed (.ci/install-suricata.sh)")
    rules = render_suricata(_networks())["colsec.rules"]
    (tmp_path / "colsec.rules").write_bytes(rules)
    proc = subprocess.run(
        [suricata, "-T", "-S", str(tmp_path / "colsec.rules"), "-l", str(tmp_path),
         "--set", f"default-rule-path={tmp_path}", "-v"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 rules failed" in proc.stdout + proc.stderr


def test_finding_15c_export_selection_applies_the_nodes_floor(db, make_account) -> None:  # type: ignore[no-untyped-def]
    """The floor set for the node reaches every network-carrying export, not only the renderers' default."""
    from colsec.formats.service import ExportFilter, export_selection
    from colsec.stix.ids import now_timestamp
    from colsec.store.service import import_objects

    acc = make_account()
    now = now_timestamp()
    objs = [{**o, "created": now, "modified": now, "valid_from": now} for o in _networks()]
    import_objects(db, actor=acc.actor, objects=objs)
    default = export_selection(db, actor=acc.actor, fmt=ExportFormat.VALUES, flt=ExportFilter())
    assert "10.0.0.0/8" in default["values.txt"].decode().split()
    for fmt in (ExportFormat.VALUES, ExportFormat.CSV, ExportFormat.ZEEK, ExportFormat.SURICATA):
        files = export_selection(db, actor=acc.actor, fmt=fmt, flt=ExportFilter(min_prefix_v4=24))
        lines = [ln for ln in b"".join(files.values()).decode().splitlines() if not ln.startswith("#")]
        assert any("198.51.100.0" in ln for ln in lines), fmt
        assert not any("10.0.0.0" in ln for ln in lines), fmt


def test_sensors_get_what_matching_matches_for_addresses_and_networks() -> None:
    """A sensor alerts on an address exactly where colsec's matcher does (and stix2-matcher):
    equality with a network ('= 10.22.8.0/24', even '/32') compares the text, so no address
    equals it; ISSUBSET asks for the range, and a plain address is itself."""
    import ipaddress

    from colsec.match.engine import IndicatorRecord, MatchEngine
    from colsec.match.events import Event

    patterns = [
        "[ipv4-addr:value = '10.22.8.0/24']",
        "[ipv4-addr:value = '10.22.8.5/32']",
        "[ipv4-addr:value ISSUBSET '10.22.8.0/24']",
        "[ipv4-addr:value = '10.22.8.5']",
        "[ipv6-addr:value = '2001:db8::/64']",
        "[ipv6-addr:value ISSUBSET '2001:db8::/64']",
    ]
    observed = {"ipv4-addr": "10.22.8.5", "ipv6-addr": "2001:db8::5"}
    for n, pattern in enumerate(patterns):
        oid = f"indicator--00000000-0000-4000-8000-{n:012d}"
        obj = {"type": "indicator", "pattern_type": "stix", "id": oid, "pattern": pattern}
        covered = [
            v
            for v in sensor_values([obj])
            if ipaddress.ip_address(observed[pattern[1:10]]) in ipaddress.ip_network(v.value)
        ]
        engine = MatchEngine()
        engine.load([IndicatorRecord(id=oid, pattern=pattern)])
        event = Event(
            1_700_000_000_000_000, {"0": {"type": pattern[1:10], "value": observed[pattern[1:10]]}}, "t", 1
        )
        assert bool(covered) == bool(engine.match([event])), pattern
