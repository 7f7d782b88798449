"""Matching engine benchmark: colsec side by side with its peers, in one run.

    python bench/match.py                       # 1,000,000 indicators x 1,000,000 events
    python bench/match.py --indicators 100000 --events 200000

Generates N active indicators (IPv4, CIDR, domains, URLs, SHA-256, e-mail and
~1% compound patterns) and M EVE-like events (dns, http, tls, fileinfo, flow,
alert; ~1% carry an indicator value), then prints: the raw parse rates
(polars.read_ndjson, orjson), colsec end-to-end from the file and on
pre-parsed columns, colsec's event-by-event path, stix2-matcher on a sample
(extrapolated to N indicators), index build time and memory per indicator,
single-event engine latency, and the streaming latency from a line
appended to a followed file to its alert.

Then, for every other telemetry format (Zeek TSV and JSON, Sysmon/Windows JSON, JSON lines,
CSV with a mapping, CEF, syslog; --format-events lines each, shaped as the shared/data
samples, ~1% carrying an indicator value): colsec's column path (``colsec.match.columns``,
alerts included) beside that format's own raw parse in the same run (polars.read_csv for
Zeek TSV and CSV, polars.read_ndjson for the JSON formats, a plain split/regex loop for CEF
and syslog), the ratio, and the event-by-event rate (the path before) on a sample.

    python bench/match.py --indicators 200000 --events 20000 --formats-only
    python bench/match.py --indicators 200000 --events 20000 --formats-only --format syslog --format zeek-tsv
    python bench/match.py --indicators 200000 --events 20000 --follow-only   # streaming alone
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson
import polars as pl

if not os.environ.get("PYTHONPATH"):  # set: the tree it names is measured (an A/B against another tree)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from colsec.match.engine import IndicatorRecord, MatchEngine  # noqa: E402
from colsec.match.eve_file import match_eve_file  # noqa: E402
from colsec.match.events import Event  # noqa: E402
from colsec.match.follow import POLL_SECONDS, follow_lines  # noqa: E402
from colsec.match.readers import ReaderFormat, StreamDecoder, read_lines  # noqa: E402
from colsec.match.vector import VectorResult, match_prepared, prepare_eve_frame  # noqa: E402


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def ip(r: random.Random) -> str:
    return f"{r.randrange(1, 224)}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"


def make_indicators(n: int, r: random.Random) -> tuple[list[IndicatorRecord], dict[str, list[str]]]:
    """N patterns in the issue's mix; returns some values per kind for planting into events."""
    kinds = r.choices(
        ["ip", "cidr", "domain", "url", "sha256", "email", "compound"],
        weights=[40, 10, 25, 10, 10, 4, 1],
        k=n,
    )
    recs: list[IndicatorRecord] = []
    planted: dict[str, list[str]] = {k: [] for k in ("ip", "cidr", "domain", "url", "sha256")}
    for i, kind in enumerate(kinds):
        if kind == "ip":
            v = ip(r)
            p = f"[ipv4-addr:value = '{v}']"
        elif kind == "cidr":
            v = f"{r.randrange(1, 224)}.{r.randrange(256)}.{r.randrange(256)}.0/24"
            p = f"[ipv4-addr:value ISSUBSET '{v}']"
        elif kind == "domain":
            v = f"h{r.getrandbits(40):x}.example{r.randrange(100)}.com"
            p = f"[domain-name:value = '{v}']"
        elif kind == "url":
            v = f"http://u{r.getrandbits(32):x}.example.net/p/{r.getrandbits(24):x}.php"
            p = f"[url:value = '{v}']"
        elif kind == "sha256":
            v = f"{r.getrandbits(256):064x}"
            p = f"[file:hashes.'SHA-256' = '{v}']"
        elif kind == "email":
            v = f"x{r.getrandbits(32):x}@mail{r.randrange(50)}.example"
            p = f"[email-addr:value = '{v}']"
        else:
            v = ip(r)
            p = r.choice(
                [
                    f"[network-traffic:dst_ref.value = '{v}' AND network-traffic:dst_port = 443]",
                    f"[domain-name:value = 'c{i}.example.org'] FOLLOWEDBY [ipv4-addr:value = '{v}'] "
                    "WITHIN 300 SECONDS",
                    f"[url:value LIKE '%/evil{i}%.php']",
                ]
            )
        if kind in planted and len(planted[kind]) < 10_000:
            planted[kind].append(v)
        recs.append(IndicatorRecord(f"indicator--{i:08d}-0000-4000-8000-000000000000", p, tlp="amber"))
    return recs, planted


