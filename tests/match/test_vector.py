"""The vectorised EVE path gives exactly the alerts of the event-by-event path."""

from __future__ import annotations

import collections
from pathlib import Path

import orjson
import polars as pl
import pytest

from colsec.match.engine import IndicatorRecord, MatchEngine
from colsec.match.eve_columns import COVERED, READER_ONLY
from colsec.match.eve_file import ChunkLines, _newlines, match_eve_file
from colsec.match.readers import read_file, read_lines
from colsec.match.vector import match_eve_frame, needs_events

INDICATORS = [
    IndicatorRecord("indicator--ip", "[ipv4-addr:value = '10.16.1.11']"),
    IndicatorRecord("indicator--dst", "[network-traffic:dst_ref.value = '8.8.4.4']"),
    IndicatorRecord("indicator--dom", "[domain-name:value = 'WWW.google.com']"),
    IndicatorRecord("indicator--url", "[url:value = 'http://www.testmyids.com/']"),
    IndicatorRecord("indicator--net", "[ipv4-addr:value ISSUBSET '52.85.0.0/16']"),
    IndicatorRecord("indicator--sfx", "[domain-name:value LIKE '%.dropbox.com']"),
    IndicatorRecord(
        "indicator--and", "[network-traffic:dst_ref.value = '10.16.1.1' AND network-traffic:dst_port = 53]"
    ),
    IndicatorRecord(
        "indicator--seq", "[domain-name:value = 'www.google.com'] FOLLOWEDBY [ipv4-addr:value = '8.8.4.4']"
    ),
]


@pytest.fixture
def eve_file(shared_data: Path, tmp_path: Path) -> Path:
    folder = shared_data / "telemetry/suricata/suricata-verify"
    lines = b"".join(p.read_bytes() for p in sorted(folder.glob("*.ndjson")))
    out = tmp_path / "eve.ndjson"
    out.write_bytes(lines)
    return out


def _count(alerts: list) -> collections.Counter[tuple[str, int, tuple[tuple[str, object], ...]]]:
    return collections.Counter((a.indicator_id, a.events[-1].line, tuple(a.matched)) for a in alerts)


def test_vector_equals_event_path(eve_file: Path) -> None:
    reference = MatchEngine()
    reference.load(INDICATORS)
    expected = reference.match(list(read_file(eve_file)))
    engine = MatchEngine()
    engine.load(INDICATORS)
    got = match_eve_file(engine, eve_file).alerts
    assert _count(got) == _count(expected)
    assert {a.indicator_id for a in expected} >= {
        "indicator--ip",
        "indicator--dom",
        "indicator--url",
        "indicator--net",
        "indicator--sfx",
        "indicator--and",
    }


def test_vector_without_hits_builds_no_events() -> None:
    engine = MatchEngine()
    engine.load(INDICATORS)
    df = pl.DataFrame(
        [
            orjson.loads(
                b'{"timestamp": "2024-01-01T00:00:00Z", "event_type": "flow", '
                b'"src_ip": "192.0.2.1", "dest_ip": "192.0.2.2"}'
            )
        ]
    )
    res = match_eve_frame(engine, df)
    assert res.hits == 0 and res.alerts == []


def test_vector_canonicalises_ipv6_like_the_readers() -> None:
    line = (
        b'{"timestamp":"2024-01-01T00:00:00Z","event_type":"flow",'
        b'"src_ip":"2001:0db8:0000:0000:0000:0000:0000:0001","dest_ip":"10.0.0.1"}'
    )
    indicators = [
        IndicatorRecord("indicator--v6", "[ipv6-addr:value = '2001:db8::1']"),
        IndicatorRecord("indicator--c6", "[ipv6-addr:value ISSUBSET '2001:db8::/32']"),
        IndicatorRecord("indicator--v4", "[ipv4-addr:value ISSUBSET '10.0.0.0/30']"),
    ]
    engine = MatchEngine()
    engine.load(indicators)
    got = sorted(a.indicator_id for a in match_eve_frame(engine, pl.DataFrame([orjson.loads(line)])).alerts)
    assert got == ["indicator--c6", "indicator--v4", "indicator--v6"]


