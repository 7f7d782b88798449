"""Every reader on its real samples; malformed lines are counted, never fatal."""

from __future__ import annotations

import collections
import io
from pathlib import Path

import orjson
import pytest

from colsec.match.engine import IndicatorRecord, MatchEngine
from colsec.match.events import Event
from colsec.match.readers import FieldMapping, ReaderFormat, ReaderStats, detect_format, read_file, read_lines


@pytest.fixture
def telemetry(shared_data: Path) -> Path:
    return shared_data / "telemetry"


def _types(events: list[Event]) -> set[str]:
    return {o["type"] for e in events for o in e.objects.values()}


# (file, expected format, minimum events, object types that must appear)
SAMPLES = [
    ("suricata/suricata-verify/eve-dns.eve.ndjson", ReaderFormat.EVE, 9, {"domain-name", "network-traffic"}),
    ("suricata/suricata-verify/alert-testmyids.eve.ndjson", ReaderFormat.EVE, 1, {"url", "domain-name"}),
    ("suricata/suricata-verify/tls-fingerprint-alert.eve.ndjson", ReaderFormat.EVE, 2, {"x509-certificate"}),
    ("suricata/suricata-verify/output-eve-fileinfo.eve.ndjson", ReaderFormat.EVE, 1, {"file"}),
    ("suricata/eve_alerts_first-org-conf-2015.json", None, 136, {"network-traffic"}),
    ("zeek/wrccdc2018_dns.head10000.ndjson", ReaderFormat.ZEEK_JSON, 10_000, {"domain-name", "ipv4-addr"}),
    ("zeek/wrccdc2018_dns.head3000.tsv.log", ReaderFormat.ZEEK_TSV, 2_992, {"domain-name"}),
    ("zeek/wrccdc2018_ssl.head8000.ndjson", ReaderFormat.ZEEK_JSON, 8_000, {"x509-certificate"}),
    ("zeek/wrccdc2018_x509.tsv.log", ReaderFormat.ZEEK_TSV, 348, {"x509-certificate", "domain-name"}),
    ("zeek/wrccdc2018_smtp.tsv.log", ReaderFormat.ZEEK_TSV, 1_188, {"email-message"}),
    ("zeek/wrccdc2018_smtp.ndjson", ReaderFormat.ZEEK_JSON, 1_188, {"email-message"}),
    ("zeek/bro_json_wrapped.metron.ndjson", ReaderFormat.ZEEK_JSON, 31, {"url", "domain-name"}),
    (
        "windows/otrf_cmd_mshta_javascript_getobject_sct.sysmon_security.ndjson",
        ReaderFormat.WINDOWS,
        1151,
        {"process", "file", "windows-registry-key"},
    ),
    ("windows/otrf_empire_launcher_vbs.sysmon_security_powershell.ndjson.gz", None, 2067, {"process"}),
    ("firewall/cisco_asa.metron.log", ReaderFormat.SYSLOG, 128, {"ipv4-addr"}),
    ("proxy/squid_access.metron.log", ReaderFormat.SYSLOG, 5, {"url", "domain-name"}),
    ("proxy/bluecoat_proxy.metron.log", ReaderFormat.SYSLOG, 3, {"url", "domain-name"}),
    ("firewall/paloalto_threat_traffic.metron.log", ReaderFormat.SYSLOG, 100, {"ipv4-addr", "domain-name"}),
    ("ids/snort_alert_csv.metron.log", ReaderFormat.SNORT_CSV, 3, {"network-traffic", "mac-addr"}),
    ("zeek/wrccdc2018_pe.ndjson", ReaderFormat.ZEEK_JSON, 21, {"file"}),
    ("zeek/wrccdc2018_software.ndjson", ReaderFormat.ZEEK_JSON, 376, {"software", "ipv4-addr"}),
    ("zeek/wrccdc2018_ntlm.ndjson", ReaderFormat.ZEEK_JSON, 422, {"user-account", "domain-name"}),
    ("zeek/wrccdc2018_notice.tsv.log", ReaderFormat.ZEEK_TSV, 207, {"network-traffic"}),
    ("zeek/wrccdc2018_ssh.ndjson", ReaderFormat.ZEEK_JSON, 22, {"network-traffic"}),
    ("zeek/wrccdc2018_dpd.ndjson", ReaderFormat.ZEEK_JSON, 77, {"network-traffic"}),
    ("zeek/wrccdc2018_known_hosts.ndjson", ReaderFormat.ZEEK_JSON, 253, {"ipv4-addr"}),
    (
        "windows/otrf_cmd_bitsadmin_download_psh_script.sysmon_security.ndjson",
        ReaderFormat.WINDOWS,
        424,
        {"process", "file"},
    ),
]