def make_events(m: int, planted: dict[str, list[str]], r: random.Random, path: Path) -> int:
    hits = 0
    with path.open("wb") as f:
        for i in range(m):
            plant = r.random() < 0.01
            kind = r.choice(["dns", "http", "tls", "fileinfo", "flow", "alert"])
            src, dst = ip(r), ip(r)
            ev: dict[str, object] = {
                "timestamp": f"2024-05-01T10:{(i // 60000) % 60:02d}:{(i // 1000) % 60:02d}.{i % 1000:03d}000+0000",
                "flow_id": i,
                "event_type": kind,
                "src_ip": src,
                "src_port": r.randrange(1024, 65535),
                "dest_ip": dst,
                "dest_port": r.choice([53, 80, 443, 8080]),
                "proto": "TCP",
            }
            host = f"site{r.getrandbits(24):x}.example.com"
            if plant:
                hits += 1
                which = r.choice([k for k, v in planted.items() if v])
                value = r.choice(planted[which])
                if which == "ip":
                    ev["dest_ip"] = value
                elif which == "cidr":
                    ev["dest_ip"] = value.rsplit(".", 1)[0] + ".77"
                elif which == "domain":
                    host = value
                    kind = ev["event_type"] = "dns"
                elif which == "url":
                    kind = ev["event_type"] = "http"
                    host = value.split("/")[2]
                    ev["http"] = {"hostname": host, "url": "/" + value.split("/", 3)[3], "http_method": "GET"}
                elif which == "sha256":
                    kind = ev["event_type"] = "fileinfo"
                    ev["fileinfo"] = {"filename": "x.exe", "sha256": value, "size": 100}
            if kind == "dns":
                ev["dns"] = {"type": "query", "rrname": host, "rrtype": "A"}
            elif kind == "http" and "http" not in ev:
                ev["http"] = {"hostname": host, "url": f"/{r.getrandbits(20):x}", "http_method": "GET"}
            elif kind == "tls":
                ev["tls"] = {"sni": host, "version": "TLS 1.2"}
            elif kind == "fileinfo" and "fileinfo" not in ev:
                ev["fileinfo"] = {"filename": "a.pdf", "sha256": f"{r.getrandbits(256):064x}", "size": 5}
            elif kind == "alert":
                ev["alert"] = {"signature_id": 1, "signature": "test", "severity": 2}
            f.write(orjson.dumps(ev) + b"\n")
    return hits


def stix2_matcher_rate(recs: list[IndicatorRecord], events_path: Path, sample: int) -> float:
    """(pattern, event) pairs per second, patterns compiled once (its best case)."""
    from stix2matcher.matcher import Pattern

    from colsec.match.readers import read_file

    bundles = []
    for ev in read_file(events_path):
        objs = [{**o, "id": f"{o['type']}--{k}"} for k, o in ev.objects.items()]
        for o in objs:
            for key in list(o):
                if key.endswith("_ref") and isinstance(o[key], str):
                    o[key] = f"{ev.objects[o[key]]['type']}--{o[key]}"
        od = {
            "type": "observed-data",
            "id": "observed-data--1",
            "first_observed": "2024-05-01T10:00:00Z",
            "last_observed": "2024-05-01T10:00:00Z",
            "number_observed": 1,
            "object_refs": [o["id"] for o in objs],
        }
        bundles.append([{"type": "bundle", "id": "bundle--1", "objects": [od, *objs]}])
        if len(bundles) >= 50:
            break
    patterns = [Pattern(rec.pattern, "2.1") for rec in recs[: min(sample, 100)]]
    start = time.perf_counter()
    for i in range(sample):
        patterns[i % len(patterns)].match(bundles[i % len(bundles)])
    return sample / (time.perf_counter() - start)


def follow_latency(
    engine: MatchEngine, lines: list[str], *, pipe: bool, gap: float = 0.01, file_events: bool = True
) -> list[float]:
    """Milliseconds from a line written to its alert in ``--follow`` mode.

    The CLI's own follower, decoder and engine read a real file (``--follow
    FILE``) or a pipe (``--follow -``) while a writer thread appends alerting
    lines at random moments (mean gap ``gap`` s), so the figure includes the
    poll interval (``file_events=False``: the polling fallback, the figure before inotify),
    decoding and matching.
    """
    written: dict[int, float] = {}
    seen: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "live.eve.json"
        path.write_text("")
        if pipe:
            r, w = os.pipe()
            source, sink = os.fdopen(r, "rb", buffering=0), os.fdopen(w, "wb", buffering=0)
        else:
            source, sink = path.open("rb"), path.open("ab", buffering=0)

        def writer() -> None:
            rnd = random.Random(7)
            with sink:
                for i, line in enumerate(lines, 1):
                    time.sleep(rnd.uniform(0, 2 * gap))
                    written[i] = time.perf_counter()
                    sink.write(line.encode())

        thread = threading.Thread(target=writer)
        thread.start()
        decoder = StreamDecoder(fmt=ReaderFormat.EVE)
        with source:
            for batch in follow_lines(
                source, stop_after=len(lines) * gap * 2 + 30, until_eof=pipe, file_events=file_events
            ):
                if batch:
                    for alert in engine.match(decoder.feed(batch)):
                        for ev in alert.events:
                            seen.setdefault(ev.line, time.perf_counter())
                if len(seen) == len(lines):
                    break
        thread.join()
    return sorted((seen[i] - written[i]) * 1000 for i in seen)


