"""A batch of stream messages through the column paths: the alerts of the line-by-line path,
and a redelivered message of many events never counted twice.

Real lines from the shared data (Zeek DNS and SSL, Suricata EVE alerts, Sysmon from OTRF,
older Bro records wrapped by log type, syslog) mixed in one stream as a broker would carry
them, with an equality indicator planted on every value their readers make.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from colsec.db import Database
from colsec.match.engine import IndicatorRecord, MatchEngine
from colsec.match.message_batch import BatchMatcher, detect_formats
from colsec.match.models import MatchAlert, MatchSightingCount
from colsec.match.readers import ReaderFormat, detect_format
from colsec.match.service import build_engine, sighter_identity
from colsec.match.stream import Message, MessageDecoder, commit_batch, publish_sightings
from colsec.store.service import import_objects

from .test_service import ZEEK_DNS, indicator
from .test_vector import _steps, _values

Account = Any


def _mixed(shared_data: Path) -> list[str]:
    """Lines of every JSON kind and syslog, interleaved, with a few broken ones among them."""
    tel = shared_data / "telemetry"
    sources = [
        (tel / "zeek" / "wrccdc2018_dns.head10000.ndjson").read_text().splitlines()[:700],
        (tel / "zeek" / "wrccdc2018_ssl.head8000.ndjson").read_text().splitlines()[:500],
        [
            orjson.dumps(r).decode()
            for r in orjson.loads((tel / "suricata" / "eve_alerts_wrccdc-2018.json").read_bytes())
        ][:400],
        (tel / "windows" / "otrf_cmd_bitsadmin_download_psh_script.sysmon_security.ndjson")
        .read_text()
        .splitlines()[:300],
        (tel / "zeek" / "bro_json_wrapped.metron.ndjson").read_text().splitlines()[:60],
        [
            "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8 from 203.0.113.9",
            '{"broken',
            '{"event_type": null, "timestamp": "2018-03-24T14:37:19.037299-0600", "src_ip": "10.0.0.1"}',
        ]
        * 5,
    ]
    out: list[str] = []
    for i in range(max(map(len, sources))):
        out.extend(s[i] for s in sources if i < len(s))
    return out


def _planted(lines: list[str]) -> list[IndicatorRecord]:
    found: dict[tuple[str, str, str], None] = {}
    for ev in MessageDecoder().decode(Message(i + 1, line) for i, line in enumerate(lines)):
        for obj in ev.objects.values():
            for key, value in _values(ev.objects, obj, ""):
                found[(obj["type"], key, value)] = None
    records = [
        IndicatorRecord(
            f"indicator--{n}",
            "[{}:{} = '{}']".format(t, _steps(k), v.replace("\\", "\\\\").replace("'", "\\'")),
        )
        for n, (t, k, v) in enumerate(found)
    ]
    return [
        *records,
        IndicatorRecord("indicator--cidr", "[ipv4-addr:value ISSUBSET '10.47.0.0/16']"),
        IndicatorRecord("indicator--like", "[domain-name:value LIKE '%.wrccdc.org']"),
        IndicatorRecord(
            "indicator--two",
            "[domain-name:value = 'ise.wrccdc.org'] FOLLOWEDBY [ipv4-addr:value = '10.47.1.100']",
        ),
    ]


def _alerts(alerts: list[Any]) -> collections.Counter[tuple[str, tuple[int, ...]]]:
    return collections.Counter((a.indicator_id, tuple(e.line for e in a.events)) for a in alerts)


def _messages(lines: list[str], per: int) -> list[Message]:
    return [Message(i // per + 1, "\n".join(lines[i : i + per])) for i in range(0, len(lines), per)]


@pytest.mark.slow
@pytest.mark.parametrize("per", [1, 37])
def test_a_batch_alerts_as_the_line_by_line_path(shared_data: Path, per: int) -> None:
    """Columns for the covered paths only, then every path (some formats read line by line)."""
    lines = _mixed(shared_data)
    records = _planted(lines)
    covered = [r for r in records if r.pattern.startswith(("[ipv4-addr:value", "[domain-name:value"))]
    assert len(covered) > 300
    messages = _messages(lines, per)
    for chosen in (covered, records):
        reference, engine = MatchEngine(), MatchEngine()
        assert reference.load(chosen).invalid == 0 and engine.load(chosen).invalid == 0
        matcher, expected, got, raw = BatchMatcher(), [], [], []
        matcher.min_rows = 1  # columns for every group, however small
        for i in range(0, len(messages), 1000 // per):
            batch = messages[i : i + 1000 // per]
            expected += reference.match(MessageDecoder().decode(batch))
            got += matcher.match(engine, batch)
            raw += matcher.match_payloads(engine, [m.seq for m in batch], [m.line.encode() for m in batch])
        assert _alerts(got) == _alerts(expected) == _alerts(raw)
        assert len(expected) > 500
        if chosen is covered:  # the columns cleared lines no reader then read
            assert matcher.unread > 100


def test_formats_are_detected_as_line_by_line(shared_data: Path) -> None:
    lines = _mixed(shared_data)
    tricky = [
        '{"dns": {"uid": "C1", "ts": 1.5, "id.orig_h": "10.0.0.1"}}',  # one key wrapping a Zeek record
        '{"uid": {"uid": "C1"}}',
        '{"uid": "C1", "ts": null}',
        '{"EventID": 1, "Channel": null}',
        '{"EventID": 1, "SourceName": "Sysmon"}',
        '{"note": "the text \\"event_type\\" and \\"timestamp\\" in a value"}',
        '{"timestamp": "x", "event_type": "dns", "_path": "dns"}',
        "[1, 2]",
        "CEF:0|Security|threatmanager|1.0|100|worm stopped|10|src=10.0.0.1",
        "  ",
    ]
    for sample in (lines, tricky, [*tricky, *lines]):
        assert detect_formats(sample) == [detect_format([line]) for line in sample]


def test_a_redelivered_message_of_many_events_is_never_counted_twice(
    database: Database, make_account: Callable[..., Account]
) -> None:
    """Messages of three events each, delivered again in part and whole: alerts and counts once."""
    a = make_account(org="ORG-A")
    ind = indicator("[domain-name:value = 'ise.wrccdc.org']")
    with database.unit_of_work() as s:
        import_objects(s, actor=a.actor, objects=[ind])
    with database.unit_of_work(write=False) as s:
        engine, _ = build_engine(s, actor=a.actor)
        sighter = sighter_identity(s, actor=a.actor)
    other = ZEEK_DNS.replace("ise.wrccdc.org", "unrelated.example.org")
    bodies = {1: ZEEK_DNS * 3, 2: ZEEK_DNS + other + ZEEK_DNS, 3: other * 2, 4: (ZEEK_DNS * 2).rstrip()}
    matcher = BatchMatcher()

    def deliver(seqs: list[int]) -> int:
        alerts = matcher.match(engine, [Message(q, bodies[q]) for q in seqs])
        with database.unit_of_work() as s:
            done = commit_batch(s, actor=a.actor, key="S@t/c", seqs=seqs, alerts=alerts, sighter=sighter)
        return len(done.alerts)

    assert deliver([1, 2]) == 5
    assert deliver([2, 1, 3, 4]) == 2  # only message 4's two events are new
    assert deliver([4, 3, 2, 1]) == 0
    with database.unit_of_work() as s:
        assert publish_sightings(s, actor=a.actor, sighter=sighter) == 1
    with database.unit_of_work(write=False) as s:
        assert s.execute(select(MatchSightingCount.count)).scalar_one() == 7
        seqs = s.execute(select(MatchAlert.seq).order_by(MatchAlert.seq)).scalars().all()
        assert seqs == [1, 2, 4]  # one row per message and indicator
        assert s.execute(select(func.count()).select_from(MatchAlert)).scalar_one() == 3


def test_a_message_of_lines_is_one_event_a_line_and_a_pretty_printed_record_one_event() -> None:
    zeek = ZEEK_DNS.strip()
    pretty = orjson.dumps(orjson.loads(zeek), option=orjson.OPT_INDENT_2).decode()
    events = MessageDecoder().decode([Message(5, f"{zeek}\r\n\n{zeek}\n"), Message(6, pretty)])
    assert [(e.line, e.objects) for e in events] == [(5, events[0].objects)] * 2 + [(6, events[0].objects)]


@pytest.mark.parametrize("min_rows", [1, 500])
def test_raw_payloads_match_as_their_decoded_messages(shared_data: Path, min_rows: int) -> None:
    """Payloads of one plain line take the joined-chunk path; any other message (lines, a missing
    or a trailing newline, a blank one, a Fluent Bit flush, bytes that are no UTF-8, a format
    header) is matched exactly as ``match`` matches its decoded message."""
    lines = _mixed(shared_data)[:1200]
    records = _planted(lines)
    engine = MatchEngine()
    assert engine.load(records).invalid == 0
    zeek = ZEEK_DNS.strip()
    pretty = orjson.dumps(orjson.loads(zeek), option=orjson.OPT_INDENT_2).decode()
    odd = [
        f"{zeek}\n",  # a trailing newline
        f"{zeek}\r\n\n{zeek}",  # two lines, a blank between, no trailing newline
        pretty,
        "   ",
        "",
        orjson.dumps([[1.5, orjson.loads(zeek)], [2.5, {"a": 1}]]).decode(),
        f" {zeek}",  # a line after whitespace, and one that is not JSON
        "\u00a0",
    ]
    plain = [line.encode() for line in lines]
    variants: list[tuple[list[bytes], list[Any] | None]] = [
        (plain, None),
        (plain[:-1] + [b'{"ts": 1.5, "uid": "C\xff\xfe", "query": "ise.wrccdc.org"}'], None),
        (plain[:600] + [o.encode() for o in odd] + plain[600:], None),
        (plain, [ReaderFormat.ZEEK_JSON if i % 3 == 0 else None for i in range(len(plain))]),
    ]
    for (payloads, fmts), whole in zip(variants, (True, True, False, True), strict=True):
        seqs = [10 + 2 * i for i in range(len(payloads))]
        matcher, reference = _Counting(), BatchMatcher()
        matcher.min_rows = reference.min_rows = min_rows
        messages = [
            Message(q, p.decode("utf-8", "replace"), fmts[i] if fmts else None)
            for i, (q, p) in enumerate(zip(seqs, payloads, strict=True))
        ]
        expected = reference.match(engine, messages)
        got = matcher.match_payloads(engine, seqs, payloads, fmts)
        assert _alerts(got) == _alerts(expected)
        assert matcher.by_message == (0 if whole else 1)  # the joined chunk, or each message decoded
        assert len(expected) > 100
        assert (matcher.stats.lines, matcher.stats.events, matcher.stats.malformed) == (
            reference.stats.lines,
            reference.stats.events,
            reference.stats.malformed,
        )
    assert BatchMatcher().match_payloads(engine, [], []) == []


class _Counting(BatchMatcher):
    """Counts the fetches ``match_payloads`` leaves to ``match``."""

    by_message = 0

    def match(self, engine: MatchEngine, messages: Sequence[Message]) -> list[Any]:
        self.by_message += 1
        return super().match(engine, messages)
