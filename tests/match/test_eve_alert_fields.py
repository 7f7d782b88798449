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
    # matched pairs as a set: where two columns feeding one path hold the same value (src_ip and
    # dest_ip both 10.0.0.2 for ipv4-addr:value) the columns give the pair twice, the event once
    return collections.Counter(
        (a.indicator_id, a.owner, a.tlp, a.name, a.events[-1].line, a.events[-1].ts, frozenset(a.matched))
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
    exact = collections.Counter((a.indicator_id, a.events[-1].line, tuple(a.matched)) for a in got)
    assert exact == collections.Counter((a.indicator_id, a.events[-1].line, tuple(a.matched)) for a in again)
