"""Issue 20: the MISP converter's shortcuts (relationship ids, uuid checks, IPv4 texts) answer
exactly what the plain library calls answer, and the report still names every object in order."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

import pytest

from colsec.formats.misp_attribute import uuid5_text
from colsec.formats.misp_to_stix import convert_event
from colsec.formats.misp_validate import is_uuid
from colsec.formats.misp_values import ip_kind

_NS = uuid.UUID("76beed5f-7251-457e-8c2a-b45f7b589d3d")


_NAMES = [
    "",
    "indicator--a - based-on - observed-data--b",
    "caf\u00e9 \u65e5\u672c \U0001f600",
    "x" * 10_000,
    *(f"relationship {i}" for i in range(200)),
]


@pytest.mark.parametrize("namespace", [_NS, uuid.NAMESPACE_URL, uuid.UUID(int=0)])
def test_uuid5_text_equals_uuid5(namespace: uuid.UUID) -> None:
    assert [uuid5_text(namespace, n) for n in _NAMES] == [str(uuid.uuid5(namespace, n)) for n in _NAMES]


def _uuid_accepts(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    "value",
    [
        "5b6c3e6a-8f4b-4c1e-9b1a-0e2d3c4b5a69",
        "5B6C3E6A-8F4B-4C1E-9B1A-0E2D3C4B5A69",
        "{5b6c3e6a-8f4b-4c1e-9b1a-0e2d3c4b5a69}",
        "urn:uuid:5b6c3e6a-8f4b-4c1e-9b1a-0e2d3c4b5a69",
        "5b6c3e6a8f4b4c1e9b1a0e2d3c4b5a69",
        " 5b6c3e6a8f4b4c1e9b1a0e2d3c4b5a6",  # int() strips the space: uuid.UUID accepts it
        "5b6c3e6a-8f4b-4c1e-9b1a-0e2d3c4b5a6",
        "5b6c3e6a-8f4b-4c1e-9b1a-0e2d3c4b5a699",
        "5b6c3e6a-8f4b-4c1e-9b1a-0e2d3c4b5a6g",
        "5b6c3e6a-8f4b-4c1e-9b1a-0e2d3c4b5a69\n",
        "",
        None,
        12,
        "not a uuid",
    ],
)
def test_is_uuid_accepts_what_uuid_accepts(value: Any) -> None:
    assert is_uuid(value) is _uuid_accepts(value)


def _ip_kind_plain(value: str) -> str | None:
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None
    return "ipv4-addr" if net.version == 4 else "ipv6-addr"


@pytest.mark.parametrize(
    "value",
    [
        "0.0.0.0", "255.255.255.255", "198.51.100.7", "10.0.0.1", "1.2.3.4",
        "256.1.1.1", "1.2.3.256", "01.2.3.4", "1.2.3", "1.2.3.4.5", "1.2.3.4/24", "1.2.3.4/255.255.255.0",
        "1.2.3.4 ", " 1.2.3.4", "1.2.3.4\n", "\u0661.2.3.4", "::1", "2001:db8::1", "2001:db8::/32", "", "x",
    ],
)  # fmt: skip
def test_ip_kind_equals_ipaddress(value: str) -> None:
    assert ip_kind(value) == _ip_kind_plain(value)


def test_ip_kind_equals_ipaddress_on_every_octet() -> None:
    for octet in [*map(str, range(300)), "00", "000", "001", "010", "099", "0255"]:
        for value in (f"{octet}.1.2.3", f"1.2.3.{octet}"):
            assert ip_kind(value) == _ip_kind_plain(value), value


def _event(n: int) -> dict[str, Any]:
    kinds = [
        ("ip-dst", "198.51.100.{m}"),
        ("domain", "h{i}.example.com"),
        ("md5", "{h}"),
        ("email-src", "u{i}@x.org"),
    ]
    attrs = []
    for i in range(n):
        kind, template = kinds[i % len(kinds)]
        attrs.append(
            {
                "uuid": str(uuid.uuid5(_NS, f"a{i}")),
                "type": kind,
                "value": template.format(i=i, m=i % 250, h=uuid.UUID(int=i).hex),
                "to_ids": i % 2 == 0,
                "timestamp": "1767225600",
            }
        )
    return {
        "Event": {
            "uuid": str(uuid.uuid5(_NS, "event")),
            "info": "packed refs",
            "timestamp": "1767225600",
            "Orgc": {"name": "Example CERT", "uuid": str(uuid.uuid5(_NS, "org"))},
            "Attribute": attrs,
        }
    }


def test_report_of_a_large_event_names_every_object_in_order() -> None:
    """The grouping lists each attribute's objects in emission order, relationship ids included."""
    objects = list(convert_event(_event(4000)))
    report = objects[-1]
    assert report["type"] == "grouping"
    emitted = [o["id"] for o in objects[:-1] if o["type"] not in ("identity", "marking-definition")]
    assert len(emitted) > 3 * 4000
    assert report["object_refs"] == emitted
