"""Edge lines of the delimited and text formats: the column path's alerts stay the event path's,
and the readers' faster spellings (CSV split, IPv4 runs, CEF key split) read as before."""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

import numpy as np

from colsec.match.columns import match_columns_file
from colsec.match.columns.lines import Lines, unspaced
from colsec.match.columns.text import syslog_columns
from colsec.match.engine import IndicatorRecord, MatchEngine
from colsec.match.readers import FieldMapping, ReaderFormat
from colsec.match.readers.cef import parse_cef
from colsec.match.readers.text import syslog_event

from .test_columns import YEAR, _count, _equal, _reference

#: the bounded pattern the syslog reader's IPv4 addresses were found with: a quad that is a
#: token by itself (no ASCII letter, '_' or '-' against it: a range is no address)
_IPV4 = re.compile(
    r"(?<![\d.A-Za-z_-])(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}"
    r"(?![\d.A-Za-z_-])"
)


def test_syslog_addresses_are_the_bounded_pattern() -> None:
    r = random.Random(11)
    alphabet = [*"0123456789....a -/_,:", "255", "256", "1.2.3.4", "\u0663", "00", "10.0.0."]
    texts = [
        "1.2.3.4.5 01.2.3.4 256.1.1.1 a1.2.3.4b 1.2.3.4. .1.2.3.4 9.9.9.9/24 255.255.255.255",
        "0x0,10.0.0.0-10.255.255.255,US 1.2.3.4abc x_5.6.7.8 (9.9.9.9) outside:10.1.1.1/443",
        "\u0661.\u0662.\u0663.\u0664 10.0.0.1",
    ]
    texts += ["".join(r.choice(alphabet) for _ in range(r.randrange(30))) for _ in range(3000)]
    for text in texts:
        ev = syslog_event(f"Jan  5 05:38:59 fw {text}", 1, 2024)
        assert ev is not None
        got = sorted({o["value"] for o in ev.objects.values() if o["type"] == "ipv4-addr"})
        assert got == sorted(set(_IPV4.findall(text))), text


def test_a_range_is_no_address(shared_data: Path, tmp_path: Path) -> None:
    """Palo Alto's location range ``10.0.0.0-10.255.255.255`` (and any run joined to a longer
    token) is no observed address, on the columns as on the event path; both paths equal."""
    path = tmp_path / "paloalto.log"
    path.write_bytes((shared_data / "telemetry/firewall/paloalto_threat_traffic.metron.log").read_bytes())
    path.write_text(path.read_text() + "Jan  5 05:38:59 fw 1.2.3.4abc,x_5.6.7.8 (9.9.9.9)\n")
    joined = ["10.0.0.0", "10.255.255.255", "192.168.0.0", "1.2.3.4", "5.6.7.8"]
    records = [IndicatorRecord(f"indicator--{n}", f"[ipv4-addr:value = '{a}']") for n, a in enumerate(joined)]
    records.append(IndicatorRecord("indicator--alone", "[ipv4-addr:value = '9.9.9.9']"))
    for run in ("columns", "events"):
        engine = MatchEngine()
        engine.load(records)
        alerts = (
            match_columns_file(engine, path, ReaderFormat.SYSLOG, year=YEAR).alerts
            if run == "columns"
            else _reference(engine, path, ReaderFormat.SYSLOG, lambda: None)
        )
        assert [a.indicator_id for a in alerts] == ["indicator--alone"], run
    assert _equal(path, ReaderFormat.SYSLOG) > 0


def test_cef_extension_keys_and_escapes() -> None:
    line = (
        r"CEF:0|V\|x|P|1|9|N|3|src=10.0.0.1 request=http://a.example.com/?q\=1&r=2 msg=a\\b\=c\nd "
        r"destinationHostName=b.example.com dhost=c.example.com cs1= cs1Label=x\y=z"
    )
    parsed = parse_cef(line)
    assert parsed is not None
    head, ext = parsed
    assert head == ["CEF:0", "V|x", "P", "1", "9", "N", "3"]
    assert ext == {
        "src": "10.0.0.1",
        "request": "http://a.example.com/?q=1&r=2",
        "msg": "a\\b=c\nd",
        "dhost": "c.example.com",  # the later of a short and a full name
        "cs1": "",
        "cs1Label": "x\\y=z",
    }


