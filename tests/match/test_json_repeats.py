"""A JSON record repeating a key: the column paths (polars keeps the first value) and the event
paths (the reader) make the same alerts, on the first value, whichever way the key is spelt."""

from __future__ import annotations

from pathlib import Path

import pytest

from colsec.match.columns import match_columns_file
from colsec.match.engine import IndicatorRecord, MatchEngine
from colsec.match.eve_file import match_eve_file
from colsec.match.jsonrecord import loads_first
from colsec.match.readers import ReaderFormat, read_file

FIRST, LAST = "198.51.100.7", "203.0.113.9"
FIRST_NAME, LAST_NAME = "first.example.com", "last.example.org"


#: per format: a record's head (%(n)d: its number), the address key, the object the name key
#: sits in ("" at the top) and the name key
_SHAPES = {
    "zeek-json": (
        '{"ts":1521911720.%(n)d,"uid":"C1","id.orig_h":"10.0.0.%(n)d","qtype_name":"A"',
        "id.resp_h",
        "",
        "query",
    ),
    "windows": (
        '{"@timestamp":"2020-10-22T02:21:%(n)02d.000Z","EventID":3,"Channel":"Microsoft-Windows-Sysmon/Operational","SourceIp":"10.0.0.%(n)d"',
        "DestinationIp",
        "",
        "DestinationHostname",
    ),
    "json": (
        '{"@timestamp":"2024-05-01T10:00:%(n)02d.000Z","src_ip":"10.0.0.%(n)d"',
        "dest_ip",
        "url",
        "domain",
    ),
    "eve": (
        '{"timestamp":"2024-05-01T10:00:%(n)02d.000000+0000","event_type":"dns","src_ip":"10.0.0.%(n)d"',
        "dest_ip",
        "dns",
        "rrname",
    ),
}


def _lines(fmt: str) -> list[str]:
    """Plain records, then one record per way of repeating a wanted key (the first value is
    FIRST / FIRST_NAME, the later LAST / LAST_NAME)."""
    head, ip, obj, name = _SHAPES[fmt]

    def named(*pairs: str) -> str:
        inner = ",".join(pairs)
        return f'"{obj}":{{{inner}}}' if obj else inner

    escaped = "".join(f"\\u{ord(c):04x}" for c in ip)
    repeats = [
        f'"{ip}":"{FIRST}","{ip}":"{LAST}",' + named(f'"{name}":"{FIRST_NAME}"', f'"{name}":"{LAST_NAME}"'),
        f'"{ip}" : "{FIRST}" ,\t"{ip}"\t:"{LAST}",' + named(f'"{name}"  :"{FIRST_NAME}"'),
        f'"{ip}":"{FIRST}","{escaped}":"{LAST}"',
        f'"{ip}":null,"{ip}":"{LAST}",' + named(f'"{name}":null', f'"{name}":"{LAST_NAME}"'),
    ]
    if obj:  # the object itself repeated: its first value is read whole
        repeats.append(named(f'"{name}":"{FIRST_NAME}"') + "," + named(f'"{name}":"{LAST_NAME}"'))
    plain = [head % {"n": n} + "}" for n in range(1, 40)]
    return plain + [head % {"n": 40 + n} + "," + r + "}" for n, r in enumerate(repeats)] + plain[:3]


def _engine() -> MatchEngine:
    engine = MatchEngine()
    engine.load(
        [
            IndicatorRecord(f"indicator--{n}", p)
            for n, p in enumerate(
                [
                    f"[ipv4-addr:value = '{FIRST}']",
                    f"[ipv4-addr:value = '{LAST}']",
                    f"[domain-name:value = '{FIRST_NAME}']",
                    f"[domain-name:value = '{LAST_NAME}']",
                    "[ipv4-addr:value ISSUBSET '10.0.0.0/24']",
                    "[url:value = 'http://never.example/']",  # "url" and "url.full" read too
                ]
            )
        ]
    )
    return engine


def _seen(alerts: list) -> list[tuple[str, int, tuple[tuple[str, str], ...]]]:
    return sorted((a.indicator_id, a.events[-1].line, tuple(sorted(a.matched))) for a in alerts)


