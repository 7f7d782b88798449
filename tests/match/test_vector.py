"""The vectorised EVE path gives exactly the alerts of the event-by-event path."""

from __future__ import annotations

import collections
from pathlib import Path

import orjson
import polars as pl
import pytest

from colsec.match.engine import IndicatorRecord, MatchEngine
from colsec.match.eve_file import ChunkLines, _newlines, match_eve_file
from colsec.match.readers import read_file, read_lines
from colsec.match.vector import match_eve_frame

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


def _count(alerts: list) -> collections.Counter[tuple[str, int]]:
    return collections.Counter((a.indicator_id, a.events[-1].line) for a in alerts)


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