def test_canonical_ipv6_column_is_the_readers_spelling() -> None:
    """The column spelling cuts ``::ffff:`` + dotted quad in polars and sends the rest through
    ``ipv6_text``: value for value what a reader writes (a text without a colon is kept)."""
    from colsec.match.addresses import canonical_ipv6, ipv6_text

    texts = [
        "::ffff:10.1.2.3", "::FFFF:10.1.2.3", "::ffff:0a01:0203", "::ffff:1.2.3.4:80", "::ffff:é.1",
        "2001:DB8:0::1", "fe80::1%eth0", "x:y", "10.0.0.1", "", None, "::ffff:", "0:0:0:0:0:ffff:a01:203",
        "type:  5 x.example.net", " 2001:db8::1", "2001:db8::1 ", "2001:DB8::1%", "%:1", "1:2:3:4:5:6:7:8:9",
    ]  # fmt: skip
    for column in (texts, texts[:1] * 3, [t for t in texts if t is None or "ffff" not in t]):
        got = canonical_ipv6(pl.Series(column, dtype=pl.String)).to_list()
        assert got == [t if t is None or ":" not in t else ipv6_text(t)[1] or t for t in column]


def test_vector_cidr_prefixes_follow_canonical_ipv4_mapped_addresses() -> None:
    """Octet prefixes and IPv4 numbers are computed with the values in one pass; a chunk holding
    IPv6 texts must redo them once ``::ffff:a.b.c.d`` has become ``a.b.c.d``, as the readers see it."""
    lines = [
        b'{"timestamp":"2024-01-01T00:00:00Z","src_ip":"::ffff:10.1.2.3","dest_ip":"192.0.2.9"}',
        b'{"timestamp":"2024-01-01T00:00:01Z","src_ip":"192.0.2.8","dest_ip":"::ffff:172.16.5.9"}',
        # the same mapping in hexadecimal and in full spelling: still the IPv4 host
        b'{"timestamp":"2024-01-01T00:00:02Z","src_ip":"::ffff:0a01:0207","dest_ip":"192.0.2.9"}',
        b'{"timestamp":"2024-01-01T00:00:03Z","src_ip":"0:0:0:0:0:ffff:172.16.5.10","dest_ip":"192.0.2.9"}',
    ]
    indicators = [
        IndicatorRecord("indicator--octet", "[ipv4-addr:value ISSUBSET '10.1.2.0/24']"),
        IndicatorRecord("indicator--bits", "[ipv4-addr:value ISSUBSET '172.16.4.0/22']"),
    ]
    engine = MatchEngine()
    engine.load(indicators)
    frame = pl.DataFrame([orjson.loads(line) for line in lines])
    got = sorted((a.indicator_id, a.events[-1].line) for a in match_eve_frame(engine, frame).alerts)
    assert got == [
        ("indicator--bits", 2),
        ("indicator--bits", 4),
        ("indicator--octet", 1),
        ("indicator--octet", 3),
    ]
    expected = engine.match(list(read_lines([line.decode() for line in lines])))
    assert sorted((a.indicator_id, a.events[-1].line) for a in expected) == got


def test_vector_builds_urls_like_the_reader() -> None:
    """A relative URL becomes absolute only with a non-empty host; an absolute one needs none."""
    lines = [
        b'{"timestamp":"2024-01-01T00:00:00Z","event_type":"http","http":{"url":"/a"}}',
        b'{"timestamp":"2024-01-01T00:00:01Z","event_type":"http","http":{"hostname":"","url":"/a"}}',
        b'{"timestamp":"2024-01-01T00:00:02Z","event_type":"http","http":{"url":"https://b.example/p"}}',
        b'{"timestamp":"2024-01-01T00:00:03Z","event_type":"http","http":{"hostname":"c.example","url":"/q"}}',
        b'{"timestamp":"2024-01-01T00:00:04Z","event_type":"dns","dns":{"rrname":"c.example"}}',
    ]
    indicators = [
        IndicatorRecord("indicator--empty-host", "[url:value = 'http:///a']"),
        IndicatorRecord("indicator--absolute", "[url:value = 'https://b.example/p']"),
        IndicatorRecord("indicator--relative", "[url:value = 'http://c.example/q']"),
    ]
    engine = MatchEngine()
    engine.load(indicators)
    frame = pl.DataFrame([orjson.loads(line) for line in lines])
    got = sorted((a.indicator_id, a.events[-1].line) for a in match_eve_frame(engine, frame).alerts)
    assert got == [("indicator--absolute", 3), ("indicator--relative", 4)]
    expected = engine.match(list(read_lines([line.decode() for line in lines])))
    assert sorted((a.indicator_id, a.events[-1].line) for a in expected) == got


