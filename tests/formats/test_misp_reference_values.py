"""MISP attribute values that misp-stix changes or refuses (its PyMISP attribute validation runs
first): the fast path hands them to it, so both paths say the same, and a value not valid for its
type is no indicator and is named in the import's notes."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from colsec.formats.misp_to_stix import FAST_TYPES, convert_event, is_fast_attribute
from colsec.formats.misp_urls import FILE_EXTENSIONS, url_value

from .test_misp_to_stix import assert_same_as_reference

_MD5 = "D41D8CD98F00B204E9800998ECF8427E"
# (type, value) pairs the reference spells otherwise (case, trailing dot, refanging, IP and IDNA
# forms, surrounding space, 4-byte characters) or refuses (no domain, port 0, a line break...)
ODD_VALUES = [
    ("domain", "exa mple..com"), ("domain", "EXAMPLE.com"), ("domain", "example.com."),
    ("domain", "example"), ("domain", "-"), ("domain", "ex[.]ample.com"), ("domain", "b\u00fccher.example"),
    ("domain", "exa mple.com"), ("hostname", "host"), ("hostname", "H.example.com"),
    ("hostname", "h.example.com."), ("hostname", "h[.]example.com"),
    ("domain|ip", "exa mple..com|192.0.2.1"), ("domain|ip", "D.example.com|192.0.2.1"),
    ("domain|ip", "d.example.com|2001:DB8::1"), ("hostname|port", "a b|80"),
    ("hostname|port", "H.example.com|80"), ("hostname|port", "h.example.com|0"),
    ("ip-src", "2001:DB8::1"), ("ip-src", "192.0.2.1/32"), ("ip-dst", "2001:db8:0::1"),
    ("ip-dst", "::ffff:192.0.2.1"), ("ip-dst|port", "192.0.2.1|0"), ("ip-src|port", "2001:DB8::1|80"),
    ("md5", _MD5), ("filename|md5", f"a.exe|{_MD5}"), ("email", "A@example.com"),
    ("email-src", "a@example"), ("email-dst", "a[at]example.com"), ("email", "a @b.c"),
    ("url", "hxxp://example.com/"), ("url", "http://example[.]com/"), ("url", "http://a\nb"),
    ("filename", "a.exe "), ("filename", "a\nb"), ("filename", "x\U0001f600.exe"), ("mutex", " m"),
    ("mutex", "m\U0001f600"), ("regkey", "HKLM\\a\nb"), ("ssdeep", "3:a:b:c"), ("text", " t "),
    ("AS", "AS99999999999"),
]  # fmt: skip


def _event(attrs: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "Event": {
            "uuid": "e2e6a6ea-f69b-4d93-8564-f51d67cafe51",
            "info": "odd values",
            "timestamp": "1603642920",
            "Orgc": {"name": "Example CERT", "uuid": "a0c22599-9e58-4da4-96ac-7051603fa951"},
            "Attribute": [
                {
                    "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{kind}/{value}")),
                    "type": kind,
                    "value": value,
                    "to_ids": True,
                    "timestamp": "1603642920",
                }
                for kind, value in attrs
            ],
        }
    }


def test_odd_values_of_fast_types_equal_misp_stix() -> None:
    """Issue: the fast path stored ``EXAMPLE.com.`` and ``hxxp://`` as given, and ``exa mple..com``
    as an indicator, where misp-stix spells them ``example.com`` and ``http://`` or drops them."""
    assert assert_same_as_reference(_event(ODD_VALUES)) > 0
    assert assert_same_as_reference(_event([*ODD_VALUES[:3], ("domain", "good.example.com")])) > 0


def test_values_not_valid_for_their_type_are_no_indicators_and_are_named() -> None:
    """Issue: a ``domain`` attribute ``exa mple..com`` became an indicator; misp-stix refuses it."""
    bad = [("domain", "exa mple..com"), ("hostname|port", "a b|80"), ("email", "a @b.c"), ("domain", "-")]
    notes: list[str] = []
    objs = list(convert_event(_event([("domain", "good.example.com"), *bad]), notes))
    patterns = {o["pattern"] for o in objs if o["type"] == "indicator"}
    assert patterns == {"[domain-name:value = 'good.example.com']"}
    for i, (kind, value) in enumerate(bad, start=1):
        assert f"Attribute #{i}: {kind} value {value!r} is not valid for its type: left out" in notes, notes