# -- the other telemetry formats: colsec's column path beside each format's raw parse ---------

_ZEEK_DNS_FIELDS = (
    "ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto trans_id rtt query qclass qclass_name qtype "
    "qtype_name rcode rcode_name AA TC RD RA Z answers TTLs rejected"
).split()
_ZEEK_DNS_TYPES = (
    "time string addr port addr port enum count interval string count string count string count string "
    "bool bool bool bool count vector[string] vector[interval] bool"
).split()


def _pick(planted: dict[str, list[str]], kinds: tuple[str, ...], r: random.Random) -> tuple[str, str]:
    kind = r.choice([k for k in kinds if planted.get(k)])
    return kind, r.choice(planted[kind])


def _zeek_dns(i: int, r: random.Random, planted: dict[str, list[str]], plant: bool) -> dict[str, object]:
    """A Zeek dns.log record shaped as the WRCCDC 2018 sample's (shared/data/telemetry/zeek)."""
    query, dst = f"h{r.getrandbits(24):x}.wrccdc.org", ip(r)
    if plant:
        kind, value = _pick(planted, ("ip", "domain"), r)
        dst, query = (value, query) if kind == "ip" else (dst, value)
    return {
        "ts": 1521911720.865716 + i / 1000,
        "uid": f"C{r.getrandbits(64):x}",
        "id.orig_h": ip(r),
        "id.orig_p": r.randrange(1024, 65535),
        "id.resp_h": dst,
        "id.resp_p": 53,
        "proto": "udp",
        "trans_id": r.randrange(65535),
        "rtt": 0.00087,
        "query": query,
        "qclass": 1,
        "qclass_name": "C_INTERNET",
        "qtype": 1,
        "qtype_name": "A",
        "rcode": 0,
        "rcode_name": "NOERROR",
        "AA": False,
        "TC": False,
        "RD": True,
        "RA": True,
        "Z": 0,
        "answers": [f"c{r.getrandbits(16):x}.wrccdc.cpp.edu", ip(r)],
        "TTLs": [2230.0, 41830.0],
        "rejected": False,
    }


def _tsv(value: object) -> str:
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, list):
        return ",".join(_tsv(v) for v in value) if value else "(empty)"
    return f"{value:.6f}" if isinstance(value, float) else str(value)


def _sysmon(i: int, r: random.Random, planted: dict[str, list[str]], plant: bool) -> dict[str, object]:
    """Sysmon 1/3/22 and Security 4689 records shaped as the OTRF samples' (telemetry/windows)."""
    eid = r.choice([1, 3, 22, 4689])
    rec: dict[str, object] = {
        "@timestamp": f"2020-10-22T02:{(i // 60000) % 60:02d}:{(i // 1000) % 60:02d}.{i % 1000:03d}Z",
        "Hostname": "WORKSTATION5",
        "EventID": eid,
        "Channel": "Microsoft-Windows-Sysmon/Operational" if eid != 4689 else "Security",
        "Keywords": "0x8000000000000000",
        "ProcessGuid": f"{{39e4a257-{r.getrandbits(32):08x}-0000-0010-{r.getrandbits(48):012x}}}",
        "ProcessId": str(r.randrange(9999)),
        "Message": "Process Create:\r\nRuleName: -\r\nUtcTime: 2020-10-22 02:21:35.219\r\n" + "x" * 200,
    }
    image = f"C:\\Windows\\System32\\p{r.getrandbits(16):x}.exe"
    sha = f"{r.getrandbits(256):064X}"
    dst, query = ip(r), f"h{r.getrandbits(24):x}.example.com"
    if plant:
        kind, value = _pick(planted, ("ip", "domain", "sha256"), r)
        eid = rec["EventID"] = {"ip": 3, "domain": 22, "sha256": 1}[kind]
        rec["Channel"] = "Microsoft-Windows-Sysmon/Operational"
        dst, query, sha = (
            value if kind == "ip" else dst,
            value if kind == "domain" else query,
            value if kind == "sha256" else sha,
        )
    if eid == 1:
        rec.update(
            Image=image,
            CommandLine=f'"{image}" /c run {r.getrandbits(20):x}',
            Hashes=f"SHA1={r.getrandbits(160):040X},MD5={r.getrandbits(128):032X},SHA256={sha}",
            ParentImage="C:\\Windows\\explorer.exe",
            User="WORKSTATION5\\wardog",
        )
    elif eid == 3:
        rec.update(
            Image=image, SourceIp=ip(r), DestinationIp=dst, SourcePort=str(r.randrange(1024, 65535)),
            DestinationPort="443", Protocol="tcp", User="WORKSTATION5\\wardog",
        )  # fmt: skip
    elif eid == 22:
        rec.update(Image=image, QueryName=query, QueryResults=f"type:  5 x.example.net;::ffff:{ip(r)};")
    else:
        rec.update(ProcessName=image, SubjectUserName="wardog", Status="0x0")
    return rec


