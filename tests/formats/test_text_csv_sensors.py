"""Free text and CSV in; Suricata, Zeek, CSV and value lists out (Suricata checked by the real suricata)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from colsec.errors import InvalidInput
from colsec.formats.csv_iocs import parse_csv, read_csv_candidates
from colsec.formats.freetext import candidate_objects, extract_candidates, refang
from colsec.formats.suricata import render_suricata
from colsec.formats.zeek import neutralise_cell, render_csv, render_values, render_zeek
from colsec.stix.validate import validate_object

REPORT = """From: analyst@example.org
Subject: Incident 42 - phishing wave

The dropper called hxxp://evil[.]example[.]com/gate.php?id=7 and resolved
update-check(.)example.net to 198.51.100[.]23. Beacons also went to 2001:db8::bad:1 and
the range 203.0.113.0/24. Sample SHA256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855,
md5 D41D8CD98F00B204E9800998ECF8427E; it exploits cve-2021-44228. Contact: soc[@]example.org.
The payload file was invoice.exe (not a domain).
"""


def test_refang() -> None:
    assert refang("hxxps://a[.]b(.)c[dot]d") == "https://a.b.c.d"
    assert refang("x[@]example[.]org") == "x@example.org"


def test_extract_candidates_from_report() -> None:
    got = {(c.kind, c.value) for c in extract_candidates(REPORT)}
    assert ("url", "http://evil.example.com/gate.php?id=7") in got
    assert ("domain", "update-check.example.net") in got
    assert ("ipv4", "198.51.100.23") in got
    assert ("ipv6", "2001:db8::bad:1") in got
    assert ("cidr4", "203.0.113.0/24") in got
    assert ("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") in got
    assert ("md5", "d41d8cd98f00b204e9800998ecf8427e") in got
    assert ("cve", "CVE-2021-44228") in got
    assert ("email", "soc@example.org") in got
    assert ("email", "analyst@example.org") in got
    assert not any(v == "invoice.exe" for _, v in got)
    assert ("domain", "evil.example.com") not in got  # part of the URL, not repeated
    objs = list(candidate_objects(extract_candidates(REPORT)))
    for obj in objs:
        validate_object(obj)
    assert {o["type"] for o in objs} == {"indicator", "vulnerability"}


def test_csv_layouts() -> None:
    typed = "type,value,comment\nip-dst,198.51.100.7,c2\ndomain,Evil.Example.com,\nsha256,E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855,x\n"
    assert [(c.kind, c.value) for c in read_csv_candidates(typed)] == [
        ("ipv4", "198.51.100.7"),
        ("domain", "evil.example.com"),
        ("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ]
    zeekish = "indicator;indicator_type\n198.51.100.0/24;Intel::ADDR\nexample.net;Intel::DOMAIN\n"
    assert [(c.kind, c.value) for c in read_csv_candidates(zeekish)] == [
        ("cidr4", "198.51.100.0/24"),
        ("domain", "example.net"),
    ]
    columns = "ip,domain\n198.51.100.8,a.example.com\n,b.example.com\n"
    assert len(list(read_csv_candidates(columns))) == 3
    objs = list(parse_csv(typed.encode()))
    assert len(objs) == 3 and all(o["type"] == "indicator" for o in objs)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,age\nbob,3\n", "unknown CSV layout"),
        ("type,value\nfrobnicator,1\n", "unknown indicator type 'frobnicator'"),
        ("type,value\nip-dst,not-an-ip\n", "not a valid ip-dst"),
        ("\x00\x01\x02binary", "binary"),
    ],
)
def test_csv_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        list(read_csv_candidates(text))


def _indicators() -> list[dict[str, object]]:
    cands = [
        ("ipv4", "198.51.100.7"),
        ("cidr4", "203.0.113.0/24"),
        ("ipv6", "2001:db8::1"),
        ("domain", 'evil.example.com";drop'),
        ("domain", "bad.example.net"),
        ("url", "http://evil.example.com/a?b='c';d|e"),
        ("url", "https://secure.example.org/login"),
        ("md5", "d41d8cd98f00b204e9800998ecf8427e"),
        ("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("email", "=cmd|' /C calc'!A0@example.org"),
    ]
    return list(candidate_objects(cands, source="test"))


def test_suricata_rules_pass_suricata_T(tmp_path: Path) -> None:
    suricata = shutil.which("suricata")
    if suricata is None:
        pytest.skip("suricata not installed (.ci/install-suricata.sh)")
    files = render_suricata(_indicators())
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    rules = files["colsec.rules"].decode()
    assert "dns.query" in rules and "tls.sni" in rules and "http.host" in rules and "filemd5" in rules
    proc = subprocess.run(
        [suricata, "-T", "-S", str(tmp_path / "colsec.rules"), "-l", str(tmp_path),
         "--set", f"default-rule-path={tmp_path}", "-v"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 rules failed" in proc.stdout + proc.stderr
    n_rules = sum(1 for line in rules.splitlines() if line.startswith("alert"))
    assert f"{n_rules} rules successfully loaded" in proc.stdout + proc.stderr


def test_suricata_T_fails_on_a_broken_rule(tmp_path: Path) -> None:
    """Guard that the check above can fail."""
    suricata = shutil.which("suricata")
    if suricata is None:
        pytest.skip("suricata not installed")
    (tmp_path / "bad.rules").write_text('alert http any any -> any any (msg:"x"; nonsense_kw; sid:1;)\n')
    proc = subprocess.run(
        [suricata, "-T", "-S", str(tmp_path / "bad.rules"), "-l", str(tmp_path)],
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode != 0


def test_zeek_intel_file() -> None:
    text = render_zeek(_indicators(), source="colsec test").decode()
    lines = text.splitlines()
    assert lines[0] == "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url"
    rows = [line.split("\t") for line in lines[1:]]
    assert all(len(r) == 5 for r in rows)
    assert ["198.51.100.7", "Intel::ADDR"] == rows[0][:2]
    assert ["evil.example.com/a?b='c';d|e", "Intel::URL"] in [r[:2] for r in rows]
    assert ["203.0.113.0/24", "Intel::SUBNET"] in [r[:2] for r in rows]
    assert sum(1 for r in rows if r[1] == "Intel::FILE_HASH") == 3


def test_csv_export_neutralises_formulas() -> None:
    text = render_csv(_indicators()).decode()
    assert "'=cmd" in text
    assert (
        neutralise_cell("+1") == "'+1" and neutralise_cell("-x") == "'-x" and neutralise_cell("@a") == "'@a"
    )
    assert neutralise_cell("a=b") == "a=b"
    assert render_values(_indicators(), kinds=["ipv4"]).decode() == "198.51.100.7\n"


def test_ipv6_networks_are_networks_in_text_and_csv() -> None:
    """An IPv6 network was read from text as its first address (an equality that names one host),
    and a CSV row holding one refused the whole file as 'not a valid ip'."""
    got = {
        (c.kind, c.value) for c in extract_candidates("C2 range 2001:db8:bad::/48 and host 2001:db8::1/128.")
    }
    assert got == {("cidr6", "2001:db8:bad::/48"), ("ipv6", "2001:db8::1")}
    rows = "type,value\nip-dst,2001:db8:bad::/48\nip-src,198.51.100.0/24\n"
    assert [(c.kind, c.value) for c in read_csv_candidates(rows)] == [
        ("cidr6", "2001:db8:bad::/48"),
        ("cidr4", "198.51.100.0/24"),
    ]
    (obj,) = candidate_objects([("cidr6", "2001:db8:bad::/48")])
    validate_object(obj)
    assert obj["pattern"] == "[ipv6-addr:value ISSUBSET '2001:db8:bad::/48']"