@pytest.mark.parametrize(("name", "fmt", "minimum", "types"), SAMPLES)
def test_reader_on_real_sample(
    telemetry: Path, name: str, fmt: ReaderFormat | None, minimum: int, types: set[str]
) -> None:
    path = telemetry / name
    if fmt is not None:
        with path.open() as f:
            head = [next(f, "") for _ in range(5)]
        assert detect_format(head) is fmt
    stats = ReaderStats()
    events = list(read_file(path, stats=stats))
    assert stats.malformed == 0, stats.examples
    assert len(events) >= minimum
    assert types <= _types(events)
    assert all(e.ts > 0 for e in events)


def test_known_values_from_samples(telemetry: Path) -> None:
    events = list(read_file(telemetry / "suricata/suricata-verify/tls-fingerprint-alert.eve.ndjson"))
    certs = [o for e in events for o in e.objects.values() if o["type"] == "x509-certificate"]
    assert certs[0]["hashes"] == {"SHA-1": "9086a43bf5cf1b2e4ef79796f9debab96635863f"}
    events = list(read_file(telemetry / "suricata/suricata-verify/alert-testmyids.eve.ndjson"))
    urls = [o["value"] for o in events[0].objects.values() if o["type"] == "url"]
    assert urls == ["http://www.testmyids.com/"]
    events = list(
        read_file(telemetry / "windows/otrf_cmd_mshta_javascript_getobject_sct.sysmon_security.ndjson")
    )
    sha256 = {
        o["hashes"].get("SHA-256")
        for e in events
        for o in e.objects.values()
        if o["type"] == "file" and "hashes" in o
    }
    assert "229ebba62347b77ea2ffad93308e7052bdae39a24ea828d6ef93fe694ca62197" in sha256


def test_snort_zeek_pe_software_ntlm_values_reach_indicators(telemetry: Path) -> None:
    """Objects of the Snort, Zeek pe/software/ntlm readers are matched like any other."""
    pe = [orjson.loads(x) for x in (telemetry / "zeek/wrccdc2018_pe.ndjson").read_bytes().splitlines()]
    ntlm = [orjson.loads(x) for x in (telemetry / "zeek/wrccdc2018_ntlm.ndjson").read_bytes().splitlines()]
    software = [
        orjson.loads(x) for x in (telemetry / "zeek/wrccdc2018_software.ndjson").read_bytes().splitlines()
    ]
    expected = {
        "indicator--mac": 3,  # every Snort line carries this destination MAC
        "indicator--snort-flow": 2,  # two of the three come from 96.44.142.5:80
        "indicator--upx-like": sum(".pdata" in r.get("section_names", []) for r in pe),
        "indicator--amd64": sum(r.get("machine") == "AMD64" for r in pe),
        "indicator--old-build": sum(r.get("compile_ts", "9") < "2010" for r in pe),
        "indicator--admin": sum(r.get("username") == "Administrator" for r in ntlm),
        "indicator--msie": sum(r.get("name") == "MSIE" for r in software),
    }
    assert all(expected.values()), expected
    engine = MatchEngine()
    pebin = "file:extensions.'windows-pebinary-ext'"
    engine.load(
        [
            IndicatorRecord("indicator--mac", "[mac-addr:value = '08:00:27:7f:93:2d']"),
            IndicatorRecord(
                "indicator--snort-flow",
                "[network-traffic:src_ref.value = '96.44.142.5' AND network-traffic:src_port = 80]",
            ),
            IndicatorRecord("indicator--upx-like", f"[{pebin}.sections[*].name = '.pdata']"),
            IndicatorRecord("indicator--amd64", f"[{pebin}.machine_hex = '8664']"),
            IndicatorRecord("indicator--old-build", f"[{pebin}.time_date_stamp < t'2010-01-01T00:00:00Z']"),
            IndicatorRecord("indicator--admin", "[user-account:user_id = 'Administrator']"),
            IndicatorRecord("indicator--msie", "[software:name = 'MSIE']"),
        ]
    )
    alerts = []
    for name in (
        "ids/snort_alert_csv.metron.log",
        "zeek/wrccdc2018_pe.ndjson",
        "zeek/wrccdc2018_ntlm.ndjson",
    ):
        alerts += engine.match(list(read_file(telemetry / name)))
    alerts += engine.match(list(read_file(telemetry / "zeek/wrccdc2018_software.ndjson")))
    assert collections.Counter(a.indicator_id for a in alerts) == expected