def test_csv_record_is_what_csv_reader_reads() -> None:
    r = random.Random(5)
    alphabet = [*'ab ,;\t"\r\x00x.\u00e9', '""']
    for delimiter in (",", ";", "\t", " "):
        mapping = FieldMapping(
            {"fields": {"a": "ipv4-addr:value"}, "columns": ["a", "b"], "delimiter": delimiter}
        )
        for _ in range(5000):
            text = "".join(r.choice(alphabet) for _ in range(r.randrange(15)))
            for line in (text, text + "\n"):
                try:
                    row = next(csv.reader([line], delimiter=delimiter), None)
                    want: object = (
                        None if row is None or len(row) < 2 else dict(zip(["a", "b"], row, strict=False))
                    )
                except csv.Error:
                    want = csv.Error
                try:
                    got: object = mapping.csv_record(line)
                except csv.Error:
                    got = csv.Error
                assert got == want, repr(line)


def test_csv_quoted_fields(tmp_path: Path) -> None:
    rows = [f'{1714557600 + n},10.0.{n % 9}.{n % 250},h{n}.example.com,"a, b"' for n in range(200)]
    rows += [
        '1714557900,"10.3.0.1","q.example.com","x ""y"" z"',
        '1714557901,"10.3.0.2",",r.example.com",""',
        '1714557902,10.3.0.3,"s.example.com,t.example.com",-',
        "1714557903,-,,",
        '1714557904,"10.3.0.4""",u.example.com,x',
    ]
    path = tmp_path / "quoted.csv"
    path.write_text("when,addr,name,note\n" + "\n".join(rows) + "\n")
    spec = {
        "timestamp": "when",
        "fields": {"addr": "network-traffic:dst_ref.value", "name": "domain-name:value"},
    }
    assert _equal(path, ReaderFormat.CSV, lambda: FieldMapping(spec)) > 200


def test_csv_awkward_addresses_on_block_edges(tmp_path: Path) -> None:
    """Texts that are no dotted quad (or no canonical one) beside the edges of /8, /16, /24 and
    /12 blocks: the column path's octet prefixes hit exactly what the event path's do."""
    awkward = [
        "010.0.0.1", "10.0.0.1 ", " 10.0.1.1", "10.0.1", "10.0.1.2.3", "10.0.1.", "255.255.255.255",
        "0.0.0.0", "256.0.1.1", "::ffff:10.0.1.9", "::ffff:a00:102", "2001:db8::1", "", "10.0.0.255",
        "10.0.2.0", "10.0.1.255", "10.1.0.0", "10.15.255.255", "10.16.0.0", "9.255.255.255", "11.0.0.0",
        "10.00.1.1", "+10.0.1.1", "+10.16.0.1", "10.+0.1.1", "-10.0.1.1",
    ]  # fmt: skip
    rows = [f"{1714557600 + n},10.{n % 3}.{n % 4}.{n % 250},h{n}.example.com" for n in range(200)]
    rows += [f"{1714557800 + n},{a},x{n}.example.com" for n, a in enumerate(awkward)]
    path = tmp_path / "edges.csv"
    path.write_text("when,addr,name\n" + "\n".join(rows) + "\n")
    spec = {"timestamp": "when", "fields": {"addr": "ipv4-addr:value", "name": "domain-name:value"}}
    assert _equal(path, ReaderFormat.CSV, lambda: FieldMapping(spec)) > 200


