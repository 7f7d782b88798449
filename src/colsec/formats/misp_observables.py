"""The observables (SCOs) and the indicator pattern of one fast-path MISP attribute, per type family.

Ids derive from the attribute's uuid as misp-stix derives them, so a re-import, or
misp-stix on the same event, names the same objects.  Each pattern comes with its equality
comparisons as (object type, path, value), as the pattern parser reads them back: the store
indexes those (``misp_facts``) instead of parsing the pattern again, and
tests/formats/test_misp_facts.py holds them to the parser's for every type and odd value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from colsec.formats.misp_values import AS_NUMBER, EXTRA_HASHES, HASHES, ip_kind
from colsec.formats.registry_keys import expand_hive

__all__ = ["observables"]

_SV = "2.1"
Atoms = tuple[tuple[str, str, str], ...]  # the pattern's comparisons: (object type, path, value)
# SCOs (the first is what observed-data names first), pattern, its atoms
Scos = tuple[list[dict[str, Any]], str, Atoms]


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _sco(kind: str, uid: str, **props: Any) -> dict[str, Any]:
    return {"type": kind, "spec_version": _SV, "id": f"{kind}--{uid}", **props}


def _ip(attr_type: str, value: str, uid: str) -> Scos:
    direction = "src" if attr_type.startswith("ip-src") else "dst"
    ip, port = (value.split("|") + [""])[:2] if "|" in attr_type else (value, "")
    kind = ip_kind(ip)
    ip_id = f"{kind}--{uid}"
    nt = _sco("network-traffic", uid)
    nt[f"{direction}_ref"] = ip_id
    pattern = f"network-traffic:{direction}_ref.type = '{kind}' AND network-traffic:{direction}_ref.value = '{_esc(ip)}'"
    atoms: Atoms = (
        ("network-traffic", f"{direction}_ref.type", str(kind)), ("network-traffic", f"{direction}_ref.value", ip),
    )  # fmt: skip
    if port:
        nt[f"{direction}_port"] = int(port)
        pattern += f" AND network-traffic:{direction}_port = '{port}'"
        atoms += (("network-traffic", f"{direction}_port", port),)
    nt["protocols"] = ["tcp"]
    return [nt, {"type": kind, "spec_version": _SV, "id": ip_id, "value": ip}], pattern, atoms


def _domain(attr_type: str, value: str, uid: str) -> Scos:
    return (
        [_sco("domain-name", uid, value=value)], f"domain-name:value = '{_esc(value)}'",
        (("domain-name", "value", value),),
    )  # fmt: skip


def _domain_ip(attr_type: str, value: str, uid: str) -> Scos:
    domain, ip = value.split("|")
    kind = ip_kind(ip)
    ip_id = f"{kind}--{uid}"
    dn = _sco("domain-name", uid, value=domain, resolves_to_refs=[ip_id])
    pattern = f"domain-name:value = '{_esc(domain)}' AND domain-name:resolves_to_refs[*].value = '{_esc(ip)}'"
    atoms = (("domain-name", "value", domain), ("domain-name", "resolves_to_refs[*].value", ip))
    return [dn, {"type": kind, "spec_version": _SV, "id": ip_id, "value": ip}], pattern, atoms


def _url(attr_type: str, value: str, uid: str) -> Scos:
    return [_sco("url", uid, value=value)], f"url:value = '{_esc(value)}'", (("url", "value", value),)


def _hash_path(algo: str) -> str:
    return algo if "-" not in algo else f"'{algo}'"


def _hash(attr_type: str, value: str, uid: str) -> Scos:
    algo = HASHES[attr_type][0]
    return (
        [_sco("file", uid, hashes={algo: value})], f"file:hashes.{_hash_path(algo)} = '{_esc(value)}'",
        (("file", f"hashes.{algo}", value),),
    )  # fmt: skip


def _extra_hash(attr_type: str, value: str, uid: str) -> Scos:
    key, path, _size = EXTRA_HASHES[attr_type]
    return (
        [_sco("file", uid, hashes={key: value})], f"file:hashes.{path} = '{_esc(value)}'",
        (("file", f"hashes.{path.strip(chr(39))}", value),),
    )  # fmt: skip


def _host_port(attr_type: str, value: str, uid: str) -> Scos:
    host, port = value.split("|")
    dn = _sco("domain-name", uid, value=host)
    nt = _sco("network-traffic", uid, dst_ref=dn["id"], dst_port=int(port), protocols=["tcp"])
    pattern = f"domain-name:value = '{_esc(host)}' AND network-traffic:dst_port = '{port}'"
    return [dn, nt], pattern, (("domain-name", "value", host), ("network-traffic", "dst_port", port))


def _filename_hash(attr_type: str, value: str, uid: str) -> Scos:
    name, digest = value.split("|")
    algo = HASHES[attr_type.split("|")[1]][0]
    sco = _sco("file", uid, hashes={algo: digest}, name=name)
    pattern = f"file:name = '{_esc(name)}' AND file:hashes.{_hash_path(algo)} = '{_esc(digest)}'"
    return [sco], pattern, (("file", "name", name), ("file", f"hashes.{algo}", digest))


def _filename(attr_type: str, value: str, uid: str) -> Scos:
    return [_sco("file", uid, name=value)], f"file:name = '{_esc(value)}'", (("file", "name", value),)


def _email_message(attr_type: str, value: str, uid: str) -> Scos:
    addr_id = f"email-addr--{uid}"
    msg = _sco("email-message", uid, is_multipart=False)
    if attr_type == "email-src":
        msg["from_ref"] = addr_id
        path = "from_ref.value"
    else:
        msg["to_refs"] = [addr_id]
        path = "to_refs[*].value"
    pattern = f"email-message:{path} = '{_esc(value)}'"
    return [msg, _sco("email-addr", uid, value=value)], pattern, (("email-message", path, value),)


def _email(attr_type: str, value: str, uid: str) -> Scos:
    return (
        [_sco("email-addr", uid, value=value)], f"email-addr:value = '{_esc(value)}'",
        (("email-addr", "value", value),),
    )  # fmt: skip


def _mutex(attr_type: str, value: str, uid: str) -> Scos:
    return [_sco("mutex", uid, name=value)], f"mutex:name = '{_esc(value)}'", (("mutex", "name", value),)


def _as(attr_type: str, value: str, uid: str) -> Scos:
    m = AS_NUMBER.match(value)
    assert m is not None  # is_fast_attribute let only AS numbers through
    number = int(m.group(1))
    return (
        [_sco("autonomous-system", uid, number=number)], f"autonomous-system:number = '{number}'",
        (("autonomous-system", "number", str(number)),),
    )  # fmt: skip


def _regkey(attr_type: str, value: str, uid: str) -> Scos:
    # The converter spells the hive out in the SCO and the pattern once they are built
    # (``registry_keys.expand_hives_in``): the atom carries the key as the stored pattern will.
    return (
        [_sco("windows-registry-key", uid, key=value)], f"windows-registry-key:key = '{_esc(value)}'",
        (("windows-registry-key", "key", expand_hive(value)),),
    )  # fmt: skip


_BY_TYPE: dict[str, Callable[[str, str, str], Scos]] = {
    **dict.fromkeys(("ip-src", "ip-dst", "ip-src|port", "ip-dst|port"), _ip),
    **dict.fromkeys(("domain", "hostname"), _domain),
    "domain|ip": _domain_ip,
    **dict.fromkeys(("url", "link"), _url),
    **dict.fromkeys(HASHES, _hash),
    **dict.fromkeys(EXTRA_HASHES, _extra_hash),
    "hostname|port": _host_port,
    **{f"filename|{algo}": _filename_hash for algo in HASHES},
    "filename": _filename,
    **dict.fromkeys(("email-src", "email-dst"), _email_message),
    "email": _email,
    "mutex": _mutex,
    "AS": _as,
    "regkey": _regkey,
}


def observables(attr_type: str, value: str, uid: str) -> Scos:
    """SCOs (the first is what observed-data refers to first), the pattern body and its atoms."""
    return _BY_TYPE[attr_type](attr_type, value, uid)