@pytest.mark.parametrize(
    "name",
    [
        "wrccdc2018_dns.head10000.ndjson",
        "wrccdc2018_ssl.head8000.ndjson",
        "wrccdc2018_x509.ndjson",
        "wrccdc2018_smtp.ndjson",
        "wrccdc2018_notice.ndjson",
        "wrccdc2018_software.ndjson",
        "wrccdc2018_ntlm.ndjson",
        "wrccdc2018_pe.ndjson",
        "wrccdc2018_known_hosts.ndjson",
        "bro_json_wrapped.metron.ndjson",
    ],
)
def test_zeek_json_without_path_reads_as_with_it(telemetry: Path, name: str) -> None:
    """Zeek's own JSON log files carry no ``_path``: the log type is told from its fields."""
    records = [orjson.loads(x) for x in (telemetry / "zeek" / name).read_bytes().splitlines()]
    if name.startswith("bro_json_wrapped"):  # {"dns": {...}}: the wrapper names the log
        records = [{**inner, "_path": path} for rec in records for path, inner in rec.items()]
    with_path = list(read_lines([orjson.dumps(r).decode() for r in records], fmt=ReaderFormat.ZEEK_JSON))
    bare = [orjson.dumps({k: v for k, v in r.items() if k != "_path"}).decode() for r in records]
    without = list(read_lines(bare, fmt=ReaderFormat.ZEEK_JSON))
    assert len(with_path) == len(without) == len(records)
    assert [e.objects for e in without] == [e.objects for e in with_path]


def test_snort3_alert_csv_lines() -> None:
    lines = [
        "07/19-13:11:17.460123, 1, TCP, raw, 60, C2S, 10.1.1.1:51234, 192.0.2.80:80, 1:1000001:0, allow\n",
        "07/19-13:11:18.000001, 2, UDP, raw, 80, C2S, [2001:db8::1]:5353, [2001:db8::2]:53, 1:2:3, alert\n",
    ]
    assert detect_format(lines) is ReaderFormat.SNORT_CSV
    stats = ReaderStats()
    events = list(read_lines(lines, stats=stats))
    assert stats.malformed == 0 and len(events) == 2
    first, second = ({o["type"]: o for o in e.objects.values()} for e in events)
    assert first["network-traffic"]["dst_port"] == 80 and first["network-traffic"]["protocols"] == ["tcp"]
    assert second["ipv6-addr"]["value"] in {"2001:db8::1", "2001:db8::2"}
    assert events[0].ts % 1_000_000 == 460_123
    assert events[1].raw["rule"] == "1:2:3"