def test_vector_line_numbers_with_blank_and_bad_lines_across_chunks(eve_file: Path, tmp_path: Path) -> None:
    """Alerts name the physical line even where polars would skip blank lines; chunks overlap in
    parsing (small batches force many), and malformed lines are reported with their numbers."""
    lines = eve_file.read_bytes().splitlines(keepends=True)
    out: list[bytes] = []
    junk: list[int] = []
    for i, line in enumerate(lines):
        out.append(line)
        if i % 7 == 3:
            out.append(b"\n" if i % 2 else b"   \n")
        if i % 50 == 25:
            out.append(b'{"timestamp": "2024-01-01T00:00:00Z", "broken\n')
            junk.append(len(out))
    noisy = tmp_path / "noisy.ndjson"
    noisy.write_bytes(b"".join(out))
    reference = MatchEngine()
    reference.load(INDICATORS)
    expected = reference.match(list(read_file(noisy)))
    engine = MatchEngine()
    engine.load(INDICATORS)
    bad: list[int] = []
    batches: list[int] = []
    got = match_eve_file(
        engine, noisy, batch_bytes=1024, malformed=bad, on_batch=lambda n, b: batches.append(n)
    ).alerts
    assert len(batches) > 3 and junk
    assert _count(got) == _count(expected)
    assert bad == junk


@pytest.mark.parametrize(
    ("chunk", "rows", "want"),
    [
        (b"a\nbb\nccc", [0, 1, 2], [b"a", b"bb", b"ccc"]),
        (b"a\nbb\nccc\n", [2, 0], [b"ccc", b"a"]),
        (b"\n\nx\n", [0, 2], [b"", b"x"]),
        (b"only", [0], [b"only"]),
        (b"only\n", [0], [b"only"]),
    ],
)
def test_chunk_lines_slices_rows_by_newline_offsets(chunk: bytes, rows: list[int], want: list[bytes]) -> None:
    assert ChunkLines(chunk, _newlines(chunk))(rows) == want


