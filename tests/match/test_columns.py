"""Every non-EVE format's column path gives exactly the alerts of its event-by-event path.

For each format, an equality indicator is planted on every (object path, value) its reader
makes from real samples (shared/data: Zeek, OTRF Windows, Metron firewall/proxy/IDS logs);
CEF lines are written here from real Zeek/Windows values with the standard's short and full
key names (no CEF capture is in shared/data).  Both paths then run the same indicators.
"""

from __future__ import annotations

import collections
import gzip
import sys
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from colsec.match.columns import match_columns_file, table_for, uses_columns
from colsec.match.engine import IndicatorRecord, MatchEngine
from colsec.match.readers import FieldMapping, ReaderFormat, ReaderStats, read_file

from .test_vector import _steps, _values

YEAR = 2024


def _count(alerts: list) -> collections.Counter[tuple[object, ...]]:
    """An alert field for field: indicator (id, owner, TLP, name), what matched, and each event
    as the operator and the sightings see it (source, line, time, objects, raw record)."""

    def dump(value: object) -> bytes:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=repr)

    return collections.Counter(
        (
            a.indicator_id,
            a.owner,
            a.tlp,
            a.name,
            tuple(sorted(a.matched)),
            tuple((e.source, e.line, e.ts, dump(e.objects), dump(e.raw)) for e in a.events),
        )
        for a in alerts
    )


def _reference(
    engine: MatchEngine, path: Path, fmt: ReaderFormat, mapping: Callable[[], FieldMapping | None]
) -> list:
    """The event path as ``colsec match`` runs it: batches of 5,000 events."""
    from colsec.match import readers

    alerts: list = []
    batch: list = []
    original = readers.datetime

    class _Fixed(original):  # type: ignore[misc,valid-type]
        @classmethod
        def now(cls, tz: object = None) -> _Fixed:  # noqa: ARG003
            return cls(YEAR, 6, 1)

    readers.datetime = _Fixed
    try:
        for ev in read_file(path, fmt=fmt, mapping=mapping()):
            batch.append(ev)
            if len(batch) == 5_000:
                alerts += engine.match(batch)
                batch = []
    finally:
        readers.datetime = original
    return alerts + engine.match(batch)


def _planted(path: Path, fmt: ReaderFormat, mapping: FieldMapping | None) -> list[tuple[str, str, str]]:
    found: dict[tuple[str, str, str], None] = {}
    for ev in read_file(path, fmt=fmt, mapping=mapping):
        for obj in ev.objects.values():
            for key, value in _values(ev.objects, obj, ""):
                found[(obj["type"], key, value)] = None
    return list(found)


def _equal(
    path: Path, fmt: ReaderFormat, mapping: Callable[[], FieldMapping | None] = lambda: None, refused: int = 0
) -> int:
    """Plant, run both paths, compare (``refused``: chunks expected to take the event path);
    returns how many alerts the runs made."""
    table = table_for(fmt, mapping())
    found = _planted(path, fmt, mapping())
    assert found, path
    types = {t for t, _, _ in found}
    assert types <= table.types, types - table.types  # a type the table does not know is unsafe
    records = [
        IndicatorRecord(
            f"indicator--{n}",
            "[{}:{} = '{}']".format(t, _steps(k), v.replace("\\", "\\\\").replace("'", "\\'")),
        )
        for n, (t, k, v) in enumerate(found)
    ]
    records.append(IndicatorRecord("indicator--cidr", "[ipv4-addr:value ISSUBSET '10.0.0.0/8']"))
    # a block that is no octet prefix: read through the addresses' numbers (``ipv4_column``)
    records.append(IndicatorRecord("indicator--cidr12", "[ipv4-addr:value ISSUBSET '10.0.0.0/12']"))
    # several octet lengths at once: cut by one regex pass (``cidr.octet_prefixes``)
    records.append(IndicatorRecord("indicator--cidr16", "[ipv4-addr:value ISSUBSET '10.0.0.0/16']"))
    records.append(IndicatorRecord("indicator--cidr24", "[ipv4-addr:value ISSUBSET '10.0.1.0/24']"))
    records.append(IndicatorRecord("indicator--like", "[domain-name:value LIKE '%.com']"))
    uncovered = {(t, k) for t, k, _ in found} - table.covered
    columnar = [r for n, r in enumerate(records) if n >= len(found) or found[n][:2] not in uncovered]
    assert len(columnar) > len(records) // 2
    total = 0
    for chosen in (columnar, records):  # the first runs on columns, the second event by event
        reference = MatchEngine()
        assert reference.load(chosen).invalid == 0
        expected = _count(_reference(reference, path, fmt, mapping))
        engine = MatchEngine()
        engine.load(chosen)
        assert uses_columns(engine, table) is (chosen is columnar or not uncovered)
        res = match_columns_file(engine, path, fmt, mapping=mapping(), year=YEAR, batch_bytes=1 << 16)
        got = _count(res.alerts)
        if chosen is columnar:
            assert res.refused == refused
        by_id = {r.id: r.pattern for r in chosen}
        missing = collections.Counter(by_id[k[0]].split(" = ")[0] for k in (expected - got))
        extra = collections.Counter(by_id[k[0]].split(" = ")[0] for k in (got - expected))
        assert got == expected, (missing, extra)
        total += sum(got.values())
    return total