@pytest.mark.parametrize("fmt", ["zeek-json", "windows", "json", "json with an object leaf", "eve"])
def test_repeated_keys_alert_alike_on_the_first_value(tmp_path: Path, fmt: str) -> None:
    """ "json with an object leaf": a "url.full" holding an object sends the chunk's "url" texts
    through polars' line reader (``columns.json._reread``) instead of ``json_decode``."""
    if fmt == "json with an object leaf":
        fmt = "json"
        lines = [
            *_lines(fmt),
            '{"@timestamp":"2024-05-01T10:01:00.000Z","url":{"full":{"x":1},"domain":"a.example"}}',
        ]
    else:
        lines = _lines(fmt)
    for line in lines:  # every line is JSON, and the repeats are real: orjson keeps the last
        assert isinstance(loads_first(line), dict)
    path = tmp_path / "repeats.ndjson"
    path.write_text("\n".join(lines) + "\n")
    if fmt == "eve":
        got = _seen(match_eve_file(_engine(), path).alerts)
    else:
        got = _seen(match_columns_file(_engine(), path, ReaderFormat(fmt)).alerts)
    expected = _seen(_engine().match(list(read_file(path, fmt=ReaderFormat(fmt)))))
    assert got == expected
    hit = {indicator for indicator, _, _ in got}
    assert {"indicator--0", "indicator--2"} <= hit  # the first values
    assert not hit & {"indicator--1", "indicator--3"}  # never the later ones
    assert sum(1 for i, _, _ in got if i == "indicator--4") >= 39


@pytest.mark.parametrize(
    ("line", "want"),
    [
        ('{"a":1,"a":2}', {"a": 1}),
        ('{"a" : 1 , "a"\t:\n2}', {"a": 1}),
        ('{"a":1,"\\u0061":2}', {"a": 1}),
        ('{"o":{"a":1,"a":2},"o":3}', {"o": {"a": 1}}),
        ('[{"a":1,"a":2}]', [{"a": 1}]),
        ('{"a":"x\\":y","b":2}', {"a": 'x":y', "b": 2}),  # a colon after an escaped quote: no repeat
        ('{"a":1,"b":2}', {"a": 1, "b": 2}),
        ("3", 3),
    ],
)
def test_loads_first(line: str, want: object) -> None:
    assert loads_first(line) == want
    assert loads_first(line.encode()) == want


_COMPACT = [
    b'{"a":1,"a":2}',
    b'{"o":{"a":1,"b":[1,{"c":2,"c":3}]},"o":{}}',
    b'{"a":"\\u0022:","a":"x"}',
    b'{"a":":x","b":{"":1,"":2}}',
    b'{"f":1.5,"g":-0.25e-3,"h":12345678901234567,"u":"\xc3\xa9\\u00e9","n":null,"t":true}',
    b'{"a":[],"b":{},"c":[[{"d":"\\\\"}]],"e":"x\\":y"}',
    b'[{"a":1,"a":2},{"a":3}]',
    b'{"timestamp":"2024-05-01T10:00:00.000000+0000","dns":{"rrname":"a.example","rrtype":"A"}}',
]


@pytest.mark.parametrize("line", _COMPACT)
def test_loads_first_compact_lines_keep_first_values(line: bytes) -> None:
    """Compact lines (a repeat, escapes, odd numbers and types) decode as the first-value reference."""
    import json

    def first(pairs: list[tuple[str, object]]) -> dict[str, object]:
        out: dict[str, object] = {}
        for k, v in pairs:
            out.setdefault(k, v)
        return out

    assert loads_first(line) == json.loads(line, object_pairs_hook=first)


def test_loads_first_takes_a_compact_line_without_counting_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """A line that is its record's own compact text needs no key count (the alerts' common case)."""
    from colsec.match import jsonrecord

    def no_count(value: object) -> int:
        raise AssertionError("counted")

    monkeypatch.setattr(jsonrecord, "_keys", no_count)
    line = b'{"timestamp":"2024-05-01T10:00:00.000000+0000","dns":{"rrname":"a.example","rrtype":"A"}}'
    assert loads_first(line)["dns"]["rrname"] == "a.example"
    with pytest.raises(AssertionError):  # a repeated key still goes to the count
        loads_first(b'{"dns":{"rrname":"a.example","rrname":"b.example"},"x":1}')