def test_zeek_tsv_unset_empty_and_sets(tmp_path: Path) -> None:
    fields = ["ts", "uid", "id.orig_h", "id.resp_h", "proto", "query", "answers", "TTLs"]
    types = ["time", "string", "addr", "addr", "enum", "string", "vector[string]", "vector[interval]"]
    rows = [
        [f"{1521911720 + n}.5", f"C{n}", f"10.0.0.{n % 250}", "10.9.9.9", "udp", f"h{n}.example.com",
         f"a{n}.example.net,10.1.{n % 9}.{n % 200}", "60.0,60.0"]
        for n in range(150)
    ]  # fmt: skip
    rows += [
        ["1521911900.0", "Cx", "-", "10.9.9.8", "-", "-", "-", "-"],
        ["1521911901.0", "Cy", "10.0.1.1", "10.9.9.7", "tcp", "(empty)", "(empty)", "(empty)"],
        ["1521911902.0", "Cz", "10.0.1.2", "-", "UDP", "Mixed.Example.COM.", "x.example.org,-,(empty),10.2.0.1", "1"],
        ["1521911903.0", "Cw", "10.0.1.3", "10.9.9.6", "udp", "", ",10.2.0.2,", ""],
    ]  # fmt: skip
    head = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", "#path\tdns"]
    head += ["#fields\t" + "\t".join(fields), "#types\t" + "\t".join(types)]
    path = tmp_path / "dns.log"
    path.write_text("\n".join(head + ["\t".join(r) for r in rows] + ["#close\t2018-03-24-17-00-00"]) + "\n")
    assert _equal(path, ReaderFormat.ZEEK_TSV) > 150


def test_syslog_without_structured_data(tmp_path: Path) -> None:
    lines = [
        f"<134>May  1 10:00:{n % 60:02d} proxy squid[1]: 10.0.{n % 7}.{n} GET http://h{n}.example.com/x - DIRECT"
        for n in range(100)
    ]
    lines += [
        "<13>1 2024-05-01T10:00:00Z host app - - - connect from 10.4.0.1 to evil.example.com",
        "<13>1 2024-05-01T10:00:01.5+02:00 host app 42 ID7 - plain message mail.example.org.",
        "May  1 10:00:02 host sshd[9]: Failed password from 10.4.0.2 port 22 ssh2",
        "2024-05-01 10:00:03 fw deny 10.4.0.3:443 -> 10.4.0.4:80 https://X.Example.NET:8443/a?b=c,",
        "1714557600.25 fw 10.4.0.5/24 999.1.1.1 1.2.3.4.5 host-name.example.com. done",
        "no timestamp here 10.4.0.6 ghost.example.com",
    ]
    path = tmp_path / "plain.log"
    path.write_text("\n".join(lines) + "\n")
    assert _equal(path, ReaderFormat.SYSLOG) > 100


def test_cef_escaped_line_ends_and_python_spaces(tmp_path: Path) -> None:
    """Values the reader unescapes to a line end, or strips of spaces Rust does not call
    spaces (``\\x1c``..``\\x1f``), are offered as the reader reads them."""
    head = "<134>May  1 10:00:00 proxy CEF:0|V|P|1|9|N|3|"
    lines = [f"{head}src=10.0.0.{n} dst=10.0.1.{n} dhost=h{n}.example.com suser=u{n}" for n in range(100)]
    lines += [
        head + r"src=10.0.2.1 suser=a\nb requestMethod=G\rET request=http://x.example.com/a\\nb",
        head + "src=\x1c10.0.2.2\x1d suser=\x1fpadded\x1e duser=c\\=d\\\\\\ne",
        head + r"sourceAddress=10.0.2.3 src=10.0.2.4 requestClientApplication=M\|z\\n",
    ]
    path = tmp_path / "escaped.cef"
    path.write_text("\n".join(lines) + "\n")
    assert _equal(path, ReaderFormat.CEF) > 100


def test_csv_and_zeek_tsv_over_many_chunks(tmp_path: Path) -> None:
    """Chunks after the first are parsed ahead, beside the matching of the one before: with
    the header read from the first chunk alone (CSV columns, Zeek fields), and a chunk polars
    refuses in the middle still taking the event path."""
    rows = [f"{1714557600 + n},10.{n % 7}.{n % 250}.{n % 99},h{n % 500}.example.com,{n}" for n in range(4000)]
    rows[2500] = '1714560100,10.9.9.9,"split\nline.example.com",x'  # a quoted line end: one row, two lines
    path = tmp_path / "many.csv"
    path.write_text("when,addr,name,note\n" + "\n".join(rows) + "\n")
    assert path.stat().st_size > 2 << 16  # three chunks at least of ``_equal``'s 64 KiB
    spec = {"timestamp": "when", "fields": {"addr": "ipv4-addr:value", "name": "domain-name:value"}}
    assert _equal(path, ReaderFormat.CSV, lambda: FieldMapping(spec), refused=1) > 4000
    fields = ["ts", "uid", "id.orig_h", "query", "answers"]
    head = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", "#path\tdns"]
    head += ["#fields\t" + "\t".join(fields), "#types\ttime\tstring\taddr\tstring\tvector[string]"]
    lines = [f"{1521911720 + n}.5\tC{n}\t10.0.{n % 9}.{n % 250}\th{n % 700}.example.com\ta{n % 300}.example.net"
             for n in range(4000)]  # fmt: skip
    path = tmp_path / "dns.log"
    path.write_text("\n".join(head + lines) + "\n")
    assert path.stat().st_size > 2 << 16
    assert _equal(path, ReaderFormat.ZEEK_TSV) > 4000


