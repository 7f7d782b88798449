"""Network sensor logs: Suricata EVE JSON and Zeek (JSON and native TSV)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from colsec.match.addresses import looks_like_address
from colsec.match.events import Event, EventBuilder, parse_time

__all__ = ["eve_event", "zeek_event", "zeek_kind", "zeek_tsv_header", "zeek_tsv_record"]


def _x509(b: EventBuilder, fingerprint: Any = None, **props: Any) -> None:
    obj: dict[str, Any] = {"type": "x509-certificate"}
    if isinstance(fingerprint, str) and fingerprint not in ("", "-"):
        hexa = fingerprint.replace(":", "").lower()
        name = {32: "MD5", 40: "SHA-1", 64: "SHA-256"}.get(len(hexa))
        if name:
            obj["hashes"] = {name: hexa}
    for key, value in props.items():
        if isinstance(value, str) and value not in ("", "-"):
            obj[key] = value
    if len(obj) > 1:
        b.add(obj)


def eve_event(rec: Mapping[str, Any], line: int) -> Event | None:
    """One EVE record (alert, dns, http, tls, fileinfo, flow, smtp, ...) -> Event."""
    ts = parse_time(rec.get("timestamp"))
    if ts is None:
        return None
    b = EventBuilder()
    http = rec.get("http")
    ext: dict[str, Any] | None = None
    if isinstance(http, Mapping):
        headers = {}
        if http.get("hostname"):
            headers["Host"] = http["hostname"]
        if http.get("http_user_agent"):
            headers["User-Agent"] = http["http_user_agent"]
        ext = {
            "http-request-ext": {
                k: v
                for k, v in (
                    ("request_method", http.get("http_method")),
                    ("request_value", http.get("url")),
                    ("request_header", headers or None),
                )
                if v
            }
        }
    b.traffic(
        rec.get("src_ip"),
        rec.get("dest_ip"),
        rec.get("src_port"),
        rec.get("dest_port"),
        rec.get("proto"),
        ext,
    )
    if isinstance(http, Mapping):
        host = http.get("hostname")
        b.domain(host)
        url = http.get("url")
        if isinstance(url, str):
            if url.startswith(("http://", "https://")):
                b.url(url)
            elif host:
                b.url(f"http://{host}{url}")
    dns = rec.get("dns")
    if isinstance(dns, Mapping):
        name = dns.get("rrname")
        dom_id = b.domain(name)
        resolved: list[str] = []
        answers = dns.get("answers")
        rdatas = [dns.get("rdata")]
        if isinstance(answers, list):
            rdatas += [a.get("rdata") for a in answers if isinstance(a, Mapping)]
        for rdata in rdatas:
            if isinstance(rdata, str):
                rid = b.ip(rdata) if looks_like_address(rdata) else b.domain(rdata)
                if rid and rid != dom_id:
                    resolved.append(rid)
        for q in dns.get("queries", []) if isinstance(dns.get("queries"), list) else []:
            if isinstance(q, Mapping):
                b.domain(q.get("rrname"))
        if dom_id and resolved:
            b.objects[dom_id] = {**b.objects[dom_id], "resolves_to_refs": resolved}
    tls = rec.get("tls")
    if isinstance(tls, Mapping):
        b.domain(tls.get("sni"))
        _x509(
            b,
            tls.get("fingerprint"),
            subject=tls.get("subject"),
            issuer=tls.get("issuerdn"),
            serial_number=tls.get("serial"),
        )
    info = rec.get("fileinfo")
    if isinstance(info, Mapping):
        b.file(
            info.get("filename"),
            {k: info.get(k) for k in ("md5", "sha1", "sha256") if info.get(k)},
            info.get("size"),
            info.get("magic"),
        )
    email = rec.get("email")
    if isinstance(email, Mapping):
        msg: dict[str, Any] = {"type": "email-message", "is_multipart": False}
        sender = b.email(email.get("from"))
        if sender:
            msg["from_ref"] = sender
        to = [r for r in (b.email(t) for t in email.get("to") or []) if r]
        if to:
            msg["to_refs"] = to
        if isinstance(email.get("subject"), str):
            msg["subject"] = email["subject"]
        b.add(msg)
    return b.event(ts, "eve", line, rec)


# -- Zeek -------------------------------------------------------------------


def _zeek_addrs(b: EventBuilder, rec: Mapping[str, Any], ext: dict[str, Any] | None = None) -> None:
    if "id.orig_h" in rec or "id.resp_h" in rec:
        b.traffic(
            rec.get("id.orig_h"),
            rec.get("id.resp_h"),
            rec.get("id.orig_p"),
            rec.get("id.resp_p"),
            rec.get("proto"),
            ext,
        )


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [] if value in (None, "", "-") else [value]


# IMAGE_FILE_MACHINE_* values, as STIX ``machine_hex`` spells them, for the names Zeek logs
_PE_MACHINES = {
    "I386": "014c",
    "AMD64": "8664",
    "ARM": "01c0",
    "ARMNT": "01c4",
    "ARM64": "aa64",
    "IA64": "0200",
}


def _zeek_pe(b: EventBuilder, rec: Mapping[str, Any]) -> None:
    """pe.log describes a transferred executable: a file with the STIX PE binary extension.

    Zeek names no hash here (files.log does, under the same file id), but packer section
    names, compile times and machine types are indicators in their own right.
    """
    pe: dict[str, Any] = {}
    if rec.get("is_exe") is True:
        pe["pe_type"] = "exe"
    machine = _PE_MACHINES.get(str(rec.get("machine")))
    if machine:
        pe["machine_hex"] = machine
    compiled = rec.get("compile_ts")
    if compiled not in (None, "", "-"):
        us = parse_time(compiled)
        if us is not None:
            pe["time_date_stamp"] = datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sections = [n for n in _as_list(rec.get("section_names")) if isinstance(n, str) and n]
    if sections:
        pe["number_of_sections"] = len(sections)
        pe["sections"] = [{"name": n} for n in sections]
    if pe:
        b.add({"type": "file", "extensions": {"windows-pebinary-ext": pe}})


# Fields only one log type has: Zeek's own JSON files (LogAscii::use_json) carry no ``_path``
_ZEEK_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("notice", ("note",)),  # before files: a notice may name a file (fuid, file_mime_type)
    ("dns", ("qtype_name", "rcode_name", "qclass")),
    ("smtp", ("mailfrom", "rcptto", "helo")),
    ("x509", ("certificate.subject", "certificate.serial")),
    ("ssl", ("cert_chain_fps", "cert_chain_fuids", "server_name", "ssl_history")),
    ("files", ("fuid", "mime_type", "seen_bytes")),
    ("http", ("request_body_len", "status_code", "trans_depth")),
    ("software", ("software_type", "unparsed_version")),
    ("pe", ("section_names", "compile_ts", "is_exe")),
    ("ntlm", ("server_nb_computer_name", "server_dns_computer_name", "domainname")),
    ("known_certs", ("issuer_subject",)),
)


def zeek_kind(rec: Mapping[str, Any]) -> str:
    """The log a record comes from: its ``_path``, else told by the fields only that log has."""
    path = rec.get("_path")
    if isinstance(path, str) and path:
        return path
    for kind, marks in _ZEEK_KINDS:
        if any(m in rec for m in marks):
            return "sip" if kind == "http" and "call_id" in rec else kind  # sip shares http's fields
    if "host" in rec and "uid" not in rec and "id.orig_h" not in rec:
        return "known_hosts"
    return ""


def zeek_event(rec: Mapping[str, Any], line: int, path: str | None = None) -> Event | None:
    """One Zeek record -> Event; ``path`` is the log name (``dns``, ``http``, ...)."""
    ts = parse_time(rec.get("ts"))
    if ts is None:
        return None
    kind = path or zeek_kind(rec)
    b = EventBuilder()
    if kind == "http":
        headers = {k: v for k, v in (("Host", rec.get("host")), ("User-Agent", rec.get("user_agent"))) if v}
        ext = {
            "http-request-ext": {
                "request_method": rec.get("method"),
                "request_value": rec.get("uri"),
                "request_header": headers,
            }
        }
        _zeek_addrs(b, rec, ext)
        host, uri = rec.get("host"), rec.get("uri")
        b.domain(host)
        if isinstance(host, str) and isinstance(uri, str):
            b.url(uri if uri.startswith(("http://", "https://")) else f"http://{host}{uri}")
    else:
        _zeek_addrs(b, rec)
    if kind == "dns":
        qid = b.domain(rec.get("query"))
        resolved = []
        for ans in _as_list(rec.get("answers")):
            if isinstance(ans, str):
                rid = b.ip(ans) if looks_like_address(ans) else b.domain(ans)
                if rid and rid != qid:
                    resolved.append(rid)
        if qid and resolved:
            b.objects[qid] = {**b.objects[qid], "resolves_to_refs": resolved}
    elif kind == "ssl":
        b.domain(rec.get("server_name"))
        for fp in _as_list(rec.get("cert_chain_fps"))[:1]:
            _x509(b, fp)
        _x509(b, None, subject=rec.get("subject"), issuer=rec.get("issuer"))
    elif kind == "x509":
        _x509(
            b,
            rec.get("fingerprint"),
            serial_number=rec.get("certificate.serial"),
            subject=rec.get("certificate.subject"),
            issuer=rec.get("certificate.issuer"),
        )
        for name in _as_list(rec.get("san.dns")):
            b.domain(name)
        for ip in _as_list(rec.get("san.ip")):
            b.ip(ip)
    elif kind == "files":
        hashes = {k: rec.get(k) for k in ("md5", "sha1", "sha256") if rec.get(k)}
        size = rec.get("total_bytes") if isinstance(rec.get("total_bytes"), int) else rec.get("seen_bytes")
        b.file(rec.get("filename"), hashes, size, rec.get("mime_type"))
        for ip in _as_list(rec.get("tx_hosts")) + _as_list(rec.get("rx_hosts")):
            b.ip(ip)
    elif kind == "smtp":
        msg: dict[str, Any] = {"type": "email-message", "is_multipart": False}
        sender = b.email(rec.get("mailfrom")) or b.email(rec.get("from"))
        if sender:
            msg["from_ref"] = sender
        to = [r for r in (b.email(t) for t in _as_list(rec.get("rcptto")) + _as_list(rec.get("to"))) if r]
        if to:
            msg["to_refs"] = list(dict.fromkeys(to))
        if isinstance(rec.get("subject"), str) and rec["subject"] != "-":
            msg["subject"] = rec["subject"]
        b.add(msg)
        for ip in _as_list(rec.get("path")) + _as_list(rec.get("x_originating_ip")):
            b.ip(ip)
    elif kind == "notice":
        b.traffic(rec.get("src"), rec.get("dst"), None, rec.get("p"))
    elif kind in ("known_hosts", "software"):
        b.ip(rec.get("host"))
        if kind == "software" and isinstance(rec.get("name"), str):
            version = rec.get("unparsed_version")
            b.add({"type": "software", "name": rec["name"], **({"version": version} if version else {})})
    elif kind == "known_certs":
        b.ip(rec.get("host"))
        _x509(
            b,
            None,
            serial_number=rec.get("serial"),
            subject=rec.get("subject"),
            issuer=rec.get("issuer_subject"),
        )
    elif kind == "ntlm":
        user = rec.get("username")
        if isinstance(user, str) and user != "-":
            b.add({"type": "user-account", "user_id": user, "account_login": user})
        for key in ("server_dns_computer_name", "server_tree_name"):
            if isinstance(rec.get(key), str) and "." in rec[key]:
                b.domain(rec[key])
    elif kind == "pe":
        _zeek_pe(b, rec)
    return b.event(ts, f"zeek-{kind}" if kind else "zeek", line, rec)


def zeek_tsv_header(lines: list[str]) -> dict[str, Any]:
    """Parse the ``#separator``/``#fields``/``#types`` header into reader settings."""
    meta: dict[str, Any] = {"sep": "\t", "set_sep": ",", "empty": "(empty)", "unset": "-", "path": ""}
    for line in lines:
        if line.startswith("#separator"):
            raw = line.split(" ", 1)[1].strip() if " " in line else "\\x09"
            meta["sep"] = raw.encode().decode("unicode_escape")
            continue
        parts = line.rstrip("\r\n").split(meta["sep"])
        key = parts[0][1:]
        if key == "set_separator":
            meta["set_sep"] = parts[1]
        elif key == "empty_field":
            meta["empty"] = parts[1]
        elif key == "unset_field":
            meta["unset"] = parts[1]
        elif key == "path":
            meta["path"] = parts[1]
        elif key == "fields":
            meta["fields"] = parts[1:]
        elif key == "types":
            meta["types"] = parts[1:]
    return meta