def _ecs(i: int, r: random.Random, planted: dict[str, list[str]], plant: bool) -> dict[str, object]:
    """A JSON line with ECS field names (read with the default field set)."""
    src, host = ip(r), f"h{r.getrandbits(24):x}.example.com"
    url = f"http://{host}/p/{r.getrandbits(20):x}"
    if plant:
        kind, value = _pick(planted, ("ip", "domain", "url"), r)
        src, host, url = (
            value if kind == "ip" else src,
            value if kind == "domain" else host,
            value if kind == "url" else url,
        )
    return {
        "@timestamp": f"2024-05-01T10:{(i // 60000) % 60:02d}:{(i // 1000) % 60:02d}.{i % 1000:03d}Z",
        "event": {"kind": "event", "category": ["network"], "dataset": "proxy.access"},
        "source": {"ip": src, "port": r.randrange(1024, 65535)},
        "destination": {"ip": ip(r), "port": 80},
        "url": {"full": url, "domain": host},
        "user_agent": {"original": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"},
        "http": {"request": {"method": "GET"}, "response": {"status_code": 200, "bytes": r.randrange(99999)}},
    }


def _cef(i: int, r: random.Random, planted: dict[str, list[str]], plant: bool) -> str:
    src, dst, host = ip(r), ip(r), f"h{r.getrandbits(24):x}.example.com"
    url = f"http://{host}/p/{r.getrandbits(20):x}?a\\=1"
    if plant:
        kind, value = _pick(planted, ("ip", "domain", "url"), r)
        dst, host, url = (
            value if kind == "ip" else dst,
            value if kind == "domain" else host,
            value if kind == "url" else url,
        )
    return (
        f"<134>May  1 10:{(i // 60000) % 60:02d}:{(i // 1000) % 60:02d} proxy1 CEF:0|Vendor|Proxy|6.1|{i % 500}|"
        f"Access allowed|3|rt=May 01 2024 10:00:00 src={src} spt={r.randrange(1024, 65535)} dst={dst} dpt=80 "
        f"proto=TCP act=allowed dhost={host} request={url} requestMethod=GET "
        f"requestClientApplication=Mozilla/5.0 (X11; Linux) suser=user{i % 97} "
        f"cs1Label=Policy cs1=default out={r.randrange(99999)}"
    )


def _syslog(i: int, r: random.Random, planted: dict[str, list[str]], plant: bool) -> str:
    """Cisco ASA and proxy lines shaped as the Metron samples' (telemetry/firewall, proxy)."""
    src, dst, host = ip(r), ip(r), f"h{r.getrandbits(24):x}.example.com"
    if plant:
        kind, value = _pick(planted, ("ip", "domain"), r)
        dst, host = (value, host) if kind == "ip" else (dst, value)
    stamp = f"May  1 10:{(i // 60000) % 60:02d}:{(i // 1000) % 60:02d}"
    if i % 2:
        return (
            f"<166>{stamp} 10.22.8.216 %ASA-6-302013: Built outbound TCP connection {i} for "
            f"outside:{dst}/443 ({dst}/443) to inside:{src}/{r.randrange(1024, 65535)} ({src}/5555)"
        )
    return f"<134>{stamp} proxy squid[1]: {src} TCP_MISS/200 5120 GET http://{host}/x/{i} - DIRECT/{dst} text/html"


def write_formats(
    n: int, planted: dict[str, list[str]], seed: int, folder: Path, only: set[str] | None = None
) -> dict[str, tuple[Path, object]]:
    """One file per format, n lines each, ~1% carrying an indicator value; with the mapping.
    ``only``: the formats kept (all are generated, so each file's lines are the same either way)."""
    from colsec.match.readers import FieldMapping

    r = random.Random(seed + 1)  # not the indicators' sequence: their values would recur
    plants = [r.random() < 0.01 for _ in range(n)]
    out: dict[str, tuple[Path, object]] = {}
    zeek = [_zeek_dns(i, r, planted, plants[i]) for i in range(n)]
    p = folder / "dns.log"
    with p.open("w") as f:
        f.write("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n")
        f.write("#fields\t" + "\t".join(_ZEEK_DNS_FIELDS) + "\n#types\t" + "\t".join(_ZEEK_DNS_TYPES) + "\n")
        for rec in zeek:
            f.write("\t".join(_tsv(rec[k]) for k in _ZEEK_DNS_FIELDS) + "\n")
    out["zeek-tsv"] = (p, None)
    p = folder / "dns.ndjson"
    p.write_bytes(b"".join(orjson.dumps(rec) + b"\n" for rec in zeek))
    out["zeek-json"] = (p, None)
    del zeek
    p = folder / "sysmon.ndjson"
    p.write_bytes(b"".join(orjson.dumps(_sysmon(i, r, planted, plants[i])) + b"\n" for i in range(n)))
    out["windows"] = (p, None)
    p = folder / "ecs.ndjson"
    p.write_bytes(b"".join(orjson.dumps(_ecs(i, r, planted, plants[i])) + b"\n" for i in range(n)))
    out["json"] = (p, None)
    p = folder / "flows.csv"
    with p.open("w") as f:
        f.write("time,src,sport,dst,dport,host,bytes\n")
        for i in range(n):
            dst, host = ip(r), f"h{r.getrandbits(24):x}.example.com"
            if plants[i]:
                kind, value = _pick(planted, ("ip", "domain"), r)
                dst, host = (value, host) if kind == "ip" else (dst, value)
            f.write(
                f"{1714557600 + i / 1000:.3f},{ip(r)},{r.randrange(1024, 65535)},{dst},443,{host},{i % 9999}\n"
            )
    out["csv"] = (
        p,
        {
            "timestamp": "time",
            "fields": {
                "src": "network-traffic:src_ref.value",
                "dst": "network-traffic:dst_ref.value",
                "host": "domain-name:value",
            },
        },
    )
    p = folder / "cef.log"
    p.write_text("".join(_cef(i, r, planted, plants[i]) + "\n" for i in range(n)))
    out["cef"] = (p, None)
    p = folder / "syslog.log"
    p.write_text("".join(_syslog(i, r, planted, plants[i]) + "\n" for i in range(n)))
    out["syslog"] = (p, None)
    del FieldMapping
    if only is not None:
        for name in set(out) - only:
            out.pop(name)[0].unlink()
    return out


_FORMAT_NAMES = ("zeek-tsv", "zeek-json", "windows", "json", "csv", "cef", "syslog")
_CEF_KV = re.compile(r"(\w+)=(\S*)")
_SYSLOG_HEAD = re.compile(r"^(?:<\d{1,3}>)?([A-Z][a-z]{2}\s+\d{1,2} \d\d:\d\d:\d\d)\s")


def raw_parse(fmt: str, path: Path) -> tuple[str, int]:
    """The format's own raw parse: polars where polars reads it, else a plain regex/split loop."""
    if fmt == "zeek-tsv":
        df = pl.read_csv(
            path, separator="\t", comment_prefix="#", has_header=False, quote_char=None, infer_schema=False
        )
        return "polars.read_csv (TSV)", len(df)
    if fmt in ("zeek-json", "windows", "json"):
        return "polars.read_ndjson", len(pl.read_ndjson(path, infer_schema_length=10_000))
    if fmt == "csv":
        return "polars.read_csv", len(pl.read_csv(path))
    n = 0
    with path.open() as f:
        if fmt == "cef":
            for line in f:
                parts = line.split("|", 7)
                dict(_CEF_KV.findall(parts[7]))
                n += 1
            return "split('|') + key=value regex loop", n
        for line in f:
            _SYSLOG_HEAD.match(line)
            line.split()
            n += 1
    return "timestamp regex + split() loop", n


def format_rates(
    engine: MatchEngine, files: dict[str, tuple[Path, object]], repeat: int, sample: int
) -> list[tuple[str, str, str]]:
    """Per format: raw parse and colsec (column path, alerts included) alternating, best of
    ``repeat``; the event-by-event rate (the path before) on a ``sample`` of lines."""
    from colsec.match.columns import match_columns_file, table_for, uses_columns
    from colsec.match.readers import FieldMapping, ReaderFormat, read_file

    rows: list[tuple[str, str, str]] = []
    for name, (path, spec) in files.items():
        fmt = ReaderFormat(name)

        def mapping(spec: object = spec) -> FieldMapping | None:
            return FieldMapping(spec) if isinstance(spec, dict) else None

        assert uses_columns(engine, table_for(fmt, mapping()))
        raw = best = raw_cpu = best_cpu = 0.0
        ratios = []
        label, alerts = "", 0
        for _ in range(repeat):
            gc.collect()
            t, c = time.perf_counter(), time.process_time()
            label, n = raw_parse(name, path)
            raw_rate = n / (time.perf_counter() - t)
            raw = max(raw, raw_rate)
            raw_cpu = max(raw_cpu, n / (time.process_time() - c))
            gc.collect()
            t, c = time.perf_counter(), time.process_time()
            res = match_columns_file(engine, path, fmt, mapping=mapping())
            rate = res.rows / (time.perf_counter() - t)
            best = max(best, rate)
            best_cpu = max(best_cpu, res.rows / (time.process_time() - c))
            ratios.append(rate / raw_rate)
            alerts = len(res.alerts)
        head = path.parent / f"{path.name}.head"
        with path.open("rb") as f:
            head.write_bytes(b"".join(line for _, line in zip(range(sample), f, strict=False)))
        t = time.perf_counter()
        batch: list[Event] = []
        n_ev = 0
        for ev in read_file(head, fmt=fmt, mapping=mapping()):
            batch.append(ev)
            n_ev += 1
            if len(batch) == 5_000:
                engine.match(batch)
                batch = []
        engine.match(batch)
        event_rate = sample / (time.perf_counter() - t)
        rows.append(
            (
                f"{name}",
                f"colsec {best:,.0f} events/s; {label} {raw:,.0f} lines/s; ratio {best / raw:.0%} "
                f"(pair median {statistics.median(ratios):.0%}; per CPU-s {best_cpu / raw_cpu:.0%}); {alerts:,} alerts; "
                f"event by event {event_rate:,.0f}/s",
                "target >= 50%",
            )
        )
    return rows


def follow_rows(engine: MatchEngine, sample_lines: list[str], alerts_py: list) -> list[tuple[str, str, str]]:
    """The streaming figures: a line appended to a followed file (or written to a pipe) -> alert."""
    alerting = sorted({a.events[-1].line for a in alerts_py})
    live_lines = [sample_lines[i - 1] for i in alerting[:300]]
    live = follow_latency(engine, live_lines, pipe=False)
    polled = follow_latency(engine, live_lines, pipe=False, file_events=False)
    piped = follow_latency(engine, live_lines, pipe=True)
    return [
        (
            "streaming: file line -> alert (inotify)",
            f"p50 {statistics.median(live):.1f} ms, p99 {live[int(len(live) * 0.99)]:.1f} ms, "
            f"max {live[-1]:.1f} ms ({len(live)} lines, --follow woken by file events)",
            "target p99 < 5 ms",
        ),
        (
            "streaming: file line -> alert (polling)",
            f"p50 {statistics.median(polled):.1f} ms, p99 {polled[int(len(polled) * 0.99)]:.1f} ms, "
            f"max {polled[-1]:.1f} ms ({len(polled)} lines, fallback polls every {POLL_SECONDS * 1000:.0f} ms)",
            "before; fallback",
        ),
        (
            "streaming: piped line -> alert",
            f"p50 {statistics.median(piped):.1f} ms, p99 {piped[int(len(piped) * 0.99)]:.1f} ms, "
            f"max {piped[-1]:.1f} ms ({len(piped)} lines, tail -F | colsec match --follow -)",
            "target < 100 ms",
        ),
    ]


def print_follow(engine: MatchEngine, events_path: Path, events: int) -> None:
    """``--follow-only``: the streaming rows alone, with the single-event engine latency beside
    them (what a line costs once it is read) and the load average."""
    sample_lines = events_path.open().readlines()[: min(100_000, events)]
    alerts_py = engine.match(list(read_lines(sample_lines)))
    lat = []
    for line in sample_lines[:2_000]:
        t = time.perf_counter()
        engine.match(list(read_lines([line], fmt=None)))
        lat.append((time.perf_counter() - t) * 1000)
    lat.sort()
    rows = follow_rows(engine, sample_lines, alerts_py)
    rows.append(
        (
            "engine latency (1 event)",
            f"p50 {statistics.median(lat):.2f} ms, p99 {lat[int(len(lat) * 0.99)]:.2f} ms",
            "in process",
        )
    )
    rows.append(("machine", f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", "shared"))
    width = max(len(a) for a, _, _ in rows)
    for a, b, c in rows:
        print(f"{a:<{width}}  {b:<70} {c}")


def eve_rates(
    engine: MatchEngine, events_path: Path, repeat: int
) -> tuple[float, float, float, float, float, list[float], VectorResult]:
    """colsec end-to-end from the file, alerts included; each run right after a polars parse of
    the same file, so a shared machine slowing down or speeding up touches both alike.
    Returns the best polars rate and per-CPU rate, colsec's, its first, the per-pair ratios and
    the last result."""
    polars_rate = polars_cpu = e2e = e2e_cpu = e2e_first = 0.0
    pair_ratios: list[float] = []
    res = None
    for _ in range(repeat):
        gc.collect()
        t, c = time.perf_counter(), time.process_time()
        parsed_rows = len(pl.read_ndjson(events_path, infer_schema_length=10_000))
        parse_rate = parsed_rows / (time.perf_counter() - t)
        polars_rate = max(polars_rate, parse_rate)
        polars_cpu = max(polars_cpu, parsed_rows / (time.process_time() - c))
        res = None
        gc.collect()
        t, c = time.perf_counter(), time.process_time()
        res = match_eve_file(engine, events_path)
        rate = res.rows / (time.perf_counter() - t)
        e2e_first = e2e_first or rate
        e2e = max(e2e, rate)
        e2e_cpu = max(e2e_cpu, res.rows / (time.process_time() - c))
        pair_ratios.append(rate / parse_rate)
    assert res is not None
    return polars_rate, polars_cpu, e2e, e2e_cpu, e2e_first, pair_ratios, res


def print_eve(engine: MatchEngine, events_path: Path, repeat: int) -> None:
    """``--eve-only``: the end-to-end EVE row alone, beside polars' parse of the same file."""
    polars_rate, polars_cpu, e2e, e2e_cpu, _, pair_ratios, res = eve_rates(engine, events_path, repeat)
    print(
        f"polars.read_ndjson {polars_rate:,.0f} lines/s; colsec end-to-end {e2e:,.0f} events/s "
        f"({e2e / polars_rate:.0%} best to best; per run pair median {statistics.median(pair_ratios):.0%}, "
        f"range {min(pair_ratios):.0%}-{max(pair_ratios):.0%}; per CPU-s {e2e_cpu / polars_cpu:.0%}); "
        f"{len(res.alerts):,} alerts on {res.hits:,} events"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--indicators", type=int, default=1_000_000)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--matcher-sample", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=5, help="runs per measurement; the best is reported")
    ap.add_argument("--format-events", type=int, default=500_000, help="lines per file of the other formats")
    ap.add_argument("--formats-only", action="store_true", help="only the other formats' figures")
    ap.add_argument(
        "--follow-only", action="store_true", help="only the streaming figures (line appended -> alert)"
    )
    ap.add_argument("--eve-only", action="store_true", help="only the EVE end-to-end figures beside polars")
    ap.add_argument(
        "--format",
        action="append",
        choices=_FORMAT_NAMES,
        help="only this format among the other formats (repeatable; default: all)",
    )
    args = ap.parse_args()
    r = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="colsec-bench-"))
    events_path = tmp / "eve.ndjson"
    print(f"generating {args.indicators:,} indicators and {args.events:,} events ...", flush=True)
    recs, planted = make_indicators(args.indicators, r)
    planted_events = make_events(args.events, planted, r, events_path)
    size_mb = events_path.stat().st_size / 1e6

    # peers: raw parsing (best of --repeat warm runs, as for colsec below)
    polars_rate = polars_cpu = 0.0
    # the first (cold) parse, and the frame for the pre-parsed figure; the warm rates are taken
    # below, alternating with colsec's runs in the same process state
    gc.collect()
    t = time.perf_counter()
    df = pl.read_ndjson(events_path, infer_schema_length=10_000)
    polars_first = len(df) / (time.perf_counter() - t)
    t = time.perf_counter()
    with events_path.open("rb") as f:
        n = sum(1 for line in f if orjson.loads(line))
    orjson_rate = n / (time.perf_counter() - t)

    # build
    gc.collect()
    before = rss()
    build_cpu = time.process_time()
    engine = MatchEngine()
    report = engine.load(recs)
    build_cpu = time.process_time() - build_cpu
    for idx in engine.cidr.values():
        idx.freeze()
    for sub in engine.substr.values():
        sub.lookup([])
    gc.collect()
    build_peak_bytes = rss() - before
    # polars' allocator returns freed build buffers to the OS a few seconds later: what a node
    # keeps resident is the figure once RSS stops falling
    settled = rss()
    for _ in range(15):
        time.sleep(1)
        now = rss()
        if now >= settled:
            break
        settled = now
    build_bytes = settled - before
    del recs[args.matcher_sample :]  # keep a sample for stix2-matcher, free the rest
    gc.collect()
    if args.follow_only:
        print_follow(engine, events_path, args.events)
        return
    if args.eve_only:
        print_eve(engine, events_path, args.repeat)
        return
    print(f"writing {args.format_events:,} lines of each other format ...", flush=True)
    format_files = write_formats(
        args.format_events, planted, args.seed, tmp, set(args.format) if args.format else None
    )
    formats = format_rates(engine, format_files, args.repeat, min(50_000, args.format_events))
    if args.formats_only:
        width = max(len(a) for a, _, _ in formats)
        for a, b, c in formats:
            print(f"{a:<{width}}  {b} {c}")
        return

    polars_rate, polars_cpu, e2e, e2e_cpu, e2e_first, pair_ratios, res = eve_rates(
        engine, events_path, args.repeat
    )
    # colsec on pre-parsed columns: STIX-path value columns (IPv4 also as uint32, as a columnar
    # telemetry store holds them); vectorised lookups, only hit rows reach Python
    prepared = prepare_eve_frame(engine, df)
    cols_rate = cols_cpu = 0.0
    for _ in range(args.repeat):
        t, c = time.perf_counter(), time.process_time()
        res_cols = match_prepared(engine, prepared, make_alerts=False)
        cols_rate = max(cols_rate, res_cols.rows / (time.perf_counter() - t))
        cols_cpu = max(cols_cpu, res_cols.rows / (time.process_time() - c))
    # colsec event by event (any format's reader path), on a slice, in batches of 5,000 as
    # `colsec match` reads a non-EVE file (holding every event at once would time the garbage
    # collector instead: 2.4x slower, measured)
    sample_lines = events_path.open().readlines()[: min(100_000, args.events)]
    t = time.perf_counter()
    alerts_py = []
    batch: list[Event] = []
    for ev in read_lines(sample_lines):
        batch.append(ev)
        if len(batch) == 5_000:
            alerts_py += engine.match(batch)
            batch = []
    alerts_py += engine.match(batch)
    py_rate = len(sample_lines) / (time.perf_counter() - t)
    # streaming latency: one line in, alerts out
    lat = []
    for line in sample_lines[:2_000]:
        t = time.perf_counter()
        engine.match(list(read_lines([line], fmt=None)))
        lat.append((time.perf_counter() - t) * 1000)
    lat.sort()
    # streaming, as an operator sees it: line appended to a followed file -> alert
    streaming = follow_rows(engine, sample_lines, alerts_py)
    # stix2-matcher
    sm_rate = stix2_matcher_rate(recs, events_path, args.matcher_sample)

    rows = [
        ("input", f"{args.events:,} EVE lines ({size_mb:.0f} MB), {planted_events:,} planted", ""),
        (
            "rates",
            f"best of {args.repeat} warm runs each, polars and colsec alternating "
            "(first runs pay thread start-up and page faults)",
            "",
        ),
        (
            "polars.read_ndjson (raw parse)",
            f"{polars_rate:,.0f} lines/s (per CPU-second: {polars_cpu:,.0f})",
            "peer",
        ),
        ("orjson.loads loop (raw parse)", f"{orjson_rate:,.0f} lines/s", "peer"),
        (
            "first runs only (cold)",
            f"polars {polars_first:,.0f} lines/s, colsec {e2e_first:,.0f} events/s ({e2e_first / polars_first:.0%})",
            "",
        ),
        (
            "colsec end-to-end from file",
            f"{e2e:,.0f} events/s ({e2e / polars_rate:.0%} of raw parse, best to best; per run pair "
            f"median {statistics.median(pair_ratios):.0%}, range {min(pair_ratios):.0%}-{max(pair_ratios):.0%}; "
            f"per CPU-s {e2e_cpu / polars_cpu:.0%})",
            "target >= 85% of raw parse",
        ),
        (
            "colsec on pre-parsed columns",
            f"{cols_rate:,.0f} events/s (per CPU-second: {cols_cpu:,.0f})",
            "target >= 2,000,000",
        ),
        ("colsec event-by-event (reader path)", f"{py_rate:,.0f} events/s", "any format"),
        (
            "stix2-matcher (sample, extrapolated)",
            f"{sm_rate:,.0f} pairs/s = {sm_rate / args.indicators:,.4f} events/s at {args.indicators:,} ind.",
            "peer",
        ),
        ("alerts (end-to-end run)", f"{len(res.alerts):,} on {res.hits:,} events", ""),
        (
            "index build",
            f"{report.seconds:.1f} s ({build_cpu:.1f} CPU-s) for {report.loaded:,} "
            f"({report.simple:,} simple, {report.complex:,} compound)",
            "target < 30 s",
        ),
        (
            "memory per indicator",
            f"{engine.memory_bytes() / max(report.loaded, 1):,.0f} bytes held by the index "
            f"(process RSS: {build_bytes / max(report.loaded, 1):,.0f} B/ind. resident once settled, "
            f"{build_peak_bytes / max(report.loaded, 1):,.0f} right after the build)",
            "target < 300",
        ),
        *streaming,
        (
            "engine latency (1 event)",
            f"p50 {statistics.median(lat):.2f} ms, p99 {lat[int(len(lat) * 0.99)]:.2f} ms",
            "in process",
        ),
    ]
    rows.append(("other formats", "column path beside each format's own raw parse (best of --repeat)", ""))
    rows.extend(formats)
    rows.append(("machine", f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", "shared"))
    width = max(len(a) for a, _, _ in rows)
    print()
    for a, b, c in rows:
        print(f"{a:<{width}}  {b:<70} {c}")


if __name__ == "__main__":
    main()
