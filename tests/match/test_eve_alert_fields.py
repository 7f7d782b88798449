"""EVE alerts from columns carry what the event path's carry: indicator metadata and matched
pairs, also when an indicator alerts again in a later chunk (its metadata then comes from
what earlier chunks gathered)."""

from __future__ import annotations

import collections
from pathlib import Path

import orjson

from colsec.match.engine import Alert, IndicatorRecord, MatchEngine
from colsec.match.eve_file import match_eve_file
from colsec.match.readers import read_file

INDICATORS = [
    IndicatorRecord("indicator--a", "[ipv4-addr:value = '10.0.0.1']", owner="org-a", tlp="amber", name="A"),
    IndicatorRecord("indicator--b", "[ipv4-addr:value = '10.0.0.2']", owner=None, tlp="red", name=None),
    IndicatorRecord(
        "indicator--c", "[domain-name:value = 'evil.example']", owner="org-c", tlp=None, name="C"
    ),
    IndicatorRecord(
        "indicator--d", "[network-traffic:dst_ref.value = '10.0.0.2']", owner="org-d", tlp="green"
    ),
    IndicatorRecord(
        "indicator--e", "[ipv4-addr:value ISSUBSET '10.9.9.0/24']", owner="org-e", tlp="clear", name="E"
    ),
]


def _lines() -> list[bytes]:
    out = []
    for i in range(400):
        src, dst = (
            ("10.0.0.1", "10.0.0.2"),
            ("10.0.0.2", "10.0.0.2"),
            ("192.0.2.1", "10.9.9.7"),
            ("192.0.2.1", "192.0.2.2"),
        )[i % 4]
        rec: dict[str, object] = {
            "timestamp": f"2024-05-01T10:00:{i % 60:02d}.{i:06d}+0000",
            "event_type": "dns",
            "src_ip": src,
            "dest_ip": dst,
            "proto": "UDP",
        }
        if i % 3 == 0:
            rec["dns"] = {"type": "query", "rrname": "evil.example" if i % 6 == 0 else "good.example"}
        out.append(orjson.dumps(rec))
    return out


def _fields(alerts: list[Alert]) -> collections.Counter[tuple[object, ...]]:
    return collections.Counter(
        (a.indicator_id, a.owner, a.tlp, a.name, a.events[-1].line, a.events[-1].ts, tuple(a.matched))
        for a in alerts
    )


def test_alert_fields_equal_the_event_path_across_chunks(tmp_path: Path) -> None:
    path = tmp_path / "eve.json"
    path.write_bytes(b"\n".join(_lines()) + b"\n")
    reference = MatchEngine()
    reference.load(INDICATORS)
    expected = reference.match(list(read_file(path)))
    engine = MatchEngine()
    engine.load(INDICATORS)
    got = match_eve_file(engine, path, batch_bytes=4096).alerts  # many chunks: indicators alert again
    assert _fields(got) == _fields(expected)
    assert {a.indicator_id for a in got} == {i.id for i in INDICATORS}
    again = match_eve_file(engine, path, batch_bytes=1 << 20).alerts  # a second run, kept metadata
    assert _fields(again) == _fields(expected)


# One value reaching one STIX path from several EVE fields (or list items): the reader makes
# one object per distinct address, name, URL or e-mail address, so the event path matches it once.
DUPLICATES: list[dict[str, object]] = [
    {"src_ip": "10.0.0.1", "dest_ip": "10.0.0.1", "proto": "TCP"},
    {
        "src_ip": "10.9.9.1",
        "dest_ip": "10.9.9.1",
        "dns": {
            "type": "answer",
            "rrname": "evil.example",
            "rdata": "10.9.9.3",
            "answers": [
                {"rdata": "Evil.Example."},
                {"rdata": "10.9.9.2"},
                {"rdata": "10.9.9.1"},
                {"rdata": "evil.example"},
                {"rdata": "10.9.9.2"},
                {"rdata": "b.evil.example"},
            ],
            "queries": [{"rrname": "a.evil.example"}, {"rrname": "evil.example"}],
        },
    },
    {  # not a shape Suricata writes, but the reader takes all three
        "src_ip": "192.0.2.1",
        "dest_ip": "10.9.9.9",
        "http": {"hostname": "c.evil.example", "url": "/x"},
        "dns": {
            "rrname": "d.evil.example",
            "queries": [{"rrname": "c.evil.example"}, {"rrname": "evil.example"}],
        },
        "tls": {"sni": "EVIL.example"},
    },
    {
        "src_ip": "2001:DB8::1",
        "dest_ip": "2001:db8:0:0::1",
        "dns": {"rrname": "v6.example", "answers": [{"rdata": "2001:db8::2"}, {"rdata": "2001:db8::1"}]},
    },
    {"email": {"from": "m@evil.example", "to": ["<M@Evil.Example>", "m@evil.example", "x@evil.example"]}},
]
DUPLICATE_INDICATORS = [
    *INDICATORS,
    IndicatorRecord("indicator--sfx", "[domain-name:value LIKE '%.evil.example']"),
    IndicatorRecord("indicator--v6", "[ipv6-addr:value = '2001:db8::1']"),
    IndicatorRecord("indicator--v6net", "[ipv6-addr:value ISSUBSET '2001:db8::/32']"),
    IndicatorRecord("indicator--mail", "[email-addr:value = 'm@evil.example']"),
    IndicatorRecord("indicator--to", "[email-message:to_refs[*].value = 'm@evil.example']"),
]


def test_matched_values_equal_the_event_path_when_fields_repeat_a_value(tmp_path: Path) -> None:
    """Each alert's matched pairs are the event path's exactly: same pairs, same count, same order."""
    path = tmp_path / "eve.json"
    lines = [
        orjson.dumps({"timestamp": f"2024-05-01T10:00:0{i}+0000", "event_type": "dns", **rec})
        for i, rec in enumerate(DUPLICATES)
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    reference = MatchEngine()
    reference.load(DUPLICATE_INDICATORS)
    expected = reference.match(list(read_file(path)))
    engine = MatchEngine()
    engine.load(DUPLICATE_INDICATORS)
    got = match_eve_file(engine, path).alerts

    def exact(alerts: list[Alert]) -> collections.Counter[tuple[object, ...]]:
        return collections.Counter((a.indicator_id, a.events[-1].line, tuple(a.matched)) for a in alerts)

    assert exact(got) == exact(expected)
    silent = {"indicator--b", "indicator--d"}  # no 10.0.0.2 in these lines
    assert {a.indicator_id for a in got} == {i.id for i in DUPLICATE_INDICATORS} - silent
    assert max(len(a.matched) for a in expected) > 1  # some alert carries several values