#: how a Zeek TSV field's text is read, by its ``#types`` entry
_LIST, _INT, _BOOL, _TEXT = 0, 1, 2, 3

#: Zeek's ASCII writer escapes a backslash as ``\\`` and a byte it must not write (the
#: separators, a control, a value equal to the unset or empty marker) as ``\xHH``
_ZEEK_ESCAPE = re.compile(rb"\\(\\|x[0-9A-Fa-f]{2})")


def zeek_unescape(text: str) -> str:
    """A Zeek TSV value as its JSON writer gives it: the escapes undone, the bytes read as UTF-8
    (a multi-byte character may be escaped byte by byte)."""
    if "\\" not in text:
        return text
    raw = _ZEEK_ESCAPE.sub(
        lambda m: b"\\" if m.group(1) == b"\\" else bytes([int(m.group(1)[1:], 16)]), text.encode("utf-8")
    )
    return raw.decode("utf-8", errors="replace")


def _zeek_plan(meta: Mapping[str, Any]) -> list[tuple[str, int]]:
    """(field, how to read it) for each column: the ``#types`` tests done once per header,
    not once per field of every line (they were most of a record's reading)."""
    fields: list[str] = meta.get("fields") or []
    types: list[str] = meta.get("types") or [""] * len(fields)
    plan: list[tuple[str, int]] = []
    for name, typ in zip(fields, types, strict=False):
        if typ.startswith(("set[", "vector[")):
            plan.append((name, _LIST))
        elif typ in ("count", "port", "int"):
            plan.append((name, _INT))
        else:
            plan.append((name, _BOOL if typ == "bool" else _TEXT))
    return plan


def zeek_tsv_record(line: str, meta: dict[str, Any]) -> dict[str, Any] | None:
    plan: list[tuple[str, int]] | None = meta.get("#plan")
    if plan is None:
        plan = meta["#plan"] = _zeek_plan(meta)
    parts = line.rstrip("\r\n").split(meta["sep"])
    if len(parts) != len(meta.get("fields") or ()):
        return None
    unset, empty, set_sep = meta["unset"], meta["empty"], meta["set_sep"]
    rec: dict[str, Any] = {}
    for (name, how), value in zip(plan, parts, strict=False):
        if value == unset:
            continue
        if how == _TEXT:
            rec[name] = zeek_unescape(value) if "\\" in value else value
        elif how == _LIST:
            items = [] if value == empty else value.split(set_sep)
            rec[name] = [zeek_unescape(v) for v in items] if "\\" in value else items
        elif how == _INT:
            try:
                rec[name] = int(value)
            except ValueError:
                return None
        else:
            rec[name] = value == "T"
    return rec