# EVE records with every section the reader reads, in the shapes Suricata writes them
KITCHEN_SINK = [
    {
        "timestamp": "2024-03-01T10:00:00.000001+0000",
        "event_type": "dns",
        "src_ip": "10.0.0.5",
        "dest_ip": "10.0.0.53",
        "proto": "UDP",
        "dns": {
            "type": "answer",
            "rrname": "Cdn.Example.",
            "answers": [
                {"rrname": "cdn.example", "rrtype": "CNAME", "rdata": "e1234.a.akamaiedge.net"},
                {"rrname": "e1234.a.akamaiedge.net", "rrtype": "A", "rdata": "203.0.113.7"},
                {"rrname": "e1234.a.akamaiedge.net", "rrtype": "AAAA", "rdata": "2001:DB8:0:0::7"},
            ],
        },
    },
    {
        "timestamp": "2024-03-01T10:00:01.5+0000",
        "event_type": "dns",
        "src_ip": "10.0.0.5",
        "dest_ip": "10.0.0.53",
        "dns": {"type": "query", "rrname": "x.example", "rdata": "mail.example.co.uk"},
    },
    {
        "timestamp": "2024-03-01T10:00:01.6+0000",
        "event_type": "dns",
        "dns": {"version": 3, "queries": [{"rrname": "Q1.example"}, {"rrname": "q2.example."}]},
    },
    {
        "timestamp": "2024-03-01T10:00:02+0000",
        "event_type": "tls",
        "src_ip": "10.0.0.6",
        "dest_ip": "198.51.100.4",
        "proto": "TCP",
        "tls": {
            "sni": "Secure.Example",
            "subject": "CN=secure.example, O=Example",
            "issuerdn": "CN=Example CA",
            "serial": "0A:1B:2C",
            "fingerprint": "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd",
        },
    },
    {
        "timestamp": "2024-03-01T10:00:03+0000",
        "event_type": "http",
        "src_ip": "10.0.0.7",
        "dest_ip": "198.51.100.5",
        "proto": "TCP",
        "http": {
            "hostname": "Web.Example",
            "url": "/login.php?u=1",
            "http_user_agent": "Mozilla/5.0 (evil)",
            "http_method": "POST",
        },
    },
    {
        "timestamp": "2024-03-01T10:00:04+0000",
        "event_type": "fileinfo",
        "src_ip": "198.51.100.5",
        "dest_ip": "10.0.0.7",
        "fileinfo": {
            "filename": "/dl/Invoice.PDF.exe",
            "magic": "PE32 executable (GUI) Intel 80386, for MS Windows",
            "md5": "0123456789ABCDEF0123456789ABCDEF",
            "sha256": " " + "ab" * 32 + " ",
            "size": 1234,
        },
    },
    {
        "timestamp": "2024-03-01T10:00:05+0000",
        "event_type": "smtp",
        "src_ip": "10.0.0.8",
        "dest_ip": "10.0.0.25",
        "email": {
            "from": "Mallory <Mallory@Evil.Example>",
            "to": ["bob@corp.example", "<Alice@Corp.Example>", "not-an-address"],
            "subject": "Invoice overdue",
        },
    },
    {  # placeholders and junk the reader drops: the columns must drop them too
        "timestamp": "2024-03-01T10:00:06+0000",
        "event_type": "dns",
        "proto": "-",
        "dns": {"rrname": "-", "rdata": "a b", "answers": [{"rdata": ""}, {"rdata": "-"}]},
        "tls": {"sni": "", "subject": "-", "issuerdn": "", "fingerprint": "-"},
        "fileinfo": {"filename": "-", "md5": "-", "sha1": " ", "magic": ""},
        "email": {"from": "nobody", "to": ["<>", ""]},
        "http": {"hostname": "", "url": "", "http_user_agent": "", "http_method": ""},
    },
]
# indicators on exactly those dropped values: neither path may alert
JUNK = [
    "[domain-name:value = '-']",
    "[domain-name:value = 'a b']",
    "[domain-name:value = '']",
    "[ipv4-addr:value = '-']",
    "[x509-certificate:subject = '-']",
    "[file:name = '-']",
    "[file:hashes.MD5 = '-']",
    "[file:mime_type = '']",
    "[email-addr:value = 'nobody']",
    "[network-traffic:protocols[*] = '-']",
    "[network-traffic:extensions.'http-request-ext'.request_header.Host = '']",
    "[url:value = 'http://']",
]


def _steps(key: str) -> str:
    """A flat path key in STIX pattern syntax: steps with '-' are quoted."""
    out = []
    for part in key.split("."):
        stars = part.count("[*]")
        name = part.replace("[*]", "")
        out.append((f"'{name}'" if "-" in name else name) + "[*]" * stars)
    return ".".join(out)


def _values(objects: dict[str, dict], node: object, prefix: str, refs: int = 1) -> collections.abc.Iterator:
    """(path key, string) for every string under ``node``; references followed one level."""
    if isinstance(node, str):
        yield prefix, node
    elif isinstance(node, dict):
        for k, v in node.items():
            if k == "type" and not prefix:
                continue
            path = f"{prefix}.{k}" if prefix else k
            if k.endswith("_ref") and isinstance(v, str):
                if refs and v in objects:
                    yield from _values(objects, objects[v], path, refs - 1)
            elif k.endswith("_refs") and isinstance(v, list):
                for r in v:
                    if refs and r in objects:
                        yield from _values(objects, objects[r], path + "[*]", refs - 1)
            else:
                yield from _values(objects, v, path, refs)
    elif isinstance(node, list):
        for item in node:
            yield from _values(objects, item, prefix + "[*]", refs)