def test_csv_with_mapping(telemetry: Path, tmp_path: Path) -> None:
    mapping = {
        "columns": ["ts", "gid", "sid", "rev", "msg", "proto", "src", "sport", "dst", "dport"],
        "timestamp": "ts",
        "time_format": "%m/%d/%y-%H:%M:%S.%f",
        "fields": {
            "src": "network-traffic:src_ref.value",
            "dst": "network-traffic:dst_ref.value",
            "dport": "network-traffic:dst_port",
            "msg": "x-alert:message",
        },
    }
    (tmp_path / "map.json").write_bytes(orjson.dumps(mapping))
    m = FieldMapping(mapping)
    stats = ReaderStats()
    events = list(
        read_file(telemetry / "ids/snort_alert_csv.metron.log", fmt=ReaderFormat.CSV, mapping=m, stats=stats)
    )
    assert stats.malformed == 0 and len(events) == 3
    values = {o.get("value") for o in events[1].objects.values()}
    assert {"96.44.142.5", "10.0.2.15"} <= values


def test_cef_line() -> None:
    line = (
        "<134>Feb 14 19:04:54 host CEF:0|Vendor|Product|1.0|100|Blocked \\| traffic|5|src=10.0.0.1 "
        "dst=203.0.113.9 dpt=443 request=https://bad.example/x?a\\=b fileHash=" + "a" * 64 + " suser=bob"
    )
    events = list(read_lines([line], fmt=ReaderFormat.CEF))
    objs = list(events[0].objects.values())
    assert {"type": "url", "value": "https://bad.example/x?a=b"} in objs
    assert any(o["type"] == "file" and o["hashes"] == {"SHA-256": "a" * 64} for o in objs)
    assert detect_format([line]) is ReaderFormat.CEF


def test_malformed_lines_are_counted_and_skipped(telemetry: Path) -> None:
    good = (telemetry / "suricata/suricata-verify/eve-dns.eve.ndjson").read_text().splitlines(keepends=True)
    lines = [
        good[0],
        "{not json\n",
        "[1, 2]\n",
        '{"timestamp": "never", "event_type": "dns"}\n',
        *good[1:],
        "\x00\xff garbage\n",
    ]
    stats = ReaderStats()
    events = list(read_lines(iter(lines), stats=stats))
    assert len(events) == len(good)
    assert stats.malformed == 4
    assert stats.reasons["not JSON"] == 2


def test_stream_keeps_going_after_bad_lines() -> None:
    stream = io.StringIO(
        '{"ts": 1.5, "uid": "C1", "id.orig_h": "10.0.0.1", "id.resp_h": "10.0.0.2"}\n'
        + "garbage\n" * 3
        + '{"ts": 2.5, "uid": "C2", "id.orig_h": "10.0.0.3", "id.resp_h": "10.0.0.4"}\n'
    )
    stats = ReaderStats()
    events = list(read_lines(stream, stats=stats))
    assert [e.ts for e in events] == [1_500_000, 2_500_000]
    assert stats.malformed == 3


def test_zeek_conn_http_files_records() -> None:
    """Log types the sample folder lacks (conn, http, files) in Zeek's own JSON shape."""
    lines = [
        '{"_path":"conn","ts":1521911721.5,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":5050,'
        '"id.resp_h":"198.51.100.7","id.resp_p":443,"proto":"tcp","service":"ssl"}',
        '{"_path":"http","ts":1521911722.5,"uid":"C2","id.orig_h":"10.0.0.1","id.orig_p":5051,'
        '"id.resp_h":"198.51.100.8","id.resp_p":80,"method":"GET","host":"Evil.Example","uri":"/x.php?a=1",'
        '"user_agent":"curl/8"}',
        '{"_path":"files","ts":1521911723.5,"fuid":"F1","tx_hosts":["198.51.100.8"],"rx_hosts":["10.0.0.1"],'
        '"filename":"x.exe","mime_type":"application/x-dosexec","md5":"AA","sha1":"BB","sha256":"CC",'
        '"total_bytes":1234}',
    ]
    events = list(read_lines(lines))
    assert len(events) == 3
    conn, http, files = ({o["type"]: o for o in e.objects.values()} for e in events)
    assert conn["network-traffic"]["dst_port"] == 443 and conn["network-traffic"]["protocols"] == ["tcp"]
    assert http["domain-name"]["value"] == "evil.example"
    assert http["url"]["value"] == "http://Evil.Example/x.php?a=1"
    ext = http["network-traffic"]["extensions"]["http-request-ext"]
    assert ext["request_method"] == "GET" and ext["request_header"]["User-Agent"] == "curl/8"
    assert files["file"]["hashes"] == {"MD5": "aa", "SHA-1": "bb", "SHA-256": "cc"}
    assert files["file"]["size"] == 1234