def _head(src: Path, dst: Path, n: int) -> Path:
    opener = gzip.open if src.suffix == ".gz" else open
    with opener(src, "rb") as f:
        dst.write_bytes(b"".join(line for _, line in zip(range(n), f, strict=False)))
    return dst


@pytest.mark.slow
def test_zeek_json(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "telemetry/zeek"
    parts = [
        _head(p, tmp_path / p.name, 800).read_bytes() for p in sorted(folder.glob("wrccdc2018_*.ndjson"))
    ]
    # older Bro records wrapped by log type ({"http": {...}}): their chunk takes the event path
    parts.append((folder / "bro_json_wrapped.metron.ndjson").read_bytes())
    path = tmp_path / "zeek.ndjson"
    path.write_bytes(b"".join(parts))
    assert _equal(path, ReaderFormat.ZEEK_JSON, refused=1) > 1000


@pytest.mark.slow
def test_zeek_tsv(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "telemetry/zeek"
    dns = _head(folder / "wrccdc2018_dns.head3000.tsv.log", tmp_path / "dns.log", 1200)
    for path in (dns, *(folder / f"wrccdc2018_{name}.tsv.log" for name in ("notice", "smtp", "x509"))):
        assert _equal(path, ReaderFormat.ZEEK_TSV) > 0


@pytest.mark.slow
def test_windows(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "telemetry/windows"
    path = tmp_path / "win.ndjson"
    path.write_bytes(
        b"".join(p.read_bytes() for p in sorted(folder.glob("*.ndjson")))
        + _head(
            folder / "otrf_empire_launcher_vbs.sysmon_security_powershell.ndjson.gz", tmp_path / "e", 800
        ).read_bytes()
    )
    assert _equal(path, ReaderFormat.WINDOWS) > 1000


def test_syslog(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "telemetry"
    path = tmp_path / "syslog.log"
    path.write_bytes(
        b"".join(
            (folder / p).read_bytes()
            for p in (
                "firewall/cisco_asa.metron.log",
                "firewall/paloalto_threat_traffic.metron.log",
                "proxy/squid_access.metron.log",
            )
        )
        + b"\n\nJan  5 05:38:59 h GET http://Evil.Example.COM./x.php, 1.2.3.4.5 10.1.2.3 www.Example.org.\n"
        + b"Jan  5 05:39:00 h relay Mail.Example.NET fetched http://Cdn.Example.NET:8080/x (10.9.8.7)\n"
    )
    assert _equal(path, ReaderFormat.SYSLOG) > 100


@pytest.mark.parametrize("unicode", [False, True])
def test_syslog_edges(tmp_path: Path, unicode: bool) -> None:
    """Where the column patterns and the reader's could part: quads glued to letters, dots or
    other quads, host names ending in digits, URLs inside tokens, Python-only whitespace
    (\\x1c..\\x1f); with non-ASCII text the Unicode classes are used (Kelvin sign, dotted I,
    Arabic-Indic digits)."""
    tokens = [
        *("1.2.3.4a", "a1.2.3.5", "x.y1.2.3.6", "1.2.3.7.8", "9.9.9.9.", "(10.0.0.1/443)", "010.1.1.1"),
        *("host1.example.com5", "Mail-1.Example.org", "a.b.c.d.example.net.", "-x.example.com"),
        *(
            "zhttp://a.example.com/http://b.example.com/x",
            "HTTPS://C.Example.COM:8/p),",
            "1.2.3.4.example.com",
        ),
        *(
            "256.1.1.1",
            "10.1.1.1:80",
            "outside:10.2.2.2/53",
            "x.example.io",
            "http://u.example.com/a\x1db",
            "http://localhost/a\x1db",
        ),
        *(
            "d1.example.com\x1cd2.example.com",
            "1\x1cd3.example.net",
            "10.3.3.3\x1e10.4.4.4",
            "e1.example.com\x1f1.1.1.1",
        ),
    ]
    if unicode:
        tokens += ["caf\u00e9.example.com", "\u212aelvin.example.com", "\u0130stanbul.example.tr"]
        tokens += ["\u0661.\u0662.\u0663.\u0664", "1.2.3.9\u0665", "10.6.6.6\u00a0www.\u212a.example.org"]
    # one token a line: a line is read (and alerts) as soon as any column proposes it
    lines = [f"Jan  5 05:38:59 fw {t}" for t in tokens] + ["not a syslog line 10.5.5.5 www.example.com"]
    path = tmp_path / "edges.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _equal(path, ReaderFormat.SYSLOG) > 10


def _cef_lines(shared_data: Path) -> list[str]:
    """CEF lines carrying real values (Zeek DNS/SSL, Sysmon), in the standard's short and full
    key names, custom strings with labels, escapes, and lines the reader refuses."""
    out = [
        "Sep 19 08:26:10 host CEF:0|security|threatmanager|1.0|100|detected a \\| in message|10|"
        "src=10.0.0.1 act=blocked a \\= dst=1.1.1.1",
        "CEF:0|v|p|1|1|bad header only",
        "CEF:0|v|p|1|1|n|1|rt=1521911720000 dhost=WWW.Example.COM deviceCustomString3Label=Domain cs3=Cdn.Example.NET.",
        "Jan  5 05:38:59 plain syslog line from 10.22.8.205 to http://www.example.com/a",
    ]
    zeek = shared_data / "telemetry/zeek"
    for n, line in enumerate((zeek / "wrccdc2018_dns.head10000.ndjson").read_bytes().splitlines()[:400]):
        rec = orjson.loads(line)
        answers = [a for a in rec.get("answers", []) if isinstance(a, str)]
        src = "sourceAddress" if n % 2 else "src"
        ext = (
            f"rt={rec['ts']} {src}={rec['id.orig_h']} dst={rec['id.resp_h']} spt={rec['id.orig_p']} "
            f"proto={rec.get('proto', 'udp').upper()} dhost={rec.get('query', '-')}"
        )
        if answers:
            ext += f" cs1Label=Resolved IP cs1={answers[0]}"
        out.append(f"CEF:0|Zeek|dns|6.2|{rec.get('qtype_name', 'A')}|DNS query|3|{ext}")
    for n, line in enumerate((zeek / "wrccdc2018_ssl.head8000.ndjson").read_bytes().splitlines()[:300]):
        rec = orjson.loads(line)
        fps = rec.get("cert_chain_fps") or []
        ext = f"end={rec['ts']} src={rec['id.orig_h']} destinationAddress={rec['id.resp_h']}"
        if rec.get("server_name"):
            ext += f" destinationHostName={rec['server_name']} request=https://{rec['server_name']}/p\\=1"
        if fps:
            ext += f" fileHash={fps[0]} cs2Label=Certificate hash cs2={fps[0]}"
        if n % 7 == 0:
            ext += " requestClientApplication=Mozilla/5.0 (X11) suser=WORKGROUP\\\\bob fname=C:\\\\x\\\\a.exe"
        out.append(f"<134>Jan  5 05:38:{n % 60:02d} sensor CEF:0|Zeek|ssl|6.2|tls|TLS \\| session|2|{ext}")
    return out


def test_cef(shared_data: Path, tmp_path: Path) -> None:
    path = tmp_path / "cef.log"
    path.write_text("\n".join(_cef_lines(shared_data)) + "\n")
    assert _equal(path, ReaderFormat.CEF) > 500


def test_json_lines_default_and_mapped_fields(shared_data: Path, tmp_path: Path) -> None:
    path = tmp_path / "ecs.ndjson"
    rows = []
    for n, line in enumerate(
        (shared_data / "telemetry/zeek/wrccdc2018_dns.head10000.ndjson").read_bytes().splitlines()[:600]
    ):
        rec = orjson.loads(line)
        ecs = {
            "@timestamp": rec["ts"],
            "source": {"ip": rec["id.orig_h"]},
            "destination.ip": rec["id.resp_h"],
        }
        if rec.get("query"):
            ecs["dns"] = {"question": {"name": rec["query"]}}
        if n % 5 == 0:
            ecs["url"] = {"full": f"http://{rec.get('query', 'x')}/q"}
            ecs["md5"] = f"{n:032x}".upper()
        rows.append(orjson.dumps(ecs))
    path.write_bytes(b"\n".join(rows) + b"\n")
    assert _equal(path, ReaderFormat.JSON) > 500
    mapping = {
        "timestamp": "@timestamp",
        "fields": {
            "source.ip": "ipv4-addr:value",
            "dns.question.name": "domain-name:value",
            "md5": "file:hashes.'MD5'",
        },
    }
    assert _equal(path, ReaderFormat.JSON, lambda: FieldMapping(mapping)) > 300


def test_csv_with_a_mapping(shared_data: Path, tmp_path: Path) -> None:
    lines = ["when,client,server,name"]
    for line in (
        (shared_data / "telemetry/zeek/wrccdc2018_dns.head10000.ndjson").read_bytes().splitlines()[:500]
    ):
        rec = orjson.loads(line)
        lines.append(f"{rec['ts']},{rec['id.orig_h']},{rec['id.resp_h']},{rec.get('query', '')}")
    path = tmp_path / "dns.csv"
    path.write_text("\n".join(lines) + '\n1.0,"10.0.0.9",x\n')  # a quoted line and a short one
    spec = {
        "timestamp": "when",
        "fields": {
            "client": "network-traffic:src_ref.value",
            "server": "ipv4-addr:value",
            "name": "domain-name:value",
        },
    }
    assert _equal(path, ReaderFormat.CSV, lambda: FieldMapping(spec)) > 500


def test_one_odd_line_refuses_only_its_chunk(shared_data: Path, tmp_path: Path) -> None:
    """A broken JSON line sends its chunk event by event; the rest stays columnar and alerts."""
    src = shared_data / "telemetry/zeek/wrccdc2018_dns.head10000.ndjson"
    lines = src.read_bytes().splitlines(keepends=True)[:3000]
    lines[1500] = b'{"ts": 1521911700.0, "query": broken\n'
    path = tmp_path / "odd.ndjson"
    path.write_bytes(b"".join(lines))
    rec = orjson.loads(lines[2990])
    engine = MatchEngine()
    engine.load([IndicatorRecord("indicator--a", f"[ipv4-addr:value = '{rec['id.orig_h']}']")])
    stats = ReaderStats()
    res = match_columns_file(engine, path, ReaderFormat.ZEEK_JSON, stats=stats, batch_bytes=1 << 16)
    assert 2991 in {a.events[-1].line for a in res.alerts}
    assert stats.malformed == 1 and stats.examples == ["line 1501: not JSON"]
    assert res.rows == 3000 and stats.lines < 3000  # only the refused chunk was read line by line


def test_no_table_for_eve() -> None:
    with pytest.raises(ValueError, match="no column table"):
        table_for(ReaderFormat.EVE)


def test_values_offered_but_not_read_make_no_alert(tmp_path: Path) -> None:
    """The columns offer values the reader does not make (a token glued to a path, a quad over
    255, a domain with a space in a CSV field); the alerts come from the columns, so each hit
    must be confirmed on the reader's event or such a value would alert."""
    from colsec.match.columns.lines import Lines
    from colsec.match.columns.run import prepare
    from colsec.match.columns.text import syslog_columns
    from colsec.match.vector import hit_rows

    path = tmp_path / "offered.log"
    path.write_text("Jan  5 05:38:59 fw GET foo.example.com/bar from 999.1.2.3\nno stamp x.example.net\n")
    patterns = ["[domain-name:value = 'foo.example.com']", "[ipv4-addr:value = '999.1.2.3']"]
    patterns.append("[domain-name:value = 'x.example.net']")
    engine = MatchEngine()
    engine.load([IndicatorRecord(f"indicator--o{n}", p) for n, p in enumerate(patterns)])
    table = table_for(ReaderFormat.SYSLOG)
    lines = Lines(path.read_bytes())
    cols = syslog_columns(lines.series(), table.fields())
    assert hit_rows(engine, prepare(engine, table, cols, len(lines))).tolist() == [0, 1]  # offered
    assert match_columns_file(engine, path, ReaderFormat.SYSLOG, year=YEAR).alerts == []
    assert _reference(engine, path, ReaderFormat.SYSLOG, lambda: None) == []

    csv_path = tmp_path / "offered.csv"
    csv_path.write_text("time,host\n1714557600,bad host.example.com\n1714557601,foo.example.com\n")
    spec = {"timestamp": "time", "fields": {"host": "domain-name:value"}}
    engine = MatchEngine()
    engine.load([IndicatorRecord("indicator--sp", "[domain-name:value = 'bad host.example.com']")])
    res = match_columns_file(engine, csv_path, ReaderFormat.CSV, mapping=FieldMapping(spec))
    assert res.alerts == []
    assert _reference(engine, csv_path, ReaderFormat.CSV, lambda: FieldMapping(spec)) == []


def test_csv_spacing_and_colons(tmp_path: Path) -> None:
    """A chunk without whitespace or colons skips the strippings and the IPv6 spelling (#20);
    chunks with them keep both: padded values, Python-only whitespace, tab-delimited quoted
    fields holding a tab, upper-case names with a trailing dot, IPv6 texts."""
    from colsec.match.columns.table import PY_WHITESPACE

    assert PY_WHITESPACE == "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace())
    plain = [f"{1714557600 + n},10.0.{n % 7}.{n % 250},h{n}.example.com" for n in range(300)]
    spaced = [
        "1714557900, 10.1.0.1 ,WWW.Example.COM.",
        "1714557901,\x1c10.1.0.2\x1d,\x1fmail.example.org",
        "1714557902,2001:DB8::1,x.example.net",
        "1714557903,::ffff:10.1.0.3,Y.Example.NET",
        "1714557904,10.1.0.4\r",
    ]
    spec = {
        "timestamp": "when",
        "columns": ["when", "addr", "name"],
        "fields": {"addr": "ipv4-addr:value", "name": "domain-name:value"},
    }
    for n, rows in enumerate((plain, plain + spaced, spaced + plain)):
        path = tmp_path / f"s{n}.csv"
        path.write_text("\n".join(rows) + "\n", newline="")
        assert _equal(path, ReaderFormat.CSV, lambda: FieldMapping(spec)) >= 300
    tabbed = {**spec, "delimiter": "\t"}
    path = tmp_path / "tabbed.csv"
    lines = [r.replace(",", "\t") for r in plain] + ['1714557905\t"10.2.0.1\t"\tz.example.com']
    path.write_text("\n".join(lines) + "\n")
    assert _equal(path, ReaderFormat.CSV, lambda: FieldMapping(tabbed)) >= 300


@pytest.mark.parametrize("shape", ["objects", "odd", "odd with escapes"])
def test_json_lines_heads_of_every_shape(tmp_path: Path, shape: str) -> None:
    """Dotted fields' heads are read as structs, "url" (a field and a head) as text decoded in
    one pass; a head holding a string, a list or a number in some record ("odd": the chunk is
    read again with every head as text), a leaf holding an object, literal dotted keys beside
    nested ones: alerts as the event path's.  polars writes an object's text without escaping
    its backslashes, so a chunk read as text with a Windows path takes the event path."""
    from colsec.match.columns.lines import chunks

    sep = "/" if shape == "odd" else "\\"
    rows = []
    for n in range(3000):
        rec: dict[str, object] = {
            "@timestamp": 1714557600 + n,
            "source": {"ip": f"10.{n % 5}.{n % 7}.{n % 250}", "port": n},
            "url": {"full": f"http://h{n % 40}.example.com/p", "domain": f"h{n % 40}.example.com"}
            if n % 3
            else f"http://u{n % 30}.example.net/",
            "dns": {"question": {"name": f"q{n % 60}.example.org"}},
            "file": {"hash": {"md5": f"{n % 90:032x}"}, "name": f"C:{sep}x{sep}f{n % 20}.exe"},
        }
        if n % 11 == 0:
            rec["destination.ip"] = f"192.168.{n % 3}.{n % 200}"
            rec["destination"] = {"ip": f"172.16.{n % 4}.{n % 100}"}
        if n % 13 == 0:
            rec["url"] = {"full": {"nested": 1}, "domain": 5}
        if shape != "objects" and n % 17 == 0:
            rec["source"] = "not an object" if n % 2 else [1, 2]
            rec["dns"] = 7
        rows.append(orjson.dumps(rec))
    path = tmp_path / "shapes.ndjson"
    path.write_bytes(b"\n".join(rows) + b"\n")
    with path.open("rb") as f:
        refused = sum(1 for _ in chunks(f, 1 << 16)) if shape == "odd with escapes" else 0
    assert _equal(path, ReaderFormat.JSON, refused=refused) > 3000
