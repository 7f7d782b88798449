"""The readers' batch loops (``rows``: a column chunk's hit rows) read and count every line as
``decode_line`` does, line by line: the same events field for field, the same stats."""

from __future__ import annotations

import random

import orjson
import pytest

from colsec.match.readers import DECODERS, FieldMapping, ReaderFormat, ReaderStats, decode_line
from colsec.match.readers.formats import MAX_LINE


def _dump(ev: object) -> object:
    if ev is None:
        return None
    return (ev.source, ev.line, ev.ts, orjson.dumps(ev.objects, option=orjson.OPT_SORT_KEYS),  # type: ignore[attr-defined]
            orjson.dumps(ev.raw, option=orjson.OPT_SORT_KEYS, default=repr))  # type: ignore[attr-defined]  # fmt: skip


def _same(fmt: ReaderFormat, head: list[str], lines: list[str], mapping: dict | None = None) -> int:
    """``lines`` through one decoder line by line and through another's ``rows``; returns the
    events made."""
    one = DECODERS[fmt](fmt, FieldMapping(mapping) if mapping else None)
    many = DECODERS[fmt](fmt, FieldMapping(mapping) if mapping else None)
    for i, line in enumerate(head):
        for dec in (one, many):
            decode_line(dec, line + "\n", i + 1, ReaderStats())
    first = len(head) + 1
    s_one, s_many = ReaderStats(), ReaderStats()
    want = [_dump(decode_line(one, t + "\n", first + i, s_one)) for i, t in enumerate(lines)]
    got = [_dump(ev) for ev in many.rows(lines, [first + i for i in range(len(lines))], s_many)]  # type: ignore[attr-defined]
    assert got == want
    assert (s_many.lines, s_many.events, s_many.malformed, s_many.reasons, s_many.examples) == (
        s_one.lines, s_one.events, s_one.malformed, s_one.reasons, s_one.examples)  # fmt: skip
    return sum(e is not None for e in want)


_ODD = ["", "   ", "\r", "#x,y", "x" * MAX_LINE, " " * MAX_LINE]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", '"'])
def test_csv_rows_are_decode_line(delimiter: str) -> None:
    r = random.Random(5)
    d = delimiter
    lines = [
        d.join([f"{1714557600 + n / 1000:.3f}", f"10.{n % 7}.{n % 250}.{n % 99}", str(n), f" H{n}.Example.COM. ", "é"])
        for n in range(300)
    ]  # fmt: skip
    lines += [
        f'1714557600,"10.0.0.1{d}x",1,"a ""b"" c",z',  # quoted, the delimiter inside
        "1714557600,10.0.0.2,1,ü.example.com,\r",  # a CR before the line end
        f"1714557600{d}10.0.0.3",  # too few columns
        f"soon{d}10.0.0.4{d}1{d}x.example.com{d}y",  # no readable timestamp
        f"2024-05-01T10:00:00Z{d}::FFFF:10.0.0.5{d}-{d}-{d}",  # ISO time, a mapped IPv6 address, placeholders
        f"1714557600{d}{d}{d}{d}{d}{d}extra",  # empty fields, more than the columns
        f'"1714557600"{d}"10.0.0.6"{d}1{d}"w.example.com"{d}"\x00"',
        *_ODD,
    ]
    r.shuffle(lines)
    spec = {
        "columns": ["t", "ip", "n", "host", "note"],
        "delimiter": d,
        "timestamp": "t",
        "fields": {"ip": "network-traffic:dst_ref.value", "n": "network-traffic:dst_port", "host": "domain-name:value",
                   "note": "x-note:value"},
    }  # fmt: skip
    assert _same(ReaderFormat.CSV, [], lines, spec) > 250


def test_csv_rows_before_the_header_read_it() -> None:
    spec = {"timestamp": "t", "fields": {"ip": "ipv4-addr:value"}}
    assert _same(ReaderFormat.CSV, [], ["t,ip", "1714557600,10.0.0.1", "1714557601,10.0.0.2"], spec) == 2


def test_zeek_rows_are_decode_line() -> None:
    fields = ["ts", "uid", "id.orig_h", "id.resp_h", "id.resp_p", "proto", "query", "answers", "AA"]
    types = ["time", "string", "addr", "addr", "port", "enum", "string", "vector[string]", "bool"]
    head = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", "#path\tdns"]
    head += ["#fields\t" + "\t".join(fields), "#types\t" + "\t".join(types)]
    rows = [
        [f"{1521911720 + n}.5", f"C{n}", f"10.0.0.{n % 250}", "10.9.9.9", "53", "udp", f"h{n}.Example.com.",
         f"a{n}.example.net,10.1.{n % 9}.{n % 200}", "T" if n % 2 else "F"]
        for n in range(200)
    ]  # fmt: skip
    rows += [
        ["-", "Cx", "-", "10.9.9.8", "-", "-", "-", "-", "-"],
        ["1521911901.0", "Cy", "10.0.1.1", "10.9.9.7", "x", "tcp", "(empty)", "(empty)", "F"],  # a bad port
        ["1521911902.0", "Cz", "10.0.1.2", "-", "53", "UDP", "ü.example.org", "(empty),-,,10.2.0.1", "T"],
        ["1521911903.0", "Cw"],  # too few fields
    ]
    lines = ["\t".join(r) for r in rows] + ["\t".join(rows[0]) + "\r", *_ODD[:3], _ODD[4], _ODD[5]]
    random.Random(3).shuffle(lines)
    assert _same(ReaderFormat.ZEEK_TSV, head, lines) > 190
    # a header line among the rows takes the reader's own path
    assert _same(ReaderFormat.ZEEK_TSV, head, ["#path\tconn", *lines[:20]]) > 10