def test_a_url_attribute_naming_a_file_is_no_url_and_is_named() -> None:
    """Issue: a ``url`` attribute ``igfxtray.exe`` (a file name) became ``http://igfxtray.exe``."""
    attrs = [
        ("url", "igfxtray.exe"),
        ("link", "stage2.ps1"),
        ("url", "evil.example.com/x.exe"),
        ("url", "a.zip"),
    ]
    notes: list[str] = []
    event = _event(attrs)
    objs = list(convert_event(event, notes))
    urls = {o["value"] for o in objs if o["type"] == "url"}
    assert urls == {"http://evil.example.com/x.exe", "http://a.zip"}  # .zip is a TLD as well
    kept = {o["x_misp_value"]: o["x_misp_type"] for o in objs if o["type"] == "x-misp-attribute"}
    assert kept == {"igfxtray.exe": "other", "stage2.ps1": "other"}
    assert "Attribute #0: url value 'igfxtray.exe' is not a URL: kept as text, no indicator" in notes, notes
    assert "Attribute #1: link value 'stage2.ps1' is not a URL: kept as text, no indicator" in notes, notes
    assert len(notes) == 2
    assert assert_same_as_reference(_event(attrs)) > 0


def test_file_extensions_taken_for_no_host_are_no_top_level_domains(shared_data: Path) -> None:
    """``url_value`` reads ``name.exe`` as a file, never a host: no extension it names may be a TLD
    (MISP's warninglist of IANA's root zone), or a real host would lose its URL."""
    tlds = {
        t.lower() for t in json.loads((shared_data / "misp/warninglists/tlds/list.json").read_text())["list"]
    }
    assert len(tlds) > 1000 and {"com", "zip", "mov", "sh"} <= tlds
    assert not FILE_EXTENSIONS & tlds, sorted(FILE_EXTENSIONS & tlds)
    assert url_value("igfxtray.exe") is None and url_value("host.EXE/a") is None
    assert url_value("example.com") == "http://example.com"


def _value_for(kind: str) -> st.SearchStrategy[str]:
    text = st.text(min_size=1, max_size=30)
    label = st.from_regex(r"\A[A-Za-z0-9_-]{1,8}\Z")
    host = st.lists(label, min_size=1, max_size=3).map(".".join) | text
    ip = st.ip_addresses().map(str) | st.sampled_from(
        ["2001:DB8::1", "192.0.2.0/24", "192.0.2.1/32", "::ffff:1.2.3.4"]
    )
    port = st.integers(0, 70000).map(str)
    sizes = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128, "sha224": 56, "sha384": 96, "imphash": 32}
    hexes = "0123456789abcdefABCDEF"
    if kind in sizes:
        return st.text(hexes, min_size=sizes[kind], max_size=sizes[kind])
    if kind.startswith("filename|"):
        n = sizes[kind.split("|")[1]]
        return st.tuples(text, st.text(hexes, min_size=n, max_size=n)).map("|".join)
    if kind in ("ip-src", "ip-dst"):
        return ip
    if kind in ("ip-src|port", "ip-dst|port"):
        return st.tuples(ip, port).map("|".join)
    if kind in ("domain", "hostname"):
        return host
    if kind == "hostname|port":
        return st.tuples(host, port).map("|".join)
    if kind == "domain|ip":
        return st.tuples(host, ip).map("|".join)
    if kind in ("email", "email-src", "email-dst"):
        return st.tuples(label | text, host).map("@".join)
    if kind == "AS":
        return st.from_regex(r"\A(AS|as)?[0-9]{1,11}\Z")
    return text


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(FAST_TYPES)).flatmap(lambda k: st.tuples(st.just(k), _value_for(k))))
def test_what_the_fast_path_takes_the_reference_keeps_as_it_is(pair: tuple[str, str]) -> None:
    """The gate is held to PyMISP's own validation, which misp-stix runs on every attribute: a value
    it would spell otherwise or refuse never goes the fast way (an AS number is read either way)."""
    from pymisp.tools.attributevalidationtool import AttributeValidationTool as Tool

    kind, value = pair
    if not is_fast_attribute({"type": kind, "value": value, "uuid": str(uuid.uuid4())}):
        return
    changed = Tool.modifyBeforeValidation(kind, value)
    assert Tool.validate(kind, changed) is True
    if kind == "AS":
        assert int(changed) == int(value.upper().removeprefix("AS"))
    else:
        assert changed == value