def test_sysmon_network_and_dns_events(telemetry: Path) -> None:
    events = list(
        read_file(telemetry / "windows/otrf_cmd_mshta_javascript_getobject_sct.sysmon_security.ndjson")
    )
    dns = [e for e in events if e.source == "windows-22"]
    assert dns and any(o.get("value") == "raw.githubusercontent.com" for e in dns for o in e.objects.values())
    resolved = [o for e in dns for o in e.objects.values() if o["type"] == "domain-name"]
    assert any("resolves_to_refs" in o for o in resolved)
    net = [e for e in events if e.source == "windows-3"]
    assert net and any(o.get("value") == "151.101.248.133" for e in net for o in e.objects.values())


def test_eve_cname_with_three_dots_is_a_name_not_an_address() -> None:
    line = (
        '{"timestamp":"2024-03-01T10:00:00Z","event_type":"dns","dns":{"type":"answer","rrname":"cdn.example",'
        '"answers":[{"rdata":"e1234.a.akamaiedge.net"},{"rdata":"203.0.113.7"},{"rdata":"2001:db8::7"}]}}'
    )
    (event,) = read_lines([line])
    values = {(o["type"], o.get("value")) for o in event.objects.values()}
    assert {
        ("domain-name", "e1234.a.akamaiedge.net"),
        ("ipv4-addr", "203.0.113.7"),
        ("ipv6-addr", "2001:db8::7"),
    } <= values
    assert ("ipv4-addr", "e1234.a.akamaiedge.net") not in values


@pytest.mark.parametrize("named", [None, ReaderFormat.EVE, ReaderFormat.JSON])
def test_a_json_array_file_is_read_whole_whatever_format_is_named(
    telemetry: Path, named: ReaderFormat | None
) -> None:
    """``colsec match --format json`` on a JSON array went to the line-by-line column path and
    reported every line malformed ("not JSON"): an array is read whole by the reader."""
    from colsec.cli.match import _column_format

    path = telemetry / "suricata/eve_alerts_first-org-conf-2015.json"
    assert _column_format(path, named, None) is None
    stats = ReaderStats()
    events = list(read_file(path, fmt=named, stats=stats))
    assert len(events) == 136 and stats.malformed == 0


def test_zeek_tsv_escapes_are_undone_as_the_json_writer_gives_them(telemetry: Path) -> None:
    r"""A Zeek TSV value with ``\\`` or ``\xHH`` reads as the same log's JSON record: the x509
    subject ``O=VMware\, Inc`` kept a doubled backslash and matched no indicator on its value."""
    from colsec.match.readers.network import zeek_unescape

    def subjects(name: str) -> set[str]:
        return {
            o["subject"]
            for e in read_file(telemetry / "zeek" / name)
            for o in e.objects.values()
            if o.get("type") == "x509-certificate" and "subject" in o
        }

    tsv, json = subjects("wrccdc2018_x509.tsv.log"), subjects("wrccdc2018_x509.ndjson")
    vmware = [s for s in tsv if "VMware" in s]
    assert vmware and all("\\\\" not in s for s in vmware) and tsv == json
    assert zeek_unescape(r"caf\xc3\xa9 \x2c a\\b") == "café , a\\b"
    assert zeek_unescape(r"\x2d") == "-"  # a value equal to the unset marker, escaped: no marker