def test_every_value_the_reader_makes_is_matched_alike(shared_data: Path, tmp_path: Path) -> None:
    """An equality indicator on every (object path, value) the EVE reader produces, from real
    samples and the kitchen sink: the vectorised path gives exactly the event path's alerts."""
    folder = shared_data / "telemetry/suricata"
    lines = b"".join(p.read_bytes() for p in sorted(folder.glob("suricata-verify/*.ndjson")))
    for array in sorted(folder.glob("eve_alerts_*.json")):  # pretty-printed arrays: one record a line
        lines += b"".join(orjson.dumps(r) + b"\n" for r in orjson.loads(array.read_bytes()))
    lines += b"".join(orjson.dumps(r) + b"\n" for r in KITCHEN_SINK)
    path = tmp_path / "eve.ndjson"
    path.write_bytes(lines)
    found: dict[tuple[str, str, str], None] = {}
    for ev in read_file(path):
        for obj in ev.objects.values():
            for key, value in _values(ev.objects, obj, ""):
                found[(obj["type"], key, value)] = None
    keys = {(t, k) for t, k, _ in found}
    assert {
        ("network-traffic", "extensions.http-request-ext.request_header.User-Agent"),
        ("network-traffic", "protocols[*]"),
        ("x509-certificate", "hashes.SHA-1"),
        ("x509-certificate", "issuer"),
        ("email-message", "to_refs[*].value"),
        ("domain-name", "resolves_to_refs[*].value"),
        ("file", "mime_type"),
    } <= keys
    assert keys <= COVERED | READER_ONLY, keys - COVERED - READER_ONLY
    records = [
        IndicatorRecord(
            f"indicator--{n}",
            "[{}:{} = '{}']".format(t, _steps(k), v.replace("\\", "\\\\").replace("'", "\\'")),
        )
        for n, (t, k, v) in enumerate(found)
    ]
    records += [IndicatorRecord(f"indicator--junk{n}", pattern) for n, pattern in enumerate(JUNK)]
    reference = MatchEngine()
    reference.load(records)
    expected = _count(reference.match(list(read_file(path))))
    assert not any(k[0].startswith("indicator--junk") for k in expected)
    reader_only = [f"[{t}:{_steps(k)} " for t, k in READER_ONLY]
    for vectorised in (True, False):  # without and with indicators only the event path answers
        chosen = [
            r for r in records if not (vectorised and any(r.pattern.startswith(p) for p in reader_only))
        ]
        engine = MatchEngine()
        assert engine.load(chosen).invalid == 0
        assert needs_events(engine) is not vectorised
        ids = {r.id for r in chosen}
        want = collections.Counter({k: n for k, n in expected.items() if k[0] in ids})
        got = _count(match_eve_file(engine, path).alerts)
        by_id = {r.id: r.pattern for r in chosen}
        missing = collections.Counter(by_id[k[0]].split(" = ")[0] for k in (want - got))
        extra = collections.Counter(by_id[k[0]].split(" = ")[0] for k in (got - want))
        assert got == want, (missing, extra)


def test_a_polars_panic_falls_back_to_the_event_path(eve_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """polars reports internal errors as pyo3's PanicException (a BaseException): a chunk that
    hits one is matched event by event instead of ending the run."""
    import colsec.match.vector as vector

    class PanicException(BaseException):  # noqa: N818 - the name pyo3 gives it
        pass

    def panic(*args: object, **kwargs: object) -> None:
        raise PanicException("assertion failed")

    reference = MatchEngine()
    reference.load(INDICATORS)
    expected = _count(reference.match(list(read_file(eve_file))))
    monkeypatch.setattr(vector, "prepare_eve_frame", panic)
    engine = MatchEngine()
    engine.load(INDICATORS)
    assert _count(match_eve_file(engine, eve_file).alerts) == expected