def test_syslog_one_pass_urls_tokens_and_runs(tmp_path: Path) -> None:
    """The one regex pass finds URLs, tokens and runs together: a token that runs into a
    URL's ``http`` (the line's URLs are read again alone), quads inside URLs and tokens, odd
    headers, structured data, missing fields and non-ASCII text, beside plain lines."""
    lines = [
        f"<134>May  1 10:00:{n % 60:02d} proxy squid[1]: 10.0.0.{n} GET http://h{n}.example.com/x"
        for n in range(60)
    ]
    lines += [
        "Jan  5 05:38:59 fw a.http://evil.example.com/x 10.7.0.1",
        "Jan  5 05:38:59 fw 10.20.30.http://10.7.0.2/p and x-HTTPS://Cdn.Example.NET:8443/q",
        "Jan  5 05:38:59 fw b.c.https://one.example.org/http://two.example.org/ 10.7.0.3",
        "Jan  5 05:38:59 fw see:http://three.example.net/a.b.c 10.7.0.4.5 1.2.3.4-x.example.com",
        '<165>1 2024-05-01T10:00:00.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" '
        'src="10.7.0.5" host="sd.example.com"] BOMAn application event log entry http://sd.example.com/e',
        "<13>1 2024-05-01T10:00:00Z - - - - - 10.7.0.6",
        "<13>May  1 10:00:00 : 10.7.0.7",
        "<999>May  1 10:00:00 odd.example.com 10.7.0.8",
        "May  1 10:00:00 caf\u00e9.example.com http://\u212aelvin.example.com/\u00e9 10.7.0.9\u00a0www.\u0130.example.org",
        "May  1 10:00:00 h \u0661.\u0662.\u0663.\u0664 http://x.example.com/\u0665.1.2.3.4 end",
        "May  1 10:00:00 h url=http://q.example.com/a,b;c) (http://r.example.com/).",
    ]
    path = tmp_path / "mixed.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _equal(path, ReaderFormat.SYSLOG) > 60


def test_syslog_generated_lines(tmp_path: Path) -> None:
    """Lines glued from fragments where the URL, token and run patterns meet (seeded): the
    column path's alerts are the event path's on every value the reader makes."""
    pieces = [
        *(" ", " ", "\t", "\x1c", ".", "-", ":", "/", "(", ")", ",", "=", '"', "a", "Z", "x.y", "0", "7."),
        *("10.1.2.3", "10.1.2.", "3.4", "255.255.255.255", "999.1.1.1", ".5", "1234567"),
        *("http", "https", "HTTP", "://", "http://", "https://", ".http://", "-https://"),
        *("www.example.com", "Example.ORG", "h-1.example.net", "example.", "caf\u00e9", "\u212a"),
    ]
    r = random.Random(20)
    lines = [
        f"May  1 10:00:{n % 60:02d} h " + "".join(r.choice(pieces) for _ in range(r.randrange(1, 14)))
        for n in range(1500)
    ]
    path = tmp_path / "generated.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _equal(path, ReaderFormat.SYSLOG) > 500


def test_zeek_tsv_odd_fields_in_chunks_prepared_ahead(tmp_path: Path) -> None:
    """Chunks after the first are split and prepared off the main thread, each by what its own
    text holds: unset and empty fields, sets, padded values (stripped), IPv6 (made canonical),
    non-ASCII names, in some chunks and not in others."""
    fields = ["ts", "uid", "id.orig_h", "id.resp_h", "query", "answers", "TTLs"]
    types = ["time", "string", "addr", "addr", "string", "vector[string]", "vector[interval]"]
    head = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", "#path\tdns"]
    head += ["#fields\t" + "\t".join(fields), "#types\t" + "\t".join(types)]
    odd = [
        ["-", "(empty)", "(empty)", "-"],
        [" 10.8.0.1 ", " Pad.Example.COM. ", "x.example.org , 10.8.0.2", "1"],
        ["2001:DB8::0:1", "caf\u00e9.example.com", "2001:db8:0:0::2,\u212a.example.net", "1,2"],
        ["10.8.0.3", "", ",10.8.0.4,", ""],
    ]
    lines = []
    for n in range(6000):
        block = (n // 1500) % 2  # odd values in the second and fourth quarter only
        dst, query, answers, ttls = (
            odd[n % 4]
            if block and n % 3 == 0
            else [f"10.9.{n % 9}.{n % 250}", f"h{n % 700}.example.com", f"a{n % 300}.example.net", "60.0"]
        )
        lines.append(
            "\t".join([f"{1521911720 + n}.5", f"C{n}", f"10.0.{n % 9}.{n % 250}", dst, query, answers, ttls])
        )
    path = tmp_path / "dns.log"
    path.write_text("\n".join(head + lines) + "\n", encoding="utf-8")
    assert path.stat().st_size > 4 << 16  # five chunks at least of ``_equal``'s 64 KiB
    assert _equal(path, ReaderFormat.ZEEK_TSV) > 6000


def test_csv_odd_bytes_and_shapes_over_chunks(tmp_path: Path) -> None:
    """CSV chunks read ahead (strict UTF-8 first, the lossy reading only for a chunk that is no
    UTF-8): a byte-order mark, CRLF line ends, non-ASCII and invalid UTF-8 fields, short and long
    rows, empty and quoted values (a separator, a quote, a line end inside): the event path's
    alerts, and no chunk refused but the one with a quoted line end."""
    rows = [
        f"{1714557600 + n},10.{n % 7}.{n % 250}.{n % 99},h{n % 500}.example.com,n{n}" for n in range(4000)
    ]
    rows[10] = "1714557610,10.0.0.10,\u0434\u043e\u043c\u0435\u043d.example.com,\u00e9"  # non-ASCII, valid
    rows[1300] = "1714558900,10.1.0.1,bad\udcff.example.com,x"  # invalid UTF-8 (a lone 0xff byte)
    rows[1301] = "1714558901,10.1.0.2"  # too few columns: no event
    rows[1302] = "1714558902,10.1.0.3,,"  # an empty name
    rows[1303] = "1714558903,10.1.0.4,extra.example.com,x,more,fields"
    rows[1304] = '1714558904,"10.1.0.5","q,uoted.example.com","a ""b"""'
    rows[2600] = '1714560200,10.2.0.1,"line\nend.example.com",x'  # a quoted line end: refused
    rows[2601] = "1714560201,-,-,-"
    text = "\ufeffid,when,addr,name\r\n"  # the mark glued to the first column's name
    body = "\r\n".join(f"{n},{r}" for n, r in enumerate(rows)) + "\r\n"
    path = tmp_path / "odd.csv"
    path.write_bytes((text + body).encode("utf-8", errors="surrogateescape"))
    assert path.stat().st_size > 2 << 16
    spec = {"timestamp": "when", "fields": {"addr": "ipv4-addr:value", "name": "domain-name:value"}}
    assert _equal(path, ReaderFormat.CSV, lambda: FieldMapping(spec), refused=1) > 4000
    # no header: the mark is glued to the first field of the first row, an address here
    head = {**spec, "columns": ["addr", "when", "name"]}
    lines = [f"10.{n % 7}.{n % 250}.{n % 99},{1714557600 + n},h{n % 500}.example.com" for n in range(3000)]
    path.write_bytes(("\ufeff" + "\n".join(lines) + "\n").encode())
    assert _equal(path, ReaderFormat.CSV, lambda: FieldMapping(head), refused=1) > 3000  # the first chunk


def test_csv_header_with_a_byte_order_mark_on_the_timestamp_column(tmp_path: Path) -> None:
    """A spreadsheet's export starts with a byte-order mark; with the timestamp as the first column
    its name must still read ``when`` (not ``\\ufeffwhen``), or no line has a time and none alerts."""
    rows = [f"{1714557600 + n},10.{n % 7}.{n % 250}.{n % 99},h{n % 500}.example.com" for n in range(3000)]
    path = tmp_path / "bom.csv"
    path.write_bytes(("\ufeffwhen,addr,name\r\n" + "\r\n".join(rows) + "\r\n").encode())
    spec = {"timestamp": "when", "fields": {"addr": "ipv4-addr:value", "name": "domain-name:value"}}
    assert _equal(path, ReaderFormat.CSV, lambda: FieldMapping(spec)) > 3000


def _mixed_engine(patterns: list[str]) -> tuple[MatchEngine, MatchEngine]:
    """Two engines of the same indicators: one for the column path, one for the event path."""
    records = [IndicatorRecord(f"indicator--m{n}", p) for n, p in enumerate(patterns)]
    engines = (MatchEngine(), MatchEngine())
    for engine in engines:
        assert engine.load(records).invalid == 0
    return engines


def test_zeek_tsv_lookups_ahead_with_every_index(tmp_path: Path) -> None:
    """Chunks after the first are looked up in the parse-ahead thread (equality, CIDR, suffix
    and substring indexes), while the main thread reads the hit rows and runs the compound
    indicators of the chunk before: the alerts are the event path's."""
    fields = ["ts", "uid", "id.orig_h", "id.resp_h", "query", "answers"]
    types = ["time", "string", "addr", "addr", "string", "vector[string]"]
    head = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", "#path\tdns"]
    head += ["#fields\t" + "\t".join(fields), "#types\t" + "\t".join(types)]
    lines = [
        f"{1521911720 + n}.5\tC{n}\t10.0.{n % 9}.{n % 250}\t172.16.{n % 5}.{n % 200}\t"
        f"h{n % 700}.example.com\ta{n % 300}.example.net,10.1.{n % 3}.{n % 100}"
        for n in range(6000)
    ]
    path = tmp_path / "dns.log"
    path.write_text("\n".join(head + lines) + "\n")
    assert path.stat().st_size > 4 << 16  # five chunks at least of 64 KiB
    patterns = [
        "[ipv4-addr:value = '10.0.3.21']",
        "[ipv4-addr:value ISSUBSET '172.16.2.0/24']",
        "[ipv4-addr:value ISSUBSET '10.1.0.0/12']",
        "[domain-name:value = 'h77.example.com']",
        "[domain-name:value LIKE '%.example.net' AND domain-name:value = 'a7.example.net']",
        "[domain-name:value LIKE '%h12%']",
        "[domain-name:value MATCHES '^a2[0-9]\\\\.example']",
        "[network-traffic:dst_ref.value = '172.16.1.101'] AND [domain-name:value = 'h5.example.com']",
    ]
    engine, reference = _mixed_engine(patterns)
    res = match_columns_file(engine, path, ReaderFormat.ZEEK_TSV, batch_bytes=1 << 16)
    expected = _reference(reference, path, ReaderFormat.ZEEK_TSV, lambda: None)
    assert res.refused == 0
    assert _count(res.alerts) == _count(expected)
    assert len({a.indicator_id for a in expected}) == len(patterns)  # every index has hits


def test_syslog_address_repeated_on_its_line(tmp_path: Path) -> None:
    """A firewall line names an address twice in a row (ASA's ``outside:a/443 (a/443)``): the
    columns offer it once there, and the alerts are the event path's."""
    lines = []
    for n in range(3000):
        a, b = f"10.{n % 3}.{n % 7}.{n % 250}", f"192.168.{n % 4}.{n % 200}"
        lines.append(
            f"<166>May  1 10:{(n // 60) % 60:02d}:{n % 60:02d} 10.22.8.216 %ASA-6-302013: Built outbound "
            f"TCP connection {n} for outside:{a}/443 ({a}/443) to inside:{b}/5{n % 999} ({b}/5555) {a} "
            f"http://{a}/x/{b}"
        )
    path = tmp_path / "asa.log"
    path.write_text("\n".join(lines) + "\n")
    patterns = [
        "[ipv4-addr:value = '10.1.3.100']",
        "[ipv4-addr:value = '192.168.2.18']",
        "[ipv4-addr:value = '10.22.8.216']",
        "[ipv4-addr:value ISSUBSET '10.2.0.0/16']",
        "[ipv4-addr:value = '10.0.0.0'] OR [ipv4-addr:value = '192.168.3.7']",
    ]
    engine, reference = _mixed_engine(patterns)
    res = match_columns_file(engine, path, ReaderFormat.SYSLOG, year=YEAR, batch_bytes=1 << 16)
    expected = _reference(reference, path, ReaderFormat.SYSLOG, lambda: None)
    assert _count(res.alerts) == _count(expected)
    assert len(expected) > 3000
    cols = syslog_columns(Lines(lines[0].encode()).series(), ["#quads"], ascii_only=True)
    rows, values = cols["#quads"]
    # offered once where repeated side by side; again where apart, and inside the URL
    a, b = "10.0.0.0", "192.168.0.0"
    assert values.to_list() == ["10.22.8.216", a, b, a, a, b]
    assert rows.tolist() == [0] * 6


def _unspaced_reference(chunk: bytes, start: int, sep: bytes | None) -> bool:
    """The spelling before the numpy count: ASCII, none of the whitespace bytes but ``sep``."""
    spaces = (b" ", b"\t", b"\r", b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e", b"\x1f")
    return chunk[start:].isascii() and all(chunk.find(b, start) < 0 for b in spaces if b != sep)


def test_unspaced_and_line_ends_across_blocks() -> None:
    """``unspaced`` answers as the byte scans did (a control byte that is no whitespace may only
    make it keep the strippings), block edges included; ``Lines`` finds every line end."""
    r = random.Random(3)
    alphabet = [
        b"a",
        b"1",
        b".",
        b",",
        b"\n",
        b"\t",
        b" ",
        b"\r",
        b"\x00",
        b"\x1c",
        b"\x7f",
        b"\xc3\xa9",
        b";",
    ]
    control = set(range(32)) - {9, 10, 11, 12, 13, 28, 29, 30, 31}
    for _ in range(5000):
        chunk = b"".join(r.choice(alphabet[: r.choice([5, len(alphabet)])]) for _ in range(r.randrange(60)))
        start, sep = r.randrange(len(chunk) + 1), r.choice([None, b",", b"\t", b" ", b"ab"])
        want, got = _unspaced_reference(chunk, start, sep), unspaced(chunk, start, sep)
        assert got == want or (want and not got and control & set(chunk[start:])), (chunk, start, sep)
    big = b"".join(r.choice(alphabet[:5]) for _ in range(1_000_000))
    for at in (0, 262_143, 262_144, 999_999):
        for sep in (None, b",", b"\t"):
            for spaced in (big, big[:at] + b" " + big[at:]):
                assert unspaced(spaced, 5, sep) == _unspaced_reference(spaced, 5, sep)
        assert np.array_equal(Lines(big[:at]).ends, np.flatnonzero(np.frombuffer(big[:at], np.uint8) == 10))


def test_picked_lines_are_the_lines_asked_for() -> None:
    """``Lines.pick`` finds each asked row's bounds alone: a last line without its end, a chunk
    of one such line, blank lines, the first and the last row, a multi-byte character."""
    r = random.Random(11)
    chunks = [b"a\nbb\nccc", b"a\nbb\nccc\n", b"\n\nx\n", b"only", b"only\n", b"\xc3\xa9\n\xff", b""]
    chunks += [bytes(r.choice(b"ab\n") for _ in range(r.randrange(40))) for _ in range(500)]
    for chunk in chunks:
        lines = Lines(chunk)
        every = [lines[i] for i in range(len(lines))]
        assert every == (chunk.decode("utf-8", errors="replace").split("\n")[: len(lines)] if chunk else [])
        for _ in range(4):
            rows = sorted(r.sample(range(len(lines)), r.randrange(len(lines) + 1)))
            picked, texts = lines.pick(np.asarray(rows, dtype=np.int64))
            assert picked == rows and texts == [every[i] for i in rows]
        assert lines.heads(0).tolist() == [chunk[lines.offset(i)] for i in range(len(lines))]
